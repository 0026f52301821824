"""Benchmark of `contactbot mail sync --once` against a local Dovecot.

    python bench/bench_mail.py                 # 10,000 messages, 2,000 contacts
    python bench/bench_mail.py --sizes 2500 5000 10000   # memory as the mailbox grows
    python bench/bench_mail.py --repeat 5      # five syncs of each mailbox; medians

For each size: a fresh SQLite database with 2,000 contacts (persons under 200 companies) and
one salesperson, a fresh mailbox on a private Dovecot (started here, as the tests do) holding
that many messages — a third from contacts, a third from the salesperson to contacts (with a
Cc), a third from strangers; 10% carry a 100 KB attachment — then `contactbot mail sync
--once` in a child process from empty. Prints wall time, messages/s, interactions logged and
the child's peak RSS (which should not grow with the mailbox).

The machine is shared, so wall time alone misleads: each run also prints the child's CPU
seconds (user + system) and the load average, and `--repeat` syncs the same mailbox again on
a fresh copy of the database, after deleting Dovecot's cache file of the mailbox so that every
run makes Dovecot read the messages as the first run did. The summary line gives medians.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage.contacts import create_contact  # noqa: E402
from storage.database import Store  # noqa: E402
from storage.models import ContactType, Salesperson  # noqa: E402
from tests.mail.conftest import (  # noqa: E402
    PASSWORD,
    PASSWORD_ENV,
    Dovecot,
    _dovecot_binary,
    message,
)

CONTACTS = 2000
COMPANIES = 200
ATTACHMENT = base64.encodebytes(os.urandom(75_000)).replace(b"\n", b"\r\n")


def _database(path: Path) -> str:
    url = f"sqlite:///{path}"
    store = Store(url)
    store.migrate()
    with store.transaction() as session:
        session.add(Salesperson(code="SP1", name="Sam", email="sales@example.com"))
        session.flush()
        companies = [
            create_contact(
                session, ContactType.COMPANY, f"Company {c}", {"email": f"info@c{c}.example"}
            )
            for c in range(COMPANIES)
        ]
        for n in range(CONTACTS - COMPANIES):
            company = companies[n % COMPANIES]
            create_contact(
                session,
                ContactType.PERSON,
                f"Person {n}",
                {"email": f"p{n}@c{n % COMPANIES}.example", "company": company.no},
            )
    store.dispose()
    return url


def _message(i: int) -> bytes:
    n = i % (CONTACTS - COMPANIES)
    contact = f"p{n}@c{n % COMPANIES}.example"
    kind = i % 3
    if kind == 0:
        mail = message(
            sender=contact,
            to="sales@example.com",
            subject=f"Question {i}",
            message_id=f"<q{i}@bench>",
            body="Hello Sam,\r\nhow much is it?\r\n" * 20,
        )
    elif kind == 1:
        other = f"p{(n + 1) % (CONTACTS - COMPANIES)}@c{(n + 1) % COMPANIES}.example"
        mail = message(
            sender="sales@example.com",
            to=contact,
            cc=other,
            subject=f"Answer {i}",
            message_id=f"<a{i}@bench>",
            body="It is 100 EUR.\r\n" * 20,
        )
    else:
        mail = message(
            sender=f"news{i}@elsewhere.example",
            to="sales@example.com",
            subject=f"Newsletter {i}",
            message_id=f"<n{i}@bench>",
            body="Unrelated.\r\n" * 40,
        )
    if i % 10 == 5:  # 10% with an attachment
        head, _, body = mail.partition(b"\r\n\r\n")
        head = head.replace(
            b"Content-Type: text/plain; charset=utf-8",
            b'Content-Type: multipart/mixed; boundary="BOUNDARY"',
        )
        mail = (
            head
            + b"\r\n\r\n--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            + body
            + b"\r\n--BOUNDARY\r\nContent-Type: application/pdf\r\n"
            b"Content-Disposition: attachment; filename=offer.pdf\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + ATTACHMENT + b"\r\n--BOUNDARY--\r\n"
        )
    return mail


def _config(directory: Path, url: str, dovecot: Dovecot, user: str) -> Path:
    config = directory / "config.toml"
    config.write_text(
        f'data_dir = "{directory}"\n[database]\nurl = "{url}"\n[mail]\nbatch_size = 500\n'
        f'[[mail.accounts]]\nname = "sam"\nhost = "127.0.0.1"\nport = {dovecot.port}\n'
        f'security = "none"\nallow_insecure = true\nusername = "{user}"\n'
        f'password_env = "{PASSWORD_ENV}"\nfolders = ["INBOX"]\nsalesperson = "SP1"\n'
    )
    return config


@dataclass(frozen=True)
class Run:
    """One `mail sync --once` in a child process."""

    wall: float  # seconds
    cpu: float  # the child's user + system seconds
    peak_kb: int  # the child's peak RSS
    output: str  # what the child printed
    load: str  # the 1/5/15-minute load average when it ended


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


#: The child notes its own peak RSS (VmHWM) at exit. wait4's ru_maxrss would not do: Linux
#: carries the parent's peak over fork and exec, so it reported this benchmark's own size.
CHILD = """\
import atexit, sys
from pathlib import Path
def _peak():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            Path(sys.argv[1]).write_text(line.split()[1])
atexit.register(_peak)
from bot.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _run_child(config: Path, directory: Path) -> Run:
    """Time one sync; the CPU seconds (wait4) and the peak RSS are of this child alone."""
    peak = directory / "peak_kb.txt"
    command = [sys.executable, "-c", CHILD, str(peak)]
    command += ["--config", str(config), "mail", "sync", "--once"]
    out, err = directory / "stdout.txt", directory / "stderr.txt"
    started = time.perf_counter()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            command,
            env={**os.environ, PASSWORD_ENV: PASSWORD},
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"mail sync failed: {err.read_text()}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, cpu, int(peak.read_text()), out.read_text().strip(), _load())


def _baseline() -> tuple[float, float]:
    """Wall and CPU seconds of the child's start-up alone (the imports a sync needs)."""
    command = [sys.executable, "-c", "import bot.cli, bot.mail.worker, plugins.email_logging"]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("the start-up imports failed")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def _forget_cache(dovecot: Dovecot, user: str) -> None:
    """Delete Dovecot's cache file of the mailbox, so the next read is a first read again."""
    for path in (dovecot.root / "mail" / user).rglob("dovecot.index.cache"):
        path.unlink()


def _sync(template: Path, work: Path, dovecot: Dovecot, user: str, run: int) -> Run:
    """One sync of the user's mailbox into a fresh copy of the template database."""
    directory = work / f"{user.split('@')[0]}-{run}"
    directory.mkdir()
    shutil.copyfile(template, directory / "bench.db")
    config = _config(directory, f"sqlite:///{directory / 'bench.db'}", dovecot, user)
    _forget_cache(dovecot, user)
    return _run_child(config, directory)


def _measure(size: int, template: Path, work: Path, dovecot: Dovecot, repeat: int) -> None:
    """Fill a fresh mailbox with `size` messages, sync it `repeat` times, print each run and
    the medians."""
    user = dovecot.add_user()
    started = time.perf_counter()
    dovecot.append(user, "INBOX", (_message(i) for i in range(size)))
    print(f"{size} messages appended in {time.perf_counter() - started:.1f} s")
    runs = []
    for number in range(repeat):
        startup, startup_cpu = _baseline()
        run = _sync(template, work, dovecot, user, number)
        if number == 0:
            print(run.output)
        runs.append((run, startup, startup_cpu))
        print(
            f"size {size}: mail sync --once {run.wall:.2f} s "
            f"({size / run.wall:,.0f} messages/s end to end; "
            f"{size / max(run.wall - startup, 1e-9):,.0f} messages/s without the "
            f"{startup:.2f} s start-up), CPU {run.cpu:.2f} s (start-up {startup_cpu:.2f} s), "
            f"peak RSS {run.peak_kb / 1024:.0f} MB, load {run.load}"
        )
    if repeat > 1:
        wall = statistics.median(run.wall for run, _, _ in runs)
        cpu = statistics.median(run.cpu for run, _, _ in runs)
        peak = max(run.peak_kb for run, _, _ in runs)
        print(
            f"size {size}: median of {repeat}: {wall:.2f} s ({size / wall:,.0f} messages/s end "
            f"to end), CPU {cpu:.2f} s ({size / cpu:,.0f} messages per CPU second), "
            f"largest peak RSS {peak / 1024:.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--repeat", type=int, default=1, help="syncs per size (medians)")
    args = parser.parse_args()
    binary = _dovecot_binary()
    if binary is None:
        raise SystemExit("dovecot is not installed (apt-get install dovecot-imapd)")
    dovecot = Dovecot(binary)
    dovecot.start()
    work = Path(tempfile.mkdtemp(prefix="contactbot-bench-mail-"))
    try:
        started = time.perf_counter()
        template = work / "template.db"
        _database(template)
        print(f"{CONTACTS} contacts in {time.perf_counter() - started:.1f} s")
        for size in args.sizes:
            _measure(size, template, work, dovecot, max(1, args.repeat))
    finally:
        dovecot.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
