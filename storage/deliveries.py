"""Delivery de-duplication: an adapter's delivery id is recorded in the same transaction as the
command's writes, under a unique key on (source, delivery_id).

Slack retries a request it thinks was lost (HTTP `X-Slack-Retry-Num`, Socket Mode
`retry_attempt`) with the same trigger id or event id. The second run of the command fails on
the unique key when it records its delivery, its whole transaction rolls back, and so a retry
never creates a second contact or interaction. A committed delivery is also found up front, so
a late retry does not even redo the work.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.clock import utcnow
from storage.models import Delivery

ID_LIMIT = 200
#: Slack stops retrying after about an hour; a day of ids is plenty.
KEEP = dt.timedelta(days=1)


class DuplicateDelivery(Exception):
    """This delivery ran already (or is running now and committed first)."""

    def __init__(self, source: str, delivery_id: str) -> None:
        super().__init__(f"{source} delivery {delivery_id} ran already")
        self.source = source
        self.delivery_id = delivery_id


def _key(delivery_id: str) -> str:
    if len(delivery_id) <= ID_LIMIT:
        return delivery_id
    import hashlib

    return "sha256:" + hashlib.sha256(delivery_id.encode()).hexdigest()


def delivered(session: Session, source: str, delivery_id: str) -> bool:
    """Whether the delivery was recorded (committed) already."""
    found = session.scalar(
        select(Delivery.id).where(
            Delivery.source == source, Delivery.delivery_id == _key(delivery_id)
        )
    )
    return found is not None


def record_delivery(session: Session, source: str, delivery_id: str) -> None:
    """Record the delivery in the session's transaction; DuplicateDelivery when it is there.

    The caller's pending writes are flushed first, so an IntegrityError here can only be this
    row's unique key. After DuplicateDelivery the transaction must be rolled back."""
    session.flush()
    try:
        session.execute(
            insert(Delivery).values(
                source=source[:10], delivery_id=_key(delivery_id), created_at=utcnow()
            )
        )
    except IntegrityError:
        raise DuplicateDelivery(source, delivery_id) from None


def prune_deliveries(session: Session, older_than: dt.timedelta = KEEP) -> int:
    """Forget deliveries older than `older_than`; returns how many."""
    result = session.execute(delete(Delivery).where(Delivery.created_at < utcnow() - older_than))
    return result.rowcount or 0
