"""Number series: `CT000001`, `CT000002`, … with prefix, width and start from the setup.

One number (a `new` contact, a new customer, …) is claimed with UPDATE … RETURNING
(take_number), which locks the series row until commit, so parallel creates never get the
same number. A bulk import reads the series with `get_series(lock=True)` and moves it on once:
SELECT … FOR UPDATE on PostgreSQL; on SQLite, which ignores FOR UPDATE and whose driver starts
a transaction only at the first write, a no-op UPDATE of the series row first takes the
database's write lock, so the row read next is the newest one and stays so until commit.
Numbers already taken (typed by hand or imported) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from storage.errors import UserError
from storage.models import Contact, NumberSeries

CONTACT_SERIES = "CONTACT"


def get_series(session: Session, code: str = CONTACT_SERIES, *, lock: bool = False) -> NumberSeries:
    """Return the series row, creating the default one on first use."""
    query = select(NumberSeries).where(NumberSeries.code == code)
    if lock:
        if session.get_bind().dialect.name == "sqlite":
            session.execute(
                update(NumberSeries)
                .where(NumberSeries.code == code)
                .values(last_number=NumberSeries.last_number)
                .execution_options(synchronize_session=False)
            )
        query = query.with_for_update().execution_options(populate_existing=True)
    series = session.scalars(query).one_or_none()
    if series is None:
        series = NumberSeries(code=code, prefix="CT", width=6, start=1, last_number=0)
        session.add(series)
        session.flush()
        if lock:
            series = session.scalars(query).one()
    return series


def format_number(series: NumberSeries, number: int) -> str:
    return f"{series.prefix}{number:0{series.width}d}"


def _claim_next(session: Session, code: str) -> NumberSeries | None:
    """Move the series on to its next number in one UPDATE … RETURNING, which also takes the
    row's lock (PostgreSQL) or the database's write lock (SQLite) until commit; None when
    the series does not exist yet."""
    following = NumberSeries.last_number + 1
    claim = (
        update(NumberSeries)
        .where(NumberSeries.code == code)
        .values(
            last_number=case((following < NumberSeries.start, NumberSeries.start), else_=following)
        )
        .returning(NumberSeries)
    )
    return session.scalars(claim, execution_options={"populate_existing": True}).one_or_none()


def take_number(
    session: Session,
    code: str,
    is_taken: Callable[[str], bool],
    new_series: Callable[[], NumberSeries],
) -> str:
    """Take the next free number of the series `code`, skipping numbers `is_taken` (typed by
    hand or imported); `new_series` gives the series on first use (it is added to the session).

    One record at a time is the common path, so this is two statements when the number is
    free: the claim and the `is_taken` check.
    """
    series = _claim_next(session, code)
    if series is None:
        session.add(new_series())
        session.flush()
        series = _claim_next(session, code)
        assert series is not None
    number = series.last_number
    while True:
        candidate = format_number(series, number)
        if len(candidate) > 20:
            hint = " with `setup number_prefix=… number_width=…`" if code == CONTACT_SERIES else ""
            raise UserError(
                f"The number series {series.code} has run past 20 characters at {candidate}. "
                f"Set a shorter prefix or width{hint}."
            )
        if not is_taken(candidate):
            break
        number += 1
    if number != series.last_number:
        series.last_number = number
    return candidate


def next_contact_no(session: Session) -> str:
    """Take the next free contact number, skipping numbers already on a contact."""

    def on_a_contact(no: str) -> bool:
        return session.scalar(select(Contact.id).where(Contact.no == no)) is not None

    return take_number(session, CONTACT_SERIES, on_a_contact, lambda: get_series(session))
