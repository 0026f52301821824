"""Duplicate search settings, kept in their own one-row table (`dupe_settings`).

`method`: "default" (blocking keys and rapidfuzz scoring) or "bc" (Business Central's search
strings and search hit %). `threshold`: the default method's lowest score for a pair (0–100).
`search_hit_percent` and `search_strings` are Business Central's Marketing Setup "Search Hit %"
and Duplicate Search String Setup; `autosearch` is "Autosearch for Duplicates" (check on new
and set) and `maintain_keys` is "Maintain Dupl. Search Strings" (keep keys current on change).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from storage.duplicates.models import DupeSettings
from storage.errors import UserError
from storage.numbers import parse_whole, short

METHODS = ("default", "bc")
DEFAULT_THRESHOLD = 80.0
#: Business Central's default Duplicate Search String Setup: each field, first and last 5.
BC_FIELDS = ("name", "address", "city", "post_code", "phone", "mobile", "email", "vat_no")
SETTING_KEYS = (
    "method",
    "threshold",
    "search_hit_percent",
    "search_strings",
    "autosearch",
    "maintain_keys",
)

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True)
class SearchString:
    field: str
    part: str  # "first" | "last"
    length: int

    def __str__(self) -> str:
        return f"{self.field}:{self.part}:{self.length}"


def default_search_strings() -> tuple[SearchString, ...]:
    return tuple(SearchString(f, part, 5) for f in BC_FIELDS for part in ("first", "last"))


def parse_search_strings(text: str) -> tuple[SearchString, ...]:
    """`name:first:5,name:last:5,city` (part defaults to both, length to 5); blank: default."""
    if not text.strip():
        return default_search_strings()
    out: list[SearchString] = []
    for item in text.split(","):
        bits = [b.strip().lower() for b in item.split(":")]
        if not bits[0]:
            continue
        field = bits[0]
        if field not in BC_FIELDS:
            raise UserError(
                f"search_strings: `{field}` is not a search string field. "
                f"Use {', '.join(BC_FIELDS)}."
            )
        parts = [bits[1]] if len(bits) > 1 and bits[1] else ["first", "last"]
        if any(p not in ("first", "last") for p in parts):
            raise UserError(f"search_strings: `{bits[1]}` is not first or last.")
        length = parse_whole(bits[2], "search_strings", 2, 10) if len(bits) > 2 else 5
        out.extend(SearchString(field, p, length) for p in parts)
    return tuple(out)


def get_settings(session: Session) -> DupeSettings:
    row = session.get(DupeSettings, 1)
    if row is None:  # a database made by hand; the migration seeds this row
        row = DupeSettings(
            id=1,
            method="default",
            threshold=DEFAULT_THRESHOLD,
            search_hit_percent=60,
            search_strings="",
            autosearch=True,
            maintain_keys=True,
        )
        session.add(row)
        session.flush()
    return row


def settings_values(session: Session) -> dict[str, str]:
    row = get_settings(session)
    return {
        "method": row.method,
        "threshold": f"{row.threshold:g}",
        "search_hit_percent": str(row.search_hit_percent),
        "search_strings": ",".join(str(s) for s in parse_search_strings(row.search_strings)),
        "autosearch": "yes" if row.autosearch else "no",
        "maintain_keys": "yes" if row.maintain_keys else "no",
    }


def _bool(key: str, value: str) -> bool:
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise UserError(f"{key}: `{value}` is not yes or no.")


def update_settings(session: Session, values: Mapping[str, str]) -> list[str]:
    """Change settings; returns the keys changed. Validated first, so nothing half-changes."""
    row = get_settings(session)
    new: dict[str, object] = {}
    for key, value in values.items():
        if key not in SETTING_KEYS:
            raise UserError(
                f"Unknown duplicate setting `{key}`. Settings: {', '.join(SETTING_KEYS)}."
            )
        if key == "method":
            if value.strip().lower() not in METHODS:
                raise UserError(f"method: `{short(value)}` is not default or bc.")
            new[key] = value.strip().lower()
        elif key == "threshold":
            try:
                number = float(value)
            except ValueError:
                raise UserError(f"threshold: `{value}` is not a number from 0 to 100.") from None
            if not 0 <= number <= 100:
                raise UserError("threshold: a score is from 0 to 100.")
            new[key] = number
        elif key == "search_hit_percent":
            new[key] = parse_whole(value, key, 1, 100, unit="(a percentage)")
        elif key == "search_strings":
            new[key] = ",".join(str(s) for s in parse_search_strings(value))
        else:
            new[key] = _bool(key, value)
    changed = [k for k, v in new.items() if getattr(row, k) != v]
    for key, value in new.items():
        setattr(row, key, value)
    session.flush()
    return changed
