"""`codes`: list and maintain the code tables (salespeople, territories, …)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot.dispatcher import Context
from bot.registry import command
from bot.reply import Reply, Table
from storage.codes import CODE_TABLES, code_table
from storage.errors import UserError
from storage.normalize import normalize_email
from storage.setup import defaults_using

USAGE = "codes <table> [list | add <code> field=value … | set <code> field=value … | remove <code>]"


@command("codes", usage=USAGE)
def codes(ctx: Context) -> Reply:
    """List or change a code table. Changes need the admin role.

    Tables: salespeople, territories, countries, languages, jobs, industries, levels, mailing,
    salutations. `codes territories add NORTH name="North"`, `codes salespeople list`.
    """
    args = ctx.args
    if not args.positionals:
        return Reply(text="Code tables: " + ", ".join(CODE_TABLES) + f".\nUsage: {USAGE}")
    table = code_table(args.positionals[0])
    action = args.positionals[1].lower() if len(args.positionals) > 1 else "list"
    if action == "list":
        rows = table.all(ctx.session)
        if not rows:
            return Reply(text=f"No {table.name} yet. Add one: `codes {table.name} add CODE …`.")
        columns = ("code", *table.fields)
        return Reply(
            text=f"{len(rows)} {table.name}:",
            table=Table(
                columns, tuple(tuple(str(getattr(r, c) or "") for c in columns) for r in rows)
            ),
        )
    if action not in {"add", "set", "remove"}:
        raise UserError(f"Unknown action `{action}`. Usage: {USAGE}")
    ctx.require_role("admin", f"codes … {action}")
    code = args.positional(2, "the code", USAGE).strip().upper()
    if action == "add":
        code = table.check_code(code)
    unknown = [k for k in args.fields if k not in table.fields]
    if unknown:
        raise UserError(
            f"Unknown field `{unknown[0]}` for {table.name}. Fields: {', '.join(table.fields)}."
        )
    for key, value in args.fields.items():
        if key == "email" and value.strip():
            normalize_email(value)  # a salesperson's email must be one: mail and Slack match it
    if action == "add":
        if table.get(ctx.session, code) is not None:
            raise UserError(f"{table.singular.capitalize()} {code} exists already; use `set`.")
        row = table.model(code=code)  # type: ignore[call-arg]
        for key in table.fields:
            table.assign(row, key, args.fields.get(key, "").strip())
        ctx.session.add(row)
        return Reply(text=f"Added {table.singular} {code}.")
    row = table.require(ctx.session, code)
    if action == "set":
        if not args.fields:
            raise UserError(f"Say what to change: `codes {table.name} set {code} field=value`.")
        for key, value in args.fields.items():
            table.assign(row, key, value.strip())
        return Reply(text=f"Changed {table.singular} {code}: {', '.join(args.fields)}.")
    used_by_setup = defaults_using(ctx.session, table.name, code)
    if used_by_setup:
        keys = " ".join(f"{key}=" for key in used_by_setup)
        raise UserError(
            f"{table.singular.capitalize()} {code} is the setup's {', '.join(used_by_setup)}; "
            f"change that first (`setup {keys}…`)."
        )
    try:
        with ctx.session.begin_nested():
            ctx.session.delete(row)
            ctx.session.flush()
    except IntegrityError:
        raise UserError(
            f"{table.singular.capitalize()} {code} is still used by contacts or setup; "
            "change those first."
        ) from None
    return Reply(text=f"Removed {table.singular} {code}.")
