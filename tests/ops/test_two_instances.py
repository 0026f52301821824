"""Two `contactbot run` instances against one PostgreSQL, as a team runs them past one machine:
Slack in HTTP mode behind a load balancer (an event may reach either instance, and Slack's
retry the other) and three Dovecot mailboxes shared through leases. One instance is killed: the
other takes its mailboxes over, every mail is logged once, and every event, delivered to both
instances at once and redelivered after the kill, is answered once (issue 17)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from storage.leases import lease_key, mailbox_lease
from tests.mail.conftest import PASSWORD, PASSWORD_ENV, Dovecot
from tests.ops.conftest import SCRIPT, cli_env, contactbot
from tests.ops.test_mail_leases import (
    MAILBOXES,
    _config,
    _holders,
    _logged,
    _mails,
    _wait,
    kill_a_holder,
)
from tests.slack_double import SlackDouble, slack_double
from tests.slack_e2e.harness import (
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackSender,
    event_callback,
    free_port,
    mention,
)
from tests.slack_e2e.test_events_two_processes import both_at_once

__all__ = ["slack_double"]

POST = "chat.postMessage"


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _answers(double: SlackDouble, channel: str, ts: str) -> int:
    return len(
        [
            call
            for call in double.calls(POST)
            if call.body.get("channel") == channel and call.body.get("thread_ts") == ts
        ]
    )


@pytest.mark.postgres
def test_two_run_instances_answer_each_event_once_and_log_each_mail_once_across_a_kill(
    tmp_path: Path, dovecot: Dovecot, postgres_url: str, slack_double: SlackDouble
) -> None:
    double = slack_double
    users = [dovecot.add_user() for _ in range(MAILBOXES)]
    _config(tmp_path, dovecot, users)
    mail_config = (tmp_path / "config.toml").read_text(encoding="utf-8")
    env = {
        "CONTACTBOT_DATABASE_URL": postgres_url,
        PASSWORD_ENV: PASSWORD,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    }
    lines = ['codes salespeople add SP1 name="Sam Sales" email=sales@example.com']
    lines += [f'new company "Acme {n}" email=p{n}@acme.example' for n in range(MAILBOXES)]
    for line in lines:
        assert contactbot(tmp_path, "shell", "-c", line, env=env).returncode == 0
    for box, user in enumerate(users):
        dovecot.append(user, "INBOX", _mails(box, 0, 20))
    keys = {lease_key(mailbox_lease(f"box{n}")) & 0xFFFFFFFF for n in range(MAILBOXES)}

    def start(name: str) -> tuple[subprocess.Popen[str], int]:
        port = free_port()
        config = tmp_path / f"{name}.toml"
        config.write_text(
            f'{mail_config}\n[slack]\nmode = "http"\nhost = "127.0.0.1"\nport = {port}\n'
            f'api_url = "{double.url}"\n',
            encoding="utf-8",
        )
        process = subprocess.Popen(
            [SCRIPT, "--config", str(config), "run"],
            cwd=tmp_path,
            env=cli_env(tmp_path, {**env, "PGAPPNAME": name}),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        return process, port

    (first, first_port), (second, second_port) = start("contactbot-a"), start("contactbot-b")
    try:
        _wait("both instances serving Slack", lambda: _listening(first_port))
        _wait("both instances serving Slack", lambda: _listening(second_port))
        senders = {
            "contactbot-a": SlackSender(first_port, double),
            "contactbot-b": SlackSender(second_port, double),
        }
        events = []
        for n in range(MAILBOXES):
            channel = f"C0TWIN{n}"
            ts = double.add_message(channel, f"find acme {n}", user="U_SALES")
            body = event_callback(mention(f"find acme {n}", ts, channel=channel))
            both_at_once(list(senders.values()), body)
            events.append((channel, ts, body))
        _wait("every mailbox leased", lambda: set(_holders(postgres_url)) == keys)
        _wait("the first mails logged", lambda: sum(_logged(postgres_url).values()) == 60)
        for channel, ts, _ in events:
            _wait("each event answered", lambda c=channel, t=ts: _answers(double, c, t) >= 1)

        survivor_name = kill_a_holder(
            postgres_url, keys, {"contactbot-a": first, "contactbot-b": second}
        )
        for box, user in enumerate(users):
            dovecot.append(user, "INBOX", _mails(box, 20, 10))
        survivor = senders[survivor_name]
        for _, _, body in events:  # Slack retries every event at the one left
            assert survivor.resend_event(body, retry=2).response.status == 200
        channel = "C0TWINAFTER"
        ts = double.add_message(channel, "find acme 1", user="U_SALES")
        assert survivor.event(mention("find acme 1", ts, channel=channel)).response.status == 200
        _wait("the event after the kill answered", lambda: _answers(double, channel, ts) == 1)
        _wait("the new mails logged", lambda: sum(_logged(postgres_url).values()) >= 90)
        time.sleep(2)  # anything logged or answered twice would show now
        logged = _logged(postgres_url)
        assert len(logged) == 90 and set(logged.values()) == {1}, logged.most_common(3)
        assert [_answers(double, c, t) for c, t, _ in events] == [1] * MAILBOXES
        answer = next(c for c in double.calls(POST) if c.body.get("channel") == "C0TWIN1")
        assert "Acme 1" in answer.text, answer.text
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.terminate()
        errors = [p.communicate(timeout=60)[1] for p in (first, second)]
    assert all("Traceback" not in e for e in errors), errors
