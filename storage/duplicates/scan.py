"""`dupes scan`: rebuild every contact's keys and every open pair, in memory that stays small.

1. Keying: the contacts are read in id order (streamed), keyed, and their keys written in
   bulk. Of each contact only two short strings stay in Python: its blob (name and address on
   one line, for the quick look) and its packed state (Matcher.pack), a few hundred bytes
   instead of the 10 KB the objects that made them would take.
2. Candidates: the database groups the keys. A temporary table holds the members of every
   usable block (a key that 2 to BLOCK_LIMIT contacts share); its self-join, one range of
   contact ids at a time, gives each candidate pair once, lower id first, with the evidence
   bits of all the keys the two share (SUM(DISTINCT bit): the bits are powers of two, so the
   sum is their OR). No key hash, block or pair set is held in Python.
3. Each candidate is judged as before: the quick look unless the shared evidence is enough,
   then the score; a pair above the threshold is kept as its score and explanation.
4. The open pairs are rewritten; separate pairs are never touched, and a pair found again
   keeps its first-found time (the digest reports new pairs).
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rapidfuzz.fuzz import ratio
from sqlalchemy import Connection, delete, func, insert, select, text
from sqlalchemy.orm import Session

from storage.csv_import import NoProgress, Progress
from storage.duplicates.index import COLUMNS, data_from_row
from storage.duplicates.keys import BLOCK_LIMIT, KEY_BITS, NAME, QUICK_LOOK, quick_mask
from storage.duplicates.matcher import Matcher
from storage.duplicates.models import OPEN, SEPARATE, DupeKey, DupePair
from storage.models import Contact

READ_CHUNK = 5_000
WRITE_CHUNK = 20_000
#: Contacts whose candidate pairs one query fetches: small enough that a chunk's pairs fit
#: in memory on both sides, big enough that a million contacts take a few dozen queries.
PAIR_CHUNK = 10_000
SQLITE_CACHE_KIB = 131_072
KEY_INDEX = "ix_dupe_keys_value"  # as in migration 0006
BLOCKS = "dupe_scan_blocks"  # the temporary table of usable blocks' members


@dataclass(frozen=True)
class ScanResult:
    contacts: int
    keys: int
    compared: int
    pairs: int
    seconds: float

    def summary(self) -> str:
        return (
            f"Scanned {self.contacts} contacts in {self.seconds:.1f} s: {self.compared} pairs "
            f"compared, {self.pairs} possible duplicates."
        )


@dataclass
class _Contacts:
    """What the scan holds of each contact while comparing: contact id -> blob and packed
    state (Matcher.pack), and the ids in order (the candidate queries' ranges)."""

    blobs: dict[int, str]
    packed: dict[int, str]
    ids: list[int]


def scan(
    session: Session, progress: Progress | None = None, matcher: Matcher | None = None
) -> ScanResult:
    """Rebuild all keys and open pairs (see the module docstring)."""
    collecting = gc.isenabled()
    gc.disable()  # a million small objects and no cycles: the collector only slows it down
    try:
        with _sqlite_cache(session.connection()):
            return _scan(session, progress or NoProgress(), matcher)
    finally:
        if collecting:
            gc.enable()


@contextmanager
def _sqlite_cache(connection: Connection) -> Iterator[None]:
    """A bigger SQLite page cache (main and temporary database) while the keys are written and
    grouped (their indexes outgrow the default 2 MB), put back afterwards for the pooled
    connection."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = {
        schema: connection.exec_driver_sql(f"PRAGMA {schema}.cache_size").scalar()
        for schema in ("main", "temp")
    }
    for schema in before:
        connection.exec_driver_sql(f"PRAGMA {schema}.cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        for schema, size in before.items():
            connection.exec_driver_sql(f"PRAGMA {schema}.cache_size = {int(size or -2000)}")


def _scan(session: Session, progress: Progress, matcher: Matcher | None) -> ScanResult:
    started = time.perf_counter()
    matcher = matcher or Matcher.from_settings(session)
    session.flush()
    count = session.scalar(select(func.count()).select_from(Contact)) or 0
    progress.stage("Keying contacts", count)
    contacts, written = _key_contacts(session, matcher, progress)
    progress.stage("Comparing", len(contacts.ids))
    found, compared = _compare(session, matcher, contacts, progress)
    scanned = len(contacts.ids)
    del contacts
    progress.stage("Writing pairs", len(found))
    pairs = _write_pairs(session, matcher, found)
    progress.advance(len(found))
    session.expire_all()
    return ScanResult(scanned, written, compared, pairs, time.perf_counter() - started)


# --- 1. keying ---------------------------------------------------------------------------


def _key_contacts(session: Session, matcher: Matcher, progress: Progress) -> tuple[_Contacts, int]:
    """Key every contact and write the keys; returns what comparing needs and the key count.
    The value index is dropped first and built once at the end (sorted): several times
    faster than keeping it up to date row by row."""
    _clear_keys(session)
    session.connection().exec_driver_sql(f"DROP INDEX IF EXISTS {KEY_INDEX}")
    contacts = _Contacts({}, {}, [])
    pending: list[tuple[int, str]] = []
    written = 0
    rows = session.execute(
        select(*COLUMNS).order_by(Contact.id).execution_options(yield_per=READ_CHUNK)
    )
    for done, row in enumerate(rows, 1):
        item = matcher.prepare(data_from_row(row))
        id_ = item.data.id
        contacts.ids.append(id_)
        contacts.blobs[id_] = item.blob
        contacts.packed[id_] = matcher.pack(item)
        pending.extend((id_, key) for key in item.keys)
        if len(pending) >= WRITE_CHUNK:
            _write_keys(session, pending)
            written += len(pending)
            pending = []
        if done % 1000 == 0:
            progress.advance(1000)
    rows.close()
    _write_keys(session, pending)
    written += len(pending)
    session.connection().exec_driver_sql(
        f"CREATE INDEX {KEY_INDEX} ON dupe_keys (value, contact_id)"
    )
    progress.advance(len(contacts.ids) % 1000)
    return contacts, written


def _clear_keys(session: Session) -> None:
    """All keys go. PostgreSQL truncates (deleting millions of rows one by one leaves them all
    dead in the table); the scan locks the table anyway when it drops the value index."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("TRUNCATE dupe_keys")
    else:
        session.execute(delete(DupeKey))


def _write_keys(session: Session, rows: list[tuple[int, str]]) -> None:
    """Keys straight through the driver: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":  # COPY: several times faster than inserts
        raw = connection.connection.driver_connection
        copy_sql = "COPY dupe_keys (contact_id, value) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO dupe_keys (contact_id, value) VALUES ({mark}, {mark})", rows
    )


# --- 2. and 3. candidates and judging -------------------------------------------------------


def _bit_case() -> str:
    """SQL for a key's evidence bit (keys.key_bit) from its kind letter, its second character."""
    whens = " ".join(f"WHEN '{kind}' THEN {bit}" for kind, bit in sorted(KEY_BITS.items()))
    return f"CASE substr(value, 2, 1) {whens} ELSE {NAME} END"


def _create_blocks(session: Session) -> None:
    """The temporary table of every usable block's members with each key's evidence bit, and
    its two indexes: contact id first (a range of contacts) and key first (their partners)."""
    connection = session.connection()
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {BLOCKS}")
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {BLOCKS} AS "
        f"SELECT contact_id, value, {_bit_case()} AS bit FROM dupe_keys WHERE value IN "
        f"(SELECT value FROM dupe_keys GROUP BY value HAVING count(*) BETWEEN 2 AND {BLOCK_LIMIT})"
    )
    connection.exec_driver_sql(
        f"CREATE INDEX ix_{BLOCKS}_contact ON {BLOCKS} (contact_id, value, bit)"
    )
    connection.exec_driver_sql(f"CREATE INDEX ix_{BLOCKS}_value ON {BLOCKS} (value, contact_id)")
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"ANALYZE {BLOCKS}")  # autovacuum never sees a temp table


#: Each candidate pair of a range of contacts (the lower id in the range), once, with the OR
#: of the evidence bits of the usable keys the two share.
_CANDIDATES = text(
    f"SELECT k1.contact_id, k2.contact_id, sum(DISTINCT k1.bit) FROM {BLOCKS} k1 "
    f"JOIN {BLOCKS} k2 ON k2.value = k1.value AND k2.contact_id > k1.contact_id "
    "WHERE k1.contact_id >= :low AND k1.contact_id <= :high "
    "GROUP BY k1.contact_id, k2.contact_id ORDER BY k1.contact_id, k2.contact_id"
)


def _compare(
    session: Session, matcher: Matcher, contacts: _Contacts, progress: Progress
) -> tuple[dict[tuple[int, int], tuple[float, str]], int]:
    """(lower id, higher id) -> (score, explanation JSON) of every pair above the threshold,
    and how many pairs were scored."""
    _create_blocks(session)
    found: dict[tuple[int, int], tuple[float, str]] = {}
    compared = 0
    ids = contacts.ids
    try:
        for start in range(0, len(ids), PAIR_CHUNK):
            chunk = ids[start : start + PAIR_CHUNK]
            rows = session.execute(_CANDIDATES, {"low": chunk[0], "high": chunk[-1]})
            compared += _judge(matcher, contacts, rows, found)
            progress.advance(len(chunk))
    finally:
        session.connection().exec_driver_sql(f"DROP TABLE IF EXISTS {BLOCKS}")
    return found, compared


#: Evidence bits -> whether they alone make a pair worth scoring (keys.quick_mask).
_ENOUGH = tuple(quick_mask(mask) for mask in range(16))


def _judge(
    matcher: Matcher,
    contacts: _Contacts,
    rows: Any,
    found: dict[tuple[int, int], tuple[float, str]],
) -> int:
    """Judge candidate rows (lower id, higher id, evidence bits), ordered by the lower id;
    adds the possible duplicates to `found` and returns how many pairs were scored. The same
    test as Matcher.worth_scoring and Matcher.judge, on packed states; each contact's state
    is unpacked once per run of its rows."""
    blobs, packed = contacts.blobs, contacts.packed
    quick = matcher.method == "default"
    unpack, judge = matcher.unpack, matcher.judge_states
    compared = 0
    current, state = None, None
    for a, b, mask in rows:
        if quick and not _ENOUGH[mask] and not ratio(blobs[a], blobs[b], score_cutoff=QUICK_LOOK):
            continue
        if packed[a][0] != packed[b][0]:  # the keys hold the type, so this never happens
            continue
        compared += 1
        if a != current:
            current, state = a, unpack(packed[a])
        verdict = judge(state, unpack(packed[b]))
        if verdict is not None:
            found[(a, b)] = (verdict.score, verdict.as_json())
    return compared


# --- 4. pairs ----------------------------------------------------------------------------


def _write_pairs(
    session: Session, matcher: Matcher, found: dict[tuple[int, int], tuple[float, str]]
) -> int:
    """Rewrite the open pairs as `found` (in contact id order); separate pairs stay, and a pair
    found again keeps its first-found time. Returns the open pairs written."""
    separate: set[tuple[int, int]] = set()
    first_seen: dict[tuple[int, int], dt.datetime] = {}
    for a, b, status, created in session.execute(
        select(DupePair.contact_id_1, DupePair.contact_id_2, DupePair.status, DupePair.created_at)
    ):
        if status == SEPARATE:
            separate.add((a, b))
        else:
            first_seen[(a, b)] = created
    session.execute(delete(DupePair).where(DupePair.status == OPEN))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = [
        {
            "contact_id_1": a,
            "contact_id_2": b,
            "score": score,
            "method": matcher.method,
            "why": why,
            "status": OPEN,
            "created_at": first_seen.get((a, b), now),
            "updated_at": now,
        }
        for (a, b), (score, why) in sorted(found.items())
        if (a, b) not in separate
    ]
    connection = session.connection()
    statement = insert(DupePair.__table__)
    for start in range(0, len(rows), WRITE_CHUNK):
        connection.execute(statement, rows[start : start + WRITE_CHUNK])
    return len(rows)
