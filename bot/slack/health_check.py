"""Slack's line in the health report (bot.health): the tokens of the configured mode, and
`auth.test` at the Web API base URL the app uses (`[slack] api_url`), within 5 seconds and
without the client's retries, so a check never waits long. No SLACK_BOT_TOKEN at all means
Slack is not configured here, which is shown as "off", not as failing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.config import Settings
from bot.health import Check
from bot.slack.client import base_url
from bot.slack.startup import BOT_TOKEN, SlackStartError, check_environment

TIMEOUT_SECONDS = 5


def check_slack(
    settings: Settings, env: Mapping[str, str] | None = None, http: bool | None = None
) -> Check:
    """The tokens of the mode Slack runs in (`http`, else the configured one), and auth.test
    at the Web API base URL."""
    env = os.environ if env is None else env
    http = settings.slack.mode == "http" if http is None else http
    mode = "HTTP mode" if http else "Socket Mode"
    if not env.get(BOT_TOKEN):
        return Check("slack", True, f"not configured ({BOT_TOKEN} is not set)", configured=False)
    try:
        check_environment(http, env)
    except SlackStartError as error:
        return Check("slack", False, f"{mode}: {error}")
    client = WebClient(token=env[BOT_TOKEN], base_url=base_url(settings), timeout=TIMEOUT_SECONDS)
    try:
        answer = client.auth_test()
    except SlackApiError as error:
        reason = error.response.get("error", "refused") if error.response else "refused"
        return Check("slack", False, f"{mode}: Slack refused {BOT_TOKEN} ({reason})")
    except (SlackClientError, OSError) as error:
        return Check(
            "slack",
            False,
            f"{mode}: cannot reach the Slack Web API at {base_url(settings)} "
            f"({type(error).__name__}: {error})",
        )
    team = answer.get("team") or answer.get("team_id") or "?"
    return Check("slack", True, f"{mode}: signed in to {team} as {answer.get('user', '?')}")
