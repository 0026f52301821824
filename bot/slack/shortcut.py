"""The message shortcut "Log to contact": a Slack message becomes an interaction.

The shortcut opens a modal at once (before any database work) to pick the contact (an
external select searched with `find`) and to edit the description, which starts as the start of
the message. On submit the contact is checked (an error shows next to the picker), the modal
closes, and then the message's permalink is fetched (chat.getPermalink) and the interaction is
recorded with template SLACK and source `slack`: the text, its author, the channel and the
permalink. The Slack message is the interaction's key (`slack:<channel>:<ts>` in `message_id`),
so one message is logged once per contact, and the delivery id guards the retry of a submit.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App as BoltApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.reply import Reply
from bot.slack.actors import REFUSAL
from bot.slack.deliveries import SOURCE, delivery_key
from bot.slack.escape import escape_within, from_slack
from bot.slack.modals import CONTACT_SEARCH, VALUE, metadata, option
from bot.slack.runner import SlackRunner, Where, parse_metadata
from storage.codes import code_table
from storage.contacts import get_by_no
from storage.deliveries import DuplicateDelivery, record_delivery
from storage.interactions import DESCRIPTION_LIMIT, INBOUND, OUTBOUND, record_interaction
from storage.models import Interaction, InteractionTemplate, Salesperson

log = logging.getLogger(__name__)

SHORTCUT = "contactbot_log_message"
LOG_MODAL = "contactbot_log_modal"
TEMPLATE = "SLACK"
TEMPLATE_DESCRIPTION = "Slack conversation"
SNIPPET_LIMIT = 1500


def log_modal(meta: dict[str, Any], description: str) -> dict[str, Any]:
    picker = {
        "type": "external_select",
        "action_id": CONTACT_SEARCH,
        "placeholder": {"type": "plain_text", "text": "Search contacts"},
        "min_query_length": 1,
    }
    text_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": VALUE,
        "multiline": True,
        "max_length": DESCRIPTION_LIMIT,
    }
    if description:
        text_input["initial_value"] = description[:DESCRIPTION_LIMIT]
    return {
        "type": "modal",
        "callback_id": LOG_MODAL,
        "title": {"type": "plain_text", "text": "Log to contact"},
        "submit": {"type": "plain_text", "text": "Log"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": metadata(meta),
        "blocks": [
            *_preview(meta),
            {
                "type": "input",
                "block_id": "contact",
                "label": {"type": "plain_text", "text": "Contact"},
                "element": picker,
            },
            {
                "type": "input",
                "block_id": "description",
                "label": {"type": "plain_text", "text": "Description"},
                "element": text_input,
            },
        ],
    }


def _preview(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The message being logged, as a quote (escaped: it pings nobody)."""
    text = meta.get("text") or ""
    if not text:
        return []
    where = f" in #{meta['channel_name']}" if meta.get("channel_name") else ""
    author = f"<@{meta['author']}>" if str(meta.get("author", "")).startswith(("U", "W")) else ""
    line = f"{author}{where}:" if author or where else ""
    quoted = "\n".join("> " + part for part in escape_within(text, 2500).split("\n"))
    return [{"type": "section", "text": {"type": "mrkdwn", "text": f"{line}\n{quoted}".strip()}}]


def ensure_template(session: Session) -> None:
    """The SLACK template is seeded by migration 0003; a database whose admin deleted it gets
    it back rather than a shortcut that cannot log."""
    if code_table("interactions").get(session, TEMPLATE) is None:
        session.add(InteractionTemplate(code=TEMPLATE, description=TEMPLATE_DESCRIPTION))
        session.flush()


def message_key(channel: str, ts: str) -> str:
    return f"slack:{channel}:{ts}"


def open_log_modal(runner: SlackRunner, client: WebClient, body: dict[str, Any]) -> None:
    where = Where.from_body(body)
    if not runner.actors.roles(where.user_id):
        runner.say(where, Reply.error(REFUSAL))
        return
    message = body.get("message") or {}
    text = from_slack(message.get("text") or "")
    meta = {
        "channel": where.channel_id,
        "channel_name": (body.get("channel") or {}).get("name", ""),
        "response_url": where.response_url,
        "ts": message.get("ts", ""),
        "author": message.get("user") or message.get("bot_id") or "",
        "text": text[:SNIPPET_LIMIT],
    }
    view = log_modal(meta, " ".join(text.split())[:DESCRIPTION_LIMIT])
    # The text is cut until the metadata fits Slack's 3,000 characters.
    while len(view["private_metadata"]) >= 3000 and meta["text"]:
        meta["text"] = meta["text"][: len(meta["text"]) // 2]
        view["private_metadata"] = metadata(meta)
    client.views_open(trigger_id=body["trigger_id"], view=view)


def permalink(client: WebClient, channel: str, ts: str) -> str:
    if not channel or not ts:
        return ""
    try:
        return client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink") or ""
    except (SlackApiError, SlackClientError, OSError) as error:
        log.warning("chat.getPermalink for %s/%s failed: %s", channel, ts, error)
        return ""


def record(
    runner: SlackRunner,
    client: WebClient,
    body: dict[str, Any],
    contact_no: str,
    description: str,
) -> Reply:
    where = Where.from_body(body)
    meta = parse_metadata((body.get("view") or {}).get("private_metadata", ""))
    actor = runner.actors.actor(where.user_id, name=where.user_name)
    channel, ts = meta.get("channel") or "", meta.get("ts") or ""
    link = permalink(client, channel, ts)
    author = meta.get("author") or ""
    channel_name = meta.get("channel_name") or channel
    text = meta.get("text") or ""
    author_name = runner.actors.profile(author).name if author.startswith(("U", "W")) else ""
    who = author_name or author
    snippet = f"{who} in #{channel_name}: {text}" if who else text
    key = message_key(channel, ts) if channel and ts else None
    try:
        with runner.app.store.transaction() as session:
            # First, as the dispatcher does: a retried submit waits here and stops.
            record_delivery(session, SOURCE, delivery_key(body, "log"))
            contact = get_by_no(session, contact_no)
            if contact is None:
                return Reply.error(f"Contact {contact_no} does not exist any more; nothing logged.")
            if key is not None:
                seen = session.scalar(
                    select(Interaction.id).where(
                        Interaction.contact_id == contact.id, Interaction.message_id == key
                    )
                )
                if seen is not None:
                    return Reply(text=f"That message is on {contact.no} ({contact.name}) already.")
            ensure_template(session)
            by_salesperson = bool(author) and session.scalar(
                select(Salesperson.code).where(Salesperson.slack_user_id == author)
            )
            interaction = record_interaction(
                session,
                contact,
                TEMPLATE,
                description,
                direction=OUTBOUND if by_salesperson else INBOUND,
                salesperson=actor.salesperson_code,
                source=SOURCE,
                reference=link or key or "",
            )
            interaction.message_id = key
            interaction.snippet = snippet[:SNIPPET_LIMIT]
            return Reply(text=f"Logged the message on {contact.no} ({contact.name}).")
    except DuplicateDelivery:
        log.info("%s delivery %s ran already; skipped", SOURCE, delivery_key(body, "log"))
        return Reply(text="")


def _record_and_say(
    runner: SlackRunner, client: WebClient, body: dict[str, Any], contact_no: str, description: str
) -> None:
    reply = record(runner, client, body, contact_no, description)
    if reply.text:
        runner.say(Where.from_body(body), reply)


def register(bolt: BoltApp, runner: SlackRunner) -> None:
    @bolt.shortcut(SHORTCUT)
    def log_to_contact(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        with runner.guard(body, "the Log to contact shortcut"):
            open_log_modal(runner, client, body)

    @bolt.view(LOG_MODAL)
    def submit_log(ack: Any, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        values = (view.get("state") or {}).get("values") or {}
        picked = ((values.get("contact") or {}).get(CONTACT_SEARCH) or {}).get("selected_option")
        description = ((values.get("description") or {}).get(VALUE) or {}).get("value") or ""
        if not picked:
            ack(response_action="errors", errors={"contact": "Pick a contact."})
            return
        if not runner.actors.roles(Where.from_body(body).user_id):  # roles changed meanwhile
            ack(response_action="errors", errors={"contact": REFUSAL[:300]})
            return
        if not description.strip():
            ack(response_action="errors", errors={"description": "Say what it was about."})
            return
        ack()
        contact_no = picked["value"]
        runner.later(
            body,
            "logging a message",
            _record_and_say,
            runner,
            client,
            body,
            contact_no,
            description,
        )


__all__ = ["LOG_MODAL", "SHORTCUT", "option", "register"]
