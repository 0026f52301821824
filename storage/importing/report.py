"""The reject report: `<stem>.errors.csv` beside the input, one row per refused row (line,
reason, the row's cells as they were), every cell made inert for spreadsheets."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from storage.spreadsheet import neutralise


@dataclass(frozen=True)
class Failure:
    line: int
    reason: str
    cells: list[str]


def report_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.errors.csv")


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
