"""Importing contacts from a CSV file: `contactbot import contacts FILE.csv [--dry-run]`
(and from a vCard file, read into the same rows by storage/importing/vcard.py).

The file: its encoding and delimiter are detected (storage/importing/reading.py); a header row
names the columns, matched to the contact fields (storage/importing/headers.py: field names,
card labels, Business Central's captions, Outlook's and Google's headers). A column matching
no field is skipped and named in the summary; a header with no name column, or two columns for
one field, refuses the whole file before any row is read. A blank cell means "not given", so
the setup's defaults and the company's inheritance fill it exactly as for `new`.

A bad value costs that value, not the row (storage/importing/salvage.py): the row is imported
without the field and the report lists line, field, value and reason. A row is refused whole
when it cannot be a contact (no name or a bad one, a person whose company cannot be found, a
number that is taken, more cells than the header); `strict` refuses it for any bad value.

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
   (their persons need their ids), then persons. See writer.py for how (COPY on PostgreSQL);
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

Refused rows and left-out values are written to `<stem>.errors.csv` beside the input
(storage/importing/report.py): line (the physical line the row starts on; the header is line
1), outcome, field, value, reason, then the row's cells as they were. A dry run validates the
same way and writes that report, but nothing to the database.

Duplicate keys: the store rules' parts in the import (storage.rules.BulkImport; the duplicates
plugin's is storage/duplicates/bulk.py) see each good row in the validation workers and each
batch as it is written, in the same transaction, so imported contacts are offered as
duplicates of what is typed next with no `dupes scan` in between.

Validated persons wait for step 4 in temporary files (marshal, one per worker), so memory
holds the companies of the file but not its persons.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from storage.database import Store
from storage.errors import UserError
from storage.importing.headers import HeaderMap
from storage.importing.numbers import reserve_numbers
from storage.importing.progress import NoProgress, Progress
from storage.importing.reading import (
    count_rows,
    detect_format,
    read_raw_records,
    restore_cells,
)
from storage.importing.report import Failure, tally, write_report
from storage.importing.rows import read_header
from storage.importing.validation import Job, Validation, default_workers, validate
from storage.importing.writer import insert_rows
from storage.rules import BulkImport

log = logging.getLogger(__name__)


@dataclass
class ImportResult:
    """What an import did, for the summary line and the exit status."""

    path: Path
    dry_run: bool
    created: int = 0
    failed: int = 0  # rows refused
    left_out: int = 0  # imported rows that lost a value a check refused
    report: Path | None = None
    numbers: tuple[str, str] | None = None  # the first and last number taken from the series
    note: str = ""  # the columns skipped, the file's format

    def summary(self) -> str:
        verb = "would be created" if self.dry_run else "created"
        text = f"{self.path.name}: {self.created} contacts {verb}"
        if self.left_out:
            text += f" ({self.left_out} without a value that was refused)"
        text += f", {self.failed} rows refused"
        if self.numbers and not self.dry_run:
            text += f" (new numbers {self.numbers[0]}–{self.numbers[1]})"
        text += "."
        text += self.note
        if self.report is not None:
            text += f" Line, field, value and reason of each: {self.report}."
        if self.dry_run:
            text += " Dry run: nothing was written to the database."
        return text


@dataclass(frozen=True)
class Table:
    """What an import reads, whatever the file: the header matched to fields, the records
    after it as (line, cells), and the header cells the reject report repeats."""

    header: HeaderMap
    records: Callable[[], Iterator[tuple[int, list[str]]]]
    note: str = ""
    #: What makes a record's cells its values (a CSV's formula guard taken off), applied only
    #: to the records a worker checks: every worker reads them all.
    clean: Callable[[list[str]], list[str]] = list
    rows: int | None = None  # how many records (counted from the file's lines when None)
    refused: tuple[Failure, ...] = ()  # records refused while reading (a vCard unreadable)


def csv_table(path: Path, encoding: str | None = None, delimiter: str | None = None) -> Table:
    """A CSV file as a Table: its encoding and delimiter detected unless given."""
    fmt = detect_format(path, encoding, delimiter)
    header = read_header(path, fmt)
    return Table(
        header, partial(read_raw_records, path, fmt), header.unknown_note(), clean=restore_cells
    )


# --- the command --------------------------------------------------------------------------


def import_contacts(
    store: Store,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    strict: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
    table: Table | None = None,
) -> ImportResult:
    """Import the contacts of the CSV file at `path`; see the module docstring.

    `strict`: a bad value refuses its row (by default the row is imported without it).
    `encoding`, `delimiter`: the file's, when detecting them is not wanted. `table`: the file
    read already as rows (the vCard import); `path` then only names it and its report.
    `workers`: processes that validate (default: one per CPU, up to MAX_WORKERS, for files of
    PARALLEL_FROM rows or more; one below that).
    """
    table = table or csv_table(path, encoding, delimiter)
    total = count_rows(path) if table.rows is None else table.rows
    parts = [] if dry_run else _rule_parts(store, total)
    with tempfile.TemporaryDirectory(prefix="contactbot-import-") as spill_dir:
        job = Job(
            store,
            path,
            Validation(table.header, table.records, table.clean, strict=strict, parts=parts),
            workers or default_workers(total),
            progress or NoProgress(),
            Path(spill_dir),
            total,
        )
        chunks = validate(job)
        state = job.state
        state.failures += table.refused
        outcome = tally(state.failures)
        result = ImportResult(
            path,
            dry_run,
            created=state.good,
            failed=outcome.refused,
            left_out=outcome.left_out,
            note=table.note,
        )
        result.report = write_report(path, table.header.cells, state.failures)
        if not dry_run and state.good:
            _write(job, chunks, result)
    return result


def _write(job: Job, chunks: list[int], result: ImportResult) -> None:
    started = time.perf_counter()
    numbers = reserve_numbers(job.store, job.state.needs_number, set(job.state.claims))
    log.debug("%d numbers taken in %.1f s", len(numbers), time.perf_counter() - started)
    try:
        insert_rows(job, chunks, numbers)
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


def _rule_parts(store: Store, rows: int) -> list[BulkImport]:
    """The store rules' parts in this import (the duplicates plugin keys each row as it is
    validated and writes its keys with its batch): the rows pass no per-contact create rule."""
    hooks = store.rules.bulk_import
    if not hooks:
        return []
    with store.session() as session:
        return [part for hook in hooks if (part := hook(session, rows)) is not None]


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]


__all__ = ["ImportResult", "Table", "csv_table", "import_contacts"]
