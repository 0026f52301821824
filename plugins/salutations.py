"""`salutation`: the greeting for a contact, and the formulas behind it."""

from __future__ import annotations

from bot.dispatcher import Context
from bot.inputs import ADMIN
from bot.registry import command
from bot.reply import Reply
from storage.contacts import resolve_contact
from storage.salutations import salutation_for, set_formula

USAGE = "salutation <no> [formal|informal]"
FORMULA_USAGE = (
    'salutation formula <code> formal|informal [language=<code>] text="Dear Mr. %1 %2" '
    "1=middle_name 2=surname"
)


@command("salutation", usage=USAGE)
def salutation(ctx: Context) -> Reply:
    """The greeting for a contact in its language: `salutation CT000002 formal` gives
    "Dear Mr. de Vries". Admins set formulas with `salutation formula …`."""
    args = ctx.args
    first = args.positional(0, "the contact", USAGE)
    if first.lower() == "formula":
        ctx.require_role(ADMIN, "salutation formula")
        code = args.positional(1, "the salutation code", FORMULA_USAGE)
        kind = args.positional(2, "formal or informal", FORMULA_USAGE)
        fields = dict(args.fields)
        language = fields.pop("language", "")
        text = fields.pop("text", "")
        set_formula(ctx.session, code, kind, language, text, fields)
        return Reply(
            text=f"Saved the {kind} formula of {code.upper()} "
            f"for {language.upper() or 'any language'}."
        )
    contact = resolve_contact(ctx.session, first)
    kind = args.positionals[1] if len(args.positionals) > 1 else "formal"
    return Reply(text=salutation_for(ctx.session, contact, kind))
