"""Open pairs with the salespeople of their two contacts: what the digest groups by, and what
App Home filters on (a salesperson sees the pairs that touch one of their contacts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from storage.duplicates.models import OPEN, DupeDigestPair, DupePair
from storage.duplicates.pairs import PAIR_ONE, PAIR_QUERY, PAIR_TWO, Pair, pair_from_row
from storage.models import Salesperson


@dataclass(frozen=True)
class Owner:
    """A salesperson as the digest names them."""

    code: str
    name: str
    slack_user_id: str


@dataclass(frozen=True)
class OwnedPair:
    """An open pair and the distinct salespeople of its two contacts (none, one or two)."""

    pair: Pair
    contact_ids: tuple[int, int]
    owners: tuple[Owner, ...]


#: The pair query with both contacts' ids and salespeople after its ten pair columns.
_QUERY = PAIR_QUERY.add_columns(
    DupePair.contact_id_1,
    DupePair.contact_id_2,
    PAIR_ONE.salesperson,
    PAIR_TWO.salesperson,
).where(DupePair.status == OPEN)


def owned_pairs(
    session: Session,
    *,
    salesperson: str | None = None,
    undigested: bool = False,
    limit: int | None = None,
) -> list[OwnedPair]:
    """Open pairs, best first. `salesperson`: only pairs where either contact is theirs.
    `undigested`: only pairs that no duplicate digest has reported yet."""
    statement = _QUERY
    if salesperson:
        statement = statement.where(
            or_(PAIR_ONE.salesperson == salesperson, PAIR_TWO.salesperson == salesperson)
        )
    if undigested:
        reported = and_(
            DupeDigestPair.contact_id_1 == DupePair.contact_id_1,
            DupeDigestPair.contact_id_2 == DupePair.contact_id_2,
        )
        statement = statement.outerjoin(DupeDigestPair, reported).where(
            DupeDigestPair.digest_id.is_(None)
        )
    statement = statement.order_by(DupePair.score.desc(), DupePair.id)
    if limit is not None:
        statement = statement.limit(limit)
    rows = session.execute(statement).all()
    codes = {code for row in rows for code in row[12:14] if code}
    owners = _owners(session, codes)
    return [
        OwnedPair(
            pair=pair_from_row(row),
            contact_ids=(row[10], row[11]),
            owners=tuple(owners[code] for code in sorted({c for c in row[12:14] if c})),
        )
        for row in rows
    ]


def _owners(session: Session, codes: set[str]) -> dict[str, Owner]:
    found = {
        sp.code: Owner(sp.code, sp.name or "", sp.slack_user_id or "")
        for sp in session.scalars(select(Salesperson).where(Salesperson.code.in_(sorted(codes))))
    }
    return {code: found.get(code, Owner(code, "", "")) for code in codes}
