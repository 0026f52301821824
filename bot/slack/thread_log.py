"""`@contactbot log CT000012 NOTE` in a thread: the thread's first message on the contact.

The thread's root is read with conversations.replies (its first message is the root), falling
back to conversations.history at the root's ts; its permalink comes from chat.getPermalink. The
command becomes `log <no> <template> …` through the dispatcher with the root message as its
key, `slack:<channel>:<root ts>` (bot.slack.shortcut.logged_message), the key the "Log to
contact" shortcut gives the same message, so the message is logged on a contact once whichever
way it is logged (the rule is the store's: storage.interactions). What was typed after the
template is the description; without one, the start of the root message is. Without a
template (`log CT000012`) it is SLACK, the shortcut's. Without a direction, a root written by a
salesperson is `out`, any other `in`, as for the shortcut.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.arguments import parse_arguments
from bot.inputs import TEMPLATE_DESCRIPTION, Actor, CommandInvocation
from bot.slack.deliveries import SOURCE
from bot.slack.escape import from_slack
from bot.slack.runner import SlackRunner
from bot.slack.shortcut import TEMPLATE, logged_message
from storage.errors import UserError
from storage.interactions import DESCRIPTION_LIMIT, SNIPPET_LIMIT

log = logging.getLogger(__name__)

#: When the root message has no text (a file, an image) and nothing was typed.
NO_TEXT_DESCRIPTION = "Slack thread"


def cannot_read(error: str) -> UserError:
    return UserError(
        f"I could not read this thread's first message (Slack said `{error}`). Invite me to "
        "the channel (`/invite @contactbot`) and try again, or use *Log to contact* on it."
    )


def first_message(client: WebClient, channel: str, root_ts: str) -> dict[str, Any]:
    """The thread's root message; UserError saying what to do when Slack will not give it."""
    error = "message_not_found"
    try:
        replies = client.conversations_replies(channel=channel, ts=root_ts, limit=1)
        for message in replies.get("messages") or ():
            if isinstance(message, dict) and message.get("ts") == root_ts:
                return message
    except SlackApiError as failure:
        error = str(failure.response.get("error") or error)
        log.info("conversations.replies %s/%s: %s; trying the history", channel, root_ts, error)
    except (SlackClientError, OSError) as failure:
        log.warning("conversations.replies %s/%s failed: %s", channel, root_ts, failure)
        raise cannot_read("no answer") from None
    try:
        history = client.conversations_history(
            channel=channel, latest=root_ts, oldest=root_ts, inclusive=True, limit=1
        )
        for message in history.get("messages") or ():
            if isinstance(message, dict) and message.get("ts") == root_ts:
                return message
    except SlackApiError as failure:
        error = str(failure.response.get("error") or error)
    except (SlackClientError, OSError) as failure:
        log.warning("conversations.history %s/%s failed: %s", channel, root_ts, failure)
    raise cannot_read(error)


def thread_log_invocation(
    runner: SlackRunner,
    client: WebClient,
    channel: str,
    root_ts: str,
    actor: Actor,
    words: list[str],
    delivery_id: str,
) -> CommandInvocation:
    """`words` (`log <no> <template> …`) as the `log` of the thread's root message."""
    root = first_message(client, channel, root_ts)
    text = from_slack(str(root.get("text") or ""))
    message = logged_message(
        runner,
        client,
        channel=channel,
        ts=root_ts,
        author=str(root.get("user") or root.get("bot_id") or ""),
        channel_name="",
        text=text[:SNIPPET_LIMIT],
    )
    args = parse_arguments(words[1:])
    if len(args.positionals) == 1:  # `log CT000012` alone: the SLACK template, as the shortcut
        at = words.index(args.positionals[0], 1) + 1
        words = [*words[:at], TEMPLATE, *words[at:]]
        args = parse_arguments(words[1:])
    added: list[str] = []
    if not args.rest(2) and "description" not in args.fields:
        summary = " ".join(text.split())[:DESCRIPTION_LIMIT] or NO_TEXT_DESCRIPTION
        added.append(f"description={summary}")
    if "direction" not in args.fields:
        added.append(f"direction={message.direction}")
    extra = dict(message.extra)
    template = args.positionals[1] if len(args.positionals) > 1 else ""
    if template.upper() != TEMPLATE:  # the person's own template: refused when unknown
        extra.pop(TEMPLATE_DESCRIPTION, None)
    return CommandInvocation(
        actor=actor,
        text=" ".join(words) + " (a thread's first message)",
        channel=channel,
        source=SOURCE,
        delivery_id=delivery_id,
        words=(*words, *added),
        key=message.key,
        extra=extra,
    )
