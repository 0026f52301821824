"""Business Central's "Create Contacts from Customers/Vendors/Bank Accounts": one company contact
for every record of a filter that has none yet, numbered from the contact series, with the
setup's relation code, linked, and checked for duplicates.

The same function serves `contactbot contacts from …` and the admins' `contacts-from` command,
in the caller's transaction: all of it is written, or (on an error) none of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from storage.duplicates.rules import reported_pairs
from storage.errors import UserError
from storage.importing.progress import NoProgress, Progress
from storage.models import BusinessLink, BusinessRecord, RecordKind
from storage.relations.kinds import spec
from storage.relations.links import contact_for_record, relation_code
from storage.relations.records import RECORD_FIELDS

#: The kinds Business Central makes contacts from (employees get theirs one by one).
FROM_KINDS = (RecordKind.CUSTOMER, RecordKind.VENDOR, RecordKind.BANK)
FILTER_FIELDS: tuple[str, ...] = ("no", *RECORD_FIELDS)


@dataclass
class ContactsFromResult:
    kind: RecordKind
    created: list[tuple[str, str]] = field(default_factory=list)  # (record no, contact no)
    skipped: int = 0  # linked already
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # contact no -> notes

    def summary(self) -> str:
        plural = spec(self.kind).plural.replace("-", " ")
        text = (
            f"Contacts from {plural}: {len(self.created)} created, {self.skipped} skipped "
            f"(linked already), {len(self.duplicates)} possible duplicates."
        )
        lines = [text]
        lines += [f"  {no}: {'; '.join(notes)}" for no, notes in self.duplicates.items()]
        return "\n".join(lines)


def _condition(name: str, value: str) -> ColumnElement[bool]:
    """field=value, any case; `*` in the value matches any text (Business Central's filter)."""
    if name not in FILTER_FIELDS:
        raise UserError(f"Cannot filter on `{name}`. Filter fields: {', '.join(FILTER_FIELDS)}.")
    column = func.lower(func.coalesce(BusinessRecord.__table__.c[name], ""))
    wanted = value.strip().lower()
    if "*" in wanted:
        pattern = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(pattern.replace("*", "%"), escape="\\")
    return column == wanted


def parse_filters(words: list[str]) -> dict[str, str]:
    """`--filter city=Amsterdam --filter name=A*` -> {"city": "Amsterdam", "name": "A*"}."""
    filters: dict[str, str] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--filter {word}: type field=value, like --filter city=Amsterdam.")
        filters[name.strip().lower()] = value
    return filters


def contacts_from_records(
    session: Session,
    kind: RecordKind,
    filters: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> ContactsFromResult:
    if kind not in FROM_KINDS:
        raise UserError(
            "Contacts are made from customers, vendors or bank-accounts; an employee gets "
            "one with `create-as` or by itself when it is created."
        )
    relation_code(session, kind)
    progress = progress or NoProgress()
    query = select(BusinessRecord).where(BusinessRecord.kind == kind.value)
    for name, value in (filters or {}).items():
        query = query.where(_condition(name, value))
    records = list(session.scalars(query.order_by(BusinessRecord.no)))
    linked = set(
        session.scalars(select(BusinessLink.record_id).where(BusinessLink.kind == kind.value))
    )
    result = ContactsFromResult(kind)
    progress.stage(f"Contacts from {spec(kind).plural}", len(records))
    for record in records:
        if record.id in linked:
            result.skipped += 1
        else:
            contact = contact_for_record(session, record)
            result.created.append((record.no, contact.no))
            pairs = reported_pairs(session, contact)
            if pairs:
                result.duplicates[contact.no] = [pair.describe(contact.no) for pair in pairs]
        progress.advance(1)
    return result
