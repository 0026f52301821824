"""A contact row of an import file: its header, its cells parsed into a kind, an explicit
number and the given fields, and the draft that validation fills."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.contacts import _check_length
from storage.errors import UserError
from storage.fields import CSV_COLUMNS, PERSON_ONLY_FIELDS
from storage.importing.reading import read_columns
from storage.models import Contact, ContactType
from storage.text import check_text

#: Rows per INSERT batch (executemany) and per progress step.
BATCH = 5000
MAX_NO_LENGTH = 20

TABLE = Contact.__table__
COLUMNS: tuple[str, ...] = tuple(column.key for column in TABLE.columns)
#: Columns a validated row carries to the insert; the others are set when inserting.
CARRIED: tuple[str, ...] = tuple(
    name
    for name in COLUMNS
    if name not in ("id", "no", "type", "company_id", "created_at", "modified_at")
)


class Draft:
    """A row being validated: what build_contact fills, without ORM instrumentation (a mapped
    Contact costs more to build than all the validation of a row)."""

    __slots__ = (*COLUMNS, "company", "index", "line", "seq", "extras")

    def __init__(self, type: ContactType) -> None:  # `type`: build_contact calls new(type=…)
        for name in self.__slots__:
            setattr(self, name, None)
        self.type = type

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in CARRIED)


def read_header(path: Path) -> tuple[str, ...]:
    """The columns of the file, refused as a whole when one is not a contact field."""
    header = read_columns(path, CSV_COLUMNS)
    if not {"name", "first_name", "surname"} & set(header):
        raise UserError(f"{path}: the header needs a `name` column (or first_name and surname).")
    return header


@dataclass(frozen=True)
class Row:
    kind: ContactType
    no: str | None
    fields: dict[str, str]


def parse_row(header: Sequence[str], cells: list[str]) -> Row:
    """Cells to a kind, an explicit number and the given (non-blank) fields."""
    if len(cells) > len(header):
        raise UserError(f"the row has {len(cells)} cells; the header names {len(header)}.")
    values = dict(zip(header, cells, strict=False))
    for name, cell in values.items():  # a NUL would abort the whole import on PostgreSQL
        check_text(name, cell, multiline=True)
    no = values.pop("no", "").strip().upper() or None
    if no is not None:
        _check_length("no", no)
    type_cell = values.pop("type", "")
    fields = {name: value for name, value in values.items() if value.strip()}
    return Row(_kind(type_cell, fields), no, fields)


def kind_or_none(cell: str) -> ContactType | None:
    try:
        return ContactType(cell.strip().lower())
    except ValueError:
        return None


def _kind(cell: str, fields: dict[str, str]) -> ContactType:
    text = cell.strip().lower()
    if not text:
        person = any(name in fields for name in PERSON_ONLY_FIELDS)
        return ContactType.PERSON if person else ContactType.COMPANY
    try:
        return ContactType(text)
    except ValueError:
        raise UserError(f"type: `{cell.strip()}` is not company or person.") from None


class Peek:
    """Tells a person row from the others without parsing it (the first pass skips persons,
    and parsing every row cost it a fifth of its time)."""

    def __init__(self, header: Sequence[str]) -> None:
        self.width = len(header)
        self.type_at = header.index("type") if "type" in header else None
        self.no_at = header.index("no") if "no" in header else None
        self.person_at = [i for i, name in enumerate(header) if name in PERSON_ONLY_FIELDS]

    def person_no(self, cells: list[str]) -> str | None:
        """A row that _parse surely takes for a person: its own number ("" for none);
        anything else (a company, a row _parse may refuse): None."""
        if len(cells) > self.width:
            return None
        kind = self._cell(cells, self.type_at).lower()
        if kind != "person" and (kind or not any(self._cell(cells, i) for i in self.person_at)):
            return None
        no = self._cell(cells, self.no_at).upper()
        if len(no) > MAX_NO_LENGTH or not no.isprintable():
            return None  # _parse refuses it (a NUL must never reach a query)
        return no

    @staticmethod
    def _cell(cells: list[str], at: int | None) -> str:
        return cells[at].strip() if at is not None and at < len(cells) else ""
