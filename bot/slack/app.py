"""build_slack_app: one Bolt app wired to contactbot's runtime.

Request verification (the signing secret) stays on in HTTP mode; Socket Mode needs none.
`process_before_response` stays off, so Bolt answers Slack as soon as a listener calls ack().
Listeners ack first and hand the slow part (database, answers) to the runner's own work threads
(SlackRunner.later), so Bolt's listener threads only ever ack and open modals, and a backlog of
work never delays an ack. Work catches its own exceptions (SlackRunner.guard: a short apology
with an error id, also logged); the error handler below is the last resort, so the process
keeps serving whatever happens in one request.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App as BoltApp
from slack_bolt import BoltResponse

from bot.config import Settings
from bot.runtime import App
from bot.slack import (
    actions,
    commands,
    events,
    home,
    log_redaction,
    shortcut,
    submit,
    suggestions,
)
from bot.slack.actors import ActorResolver
from bot.slack.client import make_web_client
from bot.slack.runner import SlackRunner
from storage.deliveries import prune_deliveries

log = logging.getLogger(__name__)

#: Enough to ack 20 concurrent requests while more arrive.
LISTENER_THREADS = 32
PRUNE_SECONDS = 3600.0


class _QuietTokenWarning(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused when a client is given; it is the client's."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_slack_app(
    app: App,
    settings: Settings,
    *,
    http: bool,
    bot_token: str,
    signing_secret: str | None = None,
) -> BoltApp:
    """The Bolt app. Calls auth.test once (Bolt's token check) through the configured client."""
    # Bolt and slack_sdk log bodies, response URLs and tokens at debug level (-v): bounded and
    # redacted before any handler writes them (bot.slack.log_redaction).
    log_redaction.install()
    client = make_web_client(settings, bot_token)
    bolt_log = logging.getLogger("bot.slack.bolt")
    if not any(isinstance(f, _QuietTokenWarning) for f in bolt_log.filters):
        bolt_log.addFilter(_QuietTokenWarning())
    bolt = BoltApp(
        client=client,
        signing_secret=signing_secret if http else None,
        request_verification_enabled=http,
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="slack-listener"
        ),
        raise_error_for_unhandled_request=False,
        logger=bolt_log,
    )
    runner = SlackRunner(app, ActorResolver(app.dispatcher, settings.roles, client), client)
    for module in (commands, actions, submit, suggestions, shortcut, home, events):
        module.register(bolt, runner)

    @bolt.error
    def last_resort(error: Exception, body: dict[str, Any]) -> BoltResponse:
        error_id = uuid.uuid4().hex[:8]
        log.error("error %s in a Slack listener", error_id, exc_info=error)
        return BoltResponse(status=200, body="")

    bolt.contactbot_runner = runner  # type: ignore[attr-defined]  # for tests and home
    start_pruning(app)
    return bolt


def prune_once(app: App) -> None:
    try:
        count = app.dispatcher.query(prune_deliveries)
        if count:
            log.info("forgot %d Slack delivery ids older than a day", count)
    except Exception:
        log.exception("pruning delivery ids failed")


def start_pruning(app: App, every_seconds: float = PRUNE_SECONDS) -> threading.Thread:
    """Forget delivery ids older than a day now and then (Slack retries within the hour)."""

    def loop() -> None:
        prune_once(app)
        while not threading.Event().wait(every_seconds):
            prune_once(app)

    thread = threading.Thread(target=loop, name="slack-prune", daemon=True)
    thread.start()
    return thread
