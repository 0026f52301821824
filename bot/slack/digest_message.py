"""The duplicate digest as one Slack message: the new pairs, grouped per salesperson, each with
Merge and Not a duplicate.

The buttons are the ones `new` and `dupes` show (plugins.duplicates.pair_buttons) with the
`contactbot_run:<n>` action ids the Slack adapter already handles, so a click runs `merge` or
`separate` as the person who clicked, with their rights and `merge`'s confirmation. The newer
contact (the higher number of the pair) is offered for merging into the older one. Names are
escaped; a salesperson is mentioned only by a well-formed Slack user id. A message holds at most
50 blocks: pairs that do not fit are counted at the end, and `dupes` lists them all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.slack.blocks import ACTION_RUN, MAX_MESSAGE_BLOCKS, button, context, plain, section
from bot.slack.escape import escape_within
from plugins.duplicates import pair_buttons
from storage.duplicates.owned import OwnedPair, Owner

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
Block = dict[str, Any]


def owner_label(owners: Sequence[Owner]) -> str:
    """`*Sam Sales* (SAM) <@U0123>` for each salesperson, escaped; "No salesperson" for none."""
    if not owners:
        return "*No salesperson*"
    parts = []
    for owner in owners:
        text = f"*{escape_within(owner.name or owner.code, 100)}*"
        if owner.name:
            text += f" ({escape_within(owner.code, 20)})"
        if _USER_ID.fullmatch(owner.slack_user_id):
            text += f" <@{owner.slack_user_id}>"
        parts.append(text)
    return " · ".join(parts)


def pair_line(owned: OwnedPair) -> str:
    pair = owned.pair
    return (
        f"*{escape_within(pair.no_2, 20)}* {escape_within(pair.name_2, 100)}  ↔  "
        f"*{escape_within(pair.no_1, 20)}* {escape_within(pair.name_1, 100)}\n"
        f"score {pair.score:.0f} · {escape_within(pair.why, 1000)}"
    )


def pair_blocks(owned: OwnedPair, first_action: int) -> list[Block]:
    """The pair's line and its two buttons (action ids `contactbot_run:<first_action>` and the
    next one, unique within a message or view as long as callers count on)."""
    elements = []
    for offset, b in enumerate(pair_buttons(owned.pair, owned.pair.no_2)):
        element = button(b.label, f"{ACTION_RUN}:{first_action + offset}", b.command, b.style)
        if element is not None:
            elements.append(element)
    return [section(pair_line(owned)), {"type": "actions", "elements": elements}]


def grouped(pairs: Sequence[OwnedPair]) -> list[tuple[tuple[Owner, ...], list[OwnedPair]]]:
    """Pairs per salesperson (or pair of salespeople), by code; those without one last."""
    groups: dict[tuple[Owner, ...], list[OwnedPair]] = {}
    for owned in pairs:
        groups.setdefault(owned.owners, []).append(owned)
    return sorted(groups.items(), key=lambda item: (not item[0], [o.code for o in item[0]]))


def digest_message(pairs: Sequence[OwnedPair]) -> dict[str, Any]:
    """`text` and `blocks` for chat.postMessage."""
    count = len(pairs)
    noun = "pair" if count == 1 else "pairs"
    title = f"Possible duplicates: {count} new {noun} since the last digest"
    blocks: list[Block] = [
        {"type": "header", "text": plain(title, 150)},
        context(
            "Merge asks before it changes anything and `unmerge` undoes it; "
            "`/contact dupes` lists every open pair."
        ),
    ]
    groups = grouped(pairs)
    headed = any(owners for owners, _ in groups)
    room = MAX_MESSAGE_BLOCKS - len(blocks) - 1  # one for "…and N more"
    shown = 0
    buttons = 0
    for owners, members in groups:
        if headed:
            if room < 3:  # a heading with no pair under it says nothing
                break
            blocks.append(section(owner_label(owners)))
            room -= 1
        for owned in members:
            if room < 2:
                break
            blocks += pair_blocks(owned, buttons + 1)
            buttons += 2
            room -= 2
            shown += 1
    rest = count - shown
    if rest:
        more = "pair" if rest == 1 else "pairs"
        blocks.append(context(f"…and {rest} more new {more}: `/contact dupes` lists them all."))
    return {"text": title, "blocks": blocks}
