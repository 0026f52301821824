"""A real Dovecot for the mail tests: one server per session, one user (mailbox) per test.

The server runs from a configuration written to a temporary directory (127.0.0.1 on a free
port, no TLS, passwd-file users, maildir storage, its own base_dir and state_dir), as the
unprivileged dovenull user when we are root. A missing Dovecot is installed with apt-get when
we are root; when it cannot be installed or started the tests skip with the reason, unless
CONTACTBOT_REQUIRE_IMAP=1 or CI=true, where that is a failure.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from imapclient import IMAPClient

from bot.config import Settings
from bot.mail.config import MailAccount, MailSettings
from bot.mail.worker import MailWorker
from bot.registry import build_registry
from bot.runtime import App, build_app
from tests.mail.oauth_servers import Introspection, TestCA

REQUIRE_IMAP = os.environ.get("CONTACTBOT_REQUIRE_IMAP") == "1" or os.environ.get("CI") == "true"
PASSWORD = "secret-pw"
PASSWORD_ENV = "CONTACTBOT_TEST_IMAP_PASSWORD"
USERS = 200


def _dovecot_binary() -> str | None:
    return shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )


def _install_dovecot() -> str:
    """apt-get install dovecot-imapd when we are root; '' on success, else the reason."""
    if os.geteuid() != 0:
        return "dovecot is not installed and we are not root to install it"
    if shutil.which("apt-get") is None:
        return "dovecot is not installed and there is no apt-get to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "dovecot-imapd"],
    ):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            return f"`{' '.join(command)}` failed: {result.stderr.strip()[-500:]}"
    return ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unavailable(reason: str) -> None:
    if REQUIRE_IMAP:
        pytest.fail(f"CONTACTBOT_REQUIRE_IMAP=1 or CI=true, but {reason}")
    pytest.skip(reason)


CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = contactbot-test-{port}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_failure_delay = 0
log_path = {root}/dovecot.log
mail_location = maildir:{root}/mail/%u
mail_uid = {user}
mail_gid = {group}
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_max_userip_connections = 100
imap_max_line_length = 10M
{passdb}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
{namespace}
# No growing delay for a failing IP: the tests refuse logins on purpose, all from 127.0.0.1.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


PASSWD_FILE_PASSDB = """\
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}"""

#: Dovecot 2.3 (Debian 12): OAuth2 tokens checked by POSTing them to an introspection URL.
OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = {mechanisms}
  args = {root}/dovecot-oauth2.conf.ext
}}"""

OAUTH2_ARGS = """\
introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
"""

TLS = "ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}\nssl_min_protocol = TLSv1.2"

NAMESPACE = """\
namespace inbox {{
  inbox = yes
  separator = /
{mailboxes}
}}"""

SPECIAL_MAILBOX = """\
  mailbox "{name}" {{
    special_use = {flag}
    auto = subscribe
  }}"""


@dataclass(frozen=True)
class DovecotOptions:
    """What sets a Dovecot apart from the plain one: OAuth2 only (introspection at
    `oauth2_url`), TLS with a test certificate, special-use folders every user has."""

    oauth2_url: str | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    special_use: tuple[tuple[str, str], ...] = ()  # (folder, flag)
    #: with oauth2_url: the SASL mechanisms offered (both, or one alone)
    oauth2_mechanisms: str = "xoauth2 oauthbearer"


class Dovecot:
    """A Dovecot of our own: start, stop (to test reconnects), users and messages."""

    def __init__(self, binary: str, options: DovecotOptions = DovecotOptions()) -> None:
        self.binary = binary
        self.options = options
        self.root = Path(tempfile.mkdtemp(prefix="contactbot-dovecot-"))
        self.root.chmod(0o755)
        self.port = _free_port()
        self.tls_port = _free_port() if options.cert_file else 0
        self.token_for: Callable[[str], str] | None = None  # OAuth2: a token for a user
        self.process: subprocess.Popen[bytes] | None = None
        self._users = itertools.count(1)
        if os.geteuid() == 0:
            user = "dovenull"
            try:
                pwd.getpwnam(user)
            except KeyError:
                user = "nobody"
        else:
            user = pwd.getpwuid(os.geteuid()).pw_name
        entry = pwd.getpwnam(user)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.user = user
        for sub in ("mail", "home"):
            (self.root / sub).mkdir()
            if os.geteuid() == 0:
                os.chown(self.root / sub, self.uid, self.gid)
        # Every user the session may need exists from the start: Dovecot re-reads a changed
        # passwd-file only now and then, which made users added later fail to log in.
        (self.root / "passwd").write_text(
            "".join(f"user{n}@mail.test:{{PLAIN}}{PASSWORD}\n" for n in range(1, USERS + 1))
        )
        self.config = self.root / "dovecot.conf"
        group = self._group_name()
        self.config.write_text(
            CONFIG.format(
                root=self.root,
                port=self.port,
                user=user,
                group=group,
                **self._variant(options),
            )
        )

    def _variant(self, options: DovecotOptions) -> dict[str, object]:
        """The lines of the config that depend on the options."""
        passdb = PASSWD_FILE_PASSDB.format(root=self.root)
        mechanisms = "plain login"
        if options.oauth2_url:
            mechanisms = options.oauth2_mechanisms
            passdb = OAUTH2_PASSDB.format(root=self.root, mechanisms=mechanisms)
            (self.root / "dovecot-oauth2.conf.ext").write_text(
                OAUTH2_ARGS.format(url=options.oauth2_url)
            )
        ssl = "ssl = no"
        if options.cert_file and options.key_file:
            ssl = TLS.format(cert=options.cert_file, key=options.key_file)
        namespace = ""
        if options.special_use:
            mailboxes = "\n".join(
                SPECIAL_MAILBOX.format(name=name, flag=flag) for name, flag in options.special_use
            )
            namespace = NAMESPACE.format(mailboxes=mailboxes)
        return {
            "ssl": ssl,
            "mechanisms": mechanisms,
            "passdb": passdb,
            "imaps_port": self.tls_port,
            "namespace": namespace,
        }

    def _group_name(self) -> str:
        import grp

        return grp.getgrgid(self.gid).gr_name

    def start(self, timeout: float = 15.0) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = (
                    self.process.stdout.read().decode(errors="replace")
                    if self.process.stdout
                    else ""
                )
                raise RuntimeError(f"dovecot exited: {output.strip()[-800:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on port {self.port} within {timeout} s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # until the port is really closed
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                time.sleep(0.05)
            except OSError:
                return

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def add_user(self) -> str:
        """A mailbox nobody has used yet."""
        number = next(self._users)
        assert number <= USERS, "raise USERS in tests/mail/conftest.py"
        return f"user{number}@mail.test"

    def client(self, user: str) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=30)
        if self.token_for is not None and self.options.oauth2_mechanisms == "oauthbearer":
            client.oauthbearer_login(user, self.token_for(user))
        elif self.token_for is not None:
            client.oauth2_login(user, self.token_for(user))
        else:
            client.login(user, PASSWORD)
        return client

    def append(self, user: str, folder: str, messages: Iterable[bytes]) -> None:
        """Put messages in a folder with IMAP (MULTIAPPEND, in chunks), creating it."""
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            chunk: list[bytes] = []
            size = 0
            for message in messages:
                chunk.append(message)
                size += len(message)
                if len(chunk) >= 500 or size > 5_000_000:
                    client.multiappend(folder, chunk)
                    chunk, size = [], 0
            if chunk:
                client.multiappend(folder, chunk)
        finally:
            client.logout()

    def account(self, user: str, **overrides: object) -> MailAccount:
        values: dict[str, object] = {
            "name": user.split("@")[0],
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "allow_insecure": True,
            "username": user,
            "password_env": PASSWORD_ENV,
            "folders": ("INBOX",),
            "salesperson": "SP1",
        }
        values.update(overrides)
        return MailAccount(**values)  # type: ignore[arg-type]


def _started_dovecot(options: DovecotOptions = DovecotOptions()) -> Dovecot:
    """A running Dovecot with these options (installed first if need be), or a skip."""
    binary = _dovecot_binary()
    if binary is None:
        reason = _install_dovecot()
        binary = _dovecot_binary()
        if binary is None:
            _unavailable(reason or "dovecot is not installed")
    assert binary is not None
    server = Dovecot(binary, options)
    try:
        server.start()
    except (RuntimeError, OSError) as error:
        server.cleanup()
        _unavailable(f"dovecot could not be started: {error}")
    return server


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    server = _started_dovecot()
    yield server
    server.cleanup()


#: The OAuth2 Dovecot's Sent folder, as a Dutch Microsoft 365 mailbox names it.
TRANSLATED_SENT = "Verzonden items"


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("test-ca"))


@pytest.fixture(scope="session")
def introspection() -> Iterator[Introspection]:
    server = Introspection().start()
    yield server
    server.server.stop()


@pytest.fixture(scope="session")
def oauth_dovecot_server(test_ca: TestCA, introspection: Introspection) -> Iterator[Dovecot]:
    """A Dovecot that accepts OAuth2 only (XOAUTH2, OAUTHBEARER; tokens checked with the
    introspection server), speaks TLS on `tls_port` and STARTTLS on `port` with the test CA's
    certificate, and gives every user a Sent folder called "Verzonden items" (\\Sent)."""
    server = _started_dovecot(
        DovecotOptions(
            oauth2_url=introspection.url,
            cert_file=test_ca.cert_file,
            key_file=test_ca.key_file,
            special_use=((TRANSLATED_SENT, "\\Sent"),),
        )
    )
    server.token_for = introspection.issue  # the tests' own IMAP logins
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def oauthbearer_dovecot(introspection: Introspection) -> Iterator[Dovecot]:
    """A Dovecot that offers OAUTHBEARER alone (no XOAUTH2), without TLS."""
    server = _started_dovecot(
        DovecotOptions(oauth2_url=introspection.url, oauth2_mechanisms="oauthbearer")
    )
    server.token_for = introspection.issue
    yield server
    server.cleanup()


@pytest.fixture
def oauth_dovecot(oauth_dovecot_server: Dovecot) -> Dovecot:
    if oauth_dovecot_server.process is None:
        oauth_dovecot_server.start()
    return oauth_dovecot_server


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Dovecot:
    """The session's server, running (a test may have stopped it)."""
    if dovecot_server.process is None:
        dovecot_server.start()
    return dovecot_server


@pytest.fixture
def mailbox(dovecot: Dovecot) -> str:
    """A fresh, empty mailbox user for this test."""
    return dovecot.add_user()


def message(
    *,
    sender: str,
    to: str | Iterable[str],
    subject: str,
    message_id: str | None,
    cc: str | Iterable[str] = (),
    body: str = "Hello,\r\nthis is the body.\r\n",
    date: str = "Mon, 16 Nov 2026 10:00:00 +0000",
    extra: str = "",
) -> bytes:
    """A simple text/plain message as bytes."""
    to = [to] if isinstance(to, str) else list(to)
    cc = [cc] if isinstance(cc, str) else list(cc)
    lines = [f"From: {sender}", f"To: {', '.join(to)}"]
    if cc:
        lines.append(f"Cc: {', '.join(cc)}")
    lines += [f"Subject: {subject}", f"Date: {date}"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    if extra:
        lines.append(extra.rstrip("\r\n"))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


@dataclass
class MailRig:
    """An App on a fresh database with a salesperson and mail settings for one mailbox."""

    app: App
    dovecot: Dovecot
    user: str

    def worker(self, **account: object) -> MailWorker:
        settings = self.with_accounts(self.dovecot.account(self.user, **account))
        return MailWorker(
            self.app.store,
            self.app.registry,
            settings,
            env={PASSWORD_ENV: PASSWORD},
            backoff_initial=0.1,
            backoff_max=0.5,
            timeout=10,
        )

    def with_accounts(self, *accounts: MailAccount, **mail: object) -> Settings:
        base = self.app.settings.mail
        return replace(self.app.settings, mail=replace(base, accounts=accounts, **mail))

    def ok(self, line: str) -> str:
        from bot.text_render import render_text

        reply = self.app.run(line)
        assert reply.ok, f"{line!r} failed: {reply.text}"
        return render_text(reply)


def _rig(database_url: str, data_dir: Path, dovecot: Dovecot, user: str) -> MailRig:
    settings = Settings(data_dir=data_dir, database_url=database_url, mail=MailSettings())
    app = build_app(settings, build_registry())
    rig = MailRig(app, dovecot, user)
    rig.ok('codes salespeople add SP1 name="Sam Sales" email=sales@example.com')
    return rig


@pytest.fixture
def rig(tmp_path: Path, sqlite_template: Path, dovecot: Dovecot, mailbox: str) -> Iterator[MailRig]:
    """SQLite-backed rig (the store rules run on both backends in tests/test_interactions.py
    and in test_matching_on_both_backends)."""
    path = tmp_path / "contactbot.db"
    shutil.copyfile(sqlite_template, path)
    rig = _rig(f"sqlite:///{path}", tmp_path / "data", dovecot, mailbox)
    yield rig
    rig.app.close()


@pytest.fixture
def oauth_rig(tmp_path: Path, database_url: str, oauth_dovecot: Dovecot) -> Iterator[MailRig]:
    """A rig on the OAuth2 Dovecot, on SQLite and on PostgreSQL (`database_url`)."""
    rig = _rig(database_url, tmp_path / "data", oauth_dovecot, oauth_dovecot.add_user())
    yield rig
    rig.app.close()
