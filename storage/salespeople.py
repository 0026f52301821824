"""Salespeople as the adapters know them: a chat user's salesperson, claimed once by email.

A Slack user is a salesperson when the code table's `slack_user_id` says so; failing that, the
salesperson whose email is the user's profile email (and who has no chat user yet) is theirs,
and the user id is then written on that salesperson, so the match by email happens once. Both
are queries the Slack adapter runs through the dispatcher (`Dispatcher.query`).
"""

from __future__ import annotations

import logging

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.models import Salesperson

log = logging.getLogger(__name__)


def salesperson_of_chat_user(session: Session, user_id: str) -> str | None:
    """The code of the salesperson whose chat (Slack) user id is `user_id`, or None."""
    if not user_id:
        return None
    return session.scalar(
        select(Salesperson.code)
        .where(Salesperson.slack_user_id == user_id)
        .order_by(Salesperson.code)
        .limit(1)
    )


def claim_salesperson_by_email(session: Session, user_id: str, email: str) -> str | None:
    """The salesperson with this email and no chat user yet becomes `user_id`'s; its code,
    or None when there is none."""
    row = session.scalars(
        select(Salesperson)
        .where(func.lower(Salesperson.email) == email.strip().lower())
        .where(or_(Salesperson.slack_user_id == "", Salesperson.slack_user_id.is_(None)))
        .order_by(Salesperson.code)
        .limit(1)
    ).first()
    if row is None:
        return None
    row.slack_user_id = user_id
    log.info("salesperson %s is Slack user %s (matched by email)", row.code, user_id)
    return row.code


def salespeople_matching(session: Session, query: str, limit: int) -> list[tuple[str, str]]:
    """(code, name) of the salespeople whose code or name holds `query` (all when empty),
    by code: a picker's options."""
    statement = select(Salesperson.code, Salesperson.name).order_by(Salesperson.code).limit(limit)
    query = query.strip().lower()
    if query:
        pattern = f"%{query}%"
        statement = statement.where(
            or_(
                func.lower(Salesperson.code).like(pattern),
                func.lower(Salesperson.name).like(pattern),
            )
        )
    return [(code, name or "") for code, name in session.execute(statement)]
