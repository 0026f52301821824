"""App Home: on `app_home_opened`, views.publish the user's recent contacts and their open
duplicate pairs (those touching their salesperson's contacts, or all when they have none),
each with Merge and Not a duplicate, the buttons the digest and `new` show. Both lists are the
store's queries (storage.lookups, storage.duplicates.owned), run through the dispatcher."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App as BoltApp
from slack_sdk import WebClient

from bot.dispatcher import Dispatcher
from bot.slack.actors import REFUSAL
from bot.slack.blocks import ACTION_RUN, MAX_VIEW_BLOCKS, button, context, section
from bot.slack.digest_message import pair_blocks
from bot.slack.escape import escape_within
from bot.slack.runner import SlackRunner
from storage.duplicates.owned import OwnedPair, owned_pairs
from storage.lookups import recent_contacts
from storage.models import Contact

log = logging.getLogger(__name__)

RECENT = 10
#: Open pairs shown with their buttons (two blocks each; a view holds 100 blocks).
HOME_PAIRS = 20
#: Action ids of the pairs' buttons start here, after the recent contacts' Show buttons.
PAIR_ACTIONS_FROM = 100


def duplicate_warnings(
    dispatcher: Dispatcher, salesperson: str | None, limit: int = HOME_PAIRS
) -> list[OwnedPair] | None:
    """The open pairs the user should see, best first, one more than `limit` (so the view can
    say there are more); None when they could not be read (the rest of Home still shows)."""
    try:
        return dispatcher.query(owned_pairs, salesperson=salesperson, limit=limit + 1)
    except Exception:
        log.exception("reading duplicate pairs for App Home failed")
        return None


def home_for(
    dispatcher: Dispatcher, salesperson: str | None, *, duplicates: bool = True
) -> dict[str, Any]:
    """The Home view of a user whose salesperson is `salesperson` (None: everyone's);
    `duplicates`: the duplicates plugin is enabled (else no section and no query for it)."""
    contacts = dispatcher.query(recent_contacts, salesperson, RECENT)
    warnings = duplicate_warnings(dispatcher, salesperson) if duplicates else None
    return home_view(contacts, warnings, salesperson=salesperson, duplicates=duplicates)


def home_view(
    contacts: list[Contact],
    warnings: list[OwnedPair] | None,
    *,
    salesperson: str | None,
    duplicates: bool = True,
) -> dict[str, Any]:
    """`duplicates`: the duplicates plugin is enabled (else Home has no section for it)."""
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
    if not duplicates:
        return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}
    whose = "Possible duplicates of your contacts" if salesperson else "Possible duplicates"
    blocks += [{"type": "divider"}, section(f"*{whose}*")]
    if warnings is None:
        blocks.append(
            context("Duplicate pairs could not be read just now; `/contact dupes` lists them.")
        )
    elif not warnings:
        blocks.append(
            context("No open duplicate pairs. New ones show here, with Merge and Not a duplicate.")
        )
    else:
        room = min(HOME_PAIRS, (MAX_VIEW_BLOCKS - len(blocks) - 1) // 2)
        for index, owned in enumerate(warnings[:room]):
            blocks += pair_blocks(owned, PAIR_ACTIONS_FROM + 2 * index)
        if len(warnings) > room:
            blocks.append(context("More open pairs: `/contact dupes` lists them all."))
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
            enabled = "duplicates" in runner.app.registry.plugins
            view = home_for(runner.app.dispatcher, salesperson, duplicates=enabled)
            client.views_publish(user_id=user_id, view=view)
        except Exception:
            log.exception("App Home for %s failed", user_id)
