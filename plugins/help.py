"""`help` and `help <verb>`, written from the registered handlers' usage and docstrings.

The list fits a 100-column terminal: each row is a usage of at most USAGE_WIDTH characters and
a summary of at most SUMMARY_WIDTH (an example after a colon is left to `help <verb>`, and what
is still too long is cut at a word with "…"), two spaces apart.
"""

from __future__ import annotations

import difflib

from bot.dispatcher import Context
from bot.registry import command
from bot.reply import Reply, Table
from storage.numbers import short

#: How a command line is split into words, said once under the list of commands (one line
#: each, within the width below).
WORDS = (
    'Words are separated by spaces; only double quotes group them: name="Acme B.V.".',
    "Apostrophes are letters, never quotes: find O'Brien, city='s-Hertogenbosch, d’Artagnan.",
)

#: The shell's width for `help` (a 100-column terminal), and its two columns within it.
WIDTH = 100
USAGE_WIDTH = 44
SUMMARY_WIDTH = WIDTH - USAGE_WIDTH - 2


def _fit(text: str, width: int) -> str:
    """`text`, or its words up to `width` characters with "…" at the end."""
    if len(text) <= width:
        return text
    head = text[: width - 1]
    at = max(head.rfind(" "), head.rfind("|"))
    cut = (head[:at] if at > 0 else head).rstrip(" ,;:|")
    return f"{cut}…"


def _without_example(summary: str) -> str:
    """ "Alternate addresses: `address CT000001 add …`." as "Alternate addresses.": the
    examples are what `help <verb>` is for."""
    head, colon, _ = summary.partition(": `")
    return f"{head}." if colon and head else summary


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
    rows = tuple(
        (_fit(spec.usage, USAGE_WIDTH), _fit(_without_example(spec.summary), SUMMARY_WIDTH))
        for _, spec in sorted(commands.items())
    )
    return Reply(
        text="Commands (type `help <command>` for details):",
        table=Table(("usage", "what it does"), rows),
        notes=WORDS,
    )
