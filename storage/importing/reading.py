"""Reading an import file: the header row and the records after it, with their line numbers."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from storage.errors import UserError
from storage.spreadsheet import restore


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
