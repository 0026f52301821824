"""`dupes export --format csv`: the open pairs as `contact_no_1,contact_no_2,score`.

A number series may have any prefix (`setup number_prefix=…`), so numbers are written
formula-safe (storage/spreadsheet.py) like every CSV export."""

from __future__ import annotations

import csv
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from storage.duplicates.models import OPEN, DupePair
from storage.models import Contact
from storage.spreadsheet import neutralise

HEADER = ("contact_no_1", "contact_no_2", "score")


def export_pairs(session: Session, out: TextIO, fmt: str = "csv") -> int:
    """Write the open pairs (lower number first, best score first); returns how many."""
    if fmt != "csv":
        raise ValueError(f"unknown format {fmt}")
    one, two = aliased(Contact), aliased(Contact)
    rows = session.execute(
        select(one.no, two.no, DupePair.score)
        .join(one, one.id == DupePair.contact_id_1)
        .join(two, two.id == DupePair.contact_id_2)
        .where(DupePair.status == OPEN)
        .order_by(DupePair.score.desc(), one.no, two.no)
        .execution_options(yield_per=10_000)
    )
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    count = 0
    for no_1, no_2, score in rows:
        first, second = sorted((no_1, no_2))
        writer.writerow((neutralise(first), neutralise(second), f"{score:g}"))
        count += 1
    return count
