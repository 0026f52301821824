"""Generated header blocks (hypothesis) through the real parser and the email-logging handler
into the store, on SQLite and PostgreSQL: nothing escapes, nothing is half-written.

Each example is one fetched message (header fields and a body slice as the server would send
them: random From/To/Cc/Subject/Date/Message-ID, encoded-words in real and bogus charsets,
control characters, 8-bit garbage, broken folding) handed to the worker's batch step, which
parses it, runs the email handlers and commits the interactions with the folder's position.
Checked for every example:

- no exception leaves the batch step, and no email is recorded as skipped (a handler that
  raised would be: the worker survives it, but it is a bug here);
- the contacts that got the email are exactly those the parsed addresses name, by the rule
  (a salesperson's mail: the contacts among To and Cc; a contact's mail: that contact), and
  the persons auto_create made of unknown correspondents: all of them, never some;
- nothing stored holds a control character (PostgreSQL would refuse NUL outright).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import quopri
import re
from collections.abc import Sequence
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from bot.inputs import ReceivedEmail
from bot.mail.config import MailAccount
from bot.mail.imap import FetchedMessage
from bot.mail.parse import parse_email
from bot.mail.worker import FolderReport, MailWorker
from storage.mail_state import skipped_messages
from storage.models import Contact, Interaction
from tests.mail.conftest import PASSWORD, PASSWORD_ENV

SALESPERSON = "sales@example.com"
#: the contacts' addresses at the start (two persons share the last)
KNOWN = ("jan@acme.example", "info@acme.example", "piet@beta.example", "team@gamma.example")
#: 60 in the suite (seconds); CONTACTBOT_FUZZ_EXAMPLES=2000 for a longer hunt.
EXAMPLES = int(os.environ.get("CONTACTBOT_FUZZ_EXAMPLES", "60"))
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# --- strategies -------------------------------------------------------------------------------

_controls = st.sampled_from(["\x00", "\x07", "\x08", "\x7f", "\x9b", "\x1c", "\x85", "\r", "\t"])
_text = st.lists(
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        _controls,
        st.just("\x1b[31m"),
    ),
    max_size=30,
).map("".join)
_charset = st.sampled_from(["utf-8", "iso-8859-1", "windows-1252", "utf-16", "bogus-8", ""])


@st.composite
def _encoded_word(draw: st.DrawFn) -> str:
    """An RFC 2047 encoded-word, sometimes broken (bad base64, a charset that is not one)."""
    raw = draw(st.one_of(_text.map(lambda t: t.encode("utf-8")), st.binary(max_size=20)))
    charset = draw(_charset)
    if draw(st.booleans()):
        payload = base64.b64encode(raw).decode()
        if draw(st.booleans()):
            payload = payload[: draw(st.integers(0, len(payload)))]  # cut inside a quantum
        return f"=?{charset}?b?{payload}?="
    payload = quopri.encodestring(raw, header=True).decode("ascii", "replace")
    return f"=?{charset}?q?{payload.replace('?', '=3F')}?="


STRANGERS = ("stranger@else.example", "karin@newco.example", "x@müller.example", "me@gmail.com")
STRANGERS += ("bad@@x", "no-at-sign", "")
_phrase = st.one_of(_text, _encoded_word(), st.lists(_encoded_word(), max_size=3).map(" ".join))
_address = st.one_of(
    st.sampled_from([*KNOWN, "JAN@ACME.EXAMPLE", "team@GAMMA.example", SALESPERSON]),
    st.sampled_from(STRANGERS),
    st.builds(lambda a, c: a[:3] + c + a[3:], st.sampled_from(list(KNOWN)), _controls),
    _text,
)


@st.composite
def _mailbox(draw: st.DrawFn) -> str:
    name, address = draw(_phrase), draw(_address)
    form = draw(st.sampled_from(["bare", "angle", "named", "quoted"]))
    if form == "bare":
        return address
    if form == "angle":
        return f"<{address}>"
    if form == "quoted":
        return f'"{name}" <{address}>'
    return f"{name} <{address}>"


_address_list = st.lists(_mailbox(), max_size=6).map(", ".join)
_date = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2100, 1, 1), timezones=st.none()
    ).map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S +0000")),
    _text,
    st.sampled_from(["Mon, 32 Foo 2026 99:99:99 +9999", "yesterday", "0", ""]),
)
_message_id = st.one_of(
    st.none(),
    st.builds("<{}@{}>".format, _text, _text),
    st.sampled_from(["<fixed@one.example>", "no-angle-brackets", "<>", "<a b>"]),
    _text,
)
_content_type = st.sampled_from(
    [
        None,
        "text/plain; charset=utf-8",
        "text/plain; charset=bogus",
        "text/html; charset=iso-8859-1",
        'multipart/alternative; boundary="b1"',
        "multipart/mixed",
        "application/octet-stream",
        "text/plain; charset=",
    ]
)
_encoding = st.sampled_from([None, "base64", "quoted-printable", "8bit", "x-unknown"])


def _field(name: str, value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return name.encode() + b": " + raw + b"\r\n"


@st.composite
def fetched_message(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(header fields, body slice) as BODY[HEADER.FIELDS (…)] and BODY[TEXT]<0.n> give them."""
    sender = draw(st.one_of(st.just(f"Sam <{SALESPERSON}>"), _mailbox()))
    fields = [
        _field("From", sender),
        _field("To", draw(_address_list)),
        _field("Cc", draw(st.one_of(st.none(), _address_list))),
        _field("Subject", draw(st.one_of(st.none(), _phrase, st.binary(max_size=40)))),
        _field("Date", draw(st.one_of(st.none(), _date))),
        _field("Message-ID", draw(_message_id)),
        _field("Content-Type", draw(_content_type)),
        _field("Content-Transfer-Encoding", draw(_encoding)),
        _field("List-Id", draw(st.one_of(st.none(), st.just("<news.acme>")))),
    ]
    fields = draw(st.permutations(fields))
    garbage = draw(st.lists(st.binary(max_size=30), max_size=2))  # lines that are no field
    header = b"".join([*fields, *(g + b"\r\n" for g in garbage)])
    if draw(st.booleans()):
        header = header.replace(b", ", b",\r\n\t")  # folded
    if draw(st.booleans()):
        header += b"\r\n"  # the blank line the server sends after the fields
    body = draw(
        st.one_of(
            st.binary(max_size=300),
            _text.map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.just(b"--b1\r\nContent-Type: text/plain\r\n\r\nHi\x00 there\r\n--b1--\r\n"),
            _text.map(lambda t: base64.b64encode(t.encode("utf-8", "surrogatepass"))),
        )
    )
    return header, body


# --- the test --------------------------------------------------------------------------------


class _NoServer:
    """Stands in for the ImapSession in the batch step: an account, and no arrival times."""

    def __init__(self, account: object) -> None:
        self.account = account

    def internal_dates(self, uids: Sequence[int]) -> dict[int, dt.datetime]:
        return {}


def _expected(email: ReceivedEmail, known: dict[str, set[str]]) -> set[str]:
    """The contacts already `known` (address -> numbers) that the email-logging rule gives
    this parsed email: a salesperson's mail, those among To and Cc; else the sender's."""
    if email.sender is None or not email.sender.normalized:
        return set()
    if email.sender.normalized == SALESPERSON:
        found: set[str] = set()
        for address in email.recipients:
            found |= known.get(address.normalized, set())
        return found
    return set(known.get(email.sender.normalized, set()))


def _contacts(session) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    known: dict[str, set[str]] = {}
    for address, no in session.execute(select(Contact.email_normalized, Contact.no)):
        known.setdefault(address, set()).add(no)
    return known


def _setup(bot) -> MailWorker:  # type: ignore[no-untyped-def]
    bot.ok(f'codes salespeople add SP1 name="Sam Sales" email={SALESPERSON}')
    bot.ok('new company "Acme Holding B.V." email=info@acme.example')  # CT000001
    bot.ok('new person "Jan de Vries" company=CT000001 email=jan@acme.example')  # CT000002
    bot.ok('new person "Piet Bakker" email=piet@beta.example')  # CT000003
    bot.ok('new person "Anna Smit" email=team@gamma.example')  # CT000004
    bot.ok('new person "Bert Smit" email=TEAM@gamma.example')  # CT000005
    account = MailAccount(
        name="fuzz",
        host="127.0.0.1",
        port=1,
        security="none",
        allow_insecure=True,
        username="sam@example.com",
        password_env=PASSWORD_ENV,
        folders=("INBOX",),
        salesperson="SP1",
    )
    mail = replace(bot.app.settings.mail, accounts=(account,))
    return MailWorker(
        bot.app.store,
        bot.app.registry,
        replace(bot.app.settings, mail=mail),
        env={PASSWORD_ENV: PASSWORD},
    )


def test_generated_headers_through_parser_and_email_logging(bot) -> None:  # type: ignore[no-untyped-def]
    worker = _setup(bot)
    account = worker.mail.accounts[0]
    server = _NoServer(account)
    store = bot.app.store
    uids = iter(range(1, 1_000_000))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(fetched_message(), st.sampled_from(["none", "sent_and_received"]))
    def one_message(message: tuple[bytes, bytes], auto_create: str) -> None:
        header, body = message
        uid = next(uids)
        server.account = replace(account, auto_create=auto_create)
        with store.transaction() as session:
            session.execute(delete(Interaction))
            known = _contacts(session)
        parsed = parse_email(header, body, mailbox="fuzz", folder="INBOX", uid=uid)
        report = FolderReport("fuzz", "INBOX")
        worker._process_batch(  # the worker's batch step: parse, handle, commit
            server,  # type: ignore[arg-type]
            "INBOX",
            1,
            uid,
            [FetchedMessage(uid, header, body)],
            report,
        )
        assert (report.read, report.skipped) == (1, 0), report.problems
        with store.transaction() as session:
            assert skipped_messages(session) == []
            rows = session.execute(
                select(Contact.no, Interaction).join(Contact, Contact.id == Interaction.contact_id)
            ).all()
            before = set().union(*known.values())
            created = session.scalars(select(Contact).where(Contact.no.not_in(before))).all()
            for person in created:  # auto-created from the generated names and addresses
                assert not CONTROL.search(person.name + person.email), repr(person.name)
        assert auto_create != "none" or not created
        assert report.created == len(created)
        assert {no for no, _ in rows} == _expected(parsed, known) | {p.no for p in created}
        assert report.logged == len(rows)
        for _, row in rows:
            assert row.message_id == parsed.message_id
            for text in (row.description, row.snippet, row.message_id):
                assert not CONTROL.search(text or ""), repr(text)

    one_message()
