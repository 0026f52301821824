"""Auto-creating contacts from mail, the MOVE fallback, and `contactbot run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from bot.mail.config import MailAccount
from bot.mail.imap import ImapSession
from storage.models import Contact, ContactType
from tests.mail.conftest import PASSWORD, PASSWORD_ENV, Dovecot, MailRig, message

SALES = "sales@example.com"


def _persons(rig: MailRig) -> dict[str, str | None]:
    """email -> company number of every person."""
    with rig.app.store.transaction() as session:
        persons = session.scalars(select(Contact).where(Contact.type == ContactType.PERSON))
        return {p.email.lower(): (p.company.no if p.company else None) for p in persons}


def _mail() -> list[bytes]:
    return [
        message(
            sender=SALES,
            to="Karin Jansen <karin@newco.example>",
            subject="Offer",
            message_id="<o1@example.com>",
        ),
        message(sender=SALES, to="friend@gmail.com", subject="Private", message_id="<o2@x>"),
        message(sender=SALES, to="colleague@example.com", subject="Internal", message_id="<o3@x>"),
        message(
            sender="Tom <tom@newco.example>",
            to=SALES,
            subject="Question",
            message_id="<i1@newco.example>",
        ),
        message(
            sender="news@shop.example",
            to=SALES,
            subject="Sale!",
            message_id="<i2@shop>",
            extra="List-Unsubscribe: <mailto:unsub@shop.example>",
        ),
    ]


def test_auto_create_none_creates_nothing(rig: MailRig) -> None:
    rig.ok('new company "NewCo" email=info@newco.example')
    rig.dovecot.append(rig.user, "INBOX", _mail())
    report = rig.worker().sync_once()
    assert report.logged == 0 and report.folders[0].created == 0
    assert _persons(rig) == {}


def test_auto_create_sent_only_outbound_and_never_free_mail_or_own_domain(rig: MailRig) -> None:
    rig.ok('new company "NewCo" email=info@newco.example')  # CT000001
    rig.dovecot.append(rig.user, "INBOX", _mail())
    report = rig.worker(auto_create="sent").sync_once()
    assert report.folders[0].created == 1
    assert _persons(rig) == {"karin@newco.example": "CT000001"}
    assert "Karin Jansen" in rig.ok("show CT000002")
    assert rig.ok("history CT000002").splitlines()[0] == "1 interaction"


def test_auto_create_sent_and_received_skips_bulk_mail(rig: MailRig) -> None:
    rig.ok('new company "NewCo" email=info@newco.example')
    rig.dovecot.append(rig.user, "INBOX", _mail())
    report = rig.worker(auto_create="sent_and_received").sync_once()
    assert report.folders[0].created == 2
    assert _persons(rig) == {"karin@newco.example": "CT000001", "tom@newco.example": "CT000001"}
    assert report.logged == 2
    again = rig.worker(auto_create="sent_and_received").sync_once()
    assert again.read == 0


class _RecordingClient:
    """Stands in for IMAPClient on a server without MOVE: records what is sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def copy(self, uids: list[int], folder: str) -> None:
        self.calls.append(("copy", (tuple(uids), folder)))

    def add_flags(self, uids: list[int], flags: list[bytes], silent: bool = False) -> None:
        self.calls.append(("add_flags", (tuple(uids), tuple(flags))))

    def uid_expunge(self, uids: list[int]) -> None:
        self.calls.append(("uid_expunge", tuple(uids)))

    def expunge(self, *args: object) -> None:  # a bare EXPUNGE must never be sent
        raise AssertionError("bare EXPUNGE")


def _session(capabilities: set[bytes]) -> tuple[ImapSession, _RecordingClient]:
    session = ImapSession.__new__(ImapSession)
    client = _RecordingClient()
    session.client = client  # type: ignore[assignment]
    session.capabilities = capabilities
    session.account = MailAccount("sam", "h", "u", "P")
    return session, client


def test_move_without_move_capability_copies_flags_and_expunges_only_those_uids() -> None:
    session, client = _session({b"IMAP4REV1", b"UIDPLUS"})
    session.move([3, 7], "Archive")
    assert client.calls == [
        ("copy", ((3, 7), "Archive")),
        ("add_flags", ((3, 7), (b"\\Deleted",))),
        ("uid_expunge", (3, 7)),
    ]
    session, client = _session({b"IMAP4REV1"})  # no UIDPLUS: never expunge at all
    session.move([3], "Archive")
    assert [name for name, _ in client.calls] == ["copy", "add_flags"]


def test_contactbot_run_starts_the_worker_and_stops_on_sigterm(
    tmp_path: Path, dovecot: Dovecot, mailbox: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n[database]\nurl = "sqlite:///{tmp_path / "run.db"}"\n'
        f'[codes.salespeople.SP1]\nemail = "{SALES}"\n'
        f'[[mail.accounts]]\nname = "sam"\nhost = "127.0.0.1"\nport = {dovecot.port}\n'
        f'security = "none"\nallow_insecure = true\nusername = "{mailbox}"\n'
        f'password_env = "{PASSWORD_ENV}"\nsalesperson = "SP1"\n'
    )
    shell = [
        sys.executable,
        "-c",
        "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))",
        "--config",
        str(config),
    ]
    env = {**os.environ, PASSWORD_ENV: PASSWORD}
    env.pop("SLACK_BOT_TOKEN", None)
    created = subprocess.run(
        [*shell, "shell", "-c", 'new person "Jan" email=jan@acme.example'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    running = subprocess.Popen(
        [*shell, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        dovecot.append(
            mailbox,
            "INBOX",
            [message(sender="jan@acme.example", to=SALES, subject="Hi", message_id="<run@acme>")],
        )
        deadline = time.monotonic() + 30
        history = ""
        while time.monotonic() < deadline:
            history = subprocess.run(
                [*shell, "shell", "-c", "history CT000001"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
            if history.startswith("1 interaction"):
                break
            time.sleep(0.3)
    finally:
        running.send_signal(signal.SIGTERM)
        _, stderr = running.communicate(timeout=30)
    assert history.startswith("1 interaction"), (history, stderr)
    assert running.returncode == 0, stderr
    assert "mail worker (1 mailboxes)" in stderr


def test_auto_create_finds_the_company_through_a_known_person(rig: MailRig) -> None:
    rig.ok('new company "Beta"')  # CT000001, no email of its own
    rig.ok('new person "Piet" company=CT000001 email=piet@beta.example')  # CT000002
    rig.dovecot.append(
        rig.user,
        "INBOX",
        [message(sender=SALES, to="new@beta.example", subject="Hello", message_id="<b1@x>")],
    )
    assert rig.worker(auto_create="sent").sync_once().folders[0].created == 1
    assert _persons(rig)["new@beta.example"] == "CT000001"
