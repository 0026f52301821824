"""The blocking keys and pairs of one contact, kept current as it is created, changed and
deleted: a contact is compared with the few contacts that share a key (the database's
index on `dupe_keys.value` finds them), never with the whole table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, or_, select, text
from sqlalchemy.orm import Session

from storage.clock import utcnow
from storage.duplicates.keys import BLOCK_LIMIT, key_bit
from storage.duplicates.matcher import Matcher, Prepared, Verdict
from storage.duplicates.models import OPEN, SEPARATE, DupeKey, DupePair
from storage.duplicates.normalize import COMPANY, PERSON, ContactData
from storage.models import Contact, ContactType

#: The contact columns matching reads, in ContactData's order.
COLUMNS = (
    Contact.id,
    Contact.no,
    Contact.type,
    Contact.name,
    Contact.first_name,
    Contact.middle_name,
    Contact.surname,
    Contact.address,
    Contact.address_2,
    Contact.city,
    Contact.post_code,
    Contact.phone_e164,
    Contact.mobile_e164,
    Contact.email_normalized,
    Contact.vat_no,
    Contact.country,
    Contact.company_name,
    Contact.phone,
    Contact.mobile,
    Contact.email,
)


def _type_letter(value: Any) -> str:
    """COMPANY for ContactType.COMPANY (a StrEnum, so also for its text), else PERSON."""
    return COMPANY if value == ContactType.COMPANY else PERSON


def data_from_row(row: Sequence[Any]) -> ContactData:
    (id_, no, type_, name, first, middle, surname, address, address_2, city, post_code,
     phone_e164, mobile_e164, email_normalized, vat_no, country, company_name, phone, mobile,
     email) = row  # fmt: skip
    return ContactData(
        id_,
        no,
        _type_letter(type_),
        name or "",
        f"{first} {middle}" if first and middle else first or middle or "",
        surname or "",
        address or "",
        address_2 or "",
        city or "",
        post_code or "",
        phone_e164 or "",
        mobile_e164 or "",
        email_normalized or "",
        vat_no or "",
        country or "",
        company_name or "",
        phone or "",
        mobile or "",
        email or "",
    )


def data_from_contact(contact: Contact) -> ContactData:
    return data_from_row([getattr(contact, column.key) for column in COLUMNS])


def ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


# --- keys --------------------------------------------------------------------------------

_KEYS = DupeKey.__table__


def write_keys(session: Session, contact_id: int, keys: Iterable[str]) -> None:
    connection = session.connection()
    connection.execute(_KEYS.delete().where(_KEYS.c.contact_id == contact_id))
    rows = [{"contact_id": contact_id, "value": key} for key in sorted(keys)]
    if rows:
        connection.execute(_KEYS.insert(), rows)


def candidates(session: Session, prepared: Prepared) -> Counter[int]:
    """Contact id -> the evidence bits of the keys it shares with `prepared`, for each contact
    sharing a usable key: one query of one indexed lookup per key, each cut at BLOCK_LIMIT + 1
    rows (a key that more contacts share says nothing and is skipped)."""
    keys = sorted(prepared.keys)
    if not keys:
        return Counter()
    parts = " UNION ALL ".join(
        f"SELECT {i} AS k, contact_id FROM (SELECT contact_id FROM dupe_keys "
        f"WHERE value = :v{i} LIMIT {BLOCK_LIMIT + 1}) AS b{i}"
        for i in range(len(keys))
    )
    rows = session.execute(text(parts), {f"v{i}": key for i, key in enumerate(keys)}).all()
    blocks: dict[int, list[int]] = {}
    for index, contact_id in rows:
        blocks.setdefault(index, []).append(contact_id)
    shared: Counter[int] = Counter()
    own = prepared.data.id
    for index, ids in blocks.items():
        if len(ids) > BLOCK_LIMIT:
            continue
        bit = key_bit(keys[index])
        for other in ids:
            if other != own:
                shared[other] |= bit
    return shared


_LOAD = select(*COLUMNS)


def load_data(session: Session, ids: Iterable[int]) -> list[ContactData]:
    wanted = sorted(set(ids))
    out: list[ContactData] = []
    for start in range(0, len(wanted), 500):
        rows = session.execute(_LOAD.where(Contact.id.in_(wanted[start : start + 500])))
        out.extend(data_from_row(row) for row in rows)
    return out


# --- pairs -------------------------------------------------------------------------------


def refresh_contact(
    session: Session, contact: Contact, matcher: Matcher | None = None
) -> list[tuple[int, Verdict]]:
    """Rewrite the contact's keys and its open pairs; returns (other id, verdict) for each
    possible duplicate found now (separate pairs are kept and not returned)."""
    session.flush()
    matcher = matcher or Matcher.from_settings(session)
    me = matcher.prepare(data_from_contact(contact))
    shared = candidates(session, me)
    found: dict[int, Verdict] = {}
    for data in load_data(session, shared):
        other = matcher.prepare(data, keys=False)
        if not matcher.worth_scoring(me, other, shared[data.id]):
            continue
        verdict = matcher.judge(me, other)
        if verdict is not None:
            found[data.id] = verdict
    write_keys(session, contact.id, me.keys)
    existing = {
        ordered(p.contact_id_1, p.contact_id_2): p
        for p in session.scalars(
            select(DupePair).where(
                or_(DupePair.contact_id_1 == contact.id, DupePair.contact_id_2 == contact.id)
            )
        )
    }
    now = utcnow()
    result: list[tuple[int, Verdict]] = []
    for other_id, verdict in sorted(found.items(), key=lambda item: -item[1].score):
        pair_key = ordered(contact.id, other_id)
        pair = existing.pop(pair_key, None)
        if pair is not None and pair.status == SEPARATE:
            continue
        if pair is None:
            pair = DupePair(
                contact_id_1=pair_key[0],
                contact_id_2=pair_key[1],
                status=OPEN,
                created_at=now,
            )
            session.add(pair)
        pair.score = verdict.score
        pair.method = matcher.method
        pair.why = verdict.as_json()
        pair.updated_at = now
        result.append((other_id, verdict))
    for pair in existing.values():  # no longer alike: an open pair goes, a separate one stays
        if pair.status == OPEN:
            session.delete(pair)
    session.flush()
    return result


def forget_contact(session: Session, contact: Contact) -> None:
    """Before a contact is deleted: its keys and pairs go too (the foreign keys cascade as
    well; this keeps the ORM session and a database without enforced keys right)."""
    if contact.id is None:
        return
    session.execute(delete(DupeKey).where(DupeKey.contact_id == contact.id))
    session.execute(
        delete(DupePair).where(
            or_(DupePair.contact_id_1 == contact.id, DupePair.contact_id_2 == contact.id)
        )
    )
