"""Rendering a Reply as plain text, for the shell and for logs.

People's text reaches a terminal here: a name, a subject or a snippet may come from a Slack
user or an email sender, and may hold terminal escape sequences (ESC [ 2 J clears the screen,
OSC 8 makes links, some terminals answer queries) or bidi overrides that make a line read
differently from what it holds. So every piece of text is made terminal-safe when it is
rendered (`terminal_safe`): control characters are shown escaped (`\\x1b`), bidi overrides
and isolates are removed, and undecodable bytes (lone surrogates) become U+FFFD. Line
breaks stay in the reply's text and notes; in a table cell, a card's field or a button they
are shown escaped too, so a row stays one line.
"""

from __future__ import annotations

import re

from bot.reply import Card, Reply, Table

#: C0 controls but tab and line feed, DEL, C1 controls: shown as \xNN.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: The same, with tab and line feed: for text that must stay on one line.
_CONTROL_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u0085\u2028\u2029]")
#: Bidi embeddings, overrides and isolates (LRE … RLO, LRI … PDI): removed.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
#: Lone surrogates (bytes that were not UTF-8, decoded with surrogateescape).
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def terminal_safe(text: str, *, one_line: bool = False) -> str:
    """`text` with nothing a terminal would act on: controls escaped, bidi controls removed."""
    text = _SURROGATE.sub("\ufffd", _BIDI.sub("", text))
    return (_CONTROL_ONE_LINE if one_line else _CONTROL).sub(_escaped, text)


def _cell(text: str) -> str:
    return terminal_safe(text, one_line=True)


def render_table(table: Table) -> list[str]:
    columns = tuple(map(_cell, table.columns))
    rows = [tuple(map(_cell, row)) for row in table.rows]
    widths = [len(c) for c in columns]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

    return [line(columns), line(tuple("-" * w for w in widths)), *map(line, rows)]


def render_card(card: Card) -> list[str]:
    title = _cell(f"{card.subtitle} {card.title}" if card.subtitle else card.title)
    lines = [title, "=" * len(title)]
    width = max((len(f.label) for f in card.fields), default=0)
    lines += [f"{_cell(f.label).ljust(width)}  {_cell(f.value)}" for f in card.fields]
    for heading, entries in card.sections:
        lines += ["", f"{_cell(heading)}:", *(f"  {_cell(entry)}" for entry in entries)]
    if card.context:
        lines += ["", terminal_safe(card.context)]
    return lines


def render_text(reply: Reply) -> str:
    lines: list[str] = []
    if reply.text:
        lines.append(terminal_safe(reply.text))
    if reply.table is not None:
        lines += render_table(reply.table)
    for card in reply.cards:
        if lines:
            lines.append("")
        lines += render_card(card)
    lines += [terminal_safe(note) for note in reply.notes]
    if reply.buttons:
        lines.append(
            "Next: " + " | ".join(f"{_cell(b.label)}: `{_cell(b.command)}`" for b in reply.buttons)
        )
    return "\n".join(lines)
