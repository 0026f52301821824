"""`dupes scan`: rebuild every contact's keys and every open pair in one pass.

The contacts are read once (streamed), keyed, and their keys written in bulk; the blocks are
then held in memory as key hash -> positions, each contact is compared with the contacts that
share a usable key with it, and the open pairs are rewritten. Separate pairs are never
touched, and a pair found again keeps its first-found time (the digest reports new pairs).
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.orm import Session

from storage.csv_import import NoProgress, Progress
from storage.duplicates.index import COLUMNS, data_from_row
from storage.duplicates.keys import BLOCK_LIMIT, KEY_BITS, NAME, quick_mask
from storage.duplicates.matcher import Matcher, Prepared
from storage.duplicates.models import OPEN, SEPARATE, DupeKey, DupePair
from storage.models import Contact

READ_CHUNK = 5_000
SQLITE_CACHE_KIB = 131_072
KEY_INDEX = "ix_dupe_keys_value"  # as in migration 0006
WRITE_CHUNK = 20_000


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


def _write_keys(session: Session, rows: list[tuple[int, str]]) -> None:
    """Keys straight through the driver's executemany: a million rows a scan."""
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


def _write_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Core executemany (no ORM bookkeeping per row)."""
    connection = session.connection()
    statement = insert(table.__table__)
    for start in range(0, len(rows), WRITE_CHUNK):
        connection.execute(statement, rows[start : start + WRITE_CHUNK])


@dataclass
class _Job:
    matcher: Matcher
    prepared: list[Prepared]
    hashes: list[tuple[int, ...]]
    blocks: dict[int, Any]


#: The scan's state while comparing; forked workers read it without copying it.
_JOB: _Job | None = None
#: Comparing runs as this many interleaved parts (a progress step each).
TASKS = 64
#: Contacts from which comparing runs in one process per CPU (up to MAX_WORKERS): below
#: that, forking and copy-on-write cost more than a second process gains on two busy cores.
PARALLEL_FROM = 500_000
MAX_WORKERS = 4


def _default_workers(total: int) -> int:
    if total < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _compare_part(task: tuple[int, int]) -> tuple[dict[tuple[int, int], Any], int, int]:
    """Compare the contacts at positions `index`, `index + parts`, … with those after them
    that share a usable key; returns the pairs found, how many were scored, and how many
    contacts this part covered."""
    index, parts = task
    job = _JOB
    assert job is not None
    matcher, prepared, hashes, blocks = job.matcher, job.prepared, job.hashes, job.blocks
    default = matcher.method == "default"
    found: dict[tuple[int, int], Any] = {}
    compared = 0
    done = 0
    for position in range(index, len(prepared), parts):
        done += 1
        item = prepared[position]
        shared: Counter[int] = Counter()
        for h in hashes[position]:
            members = blocks[h]
            if members is False or members.__class__ is int:
                continue
            bit = h & 0xF
            for other in members:
                if other > position:
                    shared[other] |= bit
        for other_position, mask in shared.items():
            other = prepared[other_position]
            if not (default and quick_mask(mask)) and not matcher.worth_scoring(item, other, mask):
                continue
            compared += 1
            verdict = matcher.judge(item, other)
            if verdict is not None:
                a, b = item.data.id, other.data.id
                found[(a, b) if a < b else (b, a)] = verdict
    return found, compared, done


def scan(
    session: Session,
    progress: Progress | None = None,
    matcher: Matcher | None = None,
    workers: int | None = None,
) -> ScanResult:
    """Rebuild all keys and open pairs (see the module docstring). `workers`: processes that
    compare (default: one per CPU, up to MAX_WORKERS, from PARALLEL_FROM contacts)."""
    collecting = gc.isenabled()
    gc.disable()  # millions of small objects and no cycles: the collector only slows it down
    try:
        with _sqlite_cache(session.connection()):
            return _scan(session, progress, matcher, workers)
    finally:
        if collecting:
            gc.enable()


@contextmanager
def _sqlite_cache(connection: Connection) -> Iterator[None]:
    """A bigger SQLite page cache while the keys are written (their two indexes outgrow the
    default 2 MB), put back afterwards for the pooled connection."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


def _scan(
    session: Session,
    progress: Progress | None,
    matcher: Matcher | None,
    workers: int | None,
) -> ScanResult:
    started = time.perf_counter()
    progress = progress or NoProgress()
    matcher = matcher or Matcher.from_settings(session)
    session.flush()
    count = session.scalar(select(func.count()).select_from(Contact)) or 0

    # 1. read, key, and write the keys
    progress.stage("Keying contacts", count)
    session.execute(delete(DupeKey))
    # built once at the end (sorted) instead of row by row: several times faster
    session.connection().exec_driver_sql(f"DROP INDEX IF EXISTS {KEY_INDEX}")
    prepared: list[Prepared] = []
    hashes: list[tuple[int, ...]] = []
    blocks: dict[int, Any] = {}  # key hash -> position, [positions], or False
    pending: list[tuple[int, str]] = []
    key_bits = KEY_BITS  # keys.key_bit, inlined: it runs for every key of every contact
    written = 0
    rows = session.execute(
        select(*COLUMNS).order_by(Contact.id).execution_options(yield_per=READ_CHUNK)
    )
    for row in rows:
        item = matcher.prepare(data_from_row(row))
        position = len(prepared)
        prepared.append(item)
        own: list[int] = []
        for key in item.keys:
            pending.append((item.data.id, key))
            h = (hash(key) & ~0xF) | key_bits.get(key[1], NAME)  # the evidence bit rides along
            own.append(h)
            members = blocks.get(h)
            if members is None:
                blocks[h] = position  # most keys stay single: no list for them
            elif members.__class__ is int:
                blocks[h] = [members, position]
            elif members is not False:
                members.append(position)
                if len(members) > BLOCK_LIMIT:
                    blocks[h] = False  # too common to say anything
        hashes.append(tuple(own))
        if len(pending) >= WRITE_CHUNK:
            _write_keys(session, pending)
            written += len(pending)
            pending = []
        if position % 1000 == 999:
            progress.advance(1000)
    rows.close()
    if pending:
        _write_keys(session, pending)
    written += len(pending)
    session.connection().exec_driver_sql(
        f"CREATE INDEX {KEY_INDEX} ON dupe_keys (value, contact_id)"
    )
    progress.advance(len(prepared) % 1000)

    # 2. compare each contact with those after it that share a usable key
    for item in prepared:
        item.keys = set()  # written already; the blocks hold them now
    progress.stage("Comparing", len(prepared))
    global _JOB
    _JOB = _Job(matcher, prepared, hashes, blocks)
    found: dict[tuple[int, int], Any] = {}
    compared = 0
    try:
        workers = workers or _default_workers(len(prepared))
        tasks = [(task, TASKS) for task in range(TASKS)]
        if workers > 1:
            context = multiprocessing.get_context("fork")
            with context.Pool(workers) as pool:
                parts = pool.imap_unordered(_compare_part, tasks)
                for pairs, count, done in parts:
                    found.update(pairs)
                    compared += count
                    progress.advance(done)
        else:
            for task in tasks:
                pairs, count, done = _compare_part(task)
                found.update(pairs)
                compared += count
                progress.advance(done)
    finally:
        _JOB = None
    del blocks, hashes

    # 3. rewrite the open pairs; separate pairs stay as they are
    progress.stage("Writing pairs", len(found))
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
    new_rows = [
        {
            "contact_id_1": a,
            "contact_id_2": b,
            "score": verdict.score,
            "method": matcher.method,
            "why": verdict.as_json(),
            "status": OPEN,
            "created_at": first_seen.get((a, b), now),
            "updated_at": now,
        }
        for (a, b), verdict in sorted(found.items())
        if (a, b) not in separate
    ]
    _write_rows(session, DupePair, new_rows)
    progress.advance(len(found))
    session.expire_all()
    return ScanResult(
        len(prepared), written, compared, len(new_rows), time.perf_counter() - started
    )
