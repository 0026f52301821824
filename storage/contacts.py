"""Creating, changing, retyping and deleting contacts: every rule of the contact card.

Each function works inside the caller's transaction and raises `UserError` before anything is
written when the input is wrong, so a command either changes everything it asked for or
nothing. Adapters never touch models directly for writes; they call these.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.codes import code_table
from storage.errors import Ambiguous, NotFound, UserError
from storage.fields import (
    CODE_FIELDS,
    EDITABLE_FIELDS,
    FIELD_BY_NAME,
    PERSON_ONLY_FIELDS,
    unknown_field_message,
)
from storage.inheritance import inherit_from_company, push_down, snapshot
from storage.locking import lock_rows
from storage.models import Contact, ContactType
from storage.normalize import (
    break_down_name,
    normalize_email,
    parse_phone,
    search_text,
)
from storage.numbering import next_contact_no
from storage.numbers import short
from storage.phones import (
    PHONE_FIELDS,
    note_unread,
    phone_region,
    read_phones,
    reread_local_phones,
)
from storage.rules import ChangeHook, DeleteHook, TypeChangeGuard, rules_of  # noqa: F401
from storage.setup import get_setup
from storage.text import check_name

#: What a contact number of any series looks like: one word of up to 20 characters with a
#: digit in it (`CT000001`, `CT-0001`, `2026-0042`); such a reference is looked up as a number
#: first, and as a name when no contact has that number.
NUMBER_PATTERN = re.compile(r"^(?=\S*\d)\S{1,20}$")

# The hooks that run on create, change, type change and delete are the store's rule set
# (storage.rules), read from the session: which ones hold is decided where the store is opened.

#: Resolves a `company=` reference to the company a person belongs to, or raises UserError.
CompanyFinder = Callable[[Session, str], Contact]


@dataclass
class ChangeResult:
    """What a write did, for the reply: the contact, its changed fields, and the persons that
    inheritance updated."""

    contact: Contact
    changed: list[str] = field(default_factory=list)
    pushed: dict[str, list[str]] = field(default_factory=dict)
    synced: dict[str, list[str]] = field(default_factory=dict)  # linked record -> fields


# --- lookup ------------------------------------------------------------------------------


def get_by_no(session: Session, no: str) -> Contact | None:
    return session.scalars(select(Contact).where(Contact.no == no.strip().upper())).one_or_none()


def resolve_contact(session: Session, ref: str, *, kind: ContactType | None = None) -> Contact:
    """Find a contact by number, or by exact name (any case) when that name is unambiguous."""
    ref = ref.strip()
    if not ref:
        raise UserError("Name a contact by its number (like CT000001) or its exact name.")
    contact = get_by_no(session, ref) if NUMBER_PATTERN.match(ref) else None
    if contact is not None:
        if kind and contact.type is not kind:
            raise UserError(f"{contact.no} {contact.name} is a {contact.type.value}, not a {kind}.")
        return contact
    query = select(Contact).where(func.lower(Contact.name) == ref.lower())
    if kind:
        query = query.where(Contact.type == kind)
    matches = list(session.scalars(query.order_by(Contact.no).limit(11)))
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = ", ".join(f"{c.no} ({c.company_name or c.city or c.type.value})" for c in matches)
        more = " and more" if len(matches) > 10 else ""
        raise Ambiguous(f"`{ref}` names several contacts: {listed}{more}. Use the number.")
    what = f"{kind.value} " if kind else "contact "
    raise NotFound(f"No {what}`{short(ref)}`. Try `find {short(ref)}` to search.")


# --- assigning fields --------------------------------------------------------------------


def _check_fields(fields: Mapping[str, str]) -> None:
    for name in fields:
        if name not in EDITABLE_FIELDS:
            raise UserError(unknown_field_message(name))


def _check_length(name: str, value: str) -> None:
    column = Contact.__table__.c[name]
    limit = getattr(column.type, "length", None)
    if limit and len(value) > limit:
        raise UserError(
            f"{name}: {len(value)} characters is too long; the most is {limit}. Shorten it."
        )


def _assign_plain(session: Session, contact: Contact, name: str, value: str) -> None:
    """Set one typed field on the card, validated and normalised."""
    value = value.strip()
    check_name(name, value)  # plain text, one line (but the address), not blank-looking
    if name in PERSON_ONLY_FIELDS and contact.type is ContactType.COMPANY:
        raise UserError(
            f"{name} applies to persons only; {contact.no or 'a company'} is a company."
        )
    if name in CODE_FIELDS:
        if value:
            row = code_table(FIELD_BY_NAME[name].code_table or name).require(session, value, name)
            value = row.code  # type: ignore[attr-defined]
        setattr(contact, name, value or None)
        return
    if name in PHONE_FIELDS:
        normalized = parse_phone(name, value, phone_region(session, contact.country))
        _check_length(name, value)
        setattr(contact, name, value)
        setattr(contact, f"{name}_e164", normalized)
        return
    if name == "email":
        contact.email_normalized = normalize_email(value)
        _check_length(name, value)
        contact.email = value
        return
    _check_length(name, value)
    setattr(contact, name, value)


def _apply_fields(session: Session, contact: Contact, fields: Mapping[str, str]) -> list[str]:
    """Apply typed fields (not `company`) in an order where each sees what it depends on."""
    changed: list[str] = []
    ordered = sorted(
        (n for n in fields if n != "company"),
        key=lambda n: (n != "country", n in ("phone", "mobile")),
    )
    for name in ordered:
        before = getattr(contact, name)
        _assign_plain(session, contact, name, fields[name])
        if getattr(contact, name) != before:
            changed.append(name)
    if contact.type is ContactType.PERSON:
        _settle_person_name(contact, fields)
    return changed


def _settle_person_name(contact: Contact, fields: Mapping[str, str]) -> None:
    """Keep Name and its parts consistent: a typed Name is broken down, typed parts build it."""
    parts_typed = any(n in fields for n in ("first_name", "middle_name", "surname"))
    if "name" in fields and not parts_typed:
        parts = break_down_name(contact.name)
        contact.first_name, contact.middle_name, contact.surname = (
            parts.first_name,
            parts.middle_name,
            parts.surname,
        )
    elif parts_typed and "name" not in fields:
        contact.name = " ".join(
            p for p in (contact.first_name, contact.middle_name, contact.surname) if p
        )


def refresh_search_text(contact: Contact) -> None:
    """Rebuild the text that `find` indexes, after any change to the fields it covers."""
    contact.search_text = search_text(
        name=contact.name,
        name_2=contact.name_2,
        company_name=contact.company_name,
        email=contact.email,
        phone=contact.phone,
        mobile=contact.mobile,
    )


def _set_company(
    session: Session,
    person: Contact,
    ref: str,
    protected: set[str],
    find_company: CompanyFinder | None = None,
) -> list[str]:
    """Attach `person` to the company named by `ref` (blank: make it independent).

    `find_company` replaces the database lookup, for callers (the CSV import) that also know
    companies not yet written."""
    setup = get_setup(session)
    old_company = person.company
    if not ref.strip():
        person.company_id = None
        person.company = None
        person.company_name = ""
        return ["company"] if old_company else []
    if find_company is None:
        company = _hold_company(session, resolve_contact(session, ref, kind=ContactType.COMPANY))
    else:
        company = find_company(session, ref)
    if old_company is not None and old_company.id == company.id:
        return []
    person.company = company
    person.company_name = company.name
    return [
        "company",
        *inherit_from_company(person, company, snapshot(old_company), setup, protected),
    ]


def _same_country(before: Mapping[str, str | None], contact: Contact) -> bool:
    return (before.get("country") or "") == (contact.country or "")


def _hold_company(session: Session, company: Contact) -> Contact:
    """Hold the company a person joins until commit (FOR SHARE; see storage.locking), so a
    merge or delete of it waits for this person (and then moves or refuses it), or this waits
    for the merge and hears that the company is gone, instead of the person being lost with it."""
    held = lock_rows(session, Contact, [company.id], share=True)
    if not held:
        raise NotFound(
            f"{company.no} {company.name} was deleted, or merged into another company, a moment "
            f"ago. Name the company it is part of now: `find {company.name}`."
        )
    return held[0]


def _hold_contact(session: Session, contact: Contact) -> None:
    """Lock the contact being changed (and a company's persons, whom the change may reach)
    until commit, reloaded; see storage.locking."""
    if not lock_rows(session, Contact, [contact.id], no_key=True):
        raise NotFound(f"{contact.no} was deleted, or merged into another contact, a moment ago.")
    if contact.type is ContactType.COMPANY:
        lock_rows(
            session,
            Contact,
            session.scalars(select(Contact.id).where(Contact.company_id == contact.id)),
            no_key=True,
        )
        session.expire(contact, ["persons"])


def _apply_defaults(
    session: Session, contact: Contact, typed: Mapping[str, str], actor_salesperson: str | None
) -> None:
    """Fill what is still blank from the actor and the setup's defaults."""
    setup = get_setup(session)
    if not contact.salesperson and "salesperson" not in typed:
        if actor_salesperson and code_table("salespeople").get(session, actor_salesperson):
            contact.salesperson = actor_salesperson.upper()
        elif setup.default_salesperson:
            contact.salesperson = setup.default_salesperson
    defaults = {
        "territory": setup.default_territory,
        "country": setup.default_country,
        "language": setup.default_language,
        "salutation": (
            setup.default_company_salutation
            if contact.type is ContactType.COMPANY
            else setup.default_person_salutation
        ),
    }
    for name, value in defaults.items():
        if value and not getattr(contact, name) and name not in typed:
            setattr(contact, name, value)


# --- writes ------------------------------------------------------------------------------


def create_contact(
    session: Session,
    kind: ContactType,
    name: str,
    fields: Mapping[str, str] | None = None,
    *,
    actor_salesperson: str | None = None,
    no: str | None = None,
) -> Contact:
    """Create a company or person from typed fields, then defaults and inheritance."""
    fields = dict(fields or {})
    if name.strip():
        fields["name"] = name
    check_new_fields(kind, fields)
    with session.no_autoflush:
        contact = _build_contact(session, kind, fields, actor_salesperson)
    if no:
        no = no.strip().upper()
        if get_by_no(session, no) is not None:
            raise UserError(f"The number {no} is taken already.")
        _check_length("no", no)
        contact.no = no
    else:
        with session.no_autoflush:
            contact.no = next_contact_no(session)
    for collection in _NEW_CONTACT_COLLECTIONS:  # none yet: so the card needs no query for them
        setattr(contact, collection, [])
    session.add(contact)
    session.flush()
    for hook in rules_of(session).on_create:
        hook(session, contact)
    return contact


#: What a contact holds in other tables, empty on a contact just made.
_NEW_CONTACT_COLLECTIONS = (
    "persons",
    "alt_addresses",
    "job_responsibilities",
    "industry_groups",
    "mailing_groups",
)


def check_new_fields(kind: ContactType, fields: Mapping[str, str]) -> None:
    """Refuse what no new contact may have: unknown fields, no name, a company's company."""
    _check_fields(fields)
    if not fields.get("name", "").strip() and not any(
        fields.get(n) for n in ("first_name", "surname")
    ):
        raise UserError(f'A {kind.value} needs a name: `new {kind.value} "Name" field=value …`.')
    if kind is ContactType.COMPANY and "company" in fields:
        raise UserError("company applies to persons only; a company cannot belong to a company.")


def build_contact(
    session: Session,
    kind: ContactType,
    fields: Mapping[str, str],
    *,
    new: Callable[..., Contact] = Contact,
    find_company: CompanyFinder | None = None,
) -> Contact:
    """Validate and build a contact exactly as `new` does, but leave numbering and writing to
    the caller: the CSV import validates each row with this and inserts in bulk."""
    check_new_fields(kind, fields)
    return _build_contact(session, kind, dict(fields), None, new=new, find_company=find_company)


def _build_contact(
    session: Session,
    kind: ContactType,
    fields: dict[str, str],
    actor_salesperson: str | None,
    *,
    new: Callable[..., Contact] = Contact,
    find_company: CompanyFinder | None = None,
) -> Contact:
    """Build a validated, normalised contact without adding it to the session.

    `new` makes the object (a plain stand-in lets the CSV import validate a million rows
    without ORM bookkeeping); `find_company` resolves the `company` field (see _set_company).
    """
    contact = new(type=kind)
    for key, value in _column_defaults():
        setattr(contact, key, value)
    contact.company_name = ""
    # The company first, so that a typed phone without a prefix is read in the country the
    # person takes from it; what is typed is protected from inheritance either way.
    if kind is ContactType.PERSON and fields.get("company", "").strip():
        _set_company(session, contact, fields["company"], set(fields), find_company)
    _apply_fields(session, contact, fields)
    country = contact.country
    _apply_defaults(session, contact, fields, actor_salesperson)
    if contact.country != country:  # a default country came last: read the phones in it
        unread = [n for n in PHONE_FIELDS if not getattr(contact, f"{n}_e164")]
        read_phones(session, contact, unread)
    note_unread(session, contact, fields)
    refresh_search_text(contact)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    contact.created_at = contact.modified_at = now
    return contact


@cache
def _column_defaults() -> tuple[tuple[str, object], ...]:
    """The card's columns with a plain default, as (key, value): looked up once, not for each
    of an import's million rows."""
    return tuple(
        (column.key, column.default.arg)
        for column in Contact.__table__.columns
        if column.default is not None and not callable(column.default.arg)
    )


def update_contact(session: Session, contact: Contact, fields: Mapping[str, str]) -> ChangeResult:
    """Change typed fields; a company's change flows down to its persons by inheritance."""
    if not fields:
        raise UserError(f"Say what to change: `set {contact.no} field=value …`.")
    _check_fields(fields)
    if contact.type is ContactType.COMPANY and "company" in fields:
        raise UserError("company applies to persons only; a company cannot belong to a company.")
    # rows in the order a merge takes them: the company joined, then the contact, then (for
    # a company) its persons by id; each read again under its lock, so that nothing a
    # concurrent command committed is overwritten with what was read before it
    joined: CompanyFinder | None = None
    if fields.get("company", "").strip():
        company = _hold_company(
            session, resolve_contact(session, fields["company"], kind=ContactType.COMPANY)
        )
        joined = lambda _session, _ref: company  # noqa: E731
    _hold_contact(session, contact)
    before = snapshot(contact)
    old_name = contact.name
    result = ChangeResult(contact)
    if "company" in fields:  # first, as in _build_contact
        result.changed += _set_company(session, contact, fields["company"], set(fields), joined)
    result.changed += _apply_fields(session, contact, fields)
    if not _same_country(before, contact):  # typed, or inherited from the company joined
        reread_local_phones(session, contact)
    note_unread(session, contact, fields)
    if not contact.name.strip():
        raise UserError(
            f"{contact.no} needs a name; it cannot be blank. "
            f'Type a new one instead: `set {contact.no} name="…"`.'
        )
    if contact.type is ContactType.COMPANY:
        result.pushed = push_down(contact, before, get_setup(session))
        for person in contact.persons:
            if "country" in result.pushed.get(person.no, ()):
                reread_local_phones(session, person)
        if contact.name != old_name:
            for person in contact.persons:
                person.company_name = contact.name
                refresh_search_text(person)
    refresh_search_text(contact)
    if result.changed:
        contact.modified_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for hook in rules_of(session).on_change:
        hook(session, result)
    session.flush()
    return result


def change_type(session: Session, contact: Contact, new_type: ContactType) -> Contact:
    """Turn a company into a person or back, refused while anything depends on the old type."""
    if contact.type is new_type:
        raise UserError(f"{contact.no} is a {new_type.value} already.")
    reasons: list[str] = []
    if contact.type is ContactType.COMPANY:
        persons = sorted(p.no for p in contact.persons)
        if persons:
            reasons.append(f"it still has persons: {', '.join(persons)}")
        if contact.industry_groups:
            codes = ", ".join(g.code for g in contact.industry_groups)
            reasons.append(f"it has industry groups: {codes} (unassign them)")
    else:
        if contact.job_responsibilities:
            codes = ", ".join(j.code for j in contact.job_responsibilities)
            reasons.append(f"it has job responsibilities: {codes} (unassign them)")
        if contact.level:
            reasons.append(f"it has organizational level {contact.level} (unassign it)")
        if contact.company_id is not None:
            reasons.append(
                f"it belongs to company {contact.company_name} (`set {contact.no} company=`)"
            )
    for guard in rules_of(session).type_change_guards:
        reason = guard(session, contact, new_type)
        if reason:
            reasons.append(reason)
    if reasons:
        raise UserError(
            f"{contact.no} {contact.name} cannot become a {new_type.value}: " + "; ".join(reasons)
        )
    contact.type = new_type
    if new_type is ContactType.COMPANY:
        contact.first_name = contact.middle_name = contact.surname = contact.job_title = ""
    else:
        parts = break_down_name(contact.name)
        contact.first_name, contact.middle_name, contact.surname = (
            parts.first_name,
            parts.middle_name,
            parts.surname,
        )
    contact.modified_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    session.flush()
    return contact


def contacts_to_delete(contact: Contact) -> list[Contact]:
    """A company takes its persons with it (as in Business Central); a person goes alone."""
    return [*sorted(contact.persons, key=lambda p: p.no), contact]


def delete_contact(session: Session, contact: Contact, *, alone: bool = False) -> list[str]:
    """Delete the contact (and a company's persons); returns the deleted numbers.

    `alone`: the caller moved the persons away (a merge) and none may go with the company; one
    that is still there is refused rather than deleted."""
    doomed = contacts_to_delete(contact)
    if alone and len(doomed) > 1:
        persons = ", ".join(victim.no for victim in doomed[:-1])
        raise UserError(f"{contact.no} still has persons ({persons}); nothing was deleted.")
    for victim in doomed:
        for hook in rules_of(session).on_delete:
            hook(session, victim)
    for victim in doomed[:-1]:
        session.delete(victim)
    session.flush()
    session.delete(contact)
    session.flush()
    return [victim.no for victim in doomed]
