"""What an email handler gets (`@on_email`) and what it answers.

Handlers run once per parsed email, inside the transaction of the worker's batch (each in a
savepoint of its own, so one failing handler loses only its own work on that one email).
`batch` holds every email of the batch and `cache` lives as long as the batch: a handler can
look up all addresses of the batch at once instead of one query per email.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.inputs import ReceivedEmail
from bot.mail.config import MailAccount


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
