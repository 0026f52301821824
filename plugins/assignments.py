"""`assign` and `unassign`: job responsibilities, industry groups, mailing groups, level."""

from __future__ import annotations

from bot.dispatcher import Context
from bot.registry import command
from bot.reply import Reply
from storage.assignments import ASSIGNABLES, assign, unassign
from storage.contacts import resolve_contact
from storage.errors import UserError

ASSIGN_USAGE = "assign <no> job|industry|mailing|level=<code> …"
UNASSIGN_USAGE = "unassign <no> job|industry|mailing|level=<code> …"


def _pairs(ctx: Context, usage: str) -> dict[str, str]:
    if not ctx.args.fields:
        raise UserError(f"Say what to assign as group=code. Usage: {usage}")
    unknown = [k for k in ctx.args.fields if k not in ASSIGNABLES]
    if unknown:
        raise UserError(f"Unknown group `{unknown[0]}`. Use one of: {', '.join(ASSIGNABLES)}.")
    return ctx.args.fields


@command("assign", usage=ASSIGN_USAGE)
def assign_command(ctx: Context) -> Reply:
    """Give a contact a job responsibility (persons), industry group (companies), mailing
    group (both) or organizational level (persons): `assign CT000002 job=PURCH mailing=NEWS`."""
    contact = resolve_contact(ctx.session, ctx.args.positional(0, "the contact", ASSIGN_USAGE))
    done = [
        f"{word} {assign(ctx.session, contact, word, code)}"
        for word, code in _pairs(ctx, ASSIGN_USAGE).items()
    ]
    return Reply(text=f"{contact.no} {contact.name} now has {', '.join(done)}.")


@command("unassign", usage=UNASSIGN_USAGE)
def unassign_command(ctx: Context) -> Reply:
    """Remove a job responsibility, industry group, mailing group or level from a contact."""
    contact = resolve_contact(ctx.session, ctx.args.positional(0, "the contact", UNASSIGN_USAGE))
    done = [
        f"{word} {unassign(ctx.session, contact, word, code)}"
        for word, code in _pairs(ctx, UNASSIGN_USAGE).items()
    ]
    return Reply(text=f"Removed from {contact.no} {contact.name}: {', '.join(done)}.")
