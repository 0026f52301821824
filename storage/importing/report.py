"""The reject report: `<stem>.errors.csv` beside the input, one row per refused row and per
value left out of an imported row: line, outcome (`refused`, or `imported without it`),
field, value, reason, then the row's cells as they were; every cell made inert for
spreadsheets. A left-out value of a row that was refused later is not listed: the row is."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from storage.spreadsheet import neutralise

REFUSED = "refused"
LEFT_OUT = "imported without it"


@dataclass(frozen=True)
class Failure:
    """A refused row (refused=True) or a value left out of an imported one."""

    line: int
    reason: str
    cells: list[str]
    field: str = ""
    value: str = ""
    refused: bool = True


@dataclass(frozen=True)
class Outcome:
    """How many rows were refused, and how many imported rows lost a value."""

    refused: int
    left_out: int
    listed: list[Failure]


def tally(failures: list[Failure]) -> Outcome:
    """What the report lists, in line order, and the counts for the summary."""
    refused = {failure.line for failure in failures if failure.refused}
    listed = [f for f in failures if f.refused or f.line not in refused]
    left_out = {failure.line for failure in listed if not failure.refused}
    return Outcome(len(refused), len(left_out), sorted(listed, key=lambda f: f.line))


def report_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.errors.csv")


def write_report(path: Path, header: Sequence[str], failures: list[Failure]) -> Path | None:
    """Write the report beside the input (removing a stale one when there is nothing to say)."""
    target = report_path(path)
    listed = tally(failures).listed
    if not listed:
        target.unlink(missing_ok=True)
        return None
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "outcome", "field", "value", "reason", *header])
        for failure in listed:
            outcome = REFUSED if failure.refused else LEFT_OUT
            cells = [failure.field, failure.value, failure.reason, *failure.cells]
            writer.writerow([failure.line, outcome, *map(neutralise, cells)])
    return target
