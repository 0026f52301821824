"""The Slack adapter (Bolt for Python): every registry command as `/contact <verb> …`, contact
cards as Block Kit, the contact modal, buttons, the "Log to contact" shortcut and App Home.

`start(app, stop)` is the hook `contactbot run` uses (bot.cli.run.SLACK_ENTRY): it serves Slack
in the mode `[slack] mode` names until `stop` is set. `plan(settings)` says what it would start,
or why it cannot.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

from bot.config import Settings
from bot.runtime import App

log = logging.getLogger(__name__)


def plan(settings: Settings, env: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(what `start` would serve, "") or (None, why not)."""
    from bot.slack.startup import SlackStartError, check_environment

    env = os.environ if env is None else env
    http = settings.slack.mode == "http"
    try:
        check_environment(http, env)
    except SlackStartError as error:
        return None, str(error)
    if http:
        return f"Slack (HTTP mode on {settings.slack.host}:{settings.slack.port})", ""
    return "Slack (Socket Mode)", ""


def start(app: App, stop: threading.Event) -> None:
    """Serve Slack until `stop` is set (run in a thread by `contactbot run`)."""
    from bot.slack.server import serve_http, serve_socket_mode
    from bot.slack.startup import APP_TOKEN, SIGNING_SECRET, SlackStartError, build

    http = app.settings.slack.mode == "http"
    try:
        bolt = build(app, http)
    except SlackStartError as error:
        log.error("Slack not started: %s", error)
        return
    if http:
        slack = app.settings.slack
        secret = os.environ[SIGNING_SECRET]
        serve_http(bolt, app, host=slack.host, port=slack.port, signing_secret=secret, stop=stop)
    else:
        serve_socket_mode(bolt, os.environ[APP_TOKEN], stop)
