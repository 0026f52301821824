"""Is this contactbot working? The database, Slack, each mailbox, the scheduled jobs.

One report for every way of asking: `contactbot status` prints it (exit 1 when a part is
failing), `contactbot run --health-port N` serves it as JSON on /healthz in Socket Mode too
(bot.health_server), and HTTP mode's /healthz (bot.slack.server) answers the same JSON, so a
load balancer or a monitor reads one shape whatever the mode.

Each part is checked the way the running bot uses it, with a short timeout:
- the database: connect, `SELECT 1`, the schema revision against the newest;
- Slack: the tokens its mode needs are set, and `auth.test` answers at the configured Web API
  base URL (no token at all means Slack is not configured, which is not a failure);
- each `[[mail.accounts]]` mailbox: connect and log in to its IMAP server;
- each scheduled job: its next run.
The answer is cached for `CACHE_SECONDS`, so a monitor polling /healthz every second does not
log in to every mailbox every second. Secrets never appear in it: URLs show *** for passwords.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import ConfigError, Settings
from bot.mail.config import MailAccount
from storage.connect_errors import DatabaseUnreachable, describe, probe, shown_url

if TYPE_CHECKING:
    from storage.database import Store

log = logging.getLogger(__name__)

#: Seconds one check may take (an IMAP connect + login, an auth.test).
CHECK_TIMEOUT_SECONDS = 5.0
#: How long a report is reused by `HealthMonitor.report`.
CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class Check:
    """One part: its name (`database`, `slack`, `mail <name>`, `job <id>`), whether it works,
    and one line saying how it stands or what to check."""

    name: str
    ok: bool
    detail: str
    #: a part that is switched off (Slack without tokens): shown, never failing
    configured: bool = True

    @property
    def state(self) -> str:
        if not self.configured:
            return "off"
        return "ok" if self.ok else "failing"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class HealthReport:
    checks: tuple[Check, ...]
    checked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failing(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def check(self, name: str) -> Check:
        return next(check for check in self.checks if check.name == name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked_at": self.checked_at.isoformat(timespec="seconds"),
            "checks": [check.as_dict() for check in self.checks],
        }

    def lines(self) -> list[str]:
        """The report as `contactbot status` prints it: one aligned line per part."""
        width = max((len(check.name) for check in self.checks), default=0)
        return [f"{c.name.ljust(width)}  {c.state.ljust(7)}  {c.detail}" for c in self.checks]


# --- the parts ------------------------------------------------------------------------------


def check_database(settings: Settings, store: Store | None = None) -> Check:
    """Reachable, and at the newest schema (PostgreSQL is migrated by `contactbot db upgrade`).

    `store`: the running app's, so /healthz asks through the pool the bot serves with; without
    one (`contactbot status`) a store is opened for the check and closed again."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from storage.database import Store

    url = settings.database_url
    shown = shown_url(url)
    own = store is None
    try:
        probe(url, settings.data_dir)
        if store is None:
            store = Store(url, pool=settings.pool)
        try:
            with store.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            current, newest = store.current_revision(), store.head_revision()
        finally:
            if own:
                store.dispose()
    except DatabaseUnreachable as error:
        return Check("database", False, str(error))
    except (SQLAlchemyError, OSError) as error:
        return Check("database", False, describe(url, error))
    if current is None and url.startswith("sqlite"):
        return Check("database", True, f"{shown} (empty: set up on first use)")
    if current != newest:
        return Check(
            "database",
            False,
            f"{shown} is at schema {current or 'none'}, contactbot needs {newest}: "
            "run `contactbot db upgrade`",
        )
    return Check("database", True, f"{shown} (schema {current})")


def check_slack(settings: Settings, env: Mapping[str, str] | None = None) -> Check:
    """The tokens of the configured mode, and auth.test at the Web API base URL."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.slack.client import base_url
    from bot.slack.startup import BOT_TOKEN, SlackStartError, check_environment

    env = os.environ if env is None else env
    http = settings.slack.mode == "http"
    mode = f"HTTP mode on {settings.slack.host}:{settings.slack.port}" if http else "Socket Mode"
    if not env.get(BOT_TOKEN):
        return Check("slack", True, f"not configured ({BOT_TOKEN} is not set)", configured=False)
    try:
        check_environment(http, env)
    except SlackStartError as error:
        return Check("slack", False, f"{mode}: {error}")
    client = WebClient(token=env[BOT_TOKEN], base_url=base_url(settings), timeout=5)
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


def check_mailbox(
    account: MailAccount, env: Mapping[str, str] | None = None, timeout: float = 5.0
) -> Check:
    """Connect and log in to the account's IMAP server, then log out."""
    from bot.mail.imap import CONNECTION_ERRORS, LOGIN_ERRORS, ImapSession
    from bot.mail.oauth2 import token_provider

    name = f"mail {account.name}"
    where = f"{account.username} at {account.host}:{account.port}"
    try:
        password = account.password(env) if account.auth == "password" else ""
        credentials = password or token_provider(account, env)  # OAuth2: a token provider
        session = ImapSession(account, credentials, timeout=timeout)
    except ConfigError as error:
        return Check(name, False, str(error))
    except (*LOGIN_ERRORS, *CONNECTION_ERRORS) as error:
        reason = str(error) or type(error).__name__
        if password:
            reason = reason.replace(password, "***")
        return Check(name, False, f"{where}: {reason[:200]}")
    session.close()
    return Check(name, True, f"{where}: logged in")


def check_jobs(settings: Settings) -> list[Check]:
    """Each scheduled job of the enabled plugins with its next run."""
    from bot.registry import build_registry
    from bot.scheduler import job_timing

    registry = build_registry(settings.plugins)
    checks = []
    for job_id in sorted(registry.schedules):
        name = f"job {job_id}"
        try:
            upcoming = job_timing(registry.schedules[job_id], settings).next_run()
        except (ConfigError, ValueError) as error:
            checks.append(Check(name, False, str(error)))
            continue
        when = upcoming.strftime("%Y-%m-%d %H:%M %Z") if upcoming else "never"
        checks.append(Check(name, True, f"next run {when}"))
    return checks


def health_report(
    settings: Settings,
    env: Mapping[str, str] | None = None,
    *,
    store: Store | None = None,
    timeout: float = CHECK_TIMEOUT_SECONDS,
) -> HealthReport:
    """Every part, the mailboxes checked at once (each within `timeout`)."""
    from concurrent.futures import ThreadPoolExecutor

    accounts = settings.mail.accounts
    with ThreadPoolExecutor(max_workers=max(2, min(8, len(accounts) + 2))) as pool:
        database = pool.submit(check_database, settings, store)
        slack = pool.submit(check_slack, settings, env)
        mail = [pool.submit(check_mailbox, a, env, timeout) for a in accounts]
        checks = [database.result(), slack.result(), *(m.result() for m in mail)]
    return HealthReport((*checks, *check_jobs(settings)))


class HealthMonitor:
    """The report of a running app, recomputed at most every `cache_seconds`."""

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self.settings = settings
        self.store = store
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._report: HealthReport | None = None
        self._at = 0.0

    def report(self) -> HealthReport:
        with self._lock:
            if self._report is None or time.monotonic() - self._at >= self.cache_seconds:
                self._report = health_report(self.settings, store=self.store)
                self._at = time.monotonic()
                for check in self._report.failing:
                    log.warning("health: %s failing: %s", check.name, check.detail)
            return self._report

    def response(self) -> tuple[str, dict[str, Any]]:
        """(HTTP status line, JSON body) for /healthz: 200 when every part works, else 503."""
        report = self.report()
        status = "200 OK" if report.ok else "503 Service Unavailable"
        return status, report.as_dict()
