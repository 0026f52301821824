"""docs/deploy.md's steps, as far as this machine allows.

- The unit files pass `systemd-analyze verify` (with ExecStart pointed at the installed
  script, as step 1 installs it to /opt/contactbot); skipped only where systemd-analyze is
  absent. Each unit's command line is one `contactbot` accepts.
- The environment file template names every secret the program reads.
- `db backup` while a writer keeps adding contacts in another process, then `db restore`
  into a fresh database: the restored contacts are exactly the backup's, on SQLite (the
  online backup API) and on PostgreSQL (pg_dump / pg_restore).
- `[database]` pool settings reach create_engine on PostgreSQL.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.config import load_settings
from storage.database import Store
from storage.models import Contact
from tests.conftest import PostgresServer
from tests.ops.conftest import SCRIPT, cli_env, contactbot

ROOT = Path(__file__).resolve().parents[2]
UNITS = ("contactbot.service", "contactbot-mail.service")
INSTALLED = "/opt/contactbot/.venv/bin/contactbot"


def _units_here(tmp_path: Path) -> list[Path]:
    paths = []
    for name in UNITS:
        text = (ROOT / "deploy" / name).read_text(encoding="utf-8")
        assert INSTALLED in text, name
        path = tmp_path / name
        path.write_text(text.replace(INSTALLED, SCRIPT), encoding="utf-8")
        paths.append(path)
    return paths


def test_the_unit_files_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    units = _units_here(tmp_path)
    done = subprocess.run(
        [analyze, "verify", *map(str, units)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "contactbot" not in done.stderr, done.stderr  # no warning about our units


@pytest.mark.parametrize("unit", UNITS)
def test_each_units_command_is_one_contactbot_takes(tmp_path: Path, unit: str) -> None:
    text = (ROOT / "deploy" / unit).read_text(encoding="utf-8")
    match = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE)
    assert match, unit
    words = shlex.split(match.group(1))
    assert words[0] == INSTALLED
    # the same words with --help: argparse refuses an option it does not know (exit 2)
    done = contactbot(tmp_path, *words[1:], "--help")
    assert done.returncode == 0, done.stderr
    assert "EnvironmentFile=/etc/contactbot/contactbot.env" in text


def test_the_environment_template_names_every_secret() -> None:
    template = (ROOT / "deploy" / "contactbot.env.example").read_text(encoding="utf-8")
    for name in (
        "CONTACTBOT_DATABASE_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "password_env",
    ):
        assert name in template, name
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert "pg_dump" in guide and "contactbot db backup" in guide and "db restore" in guide
    assert "docs/deploy.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def _contacts(url: str) -> list[tuple[str, str]]:
    store = Store(url)
    try:
        with store.session() as session:
            return [tuple(row) for row in session.execute(select(Contact.no, Contact.name))]  # type: ignore[misc]
    finally:
        store.dispose()


class Writer:
    """`contactbot shell` in another process, fed `new company …` lines a few ahead of what
    it has done, until stopped."""

    AHEAD = 5

    def __init__(self, work: Path, url: str) -> None:
        self.process = subprocess.Popen(
            [SCRIPT, "shell"],
            cwd=work,
            env=cli_env(work, {"CONTACTBOT_DATABASE_URL": url}),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.written = 0
        self.created = 0
        self.stopping = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.reader.start()
        self.feeder.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("Created company"):
                self.created += 1

    def _feed(self) -> None:
        assert self.process.stdin is not None
        while not self.stopping.is_set():
            if self.written - self.created >= self.AHEAD:
                time.sleep(0.01)
                continue
            self.process.stdin.write(f'new company "Writer {self.written} Ltd" city=Oslo\n')
            self.process.stdin.flush()
            self.written += 1

    def stop(self) -> str:
        self.stopping.set()
        self.feeder.join(timeout=30)
        assert self.process.stdin is not None and self.process.stderr is not None
        self.process.stdin.close()
        self.process.wait(timeout=120)
        self.reader.join(timeout=30)
        return self.process.stderr.read()


def _wait_for_contacts(url: str, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(_contacts(url)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} contacts after {timeout} s"
        time.sleep(0.2)


@pytest.fixture
def restore_target(
    tmp_path: Path, database_url: str, postgres_server: PostgresServer | None
) -> Iterator[str]:
    """A database of the same kind as `database_url` with nothing in it, to restore into."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'contactbot.db'}"
        return
    assert postgres_server is not None
    url = postgres_server.new_database(empty=True)
    yield url
    postgres_server.drop(url)


def test_backup_while_a_writer_runs_then_restore_gives_the_same_contacts(
    tmp_path: Path, database_url: str, restore_target: str
) -> None:
    if database_url.startswith("postgresql") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed here")
    empty_database_url = restore_target
    (tmp_path / "restored").mkdir()
    backup = tmp_path / "backup.dump"
    writer = Writer(tmp_path, database_url)
    try:
        _wait_for_contacts(database_url, 20)
        made = contactbot(
            tmp_path, "db", "backup", str(backup), env={"CONTACTBOT_DATABASE_URL": database_url}
        )
        assert made.returncode == 0, made.stderr
        _wait_for_contacts(database_url, len(_contacts(database_url)) + 10)  # it went on
    finally:
        errors = writer.stop()
    assert "Traceback" not in errors, errors
    assert backup.stat().st_mode & 0o077 == 0  # the whole CRM: owner only
    live = _contacts(database_url)

    env = {"CONTACTBOT_DATABASE_URL": empty_database_url}
    refused = contactbot(tmp_path, "db", "restore", str(backup), env=env)
    if database_url.startswith("sqlite"):
        # a database with nothing in it yet is not "overwritten"; one with contacts is
        assert refused.returncode == 0, refused.stderr
    else:
        assert refused.returncode == 2 and "Add --yes" in refused.stderr
        done = contactbot(tmp_path, "db", "restore", str(backup), "--yes", env=env)
        assert done.returncode == 0, done.stderr
    restored = _contacts(empty_database_url)
    assert restored, "nothing restored"
    assert set(restored) < set(live)  # a moment of the live database: a prefix of its writes
    numbers = sorted(no for no, _ in restored)
    assert numbers == [f"CT{n:06d}" for n in range(1, len(numbers) + 1)]  # no hole in it
    found = contactbot(tmp_path, "shell", "-c", "find writer 3 ltd", env=env)
    assert found.returncode == 0 and "Writer 3 Ltd" in found.stdout

    again = contactbot(tmp_path, "db", "restore", str(backup), env=env)
    assert again.returncode == 2
    assert "Add --yes to replace it" in again.stderr
    assert sorted(_contacts(empty_database_url)) == sorted(restored)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sqlite_backup_is_one_self_contained_file(tmp_path: Path, database_url: str) -> None:
    env = {"CONTACTBOT_DATABASE_URL": database_url}
    contactbot(tmp_path, "shell", "-c", 'new company "Solo AS"', env=env)
    target = tmp_path / "solo.db"
    assert contactbot(tmp_path, "db", "backup", str(target), env=env).returncode == 0
    assert not list(tmp_path.glob("solo.db-*"))  # no -wal or -shm beside it
    connection = sqlite3.connect(target)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("SELECT name FROM contacts").fetchall() == [("Solo AS",)]
    finally:
        connection.close()
    exists = contactbot(tmp_path, "db", "backup", str(target), env=env)
    assert exists.returncode == 2
    assert exists.stderr.strip() == (
        f"contactbot: {target} exists: add --yes to replace it, or name another file."
    )


def test_pool_settings_reach_the_engine_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{postgres_url}"\npool_size = 3\nmax_overflow = 2\n'
        "pool_recycle = 600\n",
        encoding="utf-8",
    )
    settings = load_settings(config, env={})
    store = Store(settings.database_url, pool=settings.pool)
    try:
        pool = store.engine.pool
        assert (pool.size(), pool._max_overflow, pool._recycle) == (3, 2, 600)  # type: ignore[attr-defined]
        assert make_url(str(store.engine.url)).get_backend_name() == "postgresql"
    finally:
        store.dispose()
