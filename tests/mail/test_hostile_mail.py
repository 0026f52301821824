"""Issue 12's mail breaks, against a real Dovecot: recipients past the header slice, a
missing folder, two messages without Message-ID that look alike, control characters."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import delete, func, select

from bot.mail import imap
from bot.mail.imap import HEADER_LIMIT, ImapSession
from storage.contacts import create_contact
from storage.mail_state import skipped_messages
from storage.models import Contact, ContactType, Interaction, MailFolderState
from tests.mail.conftest import PASSWORD, MailRig, message
from tests.mail.test_mail_sync import _contacts

SALES = "Sam Sales <sales@example.com>"
RECIPIENTS = 14_000


def _address(n: int) -> str:
    return f"r{n:05d}@big.example"


def _folded(addresses: list[str]) -> str:
    """A long address list folded as a mail program does: a line per 40 addresses."""
    lines = [", ".join(addresses[i : i + 40]) for i in range(0, len(addresses), 40)]
    return ",\r\n ".join(lines)


def _many_recipients_message() -> bytes:
    half = RECIPIENTS // 2
    everyone = [_address(n) for n in range(RECIPIENTS)]
    return (
        f"From: {SALES}\r\nTo: {_folded(everyone[:half])}\r\nCc: {_folded(everyone[half:])}\r\n"
        "Subject: Price list 2027\r\nDate: Mon, 16 Nov 2026 10:00:00 +0000\r\n"
        "Message-ID: <pricelist@example.com>\r\nContent-Type: text/plain\r\n\r\nNew prices.\r\n"
    ).encode()


def _add_recipient_contacts(rig: MailRig, numbers: list[int]) -> None:
    with rig.app.store.transaction() as session:
        for n in numbers:
            create_contact(session, ContactType.PERSON, f"Recipient {n}", {"email": _address(n)})


def _logged_contacts(rig: MailRig, message_id: str) -> set[str]:
    with rig.app.store.transaction() as session:
        return set(
            session.scalars(
                select(Contact.email)
                .join(Interaction, Interaction.contact_id == Contact.id)
                .where(Interaction.message_id == message_id)
            )
        )


# --- 1. recipients past the header slice ----------------------------------------------------


def test_every_recipient_of_a_mail_to_14000_is_logged(rig: MailRig) -> None:
    """280 KB of To and Cc: more than the batch's slice of header fields. The rest is fetched
    for that message alone, and the contacts at the end of the Cc list get the email too."""
    mail = _many_recipients_message()
    assert mail.index(b"\r\n\r\n") > HEADER_LIMIT + 15_000
    # Contacts spread over the list, and all of its last 1,200 (past the slice).
    numbers = sorted(set(range(0, RECIPIENTS, 100)) | set(range(RECIPIENTS - 1200, RECIPIENTS)))
    _add_recipient_contacts(rig, numbers)
    rig.dovecot.append(rig.user, "INBOX", [mail])

    session = ImapSession(rig.dovecot.account(rig.user), PASSWORD)
    try:
        session.select("INBOX", readonly=True)
        (fetched,) = session.fetch_range(1, 1, 1024)
    finally:
        session.close()
    assert len(fetched.header) > HEADER_LIMIT and not fetched.header_cut
    assert _address(RECIPIENTS - 1).encode() in fetched.header

    report = rig.worker().sync_once()
    assert report.logged == len(numbers)
    assert report.folders[0].incomplete == 0 and report.folders[0].problems == []
    assert _logged_contacts(rig, "<pricelist@example.com>") == {_address(n) for n in numbers}


def test_header_fields_past_the_maximum_are_recorded_not_dropped_silently(
    rig: MailRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a maximum below the message's 280 KB of fields, the recipients in the part read
    are logged, and the message is recorded (and reported) as logged incompletely."""
    monkeypatch.setattr(imap, "HEADER_MAX", HEADER_LIMIT + 8192)
    _add_recipient_contacts(rig, [0, RECIPIENTS - 1])
    rig.dovecot.append(rig.user, "INBOX", [_many_recipients_message()])
    report = rig.worker().sync_once()
    folder = report.folders[0]
    assert (folder.logged, folder.incomplete, folder.skipped) == (1, 1, 0)
    assert _logged_contacts(rig, "<pricelist@example.com>") == {_address(0)}
    with rig.app.store.transaction() as session:
        (skipped,) = skipped_messages(session)
    assert skipped.uid == 1 and skipped.message_id == "<pricelist@example.com>"
    assert skipped.reason.startswith("header fields longer than 264 KB")
    assert f"problem: {rig.user.split('@')[0]} INBOX uid 1: header fields" in "\n".join(
        report.lines()
    )
    assert "1 incomplete" in folder.line()


# --- 2. a missing folder --------------------------------------------------------------------


def test_a_missing_folder_is_reported_and_the_others_are_read(rig: MailRig) -> None:
    _contacts(rig.ok)
    rig.dovecot.append(
        rig.user,
        "INBOX",
        [message(sender="jan@acme.example", to=SALES, subject="Hi", message_id="<hi@acme>")],
    )
    report = rig.worker(folders=("Archive-Missing", "INBOX")).sync_once()
    name = rig.user.split("@")[0]
    assert report.errors == []
    assert report.logged == 1
    (warning,) = report.warnings
    assert warning == (
        f"{name} Archive-Missing: cannot open the folder: Mailbox doesn't exist: Archive-Missing"
    )
    assert f"warning: {warning}" in report.lines()
    assert report.folders[0].line().startswith(f"{name} Archive-Missing: not read:")


def test_mail_run_reads_inbox_when_the_first_folder_is_missing(rig: MailRig) -> None:
    """`mail run` watched the first folder with IDLE and backed off forever on its NO; it
    now watches the first folder that opens."""
    _contacts(rig.ok)
    worker = rig.worker(folders=("Archive-Missing", "INBOX"))
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        rig.dovecot.append(
            rig.user,
            "INBOX",
            [message(sender="jan@acme.example", to=SALES, subject="One", message_id="<1@acme>")],
        )
        _wait_for(lambda: _count(rig) == 1)
        rig.dovecot.append(
            rig.user,
            "INBOX",
            [message(sender="jan@acme.example", to=SALES, subject="Two", message_id="<2@acme>")],
        )
        _wait_for(lambda: _count(rig) == 2)  # woken by IDLE on INBOX
    finally:
        worker.stop()
        thread.join(timeout=15)
    assert not thread.is_alive()


def _count(rig: MailRig) -> int:
    with rig.app.store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Interaction)) or 0)


def _wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


# --- 3. mail without a Message-ID -----------------------------------------------------------


def test_two_different_emails_with_the_same_headers_and_no_message_id_are_two(
    rig: MailRig,
) -> None:
    _contacts(rig.ok)
    first, second = (
        message(sender="jan@acme.example", to=SALES, subject="Order", message_id=None, body=b)
        for b in ("Please send 10 boxes.\r\n", "Please send 20 boxes.\r\n")
    )
    rig.dovecot.append(rig.user, "INBOX", [first, second])
    assert rig.worker().sync_once().logged == 2
    with rig.app.store.transaction() as session:
        snippets = set(session.scalars(select(Interaction.snippet)))
    assert snippets == {"Please send 10 boxes.", "Please send 20 boxes."}


def test_one_email_without_message_id_in_sent_and_inbox_and_rescanned_is_logged_once(
    rig: MailRig,
) -> None:
    """ "The same" is the same selected header fields and the same start of body: the copy
    in Sent and the one in INBOX (with Received lines the other lacks) are one, and a
    rescan (the folders' state gone, as after a UIDVALIDITY change) logs nothing again."""
    _contacts(rig.ok)
    sent = message(sender=SALES, to="jan@acme.example", subject="Offer", message_id=None)
    received = b"Received: from mx.example.com by imap.example.com; Mon, 16 Nov 2026\r\n" + sent
    rig.dovecot.append(rig.user, "Sent", [sent])
    rig.dovecot.append(rig.user, "INBOX", [received])
    worker = rig.worker(folders=("Sent", "INBOX"))
    assert [f.logged for f in worker.sync_once().folders] == [1, 0]
    with rig.app.store.transaction() as session:
        session.execute(delete(MailFolderState))
    report = worker.sync_once()
    assert (report.read, report.logged) == (2, 0)
    assert _count(rig) == 1


# --- 4. control characters ------------------------------------------------------------------

HOSTILE = (
    b"From: =?utf-8?q?Jan=07_de=00_Vries?= <jan@acme.example>\r\n"
    b"To: Sam Sales <sales@example.com>\r\n"
    b"Subject: =?utf-8?q?Hello=00_world=1B[31m_red?= \x1b]0;pwned\x07 end\r\n"
    b"Date: Mon, 16 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <ctl-1@acme.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"Line one=00 with NUL=1B[2J and\tTAB=0D=0Aline two=7F=C2=9B end\r\n"
)


def test_control_characters_never_reach_the_store(bot, dovecot, mailbox: str) -> None:  # type: ignore[no-untyped-def]
    """NUL, ESC, BEL, DEL and C1 (encoded-words, quoted-printable and raw bytes) are removed
    from subject, name and snippet; PostgreSQL takes the rest, and the email is logged."""
    _contacts(bot.ok)
    bot.ok('codes salespeople add SP1 name="Sam Sales" email=sales@example.com')
    bot.ok("new person Someone email=someone@acme.example")
    auto = message(
        sender="=?utf-8?q?New=1B=5B1m_Person=00?= <new.person@newco.example>",
        to=SALES,
        subject="Hello",
        message_id="<ctl-2@newco.example>",
    )
    dovecot.append(mailbox, "INBOX", [HOSTILE, auto])
    rig = MailRig(bot.app, dovecot, mailbox)
    report = rig.worker(auto_create="sent_and_received").sync_once()
    assert report.errors == [] and report.folders[0].skipped == 0
    assert report.logged == 2
    with bot.app.store.transaction() as session:
        rows = dict(session.execute(select(Interaction.message_id, Interaction)).all())
        hostile = rows["<ctl-1@acme.example>"]
        assert hostile.description == "Hello world[31m red ]0;pwned end"
        assert hostile.snippet == "Line one with NUL[2J and TAB line two end"
        created = session.scalars(
            select(Contact).where(Contact.email == "new.person@newco.example")
        ).one()
        assert created.name == "New[1m Person"
