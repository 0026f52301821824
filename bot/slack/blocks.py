"""A Reply as Block Kit: the Slack sibling of bot/text_render.py.

- A card: a header with the name, its fields in sections (ten to a section), its sections
  (persons, groups, …), a context line (number, salesperson, last change) and an overflow menu
  with the card's actions.
- A table: one line per row, packed into sections; rows that start with a contact number get a
  "Show" button when there are few enough of them.
- Buttons carry the command they run in their value; "Share in channel" carries the command to
  run again and post; a Confirmation becomes a question with a "Yes" button (behind Slack's own
  confirm dialog) and "Cancel".

Everything a person typed is escaped (bot.slack.escape) and every text is kept within Slack's
limits (header 150, section text 3000, field 2000, 10 fields, 50 blocks in a message, button
value 2000, overflow option value 150), cut between characters with an ellipsis.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.reply import Button, Card, Confirmation, Reply, Table
from bot.slack.escape import escape, escape_within, plain_within
from bot.text_render import render_text

#: Action ids. Buttons are `contactbot_run:<n>` (unique within a message).
ACTION_RUN = "contactbot_run"
ACTION_MENU = "contactbot_menu"
ACTION_SHARE = "contactbot_share"
ACTION_CONFIRM = "contactbot_confirm"
ACTION_CANCEL = "contactbot_cancel"
RUN_ACTION_PATTERN = re.compile(rf"^{ACTION_RUN}(:\d+)?$")

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
HEADER_LIMIT = 150
SECTION_TEXT_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
CONTEXT_LIMIT = 2000
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
OPTION_VALUE_LIMIT = 150
OVERFLOW_MAX = 5
ACTIONS_PER_BLOCK = 25
FALLBACK_TEXT_LIMIT = 3000
ROW_BUTTONS_UP_TO = 15  # tables with more rows are shown as lines only

_CONTACT_NO = re.compile(r"^[A-Z]{1,10}\d{1,12}$")

Block = dict[str, Any]


# --- small builders ------------------------------------------------------------------------


def plain(text: str, limit: int = BUTTON_TEXT_LIMIT) -> dict[str, Any]:
    return {"type": "plain_text", "text": plain_within(text, limit), "emoji": False}


def mrkdwn(text: str) -> dict[str, Any]:
    """Already escaped mrkdwn."""
    return {"type": "mrkdwn", "text": text or " "}


def section(text: str) -> Block:
    """A section of already escaped mrkdwn (cut to the limit)."""
    if len(text) > SECTION_TEXT_LIMIT:
        text = text[: SECTION_TEXT_LIMIT - 1] + "…"
    return {"type": "section", "text": mrkdwn(text)}


def context(text: str) -> Block:
    if len(text) > CONTEXT_LIMIT:
        text = text[: CONTEXT_LIMIT - 1] + "…"
    return {"type": "context", "elements": [mrkdwn(text)]}


def button(
    label: str, action_id: str, value: str, style: str | None = None, confirm: Any = None
) -> dict[str, Any] | None:
    """A button, or None when its value would not fit (a command longer than 2,000 chars)."""
    if len(value) > BUTTON_VALUE_LIMIT:
        return None
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(label),
        "action_id": action_id,
        "value": value,
    }
    if style in ("primary", "danger"):
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirm_dialog(question: str, yes: str = "Yes, do it", no: str = "Cancel") -> dict[str, Any]:
    return {
        "title": plain("Are you sure?", 100),
        "text": mrkdwn(escape_within(question, 300)),
        "confirm": plain(yes, 30),
        "deny": plain(no, 30),
        "style": "danger",
    }


def _actions_blocks(elements: Sequence[dict[str, Any]], block_id: str = "") -> list[Block]:
    blocks: list[Block] = []
    for start in range(0, len(elements), ACTIONS_PER_BLOCK):
        block: Block = {"type": "actions", "elements": list(elements[start : start + 25])}
        if block_id:
            block["block_id"] = f"{block_id}_{start}" if start else block_id
        blocks.append(block)
    return blocks


class _Ids:
    """Unique `contactbot_run:<n>` action ids within one message."""

    def __init__(self) -> None:
        self.count = 0

    def run(self) -> str:
        self.count += 1
        return f"{ACTION_RUN}:{self.count}"


def run_buttons(buttons: Sequence[Button], ids: _Ids) -> list[dict[str, Any]]:
    elements = []
    for b in buttons:
        element = button(b.label, ids.run(), b.command, b.style)
        if element is not None:
            elements.append(element)
    return elements


# --- cards -----------------------------------------------------------------------------------


def _field_text(label: str, value: str) -> str:
    head = f"*{escape_within(label, 100)}*\n"
    return head + escape_within(value, FIELD_LIMIT - len(head))


def _lines_text(heading: str, lines: Sequence[str]) -> str:
    """`*heading*` and as many lines as fit in one section, then `…and N more`."""
    head = f"*{escape_within(heading, 200)}*"
    out = [head]
    used = len(head)
    for index, line in enumerate(lines):
        piece = escape_within(line, 500)
        rest = len(lines) - index
        reserve = len(f"\n…and {rest} more")
        if used + 1 + len(piece) + reserve > SECTION_TEXT_LIMIT and index < len(lines) - 1:
            out.append(f"…and {rest} more")
            break
        if used + 1 + len(piece) > SECTION_TEXT_LIMIT:
            out.append(f"…and {rest} more")
            break
        out.append(piece)
        used += 1 + len(piece)
    return "\n".join(out)


def _card_accessory(actions: Sequence[Button], ids: _Ids) -> dict[str, Any] | None:
    usable = [a for a in actions if len(a.command) <= OPTION_VALUE_LIMIT]
    if not usable:
        return None
    if len(usable) == 1:
        return button(usable[0].label, ids.run(), usable[0].command, usable[0].style)
    return {
        "type": "overflow",
        "action_id": ACTION_MENU,
        "options": [{"text": plain(a.label), "value": a.command} for a in usable[:OVERFLOW_MAX]],
    }


def card_blocks(card: Card, ids: _Ids | None = None) -> list[Block]:
    ids = ids or _Ids()
    blocks: list[Block] = [
        {"type": "header", "text": plain(card.title or card.subtitle or "-", HEADER_LIMIT)}
    ]
    fields = [_field_text(f.label, f.value) for f in card.fields if f.value]
    accessory = _card_accessory(card.actions, ids)
    for start in range(0, len(fields), FIELDS_PER_SECTION):
        chunk = fields[start : start + FIELDS_PER_SECTION]
        blocks.append({"type": "section", "fields": [mrkdwn(t) for t in chunk]})
    if accessory is not None:
        if len(blocks) > 1:
            blocks[1]["accessory"] = accessory
        else:
            label = escape_within(card.subtitle or card.title, 200)
            blocks.append({**section(f"*{label}*"), "accessory": accessory})
    for heading, lines in card.sections:
        blocks.append(section(_lines_text(heading, lines)))
    if card.context:
        blocks.append(context(escape_within(card.context, CONTEXT_LIMIT)))
    # Actions beyond what the overflow holds stay reachable as buttons.
    extra = [a for a in card.actions if len(a.command) <= OPTION_VALUE_LIMIT][OVERFLOW_MAX:]
    extra += [a for a in card.actions if len(a.command) > OPTION_VALUE_LIMIT]
    if extra:
        blocks += _actions_blocks(run_buttons(extra, ids))
    return blocks


# --- tables ----------------------------------------------------------------------------------


def _row_text(row: Sequence[str]) -> str:
    cells = [cell for cell in row if cell]
    if not cells:
        return ""
    first = escape_within(cells[0], 300)
    rest = " · ".join(escape_within(cell, 300) for cell in cells[1:])
    return f"*{first}*" + (f"  {rest}" if rest else "")


def table_blocks(table: Table, budget: int, ids: _Ids | None = None) -> list[Block]:
    """At most `budget` blocks for the table; what does not fit ends in `…N more rows`."""
    ids = ids or _Ids()
    rows = list(table.rows)
    if not rows or budget <= 0:
        return []
    with_buttons = (
        len(rows) <= min(ROW_BUTTONS_UP_TO, budget)
        and all(row and _CONTACT_NO.match(row[0]) for row in rows)
        and len(rows) > 0
    )
    if with_buttons:
        blocks = []
        for row in rows:
            block = section(_row_text(row))
            show = button("Show", ids.run(), f"show {row[0]}")
            if show is not None:
                block["accessory"] = show
            blocks.append(block)
        return blocks
    blocks = []
    current: list[str] = []
    used = 0
    for index, row in enumerate(rows):
        line = _row_text(row) or " "
        if current and used + 1 + len(line) > SECTION_TEXT_LIMIT:
            blocks.append(section("\n".join(current)))
            current, used = [], 0
            if len(blocks) >= budget - 1:
                blocks.append(context(f"…and {len(rows) - index} more rows not shown."))
                return blocks
        current.append(line)
        used += len(line) + (1 if used else 0)
    if current:
        blocks.append(section("\n".join(current)))
    return blocks


# --- a whole reply ---------------------------------------------------------------------------


def confirmation_blocks(confirm: Confirmation) -> list[Block]:
    yes = button(
        "Yes, run it",
        ACTION_CONFIRM,
        confirm.command,
        "danger",
        confirm=confirm_dialog(confirm.question),
    )
    no = button("Cancel", ACTION_CANCEL, confirm.command)
    elements = [e for e in (yes, no) if e is not None]
    return [
        section(f":warning: {escape_within(confirm.question, 2900)}"),
        *_actions_blocks(elements),
    ]


def reply_blocks(
    reply: Reply,
    *,
    command: str | None = None,
    shareable: bool = True,
    max_blocks: int = MAX_MESSAGE_BLOCKS,
) -> list[Block]:
    """The blocks of a reply. `command`: the command line that produced it, carried by the
    "Share in channel" button of a shareable reply; `shareable=False` leaves that button out
    (a reply that is being shared already)."""
    ids = _Ids()
    head: list[Block] = []
    if reply.confirm is not None:
        return confirmation_blocks(reply.confirm)[:max_blocks]
    if reply.text:
        text = escape_within(reply.text, SECTION_TEXT_LIMIT - 12)
        head.append(section(text if reply.ok else f":warning: {text}"))
    tail: list[Block] = []
    if reply.notes:
        tail.append(context(escape_within("\n".join(reply.notes), CONTEXT_LIMIT)))
    elements = run_buttons(reply.buttons, ids)
    if reply.shareable and shareable and command:
        share = button("Share in channel", ACTION_SHARE, command)
        if share is not None:
            elements.append(share)
    tail += _actions_blocks(elements)
    budget = max_blocks - len(head) - len(tail)
    body: list[Block] = []
    if reply.table is not None:
        body += table_blocks(reply.table, budget - 1, ids)
    for index, card in enumerate(reply.cards):
        blocks = card_blocks(card, ids)
        if body:
            blocks = [{"type": "divider"}, *blocks]
        if len(body) + len(blocks) > budget - 1:
            more = len(reply.cards) - index
            body.append(context(f"…and {more} more not shown here; use `show <no>` for each."))
            break
        body += blocks
    return [*head, *body[: max(budget, 0)], *tail][:max_blocks]


def fallback_text(reply: Reply) -> str:
    """The notification text of a message (what a phone shows), escaped and cut."""
    if reply.confirm is not None:
        return escape_within(reply.confirm.question, FALLBACK_TEXT_LIMIT)
    text = reply.text
    if not text and reply.cards:
        card = reply.cards[0]
        text = " ".join(p for p in (card.subtitle, card.title) if p)
    text = text or render_text(reply)
    return escape_within(text, FALLBACK_TEXT_LIMIT) or " "


def reply_message(
    reply: Reply, *, command: str | None = None, shareable: bool = True
) -> dict[str, Any]:
    """`text` and `blocks` for respond() or chat.postMessage."""
    return {
        "text": fallback_text(reply),
        "blocks": reply_blocks(reply, command=command, shareable=shareable),
    }


def header_text(text: str) -> str:
    """Bold one-line mrkdwn of text a person typed."""
    return f"*{escape(text)}*"
