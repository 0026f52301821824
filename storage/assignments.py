"""Job responsibilities, industry groups, mailing groups and the organizational level, each
allowed only on the kind of contact Business Central allows it on."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from storage.codes import code_table
from storage.errors import UserError
from storage.models import Contact, ContactType


@dataclass(frozen=True)
class Assignable:
    word: str  # as typed: `assign CT1 job=PURCH`
    table: str  # code table
    attribute: str  # list relationship, or scalar column for `level`
    kinds: frozenset[ContactType]
    is_list: bool = True


ASSIGNABLES: dict[str, Assignable] = {
    a.word: a
    for a in (
        Assignable("job", "jobs", "job_responsibilities", frozenset({ContactType.PERSON})),
        Assignable("industry", "industries", "industry_groups", frozenset({ContactType.COMPANY})),
        Assignable("mailing", "mailing", "mailing_groups", frozenset(ContactType)),
        Assignable("level", "levels", "level", frozenset({ContactType.PERSON}), is_list=False),
    )
}


def _assignable(word: str) -> Assignable:
    found = ASSIGNABLES.get(word.lower())
    if found is None:
        raise UserError(f"Unknown group `{word}`. Use one of: {', '.join(ASSIGNABLES)}.")
    return found


_PLURAL = {ContactType.COMPANY: "companies", ContactType.PERSON: "persons"}


def _check_kind(contact: Contact, what: Assignable) -> None:
    if contact.type not in what.kinds:
        allowed = " and ".join(sorted(_PLURAL[k] for k in what.kinds))
        raise UserError(
            f"{what.word} applies to {allowed} only; {contact.no} {contact.name} "
            f"is a {contact.type.value}."
        )


def assign(session: Session, contact: Contact, word: str, code: str) -> str:
    """Give `contact` the code; returns the code as stored."""
    what = _assignable(word)
    _check_kind(contact, what)
    row = code_table(what.table).require(session, code, word)
    if not what.is_list:
        contact.level = row.code  # type: ignore[attr-defined]
        return contact.level
    current = getattr(contact, what.attribute)
    if row in current:
        raise UserError(f"{contact.no} has {word} {row.code} already.")  # type: ignore[attr-defined]
    current.append(row)
    return row.code  # type: ignore[attr-defined]


def unassign(session: Session, contact: Contact, word: str, code: str) -> str:
    what = _assignable(word)
    code = code.strip().upper()
    if not what.is_list:
        if not contact.level or (code and contact.level != code):
            raise UserError(f"{contact.no} has no organizational level {code}.".replace("  ", " "))
        removed, contact.level = contact.level, None
        return removed
    current = getattr(contact, what.attribute)
    for row in current:
        if row.code == code:
            current.remove(row)
            return code
    raise UserError(f"{contact.no} has no {word} {code}.")
