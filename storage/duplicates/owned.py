"""Open pairs with the salespeople of their two contacts: what the digest groups by, and what
App Home filters on (a salesperson sees the pairs that touch one of their contacts)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from storage.duplicates.models import OPEN, DupeDigestPair, DupePair
from storage.duplicates.pairs import Pair
from storage.duplicates.pairs import _pair as pair_from_row
from storage.models import Contact, Salesperson


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


_ONE, _TWO = aliased(Contact), aliased(Contact)
_QUERY = (
    select(
        DupePair.id,
        _ONE.no,
        _ONE.name,
        _TWO.no,
        _TWO.name,
        DupePair.score,
        DupePair.why,
        DupePair.status,
        DupePair.method,
        DupePair.created_at,
        DupePair.contact_id_1,
        DupePair.contact_id_2,
        _ONE.salesperson,
        _TWO.salesperson,
    )
    .join(_ONE, _ONE.id == DupePair.contact_id_1)
    .join(_TWO, _TWO.id == DupePair.contact_id_2)
    .where(DupePair.status == OPEN)
)


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
            or_(_ONE.salesperson == salesperson, _TWO.salesperson == salesperson)
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
            pair=pair_from_row(row[:10]),
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
