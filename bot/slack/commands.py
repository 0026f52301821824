"""`/contact <verb> …`: ack at once, then run the line through the dispatcher and respond.

The ack goes back before anything else happens (Bolt answers Slack's HTTP request, or Socket
Mode envelope, as soon as `ack()` is called; the rest of the listener runs on Bolt's thread
pool). `/contact new` with no text and `/contact set <no>` with no pairs open the contact modal
with views.open before any database work, since a trigger id expires after 3 seconds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from slack_bolt import App as BoltApp
from slack_sdk import WebClient

from bot.arguments import split_words
from bot.reply import Reply
from bot.slack.actors import REFUSAL
from bot.slack.deliveries import delivery_key
from bot.slack.escape import from_slack
from bot.slack.modals import contact_modal, initial_values, message_modal
from bot.slack.runner import SlackRunner, Where
from storage.errors import UserError
from storage.lookups import contact_to_edit

log = logging.getLogger(__name__)

#: Any slash command starting with /contact (a test workspace may call it /contact-dev).
COMMAND_PATTERN = re.compile(r"^/contact")


def modal_for(text: str) -> tuple[str, str | None] | None:
    """("new", None) for a bare `new`; ("set", ref) for `set <ref>` without pairs or flags."""
    try:
        words = split_words(text)
    except UserError:
        return None
    if not words:
        return None
    verb = words[0].lower()
    if verb == "new" and len(words) == 1:
        return ("new", None)
    if verb == "set" and len(words) >= 2 and not any("=" in w or w.startswith("--") for w in words):
        return ("set", " ".join(words[1:]))
    return None


def open_contact_modal(
    runner: SlackRunner,
    client: WebClient,
    trigger_id: str,
    where: Where,
    mode: str,
    ref: str | None,
) -> None:
    if not runner.actors.roles(where.user_id):
        runner.say(where, Reply.error(REFUSAL))
        return
    meta: dict[str, Any] = {
        "mode": mode,
        "response_url": where.response_url,
        "channel": where.channel_id,
    }
    if mode == "new":
        client.views_open(trigger_id=trigger_id, view=contact_modal(meta))
        return
    # The trigger id expires in 3 s: open first, then read the contact and fill the modal in.
    opened = client.views_open(
        trigger_id=trigger_id, view=message_modal("Edit contact", f"Loading {ref}…")
    )
    view = opened.get("view") or {}
    view_id, view_hash = view.get("id"), view.get("hash")
    try:
        contact, salesperson_label = runner.app.dispatcher.query(contact_to_edit, ref or "")
        values, labels = initial_values(contact)
        if salesperson_label:
            labels["salesperson"] = salesperson_label
        no = contact.no
    except UserError as error:
        client.views_update(
            view_id=view_id, hash=view_hash, view=message_modal("Edit contact", error.message)
        )
        return
    meta.update(no=no, initial=values)
    client.views_update(
        view_id=view_id,
        hash=view_hash,
        view=contact_modal(meta, initial=values, labels=labels),
    )


def open_or_run(
    runner: SlackRunner,
    client: WebClient,
    body: Mapping[str, Any],
    text: str,
    *,
    delivery_id: str | None,
    replace_original: bool = False,
) -> None:
    """What a command line does from Slack: open the modal now, or run it after the ack (on
    the runner's work threads) and answer."""
    where = Where.from_body(body)
    wanted = modal_for(text)
    trigger_id = body.get("trigger_id")
    if wanted is not None and trigger_id:
        # Now, on the listener's thread: the trigger id expires 3 s after the click.
        with runner.guard(body, "opening the contact modal"):
            open_contact_modal(runner, client, trigger_id, where, *wanted)
        return
    runner.later(body, f"`{text[:100]}`", runner.run, text, where, delivery_id, replace_original)


def register(bolt: BoltApp, runner: SlackRunner) -> None:
    @bolt.command(COMMAND_PATTERN)
    def contact_command(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        with runner.guard(body, "a slash command"):
            text = from_slack(body.get("text") or "").strip()
            open_or_run(runner, client, body, text, delivery_id=delivery_key(body))
