"""Which field each column of an import file holds, from the header people's files have.

A header cell is matched case- and punctuation-insensitively (`E-Mail`, `e_mail` and `Email`
are one name) against the field names (`post_code`), the card's labels (`Post Code`), Business
Central's captions (`Phone No.`, `Country/Region Code`, `Company No.`) and the headers of the
contact CSVs Outlook and Google write (`First Name`, `Business Street`, `E-mail Address`,
`Given Name`, `Organization 1 - Name`, …). A column matching nothing is reported once, in the
summary, and skipped; a header that names no field at all, or two columns for one field at
the same rank, refuses the file before any row is read.

Outlook writes three addresses and several phones (Business, Home, Other). Each alias has a
rank (0 plain or Business Central, 1 Business, 2 Home, 3 Other): a phone or an email comes
from the best-ranked column that is filled in; the address block (street, street 2, post code,
city, county, country) comes whole from the best-ranked address that has any part filled in,
so a business street is never paired with a home city.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from storage.errors import UserError
from storage.fields import FIELD_BY_NAME

#: The fields read as one address: taken whole from one rank.
ADDRESS_FIELDS = frozenset({"address", "address_2", "post_code", "city", "county", "country"})

_PLAIN, _BUSINESS, _HOME, _OTHER = 0, 1, 2, 3
_PLACES = ((_BUSINESS, "business"), (_HOME, "home"), (_OTHER, "other"))

#: field -> aliases at rank 0 (besides the field's own name and its card label).
_ALIASES: dict[str, tuple[str, ...]] = {
    "no": ("No.", "Number", "Contact No.", "Customer No.", "Vendor No.", "Bank Account No."),
    "type": ("Contact Type",),
    "name": ("Full Name", "Display Name", "Company Name (Contact)"),
    "name_2": ("Name 2",),
    "first_name": ("First Name", "Given Name"),
    "middle_name": ("Middle Name", "Additional Name"),
    "surname": ("Last Name", "Family Name"),
    "company": (
        "Company No.",
        "Organization",
        "Organization Name",
        "Organization 1 - Name",
    ),
    "job_title": ("Job Title", "Organization Title", "Organization 1 - Title"),
    "address": ("Street", "Street Address", "Address 1 - Street", "Address Line 1"),
    "address_2": ("Address Line 2",),
    "city": ("Address 1 - City", "Town"),
    "post_code": ("Postal Code", "Zip", "Zip Code", "Postcode", "Address 1 - Postal Code"),
    "county": ("State", "Region", "Province", "Address 1 - Region"),
    "country": ("Country/Region Code", "Country", "Country Code", "Address 1 - Country"),
    "phone": ("Phone No.", "Telephone", "Primary Phone", "Phone 1 - Value", "Company Main Phone"),
    "mobile": ("Mobile Phone No.", "Mobile", "Cell Phone", "Mobile Phone"),
    "email": (
        "E-Mail",
        "Email Address",
        "E-mail Address",
        "E-mail 1 - Value",
        "Primary Email",
    ),
    "home_page": ("Home Page", "Web Page", "Website", "Web Site", "Website 1 - Value"),
    "vat_no": ("VAT Registration No.", "VAT No.", "VAT Number"),
    "salesperson": ("Salesperson Code",),
    "territory": ("Territory Code",),
    "language": ("Language Code",),
    "level": ("Organizational Level Code",),
    "salutation": ("Salutation Code",),
    "currency": ("Currency Code",),
}

#: Second columns for one field, used when the better-ranked ones are blank (Business Central
#: exports both the company's number and its name; Outlook three emails).
_FALLBACKS: dict[str, tuple[tuple[str, int], ...]] = {
    "company": (("Company Name", 1),),
    "phone": (("Business Phone 2", 4), ("Home Phone 2", 5)),
    "email": (("E-mail 2 Address", 4), ("E-mail 3 Address", 5), ("E-mail 2 - Value", 4)),
}

#: Outlook's address and phone columns by place: `Business Street`, `Home City`, …
_PLACED: dict[str, tuple[str, ...]] = {
    "address": ("{} Street",),
    "address_2": ("{} Street 2",),
    "city": ("{} City",),
    "post_code": ("{} Postal Code",),
    "county": ("{} State",),
    "country": ("{} Country/Region", "{} Country"),
    "phone": ("{} Phone",),
}


def squash(text: str) -> str:
    """A header cell as matched: case and punctuation ignored (`E-Mail` -> `email`)."""
    return re.sub(r"[\W_]+", "", text.casefold())


def _aliases(names: Iterable[str]) -> dict[str, tuple[str, int]]:
    """squashed alias -> (field, rank) for the given fields."""
    table: dict[str, tuple[str, int]] = {}

    def add(alias: str, name: str, rank: int) -> None:
        table.setdefault(squash(alias), (name, rank))

    wanted = list(names)
    for name in wanted:
        add(name, name, _PLAIN)
        spec = FIELD_BY_NAME.get(name)
        if spec is not None:
            add(spec.label, name, _PLAIN)
        for alias in _ALIASES.get(name, ()):
            add(alias, name, _PLAIN)
    for name in wanted:  # after every plain alias, so that those win
        for alias, rank in _FALLBACKS.get(name, ()):
            add(alias, name, rank)
        for rank, place in _PLACES:
            for pattern in _PLACED.get(name, ()):
                add(pattern.format(place), name, rank)
    return table


@dataclass(frozen=True)
class Column:
    position: int
    field: str
    rank: int


@dataclass
class HeaderMap:
    """The header's columns matched to fields; `unknown`: the header cells matching none."""

    cells: tuple[str, ...]
    columns: list[Column] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def fields(self) -> set[str]:
        return {column.field for column in self.columns}

    def positions(self, name: str) -> list[int]:
        return [column.position for column in self.columns if column.field == name]

    def values(self, cells: Sequence[str]) -> dict[str, tuple[str, int]]:
        """field -> (cell, position) for a row: the best-ranked filled cell of each field, the
        address block from the best-ranked address with any part filled in. Fields whose
        columns are all blank are left out."""
        best: dict[str, tuple[int, str, int]] = {}
        places: dict[int, dict[str, tuple[str, int]]] = {}
        for column in self.columns:
            if column.position >= len(cells):
                continue
            cell = cells[column.position]
            if not cell.strip():
                continue
            if column.field in ADDRESS_FIELDS:
                places.setdefault(column.rank, {})[column.field] = (cell, column.position)
                continue
            held = best.get(column.field)
            if held is None or column.rank < held[0]:
                best[column.field] = (column.rank, cell, column.position)
        values = {name: (cell, position) for name, (_rank, cell, position) in best.items()}
        if places:
            values.update(places[min(places)])
        return values

    def unknown_note(self) -> str:
        """The summary's note on skipped columns, or ""."""
        if not self.unknown:
            return ""
        names = ", ".join(f"`{name}`" for name in self.unknown[:20])
        more = f" and {len(self.unknown) - 20} more" if len(self.unknown) > 20 else ""
        return f" Columns skipped (no such field): {names}{more}."


def match_header(path: object, cells: Sequence[str], names: Sequence[str]) -> HeaderMap:
    """Match the header `cells` against the fields `names` (see the module docstring)."""
    table = _aliases(names)
    header = HeaderMap(tuple(cells))
    taken: dict[tuple[str, int], str] = {}
    for position, cell in enumerate(cells):
        text = cell.strip()
        if not text:
            continue  # a blank column (a trailing delimiter) holds nothing to import
        hit = table.get(squash(text))
        if hit is None:
            if text not in header.unknown:
                header.unknown.append(text)
            continue
        name, rank = hit
        if (name, rank) in taken:
            raise UserError(
                f"{path}: the columns `{taken[name, rank]}` and `{text}` both hold {name}; "
                "keep one of them."
            )
        taken[name, rank] = text
        header.columns.append(Column(position, name, rank))
    if not header.columns:
        seen = ", ".join(f"`{name}`" for name in header.unknown[:5])
        raise UserError(
            f"{path}: no column of the header names a field ({seen or 'it is blank'}). The first "
            f"row names the columns, like: {','.join(names[:4])},… (or Business Central's or "
            "Outlook's captions)."
        )
    return header


__all__ = ["ADDRESS_FIELDS", "Column", "HeaderMap", "match_header", "squash"]
