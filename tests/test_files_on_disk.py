"""Issue 12, "files on disk" and the shell's non-UTF-8 input, through the real console script.

The data directory holds the whole CRM, and the shell's history every line typed: the
directory is 0700 and the database, its -wal and -shm files and shell_history 0600, also
under the usual umask 022, and looser ones left by an older version are tightened.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from bot.shell import not_utf8_message
from storage.database import Store
from storage.files import private_dir, private_file
from tests.test_shell_cli import SCRIPT, Cli


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> object:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def run_bytes(cli: Cli, *args: bytes, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [SCRIPT.encode(), *args],
        input=stdin,
        capture_output=True,
        cwd=cli.home,
        env=cli.env,
        timeout=60,
        check=False,
    )


def test_the_data_directory_and_database_files_are_private(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    result = cli.run("shell", "-c", 'new company "Acme" email=info@acme.example')
    assert result.returncode == 0, result.stdout + result.stderr
    assert mode(cli.data_dir) == 0o700
    database = cli.data_dir / "contactbot.db"
    assert mode(database) == 0o600
    # WAL and SHM exist while a connection is open; SQLite gives them the database's mode
    store = Store(f"sqlite:///{database}")
    with store.engine.connect() as connection:
        connection.exec_driver_sql("SELECT count(*) FROM contacts").scalar()
        companions = [database.with_name(database.name + s) for s in ("-wal", "-shm")]
        assert all(path.exists() for path in companions)
        assert [mode(path) for path in companions] == [0o600, 0o600]
    store.dispose()


def test_looser_files_of_an_older_version_are_tightened_on_open(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    assert cli.run("shell", "-c", 'new company "Acme"').returncode == 0
    database = cli.data_dir / "contactbot.db"
    history = cli.data_dir / "shell_history"
    history.write_text("+find acme\n", encoding="utf-8")
    os.chmod(cli.data_dir, 0o755)
    os.chmod(database, 0o644)
    os.chmod(history, 0o644)
    private_file(history)  # what the interactive shell does before prompt_toolkit opens it
    assert cli.run("shell", "-c", "show CT000001").returncode == 0
    assert (mode(cli.data_dir), mode(database), mode(history)) == (0o700, 0o600, 0o600)


def test_private_helpers_create_owner_only(tmp_path: Path) -> None:
    made = private_dir(tmp_path / "a" / "b")
    assert mode(made) == 0o700
    history = private_file(made / "shell_history")
    assert history.read_text() == "" and mode(history) == 0o600


def test_non_utf8_input_is_refused_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    assert cli.run("shell", "-c", 'new company "Acme"').returncode == 0
    one = run_bytes(cli, b"shell", b"-c", b"find \xff")
    assert one.returncode == 1
    assert b"Traceback" not in one.stdout + one.stderr
    assert one.stdout.decode("utf-8").startswith("Input is not UTF-8 (byte 0xff at character 6);")
    script = run_bytes(cli, b"shell", stdin=b"find acme\nnew company \xe9t\xe9\nshow CT000001\n")
    assert script.returncode == 1  # one line was refused
    out = script.stdout.decode("utf-8")
    assert b"Traceback" not in script.stdout + script.stderr
    assert "Input is not UTF-8 (byte 0xe9 at character 13)" in out
    assert out.count("Acme") >= 2  # the lines before and after it ran
    assert "1 contact" in out and "CT000001 Acme" in out


def test_not_utf8_message_names_the_byte() -> None:
    assert not_utf8_message("find acme") is None
    line = b"new \xc3(".decode("utf-8", "surrogateescape")
    assert "byte 0xc3 at character 5" in (not_utf8_message(line) or "")
