"""The worker reads whole headers (BODY[HEADER]) and selects the fields itself: against a real
Dovecot, that selection must equal the server's BODY[HEADER.FIELDS (…)] reply byte for byte,
because a message without a Message-ID gets an id hashed from it, and mail logged before the
change (or seen in another folder, with other Received lines) must keep that id."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from bot.mail.imap import FIELDS_ITEM, HEADER_ITEM, HEADER_LIMIT, ImapSession
from bot.mail.parse import HEADER_FIELDS, parse_email, select_fields
from storage.models import Interaction
from tests.mail.conftest import PASSWORD, Dovecot, MailRig, message
from tests.mail.test_mail_sync import _contacts, _malformed

SALES = "Sam Sales <sales@example.com>"
WHEN = dt.datetime(2026, 11, 16, 10, 0)

ODD_HEADERS = [
    b"From: a@b.example\r\nReceived: x\r\n  y\r\nSubject:  hello\r\n\tworld \r\nX-Other: 1\r\n"
    b"subject: dup\r\nTo: c@d.example\r\n\r\nbody\r\n",
    b"From: a@b.example\nTo: c@d.example\nSubject: lf only\n folded\n\nbody\n",
    b"Subject : spaced name\r\nFrom\t: tabbed@x.example\r\nnot a header line\r\n"
    b"To: z@z.example\r\n\r\nbody\r\n",
    b"To: x@y.example\r\nFrom: a@b.example",  # no body, no final line break
    b" leading continuation\r\nFrom: a@b.example\r\n\r\nb\r\n",
    b"From: a@b.example\r\nSubject: bare cr\rinside\r\n\r\nb",
    b"X-A: 1\r\n\r\nFrom: not@header.example\r\n",
    b"From:a@b.example\r\nTO:c@d.example\r\nFromage: no\r\nTo-Do: no\r\n\r\n",
    b"From: a@b.example\r\nSubject: blank-ish continuation\r\n \r\n more\r\n\r\nb",
]


def _random_headers(count: int) -> list[bytes]:
    """Headers of wanted and unwanted names in odd spellings, folds, blanks and 8-bit bytes."""
    rnd = random.Random(4)
    names = [*HEADER_FIELDS, "Received", "X-Foo", "Fromage", "To-Do", "Reply-To"]
    pieces = [b"abc", b" ", b"\t", b":", b"\xe9", b"=?utf-8?q?x?=", b"<a@b>", b"\r", b'"']
    messages = []
    for _ in range(count):
        lines = []
        for _ in range(rnd.randint(0, 10)):
            name = "".join(c.lower() if rnd.random() < 0.3 else c for c in rnd.choice(names))
            if rnd.random() < 0.05:
                lines.append(b"no colon " + rnd.choice(pieces))
                continue
            separator = rnd.choice([b":", b": ", b" :", b"\t: "])
            value = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 5)))
            lines.append(name.encode() + separator + value)
            for _ in range(rnd.choice([0, 0, 1, 2])):
                lines.append(rnd.choice([b" ", b"\t"]) + rnd.choice(pieces))
        end = rnd.choice([b"\r\n", b"\n"])
        if end == b"\n":
            lines = [line.replace(b"\r", b"") for line in lines]
        messages.append(end.join(lines) + end + end + b"body" + end)
    return messages


def _both_ways(dovecot: Dovecot, user: str) -> list[tuple[bytes, bytes]]:
    """(whole header, the server's field selection) of every message in INBOX."""
    client = dovecot.client(user)
    try:
        client.select_folder("INBOX", readonly=True)
        response = client.fetch(client.search("ALL"), [HEADER_ITEM, FIELDS_ITEM])
    finally:
        client.logout()

    def part(data: dict[bytes, bytes], prefix: bytes) -> bytes:
        return next(v for k, v in data.items() if k.startswith(prefix))

    return [
        (part(data, b"BODY[HEADER]"), part(data, b"BODY[HEADER.FIELDS"))
        for _, data in sorted(response.items())
    ]


def test_the_selection_is_the_servers_byte_for_byte(dovecot: Dovecot, mailbox: str) -> None:
    corpus = [*ODD_HEADERS, *_malformed()[:4], *_malformed()[5:], *_random_headers(300)]
    dovecot.append(mailbox, "INBOX", corpus)
    pairs = _both_ways(dovecot, mailbox)
    assert len(pairs) == len(corpus)
    for number, (whole, fields) in enumerate(pairs):
        assert select_fields(whole) == fields, (number, corpus[number])
        assert select_fields(fields) == fields, number
        one, other = (
            parse_email(header, b"", mailbox="m", folder="INBOX", uid=1, internal_date=WHEN)
            for header in (whole, fields)
        )
        assert one == other, number


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


def test_a_header_larger_than_the_slice_is_read_as_the_servers_selection(
    rig: MailRig,
) -> None:
    """300 KB of Received lines before the From: the whole-header slice loses the From, so
    the worker asks the server for the fields of that message."""
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
    assert second.header.startswith(b"From: Sam Sales")  # whole, as fetched
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
