"""OAuth2 login against a Dovecot that accepts OAuth2 only (its oauth2 passdb asks the tests'
introspection server about every token): the token program, Microsoft's and Google's
providers against their token-endpoint doubles, a revoked token replaced, a failing token
program, TLS and STARTTLS with the test CA, and the Sent folder found by SPECIAL-USE.
Every test runs on SQLite and on PostgreSQL (`oauth_rig` takes `database_url`)."""

from __future__ import annotations

import base64
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.mail.config import MailAccount
from bot.mail.worker import MailWorker
from storage.models import Interaction
from tests.mail.conftest import TRANSLATED_SENT, Dovecot, MailRig, message
from tests.mail.oauth_servers import Introspection, TestCA, TokenEndpoints, _key, _pem_key

SALES = "Sam Sales <sales@example.com>"
TOKEN_PROGRAM = Path(__file__).with_name("token_program.py")
M365_SECRET_ENV = "CONTACTBOT_TEST_M365_SECRET"
GOOGLE_FILE_ENV = "CONTACTBOT_TEST_GOOGLE_SA_FILE"


class TokenProgram:
    """The tokens the test's token program hands out, and how often it ran."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def command(self) -> tuple[str, ...]:
        return (sys.executable, str(TOKEN_PROGRAM), str(self.directory))

    def hand_out(self, *tokens: str) -> None:
        (self.directory / "tokens").write_text("\n".join(tokens) + "\n")

    def fail_with(self, words: str | None) -> None:
        fail = self.directory / "fail"
        if words is None:
            fail.unlink(missing_ok=True)
        else:
            fail.write_text(words)

    @property
    def runs(self) -> int:
        runs = self.directory / "runs"
        return len(runs.read_text().splitlines()) if runs.exists() else 0


def _command_account(rig: MailRig, program: TokenProgram, **overrides: object) -> MailAccount:
    values: dict[str, object] = {
        "auth": "oauth2",
        "oauth2_provider": "command",
        "oauth2_token_command": program.command,
        "security": "starttls",
        "ca_file": str(rig.dovecot.options.cert_file.parent / "ca.pem"),  # type: ignore[union-attr]
        "folders": (),  # INBOX and the folder marked \Sent
        "password_env": "",
    }
    values.update(overrides)
    return rig.dovecot.account(rig.user, **values)


def _worker(rig: MailRig, *accounts: MailAccount, env: dict[str, str] | None = None) -> MailWorker:
    return MailWorker(
        rig.app.store,
        rig.app.registry,
        rig.with_accounts(*accounts),
        env=env or {},
        backoff_initial=0.05,
        backoff_max=0.2,
        timeout=10,
        alert=lambda text: None,
    )


def _message_ids(rig: MailRig) -> list[str]:
    with rig.app.store.transaction() as session:
        return sorted(session.scalars(select(Interaction.message_id)))


def _mail(n: int, *, outgoing: bool = False) -> bytes:
    if outgoing:
        return message(
            sender=SALES, to="jan@acme.example", subject=f"Offer {n}", message_id=f"<o{n}@x>"
        )
    return message(
        sender="Jan <jan@acme.example>", to=SALES, subject=f"Question {n}", message_id=f"<i{n}@x>"
    )


@pytest.fixture
def program(tmp_path: Path) -> TokenProgram:
    return TokenProgram(tmp_path / "token-program")


@pytest.fixture
def jan(oauth_rig: MailRig) -> MailRig:
    oauth_rig.ok('new person "Jan de Vries" email=jan@acme.example')
    return oauth_rig


def test_token_program_logs_inbox_and_translated_sent_and_survives_revocation(
    jan: MailRig, program: TokenProgram, introspection: Introspection
) -> None:
    rig = jan
    first = introspection.issue(rig.user)
    program.hand_out(first)
    rig.dovecot.append(rig.user, "INBOX", [_mail(1)])
    rig.dovecot.append(rig.user, TRANSLATED_SENT, [_mail(1, outgoing=True)])
    account = _command_account(rig, program)

    report = _worker(rig, account).sync_once()
    assert report.errors == []
    assert [f.folder for f in report.folders] == ["INBOX", TRANSLATED_SENT]
    assert _message_ids(rig) == ["<i1@x>", "<o1@x>"]
    assert program.runs == 1

    # Revoked between syncs: the program hands out the revoked token once more, then a new
    # one; the refused login asks for it, and nothing is lost or logged twice.
    introspection.revoke(first)
    second = introspection.issue(rig.user)
    program.hand_out(first, second)
    rig.dovecot.append(rig.user, "INBOX", [_mail(2)])
    rig.dovecot.append(rig.user, TRANSLATED_SENT, [_mail(2, outgoing=True)])
    report = _worker(rig, account).sync_once()
    assert report.errors == []
    assert program.runs == 3  # the revoked token, and the one that replaced it
    assert introspection.asked.count(first) >= 2  # offered again after the revocation
    assert _message_ids(rig) == ["<i1@x>", "<i2@x>", "<o1@x>", "<o2@x>"]

    report = _worker(rig, account).sync_once()  # nothing new: nothing logged twice
    assert report.errors == [] and report.logged == 0
    assert len(_message_ids(rig)) == 4


def test_a_token_the_server_keeps_refusing_names_the_account_and_the_server(
    jan: MailRig, program: TokenProgram, introspection: Introspection
) -> None:
    rig = jan
    program.hand_out("tok-nobody-knows-this")
    account = _command_account(rig, program, name="sam")
    report = _worker(rig, account).sync_once()
    assert program.runs == 2  # once at connect, once more after the refusal
    assert len(report.errors) == 1
    line = report.errors[0]
    assert line.startswith("mailbox sam: the server refused the OAuth2 login (XOAUTH2): ")
    assert "Authentication failed" in line and "(status 401)" in line  # Dovecot's JSON
    assert "tok-nobody-knows-this" not in line


def test_no_token_reaches_the_log_even_at_debug_level(
    jan: MailRig,
    program: TokenProgram,
    introspection: Introspection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = jan
    revoked = introspection.issue(rig.user)
    introspection.revoke(revoked)
    good = introspection.issue(rig.user)
    program.hand_out(revoked, good)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("imapclient").setLevel(logging.DEBUG)  # imaplib's lines too
    try:
        assert _worker(rig, _command_account(rig, program)).sync_once().errors == []
    finally:
        logging.getLogger("imapclient").setLevel(logging.NOTSET)
    assert "AUTHENTICATE" in caplog.text  # the protocol was logged...
    assert revoked not in caplog.text and good not in caplog.text  # ...but no token
    encoded = base64.b64encode(f"user={rig.user}\x01auth=Bearer {good}".encode()).decode()
    assert encoded[:40] not in caplog.text


def test_oauthbearer_where_the_server_offers_only_that(
    jan: MailRig, program: TokenProgram, introspection: Introspection, oauthbearer_dovecot: Dovecot
) -> None:
    rig = replace(jan, dovecot=oauthbearer_dovecot, user=oauthbearer_dovecot.add_user())
    revoked = introspection.issue(rig.user)
    introspection.revoke(revoked)
    program.hand_out(revoked, introspection.issue(rig.user))
    rig.dovecot.append(rig.user, "INBOX", [_mail(1)])
    account = rig.dovecot.account(
        rig.user,
        auth="oauth2",
        oauth2_provider="command",
        oauth2_token_command=program.command,
        password_env="",
    )
    assert _worker(rig, account).sync_once().errors == []
    assert program.runs == 2  # the revoked token refused over OAUTHBEARER, then replaced
    assert _message_ids(rig) == ["<i1@x>"]


def test_a_failing_token_program_is_one_line_naming_the_account_and_the_cause(
    jan: MailRig, program: TokenProgram, caplog: pytest.LogCaptureFixture
) -> None:
    rig = jan
    program.fail_with("oauth2l: the refresh token has expired; sign in again")
    account = _command_account(rig, program, name="sam")
    caplog.set_level(logging.DEBUG)
    report = _worker(rig, account).sync_once()
    assert report.errors == [
        f"mailbox sam: the token program {sys.executable} failed (exit status 3): "
        "oauth2l: the refresh token has expired; sign in again"
    ]
    assert program.runs == 1  # no token: nothing to offer the server, no retry loop


def test_a_missing_token_program_is_named(jan: MailRig, tmp_path: Path) -> None:
    account = jan.dovecot.account(
        jan.user,
        name="sam",
        auth="oauth2",
        oauth2_provider="command",
        oauth2_token_command=(str(tmp_path / "no-such-broker"), "fetch"),
        password_env="",
    )
    report = _worker(jan, account).sync_once()
    broker = tmp_path / "no-such-broker"
    assert report.errors == [f"mailbox sam: the token program {broker} was not found."]


def test_implicit_tls_with_the_account_ca_file(
    jan: MailRig, program: TokenProgram, introspection: Introspection, test_ca: TestCA
) -> None:
    rig = jan
    program.hand_out(introspection.issue(rig.user))
    rig.dovecot.append(rig.user, "INBOX", [_mail(1)])
    account = _command_account(
        rig, program, security="tls", port=rig.dovecot.tls_port, ca_file=str(test_ca.ca_file)
    )
    assert _worker(rig, account).sync_once().errors == []
    assert _message_ids(rig) == ["<i1@x>"]


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_a_certificate_from_an_unknown_authority_is_refused(
    jan: MailRig, program: TokenProgram, introspection: Introspection, security: str
) -> None:
    rig = jan
    program.hand_out(introspection.issue(rig.user))
    port = rig.dovecot.tls_port if security == "tls" else rig.dovecot.port
    account = _command_account(rig, program, name="sam", security=security, port=port, ca_file=None)
    worker = _worker(rig, account)
    worker.connect_tries = 1
    report = worker.sync_once()
    assert len(report.errors) == 1
    assert report.errors[0].startswith("mailbox sam: cannot connect: ")
    assert "CERTIFICATE_VERIFY_FAILED" in report.errors[0]
    assert program.runs == 0  # no token is sent to a server we cannot trust


@pytest.fixture
def endpoints(
    test_ca: TestCA, introspection: Introspection, monkeypatch: pytest.MonkeyPatch
) -> TokenEndpoints:
    """The token-endpoint doubles over HTTPS; requests (msal's, google-auth's) trust the
    test CA through REQUESTS_CA_BUNDLE, as a site behind a private CA would set it."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(test_ca.ca_file))
    server = TokenEndpoints(test_ca, introspection)
    yield server  # type: ignore[misc]
    server.stop()


def _microsoft_account(rig: MailRig, endpoints: TokenEndpoints, **overrides: object) -> MailAccount:
    values: dict[str, object] = {
        "name": "sam",
        "auth": "oauth2",
        "oauth2_provider": "microsoft",
        "tenant_id": TokenEndpoints.TENANT,
        "client_id": TokenEndpoints.CLIENT_ID,
        "client_secret_env": M365_SECRET_ENV,
        "oauth2_authority": endpoints.authority,
        "password_env": "",
    }
    values.update(overrides)
    return rig.dovecot.account(rig.user, **values)


def test_microsoft_client_credentials_log_in_and_the_token_is_cached(
    jan: MailRig, endpoints: TokenEndpoints
) -> None:
    rig = jan
    endpoints.mailbox_for_app = rig.user
    rig.dovecot.append(rig.user, "INBOX", [_mail(1)])
    worker = _worker(
        rig,
        _microsoft_account(rig, endpoints),
        env={M365_SECRET_ENV: TokenEndpoints.CLIENT_SECRET},
    )
    assert worker.sync_once().errors == []
    rig.dovecot.append(rig.user, "INBOX", [_mail(2)])
    assert worker.sync_once().errors == []
    assert _message_ids(rig) == ["<i1@x>", "<i2@x>"]
    tokens = endpoints.token_requests(f"/{TokenEndpoints.TENANT}/oauth2/v2.0/token")
    assert len(tokens) == 1  # the second sync used msal's cached token
    assert tokens[0]["scope"] == "https://outlook.office365.com/.default"
    assert tokens[0]["grant_type"] == "client_credentials"


def test_a_token_about_to_expire_is_renewed_before_it_is_used(
    jan: MailRig, endpoints: TokenEndpoints, tmp_path: Path
) -> None:
    """Both libraries renew a token minutes before it expires (msal 5, google-auth 3¾):
    a token said to last 2 minutes is fetched anew at every connect."""
    rig = jan
    endpoints.mailbox_for_app = rig.user
    endpoints.expires_in = 120
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(endpoints.service_account_info()))
    microsoft = _microsoft_account(rig, endpoints)
    google = rig.dovecot.account(
        rig.user,
        name="anna",
        auth="oauth2",
        oauth2_provider="google",
        service_account_file_env=GOOGLE_FILE_ENV,
        password_env="",
        folders=("INBOX",),
    )
    env = {M365_SECRET_ENV: TokenEndpoints.CLIENT_SECRET, GOOGLE_FILE_ENV: str(key_file)}
    worker = _worker(rig, microsoft, google, env=env)
    for _ in range(2):
        assert worker.sync_once().errors == []
    assert len(endpoints.token_requests(f"/{TokenEndpoints.TENANT}/oauth2/v2.0/token")) == 2
    assert len(endpoints.token_requests("/google/token")) == 2


def test_microsoft_refusal_is_named_and_the_secret_never_shown(
    jan: MailRig, endpoints: TokenEndpoints, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-secret-value-123"
    worker = _worker(jan, _microsoft_account(jan, endpoints), env={M365_SECRET_ENV: wrong})
    report = worker.sync_once()
    assert len(report.errors) == 1
    line = report.errors[0]
    assert line.startswith("mailbox sam: Microsoft sign-in failed: invalid_client: AADSTS7000215")
    assert wrong not in line and wrong not in caplog.text


def test_microsoft_token_refused_by_the_server_is_replaced_once(
    jan: MailRig, endpoints: TokenEndpoints, introspection: Introspection
) -> None:
    rig = jan
    endpoints.mailbox_for_app = rig.user
    worker = _worker(
        rig,
        _microsoft_account(rig, endpoints),
        env={M365_SECRET_ENV: TokenEndpoints.CLIENT_SECRET},
    )
    assert worker.sync_once().errors == []
    for token in list(introspection.tokens):
        introspection.revoke(token)  # the cached token is revoked behind msal's back
    rig.dovecot.append(rig.user, "INBOX", [_mail(3)])
    assert worker.sync_once().errors == []
    assert _message_ids(rig) == ["<i3@x>"]
    assert len(endpoints.token_requests(f"/{TokenEndpoints.TENANT}/oauth2/v2.0/token")) == 2


def test_google_service_account_with_delegation_logs_in(
    jan: MailRig, endpoints: TokenEndpoints, tmp_path: Path
) -> None:
    rig = jan
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(endpoints.service_account_info()))
    account = rig.dovecot.account(
        rig.user,
        name="sam",
        auth="oauth2",
        oauth2_provider="google",
        service_account_file_env=GOOGLE_FILE_ENV,
        password_env="",
    )
    rig.dovecot.append(rig.user, "INBOX", [_mail(1)])
    worker = _worker(rig, account, env={GOOGLE_FILE_ENV: str(key_file)})
    assert worker.sync_once().errors == []
    rig.dovecot.append(rig.user, "INBOX", [_mail(2)])
    assert worker.sync_once().errors == []
    assert _message_ids(rig) == ["<i1@x>", "<i2@x>"]
    assert len(endpoints.token_requests("/google/token")) == 1  # valid: not refreshed


def test_google_with_a_key_the_endpoint_does_not_know(
    jan: MailRig, endpoints: TokenEndpoints, tmp_path: Path
) -> None:
    info = endpoints.service_account_info()
    info["private_key"] = _pem_key(_key()).decode()  # a key the endpoint does not know
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(info))
    account = jan.dovecot.account(
        jan.user,
        name="sam",
        auth="oauth2",
        oauth2_provider="google",
        service_account_file_env=GOOGLE_FILE_ENV,
        password_env="",
    )
    report = _worker(jan, account, env={GOOGLE_FILE_ENV: str(key_file)}).sync_once()
    assert len(report.errors) == 1
    assert report.errors[0].startswith("mailbox sam: Google sign-in failed: invalid_grant")
