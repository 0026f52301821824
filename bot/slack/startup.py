"""What Slack needs to start: the token variables, their check, and the Bolt app.

Tokens come from the environment only: SLACK_BOT_TOKEN, plus SLACK_APP_TOKEN for Socket Mode or
SLACK_SIGNING_SECRET for HTTP mode. Used by `contactbot slack` (bot.cli.slack) and by the hook
`contactbot run` starts (bot.slack.start).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from bot.runtime import App

log = logging.getLogger(__name__)

BOT_TOKEN = "SLACK_BOT_TOKEN"
APP_TOKEN = "SLACK_APP_TOKEN"
SIGNING_SECRET = "SLACK_SIGNING_SECRET"


class SlackStartError(Exception):
    """Slack cannot start: a missing variable, a token Slack refuses, an unreachable API."""


def required_variables(http: bool) -> tuple[str, str]:
    return (BOT_TOKEN, SIGNING_SECRET) if http else (BOT_TOKEN, APP_TOKEN)


def check_environment(http: bool, env: Mapping[str, str] | None = None) -> None:
    env = os.environ if env is None else env
    needed = required_variables(http)
    mode = "HTTP mode" if http else "Socket Mode"
    for name in needed:
        if not env.get(name):
            raise SlackStartError(
                f"{name} is not set; Slack {mode} needs {' and '.join(needed)} in the environment."
            )


def build(app: App, http: bool, env: Mapping[str, str] | None = None):  # type: ignore[no-untyped-def]
    """The Bolt app, or SlackStartError with one line that says why not."""
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackClientError

    from bot.slack.app import build_slack_app

    env = os.environ if env is None else env
    check_environment(http, env)
    try:
        return build_slack_app(
            app,
            app.settings,
            http=http,
            bot_token=env[BOT_TOKEN],
            signing_secret=env.get(SIGNING_SECRET) if http else None,
        )
    except BoltError as error:
        raise SlackStartError(f"Slack refused {BOT_TOKEN}: {error}") from None
    except (SlackClientError, OSError) as error:
        raise SlackStartError(f"cannot reach the Slack Web API ({error}).") from None
