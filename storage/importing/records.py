"""`contactbot import customers|vendors|bank-accounts|employees FILE.csv`.

The header names the record's fields (storage.relations.records.RECORD_FIELDS; `currency`
for customers and vendors only) and `no` for its number, matched as the contact import matches
them (field names, Business Central's captions such as `No.`, `Phone No.`, `E-Mail`; encoding
and delimiter detected); a blank `no` takes the next of the kind's series. A bad value is left
out of its row (the row imported without it, listed in the report) unless `--strict`.

Each row is checked by the code behind `customer new` (same messages), and, while the setup's
`auto_contact` is on, gets a company contact linked to it, as Business Central gives a new
customer one. Each row is written in a savepoint, so a bad row leaves no
trace and the good ones are kept; failed rows go to `<file>.errors.csv` with their line and
reason, by the contact import's own reading and reporting (storage.importing). A dry run
checks every row the same way and writes nothing to the database.

Records come by the thousand, not the million, so rows go through the ORM one by one rather
than the contact import's bulk writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from storage.database import Store
from storage.duplicates.rules import reported_pairs
from storage.errors import UserError
from storage.importing.headers import HeaderMap, match_header
from storage.importing.progress import NoProgress, Progress
from storage.importing.reading import (
    FileFormat,
    count_rows,
    detect_format,
    read_header_cells,
    read_records,
)
from storage.importing.report import Failure, tally, write_report
from storage.importing.rows import checked_fields
from storage.importing.salvage import Dropped, salvage
from storage.models import BusinessRecord, RecordKind
from storage.relations.kinds import spec
from storage.relations.links import contact_for_record
from storage.relations.records import RECORD_FIELDS, SHARED_FIELDS, create_record, record_series
from storage.setup import get_setup
from storage.text import check_text


@dataclass
class RecordImportResult:
    path: Path
    kind: RecordKind
    dry_run: bool
    created: int = 0
    contacts: int = 0
    duplicates: int = 0
    failed: int = 0  # rows refused
    left_out: int = 0  # imported rows that lost a value a check refused
    report: Path | None = None
    note: str = ""  # the columns skipped

    def summary(self) -> str:
        plural = spec(self.kind).plural.replace("-", " ")
        verb = "would be created" if self.dry_run else "created"
        text = f"{self.path.name}: {self.created} {plural} {verb}"
        if self.contacts:
            text += f" ({self.contacts} with a new contact"
            text += f", {self.duplicates} possibly duplicates)" if self.duplicates else ")"
        if self.left_out:
            text += f", {self.left_out} without a value that was refused"
        text += f", {self.failed} rows refused."
        text += self.note
        if self.report is not None:
            text += f" Line, field, value and reason of each: {self.report}."
        if self.dry_run:
            text += " Dry run: nothing was written to the database."
        return text


def read_record_header(path: Path, kind: RecordKind, fmt: FileFormat) -> HeaderMap:
    """The file's columns matched to the kind's fields (storage/importing/headers.py)."""
    columns = ("no", *(RECORD_FIELDS if spec(kind).has_currency else SHARED_FIELDS))
    cells = read_header_cells(path, fmt, ",".join(columns[:4]) + ",…")
    header = match_header(path, cells, columns)
    if "name" not in header.fields:
        raise UserError(f"{path}: the header needs a `name` column (Business Central: Name).")
    return header


def _import_row(
    session: Session,
    kind: RecordKind,
    header: HeaderMap,
    cells: list[str],
    auto: bool,
    strict: bool,
) -> tuple[bool, bool, list[Dropped]]:
    """Write one row; returns (got a contact, that contact has possible duplicates, the
    values left out)."""
    width = len(header.cells)
    if len(cells) > width:
        raise UserError(f"the row has {len(cells)} cells; the header names {width}.")
    values = {name: cell for name, (cell, _at) in header.values(cells).items()}
    no = values.pop("no", "").strip() or None
    if no is not None:
        check_text("no", no)

    def build(fields: dict[str, str]) -> BusinessRecord:
        with session.begin_nested():  # a refused try leaves nothing behind
            return create_record(session, kind, checked_fields(fields), no=no)

    record, dropped = salvage(build, values, protected=("name",), strict=strict)
    if not auto:
        return False, False, dropped
    contact = contact_for_record(session, record)
    return True, bool(reported_pairs(session, contact)), dropped


def import_records(
    store: Store,
    kind: RecordKind,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    strict: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> RecordImportResult:
    """Import the records of the CSV file at `path` (see the module docstring); `strict`: a
    bad value refuses its row instead of being left out."""
    fmt = detect_format(path, encoding, delimiter)
    header = read_record_header(path, kind, fmt)
    progress = progress or NoProgress()
    result = RecordImportResult(path, kind, dry_run, note=header.unknown_note())
    failures: list[Failure] = []
    progress.stage(f"Importing {spec(kind).plural}", count_rows(path))
    with store.session() as session, session.begin() as transaction:
        # Takes the kind's series (on SQLite: the write lock) before the first savepoint: SQLite
        # commits an outermost savepoint on release, which would undo the dry run's rollback.
        record_series(session, kind)
        setup = get_setup(session)
        auto = bool(setup.auto_contact and setup.contact_series)
        for line, cells in read_records(path, fmt):
            try:
                with session.begin_nested():
                    contact, duplicate, dropped = _import_row(
                        session, kind, header, cells, auto, strict
                    )
            except UserError as error:
                failures.append(Failure(line, error.message, cells))
            else:
                result.created += 1
                result.contacts += contact
                result.duplicates += duplicate
                failures += [
                    Failure(line, d.reason, cells, d.field, d.value, refused=False) for d in dropped
                ]
            progress.advance(1)
        if dry_run:
            transaction.rollback()
    outcome = tally(failures)
    result.failed, result.left_out = outcome.refused, outcome.left_out
    result.report = write_report(path, header.cells, failures)
    return result
