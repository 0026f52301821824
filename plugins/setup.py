"""`setup`: the relationship setup (defaults, inheritance switches, number series)."""

from __future__ import annotations

from bot.dispatcher import Context
from bot.inputs import ADMIN
from bot.registry import command
from bot.reply import Reply, Table
from storage.errors import UserError
from storage.setup import setup_values, update_setup


@command("setup", usage="setup [key=value …]", roles=(ADMIN,))
def setup(ctx: Context) -> Reply:
    """Show or change the relationship setup (admin).

    Defaults for new contacts (default_salesperson, default_territory, default_country,
    default_language, default_company_salutation, default_person_salutation), what persons
    inherit from their company (inherit_salesperson, inherit_territory, inherit_country,
    inherit_language, inherit_address, inherit_communication: yes/no) and the number series
    (number_prefix, number_width, number_start). Business relations: the code a link of each
    kind gives its contact (customer_relation, vendor_relation, bank_relation,
    employee_relation) and whether a new record gets a contact by itself (auto_contact).
    """
    if ctx.args.positionals:
        raise UserError("Type settings as key=value: `setup default_country=NL`.")
    if ctx.args.fields:
        changed = update_setup(ctx.session, ctx.args.fields)
        if not changed:
            return Reply(text="The setup had those values already; nothing changed.")
        return Reply(text="Changed: " + ", ".join(f"{k}={v}" for k, v in changed.items()) + ".")
    values = setup_values(ctx.session)
    return Reply(
        text="Relationship setup:",
        table=Table(("key", "value"), tuple((k, v or "(blank)") for k, v in values.items())),
    )
