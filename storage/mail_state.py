"""Where the mail worker stands per mailbox and folder, and the messages it gave up on.

The state row is written in the same transaction as the interactions of a batch, so after a
crash the worker resumes exactly after the last committed batch: nothing lost, nothing twice
(the interactions' unique key covers the rest). Storage knows nothing of IMAP: a folder is a
pair of names, a UIDVALIDITY and a number.

Per mailbox there is also its state, `ok` or `failing` (since when, the last error, the last
successful sync): `record_failure` / `record_success` change it with one conditional UPDATE
each and say whether this call made the change, so of several workers on one database
exactly one sends the Slack alert. `mail_status` is the read side, for `contactbot mail
status`, `contactbot status` and the health endpoint.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.clock import utcnow
from storage.models import Interaction, MailAccountState, MailFolderState, MailSkipped

OK, FAILING = "ok", "failing"


@dataclass(frozen=True)
class FolderPosition:
    uidvalidity: int
    last_uid: int
    reset: bool  # the UIDVALIDITY changed (or the folder is new): scan from the start


#: PostgreSQL refuses NUL in text, and a reason quotes an exception that may quote the mail.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def folder_position(
    session: Session, mailbox: str, folder: str, uidvalidity: int
) -> FolderPosition:
    """Where to continue. A different UIDVALIDITY means every UID we know is void."""
    state = session.scalars(
        select(MailFolderState).where(
            MailFolderState.mailbox == mailbox, MailFolderState.folder == folder
        )
    ).one_or_none()
    if state is None:
        return FolderPosition(uidvalidity, 0, True)
    if state.uidvalidity != uidvalidity:
        return FolderPosition(uidvalidity, 0, True)
    return FolderPosition(uidvalidity, state.last_uid, False)


def folder_known(session: Session, mailbox: str, folder: str) -> bool:
    """Whether the worker has read this folder before (under any UIDVALIDITY)."""
    return (
        session.scalar(
            select(MailFolderState.id).where(
                MailFolderState.mailbox == mailbox, MailFolderState.folder == folder
            )
        )
        is not None
    )


def save_position(
    session: Session, mailbox: str, folder: str, uidvalidity: int, last_uid: int
) -> None:
    """Record the last UID done, in the caller's transaction (with that batch's interactions)."""
    state = session.scalars(
        select(MailFolderState)
        .where(MailFolderState.mailbox == mailbox, MailFolderState.folder == folder)
        .with_for_update()
    ).one_or_none()
    if state is None:
        state = MailFolderState(mailbox=mailbox, folder=folder)
        session.add(state)
    state.uidvalidity = uidvalidity
    state.last_uid = last_uid
    state.updated_at = utcnow()
    session.flush()


def record_skipped(
    session: Session,
    mailbox: str,
    folder: str,
    uidvalidity: int,
    uid: int,
    reason: str,
    message_id: str = "",
) -> None:
    """Remember a message that could not be logged; once per (folder, UIDVALIDITY, UID)."""
    exists = session.scalar(
        select(MailSkipped.id).where(
            MailSkipped.mailbox == mailbox,
            MailSkipped.folder == folder,
            MailSkipped.uidvalidity == uidvalidity,
            MailSkipped.uid == uid,
        )
    )
    if exists is not None:
        return
    session.add(
        MailSkipped(
            mailbox=mailbox,
            folder=folder,
            uidvalidity=uidvalidity,
            uid=uid,
            reason=_CONTROLS.sub("", reason)[:500],
            message_id=_CONTROLS.sub("", message_id)[:250],
            created_at=utcnow(),
        )
    )


def skipped_count(session: Session, mailbox: str | None = None) -> int:
    query = select(func.count()).select_from(MailSkipped)
    if mailbox is not None:
        query = query.where(MailSkipped.mailbox == mailbox)
    return int(session.scalar(query) or 0)


def skipped_messages(session: Session, mailbox: str | None = None) -> list[MailSkipped]:
    query = select(MailSkipped).order_by(MailSkipped.id)
    if mailbox is not None:
        query = query.where(MailSkipped.mailbox == mailbox)
    return list(session.scalars(query))


# --- the mailbox's state -------------------------------------------------------------------


def _ensure_account_row(session: Session, mailbox: str) -> None:
    """The mailbox's state row, created if missing; two workers creating it at once is fine."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(MailAccountState)
        .values(mailbox=mailbox, state=OK, last_error="")
        .on_conflict_do_nothing(index_elements=["mailbox"])
    )


def record_failure(
    session: Session, mailbox: str, error: str, now: dt.datetime | None = None
) -> bool:
    """The mailbox could not be read after its bounded tries: it is failing (since now, if
    it was not already). True when this call turned it from ok to failing (alert once)."""
    now = now or utcnow()
    error = _CONTROLS.sub("", error)[:500]
    _ensure_account_row(session, mailbox)
    turned = session.execute(
        update(MailAccountState)
        .where(MailAccountState.mailbox == mailbox, MailAccountState.state != FAILING)
        .values(state=FAILING, failing_since=now, last_error=error, last_error_at=now)
    ).rowcount
    if not turned:
        session.execute(
            update(MailAccountState)
            .where(MailAccountState.mailbox == mailbox)
            .values(last_error=error, last_error_at=now)
        )
    return bool(turned)


def record_success(session: Session, mailbox: str, now: dt.datetime | None = None) -> bool:
    """Every folder of the mailbox was read. True when this call ended a failing spell."""
    now = now or utcnow()
    _ensure_account_row(session, mailbox)
    recovered = session.execute(
        update(MailAccountState)
        .where(MailAccountState.mailbox == mailbox, MailAccountState.state == FAILING)
        .values(state=OK, failing_since=None, last_success_at=now)
    ).rowcount
    if not recovered:
        session.execute(
            update(MailAccountState)
            .where(MailAccountState.mailbox == mailbox)
            .values(last_success_at=now)
        )
    return bool(recovered)


def mark_folder_synced(
    session: Session, mailbox: str, folder: str, now: dt.datetime | None = None
) -> None:
    """The folder was read to its end (its position row exists once it was opened)."""
    session.execute(
        update(MailFolderState)
        .where(MailFolderState.mailbox == mailbox, MailFolderState.folder == folder)
        .values(synced_at=now or utcnow())
    )


@dataclass(frozen=True)
class FolderStatus:
    folder: str
    last_uid: int
    synced_at: dt.datetime | None  # read to its end at; None: never
    logged_24h: int  # interactions logged from this folder in the last 24 hours


@dataclass(frozen=True)
class MailboxStatus:
    """One mailbox as `mail status`, `contactbot status` and /healthz show it.

    `state` is "ok", "failing" or "unknown" (never synced: no state yet). Times are naive
    UTC, like the rest of the store."""

    mailbox: str
    state: str
    failing_since: dt.datetime | None
    last_error: str
    last_error_at: dt.datetime | None
    last_success_at: dt.datetime | None
    logged_24h: int
    folders: tuple[FolderStatus, ...]

    @property
    def failing(self) -> bool:
        return self.state == FAILING

    def behind(self, now: dt.datetime | None = None) -> dt.timedelta | None:
        """How long since every folder was last read to its end (None: never)."""
        if self.last_success_at is None:
            return None
        return max(dt.timedelta(0), (now or utcnow()) - self.last_success_at)


def mail_status(
    session: Session, mailboxes: Sequence[str], now: dt.datetime | None = None
) -> list[MailboxStatus]:
    """The state of each named mailbox (the configured ones, in their order)."""
    now = now or utcnow()
    day_ago = now - dt.timedelta(hours=24)
    states = {
        row.mailbox: row
        for row in session.scalars(
            select(MailAccountState).where(MailAccountState.mailbox.in_(mailboxes))
        )
    }
    folders: dict[str, list[MailFolderState]] = {}
    for row in session.scalars(
        select(MailFolderState)
        .where(MailFolderState.mailbox.in_(mailboxes))
        .order_by(MailFolderState.id)
    ):
        folders.setdefault(row.mailbox, []).append(row)
    logged: dict[tuple[str, str], int] = {
        (mailbox, folder): int(count)
        for mailbox, folder, count in session.execute(
            select(Interaction.mailbox, Interaction.folder, func.count())
            .where(
                Interaction.source == "imap",
                Interaction.mailbox.in_(mailboxes),
                Interaction.created_at >= day_ago,
            )
            .group_by(Interaction.mailbox, Interaction.folder)
        )
    }
    result = []
    for mailbox in mailboxes:
        state = states.get(mailbox)
        folder_rows = tuple(
            FolderStatus(f.folder, f.last_uid, f.synced_at, logged.get((mailbox, f.folder), 0))
            for f in folders.get(mailbox, [])
        )
        result.append(
            MailboxStatus(
                mailbox=mailbox,
                state=state.state if state else "unknown",
                failing_since=state.failing_since if state else None,
                last_error=state.last_error if state else "",
                last_error_at=state.last_error_at if state else None,
                last_success_at=state.last_success_at if state else None,
                logged_24h=sum(n for (box, _), n in logged.items() if box == mailbox),
                folders=folder_rows,
            )
        )
    return result
