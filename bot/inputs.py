"""Transport-neutral inputs: what an adapter hands the dispatcher, as frozen dataclasses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

ADMIN = "admin"
SALES = "sales"

#: Keys of CommandInvocation.extra that an adapter may set for a command that records what it
#: came from: the link to show, the source's text, and the description of the adapter's own
#: interaction template (made again if an admin deleted it).
PERMALINK, SNIPPET, TEMPLATE_DESCRIPTION = "permalink", "snippet", "template_description"


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
    #: The words, split already, when the adapter has them as values (a form's fields): then
    #: they are used as they are and `text` only names the command in the log. No quoting
    #: can change a value that way (a description with quotes or curly apostrophes).
    words: tuple[str, ...] | None = None
    #: The source's own link to what the command records (a Slack message's permalink): a
    #: command that records it records it once per contact (storage.interactions).
    key: str | None = None


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


@dataclass(frozen=True)
class EmailBatch:
    """The email input: one bounded UID range of one folder, parsed, as the mail worker read it.

    The batch, not each email, is the transaction unit: the dispatcher runs every email
    handler on every email of it and commits their interactions with the folder's new
    position (`last_uid`) at once, because a transaction per email would cost the worker most
    of its throughput (a commit each, and the batch-wide address lookup each time). A handler
    that fails sends the batch round again with each email in a savepoint of its own.

    `failures`: UIDs that could not be parsed, with the reason. `partial`: UIDs read in part
    (header fields cut at the worker's limit), with the reason recorded for them. `account` is
    the mailbox's settings as the handlers see them (`auto_create`).
    """

    mailbox: str
    folder: str
    uidvalidity: int
    last_uid: int
    emails: tuple[ReceivedEmail, ...]
    failures: tuple[tuple[int, str], ...] = ()
    partial: tuple[tuple[int, str], ...] = ()
    account: object | None = field(default=None, hash=False, compare=False)


@dataclass(frozen=True)
class JobTick:
    """The scheduled-job input: job `job_id` is due at `at` (aware, UTC)."""

    job_id: str
    at: dt.datetime
