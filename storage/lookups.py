"""Contact lookups an adapter shows: recent contacts, a picker's matches, a card to edit.

Each returns contacts loaded fully (their company too), so the adapter can render them after
the transaction: the adapters run these through the dispatcher (`Dispatcher.query`) and never
open a session themselves.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from storage.contacts import get_by_no, resolve_contact
from storage.models import Contact, ContactType, Salesperson
from storage.search import suggest_contacts


def recent_contacts(session: Session, salesperson: str | None, limit: int) -> list[Contact]:
    """The salesperson's most recently changed contacts (everyone's when there is none)."""
    statement = (
        select(Contact)
        .options(selectinload(Contact.company))
        .order_by(Contact.modified_at.desc(), Contact.id.desc())
        .limit(limit)
    )
    if salesperson:
        statement = statement.where(Contact.salesperson == salesperson)
    return list(session.scalars(statement))


def contacts_matching(
    session: Session, query: str, limit: int, *, companies_only: bool = False
) -> list[Contact]:
    """The contact numbered `query` first, then find's ranking (suggest_contacts: nothing
    past the query cap), at most `limit`; with `companies_only`, companies only. Empty for an
    empty query."""
    query = query.strip()
    if not query:
        return []
    found: list[Contact] = []
    exact = get_by_no(session, query) if len(query) <= 20 else None
    if exact is not None:
        found.append(exact)
    for hit in suggest_contacts(session, query, limit=limit):
        if hit.contact not in found:
            found.append(hit.contact)
    if companies_only:
        found = [c for c in found if c.type is ContactType.COMPANY]
    found = found[:limit]
    for contact in found:
        _ = contact.company  # loaded now, for the label after the commit
    return found


def contact_to_edit(session: Session, ref: str) -> tuple[Contact, str]:
    """The contact `ref` names (a UserError says why not) with its company loaded, and its
    salesperson's label ("CODE Name", "" without a salesperson or a name)."""
    contact = resolve_contact(session, ref)
    _ = contact.company
    label = ""
    if contact.salesperson:
        person = session.get(Salesperson, contact.salesperson)
        if person is not None and person.name:
            label = f"{person.code} {person.name}"
    return contact, label
