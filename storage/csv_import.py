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
   database; an unknown or ambiguous one fails the row.
3. Good rows get contact numbers in file order: the Nth good row without a `no` gets the Nth
   number taken from the series; a row with its own `no` keeps it (one already in the database
   or on an earlier line fails). All numbers are taken in one short transaction, so the series
   row is locked for a moment, not for the whole import.
4. All good rows are inserted in ONE transaction with SQLAlchemy Core, in batches: companies
   first (their new ids are needed by their persons), then persons.

What a crash leaves: rows that fail validation are reported and the good ones kept, but the
database write itself is all or nothing. If it fails (a lost connection, a number someone typed
meanwhile, a kill), none of the file is in the database, the command says so, and the file can
simply be imported again; the only trace is a gap in the number series, as Business Central's
series can have too. The price: on SQLite the insert holds the database's write lock for its
duration (some tens of seconds per million rows); other writers wait for the busy timeout.

Failed rows are written to `<stem>.errors.csv` beside the input: line (the physical line the
row starts on; the header is line 1), reason, then the row's cells as they were. A dry run
validates the same way and writes that report, but nothing to the database.

Validated persons wait for step 4 in a temporary file (marshal), so memory holds only the
companies, whatever the size of the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import marshal
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import Connection, insert, select
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
            f"like: {','.join(CSV_COLUMNS[:4])},…"
        )
    header = tuple(cell.strip().lower() for cell in row)
    valid = ", ".join(CSV_COLUMNS)
    for position, name in enumerate(header, start=1):
        if not name:
            raise UserError(f"{path}: column {position} of the header has no name.")
        if name not in CSV_COLUMNS:
            raise UserError(f"{path}: unknown column `{name}` in the header. Valid: {valid}.")
        if header.count(name) > 1:
            raise UserError(f"{path}: the column `{name}` appears twice in the header.")
    if not {"name", "first_name", "surname"} & set(header):
        raise UserError(f"{path}: the header needs a `name` column (or first_name and surname).")
    return header


@contextmanager
def _open(path: Path) -> Iterator[IO[str]]:
    """UTF-8, with or without the byte-order mark that spreadsheets write."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield handle


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (line the record starts on, cells) for each non-blank row after the header."""
    with _open(path) as handle:
        reader = csv.reader(handle)
        line = 0
        try:
            next(reader)
            line = reader.line_num + 1
            for cells in reader:
                start, line = line, reader.line_num + 1
                if any(cell.strip() for cell in cells):
                    yield start, cells
        except (csv.Error, UnicodeDecodeError) as error:
            raise UserError(f"{path}, line {line}: the file cannot be read ({error}).") from None


def _count_rows(path: Path) -> int:
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
    no = values.pop("no", "").strip().upper() or None
    if no is not None:
        _check_length("no", no)
    type_cell = values.pop("type", "")
    fields = {name: value for name, value in values.items() if value.strip()}
    return _Row(_kind(type_cell, fields), no, fields)


def _kind(cell: str, fields: dict[str, str]) -> ContactType:
    text = cell.strip().lower()
    if not text:
        person = any(name in fields for name in PERSON_ONLY_FIELDS)
        return ContactType.PERSON if person else ContactType.COMPANY
    try:
        return ContactType(text)
    except ValueError:
        raise UserError(f"type: `{cell.strip()}` is not company or person.") from None


def _kind_of(header: Sequence[str], cells: list[str]) -> ContactType | None:
    """The row's kind, or None when the row cannot even say that (it fails in either pass)."""
    try:
        return _parse(header, cells).kind
    except UserError:
        return None


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


@dataclass
class _Validation:
    """Everything the two passes learn: good companies, failures, numbers claimed."""

    header: tuple[str, ...]
    companies: list[_Draft] = field(default_factory=list)
    company_at: dict[int, _Draft] = field(default_factory=dict)  # line -> good company
    failures: list[Failure] = field(default_factory=list)
    claims: dict[str, int] = field(default_factory=dict)  # explicit no -> first line
    taken: set[str] = field(default_factory=set)  # explicit nos already in the database
    number_failures: dict[int, str] = field(default_factory=dict)  # company line -> reason
    finder: _Companies = field(default_factory=_Companies)
    good: int = 0
    needs_number: int = 0

    def fail(self, line: int, reason: str, cells: list[str]) -> None:
        self.failures.append(Failure(line, reason, cells))

    def check_no(self, no: str | None, line: int) -> None:
        if no is None:
            return
        if no in self.taken:
            raise UserError(f"The number {no} is taken already.")
        if self.claims[no] != line:
            raise UserError(f"The number {no} is on line {self.claims[no]} already.")


def _build(session: Session, row: _Row, finder: _Companies, line: int) -> _Draft:
    draft = build_contact(session, row.kind, row.fields, new=_Draft, find_company=finder.find)
    assert isinstance(draft, _Draft)
    draft.no = row.no
    draft.line = line
    return draft


def _pass_companies(
    session: Session, path: Path, state: _Validation, progress: Progress, total: int
) -> None:
    """First pass: validate company rows, and note which numbers each row claims."""
    progress.stage("Checking companies", total)
    for count, (line, cells) in enumerate(_records(path), start=1):
        if count % 1000 == 0:
            progress.advance(1000)
        try:
            row = _parse(state.header, cells)
        except UserError:
            continue  # reported in the second pass, in file order
        if row.no is not None:
            state.claims.setdefault(row.no, line)
        if row.kind is not ContactType.COMPANY:
            continue
        try:
            state.company_at[line] = _build(session, row, state.finder, line)
        except UserError as error:
            state.fail(line, error.message, cells)
            state.finder.note_failed(line, row.no, row.fields.get("name", ""))


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


def _taken_in_database(session: Session, numbers: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(numbers), 1000):
        chunk = numbers[start : start + 1000]
        taken.update(session.scalars(select(_TABLE.c.no).where(_TABLE.c.no.in_(chunk))))
    return taken


def _pass_persons(
    session: Session,
    path: Path,
    state: _Validation,
    progress: Progress,
    total: int,
    spill: _Spill,
) -> None:
    """Second pass, in file order: validate persons, and give every good row its place in
    the number series (its sequence among the good rows without a number of their own)."""
    progress.stage("Checking persons", total)
    for count, (line, cells) in enumerate(_records(path), start=1):
        if count % 1000 == 0:
            progress.advance(1000)
        company = state.company_at.get(line)
        if company is not None:
            company.seq = _place_in_series(state, company.no)
            continue
        try:
            row = _parse(state.header, cells)
            if row.kind is ContactType.COMPANY:  # failed in the first pass
                if line in state.number_failures:
                    state.fail(line, state.number_failures[line], cells)
                continue
            state.check_no(row.no, line)
            person = _build(session, row, state.finder, line)
        except UserError as error:
            state.fail(line, error.message, cells)
            continue
        spill.add(_person_entry(person, _place_in_series(state, row.no)))


def _place_in_series(state: _Validation, no: str | None) -> int:
    state.good += 1
    if no is not None:
        return -1
    state.needs_number += 1
    return state.needs_number - 1


def _person_entry(person: _Draft, seq: int) -> tuple[Any, ...]:
    company = person.company
    if company is None:
        index, company_id = -1, None
    elif isinstance(company, _Draft):
        index, company_id = company.index, None
    else:
        index, company_id = -1, company.id
    return (seq, person.no, index, company_id, *person.values())


class _Spill:
    """Validated persons parked in a temporary file until the companies are written."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(prefix="contactbot-import-")  # noqa: SIM115 (closed by close())
        self.batch: list[tuple[Any, ...]] = []
        self.count = 0

    def add(self, entry: tuple[Any, ...]) -> None:
        self.batch.append(entry)
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            marshal.dump(self.batch, self.file)
            self.count += len(self.batch)
            self.batch = []

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        self.flush()
        self.file.seek(0)
        while True:
            try:
                yield marshal.load(self.file)
            except EOFError:
                return

    def close(self) -> None:
        self.file.close()


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
            taken = also_taken | _taken_in_database(session, candidates)
            numbers += [candidate for candidate in candidates if candidate not in taken]
            number += wanted
        series.last_number = number - 1
    return numbers


def _insert(
    store: Store, state: _Validation, spill: _Spill, numbers: list[str], progress: Progress
) -> None:
    """Write every good row in one transaction: companies, then persons."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    progress.stage("Writing", state.good)
    with store.engine.begin() as connection:
        ids = _insert_companies(connection, state.companies, numbers, now, progress)
        for batch in spill.batches():
            rows = [_person_row(entry, ids, numbers, now) for entry in batch]
            connection.execute(insert(_TABLE), rows)
            progress.advance(len(rows))


def _insert_companies(
    connection: Connection,
    companies: list[_Draft],
    numbers: list[str],
    now: dt.datetime,
    progress: Progress,
) -> list[int]:
    statement = insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for start in range(0, len(companies), BATCH):
        rows = [
            _row(
                company.values(),
                company.no or numbers[company.seq],
                ContactType.COMPANY,
                None,
                now,
            )
            for company in companies[start : start + BATCH]
        ]
        ids += connection.execute(statement, rows).scalars().all()
        progress.advance(len(rows))
    return ids


def _person_row(
    entry: tuple[Any, ...], company_ids: list[int], numbers: list[str], now: dt.datetime
) -> dict[str, Any]:
    seq, no, index, company_id = entry[:4]
    if index >= 0:
        company_id = company_ids[index]
    return _row(entry[4:], no or numbers[seq], ContactType.PERSON, company_id, now)


def _row(
    values: Sequence[Any], no: str, kind: ContactType, company_id: int | None, now: dt.datetime
) -> dict[str, Any]:
    row = dict(zip(_CARRIED, values, strict=True))
    row.update(no=no, type=kind, company_id=company_id, created_at=now, modified_at=now)
    return row


def _write_report(path: Path, header: Sequence[str], failures: list[Failure]) -> Path | None:
    """Write the failed rows beside the input (removing a stale report when none failed)."""
    target = report_path(path)
    if not failures:
        target.unlink(missing_ok=True)
        return None
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "reason", *header])
        for failure in sorted(failures, key=lambda f: f.line):
            writer.writerow([failure.line, failure.reason, *failure.cells])
    return target


# --- the command --------------------------------------------------------------------------


def import_contacts(
    store: Store,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the contacts of the CSV file at `path`; see the module docstring."""
    progress = progress or NoProgress()
    header = read_header(path)
    total = _count_rows(path)
    state = _Validation(header)
    spill = _Spill()
    try:
        _validate(store, path, state, progress, total, spill)
        result = ImportResult(path, dry_run, created=state.good, failed=len(state.failures))
        result.report = _write_report(path, header, state.failures)
        if not dry_run and state.good:
            _write(store, state, spill, progress, result)
    finally:
        spill.close()
    return result


def _validate(
    store: Store, path: Path, state: _Validation, progress: Progress, total: int, spill: _Spill
) -> None:
    """Both passes in one read-only session, with every code table and the setup held in it
    so that each lookup is an identity-map hit, not a query."""
    with store.session() as session, session.no_autoflush:
        held = [get_setup(session), *_load_code_tables(session)]
        _pass_companies(session, path, state, progress, total)
        _settle_companies(session, state)
        _pass_persons(session, path, state, progress, total, spill)
        session.rollback()
        del held


def _load_code_tables(session: Session) -> list[object]:
    return [row for table in CODE_TABLES.values() for row in table.all(session)]


def _write(
    store: Store, state: _Validation, spill: _Spill, progress: Progress, result: ImportResult
) -> None:
    numbers = _reserve_numbers(store, state.needs_number, set(state.claims))
    try:
        _insert(store, state, spill, numbers, progress)
    except Exception as error:
        log.exception("import of %s failed while writing", result.path)
        raise UserError(
            f"{result.path}: writing to the database failed ({type(error).__name__}: "
            f"{_first_line(error)}). Nothing of the file was imported; fix the cause and run "
            "the import again."
        ) from None
    if numbers:
        result.numbers = (numbers[0], numbers[-1])


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]


__all__ = ["ImportResult", "NoProgress", "Progress", "import_contacts", "read_header"]
