"""Importing contacts from a CSV file: `contactbot import contacts FILE.csv [--dry-run]`.

The file: a header row names the columns with the field names of storage/fields.py
(CSV_COLUMNS: `no`, `type`, `name`, …, `company`, …). An unknown, blank or repeated column
refuses the whole file before any row is read. A blank cell means "not given", so the setup's
defaults and the company's inheritance fill it exactly as for `new`.

`type` is company or person. Left blank, a row is a person when it fills a field that only
persons have (first_name, middle_name, surname, company, job_title, level) and a company
otherwise: Business Central's new contact is a company until told otherwise.

Every row is validated by the code behind `new` (storage.contacts.build_contact: field checks,
phone and email normalisation, code tables, setup defaults, inheritance); only the writing
differs, because a million ORM flushes take far too long:

1. Companies are validated first (one pass over the file), so that persons can name them.
2. Persons are validated (a second pass). A person's `company` holds a contact number or an
   exact company name (any case), of a good company row of the file or of a company in the
   database; an unknown or ambiguous one fails the row. A company of the file can be named by
   number only when its row has its own `no` (the others get theirs in step 3).
3. Good rows get contact numbers in file order: the Nth good row without a `no` gets the Nth
   number taken from the series; a row with its own `no` keeps it (one already in the database
   or on an earlier line fails). All numbers are taken in one short transaction, so the series
   row is locked for a moment, not for the whole import.
4. All good rows are inserted in ONE transaction, in batches of BATCH rows: companies first
   (their persons need their ids), then persons. See _Writer for how (COPY on PostgreSQL);
   on SQLite the find index is fed once for all new rows instead of by trigger per row.

Speed: the shared rules cost about 150 µs of CPU a row (phone and email parsing are half of
it), so files of PARALLEL_FROM rows or more are validated by forked worker processes, one per
CPU, each taking every Nth chunk of CHUNK rows; results are merged in file order, so numbering
does not depend on the number of workers. All timestamps of one import are the same moment.

What a crash leaves: rows that fail validation are reported and the good ones kept, but the
database write itself is all or nothing. If it fails (a lost connection, a number someone typed
meanwhile, a kill), none of the file is in the database, the command says so, and the file can
simply be imported again; the only trace is a gap in the number series, as Business Central's
series can have too. The price: on SQLite the insert holds the database's write lock for its
duration (some tens of seconds per million rows); other writers wait for the busy timeout.

Failed rows are written to `<stem>.errors.csv` beside the input: line (the physical line the
row starts on; the header is line 1), reason, then the row's cells as they were. A dry run
validates the same way and writes that report, but nothing to the database.

Validated persons wait for step 4 in temporary files (marshal, one per worker), so memory
holds the companies of the file but not its persons.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import logging
import marshal
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage.codes import CODE_TABLES
from storage.contacts import (
    NUMBER_PATTERN,
    _check_length,
    build_contact,
    get_by_no,
    resolve_contact,
)
from storage.database import Store
from storage.errors import UserError
from storage.fields import CSV_COLUMNS, PERSON_ONLY_FIELDS
from storage.inheritance import INHERITABLE_FIELDS
from storage.models import Contact, ContactType
from storage.numbering import format_number, get_series
from storage.setup import get_setup
from storage.spreadsheet import neutralise, restore
from storage.text import check_text

log = logging.getLogger(__name__)

#: Rows per INSERT batch (executemany) and per progress step.
BATCH = 5000
MAX_NO_LENGTH = 20

_TABLE = Contact.__table__
_COLUMNS: tuple[str, ...] = tuple(column.key for column in _TABLE.columns)
#: Columns a validated row carries to the insert; the others are set when inserting.
_CARRIED: tuple[str, ...] = tuple(
    name
    for name in _COLUMNS
    if name not in ("id", "no", "type", "company_id", "created_at", "modified_at")
)


class Progress(Protocol):
    """What the import reports while it runs (a terminal shows a bar; elsewhere nothing)."""

    def stage(self, description: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...


class NoProgress:
    def stage(self, description: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass


@dataclass
class ImportResult:
    """What an import did, for the summary line and the exit status."""

    path: Path
    dry_run: bool
    created: int = 0
    failed: int = 0
    report: Path | None = None
    numbers: tuple[str, str] | None = None  # the first and last number taken from the series

    def summary(self) -> str:
        verb = "would be created" if self.dry_run else "created"
        text = f"{self.path.name}: {self.created} contacts {verb}, {self.failed} rows failed"
        if self.numbers and not self.dry_run:
            text += f" (new numbers {self.numbers[0]}–{self.numbers[1]})"
        text += "."
        if self.report is not None:
            text += f" Failed rows with line and reason: {self.report}."
        if self.dry_run:
            text += " Dry run: nothing was written to the database."
        return text


@dataclass(frozen=True)
class Failure:
    line: int
    reason: str
    cells: list[str]


class _Draft:
    """A row being validated: what build_contact fills, without ORM instrumentation (a mapped
    Contact costs more to build than all the validation of a row)."""

    __slots__ = (*_COLUMNS, "company", "index", "line", "seq")

    def __init__(self, type: ContactType) -> None:  # `type`: build_contact calls new(type=…)
        for name in self.__slots__:
            setattr(self, name, None)
        self.type = type

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _CARRIED)


# --- reading the file --------------------------------------------------------------------


def report_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.errors.csv")


def read_header(path: Path) -> tuple[str, ...]:
    """The columns of the file, refused as a whole when one is not a contact field."""
    header = read_columns(path, CSV_COLUMNS)
    if not {"name", "first_name", "surname"} & set(header):
        raise UserError(f"{path}: the header needs a `name` column (or first_name and surname).")
    return header


def read_columns(path: Path, columns: Sequence[str]) -> tuple[str, ...]:
    """The header row in lower case, refused as a whole when a column is blank, repeated or
    not one of `columns` (the import of business records reads its header with this too)."""
    if not path.is_file():
        raise UserError(f"No file {path}.")
    with _open(path) as handle:
        try:
            row = next(csv.reader(handle), None)
        except (csv.Error, UnicodeDecodeError) as error:
            raise UserError(f"{path}: the header row cannot be read ({error}).") from None
    if not row or not any(cell.strip() for cell in row):
        raise UserError(
            f"{path} has no header row. The first row names the columns, "
            f"like: {','.join(columns[:4])},…"
        )
    header = tuple(cell.strip().lower() for cell in row)
    valid = ", ".join(columns)
    for position, name in enumerate(header, start=1):
        if not name:
            raise UserError(f"{path}: column {position} of the header has no name.")
        if name not in columns:
            raise UserError(f"{path}: unknown column `{name}` in the header. Valid: {valid}.")
        if header.count(name) > 1:
            raise UserError(f"{path}: the column `{name}` appears twice in the header.")
    return header


@contextmanager
def _open(path: Path) -> Iterator[IO[str]]:
    """UTF-8, with or without the byte-order mark that spreadsheets write."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield handle


def read_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (line the record starts on, cells) for each non-blank row after the header; a
    `'` that an export put before a formula-like cell is taken off (storage/spreadsheet.py)."""
    with _open(path) as handle:
        reader = csv.reader(handle)
        line = 0
        try:
            next(reader)
            line = reader.line_num + 1
            for cells in reader:
                start, line = line, reader.line_num + 1
                if any(cell.strip() for cell in cells):
                    yield start, [restore(cell) for cell in cells]
        except (csv.Error, UnicodeDecodeError) as error:
            raise UserError(f"{path}, line {line}: the file cannot be read ({error}).") from None


def count_rows(path: Path) -> int:
    """About how many rows the file has (line breaks), for the progress bar."""
    count = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
    return max(count - 1, 0)


@dataclass(frozen=True)
class _Row:
    kind: ContactType
    no: str | None
    fields: dict[str, str]


def _parse(header: Sequence[str], cells: list[str]) -> _Row:
    """Cells to a kind, an explicit number and the given (non-blank) fields."""
    if len(cells) > len(header):
        raise UserError(f"the row has {len(cells)} cells; the header names {len(header)}.")
    values = dict(zip(header, cells, strict=False))
    for name, cell in values.items():  # a NUL would abort the whole import on PostgreSQL
        check_text(name, cell, multiline=True)
    no = values.pop("no", "").strip().upper() or None
    if no is not None:
        _check_length("no", no)
    type_cell = values.pop("type", "")
    fields = {name: value for name, value in values.items() if value.strip()}
    return _Row(_kind(type_cell, fields), no, fields)


def _kind_or_none(cell: str) -> ContactType | None:
    try:
        return ContactType(cell.strip().lower())
    except ValueError:
        return None


def _kind(cell: str, fields: dict[str, str]) -> ContactType:
    text = cell.strip().lower()
    if not text:
        person = any(name in fields for name in PERSON_ONLY_FIELDS)
        return ContactType.PERSON if person else ContactType.COMPANY
    try:
        return ContactType(text)
    except ValueError:
        raise UserError(f"type: `{cell.strip()}` is not company or person.") from None


# --- companies a person may name --------------------------------------------------------

_DB_COMPANY_COLUMNS = ("id", "no", "name", "type", *INHERITABLE_FIELDS)


@dataclass
class _Companies:
    """The companies the persons of the file may name: good company rows, then the database."""

    by_no: dict[str, _Draft] = field(default_factory=dict)
    by_name: dict[str, list[Any]] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)  # name/no of a failed row -> line
    cache: dict[str, Any] = field(default_factory=dict)
    loaded: bool = False

    def add(self, company: Any, in_file: bool) -> None:
        if in_file and company.no:
            self.by_no[company.no] = company
        self.by_name.setdefault(company.name.lower(), []).append(company)

    def load_database(self, session: Session) -> None:
        """Index the database's companies by name once, instead of a query per person."""
        columns = [_TABLE.c[name] for name in _DB_COMPANY_COLUMNS]
        query = select(*columns).where(_TABLE.c.type == ContactType.COMPANY)
        for row in session.execute(query.execution_options(yield_per=BATCH)):
            self.add(row, in_file=False)
        self.loaded = True

    def find(self, session: Session, ref: str) -> Contact:
        """The company_finder for build_contact: resolved once per distinct reference."""
        key = ref.strip()
        hit = self.cache.get(key)
        if hit is None:
            try:
                hit = self._resolve(session, key)
            except UserError as error:
                hit = error
            self.cache[key] = hit
        if isinstance(hit, UserError):
            raise hit
        return hit  # type: ignore[no-any-return]

    def _resolve(self, session: Session, ref: str) -> Any:
        """As resolve_contact: a number first (the file's, then the database's), then an
        exact name (any case) that only one company has, in the file and the database."""
        if NUMBER_PATTERN.match(ref):
            if ref.upper() in self.by_no:
                return self.by_no[ref.upper()]
            if get_by_no(session, ref) is not None:  # a company, or `new`'s refusal
                return resolve_contact(session, ref, kind=ContactType.COMPANY)
        if not self.loaded:
            self.load_database(session)
        matches = self.by_name.get(ref.lower(), [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            places = ", ".join(_place(match) for match in matches[:10])
            raise UserError(f"company: `{ref}` names several companies: {places}. Use the number.")
        line = self.failed.get(ref.upper()) or self.failed.get(ref.lower())
        if line:
            raise UserError(f"company: `{ref}` is on line {line}, which failed.")
        raise UserError(
            f"company: no company `{ref}` in the file or the database. "
            "Give its number or its exact name."
        )

    def note_failed(self, line: int, no: str | None, name: str) -> None:
        """Remember a failed company row, so that its persons are told why."""
        if no:
            self.failed[no] = line
        if name.strip():
            self.failed.setdefault(name.strip().lower(), line)


def _place(company: Any) -> str:
    return f"line {company.line}" if isinstance(company, _Draft) else company.no


# --- validation ---------------------------------------------------------------------------

#: Records per unit of work: workers validate whole chunks, and spill one batch per chunk.
CHUNK = 5000
#: Files with fewer rows are validated in this process; larger ones by one worker per CPU
#: (forked, so they inherit the companies of the first pass instead of receiving them).
PARALLEL_FROM = 50_000
MAX_WORKERS = 4


@dataclass
class _Validation:
    """Everything the two passes learn, merged in file order by the importing process."""

    header: tuple[str, ...]
    companies: list[_Draft] = field(default_factory=list)  # good, in file order (.index)
    company_at: dict[int, _Draft] = field(default_factory=dict)  # line -> good company
    failures: list[Failure] = field(default_factory=list)
    claims: dict[str, int] = field(default_factory=dict)  # explicit no -> first line
    taken: set[str] = field(default_factory=set)  # explicit nos already in the database
    number_failures: dict[int, str] = field(default_factory=dict)  # company line -> reason
    finder: _Companies = field(default_factory=_Companies)
    person_lines: list[int] = field(default_factory=list)  # good persons needing a number
    persons: int = 0  # good persons
    company_lines: list[int] = field(default_factory=list)  # good companies needing a number

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
class _Job:
    """What a worker needs; forked workers inherit it through the module global _JOB."""

    store: Store
    path: Path
    state: _Validation
    workers: int
    progress: Progress
    spill_dir: Path
    total: int  # about how many rows, for the progress bar
    parent: int = field(default_factory=os.getpid)
    counter: Any = None  # a shared count of records read, when workers are forked


_JOB: _Job | None = None


def _job() -> _Job:
    assert _JOB is not None
    if os.getpid() != _JOB.parent:  # a forked worker must not use the parent's connections
        _JOB.store.engine.dispose(close=False)
        _JOB.parent = os.getpid()
    return _JOB


def _count(job: _Job, records: int) -> None:
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


def _my_chunks(path: Path, worker: int, workers: int) -> Iterator[tuple[int, list[Any]]]:
    """The chunks of records that `worker` validates: every `workers`-th one."""
    chunk: list[tuple[int, list[str]]] = []
    number = 0
    for index, record in enumerate(read_records(path)):
        if index // CHUNK != number:
            if chunk:
                yield number, chunk
            chunk, number = [], index // CHUNK
        if number % workers == worker:
            chunk.append(record)
    if chunk:
        yield number, chunk


def _build(session: Session, row: _Row, finder: _Companies, line: int) -> _Draft:
    draft = build_contact(session, row.kind, row.fields, new=_Draft, find_company=finder.find)
    assert isinstance(draft, _Draft)
    draft.no = row.no
    draft.line = line
    return draft


@dataclass
class _CompanyChunk:
    number: int
    companies: list[tuple[int, _Draft]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    claims: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[int, str | None, str]] = field(default_factory=list)


def _companies_worker(worker: int) -> list[_CompanyChunk]:
    """First pass: validate company rows, and note which numbers each row claims."""
    job = _job()
    chunks: list[_CompanyChunk] = []
    with _validating_session(job.store) as session:
        for number, records in _my_chunks(job.path, worker, job.workers):
            chunks.append(_check_companies(session, job.state, number, records))
            _count(job, len(records))
    return chunks


def _check_companies(
    session: Session, state: _Validation, number: int, records: list[Any]
) -> _CompanyChunk:
    chunk = _CompanyChunk(number)
    peek = _Peek(state.header)
    for line, cells in records:
        claimed = peek.person_no(cells)
        if claimed is not None:  # surely a person: only its number matters here
            if claimed:
                chunk.claims.append((claimed, line))
            continue
        try:
            row = _parse(state.header, cells)
        except UserError:  # reported by the second pass; its persons are told the line
            values = dict(zip(state.header, cells, strict=False))
            if _kind_or_none(values.get("type", "")) is not ContactType.PERSON:
                chunk.failed.append((line, None, values.get("name", "")))
            continue
        if row.no is not None:
            chunk.claims.append((row.no, line))
        if row.kind is not ContactType.COMPANY:
            continue
        try:
            chunk.companies.append((line, _build(session, row, state.finder, line)))
        except UserError as error:
            chunk.failures.append(Failure(line, error.message, cells))
            chunk.failed.append((line, row.no, row.fields.get("name", "")))
    return chunk


class _Peek:
    """Tells a person row from the others without parsing it (the first pass skips persons,
    and parsing every row cost it a fifth of its time)."""

    def __init__(self, header: Sequence[str]) -> None:
        self.width = len(header)
        self.type_at = header.index("type") if "type" in header else None
        self.no_at = header.index("no") if "no" in header else None
        self.person_at = [i for i, name in enumerate(header) if name in PERSON_ONLY_FIELDS]

    def person_no(self, cells: list[str]) -> str | None:
        """A row that _parse surely takes for a person: its own number ("" for none);
        anything else (a company, a row _parse may refuse): None."""
        if len(cells) > self.width:
            return None
        kind = self._cell(cells, self.type_at).lower()
        if kind != "person" and (kind or not any(self._cell(cells, i) for i in self.person_at)):
            return None
        no = self._cell(cells, self.no_at).upper()
        if len(no) > MAX_NO_LENGTH or not no.isprintable():
            return None  # _parse refuses it (a NUL must never reach a query)
        return no

    @staticmethod
    def _cell(cells: list[str], at: int | None) -> str:
        return cells[at].strip() if at is not None and at < len(cells) else ""


def _merge_companies(state: _Validation, results: list[list[_CompanyChunk]]) -> None:
    for chunk in sorted((c for r in results for c in r), key=lambda c: c.number):
        state.company_at.update(chunk.companies)
        state.failures += chunk.failures
        for no, line in chunk.claims:
            state.claims.setdefault(no, line)
        for line, no, name in chunk.failed:
            state.finder.note_failed(line, no, name)


def _settle_companies(session: Session, state: _Validation) -> None:
    """Check the companies' own numbers, then make the good companies nameable."""
    state.taken = _taken_in_database(session, list(state.claims))
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


def _taken_in_database(session: Session, numbers: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(numbers), 1000):
        chunk = numbers[start : start + 1000]
        taken.update(session.scalars(select(_TABLE.c.no).where(_TABLE.c.no.in_(chunk))))
    return taken


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
        _validating_session(job.store) as session,
        _spill_path(job, worker).open("wb") as spill,
    ):
        for number, records in _my_chunks(job.path, worker, job.workers):
            chunk, entries = _check_persons(session, job.state, number, records)
            marshal.dump(entries, spill)
            chunks.append(chunk)
            _count(job, len(records))
    return chunks


def _spill_path(job: _Job, worker: int) -> Path:
    return job.spill_dir / f"persons-{worker}.marshal"


def _check_persons(
    session: Session, state: _Validation, number: int, records: list[Any]
) -> tuple[_PersonChunk, list[tuple[Any, ...]]]:
    chunk, entries = _PersonChunk(number), []
    for line, cells in records:
        if line in state.company_at:
            continue
        try:
            row = _parse(state.header, cells)
            if row.kind is ContactType.COMPANY:  # failed in the first pass
                if line in state.number_failures:
                    chunk.failures.append(Failure(line, state.number_failures[line], cells))
                continue
            state.check_no(row.no, line)
            person = _build(session, row, state.finder, line)
        except UserError as error:
            chunk.failures.append(Failure(line, error.message, cells))
            continue
        chunk.good += 1
        if row.no is None:
            chunk.needing.append(line)
        entries.append(_person_entry(person))
    return chunk, entries


def _person_entry(person: _Draft) -> tuple[Any, ...]:
    company = person.company
    if company is None:
        index, company_id = -1, None
    elif isinstance(company, _Draft):
        index, company_id = company.index, None
    else:
        index, company_id = -1, company.id
    return (person.line, person.no, index, company_id, *person.values())


def _merge_persons(state: _Validation, results: list[list[_PersonChunk]]) -> list[int]:
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


def _run(job: _Job, worker: Callable[[int], list[Any]], stage: str) -> list[list[Any]]:
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


def _validate(job: _Job) -> list[int]:
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


# --- numbers and writing ------------------------------------------------------------------


def _reserve_numbers(store: Store, count: int, also_taken: set[str]) -> list[str]:
    """Take `count` numbers from the contact series in one short transaction, skipping
    numbers already on a contact or claimed by a row of the file (as next_contact_no does)."""
    if count == 0:
        return []
    with store.transaction() as session:
        series = get_series(session, lock=True)
        number = max(series.last_number + 1, series.start)
        numbers: list[str] = []
        while len(numbers) < count:
            wanted = count - len(numbers)
            candidates = [format_number(series, n) for n in range(number, number + wanted)]
            if len(candidates[-1]) > MAX_NO_LENGTH:
                raise UserError(
                    f"The number series {series.code} would run past {MAX_NO_LENGTH} characters "
                    f"at {candidates[-1]}. Set a shorter prefix or width with "
                    "`setup number_prefix=… number_width=…`."
                )
            taken = also_taken | _taken_among(session, candidates)
            numbers += [candidate for candidate in candidates if candidate not in taken]
            number += wanted
        series.last_number = number - 1
    return numbers


def _taken_among(session: Session, candidates: list[str]) -> set[str]:
    """Which of the consecutive `candidates` are on a contact: one range query when they all
    have the same length (then text order is number order), else by lists."""
    if len(candidates[0]) != len(candidates[-1]):
        return _taken_in_database(session, candidates)
    query = select(_TABLE.c.no).where(_TABLE.c.no.between(candidates[0], candidates[-1]))
    wanted = set(candidates)
    return {no for no in session.scalars(query) if no in wanted}


def _insert(job: _Job, chunks: list[int], numbers: list[str]) -> None:
    """Write every good row in one transaction: companies, then persons in file order."""
    state = job.state
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    job.progress.stage("Writing", state.good)
    with (
        job.store.engine.begin() as connection,
        _search_index_deferred(connection),
        _sqlite_cache(connection),
    ):
        writer = _Writer(connection, now)
        ids = _insert_companies(writer, state.companies, numbers, job.progress)
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
            job.progress.advance(len(rows))


#: Columns in the order the writer sends them: a row's carried values, then the rest.
_INSERT_COLUMNS: tuple[str, ...] = (
    *_CARRIED,
    "no",
    "type",
    "company_id",
    "created_at",
    "modified_at",
)


class _Writer:
    """Sends rows to `contacts` the fastest way each backend has: COPY on PostgreSQL, the
    driver's executemany on SQLite, Core's executemany elsewhere.

    SQLAlchemy's per-row bind processing is skipped (it doubled SQLite's write: 14 s against
    7.3 s for 500,000 rows); instead its own processors convert the few values that need one
    (the type enum, timestamps on SQLite) once per import, so the stored forms are the same.
    """

    def __init__(self, connection: Connection, now: dt.datetime) -> None:
        self.connection = connection
        dialect = connection.dialect
        self.mode = dialect.name if dialect.name in ("postgresql", "sqlite") else "core"
        if self.mode == "core":
            self.now: Any = now
            self.kinds: dict[ContactType, Any] = {kind: kind for kind in ContactType}
        else:
            self.now = _bound(connection, "created_at", now)
            self.kinds = {kind: _bound(connection, "type", kind) for kind in ContactType}
            assert not any(_TABLE.c[n].type.bind_processor(dialect) for n in _CARRIED)
        names = ", ".join(_INSERT_COLUMNS)
        self.copy_sql = f"COPY contacts ({names}) FROM STDIN"
        marks = ", ".join("?" for _ in _INSERT_COLUMNS)
        self.insert_sql = f"INSERT INTO contacts ({names}) VALUES ({marks})"

    def row(
        self, values: Sequence[Any], no: str, kind: ContactType, company_id: int | None
    ) -> tuple[Any, ...]:
        return (*values, no, self.kinds[kind], company_id, self.now, self.now)

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
                insert(_TABLE), [dict(zip(_INSERT_COLUMNS, row, strict=True)) for row in rows]
            )


def _bound(connection: Connection, column: str, value: Any) -> Any:
    """`value` as SQLAlchemy would send it for `column` on this connection's database."""
    processor = _TABLE.c[column].type.bind_processor(connection.dialect)
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


def _spilled(job: _Job, chunks: list[int]) -> Iterator[list[tuple[Any, ...]]]:
    """The spilled persons, chunk by chunk in file order (chunk n is worker n % workers's)."""
    files = [_spill_path(job, worker).open("rb") for worker in range(job.workers)]
    try:
        for number in chunks:
            yield marshal.load(files[number % job.workers])
    finally:
        for handle in files:
            handle.close()


def _insert_companies(
    writer: _Writer, companies: list[_Draft], numbers: list[str], progress: Progress
) -> list[int]:
    """Insert the companies and return their new ids by index (looked up by number: RETURNING
    in file order would cost SQLite one statement per row)."""
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
        query = select(_TABLE.c.no, _TABLE.c.id).where(_TABLE.c.no.in_(nos))
        by_no = dict(writer.connection.execute(query).all())
        ids += [by_no[no] for no in nos]
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
    return writer.row(entry[4:], no or numbers[seq], ContactType.PERSON, company_id)


def write_report(path: Path, header: Sequence[str], failures: list[Failure]) -> Path | None:
    """Write the failed rows beside the input (removing a stale report when none failed)."""
    target = report_path(path)
    if not failures:
        target.unlink(missing_ok=True)
        return None
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "reason", *header])
        for failure in sorted(failures, key=lambda f: f.line):
            writer.writerow(
                [failure.line, neutralise(failure.reason), *map(neutralise, failure.cells)]
            )
    return target


# --- the command --------------------------------------------------------------------------


def import_contacts(
    store: Store,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ImportResult:
    """Import the contacts of the CSV file at `path`; see the module docstring.

    `workers`: processes that validate (default: one per CPU, up to MAX_WORKERS, for files of
    PARALLEL_FROM rows or more; one below that).
    """
    header = read_header(path)
    total = count_rows(path)
    with tempfile.TemporaryDirectory(prefix="contactbot-import-") as spill_dir:
        job = _Job(
            store,
            path,
            _Validation(header),
            workers or _default_workers(total),
            progress or NoProgress(),
            Path(spill_dir),
            total,
        )
        chunks = _validate(job)
        state = job.state
        result = ImportResult(path, dry_run, created=state.good, failed=len(state.failures))
        result.report = write_report(path, header, state.failures)
        if not dry_run and state.good:
            _write(job, chunks, result)
    return result


def _default_workers(total: int) -> int:
    if total < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _write(job: _Job, chunks: list[int], result: ImportResult) -> None:
    started = time.perf_counter()
    numbers = _reserve_numbers(job.store, job.state.needs_number, set(job.state.claims))
    log.debug("%d numbers taken in %.1f s", len(numbers), time.perf_counter() - started)
    try:
        _insert(job, chunks, numbers)
        log.debug("written at %.1f s", time.perf_counter() - started)
    except SQLAlchemyError as error:
        log.debug("import of %s failed while writing", result.path, exc_info=True)
        raise UserError(
            f"{result.path}: writing to the database failed ({type(error).__name__}: "
            f"{_first_line(error)}). Nothing of the file was imported; fix the cause and run "
            "the import again."
        ) from None
    if numbers:
        result.numbers = (numbers[0], numbers[-1])
    _after_import(job)


def _after_import(job: _Job) -> None:
    """The store's after-import rules (the duplicates plugin keys the new contacts in bulk),
    in a transaction of their own: the rows did not pass the per-contact create rules."""
    rules = job.store.rules.after_import
    if rules:
        with job.store.transaction() as session:
            for rule in rules:
                rule(session, job.progress)


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]


__all__ = ["ImportResult", "NoProgress", "Progress", "import_contacts", "read_header"]
