"""One interface over both methods: what keys a contact gets, and how a pair is judged.

The default method prepares a Profile, keys it with storage.duplicates.keys and scores pairs
with storage.duplicates.scoring; the "bc" method keys each contact with its Business Central
search strings and counts the strings two contacts share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from storage.duplicates import bc
from storage.duplicates.keys import blocking_keys, worth_scoring
from storage.duplicates.normalize import COMPANY, ContactData, blob, pack, profile, unpack
from storage.duplicates.scoring import score_pair
from storage.duplicates.settings import get_settings, parse_search_strings


@dataclass(frozen=True)
class Verdict:
    score: float  # 0..100
    why: str  # one line for people
    detail: list[Any]  # per field, for the stored JSON

    def as_json(self) -> str:
        return json.dumps({"why": self.why, "fields": self.detail})


@dataclass
class Prepared:
    data: ContactData
    keys: set[str]
    state: Any  # the method's own view: a Profile, or Business Central's search strings
    blob: str = ""  # name and address on one line, for the quick look (default method)


class Matcher:
    """The configured method with its threshold, ready to key and compare contacts."""

    def __init__(
        self,
        method: str = "default",
        threshold: float = 80.0,
        hit_percent: int = 60,
        search_strings: str = "",
    ) -> None:
        self.method = method
        self.threshold = threshold
        self.hit_percent = hit_percent
        self.setup = parse_search_strings(search_strings)
        self.needed = bc.hits_needed(len(self.setup), hit_percent)

    @classmethod
    def from_settings(cls, session: Session) -> Matcher:
        row = get_settings(session)
        return cls(row.method, row.threshold, row.search_hit_percent, row.search_strings)

    def prepare(self, data: ContactData, *, keys: bool = True) -> Prepared:
        """The contact ready for comparing; `keys=False` skips its blocking keys (a candidate
        that is only compared needs none)."""
        kind = "c" if data.type == COMPANY else "p"
        if self.method == "bc":
            strings = bc.search_strings(bc.typed_fields(data), self.setup)
            return Prepared(data, bc.bc_keys(strings, kind) if keys else set(), strings)
        prof = profile(data)
        return Prepared(data, blocking_keys(prof) if keys else set(), prof, blob(prof))

    def worth_scoring(self, a: Prepared, b: Prepared, shared: int) -> bool:
        """`shared`: the evidence bits of the keys the two share (keys.key_bit)."""
        if a.data.type != b.data.type:
            return False
        if self.method == "bc":
            return True
        return worth_scoring(shared, a.blob, b.blob)

    def judge(self, a: Prepared, b: Prepared) -> Verdict | None:
        """The verdict when the pair is a possible duplicate, else None."""
        if a.data.type != b.data.type:
            return None
        return self.judge_states(a.state, b.state)

    def pack(self, item: Prepared) -> str:
        """The contact's state as one short string that `unpack` turns back into it: what a
        scan holds of each contact until it has compared them all. It starts with the
        contact type's letter (`c` or `p`)."""
        if self.method == "bc":
            return item.data.type + _pack_strings(item.state, len(self.setup))
        return pack(item.state)

    def unpack(self, packed: str) -> Any:
        """The state that `pack` packed, for `judge_states`."""
        if self.method == "bc":
            return _unpack_strings(packed[1:])
        return unpack(packed)

    def judge_states(self, a: Any, b: Any) -> Verdict | None:
        """`judge` for two states (Prepared.state) of contacts of one type."""
        if self.method == "bc":
            hits, names = bc.compare(a, b, self.setup)
            if hits < self.needed:
                return None
            score = round(100.0 * hits / len(self.setup), 1)
            why = f"{hits} of {len(self.setup)} search strings: " + ", ".join(names)
            return Verdict(score, why, names)
        scored = score_pair(a, b, self.threshold)
        if scored is None or scored.score < self.threshold:
            return None
        detail = [[f.field, round(f.similarity * 100), round(f.evidence, 2)] for f in scored.fields]
        return Verdict(scored.score, scored.why(), detail)


_SEPARATOR = "\x1f"


def _pack_strings(strings: dict[int, str], lines: int) -> str:
    """Business Central search strings (setup line -> string) as one string: the separator,
    then the strings in setup line order, empty where a line has none; as JSON (which starts
    with `[`) when a string holds the separator (they are typed text, so they might)."""
    values = [strings.get(index, "") for index in range(lines)]
    if any(_SEPARATOR in value for value in values):
        return json.dumps(sorted(strings.items()))
    return _SEPARATOR + _SEPARATOR.join(values)


def _unpack_strings(packed: str) -> dict[int, str]:
    if not packed.startswith(_SEPARATOR):
        return dict(json.loads(packed))
    values = packed[1:].split(_SEPARATOR)
    return {index: value for index, value in enumerate(values) if value}
