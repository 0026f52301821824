"""Which card of a duplicate pair the merge suggestion keeps.

The suggestion (the Merge button after `new` and `set`, and in `dupes <no>`) keeps the card
that was there first, whichever of the two the reply is about: its number is the one in
people's mail and in other systems, and it is the one that gathered the persons, interactions
and links (a merge moves the newer card's to it, so nothing is lost). The newer card is the
one removed. Cards created at the same moment (one import) are told apart by what hangs on
them (persons, interactions, business-relation links, alternate addresses: the fuller stays),
then by number. `merge <dup> into <keep>` typed by hand does what it says.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import AltAddress, BusinessLink, Contact, Interaction


def _count(session: Session, model: type, contact_id: int) -> int:
    column = model.contact_id  # type: ignore[attr-defined]
    return int(session.scalar(select(func.count()).where(column == contact_id)) or 0)


def attached(session: Session, contact: Contact) -> int:
    """Persons, interactions, business-relation links and alternate addresses of `contact`."""
    persons = int(session.scalar(select(func.count()).where(Contact.company_id == contact.id)) or 0)
    return persons + sum(
        _count(session, model, contact.id) for model in (Interaction, BusinessLink, AltAddress)
    )


def _weight(session: Session, contact: Contact) -> tuple[float, int, int]:
    """Higher keeps: the older card, then (created together) the fuller, then the lower id."""
    created = contact.created_at.timestamp() if contact.created_at else 0.0
    return (-created, attached(session, contact), -contact.id)


def keeper(session: Session, one: Contact, other: Contact) -> tuple[Contact, Contact]:
    """(the card to keep, the card to remove) for the pair `one`, `other`."""
    if _weight(session, one) >= _weight(session, other):
        return one, other
    return other, one


def keeper_no(session: Session, no_1: str, no_2: str) -> str:
    """The number of the card to keep, of two contact numbers (the first when one is gone)."""
    contacts = {
        c.no: c for c in session.scalars(select(Contact).where(Contact.no.in_((no_1, no_2))))
    }
    if no_1 not in contacts or no_2 not in contacts:
        return no_1
    return keeper(session, contacts[no_1], contacts[no_2])[0].no
