"""The store rules the duplicates plugin installs: every contact's duplicate keys and pairs
stay current on every path that writes it, so a contact made by an import, `customer new`,
`create-as`, `contacts-from` or the mail worker is offered as a duplicate of what is typed
next, with no `dupes scan` in between.

- on create: the new contact is keyed and compared with the contacts sharing a key.
- on change: the same, when a field matching reads changed; a company's persons whose fields
  inheritance changed (or whose company name followed a rename) are keyed again too.
- in a bulk import: each row keyed as it is validated, its keys written with its batch, the
  imported contacts compared in bulk at the end (storage/duplicates/bulk.py).

The contacts a command created or changed directly are noted in the session
(`reported_contacts`), so the reply can name their possible duplicates from the pairs written
here instead of checking again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from storage.duplicates.bulk import begin_import
from storage.duplicates.index import data_from_contact, refresh_contact, write_keys
from storage.duplicates.matcher import Matcher
from storage.duplicates.normalize import MATCHED_FIELDS
from storage.duplicates.pairs import Pair, list_pairs
from storage.duplicates.settings import get_settings
from storage.models import Contact, ContactType
from storage.rules import StoreRules

if TYPE_CHECKING:
    from storage.contacts import ChangeResult

#: session.info key: ids of the contacts whose possible duplicates the reply should name.
REPORTED = "duplicates.reported"


def key_contact(session: Session, contact: Contact, *, report: bool) -> None:
    """Rewrite the contact's keys (and, with autosearch on, its pairs); `report`: note it for
    the reply. With autosearch off the keys are kept (when "maintain keys" is on) but no pair
    is looked for, as Business Central does."""
    settings = get_settings(session)
    if settings.autosearch:
        refresh_contact(session, contact)
    elif settings.maintain_keys:
        session.flush()
        matcher = Matcher.from_settings(session)
        write_keys(session, contact.id, matcher.prepare(data_from_contact(contact)).keys)
        return
    else:
        return
    if report:
        reported = session.info.setdefault(REPORTED, [])
        if contact.id not in reported:
            reported.append(contact.id)


def reported_contacts(session: Session) -> list[int]:
    """Ids of the contacts keyed for the reply in this transaction, in the order written."""
    return list(session.info.get(REPORTED, ()))


def reported_pairs(session: Session, contact: Contact) -> list[Pair]:
    """The open possible duplicates of `contact`, best first, when the rules keyed it for the
    reply in this transaction (none otherwise: autosearch off, or the rules not installed)."""
    if contact.id not in session.info.get(REPORTED, ()):
        return []
    return list_pairs(session, contact, limit=10)


def on_create(session: Session, contact: Contact) -> None:
    key_contact(session, contact, report=True)


def on_change(session: Session, result: ChangeResult) -> None:
    contact = result.contact
    if not MATCHED_FIELDS.isdisjoint(result.changed):
        key_contact(session, contact, report=True)
    if contact.type is not ContactType.COMPANY:
        return
    renamed = "name" in result.changed
    for person in contact.persons:
        if renamed or not MATCHED_FIELDS.isdisjoint(result.pushed.get(person.no, ())):
            key_contact(session, person, report=False)


def install(rules: StoreRules) -> None:
    """The duplicates plugin's rules (see the module docstring)."""
    rules.extend(
        StoreRules(on_create=[on_create], on_change=[on_change], bulk_import=[begin_import])
    )


__all__ = ["REPORTED", "install", "key_contact", "reported_contacts", "reported_pairs"]
