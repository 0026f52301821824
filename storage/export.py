"""Exporting contacts: `contactbot export contacts --format csv|vcard [-o FILE]`.

CSV: every contact, ordered by number, under the CSV_COLUMNS header that the import reads, with
`company` holding the company's number. A cell that a spreadsheet would take for a formula
(`=…`, `+…`, `-…`, `@…`) gets a `'` in front, which the import takes off again
(storage/spreadsheet.py), so phone numbers like +31 20 555 0100 survive the round trip.
Every row has its `no`, so importing the file into an
empty database gives the same contacts with the same numbers (a round trip); blank cells stay
blank there only where that database's setup has no defaults for them.

vCard: version 4.0 (RFC 6350), one card per contact, for people's address books: KIND:org for
companies and individual for persons, FN, N, ORG, TITLE, ADR, TEL (TYPE=work or cell; a
tel: URI in E.164 where the number was understood, else the text as typed), EMAIL, URL, NOTE
(the VAT registration number), REV, and a UID derived from the contact number (a name-based
UUID, so it stays the same across exports). Written by hand: vobject's vCard support is 3.0
(its escaping and parameters follow 3.0), and 4.0 needs little: escaping of \\ , ; and line
breaks in text values, CRLF line ends and folding at 75 octets without splitting a character.

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
from storage.models import Contact, ContactType
from storage.spreadsheet import neutralise

BATCH = 5000
FORMATS = ("csv", "vcard")
#: Namespace of the vCard UIDs: uuid5(UID_NAMESPACE, contact number).
UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://contactbot.invalid/contact")

Company = aliased(Contact)


def export_contacts(store: Store, out: TextIO, fmt: str) -> int:
    """Write every contact to `out` in `fmt` (csv or vcard); returns how many."""
    writers: dict[str, Callable[[Iterator[Row[Any]], TextIO], int]] = {
        "csv": _write_csv,
        "vcard": _write_vcards,
    }
    if fmt not in writers:
        raise UserError(f"Unknown export format `{fmt}`. Formats: {', '.join(FORMATS)}.")
    with store.engine.connect() as connection:
        query = (
            select(Contact.__table__, Company.no.label("company_no"))
            .outerjoin(Company, Contact.company_id == Company.id)
            .order_by(Contact.no)
        )
        rows = connection.execution_options(yield_per=BATCH).execute(query)
        return writers[fmt](iter(rows), out)


# --- CSV ----------------------------------------------------------------------------------


def _write_csv(rows: Iterator[Row[Any]], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\r\n")
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


# --- vCard 4.0 ----------------------------------------------------------------------------


def _write_vcards(rows: Iterator[Row[Any]], out: TextIO) -> int:
    count = 0
    for row in rows:
        out.write(vcard(row))
        count += 1
    return count


def vcard(contact: Any) -> str:
    """One vCard 4.0 for a contact (a row or a Contact: anything with its attributes)."""
    company = ContactType(contact.type) is ContactType.COMPANY
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"KIND:{'org' if company else 'individual'}"]
    lines.append("FN:" + escape(contact.name))
    if company:
        lines.append("ORG:" + escape(contact.name))
    else:
        parts = (contact.surname, contact.first_name, contact.middle_name, "", "")
        lines.append("N:" + ";".join(escape(part) for part in parts))
        if contact.company_name:
            lines.append("ORG:" + escape(contact.company_name))
        if contact.job_title:
            lines.append("TITLE:" + escape(contact.job_title))
    lines += _address(contact)
    lines += _phone("work", contact.phone, contact.phone_e164)
    lines += _phone("cell", contact.mobile, contact.mobile_e164)
    if contact.email:
        lines.append("EMAIL;TYPE=work:" + escape(contact.email))
    if contact.home_page:
        lines.append("URL:" + _uri(contact.home_page))
    if contact.vat_no:
        lines.append("NOTE:" + escape(f"VAT Registration No. {contact.vat_no}"))
    if contact.modified_at:
        lines.append("REV:" + _timestamp(contact.modified_at))
    lines.append(f"UID:urn:uuid:{uuid.uuid5(UID_NAMESPACE, contact.no)}")
    lines.append("END:VCARD")
    return "".join(fold(line) + "\r\n" for line in lines)


def _address(contact: Any) -> list[str]:
    street = ",".join(escape(part) for part in (contact.address, contact.address_2) if part)
    parts = ("", "", street, escape(contact.city), escape(contact.county))
    parts += (escape(contact.post_code), escape(contact.country or ""))
    if not any(parts):
        return []
    return ["ADR;TYPE=work:" + ";".join(parts)]


def _phone(kind: str, typed: str, e164: str) -> list[str]:
    if e164:
        return [f"TEL;VALUE=uri;TYPE={kind}:tel:{e164}"]
    if typed:
        return [f"TEL;VALUE=text;TYPE={kind}:{escape(typed)}"]
    return []


def _uri(value: str) -> str:
    """A home page as a URI: one typed without a scheme gets https://."""
    value = value.strip()
    return value if "://" in value or value.startswith("mailto:") else f"https://{value}"


def _timestamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")  # stored in UTC without a zone


def escape(value: str | None) -> str:
    """RFC 6350 §3.4: backslash, comma and semicolon escaped, line breaks as \\n."""
    text = value or ""
    text = text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str, limit: int = 75) -> str:
    """RFC 6350 §3.2: lines longer than 75 octets continue on lines that start with a space,
    split between characters, never inside one's UTF-8 bytes."""
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


__all__ = ["FORMATS", "escape", "export_contacts", "fold", "vcard"]
