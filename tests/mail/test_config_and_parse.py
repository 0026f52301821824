"""[[mail.accounts]] validation and the email parser, without a server."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.mail.config import parse_mail_settings
from bot.mail.parse import normalize_address, parse_email, snippet_of

GOOD = {
    "name": "sam",
    "host": "imap.example.com",
    "username": "sam@example.com",
    "password_env": "SAM_IMAP_PASSWORD",
    "folders": ["INBOX", "Sent"],
    "salesperson": "sp1",
    "after": "move:Archive",
}


def test_a_good_account_table() -> None:
    mail = parse_mail_settings({"accounts": [GOOD], "poll_minutes": 5})
    (account,) = mail.accounts
    assert account.port == 993 and account.security == "tls"
    assert account.folders == ("INBOX", "Sent")
    assert account.salesperson == "SP1"
    assert account.move_to == "Archive"
    assert mail.poll_minutes == 5
    assert parse_mail_settings(None).accounts == ()


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"security": "ssl"}, "mail.accounts[0].security"),
        ({"security": "none"}, "mail.accounts[0].security"),  # needs allow_insecure
        ({"port": "993"}, "mail.accounts[0].port"),
        ({"folders": []}, "mail.accounts[0].folders"),
        ({"after": "delete"}, "mail.accounts[0].after"),
        ({"after": "move:"}, "mail.accounts[0].after"),
        ({"auto_create": "all"}, "mail.accounts[0].auto_create"),
        ({"passwrd_env": "X"}, "mail.accounts[0].passwrd_env"),
        ({"host": ""}, "mail.accounts[0].host"),
    ],
)
def test_a_bad_account_table_names_the_key(change: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_mail_settings({"accounts": [{**GOOD, **change}]})
    assert str(error.value).startswith(key)


def test_missing_keys_duplicates_and_idle_limit() -> None:
    without = {k: v for k, v in GOOD.items() if k != "username"}
    with pytest.raises(ConfigError, match=r"^mail.accounts\[0\].username: missing"):
        parse_mail_settings({"accounts": [without]})
    with pytest.raises(ConfigError, match=r"^mail.accounts\[1\].name"):
        parse_mail_settings({"accounts": [GOOD, GOOD]})
    with pytest.raises(ConfigError, match=r"^mail\.idle_renew_minutes"):
        parse_mail_settings({"idle_renew_minutes": 30})
    with pytest.raises(ConfigError, match=r"^mail\.pol_minutes: unknown key"):
        parse_mail_settings({"pol_minutes": 3})


def test_mail_in_the_config_file_and_the_password_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[[mail.accounts]]\nname = "sam"\nhost = "imap.example.com"\n'
        'username = "sam@example.com"\npassword_env = "SAM_PW"\nsecurity = "starttls"\n'
    )
    settings = load_settings(config, env={})
    (account,) = settings.mail.accounts
    assert account.port == 143
    assert account.password({"SAM_PW": "s3cret"}) == "s3cret"
    with pytest.raises(ConfigError, match=r"^mail.accounts\[0\].password_env: .*SAM_PW"):
        account.password({})


def test_normalize_address_matches_the_store() -> None:
    assert normalize_address("Jan@ACME.Example") == "jan@acme.example"
    assert normalize_address("jan@bücher.example") == "jan@xn--bcher-kva.example"
    assert normalize_address("not an address") == ""
    assert normalize_address("@@") == ""


def test_snippet_strips_quotes_intros_and_signatures() -> None:
    text = (
        "Hi Sam,\n\nThe price is fine.\n\nOn Mon 16 Nov 2026, Sam Sales wrote:\n"
        "> what about the price?\n"
    )
    assert snippet_of(text, 200) == "Hi Sam, The price is fine."
    assert snippet_of("Thanks!\n-- \nJan\n+31 20 555", 200) == "Thanks!"
    assert snippet_of("Groet\nOp ma 16 nov. 2026 schreef Sam:\n> x", 200) == "Groet"
    assert snippet_of("a " * 300, 20).endswith("…")
    assert len(snippet_of("a " * 300, 20)) == 20


def test_parse_html_only_and_encoded_words() -> None:
    header = (
        b"From: =?iso-8859-1?q?Ren=E9?= <rene@acme.example>\r\nTo: a@b.example\r\n"
        b"Subject: =?utf-8?b?w6lsw6hnZQ==?=\r\nMessage-ID: <x@y>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    )
    body = b"<html><style>p{}</style><p>Hello&nbsp;there</p><blockquote>old</blockquote></html>"
    email = parse_email(header, body, mailbox="m", folder="INBOX", uid=7)
    assert email.sender is not None and email.sender.name == "René"
    assert email.subject == "élège"
    assert email.snippet == "Hello there"
    assert email.problems == ()


def test_bulk_mail_is_recognised() -> None:
    for extra in (b"List-Id: <news.acme>", b"Precedence: bulk", b"Auto-Submitted: auto-replied"):
        header = b"From: a@acme.example\r\nMessage-ID: <1@a>\r\n" + extra + b"\r\n\r\n"
        assert parse_email(header, b"", mailbox="m", folder="f", uid=1).bulk
    plain = b"From: a@acme.example\r\nAuto-Submitted: no\r\n\r\n"
    assert not parse_email(plain, b"", mailbox="m", folder="f", uid=1).bulk


def _single(content_type: str, encoding: str = "") -> bytes:
    head = f"From: a@acme.example\r\nMessage-ID: <1@a>\r\nContent-Type: {content_type}\r\n"
    if encoding:
        head += f"Content-Transfer-Encoding: {encoding}\r\n"
    return (head + "\r\n").encode()


MULTIPART = _single('multipart/alternative; boundary="b"')


def _part(body: bytes, encoding: str, charset: str = "utf-8") -> bytes:
    return (
        f"--b\r\nContent-Type: text/plain; charset={charset}\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode() + body


def test_8bit_bodies_have_their_snippet() -> None:
    """Raw UTF-8 and Latin-1 bodies (8bit, the common case) are read in their charset, in a
    single part and in a MIME part (whose bytes compat32 keeps as surrogates)."""
    text = "Grüße aus Köln"
    cases = [
        (_single("text/plain; charset=utf-8", "8bit"), text.encode()),
        (_single("text/plain; charset=iso-8859-1"), text.encode("latin-1")),
        (MULTIPART, _part(text.encode() + b"\r\n--b--\r\n", "8bit")),
        (MULTIPART, _part(text.encode("latin-1"), "8bit", "iso-8859-1")),
        (MULTIPART, _part(b"Gr=C3=BC=C3=9Fe aus K=\r\n=C3=B6ln\r\n", "quoted-printable")),
        (MULTIPART, _part(b"Gr=C3=BC=C3=9Fe aus K=C3=B6ln\r\n", "Quoted-Printable ")),
    ]
    for header, body in cases:
        email = parse_email(header, body, mailbox="m", folder="f", uid=1)
        assert (email.snippet, email.problems) == (text, ()), body


def test_a_slice_cut_inside_a_character_or_a_quantum_loses_only_that() -> None:
    text = "Grüße aus Köln, das ist ein längerer Text über Öl"
    raw = text.encode()
    encoded = base64.encodebytes(raw)
    for cut in range(1, len(raw)):
        email = parse_email(
            _single("text/plain; charset=utf-8", "8bit"), raw[:cut], mailbox="m", folder="f", uid=1
        )
        assert email.problems == () and text.startswith(email.snippet), cut
    for cut in range(1, len(encoded)):
        email = parse_email(
            MULTIPART, _part(encoded[:cut], "base64"), mailbox="m", folder="f", uid=1
        )
        assert email.problems == () and text.startswith(email.snippet), cut


def test_snippet_stops_reading_once_it_is_full_with_the_same_result() -> None:
    lines = [f"line {n} with  some\ttext" for n in range(50)]
    text = "\r\n".join([*lines[:3], "> quoted", *lines[3:], "-- ", "signature"])
    full = " ".join(line.replace("  ", " ").replace("\t", " ") for line in lines)
    for limit in (1, 5, 30, 60, 200, 2000):
        expected = full if len(full) <= limit else full[: limit - 1].rstrip() + "…"
        assert snippet_of(text, limit) == expected, limit


def _parse(header: bytes, body: bytes = b"") -> object:
    return parse_email(header, body, mailbox="m", folder="INBOX", uid=1)


def test_a_control_character_in_a_value_does_not_start_a_header() -> None:
    """str.splitlines() ends a line at \\x1c, \\x0b, \\x85 …: a Subject carrying one made
    the text after it a From header of its own, ahead of the real one."""
    for separator in ("\x1c", "\x1d", "\x1e", "\x0b", "\x0c", "\x85", "\u2028"):
        header = (
            f"Subject: Hi{separator}From: boss@example.com\r\n"
            "From: stranger@else.example\r\nMessage-ID: <1@a>\r\n\r\n"
        ).encode()
        email = _parse(header)
        assert email.sender is not None, separator
        assert email.sender.normalized == "stranger@else.example", repr(separator)
        assert email.subject.replace(" ", "") == "HiFrom:boss@example.com", repr(separator)


def test_control_characters_are_removed_and_noted() -> None:
    header = (
        b"From: =?utf-8?q?Jan=00_=1B=5B31mde_Vries?= <jan@acme.example>\r\n"
        b"To: =?utf-8?q?Sam=07?= <sales@example.com>, bad\x01@acme.example\r\n"
        b"Subject: =?utf-8?b?" + base64.b64encode(b"Offer\x00\x1b[2J\x7f\xc2\x9b ok") + b"?=\r\n"
        b"Message-ID: <id\x1b-1@acme.example>\r\n\r\n"
    )
    email = _parse(header, b"Hello\x00 there\x1b[0m,\r\n\tall\x08 fine\r\n")
    assert email.sender is not None and email.sender.name == "Jan [31mde Vries"
    assert email.subject == "Offer[2J ok"
    assert email.message_id == "<id-1@acme.example>"
    assert email.snippet == "Hello there[0m, all fine"
    assert [(a.name, a.address, a.normalized) for a in email.to] == [
        ("Sam", "sales@example.com", "sales@example.com"),
        ("", "bad@acme.example", ""),  # an address with a control character matches nothing
    ]
    assert "control characters removed from the subject" in email.problems


def test_the_id_of_mail_without_message_id_depends_on_headers_and_body_start() -> None:
    header = b"From: jan@acme.example\r\nTo: sales@example.com\r\nSubject: Order\r\n\r\n"
    ids = {_parse(header, b).message_id for b in (b"10 boxes\r\n", b"10 boxes\n  \r\n")}
    assert len(ids) == 1  # line endings and trailing blanks of the body do not count
    other = _parse(header, b"20 boxes\r\n").message_id
    assert other not in ids and other.endswith("@contactbot.invalid>")
    assert (
        _parse(header + b"", b"x" * 5000).message_id
        == _parse(header, b"x" * 4096 + b"y").message_id
    )
    with_id = b"Message-ID: <kept@acme.example>\r\n" + header
    assert _parse(with_id, b"anything").message_id == "<kept@acme.example>"


def test_a_broken_base64_encoded_word_is_kept_as_written() -> None:
    """decode_header raises HeaderParseError on a base64 word of one character: the parser
    raised, and the worker skipped the whole email ("cannot parse"). Found by the fuzz test."""
    email = _parse(b"From: jan@acme.example\r\nSubject: =?utf-8?b?A?= offer\r\n\r\n")
    assert email.subject == "=?utf-8?b?A?= offer"
    assert "broken encoded-word" in email.problems
