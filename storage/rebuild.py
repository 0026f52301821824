"""Rebuilding what the store derives from typed text, for a migration that changed the rules.

The search text (storage.normalize.search_text) and the phones' E.164 forms (storage.phones)
are stored so that `find` and matching need no computation per row; when the fold or the phone
reading changes, the stored values must be computed again or old and new contacts would not
meet. This works on a bare connection (a migration's), reads the contacts a batch at a time in
id order and writes only the rows whose values changed. The duplicate keys are then rebuilt by
`dupes scan`'s code when the database kept any.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, bindparam, column, func, select, table
from sqlalchemy.orm import Session

from storage.normalize import read_phone, search_text

log = logging.getLogger(__name__)

BATCH = 5000

_CONTACTS = table(
    "contacts",
    *(
        column(name)
        for name in (
            "id", "name", "name_2", "company_name", "email", "phone", "mobile", "country",
            "phone_e164", "mobile_e164", "search_text",
        )
    ),
)  # fmt: skip
_SETUP = table("relationship_setup", column("id"), column("default_country"))
_KEYS = table("dupe_keys", column("contact_id"))


def _default_region(connection: Connection) -> str | None:
    code = connection.execute(select(_SETUP.c.default_country).where(_SETUP.c.id == 1)).scalar()
    return code.upper() if code and len(code) == 2 else None


def rebuild_derived_text(connection: Connection) -> int:
    """Recompute every contact's search text and phone E.164 forms; returns how many rows
    changed. Then the duplicate keys and open pairs, when there were keys."""
    default = _default_region(connection)
    c = _CONTACTS.c
    update = (
        _CONTACTS.update()
        .where(c.id == bindparam("row_id"))
        .values(
            search_text=bindparam("new_text"),
            phone_e164=bindparam("new_phone"),
            mobile_e164=bindparam("new_mobile"),
        )
    )
    changed = 0
    last = 0
    while True:
        rows = connection.execute(
            select(_CONTACTS).where(c.id > last).order_by(c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        updates = []
        for row in rows:
            values = _derived(row, default)
            if values != (row.search_text, row.phone_e164, row.mobile_e164):
                text, phone, mobile = values
                updates.append(
                    {"row_id": row.id, "new_text": text, "new_phone": phone, "new_mobile": mobile}
                )
        if updates:
            connection.execute(update, updates)
            changed += len(updates)
    log.info("rebuilt the search text and phones of %d contacts", changed)
    if connection.execute(select(func.count()).select_from(_KEYS)).scalar():
        _rescan(connection)
    return changed


def _derived(row: object, default: str | None) -> tuple[str, str, str]:
    """(search text, phone E.164, mobile E.164) of one contact row under today's rules."""
    country = getattr(row, "country", None)
    region = country.upper() if country and len(country) == 2 else default
    text = search_text(
        name=row.name or "",  # type: ignore[attr-defined]
        name_2=row.name_2 or "",  # type: ignore[attr-defined]
        company_name=row.company_name or "",  # type: ignore[attr-defined]
        email=row.email or "",  # type: ignore[attr-defined]
        phone=row.phone or "",  # type: ignore[attr-defined]
        mobile=row.mobile or "",  # type: ignore[attr-defined]
    )
    phone = read_phone(row.phone, region) if row.phone else ""  # type: ignore[attr-defined]
    mobile = read_phone(row.mobile, region) if row.mobile else ""  # type: ignore[attr-defined]
    return text, phone, mobile


def _rescan(connection: Connection) -> None:
    """The duplicate keys under the new fold: `dupes scan` rewrites keys and open pairs."""
    from storage.duplicates.scan import scan

    session = Session(bind=connection)
    try:
        result = scan(session)
        session.flush()
        log.info("rebuilt the duplicate keys: %s", result.summary())
    finally:
        session.close()
