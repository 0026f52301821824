"""The interaction log: recording, history, the last interaction, and what it forbids.

Business Central keeps an Interaction Log Entry per contact for every call, meeting, email
and note. Here every adapter (the shell's `log`, the Slack shortcut, the mail worker) records
through these functions, so the rules live once: a template must exist, what a source
identifies (an email's Message-ID, a Slack message's permalink: the interaction's `key`, kept in
`message_id`) is logged once per contact, a company's history includes its persons', and a
contact with interactions cannot change type.

The once-per-key rule is the unique key on (contact_id, message_id): `record_interaction` with a
key looks first and says so (AlreadyLogged); two at once both insert and the second fails on
the unique key, and the dispatcher runs it again, when the look finds the first. An email's key
is its Message-ID (`<…@…>`), a Slack message's its permalink (`https://…`), so the keys of
different sources cannot meet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.clock import utcnow
from storage.codes import code_table
from storage.errors import UserError
from storage.models import Contact, ContactType, Interaction, InteractionTemplate

INBOUND = "inbound"
OUTBOUND = "outbound"
US = "us"
THEM = "them"
SOURCES = ("imap", "slack", "shell", "api")

DESCRIPTION_LIMIT = 250
MESSAGE_ID_LIMIT = 250
#: The most of a source's text kept with a keyed interaction (the Slack message).
SNIPPET_LIMIT = 1500


class AlreadyLogged(UserError):
    """What the key names is on the contact's log already; nothing was logged."""

    def __init__(self, contact: Contact) -> None:
        super().__init__(f"That message is on {contact.no} ({contact.name}) already.")
        self.contact_no = contact.no


def logged_already(session: Session, contact: Contact, key: str) -> bool:
    """Whether an interaction with this key (Message-ID, permalink) is on the contact."""
    found = session.scalar(
        select(Interaction.id).where(
            Interaction.contact_id == contact.id, Interaction.message_id == key
        )
    )
    return found is not None


def ensure_template(session: Session, code: str, description: str) -> None:
    """A template an adapter logs under (SLACK, seeded by migration 0003) is made again when
    an admin deleted it, rather than an adapter that cannot log."""
    if code_table("interactions").get(session, code) is None:
        session.add(InteractionTemplate(code=code.upper(), description=description))
        session.flush()


def record_interaction(
    session: Session,
    contact: Contact,
    template: str,
    description: str,
    *,
    direction: str = OUTBOUND,
    initiated_by: str | None = None,
    salesperson: str | None = None,
    occurred_at: dt.datetime | None = None,
    duration_minutes: int | None = None,
    cost: Decimal | None = None,
    source: str = "shell",
    reference: str = "",
    key: str | None = None,
    snippet: str = "",
) -> Interaction:
    """Log one interaction typed by a person (or sent by the Slack shortcut).

    `initiated_by` follows the direction unless given: we call out, they write in. `key` is
    the source's own id of what is logged (a Slack message's permalink): a key logged on this
    contact already is refused with AlreadyLogged, so one message is one interaction however
    often it is sent, from Slack or any other source. `snippet` is the source's text.
    """
    if key is not None:
        key = key.strip()[:MESSAGE_ID_LIMIT] or None
    if key is not None and logged_already(session, contact, key):
        raise AlreadyLogged(contact)
    row = code_table("interactions").require(session, template, "template")
    if direction not in (INBOUND, OUTBOUND):
        raise UserError(f"direction: `{direction}` is not in or out. Type direction=in or out.")
    if initiated_by is None:
        initiated_by = US if direction == OUTBOUND else THEM
    if initiated_by not in (US, THEM):
        raise UserError(f"initiated: `{initiated_by}` is not us or them.")
    if source not in SOURCES:
        raise UserError(f"source: `{source}` is not one of {', '.join(SOURCES)}.")
    description = description.strip()
    if not description:
        raise UserError("Say what happened: a description in quotes.")
    if len(description) > DESCRIPTION_LIMIT:
        raise UserError(
            f"description: {len(description)} characters is too long; "
            f"the most is {DESCRIPTION_LIMIT}."
        )
    if salesperson:
        salesperson = code_table("salespeople").require(session, salesperson, "salesperson").code  # type: ignore[attr-defined]
    interaction = Interaction(
        contact_id=contact.id,
        template=row.code,  # type: ignore[attr-defined]
        direction=direction,
        initiated_by=initiated_by,
        salesperson=salesperson or contact.salesperson or None,
        occurred_at=occurred_at or utcnow(),
        description=description,
        duration_minutes=duration_minutes,
        cost=cost,
        source=source,
        reference=reference or key or "",
        message_id=key,
        mailbox="",
        folder="",
        snippet=snippet[:SNIPPET_LIMIT],
        created_at=utcnow(),
    )
    session.add(interaction)
    session.flush()
    return interaction


@dataclass(frozen=True)
class EmailInteraction:
    """What the mail worker knows about one email for one contact."""

    contact_id: int
    message_id: str
    direction: str
    salesperson: str | None
    occurred_at: dt.datetime
    subject: str
    mailbox: str
    folder: str
    snippet: str


def record_email_interactions(session: Session, rows: Sequence[EmailInteraction]) -> int:
    """Insert email interactions, skipping any (contact, Message-ID) logged already.

    One INSERT … ON CONFLICT DO NOTHING: the unique key decides, so two workers, a rescan or
    the same mail in INBOX and Sent can never double an entry. Returns how many were new.
    """
    if not rows:
        return 0
    now = utcnow()
    values: list[dict[str, Any]] = [
        {
            "contact_id": r.contact_id,
            "template": "EMAIL",
            "direction": r.direction,
            "initiated_by": US if r.direction == OUTBOUND else THEM,
            "salesperson": r.salesperson,
            "occurred_at": r.occurred_at,
            "description": r.subject[:DESCRIPTION_LIMIT],
            "source": "imap",
            "reference": r.message_id[:500],
            "message_id": r.message_id[:MESSAGE_ID_LIMIT],
            "mailbox": r.mailbox[:100],
            "folder": r.folder[:200],
            "snippet": r.snippet,
            "created_at": now,
        }
        for r in rows
    ]
    connection = session.connection()
    dialect = connection.dialect.name
    statement = _COUNTED_BY_ROWCOUNT.get(dialect)
    if statement is not None:
        return int(connection.execute(statement, values).rowcount)
    statement = _COUNTED_BY_RETURNING.get(dialect)
    if statement is None:  # portable fallback: look first
        return _insert_missing(session, values)
    # RETURNING lists only the rows really inserted, which rowcount does not on every driver.
    return len(connection.execute(statement, values).all())


# Core statements, compiled once and cached: the mail worker calls this for every email.
_TABLE = Interaction.__table__
_UNIQUE_KEY = ["contact_id", "message_id"]
#: pysqlite's rowcount is the number of rows really inserted, summed over an executemany
#: (a row skipped by DO NOTHING counts none), so SQLite needs no RETURNING, which would make
#: SQLAlchemy fold the rows into one multi-VALUES statement per call: a third more time.
_COUNTED_BY_ROWCOUNT: dict[str, Any] = {
    "sqlite": sqlite.insert(_TABLE).on_conflict_do_nothing(index_elements=_UNIQUE_KEY),
}
_COUNTED_BY_RETURNING: dict[str, Any] = {
    "postgresql": postgresql.insert(_TABLE)
    .on_conflict_do_nothing(index_elements=_UNIQUE_KEY)
    .returning(_TABLE.c.id),
}


def _insert_missing(session: Session, values: list[dict[str, Any]]) -> int:
    count = 0
    for value in values:
        exists = session.scalar(
            select(Interaction.id).where(
                Interaction.contact_id == value["contact_id"],
                Interaction.message_id == value["message_id"],
            )
        )
        if exists is None:
            session.execute(insert(Interaction).values(value))
            count += 1
    return count


# --- reading -----------------------------------------------------------------------------


def _history_ids(contact: Contact) -> list[int]:
    """A company's history includes its persons' interactions."""
    ids = [contact.id]
    if contact.type is ContactType.COMPANY:
        ids.extend(p.id for p in contact.persons)
    return ids


@dataclass(frozen=True)
class HistoryLine:
    interaction: Interaction
    contact_no: str
    contact_name: str
    own: bool  # False: a person's interaction shown on its company


def history(session: Session, contact: Contact, limit: int = 20) -> tuple[int, list[HistoryLine]]:
    """The number of interactions and the newest `limit` of them, newest first."""
    ids = _history_ids(contact)
    total = session.scalar(
        select(func.count()).select_from(Interaction).where(Interaction.contact_id.in_(ids))
    )
    rows = session.execute(
        select(Interaction, Contact.no, Contact.name)
        .join(Contact, Contact.id == Interaction.contact_id)
        .where(Interaction.contact_id.in_(ids))
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
    ).all()
    lines = [HistoryLine(i, no, name, i.contact_id == contact.id) for i, no, name in rows]
    return int(total or 0), lines


@dataclass(frozen=True)
class InteractionSummary:
    count: int
    last_at: dt.datetime | None


def interaction_summary(session: Session, contact: Contact) -> InteractionSummary:
    """How many interactions (a company's including its persons') and when the last was."""
    count, last = session.execute(
        select(func.count(), func.max(Interaction.occurred_at)).where(
            Interaction.contact_id.in_(_history_ids(contact))
        )
    ).one()
    return InteractionSummary(int(count or 0), last)


def contacts_with_email(
    session: Session, addresses: Iterable[str]
) -> Mapping[str, list[tuple[int, str | None]]]:
    """Normalised address -> [(contact id, salesperson)], from the card's email and every
    alternate address's email. Several contacts on one address all come back."""
    from storage.models import AltAddress

    wanted = sorted({a for a in addresses if a})
    found: dict[str, list[tuple[int, str | None]]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        direct = select(Contact.email_normalized, Contact.id, Contact.salesperson).where(
            Contact.email_normalized.in_(chunk)
        )
        alternate = (
            select(AltAddress.email_normalized, Contact.id, Contact.salesperson)
            .join(Contact, Contact.id == AltAddress.contact_id)
            .where(AltAddress.email_normalized.in_(chunk))
        )
        for address, contact_id, salesperson in session.execute(direct.union(alternate)):
            entries = found.setdefault(address, [])
            if all(contact_id != seen for seen, _ in entries):
                entries.append((contact_id, salesperson))
    return found


# --- rules other stores must respect -----------------------------------------------------


def _type_change_guard(session: Session, contact: Contact, _new: ContactType) -> str | None:
    count = session.scalar(
        select(func.count()).select_from(Interaction).where(Interaction.contact_id == contact.id)
    )
    if count:
        return f"it has {count} logged interaction{'s' if count != 1 else ''}"
    return None


def _delete_interactions(session: Session, contact: Contact) -> None:
    """The log goes with its contact (as the FK's ON DELETE CASCADE would)."""
    session.execute(delete(Interaction).where(Interaction.contact_id == contact.id))


#: Installed by storage.rules.integrity_rules (a type-change guard and a delete hook).
interactions_guard = _type_change_guard
delete_interactions = _delete_interactions
