"""Alternate addresses of a contact, with an optional date range."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from storage.codes import code_table
from storage.errors import UserError
from storage.models import AltAddress, Contact
from storage.normalize import normalize_email, parse_phone

ALT_ADDRESS_FIELDS = (
    "company_name",
    "address",
    "address_2",
    "city",
    "post_code",
    "county",
    "country",
    "phone",
    "email",
    "from",
    "to",
)


def _date(key: str, value: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"{key}: `{value}` is not a date. Type it as 2026-12-31.") from None


def add_alt_address(session, contact: Contact, code: str, fields: Mapping[str, str]) -> AltAddress:  # type: ignore[no-untyped-def]
    """Add an alternate address; `from`/`to` bound when it is in force."""
    code = code.strip().upper()
    if not code or len(code) > 20:
        raise UserError("An alternate address needs a code of up to 20 characters, like BRANCH.")
    unknown = [key for key in fields if key not in ALT_ADDRESS_FIELDS]
    if unknown:
        raise UserError(
            f"Unknown address field `{unknown[0]}`. Fields: {', '.join(ALT_ADDRESS_FIELDS)}."
        )
    if any(a.code == code for a in contact.alt_addresses):
        raise UserError(f"{contact.no} has an alternate address {code} already.")
    address = AltAddress(code=code)
    for key in ("company_name", "address", "address_2", "city", "post_code", "county"):
        setattr(address, key, fields.get(key, "").strip())
    country = fields.get("country", "").strip()
    address.country = (
        code_table("countries").require(session, country, "country").code if country else None
    )  # type: ignore[attr-defined]
    region = address.country or contact.country
    if fields.get("phone"):
        parse_phone("phone", fields["phone"], region if region and len(region) == 2 else None)
        address.phone = fields["phone"].strip()
    if fields.get("email"):
        address.email_normalized = normalize_email(fields["email"])
        address.email = fields["email"].strip()
    address.starting_date = _date("from", fields.get("from", ""))
    address.ending_date = _date("to", fields.get("to", ""))
    if (
        address.starting_date
        and address.ending_date
        and address.ending_date < address.starting_date
    ):
        raise UserError("to: the end date is before the start date.")
    contact.alt_addresses.append(address)
    return address


def remove_alt_address(contact: Contact, code: str) -> None:
    code = code.strip().upper()
    for address in contact.alt_addresses:
        if address.code == code:
            contact.alt_addresses.remove(address)
            return
    codes = ", ".join(a.code for a in contact.alt_addresses) or "none"
    raise UserError(f"{contact.no} has no alternate address {code} (it has: {codes}).")
