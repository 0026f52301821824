"""Benchmark of `contactbot mail sync --once` against a local Dovecot.

    python bench/bench_mail.py                 # 10,000 messages, 2,000 contacts
    python bench/bench_mail.py --sizes 2500 5000 10000   # memory as the mailbox grows

For each size: a fresh SQLite database with 2,000 contacts (persons under 200 companies) and
one salesperson, a fresh mailbox on a private Dovecot (started here, as the tests do) holding
that many messages — a third from contacts, a third from the salesperson to contacts (with a
Cc), a third from strangers; 10% carry a 100 KB attachment — then `contactbot mail sync
--once` in a child process from empty. Prints wall time, messages/s, interactions logged and
the child's peak RSS (which should not grow with the mailbox).
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
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


def _run_child(config: Path, directory: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KB (of this child alone) and stdout of one sync."""
    command = [
        sys.executable,
        "-c",
        "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))",
        "--config",
        str(config),
        "mail",
        "sync",
        "--once",
    ]
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
    return seconds, usage.ru_maxrss, out.read_text().strip()


def _baseline(config: Path) -> float:
    """Seconds for the child's start-up alone (imports, settings, an empty mailbox list)."""
    command = [sys.executable, "-c", "import bot.cli, bot.mail.worker, plugins.email_logging"]
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
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
            user = dovecot.add_user()
            started = time.perf_counter()
            dovecot.append(user, "INBOX", (_message(i) for i in range(size)))
            print(f"{size} messages appended in {time.perf_counter() - started:.1f} s")
            directory = work / f"run{size}"
            directory.mkdir()
            shutil.copyfile(template, directory / "bench.db")
            config = _config(directory, f"sqlite:///{directory / 'bench.db'}", dovecot, user)
            startup = _baseline(config)
            seconds, peak_kb, output = _run_child(config, directory)
            print(output)
            print(
                f"size {size}: mail sync --once {seconds:.2f} s "
                f"({size / seconds:,.0f} messages/s end to end; "
                f"{size / max(seconds - startup, 1e-9):,.0f} messages/s without the "
                f"{startup:.2f} s start-up), peak RSS {peak_kb / 1024:.0f} MB"
            )
    finally:
        dovecot.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
