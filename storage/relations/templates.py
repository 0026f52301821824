"""Record templates: defaults per kind for `create-as … template=CODE` (Business Central's
customer/vendor/employee templates, reduced to the fields a record here has).

A template fills country, salesperson and language where the contact leaves them blank, and
gives customers and vendors their currency.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.codes import code_table
from storage.errors import UserError
from storage.models import RecordKind, RecordTemplate
from storage.relations.kinds import spec
from storage.relations.links import get_template
from storage.relations.records import CODE_FIELDS, check_currency

TEMPLATE_FIELDS: tuple[str, ...] = ("description", "country", "salesperson", "language", "currency")


def list_templates(session: Session, kind: RecordKind) -> list[RecordTemplate]:
    query = select(RecordTemplate).where(RecordTemplate.kind == kind.value)
    return list(session.scalars(query.order_by(RecordTemplate.code)))


def _apply(
    session: Session, row: RecordTemplate, kind: RecordKind, fields: Mapping[str, str]
) -> None:
    for name, value in fields.items():
        if name not in TEMPLATE_FIELDS:
            raise UserError(
                f"Unknown field `{name}` for a template. Fields: {', '.join(TEMPLATE_FIELDS)}."
            )
        value = value.strip()
        if name in CODE_FIELDS:
            table = code_table(CODE_FIELDS[name])
            setattr(row, name, table.require(session, value, name).code if value else None)  # type: ignore[attr-defined]
        elif name == "currency":
            if value and not spec(kind).has_currency:
                raise UserError(
                    f"currency applies to customers and vendors only, not to a {spec(kind).label}."
                )
            row.currency = check_currency(value)
        else:
            row.description = value[:100]


def add_template(
    session: Session, kind: RecordKind, code: str, fields: Mapping[str, str]
) -> RecordTemplate:
    code = code.strip().upper()
    if not code or len(code) > 20 or " " in code:
        raise UserError("A template code has up to 20 characters and no spaces, like DOMESTIC.")
    if session.get(RecordTemplate, (kind.value, code)) is not None:
        raise UserError(f"The {spec(kind).label} template {code} exists already; use `set`.")
    row = RecordTemplate(kind=kind.value, code=code, description="", currency="")
    _apply(session, row, kind, fields)
    session.add(row)
    session.flush()
    return row


def change_template(
    session: Session, kind: RecordKind, code: str, fields: Mapping[str, str]
) -> RecordTemplate:
    row = get_template(session, kind, code)
    if not fields:
        raise UserError(f"Say what to change: `template {kind.value} set {row.code} field=value`.")
    _apply(session, row, kind, fields)
    session.flush()
    return row


def remove_template(session: Session, kind: RecordKind, code: str) -> None:
    session.delete(get_template(session, kind, code))
    session.flush()
