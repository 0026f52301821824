"""A database that cannot be opened is one line naming it, never a traceback, exit 2.

Each case runs `contactbot` in a fresh process, as a user would: a server that does not
answer (a closed port), a database that does not exist, a wrong host, a URL of a kind
contactbot does not know, a SQLite file in a folder that does not exist. Every subcommand is
tried against the closed port; the hosting providers' `postgres://` URL is accepted.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL
from tests.ops.conftest import CliResult, contactbot

PASSWORD = "pa55-w0rd-never-shown"


def _closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres(**parts: object) -> str:
    url = make_url(POSTGRES_URL).set(**parts)  # type: ignore[arg-type]
    return url.render_as_string(hide_password=False)


def assert_one_line_exit_2(result: CliResult, *names: str) -> str:
    """Exit 2, at most a few lines, no traceback, no password; names each of `names`."""
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and "sqlalchemy.exc" not in output, output
    assert PASSWORD not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 3, output
    for name in names:
        assert name in output, (name, output)
    return output


#: Every subcommand as a team would type it (files named here do not need to exist: the
#: database is opened, and refused, first).
SUBCOMMANDS = (
    ("shell", "-c", "find acme"),
    ("db", "upgrade"),
    ("db", "current"),
    ("db", "backup", "backup.db"),
    ("db", "restore", "backup.db", "--yes"),
    ("import", "contacts", "contacts.csv"),
    ("import", "customers", "customers.csv"),
    ("export", "contacts"),
    ("mail", "sync"),
    ("run",),
    ("slack",),
    ("dupes", "scan"),
    ("dupes", "export"),
    ("contacts", "from", "customers"),
    ("jobs", "list"),
    ("jobs", "run", "duplicate_digest"),
    ("status",),
)


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=lambda c: "_".join(c[:2]))
def test_every_subcommand_names_a_server_that_does_not_answer(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    port = _closed_port()
    url = f"postgresql+psycopg://contactbot:{PASSWORD}@127.0.0.1:{port}/crm"
    result = contactbot(tmp_path, *command, env={"CONTACTBOT_DATABASE_URL": url})
    if command == ("status",):  # status lists every part; the database's line says the same
        assert result.returncode == 2
        assert "Traceback" not in result.stdout + result.stderr
        assert f"127.0.0.1:{port}" in result.stdout and PASSWORD not in result.stdout
        assert "database" in result.stdout and "failing" in result.stdout
        return
    assert_one_line_exit_2(result, f"127.0.0.1:{port}/crm", "***", "PostgreSQL is running")


def _unreachable_urls(tmp_path: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    """case -> (URL, what the line must name)."""
    port = _closed_port()
    return {
        "server down / wrong port": (
            _postgres(port=port, password=PASSWORD),
            (f"127.0.0.1:{port}", "running"),
        ),
        "database missing": (
            _postgres(database="contactbot_ops_no_such_db", password=PASSWORD),
            ("contactbot_ops_no_such_db", "createdb"),
        ),
        "unknown host": (
            _postgres(host="no-such-host.invalid", password=PASSWORD),
            ("no-such-host.invalid", "host"),
        ),
        "postgres:// with a closed port": (
            f"postgres://app:{PASSWORD}@127.0.0.1:{port}/crm",
            (f"127.0.0.1:{port}/crm", "running"),
        ),
        "sqlite folder missing": (
            f"sqlite:///{tmp_path / 'no' / 'such' / 'folder' / 'crm.db'}",
            (str(tmp_path / "no" / "such" / "folder"), "does not exist"),
        ),
        "unknown kind": ("mysql://root@127.0.0.1/crm", ("mysql", "postgresql+psycopg://")),
        "not a URL": ("contacts please", ("not a database URL",)),
    }


@pytest.mark.parametrize(
    "case",
    [
        "server down / wrong port",
        "database missing",
        "unknown host",
        "postgres:// with a closed port",
        "sqlite folder missing",
        "unknown kind",
        "not a URL",
    ],
)
def test_find_in_the_shell_against_an_unreachable_database(tmp_path: Path, case: str) -> None:
    url, names = _unreachable_urls(tmp_path)[case]
    result = contactbot(tmp_path, "shell", "-c", "find acme", env={"CONTACTBOT_DATABASE_URL": url})
    assert_one_line_exit_2(result, *names)
    assert not (tmp_path / "no").exists()  # nothing created on the way


def test_a_postgres_url_as_hosting_providers_hand_them_out_is_accepted(
    tmp_path: Path, postgres_url: str
) -> None:
    parsed = make_url(postgres_url)
    hosted = f"postgres://{parsed.username}@{parsed.host}:{parsed.port or 5432}/{parsed.database}"
    env = {"CONTACTBOT_DATABASE_URL": hosted}
    made = contactbot(tmp_path, "shell", "-c", 'new company "Hosted Acme" city=Oslo', env=env)
    assert made.returncode == 0, made.stderr
    found = contactbot(tmp_path, "shell", "-c", "find hosted acme", env=env)
    assert found.returncode == 0, found.stderr
    assert "Hosted Acme" in found.stdout


def test_a_bad_pool_setting_is_refused_with_its_key(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[database]\npool_size = 0\n")
    result = contactbot(tmp_path, "shell", "-c", "find acme")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "contactbot: database.pool_size: expected a whole number from 1 to 1000, got 0."
    )
