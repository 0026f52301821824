"""Parsing the words after a verb: shell-quoted positionals, `field=value` pairs and flags."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from storage.errors import UserError
from storage.text import check_text

#: `field=value`. A key may start with a digit: `salutation formula … 1=middle_name 2=surname`.
_PAIR = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_]*)=(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Arguments:
    positionals: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()

    def positional(self, index: int, what: str, usage: str) -> str:
        """The positional at `index`, or a UserError that says what is missing and how."""
        if index < len(self.positionals):
            return self.positionals[index]
        raise UserError(f"Missing {what}. Usage: {usage}")

    def rest(self, start: int) -> str:
        return " ".join(self.positionals[start:])


#: The longest command line that is read. Every field typed is 120 characters or fewer, and
#: shlex takes time quadratic in a word's length: a 1 MB word held the command for minutes.
MAX_LINE = 10_000


def split_words(text: str) -> list[str]:
    """Split a command line into words: spaces separate them, only double quotes group them
    (straight or “curly”: Slack and phones turn one into the other).

    Apostrophes are letters: `'` and `’` inside or at the start of a word are part of it
    (`find O'Brien`, `city='s-Hertogenbosch`, `d’Artagnan`), so they never open a quote. An
    unclosed double quote is a message, not a guess."""
    if len(text) > MAX_LINE:
        raise UserError(
            f"That command is {len(text):,} characters long; a command takes at most "
            f"{MAX_LINE:,}. Type the values themselves, not a whole text."
        )
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u201e", '"')
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:
        raise UserError(
            'A quote is not closed. Put double quotes around a whole value: name="Acme B.V.".'
        ) from None


def quote(value: str) -> str:
    """`value` as one word that split_words gives back: as it is when it has no space, quote or
    backslash, else in double quotes with `\\` and `"` escaped. Apostrophes need nothing (they
    are letters); curly double quotes are straightened first, as split_words does."""
    value = value.replace("\u201c", '"').replace("\u201d", '"').replace("\u201e", '"')
    if value and not any(ch.isspace() or ch in '"\\' for ch in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_arguments(words: list[str]) -> Arguments:
    """Words to positionals, fields and flags. A control character (NUL, ESC, …) in any
    word is refused here, naming the field, before a handler or the database sees it; tabs
    and line breaks may stay (a description may span lines), and single-line fields refuse
    them where they are stored (storage.text)."""
    positionals: list[str] = []
    pairs: dict[str, str] = {}
    flags: set[str] = set()
    for word in words:
        if word.startswith("--") and len(word) > 2:
            flags.add(word[2:])
            continue
        match = _PAIR.match(word)
        if match:
            key = match.group(1).lower()
            if key in pairs:
                raise UserError(f"{key} is given twice. Give each field once.")
            check_text(key, match.group(2), multiline=True)
            pairs[key] = match.group(2)
        else:
            check_text("the command", word, multiline=True)
            positionals.append(word)
    return Arguments(tuple(positionals), pairs, frozenset(flags))
