"""Transport-neutral inputs: what an adapter hands the dispatcher, as frozen dataclasses."""

from __future__ import annotations

import datetime as dt
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


@dataclass(frozen=True)
class EmailAddress:
    """One address of an email header: the display name as decoded, the address as written,
    and its normalised form (lower case, IDNA domain; "" when it is not a valid address)."""

    name: str
    address: str
    normalized: str


@dataclass(frozen=True)
class ReceivedEmail:
    """An email as the mail worker read it: parsed headers and a short plain-text snippet.

    `mailbox` is the configured account name and `owner_salesperson` the code of the
    salesperson who owns it (the mailbox owner is one side of every email found there).
    `message_id` is never empty: a message without one gets a stable id derived from its
    headers. `problems` lists what could not be parsed cleanly (logged as far as possible).
    """

    mailbox: str
    folder: str
    uid: int
    message_id: str
    subject: str
    sender: EmailAddress | None
    to: tuple[EmailAddress, ...] = ()
    cc: tuple[EmailAddress, ...] = ()
    date: dt.datetime | None = None  # naive UTC
    snippet: str = ""
    bulk: bool = False  # List-Id, List-Unsubscribe, Precedence: bulk/list/junk, Auto-Submitted
    owner_salesperson: str | None = None
    owner_address: str = ""
    problems: tuple[str, ...] = ()

    @property
    def recipients(self) -> tuple[EmailAddress, ...]:
        return (*self.to, *self.cc)
