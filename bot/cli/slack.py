"""`contactbot slack` (Socket Mode) and `contactbot slack --http --port N [--host H]`.

Tokens come from the environment only (bot.slack.startup names them); a missing one is refused
at start with its name (exit 2, one line on standard error).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading

from bot.cli.signals import stop_on_signals
from bot.config import Settings
from bot.runtime import build_app


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `slack` with --http, --port and --host to the `contactbot` parser."""
    slack = subparsers.add_parser(
        "slack",
        help="the Slack bot: Socket Mode (SLACK_BOT_TOKEN, SLACK_APP_TOKEN), "
        "or --http (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)",
    )
    slack.add_argument(
        "--http", action="store_true", help="HTTP mode (default: Socket Mode, no public URL)"
    )
    slack.add_argument("--port", type=int, help="HTTP mode: port (default: slack.port, 3000)")
    slack.add_argument(
        "--host", help="HTTP mode: address to listen on (default: slack.host, 0.0.0.0)"
    )
    return slack


def run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.slack.server import serve_http, serve_socket_mode
    from bot.slack.startup import (
        APP_TOKEN,
        SIGNING_SECRET,
        SlackStartError,
        build,
        check_environment,
    )

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
        stop_on_signals(stop.set, interrupt=http)
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
