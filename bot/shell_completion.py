"""Completion at the `contactbot shell` prompt: the verbs, then contacts by find's ranking.

The first word completes to a verb. After it, the words typed so far (not the `field=value`
pairs) are a find query: the contacts find ranks first for them (storage.lookups'
contacts_matching, the same ranking as `find` and Slack's option search, read through the
dispatcher like every adapter's reads) are offered. For `find` the completion is the
contact's name; for every other verb it is the contact's number, which names it exactly
(`set CT000012 …`). A failing look-up offers nothing and is logged: completion never breaks
the prompt.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable, Iterable, Sequence

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from bot.runtime import App
from storage.lookups import contacts_matching
from storage.models import Contact

log = logging.getLogger(__name__)

#: At most this many contacts are offered.
OFFERED = 10
#: A query shorter than this offers no contacts (every contact holds "a").
SHORTEST = 2

#: What looks contacts up: `lookup(query, limit)`, run through the dispatcher.
Lookup = Callable[[str, int], Sequence[Contact]]


class ShellCompleter(Completer):
    """Verbs first, then contacts (see the module docstring)."""

    def __init__(self, verbs: Iterable[str], lookup: Lookup) -> None:
        self.verbs = sorted(verbs)
        self.lookup = lookup

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        typed = document.text_before_cursor
        if " " not in typed.lstrip():
            word = typed.lstrip()
            for verb in self.verbs:
                if verb.startswith(word.lower()):
                    yield Completion(verb, start_position=-len(word))
            return
        verb, _, rest = typed.lstrip().partition(" ")
        fragment = _fragment(rest)
        if len(fragment.strip()) < SHORTEST:
            return
        try:
            contacts = self.lookup(fragment.strip(), OFFERED)
        except Exception:  # a completion must never take the prompt down
            log.exception("shell completion: looking up contacts failed")
            return
        for contact in contacts:
            text = shlex.quote(contact.name) if verb == "find" else contact.no
            company = contact.company_name if not contact.is_company else ""
            yield Completion(
                text,
                start_position=-len(fragment),
                display=f"{contact.no} {contact.name}",
                display_meta=company or contact.city or "",
            )


def _fragment(rest: str) -> str:
    """The words after the verb that the completion replaces: those after the last
    `field=value` pair (the pairs stay as typed)."""
    words = rest.split(" ")
    for i in range(len(words) - 1, -1, -1):
        if "=" in words[i]:
            return " ".join(words[i + 1 :])
    return rest


def shell_completer(app: App) -> ShellCompleter:
    """The completer for an App: its registry's verbs and `exit`, and contacts_matching run
    through its dispatcher (one transaction per look-up, as Slack's option search)."""
    dispatcher = app.dispatcher

    def lookup(query: str, limit: int) -> Sequence[Contact]:
        return dispatcher.query(contacts_matching, query, limit)

    return ShellCompleter([*app.registry.verbs(), "exit"], lookup)
