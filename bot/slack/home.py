"""App Home: on `app_home_opened`, views.publish the user's recent contacts and the open
duplicate warnings (an empty state until duplicate search exists)."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from slack_bolt import App as BoltApp
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.slack.actors import REFUSAL
from bot.slack.blocks import ACTION_RUN, MAX_VIEW_BLOCKS, button, context, section
from bot.slack.escape import escape_within
from bot.slack.runner import SlackRunner
from storage.models import Contact

log = logging.getLogger(__name__)

RECENT = 10


def recent_contacts(
    session: Session, salesperson: str | None, limit: int = RECENT
) -> list[Contact]:
    """The salesperson's most recently changed contacts (everyone's when there is none)."""
    statement = select(Contact).order_by(Contact.modified_at.desc(), Contact.id.desc()).limit(limit)
    if salesperson:
        statement = statement.where(Contact.salesperson == salesperson)
    return list(session.scalars(statement))


def duplicate_warnings(session: Session) -> list[str] | None:
    """Open duplicate warnings as lines; None while duplicate search (issue 5) is not there."""
    try:
        module = importlib.import_module("storage.duplicates")
    except ImportError:
        return None
    reader = getattr(module, "open_warnings", None)
    if reader is None:
        return None
    try:
        return [str(line) for line in reader(session)]
    except Exception:
        log.exception("reading duplicate warnings failed")
        return None


def home_view(
    contacts: list[Contact], warnings: list[str] | None, *, salesperson: str | None
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "contactbot"}},
        section(
            "Type `/contact help` anywhere for the commands, `/contact new` for a new contact, "
            "or use *Log to contact* on any message."
        ),
        {"type": "divider"},
    ]
    title = "Your recent contacts" if salesperson else "Recently changed contacts"
    blocks.append(section(f"*{title}*"))
    if not contacts:
        blocks.append(context("No contacts yet. Create one with `/contact new`."))
    for index, contact in enumerate(contacts, start=1):
        where = contact.company_name if not contact.is_company else contact.city
        line = f"*{escape_within(contact.no, 20)}*  {escape_within(contact.name, 100)}"
        if where:
            line += f" · {escape_within(where, 100)}"
        block = section(line)
        show = button("Show", f"{ACTION_RUN}:{index}", f"show {contact.no}")
        if show is not None:
            block["accessory"] = show
        blocks.append(block)
    blocks += [{"type": "divider"}, section("*Duplicate warnings*")]
    if warnings is None:
        blocks.append(context("Duplicate search is not set up yet; warnings will show here."))
    elif not warnings:
        blocks.append(context("No open duplicate warnings."))
    else:
        room = MAX_VIEW_BLOCKS - len(blocks) - 1
        for line in warnings[:room]:
            blocks.append(section(escape_within(line, 2900)))
        if len(warnings) > room:
            blocks.append(context(f"…and {len(warnings) - room} more."))
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


def refused_view(text: str) -> dict[str, Any]:
    return {"type": "home", "blocks": [section(escape_within(text, 2900))]}


def register(bolt: BoltApp, runner: SlackRunner) -> None:
    @bolt.event("app_home_opened")
    def app_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        runner.work.submit(publish, event.get("user") or "", client)

    def publish(user_id: str, client: WebClient) -> None:
        try:
            roles = runner.actors.roles(user_id)
            if not roles:
                client.views_publish(user_id=user_id, view=refused_view(REFUSAL))
                return
            salesperson = runner.actors.salesperson(user_id)
            with runner.app.store.transaction() as session:
                contacts = recent_contacts(session, salesperson)
                warnings = duplicate_warnings(session)
                view = home_view(contacts, warnings, salesperson=salesperson)
            client.views_publish(user_id=user_id, view=view)
        except Exception:
            log.exception("App Home for %s failed", user_id)
