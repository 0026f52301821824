"""The duplicate digest's store side: claim the new pairs, then mark them sent or give them back.

Several instances of contactbot may run the same schedule; one digest must go out. The claim
is one short write transaction that first takes a database lock (`pg_try_advisory_xact_lock`
on PostgreSQL, where a second instance gives up at once; `BEGIN IMMEDIATE` on SQLite, where a
second instance waits for the first's claim and then sees it), checks that no other digest is
being sent, and records the new pairs under a digest in state "sending". Posting to Slack
happens after that transaction, so no lock is held across a network call (on SQLite that would
stall every writer); a second instance finds the pairs claimed or the digest in flight and
sends nothing. A digest whose post failed is deleted with its pairs, so the next digest reports
them; one left "sending" by a crashed instance is given back after STALE_AFTER.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from storage.clock import utcnow
from storage.database import Store
from storage.duplicates.models import SENDING, SENT, DupeDigest, DupeDigestPair
from storage.duplicates.owned import OwnedPair, owned_pairs

log = logging.getLogger(__name__)

#: The advisory lock's key on PostgreSQL ("dupedigest" in ASCII, cut to 63 bits): any number
#: works as long as every instance uses the same one and nothing else does.
ADVISORY_LOCK_KEY = int.from_bytes(b"dupedige", "big") & 0x7FFF_FFFF_FFFF_FFFF
#: A digest still "sending" after this long belongs to an instance that died while posting.
STALE_AFTER = dt.timedelta(minutes=15)
_WRITE_CHUNK = 5_000


@dataclass(frozen=True)
class Claim:
    """What one run got: the new pairs under digest `digest_id`; no pairs (nothing new since
    the last digest); or `busy` (another instance is sending the digest right now)."""

    digest_id: int | None = None
    pairs: tuple[OwnedPair, ...] = ()
    busy: bool = False


def _lock(session: Session) -> bool:
    """Take the digest lock for this transaction; False when another instance holds it.

    Must be the transaction's first statement: SQLite's BEGIN IMMEDIATE starts the (write)
    transaction itself, waiting up to the connection's busy timeout for another writer."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        taken = connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        ).scalar()
        return bool(taken)
    if dialect == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    return True


def claim_new_pairs(store: Store, channel: str, *, now: dt.datetime | None = None) -> Claim:
    """Claim every open pair that no digest has reported, for one digest to `channel`."""
    now = now or utcnow()
    with store.transaction() as session:
        if not _lock(session):
            return Claim(busy=True)
        stale = now - STALE_AFTER
        in_flight = session.scalars(select(DupeDigest).where(DupeDigest.status == SENDING)).all()
        for digest in in_flight:
            if digest.claimed_at > stale:
                return Claim(busy=True)
            log.warning(
                "giving back duplicate digest %s, left sending since %s",
                digest.id,
                digest.claimed_at,
            )
            session.execute(delete(DupeDigestPair).where(DupeDigestPair.digest_id == digest.id))
            session.delete(digest)
        session.flush()
        pairs = owned_pairs(session, undigested=True)
        if not pairs:
            return Claim()
        digest = DupeDigest(status=SENDING, channel=channel, pairs=len(pairs), claimed_at=now)
        session.add(digest)
        session.flush()
        rows = [
            {"contact_id_1": a, "contact_id_2": b, "digest_id": digest.id}
            for a, b in (p.contact_ids for p in pairs)
        ]
        for start in range(0, len(rows), _WRITE_CHUNK):
            session.execute(insert(DupeDigestPair), rows[start : start + _WRITE_CHUNK])
        return Claim(digest_id=digest.id, pairs=tuple(pairs))


def mark_sent(store: Store, digest_id: int, message_ts: str = "") -> None:
    """Slack took the message: the digest's pairs are reported for good."""
    with store.transaction() as session:
        session.execute(
            update(DupeDigest)
            .where(DupeDigest.id == digest_id)
            .values(status=SENT, sent_at=utcnow(), message_ts=message_ts[:40])
        )


def give_back(store: Store, digest_id: int) -> None:
    """Posting failed: forget the digest, so that its pairs are new for the next one."""
    with store.transaction() as session:
        session.execute(delete(DupeDigestPair).where(DupeDigestPair.digest_id == digest_id))
        session.execute(delete(DupeDigest).where(DupeDigest.id == digest_id))
