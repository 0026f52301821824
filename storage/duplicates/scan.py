"""`dupes scan`: rebuild every contact's keys and every open pair, in memory that stays small.

1. Keying: the contacts are read in id order, a batch at a time, keyed, and dupe_keys brought
   in line (_Keys: every key written in bulk on a first scan, on a rescan only those of
   contacts whose keys changed). Of each contact only two short strings stay in Python: its
   blob (name and address on one line, for the quick look) and its packed state
   (Matcher.pack), a few hundred bytes instead of the 10 KB the objects that made them take.
2. Candidates: the database groups the keys. A temporary table holds the members of every
   usable block (a key that 2 to BLOCK_LIMIT contacts share); one streamed self-join of it
   gives (lower id, higher id, evidence bit) for every two contacts in a block, ordered by
   the lower id, and each contact's partners are merged from its run of rows (the bits of
   all the keys two contacts share OR-ed). No key, block or pair set is held in Python.
3. Each candidate is judged as before: the quick look unless the shared evidence is enough,
   then the score; a pair above the threshold is kept as its score and explanation.
4. The open pairs are rewritten; separate pairs are never touched, and a pair found again
   keeps its first-found time (the digest reports new pairs).

Same pairs, scores and explanations as comparing every contact with its blocks in memory.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

from rapidfuzz.fuzz import ratio
from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.orm import Session

from storage.collector import collector_paused
from storage.duplicates.index import COLUMNS, data_from_row
from storage.duplicates.keys import BLOCK_LIMIT, KEY_BITS, NAME, QUICK_LOOK, quick_mask
from storage.duplicates.matcher import Matcher, Prepared
from storage.duplicates.models import OPEN, SEPARATE, DupeKey, DupePair
from storage.importing.progress import NoProgress, Progress
from storage.models import Contact

READ_CHUNK = 5_000  # contacts read, keyed and their keys written, a batch at a time
WRITE_CHUNK = 20_000
SQLITE_CACHE_KIB = 131_072
KEY_INDEX = "ix_dupe_keys_value"  # as in migration 0006
BLOCKS = "dupe_scan_blocks"  # the temporary table of usable blocks' members

log = logging.getLogger(__name__)


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
class Contacts:
    """What the scan holds of each contact while comparing: contact id -> blob and packed
    state (Matcher.pack), and the ids in order (for the progress)."""

    blobs: dict[int, str]
    packed: dict[int, str]
    ids: list[int]


def scan(
    session: Session, progress: Progress | None = None, matcher: Matcher | None = None
) -> ScanResult:
    """Rebuild all keys and open pairs (see the module docstring)."""
    with collector_paused(), _sqlite_cache(session.connection()):
        return _scan(session, progress or NoProgress(), matcher)


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
    contacts, keys = _key_contacts(session, matcher, progress)
    log.info("keyed %d contacts (%d keys): %s", count, keys, _since(started))
    progress.stage("Comparing", len(contacts.ids))
    found, compared = compare(session, matcher, contacts, progress)
    log.info("compared %d pairs, %d above the threshold: %s", compared, len(found), _since(started))
    scanned = len(contacts.ids)
    del contacts
    progress.stage("Writing pairs", len(found))
    pairs = write_pairs(session, matcher, found)
    analyze(session)
    progress.advance(len(found))
    log.info("wrote %d pairs: %s", pairs, _since(started))
    session.expire_all()
    return ScanResult(scanned, keys, compared, pairs, time.perf_counter() - started)


def _since(started: float) -> str:
    """Seconds since `started` (perf_counter), with this process's CPU seconds so far: on a
    busy machine the wall time alone says little."""
    return f"{time.perf_counter() - started:.1f} s ({time.process_time():.1f} s CPU)"


def create_key_index(connection: Connection) -> None:
    """Build the value index of dupe_keys (dropped for a bulk write of keys). SQLite sorts
    with helper threads meanwhile (PRAGMA threads, per connection, put back afterwards): the
    index of twenty million keys is one big external sort."""
    sql = f"CREATE INDEX {KEY_INDEX} ON dupe_keys (value, contact_id)"
    if connection.dialect.name != "sqlite":
        connection.exec_driver_sql(sql)
        return
    before = connection.exec_driver_sql("PRAGMA threads").scalar() or 0
    connection.exec_driver_sql(f"PRAGMA threads = {SORT_THREADS}")
    try:
        connection.exec_driver_sql(sql)
    finally:
        connection.exec_driver_sql(f"PRAGMA threads = {int(before)}")


#: SQLite's helper threads for sorting an index being built.
SORT_THREADS = 4


def analyze(session: Session) -> None:
    """PostgreSQL: fresh statistics for the two tables a scan (re)writes (a fraction of a
    second at a million contacts), so that the check on `new` is planned for what they hold
    now, not for whenever autovacuum (if it runs) gets to them."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ANALYZE dupe_keys, dupe_pairs")


# --- 1. keying ---------------------------------------------------------------------------


def _key_contacts(session: Session, matcher: Matcher, progress: Progress) -> tuple[Contacts, int]:
    """Key every contact and bring dupe_keys in line (see _Keys); returns what comparing
    needs and how many keys the contacts have."""
    contacts = Contacts({}, {}, [])
    keys = _Keys(session)
    for batch in _batches(session):
        keys.batch(batch[-1][0], _prepared(matcher, batch, contacts))
        progress.advance(len(batch))
    keys.finish()
    log.info("keys: %d written (%d contacts' rewritten)", keys.written, keys.rewritten)
    return contacts, keys.total


def _batches(session: Session) -> Iterator[Sequence[Any]]:
    """The contacts' COLUMNS rows in id order, READ_CHUNK at a time, each batch its own query
    (by id after the previous one): no statement stays open between batches, so that SQLite
    lets the value index be dropped when a batch shows that most keys changed."""
    last: int | None = None
    while True:
        statement = select(*COLUMNS).order_by(Contact.id).limit(READ_CHUNK)
        if last is not None:
            statement = statement.where(Contact.id > last)
        batch = session.execute(statement).all()
        if not batch:
            return
        yield batch
        last = batch[-1][0]


#: A batch in which more contacts than this share have other keys than the stored ones is
#: written in bulk (the value index dropped, built again at the end); on the first batch, all
#: keys are then rewritten (the method changed, say).
BULK_SHARE = 0.5


class _Keys:
    """Brings dupe_keys in line with the contacts, a batch of contacts (in id order) at a time.

    On an empty table (a first scan) every key is written, with the value index dropped and
    built once at the end, sorted: several times faster than keeping it up to date. On a
    rescan only the contacts whose keys differ from the stored ones have theirs rewritten:
    rewriting millions of unchanged keys costs as much as keying them, more on PostgreSQL,
    which checks the foreign key of every row written. Keys of contacts that no longer exist
    go too, so the table ends the same either way."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.bulk = session.execute(select(DupeKey.contact_id).limit(1)).first() is None
        self.decided = self.bulk
        self.indexed = True
        self.low: int | None = None  # the last contact id of the previous batch
        self.total = self.written = self.rewritten = 0  # keys, keys written, contacts
        if self.bulk:
            self._drop_index()

    def batch(self, high: int, items: Iterator[Prepared]) -> None:
        """The batch's contacts, the last of which has id `high`."""
        if self.bulk:
            self._write(items)
            return
        stored = self._stored(high)
        prepared = list(items)
        self.total += sum(len(item.keys) for item in prepared)
        changed = [item for item in prepared if item.keys != stored.pop(item.data.id, set())]
        if len(changed) > BULK_SHARE * len(prepared):
            self._drop_index()
            if not self.decided:  # the first batch: most keys differ, so rewrite them all
                self.bulk = self.decided = True
                _clear_keys(self.session)
                self.total = 0
                self._write(iter(prepared))
                return
        self.decided = True
        self._delete([item.data.id for item in changed] + list(stored))
        self.written += _key_batch(self.session, iter(changed))
        self.rewritten += len(changed)
        self.low = high

    def finish(self) -> None:
        """Keys of contacts beyond the last one go; the value index is built if it was
        dropped."""
        if not self.bulk and self.low is not None:
            self.session.execute(delete(DupeKey).where(DupeKey.contact_id > self.low))
        elif not self.bulk:  # no contacts at all
            _clear_keys(self.session)
        if not self.indexed:
            create_key_index(self.session.connection())

    def _stored(self, high: int) -> dict[int, set[str]]:
        """Contact id -> its stored keys, for the ids after the previous batch up to `high`
        (through the driver: a hundred thousand rows a batch)."""
        connection = self.session.connection()
        mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        low = -(2**62) if self.low is None else self.low
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(
                "SELECT contact_id, value FROM dupe_keys "
                f"WHERE contact_id > {mark} AND contact_id <= {mark}",
                (low, high),
            )
            rows = cursor.fetchall()
        finally:
            cursor.close()
        stored: dict[int, set[str]] = {}
        for contact_id, value in rows:
            stored.setdefault(contact_id, set()).add(value)
        return stored

    def _write(self, items: Iterator[Prepared]) -> None:
        written = _key_batch(self.session, items)
        self.written += written
        self.total += written

    def _delete(self, ids: list[int]) -> None:
        if ids:
            self.session.execute(
                delete(DupeKey).where(DupeKey.contact_id.in_(ids)),
                execution_options={"synchronize_session": False},
            )

    def _drop_index(self) -> None:
        """Drop the value index once; also before deleting every key (faster without it)."""
        if self.indexed:
            self.session.connection().exec_driver_sql(f"DROP INDEX IF EXISTS {KEY_INDEX}")
            self.indexed = False


def _prepared(matcher: Matcher, rows: Iterable[Any], contacts: Contacts) -> Iterator[Prepared]:
    """Each row's contact prepared (with its keys), and added to `contacts` as it goes."""
    for row in rows:
        item = matcher.prepare(data_from_row(row))
        id_ = item.data.id
        contacts.ids.append(id_)
        contacts.blobs[id_] = item.blob
        contacts.packed[id_] = matcher.pack(item)
        yield item


def _clear_keys(session: Session) -> None:
    """All keys go. PostgreSQL truncates (deleting millions of rows one by one leaves them all
    dead in the table); the scan locks the table anyway when it drops the value index. SQLite
    deletes row by row (its truncate shortcut is off while foreign keys are enforced)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("TRUNCATE dupe_keys")
    else:
        session.execute(delete(DupeKey))


def _key_batch(session: Session, items: Iterator[Prepared]) -> int:
    """Write the keys of a batch of prepared contacts (write_key_rows); returns how many."""
    return write_key_rows(session, ((item.data.id, key) for item in items for key in item.keys))


def write_key_rows(session: Session, rows: Iterable[tuple[int, str]]) -> int:
    """Write (contact id, key) rows straight through the driver; returns how many.

    PostgreSQL: one COPY, open while `rows` is produced (a generator that keys contacts), so
    that the server checks and stores keys (its foreign key check per row costs as much as the
    keying) while Python keys the next contacts: on two cores the two overlap. Elsewhere:
    executemany."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        written = 0
        with raw.cursor() as cursor, cursor.copy(_COPY_KEYS) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
                written += 1
        return written
    batch = list(rows)
    if not batch:  # executemany of nothing would be a plain execute without parameters
        return 0
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO dupe_keys (contact_id, value) VALUES ({mark}, {mark})", batch
    )
    return len(batch)


_COPY_KEYS = "COPY dupe_keys (contact_id, value) FROM STDIN"


# --- 2. and 3. candidates and judging -------------------------------------------------------


def _bit_case() -> str:
    """SQL for a key's evidence bit (keys.key_bit) from its kind letter, its second character."""
    whens = " ".join(f"WHEN '{kind}' THEN {bit}" for kind, bit in sorted(KEY_BITS.items()))
    return f"CASE substr(value, 2, 1) {whens} ELSE {NAME} END"


def create_blocks(session: Session, since: int | None = None) -> None:
    """The temporary table of every usable block's members with each key's evidence bit;
    `since`: only the blocks that hold a contact with that id or a higher one (an import's).

    SQLite joins it by nested loops, so it gets an index for each side: contact id first (the
    lower contacts, in order) and key first (their partners). PostgreSQL hash-joins and sorts
    the whole table at once and would not use them; it needs the table's statistics instead."""
    connection = session.connection()
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {BLOCKS}")
    connection.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {BLOCKS} AS "
        f"SELECT contact_id, value, {_bit_case()} AS bit FROM dupe_keys WHERE value IN "
        f"(SELECT value FROM dupe_keys GROUP BY value HAVING count(*) BETWEEN 2 AND {BLOCK_LIMIT}"
        + (f" AND max(contact_id) >= {int(since)})" if since is not None else ")")
    )
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"ANALYZE {BLOCKS}")  # autovacuum never sees a temp table
        return
    connection.exec_driver_sql(
        f"CREATE INDEX ix_{BLOCKS}_contact ON {BLOCKS} (contact_id, value, bit)"
    )
    connection.exec_driver_sql(f"CREATE INDEX ix_{BLOCKS}_value ON {BLOCKS} (value, contact_id)")


#: Each (lower id, higher id, evidence bit) of two contacts in one usable block, ordered by the
#: lower id: a pair that shares several keys comes once per key (`partners_of` merges them).
_CANDIDATES = (
    f"SELECT k1.contact_id, k2.contact_id, k1.bit FROM {BLOCKS} k1 "
    f"JOIN {BLOCKS} k2 ON k2.value = k1.value AND k2.contact_id > k1.contact_id "
    "{since}ORDER BY k1.contact_id"
)
FETCH = 20_000  # candidate rows fetched at a time


def candidate_rows(session: Session, since: int | None = None) -> Iterator[tuple[int, int, int]]:
    """The rows of _CANDIDATES as the database produces them, through the driver's own cursor
    (a server-side one on PostgreSQL): millions of plain tuples, never all at once; `since`:
    only pairs whose higher id is at least that (pairs that hold an imported contact)."""
    connection = session.connection()
    raw: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        cursor = raw.cursor(name="dupe_scan_candidates")
        cursor.itersize = FETCH
    else:
        cursor = raw.cursor()
    try:
        where = f"WHERE k2.contact_id >= {int(since)} " if since is not None else ""
        cursor.execute(_CANDIDATES.format(since=where))
        while batch := cursor.fetchmany(FETCH):
            yield from batch
    finally:
        cursor.close()


def partners_of(rows: Iterator[tuple[int, int, int]]) -> Iterator[tuple[int, dict[int, int]]]:
    """(contact id, {partner with a higher id: OR of the evidence bits of the keys they share})
    for each contact with candidates, from rows ordered by the lower id."""
    current, partners = -1, {}
    for a, b, bit in rows:
        if a != current:
            if partners:
                yield current, partners
            current, partners = a, {}
        partners[b] = partners.get(b, 0) | bit
    if partners:
        yield current, partners


def compare(
    session: Session,
    matcher: Matcher,
    contacts: Contacts,
    progress: Progress,
    new: set[int] | None = None,
    blocks_made: bool = False,
) -> tuple[dict[tuple[int, int], tuple[float, str]], int]:
    """(lower id, higher id) -> (score, explanation JSON) of every pair above the threshold,
    and how many pairs were scored. `new`: only pairs that hold one of these contacts (an
    import's; `contacts` must hold every contact of the blocks they are in). `blocks_made`:
    the caller made the blocks table already (create_blocks with the same `since`)."""
    started = time.perf_counter()
    since = min(new) if new else None
    if not blocks_made:
        create_blocks(session, since)
    log.info("blocks table: %s", _since(started))
    found: dict[tuple[int, int], tuple[float, str]] = {}
    compared = 0
    ids, reported = contacts.ids, 0
    # closed here, also on Ctrl-C: left to the garbage collector, the cursor would be closed
    # after its connection, printing "Cannot operate on a closed database" at exit
    with closing(candidate_rows(session, since)) as rows:
        for done, (a, partners) in enumerate(partners_of(rows), 1):
            if new is not None and a not in new:
                partners = {b: mask for b, mask in partners.items() if b in new}
            compared += judge(matcher, contacts, a, partners, found)
            if done % 1000 == 0:
                position = bisect_right(ids, a)
                progress.advance(position - reported)
                reported = position
    # after a failure the rollback takes the table away (it was created in the transaction)
    session.connection().exec_driver_sql(f"DROP TABLE {BLOCKS}")
    progress.advance(len(ids) - reported)
    return found, compared


#: Evidence bits -> whether they alone make a pair worth scoring (keys.quick_mask).
_ENOUGH = tuple(quick_mask(mask) for mask in range(16))


def judge(
    matcher: Matcher,
    contacts: Contacts,
    a: int,
    partners: dict[int, int],
    found: dict[tuple[int, int], tuple[float, str]],
) -> int:
    """Judge contact `a` against its partners (id -> evidence bits), as Matcher.worth_scoring
    and Matcher.judge do but on packed states; adds the possible duplicates to `found` and
    returns how many pairs were scored."""
    blobs, packed = contacts.blobs, contacts.packed
    quick = matcher.method == "default"
    a_blob, a_packed, state = blobs[a], packed[a], None
    compared = 0
    for b, mask in partners.items():
        if quick and not _ENOUGH[mask] and not ratio(a_blob, blobs[b], score_cutoff=QUICK_LOOK):
            continue
        b_packed = packed[b]
        if a_packed[0] != b_packed[0]:  # the keys hold the type, so this never happens
            continue
        compared += 1
        if state is None:
            state = matcher.unpack(a_packed)
        verdict = matcher.judge_states(state, matcher.unpack(b_packed))
        if verdict is not None:
            found[(a, b)] = (verdict.score, verdict.as_json())
    return compared


# --- 4. pairs ----------------------------------------------------------------------------


def write_pairs(
    session: Session,
    matcher: Matcher,
    found: dict[tuple[int, int], tuple[float, str]],
    *,
    replace: bool = True,
) -> int:
    """Rewrite the open pairs as `found` (in contact id order); separate pairs stay, and a pair
    found again keeps its first-found time. Returns the open pairs written. `replace=False`:
    only add `found`, pairs that no stored pair holds (those of contacts just imported)."""
    separate: set[tuple[int, int]] = set()
    first_seen: dict[tuple[int, int], dt.datetime] = {}
    if replace:
        for a, b, status, created in session.execute(
            select(
                DupePair.contact_id_1, DupePair.contact_id_2, DupePair.status, DupePair.created_at
            )
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
