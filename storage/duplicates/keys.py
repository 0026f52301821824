"""Blocking keys: the few values under which two possible duplicates meet.

Each key starts with the contact type's letter, so persons meet persons and companies meet
companies. Several overlapping keys make a missed pair unlikely: a typo in a name breaks one
key, not all (the name's phonetic pairs, a name word with the post code, the post code with
the house number, exact phone, email and VAT numbers).
"""

from __future__ import annotations

from itertools import combinations

from rapidfuzz import fuzz

from storage.duplicates.normalize import FREE_MAIL, Profile, phonetic

#: A key that more contacts share than this says nothing (a common first name in a big city):
#: it is not used for candidates.
BLOCK_LIMIT = 30
MAX_KEY_LENGTH = 120


def blocking_keys(p: Profile) -> set[str]:
    t = "c" if p.company else "p"
    keys: set[str] = set()
    if p.email:
        keys.add(f"{t}e:{p.email}")
        if p.company and p.domain and p.domain not in FREE_MAIL:
            keys.add(f"{t}d:{p.domain}")
    for phone in p.phones:
        keys.add(f"{t}t:{phone}")
    if p.vat:
        keys.add(f"{t}v:{p.vat}")
    words = [w for w in p.tokens if len(w) > 1][:4] or list(p.tokens[:1])
    codes = sorted({phonetic(w) for w in words})
    if len(codes) == 1:
        keys.add(f"{t}n:{codes[0]}")
        if p.company and words:
            keys.add(f"{t}w:{words[0][:12]}")
    for a, b in combinations(codes, 2):
        keys.add(f"{t}n:{a}|{b}")
    if p.company:
        for w in words:
            keys.add(f"{t}w:{w[:3]}|{len(w)}")  # q-gram-ish: survives a typo later in the word
    if p.post:
        for code in codes:
            keys.add(f"{t}z:{code}|{p.post}")
        for number in p.numbers[:2]:
            keys.add(f"{t}h:{p.post}|{number}")
    city = phonetic(p.city.replace(" ", "")) if p.city else ""
    if city:
        for code in codes:
            keys.add(f"{t}c:{code}|{city}")
    # each street word's code once (a contact's keys are computed a million times a scan)
    streets = [phonetic(w) for w in [w for w in p.street.split() if len(w) > 2][:2]]
    place_keys = [f"z{p.post}"] if p.post else []
    if p.city:
        place_keys.append(f"c{city}")
    for place in place_keys:
        for street in streets:
            keys.add(f"{t}y:{place}|{street}")
        for w in words:
            keys.add(f"{t}q:{place}|{w[:2]}")
    for street in streets:
        for number in p.numbers[:1]:
            keys.add(f"{t}s:{street}|{number}")
        for code in codes:
            keys.add(f"{t}a:{code}|{street}")
    if max(map(len, keys), default=0) <= MAX_KEY_LENGTH:
        return keys
    return {k[:MAX_KEY_LENGTH] for k in keys}


#: What a shared key says, as a bit: exact evidence (email, phone, VAT, company domain), the
#: name alone, the name with a place, or the address. One shared exact key is enough to score
#: a pair; otherwise it takes two kinds of evidence (a name and an address, say), or a quick
#: look at name and address together (QUICK_LOOK).
EXACT, NAME, NAME_PLACE, ADDRESS = 8, 1, 2, 4
KEY_BITS = {"e": EXACT, "t": EXACT, "v": EXACT, "d": EXACT, "n": NAME, "w": NAME,
            "z": NAME_PLACE, "c": NAME_PLACE, "a": NAME_PLACE, "q": NAME_PLACE,
            "h": ADDRESS, "s": ADDRESS, "y": ADDRESS}  # fmt: skip


def key_bit(key: str) -> int:
    """The evidence bit of a key (`pz:…` is a person's name-with-place key)."""
    return KEY_BITS.get(key[1], NAME)


#: A pair with one kind of evidence only is scored when its name and address, read as one
#: line, are at least this similar (rapidfuzz ratio): a cheap look that drops most such pairs.
QUICK_LOOK = 60
_KINDS = {mask: bin(mask & 7).count("1") for mask in range(16)}


def quick_mask(mask: int) -> bool:
    """Whether the shared evidence alone makes a pair worth scoring."""
    return bool(mask & EXACT) or _KINDS[mask] >= 2


def worth_scoring(mask: int, a_blob: str, b_blob: str) -> bool:
    return quick_mask(mask) or fuzz.ratio(a_blob, b_blob) >= QUICK_LOOK
