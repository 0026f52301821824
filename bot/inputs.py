"""Transport-neutral inputs: what an adapter hands the dispatcher, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field

ADMIN = "admin"
SALES = "sales"


@dataclass(frozen=True)
class Actor:
    """Who is acting: an id in the adapter's terms, the roles they hold, and their salesperson."""

    user_id: str
    name: str = ""
    roles: frozenset[str] = frozenset({SALES})
    salesperson_code: str | None = None

    def has(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class CommandInvocation:
    """One command as typed: `verb` and the rest of the line, by `actor` in `channel`."""

    actor: Actor
    text: str
    channel: str | None = None
    source: str = "shell"  # "shell" | "slack" | "api"
    delivery_id: str | None = None  # adapter's id of the delivery, for retry de-duplication
    extra: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
