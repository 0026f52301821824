"""What the worker fetches, against a real Dovecot: the server's selection of header fields
(so a message without a Message-ID gets one id in INBOX and Sent, whatever Received lines
each copy has, and fields after a huge header are still found), and the arrival time only
for mail without a usable Date."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from bot.mail.imap import HEADER_LIMIT, ImapSession
from storage.models import Interaction
from tests.mail.conftest import PASSWORD, MailRig, message
from tests.mail.test_mail_sync import _contacts

SALES = "Sam Sales <sales@example.com>"


def test_without_a_message_id_inbox_and_sent_give_one_id(rig: MailRig) -> None:
    """The copy in INBOX carries Received and DKIM lines the Sent copy lacks; the id is
    hashed from the selected fields only, so both are one email."""
    _contacts(rig.ok)
    sent = message(
        sender=SALES, to="jan@acme.example", subject="No id", message_id=None, body="Hi Jan\r\n"
    )
    received = (
        b"Received: from mx.example.com by imap.example.com; Mon, 16 Nov 2026 10:00:01 +0000\r\n"
        b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com;\r\n b=abcdef\r\n" + sent
    )
    rig.dovecot.append(rig.user, "INBOX", [received])
    rig.dovecot.append(rig.user, "Sent", [sent])
    report = rig.worker(folders=("INBOX", "Sent")).sync_once()
    assert [f.logged for f in report.folders] == [1, 0]
    with rig.app.store.transaction() as session:
        (message_id,) = session.scalars(select(Interaction.message_id)).all()
    assert message_id.endswith("@contactbot.invalid>")


def test_fields_after_a_header_larger_than_the_slice_are_read(rig: MailRig) -> None:
    """300 KB of Received lines before the From: the server's selection leaves them out, so
    the fields after them fit the slice."""
    _contacts(rig.ok)
    filler = b"".join(
        b"Received: from relay%d.example by relay%d.example; Mon, 16 Nov 2026\r\n" % (n, n + 1)
        for n in range(HEADER_LIMIT // 60)
    )
    late = filler + message(
        sender="jan@acme.example", to=SALES, subject="Late From", message_id="<late@acme>"
    )
    rig.dovecot.append(rig.user, "INBOX", [late, _corpus_first()])
    session = ImapSession(rig.dovecot.account(rig.user), PASSWORD)
    try:
        session.select("INBOX", readonly=True)
        first, second = session.fetch_range(1, 2, 1024)
    finally:
        session.close()
    assert first.header.startswith(b"From: jan@acme.example")
    assert second.header.startswith(b"From: Sam Sales")
    assert rig.worker().sync_once().logged == 2


def _corpus_first() -> bytes:
    return message(
        sender=SALES, to="jan@acme.example", subject="Short", message_id="<short@example.com>"
    )


def test_mail_without_a_usable_date_gets_the_arrival_time(rig: MailRig) -> None:
    """INTERNALDATE is fetched only for mail whose Date header is missing or unreadable."""
    _contacts(rig.ok)
    arrived = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    dated = message(sender="jan@acme.example", to=SALES, subject="Dated", message_id="<d@a>")
    undated = dated.replace(b"Date: Mon, 16 Nov 2026 10:00:00 +0000\r\n", b"")
    unreadable = dated.replace(b"Mon, 16 Nov 2026 10:00:00 +0000", b"yesterday-ish")
    client = rig.dovecot.client(rig.user)
    try:
        for number, mail in enumerate((dated, undated, unreadable)):
            mail = mail.replace(b"<d@a>", f"<d{number}@a>".encode())
            client.append("INBOX", mail, msg_time=arrived)
    finally:
        client.logout()
    assert rig.worker().sync_once().logged == 3
    with rig.app.store.transaction() as session:
        when = dict(session.execute(select(Interaction.message_id, Interaction.occurred_at)).all())
    assert when == {
        "<d0@a>": dt.datetime(2026, 11, 16, 10, 0),
        "<d1@a>": arrived.replace(tzinfo=None),
        "<d2@a>": arrived.replace(tzinfo=None),
    }


def test_imaplib_formats_its_debug_lines_only_when_they_are_logged(rig: MailRig) -> None:
    """imaplib at imapclient's debug level 5 formats a repr of every literal it reads."""
    logger = logging.getLogger("imapclient.imaplib")
    session = ImapSession(rig.dovecot.account(rig.user), PASSWORD)
    assert session.client._imap.debug == 0
    session.close()
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        session = ImapSession(rig.dovecot.account(rig.user), PASSWORD)
        assert session.client._imap.debug == 5
        session.close()
    finally:
        logger.setLevel(level)
