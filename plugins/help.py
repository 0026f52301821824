"""`help` and `help <verb>`, written from the registered handlers' usage and docstrings."""

from __future__ import annotations

import difflib

from bot.dispatcher import Context
from bot.registry import command
from bot.reply import Reply, Table
from storage.numbers import short

#: How a command line is split into words, said once under the list of commands.
WORDS = (
    'Words are separated by spaces; only double quotes group them: name="Acme B.V.". '
    "Apostrophes are letters, never quotes: find O'Brien, city='s-Hertogenbosch, d’Artagnan."
)


@command("help", usage="help [verb]")
def help_command(ctx: Context) -> Reply:
    """List the commands, or explain one: `help new`.

    Words are separated by spaces; only double quotes (straight or curly) group them:
    `name="Acme B.V."`. Apostrophes (' and ’) are letters, never quotes: `find O'Brien`,
    `city='s-Hertogenbosch`."""
    commands = ctx.registry.commands
    if ctx.args.positionals:
        verb = ctx.args.positionals[0].lower()
        spec = commands.get(verb)
        if spec is None:
            close = difflib.get_close_matches(verb, list(commands), n=1, cutoff=0.5)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            return Reply.error(f"No command `{short(verb)}`.{hint} Type `help` for the list.")
        roles = ", ".join(sorted(spec.roles))
        return Reply(text=f"Usage: {spec.usage}\n\n{spec.help}\n\nRoles: {roles}")
    rows = tuple((spec.usage, spec.summary) for _, spec in sorted(commands.items()))
    return Reply(
        text=f"Commands (type `help <command>` for details). {WORDS}",
        table=Table(("usage", "what it does"), rows),
    )
