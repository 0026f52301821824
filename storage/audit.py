"""Who is acting in a session, for the records that must say who did something.

The dispatcher names the person behind each command here; code deep in the store (a hook run
when a contact is deleted, say) reads it without every caller passing it down. Work with no
person behind it (the mail worker, a scheduled job, a CLI import) reads as "".
"""

from __future__ import annotations

from sqlalchemy.orm import Session

_ACTOR = "contactbot.actor"


def set_actor(session: Session, who: str) -> None:
    """Name the person acting in `session` (a display name, else an adapter's user id)."""
    session.info[_ACTOR] = who


def actor_of(session: Session) -> str:
    return str(session.info.get(_ACTOR, ""))
