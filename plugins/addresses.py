"""`address`: alternate addresses of a contact."""

from __future__ import annotations

import datetime as dt

from bot.dispatcher import Context
from bot.registry import command
from bot.reply import Reply, Table
from storage.alt_addresses import add_alt_address, remove_alt_address
from storage.contacts import resolve_contact
from storage.errors import UserError

USAGE = "address <no> [list | add <code> field=value … [from=YYYY-MM-DD] [to=…] | remove <code>]"


@command("address", usage=USAGE)
def address(ctx: Context) -> Reply:
    """Alternate addresses: `address CT000001 add BRANCH address="Coolsingel 2" city=Rotterdam
    from=2026-01-01`. `show` shows the one in force today."""
    args = ctx.args
    contact = resolve_contact(ctx.session, args.positional(0, "the contact", USAGE))
    action = args.positionals[1].lower() if len(args.positionals) > 1 else "list"
    if action == "list":
        today = dt.date.today()
        rows = tuple(
            (
                a.code,
                ", ".join(p for p in (a.address, a.post_code, a.city) if p),
                str(a.starting_date or ""),
                str(a.ending_date or ""),
                "yes" if a.in_force(today) else "",
            )
            for a in contact.alt_addresses
        )
        if not rows:
            return Reply(text=f"{contact.no} has no alternate addresses.")
        return Reply(
            text=f"Alternate addresses of {contact.no} {contact.name}:",
            table=Table(("code", "address", "from", "to", "in force"), rows),
        )
    code = args.positional(2, "the address code", USAGE)
    if action == "add":
        add_alt_address(ctx.session, contact, code, args.fields)
        return Reply(text=f"Added alternate address {code.upper()} to {contact.no}.")
    if action == "remove":
        remove_alt_address(contact, code)
        return Reply(text=f"Removed alternate address {code.upper()} from {contact.no}.")
    raise UserError(f"Unknown action `{action}`. Usage: {USAGE}")
