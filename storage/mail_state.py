"""Where the mail worker stands per mailbox and folder, and the messages it gave up on.

The state row is written in the same transaction as the interactions of a batch, so after a
crash the worker resumes exactly after the last committed batch: nothing lost, nothing twice
(the interactions' unique key covers the rest). Storage knows nothing of IMAP: a folder is a
pair of names, a UIDVALIDITY and a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.clock import utcnow
from storage.models import MailFolderState, MailSkipped


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
