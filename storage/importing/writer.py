"""Writing the validated rows of a contact import: one transaction, in batches, the fastest
way each backend has (COPY on PostgreSQL, the driver's executemany on SQLite)."""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.orm import Session

from storage.collector import collector_paused
from storage.importing.progress import Progress
from storage.importing.rows import BATCH, CARRIED, TABLE, Draft
from storage.importing.validation import Job, read_spilled, spill_path
from storage.models import ContactType
from storage.rules import BulkImport


def insert_rows(job: Job, chunks: list[int], numbers: list[str]) -> None:
    """Write every good row in one transaction: companies, then persons in file order."""
    state = job.state
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    job.progress.stage("Writing", state.good)
    with (
        collector_paused(),
        job.store.engine.begin() as connection,
        _search_index_deferred(connection),
        _sqlite_cache(connection),
    ):
        parts = _Parts(connection, state.parts)  # first: it may lock contacts (BulkKeying)
        writer = _Writer(connection, now)
        ids = _insert_companies(writer, state.companies, numbers, job.progress, parts)
        rank = 0
        for batch in _spilled(job, chunks):
            rows = []
            for entry in batch:
                seq = -1
                if entry[1] is None:
                    seq = rank + bisect.bisect_left(state.company_lines, entry[0])
                    rank += 1
                rows.append(_person_row(writer, entry, seq, ids, numbers))
            writer.write(rows)
            if parts:
                nos = [row[_NO_AT] for row in rows]
                parts.written(writer.ids_of(nos), [entry[4] for entry in batch])
            job.progress.advance(len(rows))
        parts.finish(job.progress)


class _Parts:
    """The store rules' parts in this import (storage.rules.BulkImport), called in the
    import's transaction through a session bound to its connection."""

    def __init__(self, connection: Connection, parts: list[BulkImport]) -> None:
        self.parts = parts
        self.session = Session(bind=connection) if parts else None
        for part in parts:
            part.begin(self.session)  # type: ignore[arg-type]

    def __bool__(self) -> bool:
        return bool(self.parts)

    def written(self, ids: Sequence[int], extras: Sequence[list[Any]]) -> None:
        """A batch written: each part gets its own piece of each row's extras."""
        for position, part in enumerate(self.parts):
            part.written(self.session, ids, [extra[position] for extra in extras])  # type: ignore[arg-type]

    def finish(self, progress: Progress) -> None:
        if self.session is None:
            return
        for part in self.parts:
            part.finish(self.session, progress)
        self.session.flush()


#: Columns in the order the writer sends them: a row's carried values, then the rest.
_INSERT_COLUMNS: tuple[str, ...] = (
    *CARRIED,
    "no",
    "type",
    "company_id",
    "created_at",
    "modified_at",
)
_NO_AT = _INSERT_COLUMNS.index("no")


class _Writer:
    """Sends rows to `contacts` the fastest way each backend has: COPY on PostgreSQL, the
    driver's executemany on SQLite, Core's executemany elsewhere.

    SQLAlchemy's per-row bind processing is skipped (it doubled SQLite's write: 14 s against
    7.3 s for 500,000 rows); instead its own processors convert the few values that need one
    (the type enum, timestamps on SQLite) once per import, so the stored forms are the same.
    """

    def __init__(self, connection: Connection, now: dt.datetime) -> None:
        self.connection = connection
        self.after = connection.execute(select(func.coalesce(func.max(TABLE.c.id), 0))).scalar()
        dialect = connection.dialect
        self.mode = dialect.name if dialect.name in ("postgresql", "sqlite") else "core"
        if self.mode == "core":
            self.now: Any = now
            self.kinds: dict[ContactType, Any] = {kind: kind for kind in ContactType}
        else:
            self.now = _bound(connection, "created_at", now)
            self.kinds = {kind: _bound(connection, "type", kind) for kind in ContactType}
            assert not any(TABLE.c[n].type.bind_processor(dialect) for n in CARRIED)
        names = ", ".join(_INSERT_COLUMNS)
        self.copy_sql = f"COPY contacts ({names}) FROM STDIN"
        marks = ", ".join("?" for _ in _INSERT_COLUMNS)
        self.insert_sql = f"INSERT INTO contacts ({names}) VALUES ({marks})"

    def row(
        self, values: Sequence[Any], no: str, kind: ContactType, company_id: int | None
    ) -> tuple[Any, ...]:
        return (*values, no, self.kinds[kind], company_id, self.now, self.now)

    def ids_of(self, nos: list[str]) -> list[int]:
        """The ids of the contacts just written with these numbers, in their order.

        One range query: the rows after the highest id the import has seen (RETURNING in
        file order would cost SQLite one statement per row, and an IN list of five thousand
        numbers cost SQLAlchemy more to compile than the database to answer). On SQLite,
        whose write lock the import holds, they are exactly the batch; on PostgreSQL a
        contact another session committed meanwhile may be among them, and is passed over
        by its number. Each session's ids grow, so the next batch's are above this one's."""
        query = select(TABLE.c.no, TABLE.c.id).where(TABLE.c.id > self.after)
        by_no = dict(self.connection.execute(query).all())
        ids = [by_no[no] for no in nos]
        self.after = max(ids, default=self.after)
        return ids

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.mode == "sqlite":
            self.connection.exec_driver_sql(self.insert_sql, rows)  # type: ignore[arg-type]
        elif self.mode == "postgresql":
            driver = self.connection.connection.driver_connection
            with driver.cursor() as cursor, cursor.copy(self.copy_sql) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
        else:
            self.connection.execute(
                insert(TABLE), [dict(zip(_INSERT_COLUMNS, row, strict=True)) for row in rows]
            )


def _bound(connection: Connection, column: str, value: Any) -> Any:
    """`value` as SQLAlchemy would send it for `column` on this connection's database."""
    processor = TABLE.c[column].type.bind_processor(connection.dialect)
    return processor(value) if processor else value


@contextmanager
def _sqlite_cache(connection: Connection) -> Iterator[None]:
    """A bigger page cache while writing (the indexes of a million rows outgrow SQLite's
    default 2 MB; about 20% faster), put back afterwards for the pooled connection."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql("PRAGMA cache_size = -262144")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


#: The trigger of migration 0001 that feeds SQLite's find index (FTS5) one row at a time.
_FTS_TRIGGER = "contacts_search_ai"
_FTS_TRIGGER_SQL = (
    "CREATE TRIGGER contacts_search_ai AFTER INSERT ON contacts BEGIN "
    "INSERT INTO contact_search(rowid, search_text) VALUES (new.id, new.search_text); END"
)


@contextmanager
def _search_index_deferred(connection: Connection) -> Iterator[None]:
    """On SQLite, feed the find index once for all new rows instead of by trigger per row.

    Measured on 100,000 rows: 4.7 s for the trigger's row-by-row inserts into the trigram
    index against 0.4 s for one INSERT … SELECT. Only the trigger exactly as migration 0001
    made it is suspended (anything else stays as it is), and within this transaction, which
    is begun IMMEDIATE so that it holds the write lock throughout: a failure rolls the DROP
    back with the rows, and no other writer can insert while the trigger is away.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    if not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    query = "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?"
    sql = connection.exec_driver_sql(query, (_FTS_TRIGGER,)).scalar()
    if " ".join(str(sql).split()) != _FTS_TRIGGER_SQL:
        yield
        return
    last_id = connection.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM contacts").scalar()
    connection.exec_driver_sql(f"DROP TRIGGER {_FTS_TRIGGER}")
    yield
    connection.exec_driver_sql(
        "INSERT INTO contact_search(rowid, search_text) "
        "SELECT id, search_text FROM contacts WHERE id > ?",
        (last_id,),
    )
    connection.exec_driver_sql(str(sql))


def _spilled(job: Job, chunks: list[int]) -> Iterator[list[tuple[Any, ...]]]:
    """The spilled persons, chunk by chunk in file order (chunk n is worker n % workers's)."""
    files = [spill_path(job, worker).open("rb") for worker in range(job.workers)]
    try:
        for number in chunks:
            yield read_spilled(files[number % job.workers])
    finally:
        for handle in files:
            handle.close()


def _insert_companies(
    writer: _Writer,
    companies: list[Draft],
    numbers: list[str],
    progress: Progress,
    parts: _Parts,
) -> list[int]:
    """Insert the companies and return their new ids by index."""
    ids: list[int] = []
    for start in range(0, len(companies), BATCH):
        batch = companies[start : start + BATCH]
        nos = [company.no or numbers[company.seq] for company in batch]
        writer.write(
            [
                writer.row(company.values(), no, ContactType.COMPANY, None)
                for company, no in zip(batch, nos, strict=True)
            ]
        )
        written = writer.ids_of(nos)
        ids += written
        if parts:
            parts.written(written, [company.extras for company in batch])
        progress.advance(len(batch))
    return ids


def _person_row(
    writer: _Writer,
    entry: tuple[Any, ...],
    seq: int,
    company_ids: list[int],
    numbers: list[str],
) -> tuple[Any, ...]:
    _line, no, index, company_id = entry[:4]
    if index >= 0:
        company_id = company_ids[index]
    return writer.row(entry[5:], no or numbers[seq], ContactType.PERSON, company_id)
