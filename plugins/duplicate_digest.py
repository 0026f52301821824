"""The duplicate digest: a scheduled job that posts the duplicate pairs found since the last
digest to the `[dupes] digest_channel` (cron and time zone from `[dupes]` too).

It claims the new pairs in the database first (storage.duplicates.digest), so that of several
instances running the same schedule one posts; posts one message (bot.slack.digest_message)
with the Slack Web API client every Slack call uses (bot.slack.client: SLACK_BOT_TOKEN, and
CONTACTBOT_SLACK_API_URL for a local double); and marks the pairs sent, or gives them back for
the next digest when Slack refused the message. Nothing new: nothing is sent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import ConfigError, Settings
from bot.contexts import JobContext
from bot.registry import config_table, schedule
from plugins.digest_settings import (
    DEFAULT_DIGEST_CRON,
    DIGEST_JOB_ID,
    DupesSettings,
    parse_dupes_settings,
)
from storage.database import Store
from storage.duplicates.digest import claim_new_pairs, give_back, mark_sent

log = logging.getLogger(__name__)

#: The digest posts the pairs the duplicates plugin's rules write, with its buttons.
DEPENDS_ON = ("duplicates",)

#: Posts one message (`text` and `blocks`) to a channel; returns the message's ts.
Poster = Callable[[str, dict[str, Any]], str]


class DigestNotSent(Exception):
    """Slack did not take the digest (its pairs wait for the next one)."""


@dataclass(frozen=True)
class DigestResult:
    posted: int  # pairs in the message that went out; 0 when nothing was sent
    summary: str


def slack_poster(settings: Settings) -> Poster:
    """chat.postMessage with the bot token, through the configured Web API base URL."""
    from slack_sdk.errors import SlackApiError

    from bot.slack.client import make_web_client
    from bot.slack.startup import BOT_TOKEN

    token = os.environ.get(BOT_TOKEN)
    if not token:
        raise ConfigError(f"{BOT_TOKEN} is not set: the duplicate digest posts with the bot token.")
    client = make_web_client(settings, token)

    def post(channel: str, message: dict[str, Any]) -> str:
        try:
            response = client.chat_postMessage(channel=channel, **message)
        except SlackApiError as error:
            code = error.response.get("error") if error.response is not None else error
            raise DigestNotSent(f"Slack refused the digest in {channel}: {code}.") from None
        except OSError as error:
            raise DigestNotSent(f"Slack could not be reached: {error}.") from None
        return str(response.get("ts") or "")

    return post


def send_digest(store: Store, channel: str, poster: Poster) -> DigestResult:
    """Claim the new pairs, post them to `channel`, and mark them sent (see the module doc)."""
    from bot.slack.digest_message import digest_message

    claim = claim_new_pairs(store, channel)
    if claim.busy:
        return DigestResult(0, "Another instance is sending the duplicate digest; nothing sent.")
    if claim.digest_id is None or not claim.pairs:
        return DigestResult(0, "No new duplicate pairs since the last digest; nothing sent.")
    try:
        ts = poster(channel, digest_message(claim.pairs))
    except BaseException:
        give_back(store, claim.digest_id)
        raise
    mark_sent(store, claim.digest_id, ts)
    count = len(claim.pairs)
    noun = "pair" if count == 1 else "pairs"
    return DigestResult(count, f"Posted {count} new duplicate {noun} to {channel}.")


@config_table("dupes")
def dupes_settings(table: Mapping[str, Any] | None) -> DupesSettings:
    """`[dupes]`: the digest's cron line, time zone and channel."""
    return parse_dupes_settings(table)


@schedule(DIGEST_JOB_ID, cron=DEFAULT_DIGEST_CRON)
def duplicate_digest(ctx: JobContext) -> str:
    """Post the duplicate pairs found since the last digest to `[dupes] digest_channel`."""
    channel = ctx.registry.config("dupes").digest_channel
    if not channel:
        raise ConfigError(
            'dupes.digest_channel: not set; the duplicate digest needs a channel, like "C0123ABCD".'
        )
    result = send_digest(ctx.store, channel, slack_poster(ctx.settings))
    log.info("%s: %s", DIGEST_JOB_ID, result.summary)
    return result.summary
