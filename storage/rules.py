"""The rule set a store is opened with: what runs when a contact is created, changed,
retyped, deleted, merged or imported in bulk (a part in each import: storage/importing).

Why one object instead of hook lists that importing a module fills: which rules hold is then
decided where the store is opened (by the enabled plugins, through the registry), not by which
modules happened to be imported first, and a test sees exactly the rules it asked for.

`Store(url, rules)` puts the rules in every session's `info` (key `RULES_KEY`); the code that
writes contacts reads them with `rules_of(session)`. A Store opened without rules has only
`integrity_rules()`: what keeps stored data consistent whichever plugins are on (a deleted
contact's interactions, duplicate pairs and business links go with it; a contact with
interactions or business relations keeps its type; a linked contact's change reaches its
records, and a merge moves its links, also from an instance that enables only the contact
commands: tests/test_relations_cli.py). The plugins add the rest: the duplicates plugin keys
every contact written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storage.contacts import ChangeResult
    from storage.importing.progress import Progress
    from storage.models import Contact, ContactType

RULES_KEY = "rules"

#: Called with each contact just created (flushed, numbered), in the same transaction.
CreateHook = Callable[["Session", "Contact"], None]
#: Called by `update_contact` once the contact's own change is applied (and pushed down to a
#: company's persons), in the same transaction.
ChangeHook = Callable[["Session", "ChangeResult"], None]
#: Called with each contact about to be deleted, so that dependent stores can clean up or refuse.
DeleteHook = Callable[["Session", "Contact"], None]
#: Returns a reason why `contact` may not become `new_type`, or None.
TypeChangeGuard = Callable[["Session", "Contact", "ContactType"], "str | None"]


class BulkImport(Protocol):
    """A rule's part in one bulk import, whose rows pass no create hook: it sees each good row
    as it is validated and each batch as it is written, in the import's own transaction."""

    def row(self, draft: Any) -> Any:
        """In a validation worker (a forked process for large files): what `written` gets for
        this row, a marshal-able value. `draft` has the contact's columns as attributes
        (no id yet)."""

    def begin(self, session: Session) -> None:
        """In the import's transaction, before its first row is written."""

    def written(self, session: Session, ids: Sequence[int], extras: Sequence[Any]) -> None:
        """A batch just written: the new contacts' ids and what `row` gave for each."""

    def finish(self, session: Session, progress: Progress) -> None:
        """Every row is written; still in the import's transaction."""


#: Called once per import before its rows are validated, with a read-only session and about
#: how many rows the file has; returns the rule's part in that import, or None to stay out.
ImportHook = Callable[["Session", int], "BulkImport | None"]
#: (name, move(session, dup, keep) -> notes, restore(session, dup, keep, notes)): how a store
#: other than the contact card moves its rows on merge and puts them back on unmerge.
Mover = tuple[
    str,
    Callable[["Session", "Contact", "Contact"], Any],
    Callable[["Session", "Contact", "Contact", Any], None],
]


@dataclass
class StoreRules:
    """Every rule of one open store, run in the order added."""

    on_create: list[CreateHook] = field(default_factory=list)
    on_change: list[ChangeHook] = field(default_factory=list)
    on_delete: list[DeleteHook] = field(default_factory=list)
    type_change_guards: list[TypeChangeGuard] = field(default_factory=list)
    merge_movers: list[Mover] = field(default_factory=list)
    bulk_import: list[ImportHook] = field(default_factory=list)

    def extend(self, other: StoreRules) -> StoreRules:
        """Add `other`'s rules after these (each rule once); returns self."""
        for name in (
            "on_create",
            "on_change",
            "on_delete",
            "type_change_guards",
            "merge_movers",
            "bulk_import",
        ):
            mine: list[Any] = getattr(self, name)
            for rule in getattr(other, name):
                if rule not in mine:
                    mine.append(rule)
        return self

    def names(self) -> dict[str, list[str]]:
        """Which rules are installed, by kind, for logs and tests."""
        return {
            kind: [_name(rule) for rule in rules]
            for kind, rules in vars(self).items()
            if isinstance(rules, list)
        }


def _name(rule: Any) -> str:
    if isinstance(rule, tuple):
        return str(rule[0])
    return f"{rule.__module__}.{rule.__qualname__}"


def integrity_rules() -> StoreRules:
    """The rules every store holds, whichever plugins are enabled: rows that belong to a
    contact go with it, and a type change that would strand them is refused."""
    from storage.duplicates.index import forget_contact as forget_duplicates
    from storage.interactions import delete_interactions, interactions_guard
    from storage.relations.hooks import forget_contact as forget_relations
    from storage.relations.hooks import keep_company_type, relations_mover
    from storage.relations.links import sync_from_contact

    return StoreRules(
        on_change=[sync_from_contact],
        on_delete=[delete_interactions, forget_duplicates, forget_relations],
        type_change_guards=[interactions_guard, keep_company_type],
        merge_movers=[relations_mover()],
    )


_NO_RULES = StoreRules()


def rules_of(session: Session) -> StoreRules:
    """The rules of the store the session belongs to (none for a bare Session)."""
    rules = session.info.get(RULES_KEY)
    return rules if isinstance(rules, StoreRules) else _NO_RULES
