"""Exporting contacts: `contactbot export contacts --format csv|vcard [-o FILE]`.

CSV: every contact, ordered by number, under the CSV_COLUMNS header that the import reads, with
`company` holding the company's number. A cell that a spreadsheet would take for a formula
(`=…`, `+…`, `-…`, `@…`) gets a `'` in front, which the import takes off again
(storage/spreadsheet.py), so phone numbers like +31 20 555 0100 survive the round trip.
Every row has its `no`, so importing the file into an
empty database gives the same contacts with the same numbers (a round trip); blank cells stay
blank there only where that database's setup has no defaults for them. Phones are written as
typed (what the import reads back). `excel=True` writes the UTF-8 byte-order mark that Excel
needs to show accented names (without it Excel reads the Windows code page), and `delimiter`
may be `;`, which Excel expects where the decimal separator is a comma.

vCard: 4.0 (RFC 6350, the default) or 3.0 (RFC 2426, which Google Contacts, iCloud and older
Outlook import best), one card per contact: FN, N, ORG, TITLE, ADR (with the country's name
from the countries table, as address books show it), TEL (work or cell; the E.164 form where
the number was read, else the text as typed), EMAIL, URL, NOTE (the VAT registration number),
REV, and a UID derived from the contact number (a name-based UUID, so it stays the same across
exports). 4.0 says KIND:org or individual and writes a read number as a tel: URI; 3.0 has no
KIND (a company gets an empty N and X-ABShowAs:COMPANY, which Apple reads) and writes numbers
as text. Escaping follows each RFC exactly: `\\`, `,` and line breaks always; `;` in 4.0 only
inside the compound properties (N, ADR, ORG), where it separates components, and in 3.0 in
every text value, whose grammar has no bare `;`. Lines end in CRLF and are folded at 75 octets
without splitting a character. Written by hand (vobject writes 3.0 only, with its own
escaping); the tests read the 3.0 output back with vobject.

Both read with SQLAlchemy Core in batches (yield_per), never a million ORM objects at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from sqlalchemy import Row, select
from sqlalchemy.orm import aliased

from storage.database import Store
from storage.errors import UserError
from storage.fields import CSV_COLUMNS
from storage.models import Contact, ContactType, CountryRegion
from storage.spreadsheet import neutralise

BATCH = 5000
FORMATS = ("csv", "vcard")
VCARD_VERSIONS = ("4.0", "3.0")
DELIMITERS = {",": ",", ";": ";", "tab": "\t", "\t": "\t", "comma": ",", "semicolon": ";"}
#: Namespace of the vCard UIDs: uuid5(UID_NAMESPACE, contact number).
UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://contactbot.invalid/contact")

Company = aliased(Contact)


def export_contacts(
    store: Store,
    out: TextIO,
    fmt: str,
    *,
    vcard_version: str = "4.0",
    excel: bool = False,
    delimiter: str = ",",
) -> int:
    """Write every contact to `out` in `fmt` (csv or vcard); returns how many.

    `vcard_version`: 4.0 or 3.0. `excel`: start a CSV with the byte-order mark. `delimiter`:
    the CSV's separator (`,`, `;` or `tab`)."""
    if fmt not in FORMATS:
        raise UserError(f"Unknown export format `{fmt}`. Formats: {', '.join(FORMATS)}.")
    if vcard_version not in VCARD_VERSIONS:
        raise UserError(
            f"Unknown vCard version `{vcard_version}`. Versions: {', '.join(VCARD_VERSIONS)}."
        )
    if delimiter not in DELIMITERS:
        raise UserError(f"Unknown delimiter `{delimiter}`. Delimiters: `,`, `;` or tab.")
    writers: dict[str, Callable[[Iterator[Row[Any]], TextIO], int]] = {
        "csv": lambda rows, target: _write_csv(rows, target, excel, DELIMITERS[delimiter]),
        "vcard": lambda rows, target: _write_vcards(rows, target, vcard_version),
    }
    with store.engine.connect() as connection:
        query = (
            select(
                Contact.__table__,
                Company.no.label("company_no"),
                CountryRegion.name.label("country_name"),
            )
            .outerjoin(Company, Contact.company_id == Company.id)
            .outerjoin(CountryRegion, Contact.country == CountryRegion.code)
            .order_by(Contact.no)
        )
        rows = connection.execution_options(yield_per=BATCH).execute(query)
        return writers[fmt](iter(rows), out)


# --- CSV ----------------------------------------------------------------------------------


def _write_csv(rows: Iterator[Row[Any]], out: TextIO, excel: bool, delimiter: str) -> int:
    if excel:
        out.write("\ufeff")  # Excel reads UTF-8 only after this mark
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([_csv_value(row, column) for column in CSV_COLUMNS])
        count += 1
    return count


def _csv_value(row: Row[Any], column: str) -> str:
    if column == "company":
        return neutralise(row.company_no or "")
    if column == "type":
        return ContactType(row.type).value
    value = getattr(row, column)
    return "" if value is None else neutralise(str(value))


# --- vCard 4.0 and 3.0 ----------------------------------------------------------------------


def _write_vcards(rows: Iterator[Row[Any]], out: TextIO, version: str) -> int:
    count = 0
    for row in rows:
        out.write(vcard(row, version))
        count += 1
    return count


def vcard(contact: Any, version: str = "4.0") -> str:
    """One vCard (4.0 or 3.0) for a contact (a row or a Contact: anything with its
    attributes; `country_name`, when it has one, names the country in ADR)."""
    v4 = version == "4.0"
    company = ContactType(contact.type) is ContactType.COMPANY
    lines = ["BEGIN:VCARD", f"VERSION:{version}"]
    if v4:
        lines.append(f"KIND:{'org' if company else 'individual'}")
    lines.append("FN:" + escape(contact.name, compound=not v4))
    if company:
        if not v4:
            lines += ["N:;;;;", "X-ABShowAs:COMPANY"]  # N is required in 3.0
        lines.append("ORG:" + escape(contact.name, compound=True))
    else:
        parts = (contact.surname, contact.first_name, contact.middle_name, "", "")
        lines.append("N:" + ";".join(escape(part, compound=True) for part in parts))
        if contact.company_name:
            lines.append("ORG:" + escape(contact.company_name, compound=True))
        if contact.job_title:
            lines.append("TITLE:" + escape(contact.job_title, compound=not v4))
    lines += _address(contact, v4)
    lines += _phone("work", contact.phone, contact.phone_e164, v4)
    lines += _phone("cell", contact.mobile, contact.mobile_e164, v4)
    if contact.email:
        kind = "work" if v4 else "INTERNET,WORK"
        lines.append(f"EMAIL;TYPE={kind}:" + escape(contact.email, compound=not v4))
    if contact.home_page:
        lines.append("URL:" + _uri(contact.home_page))
    if contact.vat_no:
        lines.append("NOTE:" + escape(f"VAT Registration No. {contact.vat_no}", compound=not v4))
    if contact.modified_at:
        lines.append("REV:" + _timestamp(contact.modified_at))
    uid = uuid.uuid5(UID_NAMESPACE, contact.no)
    lines.append(f"UID:urn:uuid:{uid}")
    lines.append("END:VCARD")
    return "".join(fold(line) + "\r\n" for line in lines)


def _address(contact: Any, v4: bool) -> list[str]:
    street = ",".join(
        escape(part, compound=True) for part in (contact.address, contact.address_2) if part
    )
    country = getattr(contact, "country_name", None) or contact.country or ""
    parts = ("", "", street, escape(contact.city, compound=True))
    parts += (escape(contact.county, compound=True), escape(contact.post_code, compound=True))
    parts += (escape(country, compound=True),)
    if not any(parts):
        return []
    return [f"ADR;TYPE={'work' if v4 else 'WORK'}:" + ";".join(parts)]


def _phone(kind: str, typed: str, e164: str, v4: bool) -> list[str]:
    if v4:
        if e164:
            return [f"TEL;VALUE=uri;TYPE={kind}:tel:{e164}"]
        if typed:
            return [f"TEL;VALUE=text;TYPE={kind}:{escape(typed)}"]
        return []
    number = e164 or typed
    types = "WORK,VOICE" if kind == "work" else "CELL,VOICE"
    return [f"TEL;TYPE={types}:{escape(number, compound=True)}"] if number else []


def _uri(value: str) -> str:
    """A home page as a URI: one typed without a scheme gets https://."""
    value = value.strip()
    return value if "://" in value or value.startswith("mailto:") else f"https://{value}"


def _timestamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")  # stored in UTC without a zone


def escape(value: str | None, *, compound: bool = False) -> str:
    """A text value escaped as the RFCs require: backslash, comma and line breaks (as \\n)
    always; the semicolon only where it would separate fields (`compound`: a component of N,
    ADR or ORG, or any text value in vCard 3.0). RFC 6350 §3.4 allows but does not require it
    elsewhere, and readers that do not unescape it show the backslash."""
    text = value or ""
    text = text.replace("\\", "\\\\").replace(",", "\\,")
    if compound:
        text = text.replace(";", "\\;")
    return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str, limit: int = 75) -> str:
    """RFC 6350 §3.2 (RFC 2426 §2.6 says the same): lines longer than 75 octets continue on
    lines that start with a space, split between characters, never inside one's UTF-8 bytes."""
    if len(line.encode("utf-8")) <= limit:
        return line
    pieces: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        room = limit if not pieces else limit - 1  # continuation lines start with a space
        if size + width > room:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


__all__ = ["DELIMITERS", "FORMATS", "VCARD_VERSIONS", "escape", "export_contacts", "fold", "vcard"]
