"""A bad value costs that value, not the row: a row is built again without the field that a
check refused, and the refusal is kept for the reject report.

Which field a refusal names: the messages of the shared checks start with the field's name
(`email: `x` is not an email address…`, `job_title applies to persons only…`); a code table's
refusal quotes the typed code (`country/region `XX` does not exist`), so a field holding
exactly that text is the one. When no field can be told, or the field is one the row cannot
do without (its name; a person's company), the row is refused whole, as with `--strict`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeVar

from storage.errors import UserError

T = TypeVar("T")

_LEADING = re.compile(r"^([a-z][a-z0-9_]*)(?::| applies\b)")
_QUOTED = re.compile(r"`([^`]*)`")


@dataclass(frozen=True)
class Dropped:
    """A value left out of an imported row, and why."""

    field: str
    value: str
    reason: str


def field_of(message: str, fields: dict[str, str]) -> str | None:
    """The field of `fields` that the refusal `message` is about, when it can be told."""
    leading = _LEADING.match(message)
    if leading and leading.group(1) in fields:
        return leading.group(1)
    for quoted in _QUOTED.findall(message):
        wanted = quoted.strip().casefold()
        hits = [name for name, value in fields.items() if value.strip().casefold() == wanted]
        if len(hits) == 1:
            return hits[0]
    return None


def salvage(
    build: Callable[[dict[str, str]], T],
    fields: dict[str, str],
    *,
    protected: Collection[str],
    strict: bool = False,
) -> tuple[T, list[Dropped]]:
    """`build(fields)`, leaving out each field a check refuses until the rest passes; raises
    the refusal when the row must go whole (see the module docstring)."""
    fields = dict(fields)
    dropped: list[Dropped] = []
    while True:
        try:
            return build(dict(fields)), dropped
        except UserError as error:
            name = None if strict else field_of(error.message, fields)
            if name is None or name in protected:
                raise
            dropped.append(Dropped(name, fields.pop(name), error.message))
