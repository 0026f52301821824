"""A contact row of an import file: its header, its cells parsed into a kind, an explicit
number and the given fields, and the draft that validation fills."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.contacts import _check_length
from storage.errors import UserError
from storage.fields import CSV_COLUMNS, PERSON_ONLY_FIELDS
from storage.importing.headers import HeaderMap, match_header
from storage.importing.reading import FileFormat, read_header_cells
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


#: The fields that make a contact's name: a row without any of them cannot be a contact.
NAME_FIELDS = frozenset({"name", "first_name", "middle_name", "surname"})
#: Fields whose bad value refuses a person's row instead of being left out: the name, and the
#: company it belongs to (without it the person would land outside its company); of a
#: company's row only the name.
PROTECTED_FIELDS = NAME_FIELDS | {"company"}


def read_header(path: Path, fmt: FileFormat) -> HeaderMap:
    """The file's columns matched to contact fields (storage/importing/headers.py), refused
    as a whole when none of them can hold a name."""
    cells = read_header_cells(path, fmt, "type,name,city,phone,email,company")
    header = match_header(path, cells, CSV_COLUMNS)
    if not (NAME_FIELDS | {"company"}) & header.fields:
        raise UserError(
            f"{path}: the header needs a `name` column (or first_name and surname; "
            "Outlook's First Name and Last Name; Business Central's Name)."
        )
    return header


@dataclass(frozen=True)
class Row:
    kind: ContactType
    no: str | None
    fields: dict[str, str]


def parse_row(header: HeaderMap, cells: list[str]) -> Row:
    """Cells to a kind, an explicit number and the given (non-blank) fields. In a file without
    a name column (Outlook's, Google's: first and last names), a row that names only a company
    is that company."""
    width = len(header.cells)
    if len(cells) > width:
        raise UserError(f"the row has {len(cells)} cells; the header names {width}.")
    values = {name: cell for name, (cell, _position) in header.values(cells).items()}
    no = values.pop("no", "").strip().upper() or None
    if no is not None:
        check_text("no", no)
        _check_length("no", no)
    type_cell = values.pop("type", "")
    check_text("type", type_cell)
    kind = kind_or_none(type_cell) if type_cell.strip() else None
    if (
        kind is not ContactType.PERSON
        and "name" not in header.fields  # Outlook's and Google's files: no name column
        and "company" in values
        and not NAME_FIELDS & set(values)
    ):
        values["name"] = values.pop("company")
        type_cell = ContactType.COMPANY.value
    return Row(_kind(type_cell, values), no, values)


def checked_fields(fields: dict[str, str]) -> dict[str, str]:
    """The fields as build_contact takes them, each cell checked as plain text first (a NUL
    would abort the whole import on PostgreSQL): a bad one raises naming its field."""
    for name, cell in fields.items():
        check_text(name, cell, multiline=True)
    return fields


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

    def __init__(self, header: HeaderMap) -> None:
        self.width = len(header.cells)
        self.type_at = _first(header.positions("type"))
        self.no_at = _first(header.positions("no"))
        self.person_at = [
            column.position for column in header.columns if column.field in PERSON_ONLY_FIELDS
        ]
        self.named_at = [
            column.position for column in header.columns if column.field in NAME_FIELDS
        ]
        self.no_columns = len(header.positions("no"))

    def person_no(self, cells: list[str]) -> str | None:
        """A row that parse_row surely takes for a person: its own number ("" for none);
        anything else (a company, a row parse_row may refuse): None."""
        if len(cells) > self.width or self.no_columns > 1:
            return None
        kind = self._cell(cells, self.type_at).lower()
        if kind != "person" and (kind or not any(self._cell(cells, i) for i in self.person_at)):
            return None
        if not any(self._cell(cells, i) for i in self.named_at):
            return None  # no name: parse_row may make it a company, or refuse it
        no = self._cell(cells, self.no_at).upper()
        if len(no) > MAX_NO_LENGTH or not no.isprintable():
            return None  # _parse refuses it (a NUL must never reach a query)
        return no

    @staticmethod
    def _cell(cells: list[str], at: int | None) -> str:
        return cells[at].strip() if at is not None and at < len(cells) else ""


def _first(positions: list[int]) -> int | None:
    return positions[0] if positions else None
