"""The issue's "Done when", through the real command line: `contactbot mail sync --once`
against Dovecot, `history`, a second run that logs nothing, and a worker killed with SIGKILL
in the middle of a large folder that, restarted, ends with exactly the interactions of an
uninterrupted run."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from bot.config import Settings
from bot.registry import build_registry
from bot.runtime import build_app
from storage.database import Store
from storage.models import Contact, Interaction
from tests.mail.conftest import PASSWORD, PASSWORD_ENV, Dovecot, message

CONTACTS = 20
MESSAGES = 3000
BATCH = 10


def _prepare_database(path: Path, template: Path) -> str:
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    app = build_app(Settings(data_dir=path.parent / "data", database_url=url), build_registry())
    try:
        assert app.run('codes salespeople add SP1 name="Sam Sales" email=sales@example.com').ok
        assert app.run('new company "Acme B.V." email=info@acme.example').ok
        for n in range(1, CONTACTS + 1):
            assert app.run(f'new person "Person {n}" company=CT000001 email=p{n}@acme.example').ok
    finally:
        app.close()
    return url


def _config(path: Path, url: str, dovecot: Dovecot, user: str, folders: str = '["INBOX"]') -> Path:
    path.write_text(
        f"""
data_dir = "{path.parent / "data"}"
[database]
url = "{url}"
[mail]
batch_size = {BATCH}
[[mail.accounts]]
name = "sam"
host = "127.0.0.1"
port = {dovecot.port}
security = "none"
allow_insecure = true
username = "{user}"
password_env = "{PASSWORD_ENV}"
folders = {folders}
salesperson = "SP1"
"""
    )
    return path


def _corpus() -> list[bytes]:
    messages = []
    for i in range(MESSAGES):
        n = i % CONTACTS + 1
        kind = i % 3
        if kind == 0:
            messages.append(
                message(
                    sender=f"p{n}@acme.example",
                    to="sales@example.com",
                    subject=f"Question {i}",
                    message_id=f"<q{i}@acme.example>",
                )
            )
        elif kind == 1:
            messages.append(
                message(
                    sender="sales@example.com",
                    to=f"p{n}@acme.example",
                    cc=f"p{n % CONTACTS + 1}@acme.example",
                    subject=f"Answer {i}",
                    message_id=f"<a{i}@example.com>",
                )
            )
        else:
            messages.append(
                message(
                    sender=f"news{i}@elsewhere.example",
                    to="sales@example.com",
                    subject=f"Unrelated {i}",
                    message_id=f"<u{i}@elsewhere.example>",
                )
            )
    return messages


def _command(config: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))",
        "--config",
        str(config),
        *args,
    ]


def _env() -> dict[str, str]:
    return {**os.environ, PASSWORD_ENV: PASSWORD}


def _interactions(url: str) -> list[tuple[str, str, str, str, str]]:
    store = Store(url)
    try:
        with store.transaction() as session:
            rows = session.execute(
                select(
                    Contact.no,
                    Interaction.message_id,
                    Interaction.direction,
                    Interaction.description,
                    Interaction.occurred_at,
                ).join(Contact, Contact.id == Interaction.contact_id)
            ).all()
    finally:
        store.dispose()
    return sorted((no, mid, d, s, str(t)) for no, mid, d, s, t in rows)


def _last_uid(path: Path) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            row = db.execute("SELECT max(last_uid) FROM mail_folder_states").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0] or 0) if row else 0


def test_sync_once_history_rerun_and_sigkill_restart(
    tmp_path: Path, sqlite_template: Path, dovecot: Dovecot, mailbox: str
) -> None:
    dovecot.append(mailbox, "INBOX", _corpus())
    expected_count = (MESSAGES // 3) * 3  # each inbound 1, each outbound 2 contacts

    # An uninterrupted run.
    (tmp_path / "a").mkdir()
    url_a = _prepare_database(tmp_path / "a" / "a.db", sqlite_template)
    config_a = _config(tmp_path / "a" / "config.toml", url_a, dovecot, mailbox)
    done = subprocess.run(
        _command(config_a, "mail", "sync", "--once"),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"sam INBOX: {MESSAGES} read" in done.stdout
    uninterrupted = _interactions(url_a)
    assert len(uninterrupted) == expected_count
    assert len(set(uninterrupted)) == len(uninterrupted)

    history = subprocess.run(
        _command(config_a, "shell", "-c", "history CT000002 5"),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert history.returncode == 0, history.stderr
    lines = history.stdout.splitlines()
    assert lines[0] == f"{sum(1 for row in uninterrupted if row[0] == 'CT000002')} interactions"
    assert any(" in " in line and "Question" in line for line in lines)
    assert any(" out " in line and "Answer" in line for line in lines)

    again = subprocess.run(
        _command(config_a, "mail", "sync", "--once"),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert "sam INBOX: 0 read, 0 logged" in again.stdout
    assert _interactions(url_a) == uninterrupted

    # A run killed with SIGKILL in the middle, then started again.
    (tmp_path / "b").mkdir()
    db_b = tmp_path / "b" / "b.db"
    url_b = _prepare_database(db_b, sqlite_template)
    config_b = _config(tmp_path / "b" / "config.toml", url_b, dovecot, mailbox)
    worker = subprocess.Popen(
        _command(config_b, "mail", "sync", "--once"),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while _last_uid(db_b) < MESSAGES // 10 and time.monotonic() < deadline:
        assert worker.poll() is None, "the worker finished before it could be killed"
        time.sleep(0.005)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    killed_at = _last_uid(db_b)
    assert MESSAGES // 10 <= killed_at < MESSAGES, killed_at
    partial = _interactions(url_b)
    assert 0 < len(partial) < expected_count

    restarted = subprocess.run(
        _command(config_b, "mail", "sync", "--once"),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert restarted.returncode == 0, restarted.stderr
    assert _interactions(url_b) == uninterrupted


def test_sync_once_names_a_missing_folder_and_reads_the_others(
    tmp_path: Path, sqlite_template: Path, dovecot: Dovecot, mailbox: str
) -> None:
    """`folders = ["Archive-Missing", "INBOX"]`: INBOX is read and logged, the missing folder
    is a warning naming the mailbox and folder, and the exit code is 3 (read, with a
    warning), not 1 (a mailbox not read)."""
    dovecot.append(mailbox, "INBOX", _corpus()[:3])
    url = _prepare_database(tmp_path / "c.db", sqlite_template)
    config = _config(
        tmp_path / "config.toml", url, dovecot, mailbox, '["Archive-Missing", "INBOX"]'
    )
    done = subprocess.run(
        _command(config, "mail", "sync", "--once"),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert (
        "sam INBOX: 3 read, 3 logged on 2 matched, 1 unmatched, 0 skipped, 0 contacts created"
        in lines
    )
    assert any(
        line.startswith(
            "warning: sam Archive-Missing: cannot open the folder: Mailbox doesn't exist"
        )
        for line in lines
    ), lines
    assert len(_interactions(url)) == 3
