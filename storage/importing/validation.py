"""Validating the rows of a contact import in two passes (companies, then persons), by forked
worker processes for large files; see storage/importing/contacts.py for the whole story."""

from __future__ import annotations

import bisect
import logging
import marshal
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from storage.codes import CODE_TABLES
from storage.collector import collector_paused
from storage.contacts import build_contact
from storage.database import Store
from storage.errors import UserError
from storage.importing.companies import CompanyFinder
from storage.importing.headers import HeaderMap
from storage.importing.numbers import taken_in_database
from storage.importing.progress import Progress
from storage.importing.report import Failure
from storage.importing.rows import (
    NAME_FIELDS,
    PROTECTED_FIELDS,
    Draft,
    Peek,
    Row,
    checked_fields,
    kind_or_none,
    parse_row,
)
from storage.importing.salvage import salvage
from storage.models import Contact, ContactType
from storage.rules import BulkImport
from storage.setup import get_setup

log = logging.getLogger(__name__)

# --- validation ---------------------------------------------------------------------------

#: Records per unit of work: workers validate whole chunks, and spill one batch per chunk.
CHUNK = 5000
#: Files with fewer rows are validated in this process; larger ones by one worker per CPU
#: (forked, so they inherit the companies of the first pass instead of receiving them).
PARALLEL_FROM = 50_000
MAX_WORKERS = 4


@dataclass
class Validation:
    """Everything the two passes learn, merged in file order by the importing process."""

    header: HeaderMap
    records: Callable[[], Iterator[tuple[int, list[str]]]]  # (line, cells) after the header
    clean: Callable[[list[str]], list[str]]  # a record's cells as values (Table.clean)
    strict: bool = False  # a bad value refuses its row instead of being left out
    companies: list[Draft] = field(default_factory=list)  # good, in file order (.index)
    company_at: dict[int, Draft] = field(default_factory=dict)  # line -> good company
    failures: list[Failure] = field(default_factory=list)
    claims: dict[str, int] = field(default_factory=dict)  # explicit no -> first line
    taken: set[str] = field(default_factory=set)  # explicit nos already in the database
    number_failures: dict[int, str] = field(default_factory=dict)  # company line -> reason
    finder: CompanyFinder = field(default_factory=CompanyFinder)
    person_lines: list[int] = field(default_factory=list)  # good persons needing a number
    persons: int = 0  # good persons
    company_lines: list[int] = field(default_factory=list)  # good companies needing a number
    parts: list[BulkImport] = field(default_factory=list)  # the store rules' parts in it

    @property
    def good(self) -> int:
        return len(self.companies) + self.persons

    @property
    def needs_number(self) -> int:
        return len(self.person_lines) + len(self.company_lines)

    def check_no(self, no: str | None, line: int) -> None:
        if no is None:
            return
        if no in self.taken:
            raise UserError(f"The number {no} is taken already.")
        if self.claims[no] != line:
            raise UserError(f"The number {no} is on line {self.claims[no]} already.")


@dataclass
class Job:
    """What a worker needs; forked workers inherit it through the module global _JOB."""

    store: Store
    path: Path
    state: Validation
    workers: int
    progress: Progress
    spill_dir: Path
    total: int  # about how many rows, for the progress bar
    parent: int = field(default_factory=os.getpid)
    counter: Any = None  # a shared count of records read, when workers are forked


_JOB: Job | None = None


def _job() -> Job:
    assert _JOB is not None
    if os.getpid() != _JOB.parent:  # a forked worker must not use the parent's connections
        _JOB.store.engine.dispose(close=False)
        _JOB.parent = os.getpid()
    return _JOB


def _count(job: Job, records: int) -> None:
    if job.counter is None:
        job.progress.advance(records)
    else:
        with job.counter.get_lock():
            job.counter.value += records


@contextmanager
def _validating_session(store: Store) -> Iterator[Session]:
    """A read-only session holding the setup and every code table, so that each lookup of
    build_contact is an identity-map hit instead of a query."""
    with store.session() as session, session.no_autoflush:
        held = [get_setup(session), *_load_code_tables(session)]
        yield session
        session.rollback()
        held.clear()


def _load_code_tables(session: Session) -> list[object]:
    return [row for table in CODE_TABLES.values() for row in table.all(session)]


def _my_chunks(state: Validation, worker: int, workers: int) -> Iterator[tuple[int, list[Any]]]:
    """The chunks of records that `worker` validates: every `workers`-th one, cleaned."""
    chunk: list[tuple[int, list[str]]] = []
    number = 0
    clean = state.clean
    for index, (line, cells) in enumerate(state.records()):
        if index // CHUNK != number:
            if chunk:
                yield number, chunk
            chunk, number = [], index // CHUNK
        if number % workers == worker:
            chunk.append((line, clean(cells)))
    if chunk:
        yield number, chunk


def _build(
    session: Session, row: Row, state: Validation, line: int, cells: list[str], into: list[Failure]
) -> Draft:
    """The row validated by `new`'s code, with what each import rule makes of it; a value a
    check refuses is left out (storage/importing/salvage.py) and noted in `into`."""

    def build(fields: dict[str, str]) -> Contact:
        return build_contact(
            session, row.kind, checked_fields(fields), new=Draft, find_company=state.finder.find
        )

    protected = PROTECTED_FIELDS if row.kind is ContactType.PERSON else NAME_FIELDS
    draft, dropped = salvage(build, row.fields, protected=protected, strict=state.strict)
    assert isinstance(draft, Draft)
    into += [Failure(line, d.reason, cells, d.field, d.value, refused=False) for d in dropped]
    draft.no = row.no
    draft.line = line
    draft.extras = [part.row(draft) for part in state.parts]
    return draft


@dataclass
class _CompanyChunk:
    number: int
    companies: list[tuple[int, Draft]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    claims: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[int, str | None, str]] = field(default_factory=list)


def _companies_worker(worker: int) -> list[_CompanyChunk]:
    """First pass: validate company rows, and note which numbers each row claims."""
    job = _job()
    chunks: list[_CompanyChunk] = []
    with collector_paused(), _validating_session(job.store) as session:
        for number, records in _my_chunks(job.state, worker, job.workers):
            chunks.append(_check_companies(session, job.state, number, records))
            _count(job, len(records))
    return chunks


def _check_companies(
    session: Session, state: Validation, number: int, records: list[Any]
) -> _CompanyChunk:
    chunk = _CompanyChunk(number)
    peek = Peek(state.header)
    for line, cells in records:
        claimed = peek.person_no(cells)
        if claimed is not None:  # surely a person: only its number matters here
            if claimed:
                chunk.claims.append((claimed, line))
            continue
        try:
            row = parse_row(state.header, cells)
        except UserError:  # reported by the second pass; its persons are told the line
            values = {name: cell for name, (cell, _at) in state.header.values(cells).items()}
            if kind_or_none(values.get("type", "")) is not ContactType.PERSON:
                chunk.failed.append((line, None, values.get("name", "")))
            continue
        if row.no is not None:
            chunk.claims.append((row.no, line))
        if row.kind is not ContactType.COMPANY:
            continue
        try:
            draft = _build(session, row, state, line, cells, chunk.failures)
            chunk.companies.append((line, draft))
        except UserError as error:
            chunk.failures.append(Failure(line, error.message, cells))
            chunk.failed.append((line, row.no, row.fields.get("name", "")))
    return chunk


def _merge_companies(state: Validation, results: list[list[_CompanyChunk]]) -> None:
    for chunk in sorted((c for r in results for c in r), key=lambda c: c.number):
        state.company_at.update(chunk.companies)
        state.failures += chunk.failures
        for no, line in chunk.claims:
            state.claims.setdefault(no, line)
        for line, no, name in chunk.failed:
            state.finder.note_failed(line, no, name)


def _settle_companies(session: Session, state: Validation) -> None:
    """Check the companies' own numbers, then make the good companies nameable."""
    state.taken = taken_in_database(session, list(state.claims))
    for line, company in list(state.company_at.items()):
        try:
            state.check_no(company.no, line)
        except UserError as error:
            del state.company_at[line]
            state.number_failures[line] = error.message
            state.finder.note_failed(line, company.no, company.name)
            continue
        company.index = len(state.companies)
        state.companies.append(company)
        state.finder.add(company, in_file=True)
    state.finder.load_database(session)


@dataclass
class _PersonChunk:
    number: int
    failures: list[Failure] = field(default_factory=list)
    needing: list[int] = field(default_factory=list)  # lines of good persons without a no
    good: int = 0


def _persons_worker(worker: int) -> list[_PersonChunk]:
    """Second pass: validate persons; good ones go to this worker's spill, one batch per
    chunk, so that the writer can read them back in file order."""
    job = _job()
    chunks: list[_PersonChunk] = []
    with (
        collector_paused(),
        _validating_session(job.store) as session,
        spill_path(job, worker).open("wb") as spill,
    ):
        for number, records in _my_chunks(job.state, worker, job.workers):
            chunk, entries = _check_persons(session, job.state, number, records)
            write_spilled(spill, entries)
            chunks.append(chunk)
            _count(job, len(records))
    return chunks


def spill_path(job: Job, worker: int) -> Path:
    return job.spill_dir / f"persons-{worker}.marshal"


def write_spilled(handle: BinaryIO, entries: list[tuple[Any, ...]]) -> None:
    """One chunk's entries, marshalled behind their length: read back whole with
    marshal.loads, five times faster than marshal.load from the file (which reads it piece
    by piece through the file object)."""
    data = marshal.dumps(entries)
    handle.write(len(data).to_bytes(8, "little"))
    handle.write(data)


def read_spilled(handle: BinaryIO) -> list[tuple[Any, ...]]:
    """The next chunk write_spilled wrote to this file."""
    size = int.from_bytes(handle.read(8), "little")
    return marshal.loads(handle.read(size))  # type: ignore[no-any-return]


def _check_persons(
    session: Session, state: Validation, number: int, records: list[Any]
) -> tuple[_PersonChunk, list[tuple[Any, ...]]]:
    chunk, entries = _PersonChunk(number), []
    for line, cells in records:
        if line in state.company_at:
            continue
        try:
            row = parse_row(state.header, cells)
            if row.kind is ContactType.COMPANY:  # failed in the first pass
                if line in state.number_failures:
                    chunk.failures.append(Failure(line, state.number_failures[line], cells))
                continue
            state.check_no(row.no, line)
            person = _build(session, row, state, line, cells, chunk.failures)
        except UserError as error:
            chunk.failures.append(Failure(line, error.message, cells))
            continue
        chunk.good += 1
        if row.no is None:
            chunk.needing.append(line)
        entries.append(_person_entry(person))
    return chunk, entries


def _person_entry(person: Draft) -> tuple[Any, ...]:
    company = person.company
    if company is None:
        index, company_id = -1, None
    elif isinstance(company, Draft):
        index, company_id = company.index, None
    else:
        index, company_id = -1, company.id
    return (person.line, person.no, index, company_id, person.extras, *person.values())


def _merge_persons(state: Validation, results: list[list[_PersonChunk]]) -> list[int]:
    """Merge in file order; returns the chunk numbers in the order the spill is read."""
    chunks = sorted((c for r in results for c in r), key=lambda c: c.number)
    for chunk in chunks:
        state.failures += chunk.failures
        state.person_lines += chunk.needing
        state.persons += chunk.good
    needing = [company for company in state.companies if company.no is None]
    state.company_lines = [company.line for company in needing]
    for rank, company in enumerate(needing):  # its place among all good rows needing one
        company.seq = rank + bisect.bisect_left(state.person_lines, company.line)
    return [chunk.number for chunk in chunks]


def _run(job: Job, worker: Callable[[int], list[Any]], stage: str) -> list[list[Any]]:
    """Run `worker` for each worker index: in this process, or forked when there are more."""
    job.progress.stage(stage, job.total)
    if job.workers == 1:
        return [worker(0)]
    global _JOB
    context = multiprocessing.get_context("fork")
    job.counter = context.Value("q", 0)
    _JOB = job
    shown = 0
    with context.Pool(job.workers) as pool:
        pending = pool.map_async(worker, range(job.workers))
        while not pending.ready():
            pending.wait(0.25)
            shown, seen = job.counter.value, shown
            job.progress.advance(shown - seen)
        return pending.get()


def validate(job: Job) -> list[int]:
    """Both passes; returns the order in which the persons' spill batches are read."""
    global _JOB
    _JOB = job
    started = time.perf_counter()
    try:
        _merge_companies(job.state, _run(job, _companies_worker, "Checking companies"))
        log.debug("companies checked in %.1f s", time.perf_counter() - started)
        with job.store.session() as session:
            _settle_companies(session, job.state)
        log.debug("companies settled at %.1f s", time.perf_counter() - started)
        chunks = _merge_persons(job.state, _run(job, _persons_worker, "Checking persons"))
        log.debug("persons checked at %.1f s", time.perf_counter() - started)
    finally:
        _JOB = None
    return chunks


def default_workers(total: int) -> int:
    if total < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))
