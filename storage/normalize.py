"""Normalising what people type: phone numbers, email addresses, names and search text.

Phone numbers are parsed with `phonenumbers` and kept twice: as entered (for display) and in
E.164 (for matching). Emails are checked with `email-validator` (syntax only: no DNS, since
the store must work offline) and normalised to lower case with an IDNA domain.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from storage.errors import UserError


def parse_phone(field: str, value: str, region: str | None) -> str:
    """Return the E.164 form of `value`, or raise a UserError naming `field` and why.

    A number without a country prefix is read in `region` (the contact's country or the
    setup's default country); without one, the person is asked to add the prefix.
    """
    value = value.strip()
    if not value:
        return ""
    if not re.search(r"\d", value):
        raise UserError(f"{field}: `{value}` has no digits. Type a number like +31 20 555 0100.")
    try:
        parsed = phonenumbers.parse(value, (region or "").upper() or None)
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise UserError(
                f"{field}: `{value}` has no country code. Type it with one, like +31 20 555 0100,"
                " or set the contact's country first."
            ) from None
        raise UserError(
            f"{field}: `{value}` is not a phone number. Type it like +31 20 555 0100."
        ) from None
    if not phonenumbers.is_possible_number(parsed):
        raise UserError(
            f"{field}: `{value}` has the wrong number of digits for its country. "
            "Check it, and type it like +31 20 555 0100."
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str, field: str = "email") -> str:
    """Return the normalised address (lower case, IDNA domain) or raise a UserError."""
    value = value.strip()
    if not value:
        return ""
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise UserError(
            f"{field}: `{value}` is not an email address ({error}). Type it like jan@acme.example."
        ) from None
    local, _, _ = result.normalized.rpartition("@")
    return f"{local.lower()}@{result.ascii_domain.lower()}"


@dataclass(frozen=True)
class NameParts:
    first_name: str
    middle_name: str
    surname: str


def break_down_name(name: str) -> NameParts:
    """Business Central's name breakdown: the last word is the surname; with three or more
    words the second-to-last is the middle name and the rest is the first name."""
    words = name.split()
    if not words:
        return NameParts("", "", "")
    if len(words) == 1:
        return NameParts("", "", words[0])
    if len(words) == 2:
        return NameParts(words[0], "", words[1])
    return NameParts(" ".join(words[:-2]), words[-2], words[-1])


def fold(text: str) -> str:
    """Lower case without accents and with single spaces: the form the search index holds."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def search_text(
    *, name: str, name_2: str, company_name: str, email: str, phone: str, mobile: str
) -> str:
    """The text `find` matches against: names, company name, email and phone digits."""
    parts = [name, name_2, company_name, email, digits(phone), digits(mobile)]
    return fold(" ".join(part for part in parts if part))
