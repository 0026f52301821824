"""CSV cells that a spreadsheet would run as a formula, made inert on export and read back
on import.

A cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return, which some
spreadsheets skip before looking) is a formula to Excel, LibreOffice and Google Sheets:
`=HYPERLINK(…)` in a contact's name, typed in Slack or taken from an email, would run on
the desk of whoever opens the export. OWASP's advice (CSV Injection) is followed: such a
cell is written with a single quote in front, which spreadsheets show as text and hide.

That quote would break the round trip (export, then import), and phone numbers such as
`+31 20 555 0100` start with `+`, so the importers take it off again: a cell that starts
with `'` followed by one of those characters, or by another `'`, loses its first `'`. For
the round trip to be exact, the exporter also quotes a value that starts with `'` itself
(`'quoted` is written `''quoted`). A cell such as `'abc` in a hand-made file is kept as it
is.
"""

from __future__ import annotations

#: What makes a spreadsheet read a cell as a formula (OWASP CSV Injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise(cell: str) -> str:
    """`cell` as written to a CSV export: a leading formula character gets a `'` before it."""
    if cell.startswith(FORMULA_STARTS) or cell.startswith(QUOTE):
        return QUOTE + cell
    return cell


def restore(cell: str) -> str:
    """The value a CSV cell holds: a `'` that `neutralise` added is taken off again."""
    if cell.startswith(QUOTE) and cell[1:2] and cell[1:].startswith((*FORMULA_STARTS, QUOTE)):
        return cell[1:]
    return cell
