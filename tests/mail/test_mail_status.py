"""`contactbot mail sync --once` and `contactbot mail status` as a cron job runs them, against
the OAuth2 Dovecot, with the Slack alert going to the Web API double: a failing token program
ends the sync non-zero within a minute with one line; the mailbox is failing (status exits
1) and one alert goes out however often it fails; it recovers with one more. On SQLite and
PostgreSQL. Also: `since` on a first sync, and the state change under two processes."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from storage.database import Store
from storage.mail_state import mail_status, record_failure, record_success
from tests.mail.conftest import MailRig, message
from tests.mail.oauth_servers import Introspection, TestCA
from tests.mail.test_oauth2_login import SALES, TokenProgram, _command_account, _message_ids
from tests.mail.test_oauth2_login import _worker as oauth_worker
from tests.slack_double import SlackDouble, slack_double

__all__ = ["slack_double"]

ALERTS = "C0MAILALERTS"
MAIN = "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))"


def _config(rig: MailRig, program: TokenProgram, test_ca: TestCA, slack: SlackDouble) -> Path:
    path = program.directory.parent / "contactbot.toml"
    command = ", ".join(f'"{part}"' for part in program.command)
    path.write_text(
        f'data_dir = "{program.directory.parent / "data"}"\n'
        f'[database]\nurl = "{rig.app.settings.database_url}"\n'
        f'[slack]\napi_url = "{slack.url}"\n'
        f'[mail]\nalert_channel = "{ALERTS}"\n'
        f'[[mail.accounts]]\nname = "sam"\nhost = "127.0.0.1"\nport = {rig.dovecot.port}\n'
        f'security = "starttls"\nca_file = "{test_ca.ca_file}"\nusername = "{rig.user}"\n'
        f'auth = "oauth2"\noauth2_provider = "command"\noauth2_token_command = [{command}]\n'
        'salesperson = "SP1"\n'
    )
    return path


def _contactbot(config: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test-token"}
    env.pop("CONTACTBOT_SLACK_API_URL", None)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", MAIN, "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, time.monotonic() - started


def _alerts(slack: SlackDouble) -> list[str]:
    return [c.text for c in slack.calls("chat.postMessage") if c.body.get("channel") == ALERTS]


def test_failing_token_program_status_and_one_alert_each_way(
    oauth_rig: MailRig,
    tmp_path: Path,
    test_ca: TestCA,
    introspection: Introspection,
    slack_double: SlackDouble,
) -> None:
    rig = oauth_rig
    rig.ok('new person "Jan de Vries" email=jan@acme.example')
    program = TokenProgram(tmp_path / "program")
    program.hand_out(introspection.issue(rig.user))
    config = _config(rig, program, test_ca, slack_double)
    rig.dovecot.append(
        rig.user,
        "INBOX",
        [message(sender="jan@acme.example", to=SALES, subject="Hi", message_id="<s1@x>")],
    )

    status, _ = _contactbot(config, "mail", "status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("sam: unknown; last sync never (never synced)")

    synced, _ = _contactbot(config, "mail", "sync", "--once")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    status, _ = _contactbot(config, "mail", "status")
    assert status.returncode == 0
    lines = status.stdout.splitlines()
    assert (
        lines[0].startswith("sam: ok; last sync ") and "(up to date); 1 logged in 24 h" in lines[0]
    )
    assert any(line.startswith("  INBOX: last read ") for line in lines)
    assert any(line.startswith("  Verzonden items: last read ") for line in lines)
    assert _alerts(slack_double) == []

    program.fail_with("broker: the refresh token was revoked by an administrator")
    for _ in range(2):  # failing twice: one alert
        failed, seconds = _contactbot(config, "mail", "sync", "--once")
        assert failed.returncode == 1
        assert seconds < 60
        cause = (
            f"mailbox sam: the token program {sys.executable} failed (exit status 3): "
            "broker: the refresh token was revoked by an administrator"
        )
        assert failed.stdout.splitlines() == [f"error: {cause}"]
        assert failed.stderr == ""  # the one line, not a second copy in the log
    alerts = _alerts(slack_double)
    assert len(alerts) == 1
    assert "*sam*" in alerts[0] and "refresh token was revoked" in alerts[0]

    status, _ = _contactbot(config, "mail", "status")
    assert status.returncode == 1
    assert status.stdout.startswith("sam: failing since ")
    assert "  error (" in status.stdout and cause in status.stdout

    program.fail_with(None)
    recovered, _ = _contactbot(config, "mail", "sync", "--once")
    assert recovered.returncode == 0, recovered.stdout
    again, _ = _contactbot(config, "mail", "sync", "--once")
    assert again.returncode == 0
    alerts = _alerts(slack_double)
    assert len(alerts) == 2 and "*sam* is being logged again" in alerts[1]
    status, _ = _contactbot(config, "mail", "status")
    assert status.returncode == 0 and status.stdout.startswith("sam: ok; ")
    assert "last error (" in status.stdout  # what happened is still there to read
    assert _message_ids(rig) == ["<s1@x>"]


def test_since_reads_only_newer_mail_on_the_first_sync(
    oauth_rig: MailRig, tmp_path: Path, introspection: Introspection
) -> None:
    rig = oauth_rig
    rig.ok('new person "Jan de Vries" email=jan@acme.example')
    program = TokenProgram(tmp_path / "program")
    program.hand_out(introspection.issue(rig.user))

    def mail(n: int) -> bytes:
        return message(sender="jan@acme.example", to=SALES, subject=f"{n}", message_id=f"<d{n}@x>")

    old = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
    new = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)
    client = rig.dovecot.client(rig.user)
    try:
        client.append("INBOX", mail(1), msg_time=old)
        client.append("INBOX", mail(2), msg_time=new)
        client.append("INBOX", mail(3), msg_time=old)  # after a newer one: read (by UID)
    finally:
        client.logout()
    account = _command_account(rig, program, folders=("INBOX",), since=dt.date(2026, 1, 1))
    assert oauth_worker(rig, account).sync_once().errors == []
    assert _message_ids(rig) == ["<d2@x>", "<d3@x>"]
    client = rig.dovecot.client(rig.user)
    try:
        client.append("INBOX", mail(4), msg_time=old)  # later syncs go on from the last UID
    finally:
        client.logout()
    assert oauth_worker(rig, account).sync_once().errors == []
    assert _message_ids(rig) == ["<d2@x>", "<d3@x>", "<d4@x>"]


def test_since_with_nothing_new_enough_reads_nothing_and_goes_on_later(
    oauth_rig: MailRig, tmp_path: Path, introspection: Introspection
) -> None:
    rig = oauth_rig
    rig.ok('new person "Jan de Vries" email=jan@acme.example')
    program = TokenProgram(tmp_path / "program")
    program.hand_out(introspection.issue(rig.user))
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    client = rig.dovecot.client(rig.user)
    try:
        client.append(
            "INBOX",
            message(sender="jan@acme.example", to=SALES, subject="old", message_id="<old@x>"),
            msg_time=old,
        )
    finally:
        client.logout()
    account = _command_account(rig, program, folders=("INBOX",), since_days=30)
    assert oauth_worker(rig, account).sync_once().errors == []
    assert _message_ids(rig) == []
    rig.dovecot.append(
        rig.user,
        "INBOX",
        [message(sender="jan@acme.example", to=SALES, subject="new", message_id="<new@x>")],
    )
    assert oauth_worker(rig, account).sync_once().errors == []
    assert _message_ids(rig) == ["<new@x>"]


def _flip(url: str, barrier: object, rounds: int, queue: object) -> None:
    """One of two workers: at each barrier, both mark the mailbox failing, then ok."""
    store = Store(url)
    turned = 0
    for _ in range(rounds):
        barrier.wait()  # type: ignore[attr-defined]
        with store.transaction() as session:
            turned += record_failure(session, "shared", "mailbox shared: cannot connect")
        barrier.wait()  # type: ignore[attr-defined]
        with store.transaction() as session:
            turned += record_success(session, "shared")
    store.dispose()
    queue.put(turned)  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_two_processes_see_each_state_change_once(postgres_url: str) -> None:
    """Two workers on one PostgreSQL database: each change from ok to failing and back is
    made by exactly one of them, so one alert goes out each way."""
    rounds = 10
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    queue = context.Queue()
    workers = [
        context.Process(target=_flip, args=(postgres_url, barrier, rounds, queue)) for _ in range(2)
    ]
    for process in workers:
        process.start()
    totals = [queue.get(timeout=120) for _ in workers]
    for process in workers:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert sum(totals) == 2 * rounds  # rounds x (one to failing + one back to ok)
    store = Store(postgres_url)
    try:
        with store.transaction() as session:
            (state,) = mail_status(session, ["shared"])
    finally:
        store.dispose()
    assert state.state == "ok" and state.last_success_at is not None
    assert state.last_error == "mailbox shared: cannot connect"


def test_mail_run_marks_a_failing_mailbox_and_alerts_once_each_way(
    oauth_rig: MailRig, tmp_path: Path, introspection: Introspection
) -> None:
    rig = oauth_rig
    rig.ok('new person "Jan de Vries" email=jan@acme.example')
    program = TokenProgram(tmp_path / "program")
    program.hand_out(introspection.issue(rig.user))
    program.fail_with("broker: unavailable")
    account = _command_account(rig, program, name="sam", folders=("INBOX",))
    worker = oauth_worker(rig, account)
    worker.mail = replace(worker.mail, poll_minutes=0.01)  # retry a refused login every 0.6 s
    alerts: list[str] = []
    worker.alert = alerts.append
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        _wait_for(lambda: program.runs >= 3)  # tried again and again ...
        assert len(alerts) == 1 and "*sam* is not being logged" in alerts[0]  # ... told once
        with rig.app.store.transaction() as session:
            (state,) = mail_status(session, ["sam"])
        assert state.failing and "broker: unavailable" in state.last_error
        program.fail_with(None)
        _wait_for(lambda: len(alerts) == 2)
        assert "*sam* is being logged again" in alerts[1]
        rig.dovecot.append(
            rig.user,
            "INBOX",
            [message(sender="jan@acme.example", to=SALES, subject="Hi", message_id="<r1@x>")],
        )
        _wait_for(lambda: _message_ids(rig) == ["<r1@x>"])
        assert len(alerts) == 2
    finally:
        worker.stop()
        thread.join(timeout=15)
    assert not thread.is_alive()


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_the_health_check_logs_in_to_an_oauth2_mailbox(
    oauth_rig: MailRig, tmp_path: Path, introspection: Introspection
) -> None:
    from bot.health import check_mailbox

    rig = oauth_rig
    program = TokenProgram(tmp_path / "program")
    program.hand_out(introspection.issue(rig.user))
    account = _command_account(rig, program, name="sam")
    check = check_mailbox(account, {}, timeout=10)
    assert check.ok, check
    program.fail_with("broker: down")
    check = check_mailbox(account, {}, timeout=10)
    assert not check.ok
    assert "mailbox sam: the token program" in check.detail and "broker: down" in check.detail


def test_health_reports_what_the_worker_recorded_beside_the_login(
    oauth_rig: MailRig, tmp_path: Path, introspection: Introspection
) -> None:
    """A mailbox that still logs in but that the worker could not read is failing in
    `contactbot status` and /healthz, with the worker's reason; once it reads again, ok."""
    from bot.health import health_report

    rig = oauth_rig
    program = TokenProgram(tmp_path / "program")
    program.hand_out(introspection.issue(rig.user))
    account = _command_account(rig, program, name="sam")
    settings = replace(rig.app.settings, mail=replace(rig.app.settings.mail, accounts=(account,)))

    def mail_check() -> tuple[bool, str]:
        report = health_report(settings, {}, store=rig.app.store, timeout=10)
        check = next(c for c in report.checks if c.name == "mail sam")
        return check.ok, check.detail

    ok, detail = mail_check()
    assert ok and "logged in" in detail  # never synced: the login says it all
    with rig.app.store.transaction() as session:
        record_failure(session, "sam", "INBOX: cannot be selected (NO [SERVERBUG])")
    ok, detail = mail_check()
    assert not ok
    assert "logged in; the worker: failing since" in detail and "[SERVERBUG]" in detail
    with rig.app.store.transaction() as session:
        record_success(session, "sam")
    ok, detail = mail_check()
    assert ok and "; last sync " in detail, detail
