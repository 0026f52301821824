"""Normalised views of a contact for matching: name tokens without legal suffixes, street
words and house numbers apart, compact post codes, VAT numbers, and a phonetic code.

Everything here is pure (no database): the scan applies it to a million rows streamed from the
database, and the check on create to one contact.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import NamedTuple

from storage.normalize import digits
from storage.normalize import fold as fold_text

COMPANY = "c"
PERSON = "p"

#: Legal-form words, removed from company names before comparing (lower case, dots removed).
LEGAL_SUFFIXES = frozenset(
    [
        "bv",
        "nv",
        "vof",
        "cv",
        "bvba",
        "sprl",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "llc",
        "llp",
        "lp",
        "plc",
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "ohg",
        "ug",
        "ev",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "sl",
        "sau",
        "oy",
        "oyj",
        "ab",
        "as",
        "asa",
        "aps",
        "pty",
        "pte",
        "kft",
        "sro",
        "zoo",
        "sp",
        "kk",
        "bhd",
        "sdn",
        "holding_bv",
        "the",
    ]
)
#: Free mail domains never say that two contacts belong together.
FREE_MAIL = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "proton.me",
        "protonmail.com",
        "ziggo.nl",
        "kpnmail.nl",
        "hotmail.nl",
        "live.nl",
        "planet.nl",
        "xs4all.nl",
        "home.nl",
        "online.no",
    ]
)

_NON_WORD = re.compile(r"[^0-9a-z]+")
_NUMBER = re.compile(r"\d+[a-z]?")
_SLASHED_LETTERS = re.compile(r"\b([a-z])/([a-z])\b")


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """The search fold (storage.normalize.fold: lower case, every letter transliterated to
    ASCII), then `&` as `and`, dots and apostrophes dropped inside words (B.V., O'Brien) and
    every other mark a space: only [0-9a-z] words remain."""
    plain = fold_text(text).replace("&", " and ").replace(".", "").replace("'", "")
    plain = _SLASHED_LETTERS.sub(r"\1\2", plain)  # A/S, S/A: one legal-form word
    return " ".join(_NON_WORD.sub(" ", plain).split())


def name_tokens(name: str, company: bool) -> tuple[str, ...]:
    """A name's words; a company's without legal-form words (kept when nothing else is left)."""
    words = fold(name).split()
    if not company:
        return tuple(words)
    kept = tuple(w for w in words if w not in LEGAL_SUFFIXES)
    return kept or tuple(words)


def split_address(*lines: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(street words, house numbers) of address lines: `Keizersgracht 1-3a` gives
    (("keizersgracht",), ("1", "3a"))."""
    words: list[str] = []
    numbers: list[str] = []
    for line in lines:
        for word in fold(line).split():
            if _NUMBER.fullmatch(word):
                numbers.append(word)
            elif not word.isalpha():  # folded words hold only [0-9a-z]: a digit among letters
                numbers.extend(_NUMBER.findall(word))
            else:
                words.append(word)
    return tuple(words), tuple(numbers)


def compact(text: str) -> str:
    """Letters and digits only, upper case: post codes (`1016 AB` = `1016ab`) and VAT numbers.
    Folded text holds only [0-9a-z] and single spaces, so only the spaces need to go."""
    return fold(text).upper().replace(" ", "")


def vat_key(vat: str) -> str:
    """A VAT number without its country prefix (`NL 8525.06.117.B01` = `852506117B01`)."""
    value = compact(vat)
    if len(value) > 4 and value[:2].isalpha() and value[2].isdigit():
        value = value[2:]
    return value


_SOUNDEX = str.maketrans("bfpvcgjkqsxzdtlmnr", "111122222222334556")


@lru_cache(maxsize=200_000)
def phonetic(word: str) -> str:
    """American Soundex of a folded word, with the numeric tail kept for numbers (4 chars)."""
    if not word:
        return ""
    if word[0].isdigit():
        return word
    head = word[0]
    coded = word.translate(_SOUNDEX)
    out: list[str] = []
    last = coded[0] if coded[0].isdigit() else ""
    for ch in coded[1:]:
        if ch.isdigit():
            if ch != last:
                out.append(ch)
            last = ch
        elif ch not in "hw":
            last = ""
    return (head + "".join(out) + "000")[:4]


#: The typed fields (storage/fields.py) whose change can change a contact's keys or scores:
#: what ContactData holds, by the names people type (`country` reads phones; `company` gives
#: a person's employer). A change of only other fields needs no duplicate check.
MATCHED_FIELDS: frozenset[str] = frozenset(
    {
        "name",
        "first_name",
        "surname",
        "address",
        "address_2",
        "city",
        "post_code",
        "country",
        "phone",
        "mobile",
        "email",
        "vat_no",
        "company",
    }
)


class ContactData(NamedTuple):
    """The fields of a contact that matching reads (from an ORM object or a database row); a
    named tuple because a scan makes one for each of a million rows."""

    id: int
    no: str
    type: str  # COMPANY or PERSON
    name: str = ""
    first_name: str = ""
    surname: str = ""
    address: str = ""
    address_2: str = ""
    city: str = ""
    post_code: str = ""
    phone_e164: str = ""
    mobile_e164: str = ""
    email_normalized: str = ""
    vat_no: str = ""
    country: str = ""
    company_name: str = ""
    phone: str = ""  # as typed (Business Central's search strings read these)
    mobile: str = ""
    email: str = ""


class Profile(NamedTuple):
    """A contact prepared for matching: every normalised form computed once.

    A named tuple rather than a dataclass: a scan rebuilds one from its packed form (`pack`,
    `unpack`) for every pair it scores, and a tuple is built five times faster."""

    company: bool
    tokens: tuple[str, ...]
    given: str
    surname: str
    street: str
    numbers: tuple[str, ...]
    address_2: str
    city: str
    post: str
    phones: frozenset[str]
    email: str
    domain: str
    vat: str
    employer: str  # a person's company name, folded ("" for companies and independents)


#: A phone kept as typed (no E.164 form) is matched on its digits only from this many on: a
#: short extension or a stray digit says nothing.
PHONE_KEY_DIGITS = 6


def phone_key(typed: str, e164: str) -> str:
    """What a phone is matched on: its E.164 form, or the digits of a number kept as typed
    (two contacts that typed `020-5550100` without a country to read it with still meet)."""
    if e164:
        return e164
    number = digits(typed or "")
    return number if len(number) >= PHONE_KEY_DIGITS else ""


def profile(data: ContactData) -> Profile:
    company = data.type == COMPANY
    tokens = name_tokens(data.name, company)
    if company:
        given, surname = "", ""
    else:
        surname = fold(data.surname) if data.surname else (tokens[-1] if tokens else "")
        given = fold(data.first_name) if data.first_name else " ".join(tokens[:-1])
    words, numbers = split_address(data.address)
    email = data.email_normalized or ""
    domain = email.rpartition("@")[2] if "@" in email else ""
    return Profile(
        company=company,
        tokens=tokens,
        given=given,
        surname=surname,
        street=" ".join(words),
        numbers=numbers,
        address_2=fold(data.address_2),
        city=fold(data.city),
        post=compact(data.post_code),
        phones=frozenset(
            number
            for number in (
                phone_key(data.phone, data.phone_e164),
                phone_key(data.mobile, data.mobile_e164),
            )
            if number
        ),
        email=email,
        domain=domain,
        vat=vat_key(data.vat_no),
        employer="" if company else " ".join(name_tokens(data.company_name, True)),
    )


def blob(p: Profile) -> str:
    """Name and address on one line, for the quick look that drops hopeless candidates."""
    return f"{' '.join(sorted(p.tokens))} {p.street} {' '.join(p.numbers)} {p.post} {p.city}"


# --- packed profiles -----------------------------------------------------------------------
# A scan keeps every contact's profile until it has compared them all: as one short string
# (about 150 bytes) instead of the objects (over 1 KB). Folded and compacted fields hold only
# [0-9a-z ] or [0-9A-Z], so the separators below cannot occur in them; email and phones are
# stored as found, and a profile whose email, phones or employer hold a separator is packed as
# JSON.

_FIELD = "\x1f"
_PHONE = "\x1e"
_EMPTY: frozenset[str] = frozenset()


def pack(p: Profile) -> str:
    """The profile as one string (`unpack` gives it back): `c` or `p`, then its fields."""
    phones = sorted(p.phones)
    if any(_FIELD in text or _PHONE in text for text in (p.email, p.employer, *phones)):
        return json.dumps([*p[:9], phones, *p[10:]])
    return _FIELD.join(
        (
            "c" if p.company else "p",
            " ".join(p.tokens),
            p.given,
            p.surname,
            p.street,
            " ".join(p.numbers),
            p.address_2,
            p.city,
            p.post,
            _PHONE.join(phones),
            p.email,
            p.domain,
            p.vat,
            p.employer,
        )
    )


def unpack(packed: str) -> Profile:
    """The profile that `pack` packed."""
    if packed[0] == "[":
        fields = json.loads(packed)
        fields[1], fields[5] = tuple(fields[1]), tuple(fields[5])
        fields[9] = frozenset(fields[9])
        return Profile._make(fields)
    (kind, tokens, given, surname, street, numbers, address_2, city, post, phones, email,
     domain, vat, employer) = packed.split(_FIELD)  # fmt: skip
    return Profile(
        kind == "c",
        tuple(tokens.split()),
        given,
        surname,
        street,
        tuple(numbers.split()),
        address_2,
        city,
        post,
        frozenset(phones.split(_PHONE)) if phones else _EMPTY,
        email,
        domain,
        vat,
        employer,
    )
