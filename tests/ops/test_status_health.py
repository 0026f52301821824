"""`contactbot status` and `contactbot run --health-port N`: every part, and a stopped one.

A real Dovecot (tests/mail/conftest.py) serves the mailbox; it is stopped halfway, and both
the status command and /healthz must then name that mailbox as failing (exit 1, HTTP 503).
Slack is checked against the Slack Web API double: the tokens of Socket Mode, and `auth.test`
at the base URL the app uses. `run` runs in Socket Mode against a local Socket Mode server.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mail.conftest import PASSWORD, PASSWORD_ENV, Dovecot
from tests.ops.conftest import SCRIPT, cli_env, contactbot
from tests.slack_double import SlackDouble
from tests.slack_e2e.socket_mode_server import SocketModeServer

BOT_TOKEN = "xoxb-ops-status"


def _config(work: Path, dovecot: Dovecot, user: str) -> None:
    (work / "config.toml").write_text(
        f"""
[[mail.accounts]]
name = "sam"
host = "127.0.0.1"
port = {dovecot.port}
security = "none"
allow_insecure = true
username = "{user}"
password_env = "{PASSWORD_ENV}"
folders = ["INBOX"]
""",
        encoding="utf-8",
    )


def _env(double: SlackDouble, database_url: str, **extra: str) -> dict[str, str]:
    return {
        "CONTACTBOT_DATABASE_URL": database_url,
        "CONTACTBOT_SLACK_API_URL": double.url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": "xapp-ops-status",
        PASSWORD_ENV: PASSWORD,
        **extra,
    }


def _states(stdout: str) -> dict[str, str]:
    """`name  state  detail` lines -> {name: state}."""
    states = {}
    for line in stdout.splitlines():
        name, _, rest = line.partition("  ")
        states[name.strip()] = rest.split()[0]
    return states


def test_status_reports_each_part_and_a_stopped_mail_server_as_failing(
    tmp_path: Path, dovecot: Dovecot, mailbox: str, slack_double: SlackDouble, database_url: str
) -> None:
    _config(tmp_path, dovecot, mailbox)
    env = _env(slack_double, database_url)
    ok = contactbot(tmp_path, "status", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    states = _states(ok.stdout)
    assert states == {
        "database": "ok",
        "slack": "ok",
        "mail sam": "ok",
        "job duplicate_digest": "ok",
    }, ok.stdout
    assert "Socket Mode: signed in to contactbot test" in ok.stdout
    assert f"{mailbox} at 127.0.0.1:{dovecot.port}: logged in" in ok.stdout
    assert "next run 20" in ok.stdout
    auth = slack_double.calls("auth.test")
    assert auth and auth[-1].headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert PASSWORD not in ok.stdout + ok.stderr

    dovecot.stop()
    failing = contactbot(tmp_path, "status", env=env)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert _states(failing.stdout)["mail sam"] == "failing"
    assert _states(failing.stdout)["database"] == "ok"
    assert "Traceback" not in failing.stdout + failing.stderr

    as_json = json.loads(contactbot(tmp_path, "status", "--json", env=env).stdout)
    assert as_json["ok"] is False
    mail = next(c for c in as_json["checks"] if c["name"] == "mail sam")
    assert mail["state"] == "failing" and str(dovecot.port) in mail["detail"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_status_names_a_slack_token_slack_refuses_and_a_missing_app_token(
    tmp_path: Path, slack_double: SlackDouble, database_url: str
) -> None:
    env = _env(slack_double, database_url)
    slack_double.fail("auth.test", "invalid_auth")
    refused = contactbot(tmp_path, "status", env=env)
    assert refused.returncode == 1
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in refused.stdout

    env.pop("SLACK_APP_TOKEN")
    missing = contactbot(tmp_path, "status", env=env)
    assert missing.returncode == 1
    assert "SLACK_APP_TOKEN is not set" in missing.stdout

    for name in ("SLACK_BOT_TOKEN", "CONTACTBOT_SLACK_API_URL"):
        env.pop(name)
    off = contactbot(tmp_path, "status", env=env)
    assert off.returncode == 0, off.stdout
    assert _states(off.stdout)["slack"] == "off"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str = "/healthz") -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=15) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture
def socket_server(slack_double: SlackDouble) -> Iterator[SocketModeServer]:
    server = SocketModeServer().start()
    slack_double.socket_mode_url = server.url
    yield server
    server.stop()


def test_run_serves_healthz_in_socket_mode_and_turns_503_when_the_mail_server_stops(
    tmp_path: Path,
    dovecot: Dovecot,
    mailbox: str,
    slack_double: SlackDouble,
    socket_server: SocketModeServer,
    database_url: str,
) -> None:
    _config(tmp_path, dovecot, mailbox)
    port = _free_port()
    process = subprocess.Popen(
        [SCRIPT, "run", "--health-port", str(port)],
        cwd=tmp_path,
        env=cli_env(tmp_path, _env(slack_double, database_url)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        answer: tuple[int, dict[str, object]] | None = None
        while answer is None:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no /healthz within 60 s"
            try:
                answer = _get(port)
            except OSError:
                time.sleep(0.2)
        status, body = answer
        assert status == 200, body
        checks = {c["name"]: c for c in body["checks"]}  # type: ignore[union-attr, index]
        assert checks["mail sam"]["state"] == "ok"
        assert "Socket Mode" in checks["slack"]["detail"]
        socket_server.wait_for_connections(1, timeout=30)  # Socket Mode is really on
        assert _get(port, "/elsewhere")[0] == 404

        dovecot.stop()
        deadline = time.monotonic() + 60
        while (answer := _get(port))[0] == 200:
            assert time.monotonic() < deadline, answer
            time.sleep(0.5)
        status, body = answer
        assert status == 503
        checks = {c["name"]: c for c in body["checks"]}  # type: ignore[union-attr, index]
        assert checks["mail sam"]["state"] == "failing"
        assert checks["database"]["state"] == "ok"
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err, err
