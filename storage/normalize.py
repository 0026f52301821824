"""Normalising what people type: phone numbers, email addresses, names and search text.

Phone numbers are kept twice: as entered (for display, always) and in E.164 (for matching,
search and export) when `phonenumbers` reads the typed text as a valid number in the
contact's country. Emails are checked with `email-validator` (syntax only: no DNS, since
the store must work offline) and normalised to lower case with an IDNA domain.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from anyascii import anyascii
from email_validator import EmailNotValidError, validate_email

from storage.errors import UserError


def parse_phone(field: str, value: str, region: str | None) -> str:
    """The E.164 form of `value` read in `region`, or "" when it cannot be read as a valid
    number there (a local number and no country, a foreign number typed without its `+`).

    A phone is never refused for being local: Business Central, Outlook and every CRM keep it
    as typed, and so does the card; only a value without a single digit is refused (it is no
    phone). See storage.phones for the note a reply gives and the re-reading on a country
    change."""
    value = value.strip()
    if not value:
        return ""
    if not re.search(r"\d", value):
        raise UserError(f"{field}: `{value}` has no digits. Type a number like +31 20 555 0100.")
    return read_phone(value, region)


def read_phone(value: str, region: str | None) -> str:
    """E.164 of `value` when phonenumbers reads it as a valid number, else "".

    A number with `+` (or the international `00`) is read by its own country code; one
    without is read in `region` only (never in some other country by default)."""
    text = value.strip()
    if text.startswith("00") and not region:
        text = "+" + text[2:]
    wanted = (region or "").upper() or None
    if not text.startswith("+") and wanted is None:
        return ""
    try:
        parsed = phonenumbers.parse(text, wanted)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_international(value: str) -> bool:
    """A phone typed with its country code (`+47 …`, `0047 …`): its reading does not depend
    on the contact's country."""
    text = value.strip()
    return text.startswith("+")


def normalize_email(value: str, field: str = "email") -> str:
    """Return the normalised address (lower case, IDNA domain) or raise a UserError.

    An address whose local part is plain ASCII (a dot-atom) within the length limits has its
    domain checked once per domain (_checked_domain): what email-validator says of the
    domain does not depend on the local part, and checking a domain's labels character by
    character was a fifth of an import's validation. Anything else goes to email-validator
    whole; tests/test_email_normalize.py holds the two ways to the same answers."""
    value = value.strip()
    if not value:
        return ""
    local, at, domain = value.rpartition("@")
    if (
        at
        and len(value) <= _SHORT_ADDRESS
        and len(local) <= _SHORT_LOCAL
        and domain.isascii()
        and _DOT_ATOM.fullmatch(local)
    ):
        ok, checked = _checked_domain(domain)
        if not ok:
            raise UserError(_not_an_email(field, value, checked))
        return f"{local.lower()}@{checked}"
    return email_by_validator(value, field)


def email_by_validator(value: str, field: str = "email") -> str:
    """normalize_email by email-validator alone (every address takes this way but the plain
    ones)."""
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise UserError(_not_an_email(field, value, str(error))) from None
    local, _, _ = result.normalized.rpartition("@")
    return f"{local.lower()}@{result.ascii_domain.lower()}"


def _not_an_email(field: str, value: str, reason: str) -> str:
    return f"{field}: `{value}` is not an email address ({reason}). Type it like jan@acme.example."


#: RFC 5322's dot-atom of ASCII atext: what nearly every address before its @ is.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
#: Well inside email-validator's limits (254 for the address, 64 before the @).
_SHORT_ADDRESS, _SHORT_LOCAL = 250, 64


@lru_cache(maxsize=20_000)
def _checked_domain(domain: str) -> tuple[bool, str]:
    """(True, the domain in lower-case ASCII) or (False, email-validator's reason)."""
    try:
        result = validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError as error:
        return False, str(error)
    return True, result.ascii_domain.lower()


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
    """Lower case, transliterated to ASCII, single spaces: the form search and the duplicate
    keys compare (storage.duplicates.normalize.fold builds on it).

    Accents are stripped by decomposition (é -> e); a letter that has no decomposition is
    transliterated with anyascii instead of dropped (Ø -> o, Ł -> l, Æ -> ae, Đ -> d,
    Þ -> th, Œ -> oe, ß -> ss; other scripts likewise), so `Ørsted A/S` folds as `orsted a/s`
    and meets `Orsted AS`. The typographic apostrophe becomes `'`."""
    if text.isascii():
        return " ".join(text.lower().split())
    return " ".join(_transliterate(text).casefold().split())


@lru_cache(maxsize=100_000)
def _transliterate(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    out: list[str] = []
    for ch in decomposed:
        if ch.isascii():
            out.append(ch)
        elif not unicodedata.combining(ch):
            out.append(_letter(ch))
    return "".join(out)


def _letter(ch: str) -> str:
    """One character in ASCII: a letter, digit or punctuation mark as anyascii reads it (a
    letter it has no reading for stays as it is: a letter is never dropped); a symbol (an
    emoji, a currency sign) is a space, not a word like `:grinning:`."""
    if ch.isalnum():
        return anyascii(ch) or ch
    if unicodedata.category(ch).startswith("P"):
        return anyascii(ch) or " "
    return " "


def digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def search_text(
    *, name: str, name_2: str, company_name: str, email: str, phone: str, mobile: str
) -> str:
    """The text `find` matches against: names, company name, email and phone digits."""
    parts = [name, name_2, company_name, email, digits(phone), digits(mobile)]
    return fold(" ".join(part for part in parts if part))
