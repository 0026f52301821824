"""Merging a duplicate into the contact that stays, and undoing it.

`merge_contacts` first locks both cards (lowest id first; storage.locking), so that nothing
can be added to the duplicate while it runs: a colleague's new person for it waits, then
hears the company is gone, instead of being deleted with it. It records both cards in full
(every column, their groups, alternate addresses and interactions) as JSON, moves what hangs
on the duplicate (persons, interactions, alternate addresses, job responsibilities, industry
groups, mailing groups) to the kept contact, applies the chosen fields, and deletes the
duplicate, alone. `unmerge` puts the duplicate back under its own number (and its own id,
unless SQLite gave that to a newer contact), moves each of those things back and restores
each field of the kept card that the merge changed. What was edited after the merge stays
edited: a field of the kept card that no longer holds the merge's value, a moved person's
own changes, a person moved on or deleted since; the result names each.

Other stores (business relations, …) join through the store rules' merge movers
(storage.rules): a mover moves its rows in `merge` and returns JSON-able notes, which it gets
back in `unmerge`. Both keep the duplicate keys of every contact they wrote current (the kept
contact, the duplicate brought back, the persons moved).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Iterable, Mapping
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
from storage.locking import lock_rows
from storage.models import (
    AltAddress,
    Contact,
    ContactIndustryGroup,
    ContactJobResponsibility,
    ContactMailingGroup,
    ContactType,
    Interaction,
)
from storage.rules import Mover, rules_of  # noqa: F401  (Mover: see storage.rules)

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
    _lock_pair(session, dup, keep)
    if dup.type is not keep.type:
        raise UserError(
            f"{dup.no} is a {dup.type.value} and {keep.no} a {keep.type.value}: only contacts "
            "of one type merge. Change the type first (`type`) if one of them is wrong."
        )
    if keep.company_id == dup.id or dup.company_id == keep.id:
        raise UserError(f"{dup.no} and {keep.no} belong to each other; they cannot merge.")
    if "company" in choices and dup.type is ContactType.COMPANY:
        raise UserError("company applies to persons only.")
    # the persons as they are now: no one can add one while the duplicate is locked
    persons = [
        person
        for person in lock_rows(
            session,
            Contact,
            session.scalars(select(Contact.id).where(Contact.company_id == dup.id)),
            no_key=True,
        )
        if person.company_id == dup.id
    ]
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

    for name, move, _restore in rules_of(session).merge_movers:
        moved[f"mover:{name}"] = move(session, dup, keep)

    session.flush()
    # what the merge wrote, so that unmerge can tell it from an edit made after it
    moved["merged"] = {column: _plain(getattr(keep, column)) for column in changed_columns}
    moved["persons_modified"] = {str(p.id): _plain(p.modified_at) for p in persons}
    session.expire(dup)
    session.expire(keep)
    duplicate_no = dup.no
    delete_contact(session, dup, alone=True)  # its persons moved; none goes with it
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
    for person in persons:  # their company name is the kept company's now
        refresh_contact(session, person)
    counts = {
        "persons": len(moved["persons"]),
        "interactions": len(ids),
        "alternate addresses": len(moved["alt_addresses"]),
        "groups": sum(len(v) for v in added.values()),
    }
    return MergeResult(
        record, keep, duplicate_no, taken, [d for d in differing if d not in taken], counts
    )


def _lock_pair(session: Session, dup: Contact, keep: Contact) -> None:
    """Lock both cards (lowest id first) before reading what hangs on them: while a merge
    runs, nothing can be added to the duplicate (storage.locking, storage.contacts)."""
    held = lock_rows(session, Contact, [dup.id, keep.id])
    gone = [contact.no for contact in (dup, keep) if contact not in held]
    if gone:
        were = "were" if len(gone) > 1 else "was"
        raise UserError(
            f"{' and '.join(gone)} {were} deleted, or merged into another contact, a moment "
            "ago; nothing was merged."
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


@dataclass(frozen=True)
class UnmergeResult:
    """Both cards as they are after the undo, and what was edited after the merge and kept."""

    duplicate: Contact
    kept: Contact
    kept_fields: list[str]  # "city (changed to Utrecht after the merge; kept)"
    persons: list[str]  # a sentence for each moved person that is not back exactly as it was


#: Columns the store maintains itself: never an edit a person made.
_DERIVED = ("search_text", "modified_at")
#: What a merge changes on a person it moves; any other column that differs was edited after.
_PERSON_MOVED = ("company_id", "company_name", *_DERIVED)


def unmerge(session: Session, record: DupeMerge) -> UnmergeResult:
    """Undo a merge: the duplicate comes back, and each field and person the merge changed is
    put back, unless it was changed again after the merge: that later edit is kept (and said)."""
    [record] = lock_rows(session, DupeMerge, [record.id])  # a second unmerge of it waits here
    if record.undone_at is not None:
        raise UserError(f"Merge {record.id} was undone already.")
    keep = get_by_no(session, record.kept_no)
    if keep is None or not lock_rows(session, Contact, [keep.id]):
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
    persons = {p.id: p for p in lock_rows(session, Contact, moved["persons"], no_key=True)}

    # the duplicate's card, under its own number and, unless SQLite gave that to a contact
    # made since (it reuses the highest id once deleted), its own id
    values = row_values(_CONTACTS, dup_card)
    if session.get(Contact, dup_card["id"]) is not None:
        values.pop("id")
    dup_id = session.execute(insert(_CONTACTS).values(values)).inserted_primary_key[0]
    dup = session.get(Contact, dup_id)
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
        session.execute(
            insert(table), [row_values(table, {**row, "contact_id": dup.id}) for row in dropped]
        )

    person_notes = _restore_persons(session, dup, keep, dup_card["persons"], persons, moved)
    kept_fields = _restore_kept_card(session, keep, keep_card, dup_card, moved)

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

    for name, _move, restore in rules_of(session).merge_movers:
        restore(session, dup, keep, moved.get(f"mover:{name}"))

    record.undone_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    session.flush()
    session.expire_all()
    dup = session.get(Contact, dup_id)
    keep = session.get(Contact, keep.id)
    assert dup is not None and keep is not None
    refresh_contact(session, dup)
    refresh_contact(session, keep)
    for person_id in moved["persons"]:  # back with the duplicate, or kept where they went
        person = session.get(Contact, person_id)
        if person is not None:
            refresh_contact(session, person)
    return UnmergeResult(dup, keep, kept_fields, person_notes)


def _shown(value: Any) -> str:
    text = "" if value is None else str(value)
    if not text:
        return "cleared"
    return f"changed to {text[:40]}{'…' if len(text) > 40 else ''}"


def _restore_kept_card(
    session: Session,
    keep: Contact,
    keep_card: dict[str, Any],
    dup_card: dict[str, Any],
    moved: dict[str, Any],
) -> list[str]:
    """Put back each field of the kept card that still holds what the merge wrote; a field
    changed since keeps its new value. Returns those kept, as the reply says them."""
    columns = [c for c in moved["columns"] if c not in _DERIVED]
    if not columns:
        return []
    # merges recorded before "merged" existed wrote the duplicate's values
    merged = moved.get("merged") or {c: dup_card[c] for c in moved["columns"]}
    restore: dict[str, Any] = {}
    kept: list[str] = []
    for name, field_columns in FIELD_COLUMNS.items():
        changed = [c for c in field_columns if c in columns]
        if not changed:
            continue
        if all(_plain(getattr(keep, c)) == merged.get(c) for c in changed):
            restore.update({c: keep_card[c] for c in changed})
        else:
            shown = keep.company_name if name == "company" else getattr(keep, field_columns[0])
            kept.append(f"{name} ({_shown(shown)} after the merge; kept)")
    untouched = not kept and (
        "modified_at" not in merged or _plain(keep.modified_at) == merged["modified_at"]
    )
    if untouched:  # exactly as it was, down to its search text and time of change
        restore.update({c: keep_card[c] for c in moved["columns"] if c in _DERIVED})
    if restore:
        values = row_values(_CONTACTS, restore)
        session.execute(update(_CONTACTS).where(_CONTACTS.c.id == keep.id).values(values))
    if not untouched:
        session.expire(keep)
        refresh_search_text(keep)
    return kept


def _field_names(columns: Iterable[str]) -> list[str]:
    """Columns as people name the fields (`phone_e164` is phone), each once."""
    names: list[str] = []
    for column in columns:
        name = next((n for n, cs in FIELD_COLUMNS.items() if column in cs), column)
        if name not in names:
            names.append(name)
    return names


def _restore_persons(
    session: Session,
    dup: Contact,
    keep: Contact,
    cards: list[dict[str, Any]],
    persons: dict[int, Contact],
    moved: dict[str, Any],
) -> list[str]:
    """Move each person the merge moved back to the duplicate: as it was when nothing of it
    changed since, else with its later edits. One that was moved on or deleted stays so."""
    notes: list[str] = []
    recorded = moved.get("persons_modified", {})
    for card in cards:
        if card["id"] not in moved["persons"]:
            continue
        person = persons.get(card["id"])
        if person is None:
            notes.append(f"{card['no']} was deleted after the merge; it stays deleted.")
            continue
        if person.company_id != keep.id:
            where = f"to {person.company_name}" if person.company_name else "out of its company"
            notes.append(f"{person.no} was moved {where} after the merge; it stays there.")
            continue
        edited = _field_names(
            column.key
            for column in _CONTACTS.columns
            if column.key not in _PERSON_MOVED
            and _plain(getattr(person, column.key)) != card[column.key]
        )
        recorded_at = recorded.get(str(person.id))
        if not edited and recorded_at in (None, _plain(person.modified_at)):
            values = row_values(_CONTACTS, {**card, "company_id": dup.id})
            values.pop("id")
            session.execute(update(_CONTACTS).where(_CONTACTS.c.id == person.id).values(values))
            continue
        person.company = dup
        person.company_id = dup.id
        person.company_name = dup.name
        refresh_search_text(person)
        if edited:
            notes.append(
                f"{person.no} keeps what was changed after the merge: {', '.join(edited)}."
            )
    session.flush()
    return notes
