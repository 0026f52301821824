"""Running a command line for a Slack user, and answering them.

Every way into contactbot from Slack (the slash command, buttons, overflow items, modal
submissions, the share button, mentions and direct messages) ends here: the user's roles are
checked (refused users get a polite refusal and nothing else), the line goes through the one
dispatcher with the Slack delivery id, and the Reply is rendered as Block Kit and sent where the
user will see it: for a message people wrote (a mention, a DM), in that conversation (the
thread of the mention), for everyone there; otherwise the request's `response_url`
(ephemeral), else an ephemeral message in the channel, else a DM.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.dispatcher import DUPLICATE_DELIVERY
from bot.inputs import Actor, CommandInvocation
from bot.reply import Reply
from bot.runtime import App
from bot.slack.actors import REFUSAL, ActorResolver
from bot.slack.blocks import reply_message
from bot.slack.client import make_webhook_client
from bot.slack.deliveries import SOURCE

log = logging.getLogger(__name__)


def apology(error_id: str) -> str:
    return (
        f"Sorry, that went wrong on our side (error {error_id}). "
        "The error is in contactbot's log under that id."
    )


@dataclass(frozen=True)
class Where:
    """Where a user is answered: the response_url of their request, else their channel; or,
    with `conversation`, in the conversation itself (chat.postMessage to `channel_id`, in the
    thread `thread_ts` when there is one), as an answer to a message they wrote."""

    user_id: str
    channel_id: str | None = None
    response_url: str | None = None
    user_name: str = ""
    conversation: bool = False
    thread_ts: str | None = None

    @classmethod
    def in_conversation(cls, user_id: str, channel_id: str, thread_ts: str | None) -> Where:
        """An answer posted where the user wrote: in the channel's thread, or in the DM."""
        return cls(user_id, channel_id, None, "", conversation=True, thread_ts=thread_ts)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Where:
        user = body.get("user") or {}
        user_id = body.get("user_id") or user.get("id") or ""
        channel = body.get("channel") or {}
        channel_id = body.get("channel_id") or channel.get("id")
        if not channel_id:
            channel_id = (body.get("container") or {}).get("channel_id")
        response_url = body.get("response_url")
        view = body.get("view") or {}
        if view.get("private_metadata"):
            meta = parse_metadata(view["private_metadata"])
            response_url = response_url or meta.get("response_url")
            channel_id = channel_id or meta.get("channel")
        name = body.get("user_name") or user.get("username") or user.get("name") or ""
        return cls(user_id, channel_id or None, response_url or None, name)


def parse_metadata(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


#: Threads for the work after the ack. Bolt acks on its own thread pool; the slow part runs
#: here, so a backlog of work can never hold up an ack.
WORK_THREADS = 16


class SlackRunner:
    def __init__(
        self,
        app: App,
        actors: ActorResolver,
        client: WebClient,
        *,
        work_threads: int = WORK_THREADS,
    ) -> None:
        self.app = app
        self.actors = actors
        self.client = client
        self.work = ThreadPoolExecutor(max_workers=work_threads, thread_name_prefix="slack-work")

    def later(
        self,
        body: Mapping[str, Any],
        what: str,
        work: Callable[..., object],
        *args: Any,
        where: Where | None = None,
    ) -> Future[None]:
        """Run `work(*args)` after the ack, on the work threads, under `guard`."""

        def run() -> None:
            with self.guard(body, what, where):
                work(*args)

        return self.work.submit(run)

    def close(self) -> None:
        self.work.shutdown(wait=False, cancel_futures=True)

    # --- running -------------------------------------------------------------------------

    def actor_or_refuse(self, where: Where) -> Actor | None:
        """The user's Actor, or None after telling a user without a role so."""
        roles = self.actors.roles(where.user_id)
        if not roles:
            self.say(where, Reply.error(REFUSAL))
            return None
        return self.actors.actor(where.user_id, name=where.user_name, roles=roles)

    def dispatch(self, actor: Actor, text: str, where: Where, delivery_id: str | None) -> Reply:
        invocation = CommandInvocation(
            actor=actor,
            text=text,
            channel=where.channel_id,
            source=SOURCE,
            delivery_id=delivery_id,
        )
        return self.app.dispatcher.dispatch(invocation)

    def run(
        self,
        text: str,
        where: Where,
        delivery_id: str | None,
        replace_original: bool = False,
    ) -> Reply | None:
        """Run `text` as the user and answer; None when refused or a retried delivery."""
        actor = self.actor_or_refuse(where)
        if actor is None:
            return None
        reply = self.dispatch(actor, text, where, delivery_id)
        if reply is DUPLICATE_DELIVERY:
            return None
        self.say(where, reply, command=text, replace_original=replace_original)
        return reply

    # --- answering -----------------------------------------------------------------------

    def say(
        self,
        where: Where,
        reply: Reply,
        *,
        command: str | None = None,
        replace_original: bool = False,
    ) -> None:
        self.send(where, reply_message(reply, command=command), replace_original=replace_original)

    def send(
        self, where: Where, message: dict[str, Any], *, replace_original: bool = False
    ) -> None:
        """In the conversation for a `conversation` Where (when Slack refuses that, as for
        the others); else ephemeral through the response_url; else ephemeral in the channel;
        else a DM."""
        if where.conversation and where.channel_id:
            thread = {"thread_ts": where.thread_ts} if where.thread_ts else {}
            try:
                self.client.chat_postMessage(channel=where.channel_id, **thread, **message)
                return
            except SlackApiError as error:  # archived, bot removed meanwhile: tell them anyway
                log.warning(
                    "chat.postMessage to %s failed (%s); answering privately",
                    where.channel_id,
                    error,
                )
        if where.response_url:
            body = {**message, "response_type": "ephemeral", "replace_original": replace_original}
            try:
                response = make_webhook_client(where.response_url).send_dict(body)
                if response.status_code == 200:
                    return
                log.warning(
                    "response_url answered %s %s; trying chat.postEphemeral",
                    response.status_code,
                    (response.body or "")[:200],
                )
            except (SlackClientError, OSError) as error:
                log.warning("response_url failed (%s); trying chat.postEphemeral", error)
        if where.channel_id:
            try:
                self.client.chat_postEphemeral(
                    channel=where.channel_id, user=where.user_id, **message
                )
                return
            except SlackApiError as error:
                log.warning("chat.postEphemeral failed (%s); sending a DM", error)
        self.client.chat_postMessage(channel=where.user_id, **message)

    @contextmanager
    def guard(
        self, body: Mapping[str, Any], what: str, where: Where | None = None
    ) -> Iterator[None]:
        """An exception becomes a short apology with an error id that is also in the log,
        sent to `where` (else where the request's body says)."""
        try:
            yield
        except Exception:
            error_id = uuid.uuid4().hex[:8]
            log.exception("error %s while handling %s", error_id, what)
            try:
                self.say(where or Where.from_body(body), Reply.error(apology(error_id)))
            except Exception:
                log.exception("could not send the apology for error %s", error_id)
