"""Duplicate keys and pairs for a bulk import, written as the import writes its rows.

Why not `dupes scan` after the import: a scan keys every contact of the database again, in
one process, after the rows are in; here each row is keyed by the import's validation workers
(in parallel, while they check it), its keys are written with its batch, in the import's own
transaction, and only the blocks that hold an imported contact are compared afterwards. The
pairs are the ones a scan would find for the imported contacts (same keys, same judging: the
scan's own functions), and the pairs among the contacts already stored stay as they were.

On a table with fewer contacts than the file has rows (a first import, typically) the value
index of dupe_keys is dropped while the keys are written and built once at the end, as a first
scan does, and on PostgreSQL its foreign key is added again at the end instead of being
checked row by row (other sessions then wait for the import to commit: dropping the key locks
contacts, as every import does on SQLite for writers); on a large table both are kept up to
date instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from storage.collector import collector_paused
from storage.duplicates.index import COLUMNS, data_from_row
from storage.duplicates.matcher import Matcher
from storage.duplicates.scan import (
    BLOCKS,
    KEY_INDEX,
    Contacts,
    analyze,
    compare,
    create_blocks,
    create_key_index,
    write_key_rows,
    write_pairs,
)
from storage.duplicates.settings import get_settings
from storage.importing.progress import Progress
from storage.models import Contact

log = logging.getLogger(__name__)

#: The contact columns a row's draft is read by, in COLUMNS' order (the id comes later).
_KEYS = tuple(column.key for column in COLUMNS)
#: Contacts of the blocks that were stored before the import, loaded this many at a time.
LOAD_CHUNK = 5_000


class BulkKeying:
    """The duplicates plugin's part in one import (storage.rules.BulkImport)."""

    def __init__(self, matcher: Matcher, pairs: bool, drop_index: bool) -> None:
        self.matcher = matcher
        self.pairs = pairs  # autosearch on: find pairs, not only keep keys
        self.drop_index = drop_index
        self.dropped = False
        self.foreign_keys: list[tuple[str, str]] = []  # (name, definition) dropped, PostgreSQL
        self.blobs: dict[int, str] = {}
        self.packed: dict[int, str] = {}
        self.keys = 0

    def row(self, draft: Any) -> tuple[Any, ...]:
        """The row's keys (and, for pairs, its blob and packed state), computed in a worker."""
        data = data_from_row([0 if name == "id" else getattr(draft, name) for name in _KEYS])
        item = self.matcher.prepare(data)
        keys = sorted(item.keys)
        if not self.pairs:
            return (keys,)
        return (keys, item.blob, self.matcher.pack(item))

    def begin(self, session: Session) -> None:
        """Before the first row is written: on a bulk write, the value index goes (and on
        PostgreSQL the foreign key).

        Dropping the foreign key takes ACCESS EXCLUSIVE on contacts (its referential triggers
        live there), so that lock is taken first, in one step, while the import holds nothing
        else. Taking a weaker lock first and this one on the drop deadlocked with a `new` that
        had read contacts and was waiting to insert (seen in CI). Until the import commits,
        other sessions' reads and writes of contacts wait, as every writer does on SQLite
        during an import; this path is only taken when the file has more rows than the table.
        """
        if not self.drop_index:
            return
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE")
            self.foreign_keys = _drop_foreign_keys(session)
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {KEY_INDEX}")
        self.dropped = True

    def written(self, session: Session, ids: Sequence[int], extras: Sequence[Any]) -> None:
        self.keys += write_key_rows(session, _key_rows(ids, extras))
        if self.pairs:
            for id_, extra in zip(ids, extras, strict=True):
                self.blobs[id_] = extra[1]
                self.packed[id_] = extra[2]

    def finish(self, session: Session, progress: Progress) -> None:
        started = time.perf_counter()
        if self.dropped:
            connection = session.connection()
            create_key_index(connection)
            for name, definition in self.foreign_keys:  # checked once, in one join
                connection.exec_driver_sql(
                    f'ALTER TABLE dupe_keys ADD CONSTRAINT "{name}" {definition}'
                )
        log.info("%d keys written, index ready: %.1f s", self.keys, time.perf_counter() - started)
        if self.pairs and self.packed:
            with collector_paused():  # a million small strings and no cycles
                self._pairs(session, progress)
        analyze(session)
        log.info("import's duplicates done: %.1f s", time.perf_counter() - started)

    def _pairs(self, session: Session, progress: Progress) -> None:
        new = set(self.packed)
        contacts = Contacts(self.blobs, self.packed, [])
        self._load_stored_partners(session, min(new))
        contacts.ids = sorted(self.packed)
        progress.stage("Comparing", len(contacts.ids))
        found, compared = compare(
            session, self.matcher, contacts, progress, new=new, blocks_made=True
        )
        written = write_pairs(session, self.matcher, found, replace=False)
        log.info("compared %d pairs, wrote %d", compared, written)

    def _load_stored_partners(self, session: Session, since: int) -> None:
        """Prepare the stored contacts that share a usable block with an imported one: the
        ones the comparison meets besides the imported ones. Their keys stay as stored."""
        create_blocks(session, since)
        connection = session.connection()
        ids = [
            id_
            for (id_,) in connection.exec_driver_sql(f"SELECT DISTINCT contact_id FROM {BLOCKS}")
            if id_ not in self.packed
        ]
        for start in range(0, len(ids), LOAD_CHUNK):
            chunk = ids[start : start + LOAD_CHUNK]
            for row in session.execute(select(*COLUMNS).where(Contact.id.in_(chunk))):
                item = self.matcher.prepare(data_from_row(row), keys=False)
                self.blobs[item.data.id] = item.blob
                self.packed[item.data.id] = self.matcher.pack(item)
        log.info("%d stored contacts share a block with an imported one", len(ids))


def _drop_foreign_keys(session: Session) -> list[tuple[str, str]]:
    """PostgreSQL: drop dupe_keys' foreign keys for the bulk write and return them to be
    added again (name, definition) at the end. Checking each of twenty million key rows
    against contacts costs more than the rest of the keys' write; adding the constraint back
    checks them all in one join. All within the import's transaction: on a failure the
    rollback puts them back as they were."""
    rows = session.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'dupe_keys'::regclass AND contype = 'f'"
        )
    ).all()
    for name, _definition in rows:
        session.execute(text(f'ALTER TABLE dupe_keys DROP CONSTRAINT "{name}"'))
    return [(name, definition) for name, definition in rows]


def _key_rows(ids: Sequence[int], extras: Sequence[Any]) -> Iterator[tuple[int, str]]:
    for id_, extra in zip(ids, extras, strict=True):
        for key in extra[0]:
            yield id_, key


def begin_import(session: Session, rows: int) -> BulkKeying | None:
    """The duplicates plugin's ImportHook: keys (and pairs, with autosearch on) for the
    import's rows, or nothing when the settings keep no keys."""
    settings = get_settings(session)
    if not (settings.autosearch or settings.maintain_keys):
        return None
    stored = session.scalar(select(func.count()).select_from(Contact)) or 0
    return BulkKeying(Matcher.from_settings(session), settings.autosearch, stored < rows)


__all__ = ["BulkKeying", "begin_import"]
