"""The message shortcut "Log to contact": a Slack message becomes an interaction.

The shortcut opens a modal at once (before any database work) to pick the contact (an
external select searched with `find`) and to edit the description, which starts as the start of
the message. On submit the contact is checked (an error shows next to the picker), the modal
closes, and then the message's permalink is fetched (chat.getPermalink) and the submission
becomes the `log` command, through the dispatcher like any other: `log <no> SLACK
description=… direction=in|out` as the submitting user, with the submission's delivery id (a
retried submit is DUPLICATE_DELIVERY and answers nothing) and the message as its key:
`slack:<channel>:<ts>`, which names the message as its permalink does but needs no Web API
call to be had (a failed chat.getPermalink must not make the same message a second one) and
is what interactions logged before the one door were keyed by; the permalink is the
interaction's reference, the link a person follows. The once-per-message rule is the store's
(storage.interactions): the same message logged on the same contact again is refused there.
The text, its author and the channel go with it as the interaction's snippet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import App as BoltApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.dispatcher import DUPLICATE_DELIVERY
from bot.inputs import PERMALINK, SNIPPET, TEMPLATE_DESCRIPTION, CommandInvocation
from bot.reply import Reply
from bot.slack.actors import REFUSAL
from bot.slack.deliveries import SOURCE, delivery_key
from bot.slack.escape import escape_within, from_slack
from bot.slack.modals import CONTACT_SEARCH, VALUE, metadata, option
from bot.slack.runner import SlackRunner, Where, parse_metadata
from storage.interactions import DESCRIPTION_LIMIT, SNIPPET_LIMIT
from storage.salespeople import salesperson_of_chat_user

log = logging.getLogger(__name__)

SHORTCUT = "contactbot_log_message"
LOG_MODAL = "contactbot_log_modal"
TEMPLATE = "SLACK"
SLACK_TEMPLATE_DESCRIPTION = "Slack conversation"


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


def log_invocation(
    runner: SlackRunner, client: WebClient, body: dict[str, Any], contact_no: str, description: str
) -> CommandInvocation:
    """The submission as the `log` command: the words as values (no quoting to undo), the
    message as its key (see the module doc), the delivery id of this submission."""
    where = Where.from_body(body)
    meta = parse_metadata((body.get("view") or {}).get("private_metadata", ""))
    actor = runner.actors.actor(where.user_id, name=where.user_name)
    message = logged_message(
        runner,
        client,
        channel=meta.get("channel") or "",
        ts=meta.get("ts") or "",
        author=meta.get("author") or "",
        channel_name=meta.get("channel_name") or "",
        text=meta.get("text") or "",
    )
    words = (
        "log",
        contact_no,
        TEMPLATE,
        f"description={description}",
        f"direction={message.direction}",
    )
    return CommandInvocation(
        actor=actor,
        text=f"log {contact_no} {TEMPLATE} (the Log to contact shortcut)",
        channel=where.channel_id,
        source=SOURCE,
        delivery_id=delivery_key(body, "log"),
        words=words,
        key=message.key,
        extra=message.extra,
    )


@dataclass(frozen=True)
class LoggedMessage:
    """What the `log` command records about a Slack message: its key (the once-per-message
    rule), the permalink and snippet (`extra`), and the direction its author implies."""

    key: str | None
    extra: dict[str, str]
    direction: str


def logged_message(
    runner: SlackRunner,
    client: WebClient,
    *,
    channel: str,
    ts: str,
    author: str,
    channel_name: str,
    text: str,
) -> LoggedMessage:
    """The message at `channel`/`ts` as the shortcut and a thread's `log` record it: keyed
    `slack:<channel>:<ts>` (so both log one message once), its permalink the reference, its
    author, channel and text the snippet; `out` when a salesperson wrote it, else `in`."""
    link = permalink(client, channel, ts)
    author_name = runner.actors.profile(author).name if author.startswith(("U", "W")) else ""
    who = author_name or author
    snippet = f"{who} in #{channel_name or channel}: {text}" if who else text
    by_salesperson = bool(author) and (
        runner.app.dispatcher.query(salesperson_of_chat_user, author) is not None
    )
    return LoggedMessage(
        key=message_key(channel, ts) if channel and ts else (link or None),
        extra={
            PERMALINK: link,
            SNIPPET: snippet[:SNIPPET_LIMIT],
            TEMPLATE_DESCRIPTION: SLACK_TEMPLATE_DESCRIPTION,
        },
        direction="out" if by_salesperson else "in",
    )


def record(
    runner: SlackRunner,
    client: WebClient,
    body: dict[str, Any],
    contact_no: str,
    description: str,
) -> Reply | None:
    """Log the message through the dispatcher; None for a retried submission (it ran)."""
    invocation = log_invocation(runner, client, body, contact_no, description)
    reply = runner.app.dispatcher.dispatch(invocation)
    return None if reply is DUPLICATE_DELIVERY else reply


def _record_and_say(
    runner: SlackRunner, client: WebClient, body: dict[str, Any], contact_no: str, description: str
) -> None:
    reply = record(runner, client, body, contact_no, description)
    if reply is not None:
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
