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

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from storage.database import Store
from storage.errors import UserError
from storage.importing.numbers import reserve_numbers
from storage.importing.progress import NoProgress, Progress
from storage.importing.reading import count_rows
from storage.importing.report import write_report
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
        job = Job(
            store,
            path,
            Validation(header, parts=[] if dry_run else _rule_parts(store, total)),
            workers or default_workers(total),
            progress or NoProgress(),
            Path(spill_dir),
            total,
        )
        chunks = validate(job)
        state = job.state
        result = ImportResult(path, dry_run, created=state.good, failed=len(state.failures))
        result.report = write_report(path, header, state.failures)
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


__all__ = ["ImportResult", "import_contacts"]
