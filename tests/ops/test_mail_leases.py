"""Several instances against one PostgreSQL share the mailboxes through leases (storage.leases).

Two `contactbot run` processes read three Dovecot mailboxes: each mailbox's lease is held by
exactly one of them (read from pg_locks, each process named by PGAPPNAME); one is killed with
SIGKILL, the other takes its mailboxes over within a minute, and every mail, old and new, is
logged exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from storage.database import Store
from storage.leases import LEASE_CLASS, Leases, lease_key, mailbox_lease
from storage.models import Interaction
from tests.mail.conftest import PASSWORD, PASSWORD_ENV, Dovecot, message
from tests.ops.conftest import SCRIPT, cli_env, contactbot

MAILBOXES = 3


def test_a_lease_is_held_by_one_holder_and_free_again_when_it_goes(postgres_url: str) -> None:
    first, second = Leases(postgres_url), Leases(postgres_url)
    try:
        held = first.try_take("mailbox:sam")
        assert held is not None
        assert second.try_take("mailbox:sam") is None
        other = second.try_take("mailbox:kim")  # another name is another lease
        assert other is not None
        other.close()
        held.close()  # the holder's session ends: the lease is free
        again = second.try_take("mailbox:sam")
        assert again is not None
        again.close()
    finally:
        first.dispose()
        second.dispose()


def _config(work: Path, dovecot: Dovecot, users: list[str]) -> None:
    accounts = "".join(
        f"""
[[mail.accounts]]
name = "box{n}"
host = "127.0.0.1"
port = {dovecot.port}
security = "none"
allow_insecure = true
username = "{user}"
password_env = "{PASSWORD_ENV}"
folders = ["INBOX"]
salesperson = "SP1"
"""
        for n, user in enumerate(users)
    )
    (work / "config.toml").write_text(f"[mail]\npoll_minutes = 1\n{accounts}", encoding="utf-8")


def _mails(box: int, start: int, count: int) -> list[bytes]:
    return [
        message(
            sender=f"p{box}@acme.example",
            to="sales@example.com",
            subject=f"Box {box} question {i}",
            message_id=f"<b{box}q{i}@acme.example>",
        )
        for i in range(start, start + count)
    ]


def _holders(url: str) -> dict[int, str]:
    """Lease key -> application name of the backend holding it."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT l.objid::int, a.application_name FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.classid = :class AND l.granted"
                ),
                {"class": LEASE_CLASS},
            ).all()
    finally:
        engine.dispose()
    holders: dict[int, str] = {}
    for signed, name in rows:
        key = signed & 0xFFFFFFFF
        assert key not in holders, f"lease {key} held twice"
        holders[key] = name
    return holders


def _logged(url: str) -> Counter[str]:
    store = Store(url)
    try:
        with store.session() as session:
            return Counter(
                session.scalars(
                    select(Interaction.message_id).where(Interaction.message_id.is_not(None))
                )
            )
    finally:
        store.dispose()


def _wait(what: str, check, timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.5)


def kill_a_holder(url: str, keys: set[int], instances: dict[str, subprocess.Popen[str]]) -> str:
    """SIGKILL an instance (by its PGAPPNAME) that holds a lease, and wait until the other
    holds every lease in `keys`, within the minute the issue allows; returns the survivor."""
    holders = _holders(url)
    assert set(holders.values()) <= set(instances)
    victim = next(iter(holders.values()))
    (survivor,) = set(instances) - {victim}
    instances[victim].send_signal(signal.SIGKILL)
    instances[victim].wait(timeout=30)
    killed_at = time.monotonic()
    _wait(
        "the survivor holding every mailbox",
        lambda: _holders(url) == dict.fromkeys(keys, survivor),
        timeout=60,
    )
    assert time.monotonic() - killed_at < 60
    return survivor


@pytest.mark.postgres
def test_two_instances_share_the_mailboxes_and_one_takes_over_when_the_other_dies(
    tmp_path: Path, dovecot: Dovecot, postgres_url: str
) -> None:
    users = [dovecot.add_user() for _ in range(MAILBOXES)]
    _config(tmp_path, dovecot, users)
    env = {"CONTACTBOT_DATABASE_URL": postgres_url, PASSWORD_ENV: PASSWORD}
    lines = ['codes salespeople add SP1 name="Sam Sales" email=sales@example.com']
    lines += [f'new company "Acme {n}" email=p{n}@acme.example' for n in range(MAILBOXES)]
    for line in lines:
        assert contactbot(tmp_path, "shell", "-c", line, env=env).returncode == 0
    for box, user in enumerate(users):
        dovecot.append(user, "INBOX", _mails(box, 0, 20))
    keys = {lease_key(mailbox_lease(f"box{n}")) & 0xFFFFFFFF for n in range(MAILBOXES)}

    def start(name: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [SCRIPT, "run"],
            cwd=tmp_path,
            env=cli_env(tmp_path, {**env, "PGAPPNAME": name}),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    first, second = start("contactbot-a"), start("contactbot-b")
    try:
        _wait("every mailbox leased", lambda: set(_holders(postgres_url)) == keys)
        _wait("the first mails logged", lambda: sum(_logged(postgres_url).values()) == 60)
        kill_a_holder(postgres_url, keys, {"contactbot-a": first, "contactbot-b": second})
        for box, user in enumerate(users):
            dovecot.append(user, "INBOX", _mails(box, 20, 10))
        _wait("the new mails logged", lambda: sum(_logged(postgres_url).values()) >= 90)
        time.sleep(2)  # anything logged twice would show now
        logged = _logged(postgres_url)
        assert len(logged) == 90 and set(logged.values()) == {1}, logged.most_common(3)
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.terminate()
        errors = [p.communicate(timeout=60)[1] for p in (first, second)]
    assert all("Traceback" not in e for e in errors), errors
