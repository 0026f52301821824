"""Contact numbers for the rows of an import: taken from the series in one short
transaction, skipping those already on a contact or claimed by a row of the file."""

from __future__ import annotations

from itertools import groupby

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.database import Store
from storage.errors import UserError
from storage.importing.rows import MAX_NO_LENGTH, TABLE
from storage.numbering import format_number, get_series

# --- numbers and writing ------------------------------------------------------------------


def reserve_numbers(store: Store, count: int, also_taken: set[str]) -> list[str]:
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
    """Which of the consecutive `candidates` are on a contact: one range query per run of
    candidates of the same length (within one, text order is number order). A million
    numbers cross a width (CT999999, CT1000000): asking by lists of a thousand instead cost
    PostgreSQL 12 s there."""
    taken: set[str] = set()
    for _length, run in groupby(candidates, key=len):
        same = list(run)
        query = select(TABLE.c.no).where(TABLE.c.no.between(same[0], same[-1]))
        wanted = set(same)
        taken.update(no for no in session.scalars(query) if no in wanted)
    return taken


def taken_in_database(session: Session, numbers: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(numbers), 1000):
        chunk = numbers[start : start + 1000]
        taken.update(session.scalars(select(TABLE.c.no).where(TABLE.c.no.in_(chunk))))
    return taken
