"""Mentions in channels and direct messages: the command language where people talk.

`@contactbot find acme holdng` in a channel (an `app_mention` event) is answered in that
message's thread: the thread it was written in, or a new one under it. `show CT000012` in a
direct message to the bot (a `message` event with `channel_type` "im", from `message.im`) is
answered in the DM. Both arrive through the Events API over HTTP and through Socket Mode alike
(Bolt acks an event itself, before any listener runs), and both become the same
CommandInvocation as the slash command, through the one dispatcher, as the writing user with
their roles; a card reply is the same Block Kit card (without "Share in channel": it is in the
channel already).

Never answered (`ignored`): a message from a bot (`bot_id`, the bot's own included), one with
any `subtype` (bot_message, message_changed, message_deleted, channel_join, …), an edited one,
one without a user, a channel message that reached the `message` listener (only DMs are
subscribed; mentions come as app_mention) and a mention in a DM (its `message.im` twin answers
it). A message that names no verb gets the short help, where it would have got its answer.

Once: the command carries the event's delivery id (a retry never writes twice), and the answer
itself is claimed in the store just before it is sent (bot.slack.deliveries.claim_answer), so
a redelivered event (same event_id: X-Slack-Retry-Num, a Socket Mode retry_attempt, or the same
event handed to two instances on one PostgreSQL) is answered once.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import App as BoltApp
from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.arguments import split_words
from bot.dispatcher import DUPLICATE_DELIVERY
from bot.inputs import CommandInvocation
from bot.registry import Registry
from bot.reply import Reply
from bot.slack.actors import REFUSAL
from bot.slack.blocks import reply_message
from bot.slack.deliveries import SOURCE, claim_answer, delivery_key
from bot.slack.escape import from_slack
from bot.slack.runner import SlackRunner, Where
from bot.slack.thread_log import thread_log_invocation
from storage.errors import UserError
from storage.numbers import short

log = logging.getLogger(__name__)

MENTION = "app_mention"
MESSAGE = "message"
#: A user mention as Slack writes it in a message's text: `<@U0123>` or `<@U0123|name>`.
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class Said:
    """A message someone wrote to the bot: who, in which conversation, the command line (the
    text without the bot's mention), and the thread the answer goes to (None: the DM itself)."""

    user_id: str
    channel_id: str
    ts: str
    text: str
    answer_thread: str | None
    #: The root of the thread the message was written in, when it was written in one.
    thread_root: str | None
    in_dm: bool

    @property
    def where(self) -> Where:
        return Where.in_conversation(self.user_id, self.channel_id, self.answer_thread)

    @property
    def privately(self) -> Where:
        """For what only the writer should read (a refusal): the DM itself, or an ephemeral
        message in the channel."""
        return self.where if self.in_dm else Where(self.user_id, self.channel_id)


def ignored(event: Mapping[str, Any], bot_user_id: str | None) -> str | None:
    """Why this message event is not answered, or None when it is one to answer."""
    if event.get("subtype"):
        return f"subtype {short(str(event['subtype']))}"
    if event.get("bot_id") or event.get("bot_profile"):
        return "a bot's message"
    if event.get("edited") or event.get("hidden"):
        return "an edited message"
    user = event.get("user")
    if not isinstance(user, str) or not user:
        return "no user"
    if bot_user_id and user == bot_user_id:
        return "the bot's own message"
    channel, ts = event.get("channel"), event.get("ts") or event.get("event_ts")
    if not isinstance(channel, str) or not channel or not isinstance(ts, str) or not ts:
        return "no channel or ts"
    return None


def is_dm(event: Mapping[str, Any]) -> bool:
    if event.get("channel_type"):
        return event.get("channel_type") == "im"
    return str(event.get("channel") or "").startswith("D")


def command_text(text: str, bot_user_id: str | None) -> str:
    """The command line in a message: what follows the bot's mention; when the bot's id is not
    known or not in the text, what follows the mentions the text starts with (an app_mention
    names the bot, whatever id the text shows); the whole text when it starts with no mention
    (a DM)."""
    text = from_slack(text)
    if bot_user_id:
        for match in _MENTION.finditer(text):
            if match.group(1) == bot_user_id:
                return text[match.end() :].strip()
    text = text.strip()
    while (match := _MENTION.match(text)) is not None:
        text = text[match.end() :].lstrip()
    return text


def said_from(event: Mapping[str, Any], bot_user_id: str | None) -> Said:
    channel, ts = str(event["channel"]), str(event.get("ts") or event["event_ts"])
    root = event.get("thread_ts")
    root = str(root) if root and root != ts else None
    dm = is_dm(event)
    return Said(
        user_id=str(event["user"]),
        channel_id=channel,
        ts=ts,
        text=command_text(str(event.get("text") or ""), bot_user_id),
        answer_thread=root if dm else (root or ts),
        thread_root=root,
        in_dm=dm,
    )


def short_help(registry: Registry, *, in_dm: bool, word: str | None = None) -> Reply:
    """What a message that names no verb is told: how to ask, and the verbs there are."""
    ask = "Type a command" if in_dm else "Mention me with a command"
    example = "`find acme`" if in_dm else "`@contactbot find acme`"
    start = ""
    if word:
        close = difflib.get_close_matches(word.lower(), registry.verbs(), n=1, cutoff=0.5)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        start = f"`{short(word)}` is not a command.{hint} "
    verbs = ", ".join(sorted(registry.verbs()))
    return Reply(
        text=f"{start}{ask}, like {example}. Commands: {verbs}. "
        "`help <command>` explains one, `help` lists them all."
    )


def reply_for(
    runner: SlackRunner, client: WebClient, body: Mapping[str, Any], said: Said
) -> Reply | None:
    """The answer to what was said (by a user who has roles), run through the dispatcher as
    the slash command runs; None for a delivery the dispatcher ran already."""
    roles = runner.actors.roles(said.user_id)
    registry = runner.app.registry
    try:
        words = split_words(said.text)
    except UserError as error:
        return Reply.error(error.message)
    if not words or words[0].lower() not in registry.commands:
        return short_help(registry, in_dm=said.in_dm, word=words[0] if words else None)
    name = runner.actors.profile(said.user_id).name
    actor = runner.actors.actor(said.user_id, name=name, roles=roles)
    delivery_id = delivery_key(body)
    if words[0].lower() == "log" and said.thread_root:
        try:
            invocation = thread_log_invocation(
                runner, client, said.channel_id, said.thread_root, actor, words, delivery_id
            )
        except UserError as error:
            return Reply.error(error.message)
    else:
        invocation = CommandInvocation(
            actor=actor,
            text=said.text,
            channel=said.channel_id,
            source=SOURCE,
            delivery_id=delivery_id,
        )
    reply = runner.app.dispatcher.dispatch(invocation)
    return None if reply is DUPLICATE_DELIVERY else reply


def answer(runner: SlackRunner, client: WebClient, body: Mapping[str, Any], said: Said) -> None:
    """Run what was said and post the answer where it was said, once per event; a user
    without a role is told so privately, and nothing is run."""
    refused = not runner.actors.roles(said.user_id)
    reply = Reply.error(REFUSAL) if refused else reply_for(runner, client, body, said)
    if reply is None:
        return
    if not claim_answer(runner.app.dispatcher, body):
        log.info("event %s was answered already; not again", body.get("event_id"))
        return
    where = said.privately if refused else said.where
    runner.send(where, reply_message(reply, shareable=False))


def handle(
    runner: SlackRunner,
    client: WebClient,
    body: Mapping[str, Any],
    context: BoltContext,
    *,
    mention: bool,
) -> None:
    """One message event: ignored, or answered on the runner's work threads."""
    event = body.get("event") or {}
    bot_user_id = context.bot_user_id
    reason = ignored(event, bot_user_id)
    if reason is None and mention and is_dm(event):
        reason = "a mention in a DM (its message.im event is answered)"
    if reason is None and not mention and not is_dm(event):
        reason = "a channel message without a mention"
    if reason is not None:
        log.debug("event %s not answered: %s", body.get("event_id"), reason)
        return
    said = said_from(event, bot_user_id)
    what = f"a {'mention' if mention else 'direct message'} `{said.text[:100]}`"
    runner.later(body, what, answer, runner, client, body, said, where=said.where)


def register(bolt: BoltApp, runner: SlackRunner) -> None:
    @bolt.event(MENTION)
    def app_mention(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        handle(runner, client, body, context, mention=True)

    @bolt.event(MESSAGE)
    def direct_message(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        handle(runner, client, body, context, mention=False)
