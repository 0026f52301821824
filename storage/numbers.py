"""Whole numbers and amounts typed by a person, read with their limits.

Why not `str.isdigit()` and `int()`: `"²".isdigit()` is True but `int("²")` raises, and
`int()` takes Arabic-Indic digits, underscores and a thousand digits alike. A number a person
types here is ASCII digits only, and its range is checked where it is read, with the limit in
the message, so that a value the database cannot hold (an INTEGER above 2147483647 on
PostgreSQL, a `numeric(12,2)` above 9999999999.99) is a message, never an internal error.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from storage.errors import UserError

#: The largest value of a 32-bit INTEGER column (PostgreSQL refuses more).
INT32_MAX = 2_147_483_647

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+", re.ASCII)


def is_ascii_number(text: str) -> bool:
    """True for one or more ASCII digits and nothing else (no sign, no superscripts)."""
    return _DIGITS.fullmatch(text) is not None


def parse_whole(
    text: str, field: str, low: int, high: int, *, unit: str = "", hint: str = ""
) -> int:
    """`text` (ASCII digits, spaces around allowed) as an int from `low` to `high`.

    The message names the field and the limit: "duration: `2147483648` is too large; at most
    2147483647 minutes."
    """
    word = text.strip()
    suffix = f" {unit}" if unit else ""
    tail = f" {hint}" if hint else ""
    if not is_ascii_number(word):
        raise UserError(
            f"{field}: `{short(word)}` is not a whole number; type digits 0-9, "
            f"from {low} to {high}{suffix}.{tail}"
        )
    if len(word.lstrip("0")) > len(str(high)) or int(word) > high:
        raise UserError(f"{field}: `{short(word)}` is too large; at most {high}{suffix}.{tail}")
    number = int(word)
    if number < low:
        raise UserError(f"{field}: `{word}` is too small; at least {low}{suffix}.{tail}")
    return number


def parse_amount(text: str, field: str, *, places: int, digits: int) -> Decimal:
    """A non-negative amount that fits `numeric(digits, places)`, rounded to `places`.

    A comma is taken as the decimal point (12,50). NaN, Infinity and exponents are refused:
    they are not amounts anyone types, and the database cannot store the first two.
    """
    word = text.strip().replace(",", ".")
    if _AMOUNT.fullmatch(word) is None:
        raise UserError(f"{field}: `{short(text.strip())}` is not an amount. Type it like 12.50.")
    try:
        value = Decimal(word).quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:  # far too many digits to round
        value = None
    highest = Decimal(10) ** (digits - places) - Decimal(1).scaleb(-places)
    if value is None or value > highest:
        raise UserError(f"{field}: `{short(word)}` is too large; at most {highest}.")
    return value


def short(text: str, limit: int = 30) -> str:
    """A typed value echoed in a message, cut short (a message must not repeat a megabyte)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
