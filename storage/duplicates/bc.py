"""Business Central's duplicate search (codeunit DuplicateManagement), as `method = "bc"`.

Each Duplicate Search String Setup line (a field, its first or last part, a length) gives a
contact one search string: the field's text without ` +"&/,.;:-_(){}#!£$\\`, cut to the part,
upper case. Two contacts whose strings agree on at least `search hit %` of the setup lines
(rounded up) are duplicates. Fields are compared as typed: no phone normalisation, no name
suffix removal, exactly as Business Central does; that is the mode's point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from storage.duplicates.normalize import ContactData
from storage.duplicates.settings import SearchString

_DROPPED = str.maketrans("", "", ' +"&/,.;:-_(){}#!£$\\')

#: Fields of ContactData holding what the person typed, one per search string field.
_SOURCE = ("name", "address", "city", "post_code", "phone", "mobile", "email", "vat_no")


def compose(value: str, part: str, length: int) -> str:
    """ComposeIndexString: strip the listed characters, take the first or last `length`."""
    text = value.translate(_DROPPED)
    if len(text) < length:
        length = len(text)
    if length <= 0:
        return ""
    return (text[:length] if part == "first" else text[-length:]).upper()


def search_strings(typed: dict[str, str], setup: Sequence[SearchString]) -> dict[int, str]:
    """Setup line index -> search string (only lines whose string is not empty)."""
    out: dict[int, str] = {}
    for index, line in enumerate(setup):
        value = compose(typed.get(line.field, "") or "", line.part, line.length)
        if value:
            out[index] = value
    return out


def bc_keys(strings: dict[int, str], kind: str) -> set[str]:
    return {f"{kind}b:{index}:{value}" for index, value in strings.items()}


def hits_needed(setup_lines: int, percent: int) -> int:
    """Round(count * hit % / 100, 1, '>'): rounded up."""
    return max(1, math.ceil(setup_lines * percent / 100 - 1e-9))


def compare(
    a: dict[int, str], b: dict[int, str], setup: Sequence[SearchString]
) -> tuple[int, list[str]]:
    """Matching strings and their names (`name first`, …)."""
    matched = [index for index, value in a.items() if b.get(index) == value]
    return len(matched), [f"{setup[i].field} {setup[i].part}" for i in matched]


def typed_fields(data: ContactData) -> dict[str, str]:
    """The fields as the person typed them (phone and email not normalised)."""
    return {name: getattr(data, name) or "" for name in _SOURCE}
