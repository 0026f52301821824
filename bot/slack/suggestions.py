"""Options for the external selects (block_suggestion): contacts, companies, salespeople.

These answer within Slack's 3 seconds with the options themselves, so they read the database
before the ack: one `find` (the trigram index, a few ms at a million contacts) or one small
code-table query, the store's (storage.lookups, storage.salespeople), run through the
dispatcher. A user without a role (once roles are configured) gets no options.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App as BoltApp

from bot.dispatcher import Dispatcher
from bot.slack.modals import COMPANY_SEARCH, CONTACT_SEARCH, SALESPERSON_SEARCH, option
from bot.slack.runner import SlackRunner
from storage.lookups import contacts_matching
from storage.models import Contact
from storage.salespeople import salespeople_matching

log = logging.getLogger(__name__)

MAX_OPTIONS = 50


def contact_label(contact: Contact) -> str:
    extra = contact.company_name if not contact.is_company else contact.city
    return " ".join(p for p in (contact.no, contact.name, f"({extra})" if extra else "") if p)


def contact_options(
    dispatcher: Dispatcher, query: str, *, companies_only: bool = False
) -> list[dict[str, Any]]:
    found = dispatcher.query(contacts_matching, query, MAX_OPTIONS, companies_only=companies_only)
    return [option(contact_label(c), c.no) for c in found]


def salesperson_options(dispatcher: Dispatcher, query: str) -> list[dict[str, Any]]:
    found = dispatcher.query(salespeople_matching, query, MAX_OPTIONS)
    return [option(f"{code} {name}".strip(), code) for code, name in found]


def register(bolt: BoltApp, runner: SlackRunner) -> None:
    dispatcher = runner.app.dispatcher

    def answer(ack: Any, payload: dict[str, Any], build: Any) -> None:
        user_id = (payload.get("user") or {}).get("id", "")
        if not runner.actors.roles(user_id):
            ack(options=[])  # a refused user learns nothing, not even a contact's name
            return
        try:
            options = build(dispatcher, payload.get("value") or "")
        except Exception:
            log.exception("options for %s failed", payload.get("action_id"))
            options = []
        ack(options=options)

    @bolt.options(CONTACT_SEARCH)
    def contacts(ack: Any, payload: dict[str, Any]) -> None:
        answer(ack, payload, contact_options)

    @bolt.options(COMPANY_SEARCH)
    def companies(ack: Any, payload: dict[str, Any]) -> None:
        answer(ack, payload, lambda s, q: contact_options(s, q, companies_only=True))

    @bolt.options(SALESPERSON_SEARCH)
    def salespeople(ack: Any, payload: dict[str, Any]) -> None:
        answer(ack, payload, salesperson_options)
