"""One IMAP session with imapclient, doing only what the worker needs, safely.

- Connect by security mode: implicit TLS, STARTTLS (refused if the server cannot), or plain
  (config allows it only with `allow_insecure`). The server's certificate is checked against
  the system's authorities, or against the account's `ca_file` when it has one.
- Log in with the password, or (`auth = "oauth2"`) with SASL XOAUTH2, or OAUTHBEARER where
  that is all the server offers, and a token from bot.mail.oauth2. A refused token is replaced
  once (`token(fresh=True)`); a login the server still refuses raises `LoginRefused` with the
  server's words, which is not a connection error: retrying it cannot help and may lock the
  account, so the worker marks the account failing instead.
- Without configured `folders`: INBOX and the folder the server marks \\Sent (SPECIAL-USE,
  RFC 6154; imapclient falls back to the usual names for servers without it).
- Read with BODY.PEEK only (nothing becomes \\Seen), selected header fields and a bounded
  slice of the body text, over a bounded UID range per command. The server's selection of
  fields, not the whole header: the long HEADER.FIELDS key that the server echoes for every
  message costs imapclient's lexer some time, but a real header (Received, DKIM, ARC, the
  antispam lines) is several kilobytes, which cost more to receive and to select from here,
  and far more over a network than from a local Dovecot.
- A message whose selected fields fill the slice (a mail to thousands of people) has the
  rest of them fetched for that UID alone, up to `HEADER_MAX`; past that the message is
  marked `header_cut`, and the worker records it with the reason: never dropped silently.
- A folder the server will not open (missing, no rights) raises `FolderUnavailable`, which
  is not a connection error: the worker reports that folder and reads the others.
- After-actions touch only the UIDs named: MOVE where the server has it, else COPY +
  \\Deleted + UID EXPUNGE of exactly those UIDs. A bare EXPUNGE (which would also remove
  messages someone else marked \\Deleted) is never sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from imapclient.imapclient import SENT

from bot.mail.config import MailAccount
from bot.mail.oauth2 import TokenError, TokenProvider
from bot.mail.parse import HEADER_FIELDS

log = logging.getLogger(__name__)

#: Errors that mean "the server or the connection is unusable": retry later with backoff.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (IMAPClientError, OSError, EOFError)

HEADER_LIMIT = 256 * 1024  # the fields fetched per message with the batch
HEADER_MAX = 32 * 1024 * 1024  # a message's fields read at most (its rest fetched alone)
FIELDS = f"BODY.PEEK[HEADER.FIELDS ({' '.join(HEADER_FIELDS)})]"
FIELDS_ITEM = f"{FIELDS}<0.{HEADER_LIMIT}>"
ADDRESS_FIELDS = ("TO", "CC")  # the fields that grow with the recipients


_TIMING = re.compile(r"\s*\([0-9.]+ \+ [0-9.+ ]*secs?\)\.?$")


#: Sent folders by name, for servers without SPECIAL-USE (casefolded, most usual first).
SENT_NAMES = tuple(
    name.casefold()
    for name in (
        "Sent",
        "Sent Items",
        "Sent Messages",
        "Sent Mail",
        "Verzonden items",
        "Gesendete Elemente",
        "Gesendet",
        "Éléments envoyés",
        "Elementos enviados",
        "Posta inviata",
        "Itens Enviados",
        "Sendte elementer",
        "Skickade objekt",
        "Lähetetyt",
    )
)


class LoginRefused(LoginError):
    """The server refused the login (after one fresh token, with OAuth2): the message names
    the mailbox and quotes the server. An imapclient LoginError still (so a caller that
    catches CONNECTION_ERRORS keeps catching it); the worker catches LOGIN_ERRORS first."""


#: What stops an account from logging in at all: no retry helps until someone acts.
LOGIN_ERRORS: tuple[type[BaseException], ...] = (LoginRefused, TokenError)


class FolderUnavailable(Exception):
    """The server refused to open a folder (it does not exist, or we may not read it).

    Not a connection error: the session is still good, and the other folders can be read."""

    def __init__(self, folder: str, reason: str) -> None:
        super().__init__(f"cannot open folder {folder!r}: {reason}")
        self.folder = folder
        self.reason = reason


@dataclass(frozen=True)
class FolderInfo:
    name: str
    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    header: bytes
    text: bytes
    #: the fields went on past HEADER_MAX: `header` holds the first HEADER_MAX bytes only
    header_cut: bool = False


def _part(data: dict[bytes, object], prefix: bytes) -> bytes:
    """The value of the first fetched item whose key starts with `prefix` (a NIL is b"")."""
    for key, value in data.items():
        if isinstance(key, bytes) and key.startswith(prefix) and isinstance(value, bytes):
            return value
    return b""


def _fetched(uid: int, data: dict[bytes, object]) -> FetchedMessage:
    return FetchedMessage(uid, _part(data, b"BODY[HEADER"), _part(data, b"BODY[TEXT]"))


def _server_text(error: BaseException) -> str:
    """The server's words in an imapclient error, without the `select failed:` prefix."""
    text = str(error.args[0] if error.args else error)
    if text.startswith(("b'", 'b"')):
        text = text[2:-1]
    text = text.partition("failed: ")[2] or text
    return _TIMING.sub("", text).strip()  # Dovecot's "(0.001 + 0.000 secs)." says nothing here


def _naive_utc(value: object) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _quiet_imaplib(client: IMAPClient) -> None:
    """Stop imaplib's per-line debug messages unless their logger would show them.

    imapclient sets imaplib's debug level to 5 to route imaplib's messages to the
    "imapclient.imaplib" logger; imaplib then formats the repr of every response line and of
    every literal (each message's header fields and 4 KB of its text) before the logger
    can decline it. That was 60% of the CPU of reading a FETCH response.
    """
    if logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        return
    imap = getattr(client, "_imap", None)  # imapclient's imaplib.IMAP4; no public handle
    if imap is not None:
        imap.debug = 0


def _oauth2_mechanism(
    user: str, token: str, mechanism: str, statuses: list[str]
) -> Callable[[bytes], bytes]:
    """The client's side of XOAUTH2 / OAUTHBEARER: the bearer token first; to an error
    challenge (a JSON status, whose "status" goes to `statuses`) the empty answer (XOAUTH2)
    or ^A (OAUTHBEARER, RFC 7628) that lets the server finish with its NO."""
    if mechanism == "XOAUTH2":
        first = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
        abort = b""
    else:
        identity = user.replace("=", "=3D").replace(",", "=2C")
        first = f"n,a={identity},\x01auth=Bearer {token}\x01\x01".encode()
        abort = b"\x01"
    sent = False

    def answer(challenge: bytes) -> bytes:
        nonlocal sent
        if sent:
            statuses.append(_challenge_status(challenge))
            return abort
        sent = True
        return first

    return answer


def _challenge_status(challenge: bytes) -> str:
    """`invalid_token` from an error challenge like {"status":"invalid_token",…}."""
    try:
        status = json.loads(challenge.decode("utf-8", "replace")).get("status", "")
    except (ValueError, AttributeError):
        return ""
    return str(status)[:100] if isinstance(status, str | int) else ""


def _refusal_words(error: BaseException) -> str:
    """The server's words of a refused login, Dovecot's timing and imaplib's wrapping cut."""
    text = _server_text(error)
    for prefix in ("[AUTHENTICATIONFAILED] ", "AUTHENTICATE command error: BAD [", "LOGIN "):
        text = text.removeprefix(prefix)
    return text.strip(" ]'\"") or "refused"


class ImapSession:
    """A logged-in connection to one account's server. `credentials` is the password, or
    with `auth = "oauth2"` the account's token provider."""

    def __init__(
        self, account: MailAccount, credentials: str | TokenProvider, *, timeout: float = 60.0
    ) -> None:
        self.account = account
        self.client = self._connect(account, timeout)
        _quiet_imaplib(self.client)
        try:
            self._log_in(credentials)
        except BaseException:
            self.close()
            raise
        self.capabilities = {c.upper() for c in self.client.capabilities()}
        self.selected: str | None = None
        self.readonly = True

    def _log_in(self, credentials: str | TokenProvider) -> None:
        name = self.account.name
        if isinstance(credentials, str):
            try:
                self.client.login(self.account.username, credentials)
            except LoginError as error:
                raise LoginRefused(
                    f"mailbox {name}: the server refused the login: {_refusal_words(error)}"
                ) from None
            return
        offered = {c.upper() for c in self.client.capabilities()}
        mechanism = next(
            (m for m in ("XOAUTH2", "OAUTHBEARER") if f"AUTH={m}".encode() in offered), None
        )
        if mechanism is None:
            raise LoginRefused(
                f"mailbox {name}: the server offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER"
            )
        for fresh in (False, True):
            token = credentials.token(fresh=fresh)
            statuses: list[str] = []
            answer = _oauth2_mechanism(self.account.username, token, mechanism, statuses)
            try:
                self.client.sasl_login(mechanism, answer)
                return
            except LoginError as error:
                words = _refusal_words(error)
                if any(statuses):
                    words += f" (status {', '.join(s for s in statuses if s)})"
            if not fresh:
                log.info(
                    "mailbox %s: the server refused the token (%s); asking for a new one",
                    name,
                    words,
                )
        raise LoginRefused(
            f"mailbox {name}: the server refused the OAuth2 login ({mechanism}): {words}"
        )

    @staticmethod
    def _tls_context(account: MailAccount) -> ssl.SSLContext:
        """The system's authorities, or only those of the account's `ca_file`."""
        return ssl.create_default_context(cafile=account.ca_file)

    @staticmethod
    def _connect(account: MailAccount, timeout: float) -> IMAPClient:
        context = ImapSession._tls_context(account)
        if account.security == "tls":
            client = IMAPClient(
                account.host, port=account.port, ssl=True, ssl_context=context, timeout=timeout
            )
            client.normalise_times = False
            return client
        client = IMAPClient(account.host, port=account.port, ssl=False, timeout=timeout)
        client.normalise_times = False
        if account.security == "starttls":
            try:
                client.starttls(context)
            except BaseException:
                with contextlib.suppress(OSError):  # a failed handshake leaves no socket
                    client.shutdown()
                raise
        return client

    def folders_to_read(self) -> tuple[str, ...]:
        """The configured folders; without them INBOX and the server's Sent folder."""
        if self.account.folders:
            return self.account.folders
        sent = self.sent_folder()
        if sent is None:
            log.info("mailbox %s: no folder is marked \\Sent; reading INBOX", self.account.name)
            return ("INBOX",)
        return ("INBOX", sent)

    def sent_folder(self) -> str | None:
        """The folder marked \\Sent (SPECIAL-USE); on a server that marks none, one with a
        usual name for it (Microsoft 365's in several languages), else None. One LIST."""
        by_name: dict[str, str] = {}
        for flags, delimiter, name in self.client.list_folders():
            if not isinstance(name, str) or name.upper() == "INBOX":
                continue
            if SENT in flags:
                return name
            leaf = name.rsplit(delimiter.decode(), 1)[-1] if delimiter else name
            by_name.setdefault(leaf.casefold(), name)
        return next((by_name[n] for n in SENT_NAMES if n in by_name), None)

    def uids_since(self, day: dt.date) -> list[int]:
        """UIDs of the selected folder's mail that arrived on `day` or later (SEARCH SINCE)."""
        return sorted(self.client.search(["SINCE", day]))

    def has(self, capability: str) -> bool:
        return capability.upper().encode() in self.capabilities

    def close(self) -> None:
        """Log out politely; a dead connection is just dropped."""
        try:
            self.client.logout()
        except Exception:
            try:
                self.client.shutdown()
            except Exception:
                log.debug("shutdown of a dead connection failed", exc_info=True)

    def select(self, folder: str, *, readonly: bool) -> FolderInfo:
        """Select (or EXAMINE, when nothing will be changed) a folder.

        A NO or BAD from the server (the folder is missing, or not ours to read) raises
        FolderUnavailable; a broken connection raises what CONNECTION_ERRORS lists."""
        try:
            response = self.client.select_folder(folder, readonly=readonly)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as error:
            self.selected = None  # a failed SELECT leaves no folder selected (RFC 3501)
            raise FolderUnavailable(folder, _server_text(error)) from error
        self.selected, self.readonly = folder, readonly
        uidnext = response.get(b"UIDNEXT")
        return FolderInfo(
            name=folder,
            uidvalidity=int(response[b"UIDVALIDITY"]),
            uidnext=int(uidnext) if uidnext is not None else None,
            exists=int(response.get(b"EXISTS", 0)),
        )

    def highest_uid(self) -> int:
        """For servers that do not send UIDNEXT."""
        uids = self.client.search("ALL")
        return max(uids) if uids else 0

    def fetch_range(self, low: int, high: int, text_bytes: int) -> list[FetchedMessage]:
        """Header fields and the first `text_bytes` of the body for UIDs low..high.

        No INTERNALDATE: only mail without a usable Date header needs it (`internal_dates`),
        and imapclient's reading of it for every message cost more than a tenth of the fetch.
        """
        text_item = f"BODY.PEEK[TEXT]<0.{text_bytes}>"
        response = self.client.fetch(list(range(low, high + 1)), [FIELDS_ITEM, text_item])
        messages = [_fetched(uid, response[uid]) for uid in sorted(response)]
        return [self._whole(m) if len(m.header) >= HEADER_LIMIT else m for m in messages]

    def _whole(self, message: FetchedMessage) -> FetchedMessage:
        """The rest of the fields of a message that filled the batch's slice, fetched for
        that UID alone (rare: a mail to thousands). Past HEADER_MAX, To and Cc are cut at
        their last whole line and the other fields (From, Subject, Message-ID, …, which
        may come after them) are fetched on their own; the message says so (`header_cut`)."""
        rest_limit = HEADER_MAX - HEADER_LIMIT
        rest = self._fields(message.uid, FIELDS, HEADER_LIMIT, rest_limit)
        header = message.header + rest
        cut = len(rest) >= rest_limit
        if cut:
            others = " ".join(f for f in HEADER_FIELDS if f not in ADDRESS_FIELDS)
            head = self._fields(
                message.uid, f"BODY.PEEK[HEADER.FIELDS ({others})]", 0, HEADER_LIMIT
            )
            addresses = f"BODY.PEEK[HEADER.FIELDS ({' '.join(ADDRESS_FIELDS)})]"
            tail = self._fields(message.uid, addresses, 0, HEADER_MAX)
            header = head.rstrip(b"\r\n") + b"\r\n" + tail[: tail.rfind(b"\n") + 1]
        log.info(
            "%s uid %s: %d bytes of header fields%s",
            self.selected,
            message.uid,
            len(header),
            f" (cut: To and Cc beyond {HEADER_MAX} bytes are not read)" if cut else "",
        )
        return FetchedMessage(message.uid, header, message.text, header_cut=cut)

    def _fields(self, uid: int, item: str, start: int, length: int) -> bytes:
        """`length` bytes from `start` of a BODY.PEEK[HEADER.FIELDS (…)] item of one UID
        (b"" when the message is gone meanwhile)."""
        response = self.client.fetch([uid], [f"{item}<{start}.{length}>"])
        return _part(response.get(uid, {}), b"BODY[HEADER")

    def internal_dates(self, uids: Sequence[int]) -> dict[int, dt.datetime]:
        """The server's arrival time (naive UTC) of these UIDs, where it gives one."""
        response = self.client.fetch(list(uids), ["INTERNALDATE"]) if uids else {}
        dates = {uid: _naive_utc(data.get(b"INTERNALDATE")) for uid, data in response.items()}
        return {uid: date for uid, date in dates.items() if date is not None}

    # --- after-actions ---------------------------------------------------------------

    def ensure_folder(self, folder: str) -> None:
        if not self.client.folder_exists(folder):
            self.client.create_folder(folder)

    def flag(self, uids: Sequence[int]) -> None:
        if uids:
            self.client.add_flags(list(uids), [b"\\Flagged"], silent=True)

    def move(self, uids: Sequence[int], target: str) -> None:
        """Move exactly these UIDs; never a bare EXPUNGE."""
        if not uids:
            return
        uids = list(uids)
        if self.has("MOVE"):
            self.client.move(uids, target)
            return
        self.client.copy(uids, target)
        self.client.add_flags(uids, [b"\\Deleted"], silent=True)
        if self.has("UIDPLUS"):
            self.client.uid_expunge(uids)
        else:
            log.warning(
                "%s has neither MOVE nor UIDPLUS: copied %d messages to %s and marked them "
                "\\Deleted, but did not expunge (a bare EXPUNGE could remove others' mail)",
                self.account.host,
                len(uids),
                target,
            )
