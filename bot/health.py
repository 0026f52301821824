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
CACHE_SECONDS = 5.0


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


#: module:function that checks Slack (`check(settings, env) -> Check`), a hook as `contactbot
#: run` has for starting Slack, so the runtime's top level names no Slack module.
SLACK_CHECK = "bot.slack.health_check:check_slack"


def check_slack(
    settings: Settings, env: Mapping[str, str] | None = None, http: bool | None = None
) -> Check:
    """The Slack adapter's own check (bot.slack.health_check); "off" when it is not installed.
    `http`: the mode Slack is served in, when not the configured one (`contactbot slack
    --http` says it on the command line)."""
    import importlib

    module_name, _, function = SLACK_CHECK.partition(":")
    try:
        check = getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError):
        return Check("slack", True, "the Slack adapter is not installed", configured=False)
    return check(settings, env, http)


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
    """Each scheduled job of the enabled plugins with its next run (as `jobs list` shows it)."""
    from bot.registry import RegistryError
    from bot.runtime import plugin_registry
    from bot.scheduler import job_timing

    try:
        registry = plugin_registry(settings)
    except (ConfigError, RegistryError) as error:
        return [Check("jobs", False, str(error))]
    checks = []
    for job_id in sorted(registry.schedules):
        name = f"job {job_id}"
        try:
            upcoming = job_timing(registry.schedules[job_id], registry).next_run()
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
    slack_http: bool | None = None,
) -> HealthReport:
    """Every part, the mailboxes checked at once (each within `timeout`)."""
    from concurrent.futures import ThreadPoolExecutor

    accounts = settings.mail.accounts
    with ThreadPoolExecutor(max_workers=max(2, min(8, len(accounts) + 2))) as pool:
        database = pool.submit(check_database, settings, store)
        slack = pool.submit(check_slack, settings, env, slack_http)
        mail = [pool.submit(check_mailbox, a, env, timeout) for a in accounts]
        logged = pool.submit(recorded_mail_states, settings, store) if accounts else None
        db_check = database.result()
        states = logged.result() if logged is not None and db_check.ok else {}
        mail_checks = [
            with_worker_state(m.result(), states.get(a.name))
            for a, m in zip(accounts, mail, strict=True)
        ]
        checks = [db_check, slack.result(), *mail_checks]
    return HealthReport((*checks, *check_jobs(settings)))


def recorded_mail_states(settings: Settings, store: Store | None = None) -> dict[str, Any]:
    """The mail worker's own record of each mailbox (storage.mail_state: failing since, last
    error, last sync), so /healthz and `status` also see a mailbox that logs in but fails
    later (a folder that cannot be read, mail that cannot be stored). {} when unreadable."""
    from storage.database import Store
    from storage.mail_state import mail_status

    own = store is None
    try:
        if store is None:
            store = Store(settings.database_url, pool=settings.pool)
        try:
            with store.session() as session:
                names = [account.name for account in settings.mail.accounts]
                return {state.mailbox: state for state in mail_status(session, names)}
        finally:
            if own:
                store.dispose()
    except Exception as error:  # the database check reports why; health never fails here
        log.info("health: the mail state could not be read: %s", error)
        return {}


def with_worker_state(check: Check, state: Any) -> Check:
    """The live login check with what the worker recorded: failing when either says so."""
    if state is None or state.state == "unknown":
        return check
    if state.failing:
        since = state.failing_since.strftime("%Y-%m-%d %H:%M UTC") if state.failing_since else ""
        worker = f"the worker: failing since {since}: {state.last_error[:200]}"
        return Check(check.name, False, f"{check.detail}; {worker}")
    last = state.last_success_at.strftime("%Y-%m-%d %H:%M UTC") if state.last_success_at else ""
    return Check(
        check.name, check.ok, f"{check.detail}; last sync {last}" if last else check.detail
    )


class HealthMonitor:
    """The report of a running app, recomputed at most every `cache_seconds`."""

    def __init__(
        self,
        settings: Settings,
        store: Store | None = None,
        cache_seconds: float = CACHE_SECONDS,
        slack_http: bool | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.slack_http = slack_http
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._report: HealthReport | None = None
        self._at = 0.0

    def report(self) -> HealthReport:
        with self._lock:
            if self._report is None or time.monotonic() - self._at >= self.cache_seconds:
                self._report = health_report(
                    self.settings, store=self.store, slack_http=self.slack_http
                )
                self._at = time.monotonic()
                for check in self._report.failing:
                    log.warning("health: %s failing: %s", check.name, check.detail)
            return self._report

    def response(self) -> tuple[str, dict[str, Any]]:
        """(HTTP status line, JSON body) for /healthz: 200 when every part works, else 503."""
        report = self.report()
        status = "200 OK" if report.ok else "503 Service Unavailable"
        return status, report.as_dict()
