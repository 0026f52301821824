"""`contactbot slack` (Socket Mode) and `contactbot slack --http --port N [--host H]`.

Tokens come from the environment only: SLACK_BOT_TOKEN, plus SLACK_APP_TOKEN for Socket Mode or
SLACK_SIGNING_SECRET for HTTP mode. A missing one is refused at start with its name (exit 2,
one line on standard error).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping

from bot.config import Settings
from bot.runtime import App, build_app

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--http", action="store_true", help="HTTP mode (default: Socket Mode, no public URL)"
    )
    parser.add_argument("--port", type=int, help="HTTP mode: port (default: slack.port, 3000)")
    parser.add_argument(
        "--host", help="HTTP mode: address to listen on (default: slack.host, 0.0.0.0)"
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


def slack_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.slack.server import serve_http, serve_socket_mode

    http = bool(args.http)
    try:
        check_environment(http)
    except SlackStartError as error:
        print(f"contactbot: {error}", file=sys.stderr)
        return 2
    port = args.port if args.port is not None else settings.slack.port
    host = args.host or settings.slack.host
    if not 1 <= port <= 65535:
        print(f"contactbot: --port: {port} is not a port number (1 to 65535).", file=sys.stderr)
        return 2
    app = build_app(settings)
    try:
        try:
            bolt = build(app, http)
        except SlackStartError as error:
            print(f"contactbot: {error}", file=sys.stderr)
            return 2
        stop = threading.Event()
        _stop_on_signals(stop, interrupt=http)
        if http:
            print(
                f"contactbot: Slack HTTP mode on http://{host}:{port}/slack/events "
                f"(health: /healthz). Stop with Ctrl-C.",
                file=sys.stderr,
                flush=True,
            )
            try:
                serve_http(
                    bolt,
                    app,
                    host=host,
                    port=port,
                    signing_secret=os.environ[SIGNING_SECRET],
                    stop=stop,
                )
            except OSError as error:
                print(f"contactbot: cannot listen on {host}:{port}: {error}", file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                pass
        else:
            print("contactbot: Slack Socket Mode. Stop with Ctrl-C.", file=sys.stderr, flush=True)
            serve_socket_mode(bolt, os.environ[APP_TOKEN], stop)
        return 0
    finally:
        app.close()


def _stop_on_signals(stop: threading.Event, *, interrupt: bool = False) -> None:
    """SIGTERM and SIGINT set `stop`; with `interrupt`, they also break the main thread out of
    the HTTP server's loop (waitress serves on the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handle(*_: object) -> None:
        stop.set()
        if interrupt:
            raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handle)
