"""Links between contacts and records, relation codes on contacts, and the sync between them.

Business Central's Contact Business Relation, reduced to its rules:
- A company contact, or a person without a company, may be linked; at most one record per kind
  per contact, and a record to at most one contact (the tables' unique keys hold both, and the
  checks here say so in words first).
- A link puts the setup's relation code of its kind (CUST, VEND, …) on the contact; other codes
  (PROSP, LAWYER) may sit on a contact without any record.
- Linked sides hold the same shared fields (storage.relations.records.SHARED_FIELDS): `link`
  makes them equal (the chosen master wins) and every later change on either side is copied to
  the other in the same transaction (CustCont-Update / ContVendBankUpdate in Business Central).
- What goes away around a link (a linked contact or record deleted, a link undone) is written
  to the removal log by number and name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from storage.audit import actor_of
from storage.clock import utcnow
from storage.contacts import ChangeResult, create_contact, update_contact
from storage.errors import NotFound, UserError
from storage.models import (
    BusinessLink,
    BusinessRecord,
    BusinessRelation,
    BusinessRelationLog,
    Contact,
    ContactBusinessRelation,
    ContactType,
    RecordKind,
    RecordTemplate,
)
from storage.numbers import short
from storage.relations.kinds import KINDS, describe, spec
from storage.relations.records import (
    CODE_FIELDS,
    SHARED_FIELDS,
    apply_fields,
    field_value,
    new_record,
    next_record_no,
)
from storage.setup import get_setup

CONTACT = "contact"
RECORD = "record"
_KIND_ORDER = {kind.value: position for position, kind in enumerate(KINDS)}


@dataclass
class LinkResult:
    """What `link` did: the link, the fields copied and where to, and what that moved on."""

    link: BusinessLink
    to_contact: list[str] = field(default_factory=list)  # fields the contact took
    to_record: list[str] = field(default_factory=list)  # fields the record took
    contact_change: ChangeResult | None = None  # persons and other records updated along


# --- reading -----------------------------------------------------------------------------


def links_of(session: Session, contact: Contact) -> list[BusinessLink]:
    """The contact's links, customer first, then vendor, bank, employee."""
    if contact.id is None:
        return []
    links = session.scalars(select(BusinessLink).where(BusinessLink.contact_id == contact.id))
    return sorted(links, key=lambda link: _KIND_ORDER[link.kind])


def link_of_kind(session: Session, contact: Contact, kind: RecordKind) -> BusinessLink | None:
    query = select(BusinessLink).where(
        BusinessLink.contact_id == contact.id, BusinessLink.kind == kind.value
    )
    return session.scalars(query).one_or_none()


def link_of_record(session: Session, record: BusinessRecord) -> BusinessLink | None:
    query = select(BusinessLink).where(BusinessLink.record_id == record.id)
    return session.scalars(query).one_or_none()


def codes_of(session: Session, contact: Contact) -> list[str]:
    query = select(ContactBusinessRelation.code).where(
        ContactBusinessRelation.contact_id == contact.id
    )
    return sorted(session.scalars(query))


def relation_lines(session: Session, contact: Contact) -> list[str]:
    """One line per relation, for the card and the type-change refusal: linked records with
    their code, then the codes without a record."""
    lines: list[str] = []
    linked_codes: set[str] = set()
    setup = get_setup(session)
    for link in links_of(session, contact):
        code = getattr(setup, spec(link.kind).setup_key)
        linked_codes.add(code)
        tag = f"{code} " if code else ""
        lines.append(f"{tag}{describe(link.kind, link.record.no)} {link.record.name}".strip())
    for code in codes_of(session, contact):
        if code not in linked_codes:
            relation = session.get(BusinessRelation, code)
            lines.append(f"{code} {relation.description if relation else ''}".strip())
    return lines


# --- relation codes ----------------------------------------------------------------------


def relation_code(session: Session, kind: RecordKind) -> str:
    """The setup's relation code of `kind`; Business Central refuses to link without one."""
    kind_spec = spec(kind)
    code = getattr(get_setup(session), kind_spec.setup_key)
    if not code:
        raise UserError(
            f"The setup names no business relation code for {kind_spec.plural.replace('-', ' ')}"
            f"; set one first: `setup {kind_spec.setup_key}=…`."
        )
    return str(code)


def check_linkable(contact: Contact) -> None:
    """Only a company or a person of no company carries business relations."""
    if contact.type is ContactType.PERSON and contact.company_id is not None:
        company = contact.company
        where = f"{company.no} {company.name}" if company else contact.company_name
        no = company.no if company else "<company no>"
        raise UserError(
            f"{contact.no} {contact.name} is a person of company {where}; business relations "
            f"belong to the company. Use {no} instead."
        )


def add_code(session: Session, contact: Contact, code: str) -> bool:
    """Put a relation code on the contact; False when it had it already."""
    if code in codes_of(session, contact):
        return False
    session.execute(insert(ContactBusinessRelation).values(contact_id=contact.id, code=code))
    return True


def require_relation(session: Session, code: str) -> str:
    row = session.get(BusinessRelation, code.strip().upper())
    if row is None:
        raise NotFound(
            f"Business relation `{code}` does not exist. Add it with "
            f"`codes relations add {code.strip().upper()} description=…`, "
            "or see `codes relations list`."
        )
    return row.code


def remove_code(session: Session, contact: Contact, code: str) -> None:
    """Take a bare code off the contact; a code a link carries goes with the link only."""
    code = code.strip().upper()
    if code not in codes_of(session, contact):
        raise UserError(f"{contact.no} has no business relation {code}.")
    setup = get_setup(session)
    for link in links_of(session, contact):
        if getattr(setup, spec(link.kind).setup_key) == code:
            raise UserError(
                f"{code} comes with the link to {describe(link.kind, link.record.no)}; "
                f"`unlink {contact.no} {link.kind}` removes both."
            )
    _drop_code(session, contact, code)


def _drop_code(session: Session, contact: Contact, code: str) -> None:
    session.execute(
        delete(ContactBusinessRelation).where(
            ContactBusinessRelation.contact_id == contact.id,
            ContactBusinessRelation.code == code,
        )
    )


def _drop_link_code(session: Session, contact: Contact, kind: str, others: list[str]) -> None:
    """Take the code of a link that goes off the contact, unless another link carries it."""
    setup = get_setup(session)
    code = getattr(setup, spec(kind).setup_key)
    if code and all(getattr(setup, spec(other).setup_key) != code for other in others):
        _drop_code(session, contact, code)


# --- sync --------------------------------------------------------------------------------


def differing(contact: Contact, record: BusinessRecord) -> list[str]:
    return [
        name for name in SHARED_FIELDS if field_value(contact, name) != field_value(record, name)
    ]


def copy_to_record(contact: Contact, record: BusinessRecord) -> list[str]:
    """Copy the contact's shared fields onto the record (validated already on the contact);
    returns the fields that changed."""
    changed = differing(contact, record)
    for name in changed:
        value = field_value(contact, name)
        setattr(record, name, (value or None) if name in CODE_FIELDS else value)
    if changed:
        record.modified_at = utcnow()
    return changed


def sync_from_contact(session: Session, result: ChangeResult) -> None:
    """The change hook of update_contact: a linked contact's change reaches its records."""
    contact = result.contact
    links = links_of(session, contact)
    if links or codes_of(session, contact):
        check_linkable(contact)  # `set <person> company=…` on a linked person is refused
    for link in links:
        changed = copy_to_record(contact, link.record)
        if changed:
            result.synced[describe(link.kind, link.record.no)] = changed


def update_record(
    session: Session, record: BusinessRecord, fields: dict[str, str]
) -> tuple[list[str], ChangeResult | None]:
    """Change a record; a linked record's shared fields go to its contact (and from there to
    the contact's persons and other records). Returns the record's changed fields and the
    contact's change (None when unlinked or nothing shared changed)."""
    if not fields:
        raise UserError(f"Say what to change: `{record.kind} set {record.no} field=value …`.")
    changed = apply_fields(session, record, fields)
    link = link_of_record(session, record)
    if link is None:
        session.flush()
        return changed, None
    shared = {name: field_value(record, name) for name in fields if name in SHARED_FIELDS}
    contact_change = None
    if shared:
        contact_change = update_contact(session, link.contact, shared)
        copy_to_record(link.contact, record)  # the contact's normalised form, e.g. its name
    session.flush()
    return changed, contact_change


# --- link and unlink ---------------------------------------------------------------------


def _check_free(session: Session, contact: Contact, record: BusinessRecord) -> None:
    kind = RecordKind(record.kind)
    mine = link_of_kind(session, contact, kind)
    if mine is not None:
        raise UserError(
            f"{contact.no} is linked to {describe(kind, mine.record.no)} already; a contact has "
            f"one {spec(kind).label}. `unlink {contact.no} {kind.value}` first."
        )
    theirs = link_of_record(session, record)
    if theirs is not None:
        other = theirs.contact
        raise UserError(
            f"{describe(kind, record.no)} is linked to {other.no} {other.name} already; a "
            f"record has one contact. `unlink {other.no} {kind.value}` first."
        )


def link(
    session: Session, contact: Contact, record: BusinessRecord, master: str = CONTACT
) -> LinkResult:
    """Link `contact` and `record`; where shared fields differ, `master`'s values win."""
    master = master.strip().lower()
    if master not in (CONTACT, RECORD):
        raise UserError(f"master={master}: say master=contact or master=record.")
    check_linkable(contact)
    kind = RecordKind(record.kind)
    code = relation_code(session, kind)
    _check_free(session, contact, record)
    new_link = BusinessLink(
        contact=contact,
        record=record,
        kind=kind.value,
        created_at=utcnow(),
    )
    session.add(new_link)
    add_code(session, contact, code)
    session.flush()
    result = LinkResult(new_link)
    if master == CONTACT:
        result.to_record = copy_to_record(contact, record)
    else:
        wanted = {name: field_value(record, name) for name in differing(contact, record)}
        if wanted:
            change = update_contact(session, contact, wanted)
            result.to_contact = list(wanted)
            result.to_record = change.synced.pop(describe(kind, record.no), [])
            result.contact_change = change
    session.flush()
    return result


def log_removal(session: Session, event: str, link: BusinessLink) -> None:
    session.add(
        BusinessRelationLog(
            at=utcnow(),
            event=event,
            kind=link.kind,
            record_no=link.record.no,
            record_name=link.record.name,
            contact_no=link.contact.no,
            contact_name=link.contact.name,
            by=actor_of(session),
        )
    )


def unlink(session: Session, contact: Contact, kind: RecordKind) -> BusinessRecord:
    """Remove the link of `kind` (and the code it carried); both sides keep their data."""
    existing = link_of_kind(session, contact, kind)
    if existing is None:
        raise UserError(
            f"{contact.no} is not linked to a {spec(kind).label}. See `related {contact.no}`."
        )
    record = existing.record
    log_removal(session, "unlinked", existing)
    session.delete(existing)
    session.flush()
    _drop_link_code(
        session, contact, kind.value, [other.kind for other in links_of(session, contact)]
    )
    session.flush()
    return record


def forget_record(session: Session, record: BusinessRecord) -> Contact | None:
    """Delete a record; its contact stays (without the link and its code). Returns it."""
    existing = link_of_record(session, record)
    contact = None
    if existing is not None:
        contact = existing.contact
        log_removal(session, "record deleted", existing)
        session.delete(existing)
        session.flush()
        others = [other.kind for other in links_of(session, contact)]
        _drop_link_code(session, contact, record.kind, others)
    session.delete(record)
    session.flush()
    return contact


# --- making one side from the other ------------------------------------------------------


def contact_for_record(
    session: Session, record: BusinessRecord, *, actor_salesperson: str | None = None
) -> Contact:
    """A new company contact from the record (numbered from the contact series), linked to it.

    Every shared field is given, blanks too, so the setup's defaults never make the contact
    differ from the record it was made from (territory and salutation still come from them)."""
    fields = {name: field_value(record, name) for name in SHARED_FIELDS}
    contact = create_contact(
        session, ContactType.COMPANY, record.name, fields, actor_salesperson=actor_salesperson
    )
    link(session, contact, record, master=RECORD)
    return contact


def get_template(session: Session, kind: RecordKind, code: str) -> RecordTemplate:
    row = session.get(RecordTemplate, (kind.value, code.strip().upper()))
    if row is None:
        raise NotFound(
            f"No {spec(kind).label} template `{short(code)}`. See `template {kind.value} list`."
        )
    return row


def create_as(
    session: Session, contact: Contact, kind: RecordKind, template: str | None = None
) -> tuple[BusinessRecord, LinkResult]:
    """Business Central's "Create as": a record made from the contact and linked to it. A
    template fills what the contact leaves blank (and its currency); those values are then
    the record's, so the contact takes them too (listed in the result)."""
    check_linkable(contact)
    relation_code(session, kind)
    existing = link_of_kind(session, contact, kind)
    if existing is not None:
        raise UserError(
            f"{contact.no} is a {spec(kind).label} already: {existing.record.no}. "
            f"See `related {contact.no}`."
        )
    defaults = get_template(session, kind, template) if template else None
    record = new_record(session, kind)
    with session.no_autoflush:
        for name in SHARED_FIELDS:
            value = field_value(contact, name)
            if (
                not value
                and defaults is not None
                and name in ("country", "salesperson", "language")
            ):
                value = field_value(defaults, name)
            setattr(record, name, (value or None) if name in CODE_FIELDS else value)
        if defaults is not None and spec(kind).has_currency:
            record.currency = defaults.currency
        record.no = next_record_no(session, kind)
    session.add(record)
    session.flush()
    return record, link(session, contact, record, master=RECORD)
