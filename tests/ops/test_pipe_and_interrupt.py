"""A reader that closes the pipe early, and Ctrl-C during a long import or scan.

`contactbot export contacts | head -1` must end quietly (no BrokenPipeError, exit 0). A real
SIGINT, sent to the process group as a terminal does, while the import's forked validators run
or while the scan keys contacts, must end with one line saying what was kept, exit 130, and
leave the database as that line says. The subprocess gets a pseudo-terminal as standard error,
so its progress bar shows which stage it is in before the signal is sent.
"""

from __future__ import annotations

import csv
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

from sqlalchemy import delete, func
from sqlalchemy import select as sql_select

from storage.database import Store
from storage.duplicates.models import DupeKey
from storage.models import Contact
from tests.ops.conftest import SCRIPT, cli_env, contactbot

#: Rows enough for the parallel validators (storage.importing PARALLEL_FROM) and seconds of work.
ROWS = 60_000


def _write_companies(path: Path, rows: int, prefix: str = "Firm") -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["type", "name", "city", "phone", "email"])
        for n in range(rows):
            writer.writerow(
                [
                    "company",
                    f"{prefix} {n} Trading",
                    "Amsterdam",
                    f"+31 20 5{n:06d}",
                    f"info{n}@{prefix.lower()}{n}.example",
                ]
            )
    return path


def _contacts(url: str) -> int:
    store = Store(url)
    try:
        with store.session() as session:
            return int(session.scalar(sql_select(func.count()).select_from(Contact)) or 0)
    finally:
        store.dispose()


def _keys(url: str) -> int:
    store = Store(url)
    try:
        with store.session() as session:
            return int(session.scalar(sql_select(func.count()).select_from(DupeKey)) or 0)
    finally:
        store.dispose()


def _forget_keys(url: str) -> None:
    store = Store(url)
    try:
        with store.transaction() as session:
            session.execute(delete(DupeKey))
    finally:
        store.dispose()


def interrupt_at(
    work: Path, stage: str, *args: str, env: dict[str, str], timeout: float = 300
) -> tuple[int, str]:
    """Run `contactbot ARGS`, wait until its progress bar shows `stage`, send SIGINT to its
    process group; return (exit status, everything it wrote to the terminal)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    process = subprocess.Popen(
        [SCRIPT, *args],
        cwd=work,
        env=cli_env(work, env),
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while stage.encode() not in seen:
            assert time.monotonic() < deadline, seen[-2000:]
            assert process.poll() is None, f"ended before {stage!r}: {seen[-2000:]!r}"
            if select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 65536)
        time.sleep(0.3)  # into the stage's work
        os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
        process.wait(timeout=120)
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other side is closed
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    return process.returncode, seen.decode("utf-8", errors="replace")


def test_export_into_a_pipe_closed_early_ends_quietly(tmp_path: Path) -> None:
    contactbot(tmp_path, "import", "contacts", str(_write_companies(tmp_path / "c.csv", 3000)))
    for fmt in ("csv", "vcard"):
        done = subprocess.run(
            [
                "bash",
                "-c",
                f'"{SCRIPT}" export contacts --format {fmt} | head -1; exit "${{PIPESTATUS[0]}}"',
            ],
            cwd=tmp_path,
            env=cli_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == "", done.stderr
        assert len(done.stdout.splitlines()) == 1


def test_ctrl_c_during_an_import_says_nothing_was_imported(
    tmp_path: Path, database_url: str
) -> None:
    path = _write_companies(tmp_path / "big.csv", ROWS)
    env = {"CONTACTBOT_DATABASE_URL": database_url}
    status, output = interrupt_at(
        tmp_path, "Checking companies", "import", "contacts", str(path), env=env
    )
    assert status == 130, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert (
        f"contactbot: interrupted; nothing of {path} was imported (the rows are written in one "
        "transaction); run the import again." in output
    )
    assert _contacts(database_url) == 0


def test_ctrl_c_during_a_scan_rolls_it_back_and_says_so(tmp_path: Path, database_url: str) -> None:
    path = _write_companies(tmp_path / "some.csv", 20_000)
    env = {"CONTACTBOT_DATABASE_URL": database_url}
    imported = contactbot(tmp_path, "import", "contacts", str(path), env=env, timeout=600)
    assert imported.returncode == 0, imported.stderr
    assert _keys(database_url) > 0  # the import keyed them
    _forget_keys(database_url)  # so that a scan that kept its keying would show
    status, output = interrupt_at(tmp_path, "Comparing", "dupes", "scan", env=env)
    assert status == 130, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert "contactbot: interrupted; the scan was rolled back" in output
    assert _keys(database_url) == 0
    assert _contacts(database_url) == 20_000
