"""How business relations join the contact card's own rules, as store rules (storage.rules,
integrity_rules: every store holds them, whichever plugins are enabled, because they keep
stored links and records consistent), so the contact card need not know this package:

- on change: a contact's change is copied to its linked records (storage.relations.links).
- merge mover: a merge moves the duplicate's links and codes to the kept contact (which then
  holds the shared fields for all its records); unmerge moves them back and puts the records'
  fields back as they were.
- on delete: a deleted contact's links are logged and go with it; the records stay (Business
  Central deletes only the contact).
- type-change guard: a company with business relations stays a company.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from storage.errors import UserError
from storage.models import (
    BusinessLink,
    BusinessRecord,
    Contact,
    ContactBusinessRelation,
    ContactType,
)
from storage.relations.links import (
    check_linkable,
    codes_of,
    copy_to_record,
    links_of,
    log_removal,
    relation_lines,
)
from storage.relations.records import SHARED_FIELDS
from storage.rules import Mover


def forget_contact(session: Session, contact: Contact) -> None:
    """Before a contact is deleted: log each of its links, then remove links and codes."""
    for existing in links_of(session, contact):
        log_removal(session, "contact deleted", existing)
        session.delete(existing)
    session.execute(
        delete(ContactBusinessRelation).where(ContactBusinessRelation.contact_id == contact.id)
    )
    session.flush()


def keep_company_type(session: Session, contact: Contact, new_type: ContactType) -> str | None:
    if contact.type is not ContactType.COMPANY or new_type is not ContactType.PERSON:
        return None
    lines = relation_lines(session, contact)
    if not lines:
        return None
    return (
        f"it has business relations: {'; '.join(lines)} "
        f"(`unlink {contact.no} <kind>`, `relation {contact.no} remove <code>`)"
    )


# --- merge -------------------------------------------------------------------------------


def move_on_merge(session: Session, dup: Contact, keep: Contact) -> dict[str, Any]:
    """Move the duplicate's links and codes to the kept contact; its records then take the
    kept contact's fields, as do the kept contact's own (the merge may have changed them)."""
    dup_links = links_of(session, dup)
    keep_links = links_of(session, keep)
    clash = sorted({a.kind for a in dup_links} & {b.kind for b in keep_links})
    if clash:
        kind = clash[0]
        mine = next(x for x in dup_links if x.kind == kind).record.no
        theirs = next(x for x in keep_links if x.kind == kind).record.no
        raise UserError(
            f"{dup.no} and {keep.no} are both linked to a {kind} ({mine}, {theirs}); a contact "
            f"has one. `unlink {dup.no} {kind}` first, then merge."
        )
    if dup_links:
        check_linkable(keep)
    dup_codes = codes_of(session, dup)
    added = [code for code in dup_codes if code not in codes_of(session, keep)]
    if added:
        session.execute(
            insert(ContactBusinessRelation), [{"contact_id": keep.id, "code": c} for c in added]
        )
    for moved in dup_links:
        moved.contact = keep
        moved.contact_id = keep.id
    session.flush()
    records: dict[str, dict[str, str | None]] = {}
    for existing in [*keep_links, *dup_links]:
        record = existing.record
        before = {name: getattr(record, name) for name in SHARED_FIELDS}
        changed = copy_to_record(keep, record)
        if changed:
            records[str(record.id)] = {name: before[name] for name in changed}
    session.flush()
    return {
        "links": [x.id for x in dup_links],
        "dup_codes": dup_codes,
        "added": added,
        "records": records,
    }


def restore_on_unmerge(session: Session, dup: Contact, keep: Contact, notes: Any) -> None:
    if not notes:  # a merge from before business relations, or one that moved nothing
        return
    if notes["dup_codes"]:
        session.execute(
            insert(ContactBusinessRelation),
            [{"contact_id": dup.id, "code": code} for code in notes["dup_codes"]],
        )
    if notes["added"]:
        session.execute(
            delete(ContactBusinessRelation).where(
                ContactBusinessRelation.contact_id == keep.id,
                ContactBusinessRelation.code.in_(notes["added"]),
            )
        )
    for moved in session.scalars(select(BusinessLink).where(BusinessLink.id.in_(notes["links"]))):
        moved.contact_id = dup.id
    for record_id, values in notes["records"].items():
        record = session.get(BusinessRecord, int(record_id))
        if record is not None:
            for name, value in values.items():
                setattr(record, name, value)
    session.flush()


def relations_mover() -> Mover:
    """The merge mover of business relations (the same tuple each time, so it is added once)."""
    return _MOVER


_MOVER: Mover = ("relations", move_on_merge, restore_on_unmerge)

__all__ = ["forget_contact", "keep_company_type", "relations_mover"]
