"""Rendering a Reply as plain text, for the shell and for logs."""

from __future__ import annotations

from bot.reply import Card, Reply, Table


def render_table(table: Table) -> list[str]:
    widths = [len(c) for c in table.columns]
    for row in table.rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()

    return [line(table.columns), line(tuple("-" * w for w in widths)), *map(line, table.rows)]


def render_card(card: Card) -> list[str]:
    title = f"{card.subtitle} {card.title}" if card.subtitle else card.title
    lines = [title, "=" * len(title)]
    width = max((len(f.label) for f in card.fields), default=0)
    lines += [f"{f.label.ljust(width)}  {f.value}" for f in card.fields]
    for heading, entries in card.sections:
        lines += ["", f"{heading}:", *(f"  {entry}" for entry in entries)]
    if card.context:
        lines += ["", card.context]
    return lines


def render_text(reply: Reply) -> str:
    lines: list[str] = []
    if reply.text:
        lines.append(reply.text)
    if reply.table is not None:
        lines += render_table(reply.table)
    for card in reply.cards:
        if lines:
            lines.append("")
        lines += render_card(card)
    lines += list(reply.notes)
    if reply.buttons:
        lines.append("Next: " + " | ".join(f"{b.label}: `{b.command}`" for b in reply.buttons))
    return "\n".join(lines)
