"""The interaction log commands: `log` an interaction by hand, and read a contact's `history`."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from bot.dispatcher import Context
from bot.inputs import PERMALINK, SNIPPET, TEMPLATE_DESCRIPTION
from bot.registry import command
from bot.reply import Reply, Table
from storage.contacts import resolve_contact
from storage.errors import UserError
from storage.interactions import (
    INBOUND,
    OUTBOUND,
    ensure_template,
    history,
    record_interaction,
)
from storage.numbers import INT32_MAX, is_ascii_number, parse_amount, parse_whole, short

LOG_USAGE = (
    'log <no> <template> "<description>" [direction=in|out] [duration=30m] [cost=…] [date=…]'
)
HISTORY_USAGE = "history <no> [limit]"
_DURATION = re.compile(r"^(?:([0-9]+)\s*h)?\s*(?:([0-9]+)\s*m(?:in)?)?$", re.IGNORECASE)
_DIRECTIONS = {"in": INBOUND, "inbound": INBOUND, "out": OUTBOUND, "outbound": OUTBOUND}
_LOG_FIELDS = {"direction", "duration", "cost", "date", "initiated", "description"}


def parse_duration(text: str) -> int:
    """Minutes from `30m`, `1h`, `1h30m` or a bare number of minutes (ASCII digits only:
    `²` passes str.isdigit), at most what the database's INTEGER column holds."""
    text = text.strip()
    if is_ascii_number(text):
        return parse_whole(text, "duration", 0, INT32_MAX, unit="minutes")
    match = _DURATION.match(text)
    if not text or not match or not any(match.groups()):
        raise UserError(
            f"duration: `{short(text)}` is not a duration. Type it like 30m, 1h or 1h30m."
        )
    hours, minutes = match.group(1) or "0", match.group(2) or "0"
    # a length guard first: int() of thousands of digits is slow, and refused past 4300
    too_long = len(hours.lstrip("0")) > 10 or len(minutes.lstrip("0")) > 10
    total = INT32_MAX + 1 if too_long else int(hours) * 60 + int(minutes)
    if total > INT32_MAX:
        raise UserError(f"duration: `{short(text)}` is too large; at most {INT32_MAX} minutes.")
    return total


def parse_when(text: str) -> dt.datetime:
    """`2026-11-20`, `2026-11-20 14:30` or `2026-11-20T14:30`, read as UTC."""
    text = text.strip()
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise UserError(f'date: `{text}` is not a date. Type it like 2026-11-20 or "2026-11-20 14:30".')


def parse_cost(text: str) -> Decimal:
    """An amount that fits the cost column, numeric(12,2): NaN, Infinity, exponents and
    9999999999.999 (which rounds past the column) are refused with the limit."""
    return parse_amount(text, "cost", places=2, digits=12)


@command("log", usage=LOG_USAGE)
def log_interaction(ctx: Context) -> Reply:
    """Log an interaction on a contact's history.

    `log CT000002 CALL "Discussed the renewal" duration=20m`
    `log CT000002 MEETING "Demo at their office" direction=out date=2026-11-20`
    Templates are a code table (`codes interactions list`). direction=in means they started it.
    """
    args = ctx.args
    invocation = ctx.invocation
    contact = resolve_contact(ctx.session, args.positional(0, "the contact's number", LOG_USAGE))
    template = args.positional(1, "the template (EMAIL, CALL, MEETING, NOTE, …)", LOG_USAGE)
    description = args.rest(2) or args.fields.get("description", "")
    for key in args.fields:
        if key not in _LOG_FIELDS:
            raise UserError(
                f"{key}: not a field of `log`. Fields: {', '.join(sorted(_LOG_FIELDS))}."
            )
    direction_word = args.fields.get("direction", "out").strip().lower()
    if direction_word not in _DIRECTIONS:
        raise UserError(f"direction: `{direction_word}` is not in or out.")
    initiated = args.fields.get("initiated")
    if invocation.extra.get(TEMPLATE_DESCRIPTION):  # an adapter's own template (SLACK)
        ensure_template(ctx.session, template, invocation.extra[TEMPLATE_DESCRIPTION])
    interaction = record_interaction(
        ctx.session,
        contact,
        template,
        description,
        direction=_DIRECTIONS[direction_word],
        initiated_by=initiated.strip().lower() if initiated else None,
        salesperson=ctx.actor.salesperson_code,
        occurred_at=parse_when(args.fields["date"]) if "date" in args.fields else None,
        duration_minutes=parse_duration(args.fields["duration"])
        if "duration" in args.fields
        else None,
        cost=parse_cost(args.fields["cost"]) if "cost" in args.fields else None,
        source=invocation.source if invocation.source in ("shell", "slack", "api") else "api",
        reference=invocation.extra.get(PERMALINK, ""),
        key=invocation.key,
        snippet=invocation.extra.get(SNIPPET, ""),
    )
    if invocation.key:  # a message logged from where it was (the Slack shortcut)
        return Reply(text=f"Logged the message on {contact.no} ({contact.name}).")
    return Reply(
        text=f"Logged {interaction.template} ({interaction.direction}) on {contact.no} "
        f"{contact.name}: {interaction.description}"
    )


def _arrow(direction: str) -> str:
    return "in" if direction == INBOUND else "out"


@command("history", usage=HISTORY_USAGE)
def show_history(ctx: Context) -> Reply:
    """A contact's interactions, newest first; a company's include its persons'.

    `history CT000001` shows the last 20; `history CT000001 50` shows more.
    """
    args = ctx.args
    contact = resolve_contact(
        ctx.session, args.positional(0, "the contact's number", HISTORY_USAGE)
    )
    limit = 20
    if len(args.positionals) > 1:
        limit = parse_whole(args.positionals[1], "limit", 1, 1000, hint=f"Usage: {HISTORY_USAGE}")
    total, lines = history(ctx.session, contact, limit)
    noun = "interaction" if total == 1 else "interactions"
    text = f"{total} {noun}"
    notes: tuple[str, ...] = ()
    if total > len(lines):
        notes = (f"Newest {len(lines)} shown: `history {contact.no} {min(total, 1000)}` for more.",)
    if not lines:
        return Reply(text=text)
    rows = tuple(
        (
            f"{line.interaction.occurred_at:%Y-%m-%d %H:%M}",
            line.interaction.template,
            _arrow(line.interaction.direction),
            "" if line.own else f"{line.contact_no} {line.contact_name}",
            line.interaction.description,
            line.interaction.snippet[:80],
        )
        for line in lines
    )
    return Reply(
        text=text,
        table=Table(("date", "template", "dir", "person", "subject", "snippet"), rows),
        shareable=True,
        notes=notes,
    )
