"""`contactbot run`: start what is configured, in one process.

That is the mail worker when there are [[mail.accounts]], the APScheduler jobs of the plugins
(`@schedule`, wired in bot.scheduler), and Slack through the hook `SLACK_ENTRY`: the Slack
adapter (bot/slack/) provides `start(app, stop_event)`; when it is not installed, or no
SLACK_BOT_TOKEN is set, `run` says so and runs the rest.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

from bot.cli.mail import make_worker
from bot.cli.signals import stop_on_signals
from bot.config import Settings
from bot.mail.worker import MailWorker
from bot.runtime import App, build_app

log = logging.getLogger(__name__)

#: module:function that starts the Slack adapter: `start(app, stop_event) -> None`, blocking
#: until stop_event is set (run in a thread of its own here).
SLACK_ENTRY = "bot.slack:start"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `run` to the `contactbot` parser."""
    run_parser = subparsers.add_parser(
        "run", help="start what is configured: Slack, mail worker, scheduler"
    )
    run_parser.add_argument(
        "--health-port",
        type=int,
        metavar="N",
        help="serve the `contactbot status` report as JSON on http://HOST:N/healthz "
        "(200 when every part works, 503 when one is failing), in Socket Mode too",
    )
    run_parser.add_argument(
        "--health-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address for --health-port (default: 127.0.0.1; 0.0.0.0 for every interface)",
    )
    return run_parser


def _slack_starter() -> Callable[[App, threading.Event], Any] | None:
    module_name, _, function = SLACK_ENTRY.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, function, None)


def _slack_plan(settings: Settings) -> tuple[str | None, str]:
    """What Slack would start as ("Slack (Socket Mode)", …), or None and why not."""
    import os

    try:
        from bot.slack import plan
    except ImportError:
        if os.environ.get("SLACK_BOT_TOKEN"):
            return "Slack", ""
        return None, "SLACK_BOT_TOKEN is not set"
    return plan(settings)


def _start_health(app: App, host: str, port: int, stop: threading.Event) -> None:
    from bot.health import HealthMonitor
    from bot.health_server import start_health_server

    start_health_server(HealthMonitor(app.settings, app.store), host, port, stop)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Start Slack (if configured and installed), the mail worker and the scheduler."""
    from bot.scheduler import build_scheduler

    health_port = getattr(args, "health_port", None)
    if health_port is not None and not 1 <= health_port <= 65535:
        print(
            f"contactbot: --health-port: {health_port} is not a port number (1 to 65535).",
            file=sys.stderr,
        )
        return 2
    app = build_app(settings)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    scheduler = build_scheduler(app)
    worker: MailWorker | None = None
    try:
        if settings.mail.accounts:
            worker = make_worker(app)
        scheduler.start()
        started: list[str] = ["scheduler"]
        if health_port is not None:
            host = getattr(args, "health_host", "127.0.0.1")
            try:
                _start_health(app, host, health_port, stop)
            except OSError as error:
                why = f"cannot listen on {host}:{health_port}: {error}"
                print(f"contactbot: {why}", file=sys.stderr)
                return 2
            started.append(f"health on http://{host}:{health_port}/healthz")
        if worker is not None:
            threads.append(threading.Thread(target=worker.run, args=(scheduler,), name="mail"))
            started.append(f"mail worker ({len(settings.mail.accounts)} mailboxes)")
        starter = _slack_starter()
        slack_what, slack_why = _slack_plan(settings)
        if starter is not None and slack_what:
            threads.append(threading.Thread(target=starter, args=(app, stop), name="slack"))
            started.append(slack_what)
        elif starter is None:
            log.warning("Slack adapter (%s) is not installed; running without Slack", SLACK_ENTRY)
            print(
                "contactbot: Slack adapter not installed; running without Slack.", file=sys.stderr
            )
        else:
            print(f"contactbot: not starting Slack: {slack_why}", file=sys.stderr)

        def shut_down() -> None:
            stop.set()
            if worker is not None:
                worker.stop()

        stop_on_signals(shut_down)
        for thread in threads:
            thread.daemon = True
            thread.start()
        print(f"contactbot running: {', '.join(started)}. Stop with Ctrl-C.", file=sys.stderr)
        while not stop.wait(0.5):
            pass
        for thread in threads:
            thread.join(timeout=10)
        return 0
    finally:
        scheduler.shutdown(wait=False)
        app.close()
