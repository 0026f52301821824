"""The Slack alert when a mailbox starts failing, and the one when it recovers.

The worker sends one only when its `record_failure` / `record_success` call was the one that
changed the mailbox's state (storage.mail_state), so a mailbox failing for a day makes one
message, not one per retry, and several workers make one between them. The message goes to
`[mail] alert_channel` with the bot token (SLACK_BOT_TOKEN) through the Web API client every
Slack call uses (bot.slack.client, so CONTACTBOT_SLACK_API_URL reaches a local double). The
error is the worker's own line (no token or secret is ever in it), escaped for Slack's markup.
An alert that cannot be sent is logged; it never stops the worker.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping

from bot.config import Settings

log = logging.getLogger(__name__)

#: Posts one text to the alert channel.
AlertSender = Callable[[str], None]


def failing_text(mailbox: str, error: str) -> str:
    from bot.slack.escape import escape_within

    return (
        f":warning: Mailbox *{escape_within(mailbox, 100)}* is not being logged: "
        f"{escape_within(error, 500)}\nSee `contactbot mail status`."
    )


def recovered_text(mailbox: str) -> str:
    from bot.slack.escape import escape_within

    return f":white_check_mark: Mailbox *{escape_within(mailbox, 100)}* is being logged again."


def slack_alert_sender(
    settings: Settings, env: Mapping[str, str] | None = None
) -> AlertSender | None:
    """chat.postMessage to `[mail] alert_channel`; None when no channel is configured."""
    channel = settings.mail.alert_channel
    if not channel:
        return None
    from bot.slack.client import make_web_client
    from bot.slack.startup import BOT_TOKEN

    token = (os.environ if env is None else env).get(BOT_TOKEN)
    if not token:
        log.warning("mail.alert_channel is set but %s is not: alerts are not sent", BOT_TOKEN)
        return None
    client = make_web_client(settings, token)

    def send(text: str) -> None:
        client.chat_postMessage(channel=channel, text=text, unfurl_links=False)

    return send


def send_alert(sender: AlertSender | None, text: str) -> None:
    """Send, logging (not raising) what goes wrong: Slack being away must not stop mail."""
    if sender is None:
        return
    try:
        sender(text)
    except Exception as error:  # slack_sdk's SlackApiError, a connection error, …
        log.warning("the mail alert could not be sent to Slack: %s", error)
