"""A contact's phones: kept as typed, read in the contact's country, read again when it changes.

The typed text is what the card shows, always. Its E.164 form (matching, search, duplicate
keys, export) is derived with phonenumbers (storage.normalize.read_phone) from the contact's
country, else the setup's default country, and only when that gives a valid number; otherwise
the phone has no E.164 form and is matched on its digits. Nothing is refused for being local.

Why the country and not the default first: a foreign number typed without `+` for a contact in
Oslo must not be read as a Dutch one because the setup's default is NL. And because the
reading depends on the country, a phone without `+` is read again whenever the contact's
country changes (typed, inherited from its company, or synced from a linked record).

A phone kept without an E.164 form is noted once in the reply of the command that typed it
(`notes_text`), so the person knows why `+…` does not appear in an export.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from storage.models import Contact
from storage.normalize import is_international, read_phone
from storage.setup import get_setup

PHONE_FIELDS: tuple[str, ...] = ("phone", "mobile")
#: session.info key: the notes of the command running in this session, for its reply.
_NOTES = "contactbot.phone_notes"


def phone_region(session: Session, country: str | None) -> str | None:
    """The country a phone without `+` is read in: the contact's, else the setup's default
    (a code that is not a two-letter ISO code reads nothing)."""
    code = country or get_setup(session).default_country
    return code.upper() if code and len(code) == 2 else None


def read_phones(session: Session, contact: Contact, names: Iterable[str] = PHONE_FIELDS) -> None:
    """Derive the E.164 form of each named phone from its typed text and the contact's
    country (blank when it cannot be read as a valid number)."""
    region = phone_region(session, contact.country)
    for name in names:
        typed = getattr(contact, name) or ""
        setattr(contact, f"{name}_e164", read_phone(typed, region) if typed.strip() else "")


def reread_local_phones(session: Session, contact: Contact) -> None:
    """After the contact's country changed: read again every phone typed without `+`."""
    read_phones(
        session,
        contact,
        [name for name in PHONE_FIELDS if not is_international(getattr(contact, name) or "")],
    )


def note_unread(session: Session, contact: Contact, names: Iterable[str]) -> None:
    """Note, for this command's reply, each of `names` (phones just typed) that was kept as
    typed without an E.164 form, and why."""
    notes: dict[str, list[str]] = session.info.setdefault(_NOTES, {})
    region = phone_region(session, contact.country)
    for name in names:
        if name not in PHONE_FIELDS:
            continue
        typed = (getattr(contact, name) or "").strip()
        if not typed or getattr(contact, f"{name}_e164"):
            continue
        if is_international(typed) or typed.startswith("00"):
            reason = "not a valid number"
        elif region is None:
            reason = "no country to read it with"
        else:
            reason = f"not a valid number in {region}"
        fields = notes.setdefault(reason, [])
        if name not in fields:
            fields.append(name)


def notes_text(session: Session) -> str:
    """The notes of this command, as one sentence per reason (empty when there are none),
    taken so that they are given once."""
    notes: dict[str, list[str]] = session.info.pop(_NOTES, {})
    sentences = []
    for reason, names in notes.items():
        what = " and ".join(names)
        hint = " Set the contact's country or type it with +." if "country" in reason else ""
        sentences.append(f" {what.capitalize()} kept as typed: {reason}.{hint}")
    return "".join(sentences)
