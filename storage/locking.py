"""Row locks held until commit, taken in one order (lowest id first) on both databases.

A command that changes several rows others may change at once (a merge moves a company's
persons while a colleague adds one) must hold those rows from the moment it reads them, or
it acts on what it read and loses what was committed since. PostgreSQL (READ COMMITTED)
reads the newest committed rows at each statement, so the rows are locked with
SELECT … FOR UPDATE (FOR SHARE where the command only needs them to stay), ordered by id so
that two commands locking the same rows queue rather than deadlock.

SQLite has no row locks, and its driver starts a transaction only at the first write: reads
before it each see the newest data, and nothing stops another writer in between. So the
database's one write lock is taken instead, by a no-op UPDATE of the rows (it waits for the
busy timeout, as every writer does), and the rows are read again under it.

Either way the rows come back reloaded (`populate_existing`): objects the session had loaded
before the lock hold the locked values. Lock before changing them: pending changes of the
objects are overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

T = TypeVar("T")


def lock_rows(
    session: Session,
    model: type[T],
    ids: Iterable[int],
    *,
    share: bool = False,
    no_key: bool = False,
) -> list[T]:
    """Lock the rows of `model` with these ids, lowest id first, and return those that still
    exist, reloaded, in id order. A row deleted meanwhile is absent.

    PostgreSQL's modes: FOR UPDATE by default (the row may be deleted: rows that would refer
    to it wait); `no_key`: FOR NO KEY UPDATE, for a change that keeps the row (others may go
    on adding rows that refer to it, an interaction logged on it); `share`: FOR SHARE, for a
    row that must stay as it is (the company a person joins)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    table: Any = model.__table__  # type: ignore[attr-defined]
    key = table.primary_key.columns[0]
    query: Any = select(model).where(key.in_(wanted)).order_by(key)
    if session.get_bind().dialect.name == "sqlite":
        # each column set to itself, the key and those with an onupdate (modified_at), which
        # Core would otherwise fill in: the rows stay exactly as they were
        same = {c.name: c for c in table.columns if c is key or c.onupdate is not None}
        session.execute(update(table).where(key.in_(wanted)).values(same))
    else:
        query = query.with_for_update(read=share, key_share=no_key and not share)
    return list(session.scalars(query, execution_options={"populate_existing": True}))
