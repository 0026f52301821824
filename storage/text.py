"""Text a person (or a sender) gives, checked before it is stored: control characters,
blank-looking values and the length of the column it goes into.

Why here and once: PostgreSQL refuses a NUL in any text value and a string longer than its
VARCHAR(n), so on PostgreSQL such a value ended as an internal error, while SQLite stored it
(a 100 KB code-table name, a name with a terminal escape sequence). The rules:

- No control characters: C0 (U+0000–U+001F) but tab, line feed and carriage return; DEL;
  C1 (U+0080–U+009F). Single-line fields (names, codes, every field of the contact card but
  the address lines) refuse tab and line breaks too; free text (an interaction's
  description, a snippet) and the address lines may keep them.
- A value made only of invisible characters (zero-width spaces and joiners, U+2060, U+FEFF,
  combining marks with nothing to combine with, blank Hangul fillers) "looks blank" and is
  refused where a name is required: nobody can read, find or type it again.
- Lengths come from the model's String(n), so there is one limit per field and it is the
  database's.

`install_flush_checks` adds the last line of defence: before any flush, every new or
changed string attribute of a mapped object is checked for control characters and its
column's length, so that a path without its own check still gets a message naming the field
instead of a database error.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import Enum, String, event, inspect
from sqlalchemy.orm import Session

from storage.errors import UserError

#: Control characters no stored text may hold (tab, LF and CR are handled by `multiline`).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Lone surrogates: half of a UTF-16 pair, or a byte that was not UTF-8 (surrogateescape).
_SURROGATE = re.compile("[\ud800-\udfff]")
#: What breaks a single-line value: tab, line and paragraph breaks.
_BREAKS = re.compile("[\t\n\r\x0b\x0c\x85\u2028\u2029]")
#: Letters that render as nothing (Hangul fillers, the braille blank).
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
#: Unicode categories of characters that show nothing on their own.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp"})


def check_text(field: str, value: str, *, multiline: bool = False) -> None:
    """Refuse control characters in `value` (and, unless `multiline`, tabs and line breaks),
    with a message naming `field` and the character."""
    bad = _SURROGATE.search(value)
    if bad is not None:  # JSON may carry "\udcff"; no database can store it
        raise UserError(
            f"{field}: contains U+{ord(bad.group()):04X}, which is not a character "
            "(text that was not UTF-8?); type plain text."
        )
    bad = _CONTROL.search(value)
    if bad is not None:
        raise UserError(
            f"{field}: contains the control character U+{ord(bad.group()):04X}; "
            "type plain text without it."
        )
    if not multiline:
        bad = _BREAKS.search(value)
        if bad is not None:
            what = "a tab" if bad.group() == "\t" else "a line break"
            raise UserError(f"{field}: contains {what}; type it on one line.")


def looks_blank(value: str) -> bool:
    """True for a non-empty value with nothing visible in it: only spaces, zero-width and
    format characters, combining marks, or blank fillers."""
    return all(
        ch in _INVISIBLE_LETTERS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES
        for ch in value
    )


#: Card fields that may span lines: an address pasted from a letter or a spreadsheet cell.
MULTILINE_FIELDS = frozenset({"address", "address_2"})


def check_name(field: str, value: str) -> None:
    """A name or similar value: plain text, on one line (but MULTILINE_FIELDS), and not
    blank-looking when given."""
    check_text(field, value, multiline=field in MULTILINE_FIELDS)
    if value and looks_blank(value):
        raise UserError(f"{field}: looks blank; type a {_noun(field)} with letters or digits.")


def _noun(field: str) -> str:
    return "name" if "name" in field or field == "surname" else "value"


def column_length(model: Any, key: str) -> int | None:
    """The n of String(n) of `model`'s column `key`, or None for unbounded text."""
    column = model.__table__.c[key]
    return getattr(column.type, "length", None)


def check_length(field: str, value: str, limit: int | None) -> None:
    if limit and len(value) > limit:
        raise UserError(
            f"{field}: {len(value)} characters is too long; the most is {limit}. Shorten it."
        )


def check_column(model: Any, key: str, value: str, *, field: str | None = None) -> None:
    """A single-line value for `model`'s column `key`: plain text and not too long."""
    check_name(field or key, value)
    check_length(field or key, value, column_length(model, key))


# --- the flush check ---------------------------------------------------------------------


def _check_flush(session: Session, _context: object, _instances: object) -> None:
    for obj in (*session.new, *session.dirty):
        state = inspect(obj)
        for attr in state.mapper.column_attrs:
            column = attr.columns[0]
            if not isinstance(column.type, String) or isinstance(column.type, Enum):
                continue
            value = state.dict.get(attr.key)
            if not isinstance(value, str):
                continue
            if not state.pending and not state.attrs[attr.key].history.has_changes():
                continue  # a value stored before is not this change's fault
            check_text(attr.key, value, multiline=True)
            check_length(attr.key, value, column.type.length)


def install_flush_checks() -> None:
    """Check every flush of every Session (idempotent)."""
    if not event.contains(Session, "before_flush", _check_flush):
        event.listen(Session, "before_flush", _check_flush)
