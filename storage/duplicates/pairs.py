"""Reading and marking pairs: the open pairs (of one contact or all), "separate contacts",
and the check that `new` and `set` run."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from storage.duplicates.index import data_from_contact, ordered, refresh_contact, write_keys
from storage.duplicates.matcher import Matcher
from storage.duplicates.models import OPEN, SEPARATE, DupePair
from storage.duplicates.settings import get_settings
from storage.errors import UserError
from storage.models import Contact


@dataclass(frozen=True)
class Pair:
    """A stored pair as people see it."""

    id: int
    no_1: str
    name_1: str
    no_2: str
    name_2: str
    score: float
    why: str
    status: str
    method: str
    created_at: dt.datetime

    def other(self, no: str) -> tuple[str, str]:
        """(number, name) of the side that is not `no`."""
        return (self.no_2, self.name_2) if no == self.no_1 else (self.no_1, self.name_1)

    def describe(self, no: str) -> str:
        """`possible duplicate of CT000123 Acme Holding B.V. (score 97, name 100%, phone same)`."""
        other_no, other_name = self.other(no)
        return f"possible duplicate of {other_no} {other_name} (score {self.score:.0f}, {self.why})"


def _why(text: str) -> str:
    try:
        return str(json.loads(text).get("why", ""))
    except (ValueError, AttributeError):
        return text


#: The two contacts of a pair, as PAIR_QUERY joins them (storage.duplicates.owned adds their
#: salespeople to the same statement).
PAIR_ONE, PAIR_TWO = aliased(Contact), aliased(Contact)
#: Built once: building a statement with two aliases costs more than running it. Its first
#: ten columns are what `pair_from_row` reads.
PAIR_QUERY = (
    select(
        DupePair.id,
        PAIR_ONE.no,
        PAIR_ONE.name,
        PAIR_TWO.no,
        PAIR_TWO.name,
        DupePair.score,
        DupePair.why,
        DupePair.status,
        DupePair.method,
        DupePair.created_at,
    )
    .join(PAIR_ONE, PAIR_ONE.id == DupePair.contact_id_1)
    .join(PAIR_TWO, PAIR_TWO.id == DupePair.contact_id_2)
)


def pair_from_row(row: Sequence[Any]) -> Pair:
    """A Pair from the first ten columns of a PAIR_QUERY row."""
    id_, no_1, name_1, no_2, name_2, score, why, status, method, created_at = row[:10]
    return Pair(id_, no_1, name_1, no_2, name_2, score, _why(why), status, method, created_at)


def list_pairs(
    session: Session,
    contact: Contact | None = None,
    *,
    status: str = OPEN,
    limit: int | None = 50,
    since: dt.datetime | None = None,
) -> list[Pair]:
    """Pairs (open by default), best first; only those of `contact` when given."""
    if contact is None:
        statement = PAIR_QUERY.where(DupePair.status == status)
    else:
        # The contact's few pairs come from the indexes on its two columns. Compared as a plain
        # column, status would let SQLite pick its index instead and read every open pair (the
        # check on `new` took 140 ms with a million contacts); through coalesce it cannot.
        statement = PAIR_QUERY.where(
            or_(DupePair.contact_id_1 == contact.id, DupePair.contact_id_2 == contact.id),
            func.coalesce(DupePair.status, "") == status,
        )
    if since is not None:
        statement = statement.where(DupePair.created_at > since)
    statement = statement.order_by(DupePair.score.desc(), DupePair.id)
    if limit is not None:
        statement = statement.limit(limit)
    return [pair_from_row(row) for row in session.execute(statement)]


def count_pairs(session: Session, status: str = OPEN) -> int:
    return int(
        session.scalar(select(func.count()).select_from(DupePair).where(DupePair.status == status))
        or 0
    )


def mark_separate(session: Session, a: Contact, b: Contact) -> DupePair:
    """Business Central's "Separate Contacts": this pair is not a duplicate, for good."""
    if a.id == b.id:
        raise UserError(f"{a.no} is one contact; name two different contacts.")
    low, high = ordered(a.id, b.id)
    pair = session.scalars(
        select(DupePair).where(DupePair.contact_id_1 == low, DupePair.contact_id_2 == high)
    ).one_or_none()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if pair is None:
        pair = DupePair(
            contact_id_1=low,
            contact_id_2=high,
            score=0.0,
            method="",
            why=json.dumps({"why": "marked separate", "fields": []}),
            created_at=now,
        )
        session.add(pair)
    pair.status = SEPARATE
    pair.updated_at = now
    session.flush()
    return pair


def check_new_contact(session: Session, contact: Contact) -> list[Pair]:
    """Keep the contact's keys current and return its open possible duplicates, best first.

    Called after `new` and `set` (the contact is written already). With "autosearch" off the
    keys are still kept current (when "maintain keys" is on) but nothing is reported."""
    settings = get_settings(session)
    if not settings.autosearch:
        if settings.maintain_keys:
            matcher = Matcher.from_settings(session)
            session.flush()
            write_keys(session, contact.id, matcher.prepare(data_from_contact(contact)).keys)
        return []
    refresh_contact(session, contact)
    return list_pairs(session, contact, limit=10)
