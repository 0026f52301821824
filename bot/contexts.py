"""What the handlers of emails and scheduled jobs get, and what an email handler answers.

They live in the runtime, beside the command handlers' Context (bot.dispatcher), because the
dispatcher builds them, whatever adapter read the input.

Email handlers run once per parsed email, inside the transaction of the worker's batch (see
bot.inputs.EmailBatch; when a handler fails, each email in a savepoint of its own, so a failing
handler loses only its own work on that one email). `batch` holds every email of the batch and
`cache` lives as long as the batch: a handler can look up all addresses of the batch at once
instead of one query per email.

A job gets the runtime's parts it may use: its settings, the store (a job such as the digest
posts to Slack between its writes, so it opens its own transactions), the registry, and
`query`, the dispatcher's way to run a store function in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.inputs import JobTick, ReceivedEmail

if TYPE_CHECKING:
    from bot.mail.config import MailAccount
    from bot.registry import Registry
    from storage.database import Store

T = TypeVar("T")


@dataclass
class EmailContext:
    session: Session
    settings: Settings
    email: ReceivedEmail
    account: MailAccount | None = None
    batch: tuple[ReceivedEmail, ...] = ()
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EmailOutcome:
    """`matched`: the email concerned a contact (it counts as handled, and `after` applies).
    `logged`: interactions that were new. `created`: numbers of contacts auto-created."""

    matched: bool = False
    logged: int = 0
    created: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobContext:
    """What a `@schedule` job receives: `ctx.settings`, `ctx.store`, `ctx.query(fn, …)`."""

    settings: Settings
    store: Store
    registry: Registry
    tick: JobTick
    query: Callable[..., Any]
