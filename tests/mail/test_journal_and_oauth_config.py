"""Journal reports unwrapped (the parser, and a queue mailbox on Dovecot), and the config of
OAuth2, ca_file, since and the optional folders: each bad value named by its key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import ConfigError
from bot.mail.config import parse_mail_settings
from bot.mail.parse import parse_email
from storage.models import Contact, Interaction
from tests.mail.conftest import MailRig

BOUNDARY = "journal-boundary-1"


def journal_report(
    *,
    envelope: str,
    original: str,
    outer_from: str = "Microsoft Outlook <MicrosoftExchange329e71ec88ae@example.com>",
) -> bytes:
    """An Exchange envelope journal report around `original`, as the queue mailbox gets it."""
    text = (
        f"From: {outer_from}\r\n"
        "To: journal@example.com\r\n"
        "Subject: The offer\r\n"
        "Date: Tue, 17 Nov 2026 09:00:05 +0000\r\n"
        "Message-ID: <journal-1@example.com>\r\n"
        "X-MS-Journal-Report:\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"\r\n'
        "\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Type: text/plain; charset="us-ascii"\r\n'
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        f"{envelope}"
        "\r\n"
        f"--{BOUNDARY}\r\n"
        "Content-Type: message/rfc822\r\n"
        "Content-Disposition: attachment\r\n"
        "\r\n"
        f"{original}"
        "\r\n"
        f"--{BOUNDARY}--\r\n"
    )
    return text.encode()


ENVELOPE = (
    "Sender: sales@example.com\r\n"
    "Subject: The offer\r\n"
    "Message-Id: <offer-1@example.com>\r\n"
    "To: jan@acme.example\r\n"
    "Cc: team@lists.example, Expanded: all@lists.example\r\n"
    "Bcc: piet@beta.example\r\n"
)
ORIGINAL = (
    "From: Sam Sales <sales@example.com>\r\n"
    "To: Jan de Vries <jan@acme.example>\r\n"
    "Subject: The offer\r\n"
    "Date: Tue, 17 Nov 2026 09:00:00 +0000\r\n"
    "Message-ID: <offer-1@example.com>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Dear Jan,\r\nhere is the offer: 100 EUR.\r\n"
)


def _split(raw: bytes) -> tuple[bytes, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", body


def test_a_journal_report_is_read_as_its_original() -> None:
    header, text = _split(journal_report(envelope=ENVELOPE, original=ORIGINAL))
    email = parse_email(header, text, mailbox="queue", folder="INBOX", uid=1)
    assert email.sender is not None and email.sender.normalized == "sales@example.com"
    assert email.sender.name == "Sam Sales"
    assert [a.normalized for a in email.to] == ["jan@acme.example"]
    assert [a.normalized for a in email.cc] == ["team@lists.example", "piet@beta.example"]
    assert email.message_id == "<offer-1@example.com>"
    assert email.subject == "The offer"
    assert email.date == dt.datetime(2026, 11, 17, 9, 0, 0)  # the original's, not the report's
    assert email.snippet == "Dear Jan, here is the offer: 100 EUR."


def test_a_forwarded_attachment_without_an_envelope_is_left_alone() -> None:
    forwarded = journal_report(envelope="Hi, see the attached mail.\r\n", original=ORIGINAL)
    header, text = _split(forwarded.replace(b"Microsoft Outlook", b"Jan"))
    email = parse_email(header, text, mailbox="queue", folder="INBOX", uid=1)
    assert email.message_id == "<journal-1@example.com>"
    assert [a.normalized for a in email.to] == ["journal@example.com"]


def test_a_report_cut_by_the_slice_keeps_the_envelope() -> None:
    header, text = _split(journal_report(envelope=ENVELOPE, original=ORIGINAL))
    cut = text[: text.index(b"Content-Disposition") + 10]  # inside the attachment's part head
    email = parse_email(header, cut, mailbox="queue", folder="INBOX", uid=1)
    assert email.message_id == "<offer-1@example.com>"  # the envelope alone says enough
    assert email.sender is not None and email.sender.name == ""  # no original: no name
    assert [a.normalized for a in email.cc] == ["team@lists.example", "piet@beta.example"]
    email = parse_email(
        header, text[: text.index(b"Dear Jan")], mailbox="queue", folder="INBOX", uid=1
    )
    assert email.message_id == "<offer-1@example.com>"
    assert email.sender is not None and email.sender.normalized == "sales@example.com"
    assert email.snippet == ""


def test_a_queue_mailbox_logs_the_originals_of_journal_reports(rig: MailRig) -> None:
    rig.ok('new person "Jan de Vries" email=jan@acme.example')
    rig.ok('new person "Piet Bakker" email=piet@beta.example')
    rig.dovecot.append(rig.user, "INBOX", [journal_report(envelope=ENVELOPE, original=ORIGINAL)])
    report = rig.worker(username=rig.user).sync_once()
    assert report.errors == []
    with rig.app.store.transaction() as session:
        rows = session.execute(
            select(Contact.no, Interaction.message_id, Interaction.direction).join(
                Contact, Contact.id == Interaction.contact_id
            )
        ).all()
    assert sorted(rows) == [
        ("CT000001", "<offer-1@example.com>", "outbound"),
        ("CT000002", "<offer-1@example.com>", "outbound"),  # Bcc'd: only the envelope says so
    ]


BASE = {"name": "sam", "host": "imap.example.com", "username": "sam@example.com"}


def _account(**keys: object):  # type: ignore[no-untyped-def]
    return parse_mail_settings({"accounts": [{**BASE, **keys}]}).accounts[0]


def test_oauth2_accounts_and_their_defaults(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    account = _account(
        auth="oauth2",
        oauth2_provider="microsoft",
        tenant_id="t",
        client_id="c",
        client_secret_env="M365_SECRET",
        ca_file=str(ca),
        since="2026-01-01",
    )
    assert account.folders == ()  # INBOX and the server's Sent folder
    assert account.oauth2_authority == "https://login.microsoftonline.com"
    assert account.since == dt.date(2026, 1, 1) and account.ca_file == str(ca)
    assert account.first_day(dt.date(2026, 5, 1)) == dt.date(2026, 1, 1)
    days = _account(password_env="PW", since_days=90)
    assert days.first_day(dt.date(2026, 5, 1)) == dt.date(2026, 1, 31)
    command = _account(auth="oauth2", oauth2_provider="command", oauth2_token_command=["a", "b"])
    assert command.oauth2_token_command == ("a", "b")
    with pytest.raises(ConfigError, match=r"client_secret_env: the environment variable M365"):
        account.check_secrets({})
    account.check_secrets({"M365_SECRET": "s"})
    command.check_secrets({})  # the program needs no secret of ours


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"auth": "kerberos", "password_env": "P"}, r"^mail.accounts\[0\].auth: expected"),
        ({"auth": "oauth2"}, r"^mail.accounts\[0\].oauth2_provider: expected"),
        (
            {"auth": "oauth2", "oauth2_provider": "microsoft", "tenant_id": "t"},
            r"^mail.accounts\[0\].client_id: missing",
        ),
        (
            {"auth": "oauth2", "oauth2_provider": "google"},
            r"^mail.accounts\[0\].service_account_file_env: missing",
        ),
        (
            {"auth": "oauth2", "oauth2_provider": "command", "oauth2_token_command": "oauth2l"},
            r"^mail.accounts\[0\].oauth2_token_command: expected a program and its arguments",
        ),
        (
            {
                "auth": "oauth2",
                "oauth2_provider": "microsoft",
                "tenant_id": "t",
                "client_id": "c",
                "client_secret_env": "S",
                "oauth2_authority": "http://login.example",
            },
            r"^mail.accounts\[0\].oauth2_authority: expected an https:// URL",
        ),
        ({"password_env": "P", "ca_file": "/no/such/ca.pem"}, r"ca_file: /no/such/ca.pem is not"),
        ({"password_env": "P", "since": "last monday"}, r"^mail.accounts\[0\].since: expected"),
        (
            {"password_env": "P", "since": "2026-01-01", "since_days": 3},
            r"since_days: set either since or since_days",
        ),
        ({"password_env": "P", "since_days": 0}, r"^mail.accounts\[0\].since_days: expected"),
        ({"password_env": "P", "folders": []}, r"^mail.accounts\[0\].folders: expected"),
        ({}, r"^mail.accounts\[0\].password_env: missing"),
        (
            {"password_env": "P", "oauth2_provider": "google"},
            r'^mail.accounts\[0\].oauth2_provider: only with auth = "oauth2"',
        ),
    ],
)
def test_bad_oauth2_and_sync_keys_are_named(keys: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _account(**keys)


def test_alert_channel_is_a_string() -> None:
    assert parse_mail_settings({"alert_channel": "C0ALERTS"}).alert_channel == "C0ALERTS"
    with pytest.raises(ConfigError, match=r"^mail.alert_channel: expected a Slack channel"):
        parse_mail_settings({"alert_channel": 5})
