"""Buttons and overflow items: each runs the command it carries, as the person who clicked,
through the same dispatcher and the same permission checks as a typed command.

- `contactbot_run:<n>` buttons and the card's `contactbot_menu` overflow: run the command
  (an `Edit` that means `set <no>` opens the filled-in modal).
- `contactbot_confirm` / `contactbot_cancel`: the answer to a Confirmation; the question is
  replaced by the result.
- `contactbot_share`: runs the (read-only) command again and posts the result in the channel
  with chat.postMessage, for everyone to see.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App as BoltApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.dispatcher import DUPLICATE_DELIVERY
from bot.reply import Reply
from bot.slack.blocks import (
    ACTION_CANCEL,
    ACTION_CONFIRM,
    ACTION_MENU,
    ACTION_SHARE,
    RUN_ACTION_PATTERN,
    reply_message,
)
from bot.slack.commands import open_or_run
from bot.slack.deliveries import delivery_key
from bot.slack.escape import escape
from bot.slack.runner import SlackRunner, Where

log = logging.getLogger(__name__)


def _action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    return actions[0]


def share(runner: SlackRunner, client: WebClient, body: dict[str, Any]) -> None:
    where = Where.from_body(body)
    command = _action(body).get("value") or ""
    actor = runner.actor_or_refuse(where)
    if actor is None:
        return
    if not where.channel_id:
        runner.say(where, Reply.error("There is no channel to share this in."))
        return
    reply = runner.dispatch(actor, command, where, delivery_key(body, "share"))
    if reply is DUPLICATE_DELIVERY:
        return
    if not reply.ok:
        runner.say(where, reply)
        return
    message = reply_message(reply, command=command, shareable=False)
    shared_by = {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": f"Shared by <@{where.user_id}> · `{escape(command)}`"[:2000]}
        ],
    }
    message["blocks"] = [*message["blocks"][:49], shared_by]
    try:
        client.chat_postMessage(channel=where.channel_id, **message)
    except SlackApiError as error:
        code = error.response.get("error") if error.response is not None else ""
        log.info("share in %s failed: %s", where.channel_id, code)
        runner.say(
            where,
            Reply.error(
                f"I could not post in this channel ({code}). Invite me first with "
                "`/invite @contactbot`, then share again."
            ),
        )


def _replace(runner: SlackRunner, where: Where, reply: Reply) -> None:
    runner.say(where, reply, replace_original=True)


def register(bolt: BoltApp, runner: SlackRunner) -> None:
    @bolt.action(RUN_ACTION_PATTERN)
    def run_button(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        with runner.guard(body, "a button"):
            command = _action(body).get("value") or ""
            open_or_run(runner, client, body, command, delivery_id=delivery_key(body))

    @bolt.action(ACTION_MENU)
    def run_menu(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        with runner.guard(body, "a menu item"):
            selected = _action(body).get("selected_option") or {}
            command = selected.get("value") or ""
            open_or_run(runner, client, body, command, delivery_id=delivery_key(body))

    @bolt.action(ACTION_CONFIRM)
    def confirm(ack: Any, body: dict[str, Any]) -> None:
        ack()
        command = _action(body).get("value") or ""
        where = Where.from_body(body)
        runner.later(body, "a confirmation", runner.run, command, where, delivery_key(body), True)

    @bolt.action(ACTION_CANCEL)
    def cancel(ack: Any, body: dict[str, Any]) -> None:
        ack()
        cancelled = Reply(text="Cancelled; nothing was changed.")
        runner.later(body, "a cancel button", _replace, runner, Where.from_body(body), cancelled)

    @bolt.action(ACTION_SHARE)
    def share_button(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        runner.later(body, "the share button", share, runner, client, body)
