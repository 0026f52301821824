"""Scoring a candidate pair: rapidfuzz per field, combined as evidence into one score.

Each field that both cards fill adds evidence for (similar) or against (different), weighted
by how much agreement on that field says (the Fellegi–Sunter idea, with fixed weights): a
shared surname says more than a shared city, the same email, phone or VAT number says almost
everything, and a different VAT number speaks strongly against. Fields that either card leaves
blank add nothing. The sum maps to a score of 0–100; the explanation lists each field's part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler

from storage.duplicates.normalize import Profile

#: (agree, disagree) evidence per field; similarity between LOW and HIGH interpolates. A field
#: adds at most its agree weight: score_pair's early stop (_most_names, _most_address)
#: relies on it.
WEIGHTS: dict[str, tuple[float, float]] = {
    "name": (8.0, -10.0),  # companies: another name at one address is another company
    "given": (4.0, -2.0),
    "surname": (5.5, -2.5),
    "street": (4.5, -2.0),
    "number": (3.0, -2.0),
    "address_2": (2.0, -0.5),
    "city": (3.0, -1.5),
    "post_code": (4.0, -2.0),
    "email": (10.0, -1.0),
    "domain": (3.0, 0.0),
    "phone": (9.0, -1.0),
    "vat": (12.0, -8.0),
    "company": (3.0, 0.0),  # two persons of one company (see _colleagues)
}
HIGH = 0.92
LOW = 0.6
#: Evidence at which the score is 50; each further point of evidence moves it like log-odds.
OFFSET = 5.5
SCALE = 0.5


class FieldScore(NamedTuple):
    """One field's part (a named tuple: a scan makes millions)."""

    field: str
    similarity: float  # 0..1
    evidence: float


@dataclass(frozen=True)
class Scored:
    score: float  # 0..100
    fields: tuple[FieldScore, ...]

    def why(self, limit: int = 4) -> str:
        """The fields that weighed most, for one line: `name 100%, phone same, city 86%`."""
        ranked = sorted(self.fields, key=lambda f: -abs(f.evidence))[:limit]
        parts = []
        for f in ranked:
            if f.field in ("email", "phone", "vat", "domain", "company"):
                parts.append(f"{f.field} {'same' if f.similarity >= 1 else 'different'}")
            else:
                parts.append(f"{f.field} {round(f.similarity * 100)}%")
        return ", ".join(parts)


def _evidence(field: str, similarity: float) -> float:
    agree, disagree = WEIGHTS[field]
    if similarity >= HIGH:
        return agree * (0.85 + 0.15 * (similarity - HIGH) / (1 - HIGH))
    if similarity <= LOW:
        return disagree
    share = (similarity - LOW) / (HIGH - LOW)
    return disagree + (agree * 0.85 - disagree) * share


def _jw(a: str, b: str) -> float:
    return JaroWinkler.normalized_similarity(a, b)


def _word_similarity(a: str, b: str) -> float:
    """Names and words: the better of Jaro–Winkler and token-sorted edit ratio."""
    if a == b:
        return 1.0
    return max(_jw(a, b), fuzz.token_sort_ratio(a, b) / 100)


def _person_names(a: Profile, b: Profile, out: list[FieldScore]) -> None:
    straight = (_word_similarity(a.given, b.given), _word_similarity(a.surname, b.surname))
    crossed = (_word_similarity(a.given, b.surname), _word_similarity(a.surname, b.given))
    given, surname = straight if sum(straight) >= sum(crossed) else crossed
    joined = fuzz.ratio("".join(a.tokens), "".join(b.tokens)) / 100
    if joined >= HIGH and joined > min(given, surname):  # a space typed inside a name
        given = surname = joined
    if a.surname and b.surname:
        out.append(FieldScore("surname", surname, _evidence("surname", surname)))
    if a.given and b.given:
        out.append(FieldScore("given", given, _evidence("given", given)))


def _company_name(a: Profile, b: Profile, out: list[FieldScore]) -> None:
    """Each word of the shorter name against its best match in the other, the weakest word
    deciding: `Acme Trading` is not `Acme Holding`, `Holding Acme` is, and so is `Acme`
    (a little less). A name typed without its spaces is compared joined up."""
    if not (a.tokens and b.tokens):
        return
    short, long = (a.tokens, b.tokens) if len(a.tokens) <= len(b.tokens) else (b.tokens, a.tokens)
    similarity = min(max(_word_similarity(w, other) for other in long) for w in short)
    if len(short) < len(long):
        similarity *= 0.96
    if len(a.tokens) != len(b.tokens):
        joined = fuzz.ratio("".join(a.tokens), "".join(b.tokens)) / 100
        similarity = max(similarity, joined)
    out.append(FieldScore("name", similarity, _evidence("name", similarity)))


def _address(a: Profile, b: Profile, out: list[FieldScore]) -> None:
    # Address and Address 2 are often swapped: compare the street either way.
    a_lines = [s for s in (a.street, a.address_2) if s]
    b_lines = [s for s in (b.street, b.address_2) if s]
    if a.street and b.street:
        street = (
            max(
                fuzz.token_sort_ratio(a.street, b.street),
                fuzz.ratio(a.street.replace(" ", ""), b.street.replace(" ", "")),
            )
            / 100
        )
        if street < HIGH:
            cross = max(fuzz.token_sort_ratio(x, y) for x in a_lines for y in b_lines) / 100
            street = max(street, cross * 0.97)
        out.append(FieldScore("street", street, _evidence("street", street)))
    elif a_lines and b_lines and (a.street or b.street):
        street = max(fuzz.token_sort_ratio(x, y) for x in a_lines for y in b_lines) / 100
        if street >= HIGH:
            out.append(FieldScore("street", street, _evidence("street", street) * 0.8))
    if a.numbers and b.numbers:
        same = 1.0 if a.numbers == b.numbers else 0.7 if set(a.numbers) & set(b.numbers) else 0.0
        if not same and len(a.numbers[0]) == len(b.numbers[0]):
            same = 0.65 if fuzz.ratio(a.numbers[0], b.numbers[0]) >= 50 else 0.0
        out.append(FieldScore("number", same, _evidence("number", same)))
    if a.address_2 and b.address_2:
        similarity = fuzz.token_sort_ratio(a.address_2, b.address_2) / 100
        out.append(FieldScore("address_2", similarity, _evidence("address_2", similarity)))


def _place(a: Profile, b: Profile, out: list[FieldScore]) -> None:
    if a.city and b.city:
        similarity = _word_similarity(a.city, b.city)
        out.append(FieldScore("city", similarity, _evidence("city", similarity)))
    if a.post and b.post:
        if a.post == b.post:
            similarity = 1.0
        elif len(a.post) == len(b.post) and OSA.distance(a.post, b.post) == 1:
            similarity = 0.85  # one digit wrong or two swapped: a typo, most likely
        else:
            similarity = fuzz.ratio(a.post, b.post) / 100 * 0.8
        out.append(FieldScore("post_code", similarity, _evidence("post_code", similarity)))


def _exact(a: Profile, b: Profile, out: list[FieldScore], *, phones: bool = True) -> None:
    if a.email and b.email:
        same = 1.0 if a.email == b.email else 0.0
        out.append(FieldScore("email", same, _evidence("email", same)))
        if not same and a.company and a.domain == b.domain and a.domain:
            out.append(FieldScore("domain", 1.0, WEIGHTS["domain"][0]))
    if phones and a.phones and b.phones:
        same = 1.0 if a.phones & b.phones else 0.0
        out.append(FieldScore("phone", same, _evidence("phone", same)))
    if a.vat and b.vat:
        same = 1.0 if a.vat == b.vat else 0.0
        out.append(FieldScore("vat", same, _evidence("vat", same)))


def score_pair(a: Profile, b: Profile, floor: float | None = None) -> Scored | None:
    """The score (0–100) of two contacts of the same type, with each field's part.

    With `floor`: None as soon as the fields left to compare cannot lift the pair to that
    score even if they all agree fully. The cheap exact and place fields are compared first
    and the names last; most candidate pairs of a scan stop before their names. The fields
    keep their order (names, address, place, exact) whatever order they are compared in."""
    exact: list[FieldScore] = []
    place: list[FieldScore] = []
    address: list[FieldScore] = []
    names: list[FieldScore] = []
    colleagues = _colleagues(a, b)
    _exact(a, b, exact, phones=not colleagues)
    if colleagues:
        exact.append(FieldScore("company", 1.0, WEIGHTS["company"][0]))
    else:
        _place(a, b, place)
    most_address = 0.0 if colleagues else _most_address(a, b)
    if floor is not None and _short_of(floor, exact + place, most_address + _most_names(a, b)):
        return None
    if not colleagues:
        _address(a, b, address)
    if floor is not None and _short_of(floor, exact + place + address, _most_names(a, b)):
        return None
    if a.company:
        _company_name(a, b, names)
    else:
        _person_names(a, b, names)
    fields = (*names, *address, *place, *exact)
    total = sum(f.evidence for f in fields)
    return Scored(round(_score(total), 1), fields)


def _colleagues(a: Profile, b: Profile) -> bool:
    """Two persons of one company: what a person takes from its company (address, city, post
    code, phone) is the same for all its persons and says nothing about whether two of them
    are one person, so only their own fields count (names, email), plus the company itself.
    Without this every new colleague was a "duplicate" of the others, by phone and address.
    The price: the same mobile number is not seen either (it shares the phone field)."""
    return not a.company and bool(a.employer) and a.employer == b.employer


def _score(total: float) -> float:
    """Evidence to a score of 0–100 (a logistic curve: OFFSET gives 50)."""
    return 100.0 / (1.0 + math.exp(-SCALE * (total - OFFSET)))


def _short_of(floor: float, done: list[FieldScore], most: float) -> bool:
    """Whether the pair stays below `floor` with the evidence `done` plus at most `most`
    more. The margin covers a sum taken in another order; score and rounding only rise with
    the evidence, so the pair's real score cannot reach `floor` either."""
    best = sum(f.evidence for f in done) + most + 1e-6
    return round(_score(best), 1) < floor


def _most_names(a: Profile, b: Profile) -> float:
    """The most evidence the name fields can add (each field's agree weight, when both cards
    fill it): what _company_name or _person_names add at best."""
    if a.company:
        return WEIGHTS["name"][0] if a.tokens and b.tokens else 0.0
    most = WEIGHTS["surname"][0] if a.surname and b.surname else 0.0
    return most + (WEIGHTS["given"][0] if a.given and b.given else 0.0)


def _most_address(a: Profile, b: Profile) -> float:
    """The most evidence _address can add."""
    most = 0.0
    if a.street and b.street:
        most += WEIGHTS["street"][0]
    elif (a.street or a.address_2) and (b.street or b.address_2) and (a.street or b.street):
        most += WEIGHTS["street"][0] * 0.8
    if a.numbers and b.numbers:
        most += WEIGHTS["number"][0]
    if a.address_2 and b.address_2:
        most += WEIGHTS["address_2"][0]
    return most
