"""The mail worker against a real Dovecot: matching, de-duplication, after-actions,
UIDVALIDITY, malformed mail, a server restart and polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import select

from bot.mail.worker import MailWorker
from storage.mail_state import skipped_messages
from storage.models import Contact, Interaction, MailFolderState
from tests.mail.conftest import PASSWORD, PASSWORD_ENV, Dovecot, MailRig, message

SALES = "Sam Sales <sales@example.com>"


def _contacts(rig_ok: Callable[[str], str]) -> None:
    rig_ok('new company "Acme Holding B.V." email=info@acme.example')  # CT000001
    rig_ok('new person "Jan de Vries" company=CT000001 email=jan@acme.example')  # CT000002
    rig_ok('new person "Piet Bakker" email=piet@beta.example')  # CT000003
    rig_ok("address CT000003 add HOME email=piet.home@beta.example city=Delft")
    rig_ok('new person "Anna Smit" email=team@gamma.example')  # CT000004
    rig_ok('new person "Bert Smit" email=TEAM@gamma.example')  # CT000005


def _corpus() -> list[bytes]:
    return [
        message(
            sender="Jan de Vries <jan@acme.example>",
            to=SALES,
            subject="Question about the offer",
            message_id="<in-1@acme.example>",
            body="Hi Sam,\r\nhow much?\r\n\r\nOn Mon, Sam wrote:\r\n> old text\r\n",
        ),
        message(
            sender=SALES,
            to="jan@acme.example",
            cc="Piet <piet@beta.example>",
            subject="Re: Question about the offer",
            message_id="<out-1@example.com>",
            body="It is 100 EUR.\r\n-- \r\nSam Sales\r\nExample Corp\r\n",
        ),
        message(
            sender="piet.home@beta.example",
            to=SALES,
            subject="From home",
            message_id="<in-2@beta.example>",
        ),
        message(
            sender="team@gamma.example",
            to=SALES,
            subject="Shared inbox",
            message_id="<in-3@gamma.example>",
        ),
        message(
            sender="stranger@else.example",
            to=SALES,
            subject="Who am I",
            message_id="<in-4@else.example>",
        ),
        message(
            sender=SALES,
            to="stranger@else.example",
            subject="To nobody known",
            message_id="<out-2@example.com>",
        ),
        message(
            sender="JAN@ACME.EXAMPLE",
            to=SALES,
            subject="Case does not matter",
            message_id="<in-5@acme.example>",
            date="Tue, 17 Nov 2026 09:00:00 +0100",
        ),
    ]


def _logged(rig: MailRig) -> set[tuple[str, str, str]]:
    with rig.app.store.transaction() as session:
        rows = session.execute(
            select(Contact.no, Interaction.message_id, Interaction.direction).join(
                Contact, Contact.id == Interaction.contact_id
            )
        ).all()
    return {(no, mid, direction) for no, mid, direction in rows}


EXPECTED = {
    ("CT000002", "<in-1@acme.example>", "inbound"),
    ("CT000002", "<out-1@example.com>", "outbound"),
    ("CT000003", "<out-1@example.com>", "outbound"),
    ("CT000003", "<in-2@beta.example>", "inbound"),
    ("CT000004", "<in-3@gamma.example>", "inbound"),
    ("CT000005", "<in-3@gamma.example>", "inbound"),
    ("CT000002", "<in-5@acme.example>", "inbound"),
}


def test_matching_inbound_outbound_cc_alternate_shared_and_sent(rig: MailRig) -> None:
    _contacts(rig.ok)
    corpus = _corpus()
    rig.dovecot.append(rig.user, "INBOX", corpus)
    rig.dovecot.append(rig.user, "Sent", [corpus[1], corpus[5]])  # the same outbound mail
    worker = rig.worker(folders=("INBOX", "Sent"))

    report = worker.sync_once()

    assert report.errors == []
    inbox, sent = report.folders
    assert (inbox.read, inbox.matched, inbox.unmatched, inbox.skipped) == (7, 5, 2, 0)
    assert inbox.logged == 7
    assert (sent.read, sent.matched, sent.logged, sent.unmatched) == (2, 1, 0, 1)
    assert _logged(rig) == EXPECTED

    history = rig.ok("history CT000002")
    lines = history.splitlines()
    assert lines[0] == "3 interactions"
    assert lines.index(next(line for line in lines if "Case does not matter" in line)) < (
        lines.index(next(line for line in lines if "Re: Question" in line))
    )  # newest first
    assert next(line for line in lines if "Hi Sam" in line).split()[3] == "in"
    assert next(line for line in lines if "Re: Question" in line).split()[3] == "out"
    company = rig.ok("history CT000001")
    assert company.splitlines()[0] == "3 interactions"
    assert "CT000002 Jan de Vries" in company
    with rig.app.store.transaction() as session:
        snippets = {
            i.message_id: i.snippet
            for i in session.scalars(select(Interaction).where(Interaction.contact_id == 2))
        }
    assert snippets["<in-1@acme.example>"] == "Hi Sam, how much?"
    assert snippets["<out-1@example.com>"] == "It is 100 EUR."
    assert "Interactions" in rig.ok("show CT000002")
    assert "2026-11-17 08:00" in rig.ok("show CT000002")

    # Reading never marks anything \Seen.
    client = rig.dovecot.client(rig.user)
    client.select_folder("INBOX", readonly=True)
    flags = client.get_flags(client.search("ALL"))
    client.logout()
    assert all(b"\\Seen" not in f for f in flags.values())

    again = worker.sync_once()
    assert again.read == 0 and again.logged == 0
    fresh = rig.worker(folders=("INBOX", "Sent"))
    with rig.app.store.transaction() as session:  # even from scratch: the unique key holds
        for state in session.scalars(select(MailFolderState)):
            state.last_uid = 0
    assert fresh.sync_once().logged == 0
    assert _logged(rig) == EXPECTED


def test_matching_on_both_backends(bot, dovecot: Dovecot, mailbox: str) -> None:
    _contacts(bot.ok)
    bot.ok('codes salespeople add SP1 name="Sam Sales" email=sales@example.com')
    dovecot.append(mailbox, "INBOX", _corpus())
    rig = MailRig(bot.app, dovecot, mailbox)
    assert rig.worker().sync_once().logged == 7
    assert _logged(rig) == EXPECTED
    assert rig.worker().sync_once().logged == 0
    refusal = bot.fails("type CT000003 company")
    assert "interactions" in refusal


def test_move_after_logging_leaves_unmatched_mail(rig: MailRig) -> None:
    _contacts(rig.ok)
    rig.dovecot.append(rig.user, "INBOX", _corpus())
    report = rig.worker(after="move:Archive").sync_once()
    assert report.folders[0].matched == 5
    client = rig.dovecot.client(rig.user)
    try:
        assert client.select_folder("Archive", readonly=True)[b"EXISTS"] == 5
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 2
        left = client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        subjects = sorted(v[b"BODY[HEADER.FIELDS (SUBJECT)]"].strip() for v in left.values())
        assert subjects == [b"Subject: To nobody known", b"Subject: Who am I"]
    finally:
        client.logout()
    assert len(_logged(rig)) == 7


def test_flag_after_logging(rig: MailRig) -> None:
    _contacts(rig.ok)
    rig.dovecot.append(rig.user, "INBOX", _corpus())
    rig.worker(after="flag").sync_once()
    client = rig.dovecot.client(rig.user)
    try:
        client.select_folder("INBOX", readonly=True)
        flagged = client.search(["FLAGGED"])
        assert len(flagged) == 5
        assert len(client.search(["SEEN"])) == 0
    finally:
        client.logout()


def test_changed_uidvalidity_rescans_without_doubling(rig: MailRig) -> None:
    _contacts(rig.ok)
    corpus = _corpus()
    rig.dovecot.append(rig.user, "Work", corpus)
    worker = rig.worker(folders=("Work",))
    assert worker.sync_once().logged == 7
    client = rig.dovecot.client(rig.user)
    old = client.folder_status("Work", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    client.delete_folder("Work")
    client.logout()
    new_mail = message(
        sender="jan@acme.example",
        to=SALES,
        subject="After the rebuild",
        message_id="<in-6@acme.example>",
    )
    rig.dovecot.append(rig.user, "Work", [*corpus, new_mail])
    client = rig.dovecot.client(rig.user)
    assert client.folder_status("Work", [b"UIDVALIDITY"])[b"UIDVALIDITY"] != old
    client.logout()

    report = worker.sync_once()
    assert report.folders[0].rescanned
    assert report.folders[0].read == 8
    assert report.logged == 1
    assert _logged(rig) == {*EXPECTED, ("CT000002", "<in-6@acme.example>", "inbound")}


def _malformed() -> list[bytes]:
    jan = "jan@acme.example"
    huge = "X-Filler: " + ("a" * 998 + "\r\n ") * 10_500  # about 10 MB of one header
    return [
        # 0 bad MIME: multipart without a boundary, then a truncated base64 part
        (
            f"From: {jan}\r\nTo: sales@example.com\r\nSubject: bad mime\r\n"
            "Message-ID: <bad-1@acme.example>\r\nContent-Type: multipart/mixed\r\n\r\n"
            "--nothing\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gd29y=\r\n"
        ).encode(),
        # 1 unknown charset in the body and the subject
        (
            f"From: {jan}\r\nTo: sales@example.com\r\nSubject: =?x-klingon?q?qapla=E9?=\r\n"
            "Message-ID: <bad-2@acme.example>\r\nContent-Type: text/plain; charset=x-klingon\r\n"
            "\r\nnuqneH \xe9\r\n"
        ).encode("latin-1"),
        # 2 broken encoded-words
        (
            f"From: =?utf-8?b?broken?= <{jan}>\r\nTo: sales@example.com\r\n"
            "Subject: =?utf-8?q?unterminated\r\nMessage-ID: <bad-3@acme.example>\r\n\r\nx\r\n"
        ).encode(),
        # 3 missing Message-ID
        f"From: {jan}\r\nTo: sales@example.com\r\nSubject: no id\r\n\r\nbody\r\n".encode(),
        # 4 ten megabytes of headers
        (
            f"From: {jan}\r\nTo: sales@example.com\r\nSubject: huge\r\n"
            f"Message-ID: <bad-5@acme.example>\r\n{huge}\r\n\r\nbody\r\n"
        ).encode(),
        # 5 raw 8-bit headers, no charset anywhere
        (
            f"From: J\xc3\xa1n <{jan}>\r\nTo: sales@example.com\r\nSubject: caf\xe9 \xff\r\n"
            "Message-ID: <bad-6@acme.example>\r\n\r\n\xff\xfe\r\n"
        ).encode("latin-1"),
        # 6 no From at all, and an unparseable date
        b"To: sales@example.com\r\nSubject: anonymous\r\nDate: yesterday-ish\r\n"
        b"Message-ID: <bad-7@acme.example>\r\n\r\nbody\r\n",
        # 7 garbage addresses
        b'From: <<<@@@>>>\r\nTo: ,,,;;;\r\nCc: "unterminated\r\nSubject: junk\r\n\r\n\r\n',
        # 8 not a message at all
        b"\x00\x01\x02 this is not an email \xff\r\n\r\n",
        # 9 a fine one after all that
        message(sender=jan, to=SALES, subject="still fine", message_id="<good@acme.example>"),
    ]


def test_malformed_corpus_never_stops_the_worker(rig: MailRig) -> None:
    _contacts(rig.ok)
    corpus = _malformed()
    rig.dovecot.append(rig.user, "INBOX", corpus)
    worker = rig.worker()
    worker.mail = replace(worker.mail, batch_size=3)
    report = worker.sync_once()
    folder = report.folders[0]
    assert report.errors == []
    assert folder.read == len(corpus)
    assert folder.matched + folder.unmatched + folder.skipped == len(corpus)
    logged = {mid for _, mid, _ in _logged(rig)}
    for mid in (
        "<bad-1@acme.example>",
        "<bad-2@acme.example>",
        "<bad-3@acme.example>",
        "<bad-5@acme.example>",
        "<bad-6@acme.example>",
        "<good@acme.example>",
    ):
        assert mid in logged, mid
    assert any(mid.endswith("@contactbot.invalid>") for mid in logged)  # the one without id
    with rig.app.store.transaction() as session:
        state = session.scalars(select(MailFolderState)).one()
        assert state.last_uid >= len(corpus)
        rows = session.execute(select(Interaction.message_id, Interaction.description)).all()
        subjects = {message_id: description for message_id, description in rows}
    assert subjects["<bad-2@acme.example>"].startswith("qapla")
    assert subjects["<bad-6@acme.example>"].startswith("caf")
    assert worker.sync_once().read == 0  # nothing is retried forever


def test_a_failing_email_handler_is_skipped_with_its_reason(rig: MailRig) -> None:
    from bot.registry import EmailHandlerSpec

    _contacts(rig.ok)
    rig.dovecot.append(rig.user, "INBOX", _corpus()[:2])

    def explode(ctx):  # type: ignore[no-untyped-def]
        if ctx.email.uid == 1:
            raise ValueError("plugin bug")

    rig.app.registry.email_handlers.append(EmailHandlerSpec("exploder", explode, "third_party"))
    report = rig.worker().sync_once()
    assert report.folders[0].skipped == 1
    assert report.logged == 3  # the logging plugin still logged both emails
    with rig.app.store.transaction() as session:
        (skipped,) = skipped_messages(session)
    assert skipped.uid == 1 and "plugin bug" in skipped.reason


def _wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def _run_in_thread(worker: MailWorker) -> threading.Thread:
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return thread


def test_idle_worker_survives_a_dovecot_restart(rig: MailRig) -> None:
    _contacts(rig.ok)
    worker = rig.worker()
    thread = _run_in_thread(worker)
    try:
        rig.dovecot.append(rig.user, "INBOX", [_corpus()[0]])
        _wait_for(lambda: len(_logged(rig)) == 1)

        rig.dovecot.stop()
        time.sleep(1.0)  # the worker notices and retries with backoff meanwhile
        rig.dovecot.start()
        rig.dovecot.append(rig.user, "INBOX", [_corpus()[2]])
        _wait_for(lambda: len(_logged(rig)) == 2)
        assert thread.is_alive()
    finally:
        worker.stop()
        thread.join(timeout=15)
    assert not thread.is_alive()


def test_polling_worker_without_idle(rig: MailRig) -> None:
    _contacts(rig.ok)
    worker = rig.worker()
    worker.mail = replace(worker.mail, idle=False, poll_minutes=0.01)
    thread = _run_in_thread(worker)
    try:
        rig.dovecot.append(rig.user, "INBOX", [_corpus()[0]])
        _wait_for(lambda: len(_logged(rig)) == 1)
        rig.dovecot.append(rig.user, "INBOX", [_corpus()[2]])
        _wait_for(lambda: len(_logged(rig)) == 2)
    finally:
        worker.stop()
        thread.join(timeout=15)


def test_login_refused_is_reported_not_fatal(rig: MailRig) -> None:
    worker = rig.worker()
    worker.env = {PASSWORD_ENV: PASSWORD + "-wrong"}
    report = worker.sync_once()
    assert report.folders == []
    assert len(report.errors) == 1


def test_idle_is_renewed_and_other_folders_are_read_on_each_wake_up(rig: MailRig) -> None:
    _contacts(rig.ok)
    worker = rig.worker(folders=("INBOX", "Sent"))
    worker.mail = replace(worker.mail, idle_renew_minutes=0.01)  # renew every 0.6 s
    rig.dovecot.append(rig.user, "Sent", [])  # the folder exists before the worker starts
    thread = _run_in_thread(worker)
    try:
        time.sleep(2.0)  # a few renewals
        rig.dovecot.append(rig.user, "Sent", [_corpus()[1]])  # not the IDLE folder
        _wait_for(lambda: len(_logged(rig)) == 2)
        rig.dovecot.append(rig.user, "INBOX", [_corpus()[0]])
        _wait_for(lambda: len(_logged(rig)) == 3)
        assert thread.is_alive()
    finally:
        worker.stop()
        thread.join(timeout=15)
