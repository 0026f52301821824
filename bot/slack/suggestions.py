"""Options for the external selects (block_suggestion): contacts, companies, salespeople.

These answer within Slack's 3 seconds with the options themselves, so they read the database
before the ack: one `find` (the trigram index, a few ms at a million contacts) or one small
code-table query. A user without a role (once roles are configured) gets no options.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App as BoltApp
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.slack.modals import COMPANY_SEARCH, CONTACT_SEARCH, SALESPERSON_SEARCH, option
from bot.slack.runner import SlackRunner
from storage.contacts import get_by_no
from storage.models import Contact, ContactType, Salesperson
from storage.search import suggest_contacts

log = logging.getLogger(__name__)

MAX_OPTIONS = 50


def contact_label(contact: Contact) -> str:
    extra = contact.company_name if not contact.is_company else contact.city
    return " ".join(p for p in (contact.no, contact.name, f"({extra})" if extra else "") if p)


def contact_options(
    session: Session, query: str, *, companies_only: bool = False
) -> list[dict[str, Any]]:
    query = query.strip()
    if not query:
        return []
    found: list[Contact] = []
    exact = get_by_no(session, query) if len(query) <= 20 else None
    if exact is not None:
        found.append(exact)
    for hit in suggest_contacts(session, query, limit=MAX_OPTIONS):
        if hit.contact not in found:
            found.append(hit.contact)
    if companies_only:
        found = [c for c in found if c.type is ContactType.COMPANY]
    return [option(contact_label(c), c.no) for c in found[:MAX_OPTIONS]]


def salesperson_options(session: Session, query: str) -> list[dict[str, Any]]:
    statement = select(Salesperson).order_by(Salesperson.code).limit(MAX_OPTIONS)
    query = query.strip().lower()
    if query:
        pattern = f"%{query}%"
        statement = statement.where(
            or_(
                func.lower(Salesperson.code).like(pattern),
                func.lower(Salesperson.name).like(pattern),
            )
        )
    return [option(f"{p.code} {p.name}".strip(), p.code) for p in session.scalars(statement)]


def register(bolt: BoltApp, runner: SlackRunner) -> None:
    store = runner.app.store

    def answer(ack: Any, payload: dict[str, Any], build: Any) -> None:
        user_id = (payload.get("user") or {}).get("id", "")
        if not runner.actors.roles(user_id):
            ack(options=[])  # a refused user learns nothing, not even a contact's name
            return
        try:
            with store.transaction() as session:
                options = build(session, payload.get("value") or "")
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
