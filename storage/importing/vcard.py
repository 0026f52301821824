"""Importing contacts from a vCard file: `contactbot import contacts FILE.vcf`.

vCard 2.1, 3.0 and 4.0 as Google Contacts, iCloud, Outlook and phones write them, parsed by
vobject card by card (a card vobject cannot read is refused with its line; the others are
imported). Each card becomes a row of the contact import (storage/importing/contacts.py), so
the checks, the reject report, `--dry-run`, the progress bar and the duplicate keys are the
CSV import's:

- N (family; given; additional) -> surname, first_name, middle_name; FN -> name.
- ORG: a person joins the company of that name (any case, as `company=` does), which is
  created when neither the file nor the database has it. A card with ORG and no personal name
  (or Apple's X-ABSHOWAS:COMPANY, vCard 4.0's KIND:org) is that company.
- TITLE -> job_title; URL -> home_page; EMAIL -> email (the preferred one, else a work one,
  else the first); TEL -> phone (work or voice first) and mobile (cell, iPhone); fax numbers
  are skipped. ADR -> the address block of the work (else preferred, else first) address; a
  country given by name (`Netherlands`) is read as its code when the countries table names it.
- NOTE and PHOTO have no field on the contact card: they are not imported (the summary says
  how many cards had a note).

Outlook's 2.1 cards write accented text as quoted-printable with soft line breaks (`=` at a
line's end); vobject reads only base64, so those lines are decoded here first, in their CHARSET.
"""

from __future__ import annotations

import logging
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage.database import Store
from storage.errors import UserError
from storage.fields import CSV_COLUMNS
from storage.importing.contacts import ImportResult, Table, import_contacts
from storage.importing.headers import match_header
from storage.importing.progress import Progress
from storage.importing.reading import check_file, detect_encoding
from storage.importing.report import Failure
from storage.models import Contact, ContactType, CountryRegion

log = logging.getLogger(__name__)

#: The columns each card fills, as the contact import's header.
HEADER = (
    "type",
    "name",
    "first_name",
    "middle_name",
    "surname",
    "company",
    "job_title",
    "address",
    "address_2",
    "city",
    "post_code",
    "county",
    "country",
    "phone",
    "mobile",
    "email",
    "home_page",
)
_BEGIN = re.compile(r"^BEGIN:VCARD\s*$", re.IGNORECASE)
_END = re.compile(r"^END:VCARD\s*$", re.IGNORECASE)
_QP = re.compile(r"ENCODING=QUOTED-PRINTABLE|;QUOTED-PRINTABLE", re.IGNORECASE)
_CHARSET = re.compile(r";CHARSET=([^;:]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Card:
    """One card's text and the line its BEGIN:VCARD is on."""

    line: int
    text: str


def split_cards(text: str) -> Iterator[Card]:
    """The cards of a file, each with its first line (text outside cards is ignored)."""
    start: int | None = None
    lines: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if start is None:
            if _BEGIN.match(line):
                start, lines = number, [line]
            continue
        lines.append(line)
        if _END.match(line):
            yield Card(start, "\r\n".join(lines) + "\r\n")
            start = None
    if start is not None:
        yield Card(start, "\r\n".join(lines) + "\r\n")  # vobject says what is missing


def decode_quoted_printable(text: str) -> str:
    """Lines marked QUOTED-PRINTABLE (vCard 2.1) joined across soft breaks and decoded, as
    plain vCard text lines that vobject reads."""
    out: list[str] = []
    lines = iter(text.split("\r\n"))
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not _QP.search(name):
            out.append(line)
            continue
        while value.endswith("="):  # a soft line break: the value goes on
            value = value[:-1] + next(lines, "")
        charset = _CHARSET.search(name)
        encoding = charset.group(1).strip('"') if charset else "utf-8"
        raw = quopri.decodestring(value.encode("ascii", errors="replace"))
        try:
            decoded = raw.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            decoded = raw.decode("cp1252", errors="replace")
        params = ";".join(
            part
            for part in name.split(";")
            if part.upper() not in ("ENCODING=QUOTED-PRINTABLE", "QUOTED-PRINTABLE")
            and not part.upper().startswith("CHARSET=")
        )
        escaped = decoded.replace("\r\n", "\n").replace("\n", "\\n")
        out.append(f"{params}:{escaped}")
    return "\r\n".join(out)


def _types(line: Any) -> set[str]:
    """A property's TYPE values, upper case: `TYPE=work,voice`, `TYPE=WORK;TYPE=pref`, and
    2.1's bare `TEL;WORK;VOICE`."""
    found: set[str] = set()
    for value in line.params.get("TYPE", []):
        found.update(part.strip().upper() for part in value.split(","))
    found.update(param.upper() for param in getattr(line, "singletonparams", []))
    if line.params.get("PREF"):
        found.add("PREF")
    return found


def _pick(lines: list[Any], *wanted: str) -> Any | None:
    """The first line with the first wanted type that any has (PREF before all), else the
    first line."""
    for kind in ("PREF", *wanted):
        for line in lines:
            if kind in _types(line):
                return line
    return lines[0] if lines else None


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(part) for part in value if part).strip()
    return str(value or "").strip()


@dataclass
class CardRow:
    """What one card holds for the import; `company_card`: the card is a company."""

    fields: dict[str, str]
    company_card: bool
    note: bool


def card_row(card: Any, countries: dict[str, str]) -> CardRow:
    """The fields of one parsed card (see the module docstring)."""
    contents: dict[str, list[Any]] = card.contents
    fields: dict[str, str] = {}
    name_line = contents.get("n", [None])[0]
    if name_line is not None and not isinstance(name_line.value, str):
        parts = name_line.value
        fields["surname"] = _text(parts.family)
        fields["first_name"] = _text(parts.given)
        fields["middle_name"] = _text(parts.additional)
    full = _text(contents["fn"][0].value) if "fn" in contents else ""
    org = ""
    if "org" in contents:
        value = contents["org"][0].value
        org = _text(value[0] if isinstance(value, list) and value else value)
    personal = any(fields.get(name) for name in ("surname", "first_name", "middle_name"))
    shown_as = _text(contents["x-abshowas"][0].value).upper() if "x-abshowas" in contents else ""
    kind = _text(contents["kind"][0].value).lower() if "kind" in contents else ""
    company_card = bool(org) and (
        shown_as == "COMPANY" or kind == "org" or (not personal and full in ("", org))
    )
    if company_card:
        fields = {"type": ContactType.COMPANY.value, "name": org}
    else:
        fields["type"] = ContactType.PERSON.value
        fields["name"] = full or " ".join(
            fields.get(name, "") for name in ("first_name", "middle_name", "surname")
        )
        fields["company"] = org
        if "title" in contents:
            fields["job_title"] = _text(contents["title"][0].value)
    _phones(contents.get("tel", []), fields)
    email = _pick(contents.get("email", []), "WORK", "INTERNET")
    if email is not None:
        fields["email"] = _text(email.value)
    if "url" in contents:
        fields["home_page"] = _text(contents["url"][0].value)
    address = _pick(contents.get("adr", []), "WORK")
    if address is not None and not isinstance(address.value, str):
        _address(address.value, fields, countries)
    return CardRow(
        {name: value for name, value in fields.items() if value.strip()},
        company_card,
        "note" in contents,
    )


def _phones(lines: list[Any], fields: dict[str, str]) -> None:
    voice = [line for line in lines if "FAX" not in _types(line)]
    mobiles = [line for line in voice if _types(line) & {"CELL", "IPHONE", "MOBILE"}]
    others = [line for line in voice if line not in mobiles]
    if mobiles:
        fields["mobile"] = _text(_pick(mobiles).value)
    if others:
        fields["phone"] = _text(_pick(others, "WORK", "MAIN", "VOICE").value)
    elif len(mobiles) > 1:  # two mobiles and no other phone: the second is the phone
        fields["phone"] = _text(mobiles[1].value)


def _address(value: Any, fields: dict[str, str], countries: dict[str, str]) -> None:
    street = [part for part in _text(value.street).splitlines() if part.strip()]
    if street:
        fields["address"] = street[0].strip()
        fields["address_2"] = ", ".join(part.strip() for part in street[1:])
    fields["city"] = _text(value.city)
    fields["post_code"] = _text(value.code)
    fields["county"] = _text(value.region)
    country = _text(value.country)
    fields["country"] = countries.get(country.casefold(), country)


def _countries(store: Store) -> dict[str, str]:
    """Country code or name (case-folded) -> code, from the countries table."""
    with store.session() as session:
        rows = session.execute(select(CountryRegion.code, CountryRegion.name)).all()
    table = {code.casefold(): code for code, _name in rows}
    for code, name in rows:
        if name:
            table.setdefault(name.casefold(), code)
    return table


def _stored_companies(store: Store) -> set[str]:
    """The database's company names in lower case (as the import's company finder compares
    them; in Python, since SQLite's lower() knows only ASCII)."""
    with store.session() as session:
        query = select(Contact.name).where(Contact.type == ContactType.COMPANY)
        return {name.lower() for name in session.scalars(query)}


@dataclass(frozen=True)
class VcardRows:
    records: list[tuple[int, list[str]]]
    notes: int  # cards with a NOTE (not imported)
    refused: tuple[Failure, ...]  # cards vobject cannot read


def read_vcards(store: Store, path: Path, encoding: str | None = None) -> VcardRows:
    """The cards of the file as the contact import's rows: each missing company first, on
    its first person's line; the person on the next line (still within its card)."""
    import vobject

    check_file(path)
    raw = path.read_bytes()
    chosen = encoding or detect_encoding(path, raw[: 1 << 20])
    try:
        text = raw.decode(chosen).lstrip("\ufeff")
    except (LookupError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot be read as {chosen} ({error}). Give --encoding.") from None
    countries = _countries(store)
    parsed: list[tuple[int, CardRow | str]] = []
    for card in split_cards(text):
        try:
            component = vobject.readOne(decode_quoted_printable(card.text))
            parsed.append((card.line, card_row(component, countries)))
        except Exception as error:  # vobject raises many kinds; a bad card costs only itself
            log.debug("card on line %d unreadable", card.line, exc_info=True)
            detail = (str(error).strip().splitlines() or ["no detail"])[0][:120]
            parsed.append(
                (card.line, f"the card cannot be read ({type(error).__name__}: {detail}).")
            )
    if not parsed:
        raise UserError(f"{path} holds no vCard (no BEGIN:VCARD line).")
    return _rows(store, parsed)


def _rows(store: Store, parsed: list[tuple[int, CardRow | str]]) -> VcardRows:
    rows = [(line, card) for line, card in parsed if isinstance(card, CardRow)]
    in_file = {card.fields["name"].lower() for _, card in rows if card.company_card}
    have = in_file | _stored_companies(store)
    records: list[tuple[int, list[str]]] = []
    refused: list[Failure] = []
    for line, card in parsed:
        if isinstance(card, str):
            refused.append(Failure(line, card, []))
            continue
        company = card.fields.get("company", "")
        if not card.company_card and company and company.lower() not in have:
            have.add(company.lower())
            records.append((line, _cells({"type": "company", "name": company})))
        records.append((line + 1, _cells(card.fields)))
    notes = sum(1 for _, card in rows if card.note)
    return VcardRows(records, notes, tuple(refused))


def _cells(fields: dict[str, str]) -> list[str]:
    return [fields.get(name, "") for name in HEADER]


def import_vcards(
    store: Store,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    strict: bool = False,
    encoding: str | None = None,
) -> ImportResult:
    """Import the contacts of the vCard file at `path` (see the module docstring)."""
    read = read_vcards(store, path, encoding)
    header = match_header(path, HEADER, CSV_COLUMNS)
    note = f" {read.notes} cards had a NOTE, which is not imported." if read.notes else ""
    table = Table(
        header, lambda: iter(read.records), note, rows=len(read.records), refused=read.refused
    )
    return import_contacts(
        store, path, dry_run=dry_run, progress=progress, strict=strict, table=table
    )


__all__ = ["import_vcards", "read_vcards", "split_cards"]
