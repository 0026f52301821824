"""Customers, vendors, bank accounts and employees: numbering, validated fields, lookup.

A record's fields are checked by the same rules as a contact's (code tables, phone and email
parsing, column lengths), so a value a record holds can always be copied to its contact and
back. Links and sync live in storage.relations.links; this module knows only records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.clock import utcnow
from storage.codes import code_table
from storage.errors import Ambiguous, NotFound, UserError
from storage.models import BusinessRecord, NumberSeries, RecordKind
from storage.normalize import normalize_email, parse_phone
from storage.numbering import get_series, take_number
from storage.numbers import short
from storage.relations.kinds import spec
from storage.setup import get_setup

#: The fields a record shares with its contact, as people name them (and as CSV headers).
SHARED_FIELDS: tuple[str, ...] = (
    "name",
    "name_2",
    "address",
    "address_2",
    "city",
    "post_code",
    "county",
    "country",
    "phone",
    "email",
    "home_page",
    "vat_no",
    "salesperson",
    "language",
)
#: Every field of a record; `currency` is its own (customers and vendors only).
RECORD_FIELDS: tuple[str, ...] = (*SHARED_FIELDS, "currency")
#: Fields that hold a code: field -> code table.
CODE_FIELDS: dict[str, str] = {
    "country": "countries",
    "salesperson": "salespeople",
    "language": "languages",
}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TABLE = BusinessRecord.__table__


def field_value(record: object, name: str) -> str:
    """A field as text (a blank code is "", not None), for comparing and copying."""
    return getattr(record, name) or ""


# --- numbering ---------------------------------------------------------------------------


def _new_series(kind: RecordKind) -> NumberSeries:
    kind_spec = spec(kind)
    return NumberSeries(
        code=kind_spec.series, prefix=kind_spec.prefix, width=5, start=1, last_number=0
    )


def record_series(session: Session, kind: RecordKind) -> NumberSeries:
    """The kind's series, made on first use (C00001, V00001, …) and locked for this
    transaction, for a bulk import (storage.numbering)."""
    if session.get(NumberSeries, spec(kind).series) is None:
        session.add(_new_series(kind))
        session.flush()
    return get_series(session, spec(kind).series, lock=True)


def get_record(session: Session, kind: RecordKind, no: str) -> BusinessRecord | None:
    query = select(BusinessRecord).where(
        BusinessRecord.kind == kind.value, BusinessRecord.no == no.strip().upper()
    )
    return session.scalars(query).one_or_none()


def next_record_no(session: Session, kind: RecordKind) -> str:
    """The next free number of the kind's series, skipping numbers taken by hand or import."""
    return take_number(
        session,
        spec(kind).series,
        lambda no: get_record(session, kind, no) is not None,
        lambda: _new_series(kind),
    )


# --- lookup ------------------------------------------------------------------------------


def resolve_record(session: Session, kind: RecordKind, ref: str) -> BusinessRecord:
    """A record of `kind` by number, or by exact name (any case) when only one has it."""
    ref = ref.strip()
    label = spec(kind).label
    if not ref:
        raise UserError(f"Name the {label} by its number, like {spec(kind).prefix}00001.")
    record = get_record(session, kind, ref)
    if record is not None:
        return record
    matches = list(
        session.scalars(
            select(BusinessRecord)
            .where(
                BusinessRecord.kind == kind.value, func.lower(BusinessRecord.name) == ref.lower()
            )
            .order_by(BusinessRecord.no)
            .limit(11)
        )
    )
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = ", ".join(m.no for m in matches[:10])
        raise Ambiguous(f"`{ref}` names several {spec(kind).plural}: {listed}. Use the number.")
    raise NotFound(f"No {label} `{short(ref)}`. See `{kind.value} list`.")


def records_with_no(session: Session, no: str) -> list[BusinessRecord]:
    """Records of any kind with this number (for `related <record no>`)."""
    query = select(BusinessRecord).where(BusinessRecord.no == no.strip().upper())
    return list(session.scalars(query.order_by(BusinessRecord.kind)))


# --- fields ------------------------------------------------------------------------------


def check_field_names(kind: RecordKind, names: Iterable[str]) -> None:
    """Refuse a field a record of `kind` does not have, naming those it has."""
    for name in names:
        if name not in RECORD_FIELDS:
            raise UserError(
                f"Unknown field `{name}` for a {spec(kind).label}. Fields: "
                f"{', '.join(_fields_of(kind))}."
            )
        if name == "currency" and not spec(kind).has_currency:
            raise UserError(
                f"currency applies to customers and vendors only, not to a {spec(kind).label}."
            )


def _fields_of(kind: RecordKind) -> tuple[str, ...]:
    return RECORD_FIELDS if spec(kind).has_currency else SHARED_FIELDS


def _check_length(name: str, value: str) -> None:
    limit = getattr(_TABLE.c[name].type, "length", None)
    if limit and len(value) > limit:
        raise UserError(
            f"{name}: {len(value)} characters is too long; the most is {limit}. Shorten it."
        )


def check_currency(value: str) -> str:
    text = value.strip().upper()
    if text and not _CURRENCY.match(text):
        raise UserError(
            f"currency: `{value.strip()}` is not a currency code; type three letters "
            "like EUR, or currency= for the local currency."
        )
    return text


def _region(session: Session, record: BusinessRecord) -> str | None:
    country = record.country or get_setup(session).default_country
    return country if country and len(country) == 2 else None


def _assign(session: Session, record: BusinessRecord, name: str, value: str) -> None:
    value = value.strip()
    if name in CODE_FIELDS:
        code = code_table(CODE_FIELDS[name]).require(session, value, name).code if value else None  # type: ignore[attr-defined]
        setattr(record, name, code)
        return
    if name == "currency":
        record.currency = check_currency(value)
        return
    if name == "phone":
        parse_phone(name, value, _region(session, record))
    elif name == "email":
        normalize_email(value)
    _check_length(name, value)
    setattr(record, name, value)


def apply_fields(session: Session, record: BusinessRecord, fields: Mapping[str, str]) -> list[str]:
    """Validate and set fields (country before phone, which is read in it); returns those that
    changed. Raises UserError before anything is written when a value is wrong."""
    check_field_names(RecordKind(record.kind), fields)
    changed: list[str] = []
    for name in sorted(fields, key=lambda n: (n != "country", n == "phone")):
        before = field_value(record, name)
        _assign(session, record, name, fields[name])
        if field_value(record, name) != before:
            changed.append(name)
    if not record.name.strip():
        raise UserError(f'A {spec(RecordKind(record.kind)).label} needs a name: name="…".')
    if changed:
        record.modified_at = utcnow()
    return changed


def new_record(session: Session, kind: RecordKind, no: str | None = None) -> BusinessRecord:
    """A blank record of `kind` with its number (given, or the next of the series), added to
    the session but not yet flushed: the caller fills it first."""
    if no:
        no = no.strip().upper()
        if not no or len(no) > 20 or any(ch.isspace() for ch in no):
            raise UserError("no: a number has up to 20 characters and no spaces, like C00010.")
        if get_record(session, kind, no) is not None:
            raise UserError(f"The {spec(kind).label} number {no} is taken already.")
    now = utcnow()
    record = BusinessRecord(
        kind=kind.value, no=no or "", created_at=now, modified_at=now, currency=""
    )
    for column in _TABLE.columns:
        if column.default is not None and not callable(column.default.arg):
            setattr(record, column.key, column.default.arg)
    return record


def create_record(
    session: Session, kind: RecordKind, fields: Mapping[str, str], *, no: str | None = None
) -> BusinessRecord:
    """Create a record from typed fields (validated like a contact's)."""
    if not fields.get("name", "").strip():
        raise UserError(
            f'A {spec(kind).label} needs a name: `{kind.value} new "Name" field=value …`.'
        )
    record = new_record(session, kind, no)
    with session.no_autoflush:
        apply_fields(session, record, fields)
        if not record.no:
            record.no = next_record_no(session, kind)
    session.add(record)
    session.flush()
    return record


def list_records(session: Session, kind: RecordKind, limit: int = 50) -> list[BusinessRecord]:
    query = select(BusinessRecord).where(BusinessRecord.kind == kind.value)
    return list(session.scalars(query.order_by(BusinessRecord.no).limit(limit)))
