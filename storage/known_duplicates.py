"""The possible duplicates the store already knows of some contacts, for `find`.

The duplicates plugin's scan and its check on create record open pairs (`dupe_pairs`), scored
on every field (address, post code, phone, email), not only the name. A typed name says
nothing about which of thirty namesakes is the same person as the one it names exactly; the
recorded pair does, so `find` lists a matched contact's open duplicates right after it (issue
15: "the duplicate is never seen where it would be noticed"). With the plugin off the table is
empty and this adds nothing.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.duplicates.models import OPEN, DupePair

#: At most this many pairs are read for one search.
MAX_PAIRS = 50


def open_duplicates(session: Session, ids: Collection[int]) -> list[int]:
    """The other contact of each open pair of one of `ids`, best pair first, without `ids`
    themselves. Two index look-ups (one per pair column); status through coalesce so that
    SQLite cannot pick the status index and read every open pair (see pairs.list_pairs)."""
    if not ids:
        return []
    wanted = list(ids)
    statement = (
        select(DupePair.contact_id_1, DupePair.contact_id_2)
        .where(
            or_(DupePair.contact_id_1.in_(wanted), DupePair.contact_id_2.in_(wanted)),
            func.coalesce(DupePair.status, "") == OPEN,
        )
        .order_by(DupePair.score.desc(), DupePair.id)
        .limit(MAX_PAIRS)
    )
    found: dict[int, None] = {}
    for first, second in session.execute(statement):
        for other in (first, second):
            if other not in ids:
                found[other] = None
    return list(found)
