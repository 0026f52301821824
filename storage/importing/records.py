"""`contactbot import customers|vendors|bank-accounts|employees FILE.csv`.

The header names the record's fields in snake case (storage.relations.records.RECORD_FIELDS;
`currency` for customers and vendors only) and `no` for its number; a blank `no` takes the next
of the kind's series. Each row is checked by the code behind `customer new` (same messages),
and, while the setup's `auto_contact` is on, gets a company contact linked to it, as Business
Central gives a new customer one. Each row is written in a savepoint, so a bad row leaves no
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
from storage.importing.progress import NoProgress, Progress
from storage.importing.reading import count_rows, read_columns, read_records
from storage.importing.report import Failure, write_report
from storage.models import RecordKind
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
    failed: int = 0
    report: Path | None = None

    def summary(self) -> str:
        plural = spec(self.kind).plural.replace("-", " ")
        verb = "would be created" if self.dry_run else "created"
        text = f"{self.path.name}: {self.created} {plural} {verb}"
        if self.contacts:
            text += f" ({self.contacts} with a new contact"
            text += f", {self.duplicates} possibly duplicates)" if self.duplicates else ")"
        text += f", {self.failed} rows failed."
        if self.report is not None:
            text += f" Failed rows with line and reason: {self.report}."
        if self.dry_run:
            text += " Dry run: nothing was written to the database."
        return text


def read_record_header(path: Path, kind: RecordKind) -> tuple[str, ...]:
    """The file's columns, refused as a whole when one is not a field of the kind."""
    columns = ("no", *(RECORD_FIELDS if spec(kind).has_currency else SHARED_FIELDS))
    header = read_columns(path, columns)
    if "name" not in header:
        raise UserError(f"{path}: the header needs a `name` column.")
    return header


def _import_row(
    session: Session, kind: RecordKind, header: tuple[str, ...], cells: list[str], auto: bool
) -> tuple[bool, bool]:
    """Write one row; returns (got a contact, that contact has possible duplicates)."""
    if len(cells) > len(header):
        raise UserError(f"the row has {len(cells)} cells; the header names {len(header)}.")
    values = dict(zip(header, cells, strict=False))
    for name, cell in values.items():  # a NUL must not reach PostgreSQL (it aborts the row)
        check_text(name, cell, multiline=True)
    no = values.pop("no", "").strip() or None
    fields = {name: value for name, value in values.items() if value.strip()}
    record = create_record(session, kind, fields, no=no)
    if not auto:
        return False, False
    contact = contact_for_record(session, record)
    return True, bool(reported_pairs(session, contact))


def import_records(
    store: Store,
    kind: RecordKind,
    path: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> RecordImportResult:
    header = read_record_header(path, kind)
    progress = progress or NoProgress()
    result = RecordImportResult(path, kind, dry_run)
    failures: list[Failure] = []
    progress.stage(f"Importing {spec(kind).plural}", count_rows(path))
    with store.session() as session, session.begin() as transaction:
        # Takes the kind's series (on SQLite: the write lock) before the first savepoint: SQLite
        # commits an outermost savepoint on release, which would undo the dry run's rollback.
        record_series(session, kind)
        setup = get_setup(session)
        auto = bool(setup.auto_contact and setup.contact_series)
        for line, cells in read_records(path):
            try:
                with session.begin_nested():
                    contact, duplicate = _import_row(session, kind, header, cells, auto)
            except UserError as error:
                failures.append(Failure(line, error.message, cells))
            else:
                result.created += 1
                result.contacts += contact
                result.duplicates += duplicate
            progress.advance(1)
        if dry_run:
            transaction.rollback()
    result.failed = len(failures)
    result.report = write_report(path, header, failures)
    return result
