"""Merging a duplicate into the contact that stays, and undoing it exactly.

`merge_contacts` records both cards in full (every column, their groups, alternate addresses
and interactions) as JSON, moves what hangs on the duplicate (persons, interactions, alternate
addresses, job responsibilities, industry groups, mailing groups) to the kept contact, applies
the chosen fields, and deletes the duplicate. `unmerge` puts the duplicate back under its own
id and number, moves each of those things back and restores every field of the kept card that
the merge changed, so both cards end as they were.

Other stores (business relations, …) join through MERGE_MOVERS: a mover moves its rows in
`merge` and returns JSON-able notes, which it gets back in `unmerge`.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, DateTime, Numeric, delete, insert, select, update
from sqlalchemy.orm import Session

from storage.contacts import delete_contact, get_by_no, refresh_search_text
from storage.duplicates.index import ordered, refresh_contact
from storage.duplicates.models import SEPARATE, DupeMerge, DupePair
from storage.errors import NotFound, UserError
from storage.fields import EDITABLE_FIELDS
from storage.models import (
    AltAddress,
    Contact,
    ContactIndustryGroup,
    ContactJobResponsibility,
    ContactMailingGroup,
    ContactType,
    Interaction,
)

KEEP = "keep"
DUP = "dup"

#: A field as people name it -> the columns that move with it.
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {name: (name,) for name in EDITABLE_FIELDS}
FIELD_COLUMNS.update(
    name=("name", "first_name", "middle_name", "surname"),
    company=("company_id", "company_name"),
    phone=("phone", "phone_e164"),
    mobile=("mobile", "mobile_e164"),
    email=("email", "email_normalized"),
)
GROUP_TABLES = {
    "job_responsibilities": ContactJobResponsibility,
    "industry_groups": ContactIndustryGroup,
    "mailing_groups": ContactMailingGroup,
}

#: (name, move(session, dup, keep) -> notes, restore(session, dup, keep, notes)) of other stores.
Mover = tuple[
    str,
    Callable[[Session, Contact, Contact], Any],
    Callable[[Session, Contact, Contact, Any], None],
]
MERGE_MOVERS: list[Mover] = []


# --- rows as JSON ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def row_json(table: Any, row: Any) -> dict[str, Any]:
    """Every column of an ORM object or a Core row as JSON-able values."""
    if hasattr(row, "_mapping"):
        return {column.key: _plain(row._mapping[column.key]) for column in table.columns}
    return {column.key: _plain(getattr(row, column.key)) for column in table.columns}


def row_values(table: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of row_json: typed values for an insert or update."""
    out: dict[str, Any] = {}
    for column in table.columns:
        if column.key not in data:
            continue
        value = data[column.key]
        if value is not None:
            if isinstance(column.type, DateTime):
                value = dt.datetime.fromisoformat(value)
            elif isinstance(column.type, Date):
                value = dt.date.fromisoformat(value)
            elif isinstance(column.type, Numeric):
                value = Decimal(value)
        out[column.key] = value
    return out


_CONTACTS = Contact.__table__


def snapshot(session: Session, contact: Contact) -> dict[str, Any]:
    """The whole card: columns, groups, alternate addresses, interactions, persons."""
    session.flush()
    card = row_json(_CONTACTS, contact)
    for name, model in GROUP_TABLES.items():
        card[name] = sorted(
            session.scalars(select(model.code).where(model.contact_id == contact.id))
        )
    card["alt_addresses"] = [
        row_json(AltAddress.__table__, row)
        for row in session.execute(
            select(AltAddress.__table__).where(AltAddress.contact_id == contact.id)
        )
    ]
    card["interactions"] = [
        row_json(Interaction.__table__, row)
        for row in session.execute(
            select(Interaction.__table__)
            .where(Interaction.contact_id == contact.id)
            .order_by(Interaction.id)
        )
    ]
    card["persons"] = [
        row_json(_CONTACTS, row)
        for row in session.execute(
            select(_CONTACTS).where(_CONTACTS.c.company_id == contact.id).order_by(_CONTACTS.c.id)
        )
    ]
    return card


# --- merge -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeResult:
    merge: DupeMerge
    kept: Contact
    duplicate_no: str
    taken: list[str]  # fields that took the duplicate's value
    differing: list[str]  # fields where the cards differed and the kept value stayed
    moved: dict[str, int]  # what moved: persons, interactions, …


def parse_choices(fields: Mapping[str, str]) -> dict[str, str]:
    """`city=dup phone=keep` -> {"city": "dup", "phone": "keep"}, refused when unclear."""
    choices: dict[str, str] = {}
    for name, value in fields.items():
        if name not in FIELD_COLUMNS:
            raise UserError(
                f"Unknown field `{name}`. Choose fields with field=dup or field=keep: "
                f"{', '.join(EDITABLE_FIELDS)}."
            )
        choice = value.strip().lower()
        if choice not in (DUP, KEEP):
            raise UserError(f"{name}={value}: say {name}=dup or {name}=keep.")
        choices[name] = choice
    return choices


def differing_fields(dup: Contact, keep: Contact) -> list[str]:
    """Fields (as people name them) where the two cards hold different values."""
    out = []
    for name, columns in FIELD_COLUMNS.items():
        if name == "company" and dup.type is not ContactType.PERSON:
            continue
        if getattr(dup, columns[0]) != getattr(keep, columns[0]):
            out.append(name)
    return out


def merge_contacts(
    session: Session,
    dup: Contact,
    keep: Contact,
    choices: Mapping[str, str] | None = None,
    actor: str = "",
) -> MergeResult:
    """Merge `dup` into `keep` (see the module docstring); `choices`: field -> dup|keep."""
    choices = dict(choices or {})
    if dup.id == keep.id:
        raise UserError(f"{dup.no} is one contact; name the duplicate and the one to keep.")
    if dup.type is not keep.type:
        raise UserError(
            f"{dup.no} is a {dup.type.value} and {keep.no} a {keep.type.value}: only contacts "
            "of one type merge. Change the type first (`type`) if one of them is wrong."
        )
    if keep.company_id == dup.id or dup.company_id == keep.id:
        raise UserError(f"{dup.no} and {keep.no} belong to each other; they cannot merge.")
    if "company" in choices and dup.type is ContactType.COMPANY:
        raise UserError("company applies to persons only.")
    dup_before = snapshot(session, dup)
    keep_before = snapshot(session, keep)
    separate = [
        pair_other for pair_other in _separate_others(session, dup) if pair_other != keep.id
    ]
    differing = differing_fields(dup, keep)
    taken = [name for name in differing if choices.get(name) == DUP]
    moved: dict[str, Any] = {"separate": separate}

    # fields first (the kept card's own values unless chosen otherwise)
    changed_columns: list[str] = []
    for name in taken:
        for column in FIELD_COLUMNS[name]:
            if getattr(keep, column) != getattr(dup, column):
                setattr(keep, column, getattr(dup, column))
                changed_columns.append(column)
    if taken:
        refresh_search_text(keep)
        changed_columns.append("search_text")
        keep.modified_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        changed_columns.append("modified_at")
    moved["columns"] = changed_columns

    # persons of a company follow it (their company name becomes the kept company's)
    persons = list(
        session.scalars(select(Contact).where(Contact.company_id == dup.id).order_by(Contact.id))
    )
    for person in persons:
        person.company = keep
        person.company_id = keep.id
        person.company_name = keep.name
        refresh_search_text(person)
    moved["persons"] = [p.id for p in persons]

    # interactions: moved; an email logged on both cards (same Message-ID) is kept once
    keep_messages = set(
        session.scalars(
            select(Interaction.message_id).where(
                Interaction.contact_id == keep.id, Interaction.message_id.is_not(None)
            )
        )
    )
    ids = [row["id"] for row in dup_before["interactions"]]
    clashing = [
        row["id"] for row in dup_before["interactions"] if row["message_id"] in keep_messages
    ]
    movable = [i for i in ids if i not in clashing]
    if clashing:
        session.execute(delete(Interaction).where(Interaction.id.in_(clashing)))
    if movable:
        session.execute(
            update(Interaction).where(Interaction.id.in_(movable)).values(contact_id=keep.id)
        )
    moved["interactions"] = movable
    moved["interactions_dropped"] = clashing  # restored from the snapshot by unmerge

    # alternate addresses: moved, renamed when the kept card has that code already
    taken_codes = {a["code"] for a in keep_before["alt_addresses"]}
    renamed: dict[str, str] = {}
    for address in dup_before["alt_addresses"]:
        code = address["code"]
        new_code = code
        counter = 2
        while new_code in taken_codes:
            suffix = f"-{counter}"
            new_code = code[: 20 - len(suffix)] + suffix
            counter += 1
        taken_codes.add(new_code)
        if new_code != code:
            renamed[str(address["id"])] = code
        session.execute(
            update(AltAddress)
            .where(AltAddress.id == address["id"])
            .values(contact_id=keep.id, code=new_code)
        )
    moved["alt_addresses"] = [a["id"] for a in dup_before["alt_addresses"]]
    moved["alt_renamed"] = renamed

    # groups: the kept contact gets each code it lacks (the duplicate's rows go with it)
    added: dict[str, list[str]] = {}
    for name, model in GROUP_TABLES.items():
        missing = [c for c in dup_before[name] if c not in keep_before[name]]
        if missing:
            session.execute(
                insert(model), [{"contact_id": keep.id, "code": code} for code in missing]
            )
        added[name] = missing
    moved["groups_added"] = added

    for name, move, _restore in MERGE_MOVERS:
        moved[f"mover:{name}"] = move(session, dup, keep)

    session.flush()
    session.expire(dup)
    session.expire(keep)
    duplicate_no = dup.no
    delete_contact(session, dup)
    record = DupeMerge(
        kept_no=keep.no,
        duplicate_no=duplicate_no,
        kept_before=json.dumps(keep_before),
        duplicate_before=json.dumps(dup_before),
        moved=json.dumps(moved),
        choices=json.dumps(choices),
        actor=actor,
        merged_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
    )
    session.add(record)
    session.flush()
    refresh_contact(session, keep)
    counts = {
        "persons": len(moved["persons"]),
        "interactions": len(ids),
        "alternate addresses": len(moved["alt_addresses"]),
        "groups": sum(len(v) for v in added.values()),
    }
    return MergeResult(
        record, keep, duplicate_no, taken, [d for d in differing if d not in taken], counts
    )


def _separate_others(session: Session, contact: Contact) -> list[int]:
    rows = session.execute(
        select(DupePair.contact_id_1, DupePair.contact_id_2).where(
            DupePair.status == SEPARATE,
            (DupePair.contact_id_1 == contact.id) | (DupePair.contact_id_2 == contact.id),
        )
    )
    return [b if a == contact.id else a for a, b in rows]


# --- unmerge -----------------------------------------------------------------------------


def get_merge(session: Session, ref: str) -> DupeMerge:
    text = ref.strip().lstrip("#")
    if not text.isdigit():
        raise UserError(f"`{ref}` is not a merge number. `unmerge 12` undoes merge 12.")
    record = session.get(DupeMerge, int(text))
    if record is None:
        raise NotFound(f"There is no merge {text}.")
    return record


def unmerge(session: Session, record: DupeMerge) -> tuple[Contact, Contact]:
    """Undo a merge: returns (restored duplicate, kept contact) as they were before it."""
    if record.undone_at is not None:
        raise UserError(f"Merge {record.id} was undone already.")
    keep = get_by_no(session, record.kept_no)
    if keep is None:
        raise UserError(
            f"Merge {record.id} cannot be undone: {record.kept_no}, the contact it kept, "
            "was deleted since."
        )
    dup_card = json.loads(record.duplicate_before)
    keep_card = json.loads(record.kept_before)
    moved = json.loads(record.moved)
    if get_by_no(session, record.duplicate_no) is not None:
        raise UserError(
            f"Merge {record.id} cannot be undone: the number {record.duplicate_no} is in use again."
        )
    if session.get(Contact, dup_card["id"]) is not None:
        raise UserError(f"Merge {record.id} cannot be undone: its contact id is in use again.")

    # the duplicate's card, under its own id and number
    session.execute(insert(_CONTACTS).values(row_values(_CONTACTS, dup_card)))
    dup = session.get(Contact, dup_card["id"])
    assert dup is not None
    for name, model in GROUP_TABLES.items():
        if dup_card[name]:
            session.execute(
                insert(model), [{"contact_id": dup.id, "code": code} for code in dup_card[name]]
            )
        added = moved["groups_added"].get(name, [])
        if added:
            session.execute(delete(model).where(model.contact_id == keep.id, model.code.in_(added)))

    # alternate addresses back, with their own codes
    for address in dup_card["alt_addresses"]:
        session.execute(
            update(AltAddress)
            .where(AltAddress.id == address["id"])
            .values(contact_id=dup.id, code=address["code"])
        )

    # interactions back; those dropped as the same email are inserted again as they were
    if moved["interactions"]:
        session.execute(
            update(Interaction)
            .where(Interaction.id.in_(moved["interactions"]))
            .values(contact_id=dup.id)
        )
    dropped = [
        row for row in dup_card["interactions"] if row["id"] in moved["interactions_dropped"]
    ]
    if dropped:
        table = Interaction.__table__
        session.execute(insert(table), [row_values(table, row) for row in dropped])

    # persons back to their company, with their own columns as they were
    for person in dup_card["persons"]:
        values = row_values(_CONTACTS, person)
        values.pop("id")
        session.execute(update(_CONTACTS).where(_CONTACTS.c.id == person["id"]).values(values))

    # the kept card's columns that the merge changed
    if moved["columns"]:
        values = row_values(_CONTACTS, {c: keep_card[c] for c in moved["columns"]})
        session.execute(update(_CONTACTS).where(_CONTACTS.c.id == keep.id).values(values))

    # separate marks of the duplicate
    for other in moved.get("separate", []):
        if session.get(Contact, other) is None:
            continue
        low, high = ordered(dup.id, other)
        exists = session.scalar(
            select(DupePair.id).where(DupePair.contact_id_1 == low, DupePair.contact_id_2 == high)
        )
        if exists is None:
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            session.add(
                DupePair(
                    contact_id_1=low,
                    contact_id_2=high,
                    score=0.0,
                    method="",
                    why=json.dumps({"why": "marked separate", "fields": []}),
                    status=SEPARATE,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            session.execute(update(DupePair).where(DupePair.id == exists).values(status=SEPARATE))

    for name, _move, restore in MERGE_MOVERS:
        restore(session, dup, keep, moved.get(f"mover:{name}"))

    record.undone_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    session.flush()
    session.expire_all()
    dup = session.get(Contact, dup_card["id"])
    keep = session.get(Contact, keep.id)
    assert dup is not None and keep is not None
    refresh_contact(session, dup)
    refresh_contact(session, keep)
    return dup, keep
