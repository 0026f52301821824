"""From raw header bytes and a bounded slice of the body to a ReceivedEmail.

The worker fetches only selected header fields and the first few kilobytes of the body
(never whole messages with attachments), so this parser must cope with truncated MIME,
broken encoded-words, unknown charsets and 8-bit headers. It never raises: what it cannot
read is replaced, and the trouble is listed in `ReceivedEmail.problems`.

Control characters (C0 but tab and newline, DEL, C1) are removed from everything the email
puts in the store: PostgreSQL refuses NUL in text, and an escape sequence in a subject would
reach a terminal through the shell. An address holding one is not an address. Header lines
end at CRLF or LF only, so a control character in a value cannot start a header of its own.
"""

from __future__ import annotations

import binascii
import codecs
import datetime as dt
import email.utils
import hashlib
import html
import quopri
import re
from email.errors import HeaderParseError
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from functools import lru_cache

from bot.inputs import EmailAddress, ReceivedEmail
from bot.mail.journal import unwrap_journal
from storage.errors import UserError
from storage.normalize import normalize_email

#: The header fields fetched with BODY.PEEK[HEADER.FIELDS (…)]. A message without a
#: Message-ID gets an id hashed from the server's reply for exactly these and the start of
#: the body (`synthetic_message_id`): changing the list changes those ids, and such mail
#: already logged would be logged again on a rescan.
HEADER_FIELDS = (
    "FROM",
    "SENDER",
    "TO",
    "CC",
    "DATE",
    "SUBJECT",
    "MESSAGE-ID",
    "LIST-ID",
    "LIST-UNSUBSCRIBE",
    "PRECEDENCE",
    "AUTO-SUBMITTED",
    "MIME-VERSION",
    "CONTENT-TYPE",
    "CONTENT-TRANSFER-ENCODING",
)

_PARSER = BytesParser(policy=compat32)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_SPACE = re.compile(r"\s+")
_QUOTE_INTRO = re.compile(
    r"^(on\b.{0,200}\bwrote:|op\b.{0,200}\bschreef.{0,40}:|am\b.{0,200}\bschrieb.{0,40}:|"
    r"le\b.{0,200}\ba écrit\s*:|den\b.{0,200}\bskrev.{0,40}:|"
    r"-{2,}\s*original message\s*-{2,}|-{2,}\s*oorspronkelijk bericht\s*-{2,}|"
    r"_{10,}|from:\s.*|van:\s.*|fra:\s.*)$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^(--|-- |__|sent from my .*|verzonden vanaf .*)$", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")
_DROP_HTML = re.compile(
    r"<(style|script|head|blockquote)\b.*?</\1\s*>|<(style|script|head|blockquote)\b.*",
    re.IGNORECASE | re.DOTALL,
)
_UNFOLD = re.compile(r"\r?\n[ \t]+")
_BREAKS = re.compile(r"<\s*(br|/p|/div|/tr|/li)\b[^>]*>", re.IGNORECASE)
#: C0 controls but tab and newline, DEL, and C1: never stored, never shown.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROLS_ALL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: How much of the body (as the server sends it) goes into the id of mail without a
#: Message-ID; less when mail.text_bytes is set lower.
ID_BODY_BYTES = 4096


def without_controls(value: str, problems: list[str] | None = None, what: str = "") -> str:
    """`value` with C0 (but tab and newline), DEL and C1 control characters removed; the
    removal is noted in `problems` as "control characters removed from <what>"."""
    cleaned = _CONTROLS.sub("", value)
    if problems is not None and len(cleaned) != len(value):
        problems.append(f"control characters removed from {what}")
    return cleaned


def _unsurrogate(value: str) -> str:
    """compat32 keeps 8-bit header bytes as surrogates; most are raw UTF-8."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        raw = value.encode("ascii", "surrogateescape")
        return raw.decode("utf-8", "replace")


def _decode_bytes(
    raw: bytes, charset: str | None, problems: list[str], *, cut: bool = False
) -> str:
    """Bytes as text in their charset; else UTF-8, else Latin-1 (which never fails).

    `cut`: the bytes are a slice that may end inside a character; that tail is dropped
    rather than taken for bytes not valid in the charset."""
    charset = (charset or "us-ascii").strip().strip('"').lower()
    if charset in ("unknown-8bit", "x-unknown", "us-ascii", "ascii", ""):
        charset = "utf-8"
    try:
        if cut:
            return codecs.getincrementaldecoder(charset)().decode(raw, final=False)
        return raw.decode(charset)
    except LookupError:
        problems.append(f"unknown charset {charset[:40]}")
    except UnicodeDecodeError:
        problems.append(f"bytes not valid in {charset[:40]}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def decode_words(value: str | None, problems: list[str], what: str = "a header") -> str:
    """An RFC 2047 header value as text on one line, without control characters; broken
    encoded-words are kept as written. `what` names the value in `problems`."""
    if not value:
        return ""
    value = _unsurrogate(str(value))
    if "=?" not in value:
        return _one_line(value, problems, what)
    try:
        parts = decode_header(value)
    except (ValueError, binascii.Error, AssertionError, IndexError, HeaderParseError):
        problems.append("broken encoded-word")
        return _one_line(value, problems, what)
    text = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            text.append(_decode_bytes(chunk, charset, problems))
        else:
            text.append(chunk)
    return _one_line("".join(text), problems, what)


def _one_line(value: str, problems: list[str], what: str) -> str:
    """Whitespace runs as one space, control characters removed (an encoded-word may hide
    them as well as the raw header)."""
    return _SPACE.sub(" ", without_controls(value, problems, what)).strip()


@lru_cache(maxsize=65536)
def normalize_address(address: str) -> str:
    """The form stored in contacts.email_normalized, or "" for something that is not one.

    Plain ASCII addresses only need lower case (the store lower-cases them the same way);
    anything else goes through the store's own normaliser (IDNA domain)."""
    address = address.strip().strip("<>")
    if address.count("@") != 1 or " " in address or _CONTROLS_ALL.search(address):
        return ""
    local, domain = address.split("@")
    if not local or "." not in domain:
        return ""
    if address.isascii():
        return address.lower()
    try:
        return normalize_email(address)
    except UserError:
        return ""


class Headers:
    """The fetched header fields, unfolded: lower-case name -> values, in order.

    The fields come from BODY[HEADER.FIELDS (…)], so a plain split is enough and much
    cheaper than the email package's feed parser (which matters at thousands per second).
    """

    def __init__(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace")
        self.fields: dict[str, list[str]] = {}
        # Lines end at LF (CRLF) only: str.splitlines() would also end one at \x0b, \x0c,
        # \x1c-\x1e, \x85 or U+2028 inside a value, and what follows would be read as a
        # header of its own (a Subject carrying "\x1cFrom: someone@else").
        for line in _UNFOLD.sub(" ", text).split("\n"):
            name, colon, value = line.partition(":")
            if colon and name and " " not in name:
                self.fields.setdefault(name.strip().lower(), []).append(value.strip())

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        return self.fields.get(name.lower(), [])


@lru_cache(maxsize=16384)
def _parse_address_header(value: str) -> tuple[tuple[str, str], ...]:
    """getaddresses is slow and the same headers recur (the salesperson's own address)."""
    return tuple(email.utils.getaddresses([value]))


def _addresses(headers: Headers, name: str, problems: list[str]) -> tuple[EmailAddress, ...]:
    values = headers.get_all(name)
    if not values:
        return ()
    pairs: list[tuple[str, str]] = []
    try:
        for value in values:
            pairs.extend(_parse_address_header(value))
    except Exception:  # malformed beyond what getaddresses tolerates
        problems.append(f"unreadable {name} header")
        return ()
    result = []
    for display, address in pairs:
        if not address:
            continue
        normalized = normalize_address(address)
        if not normalized and _CONTROLS_ALL.search(address):
            problems.append(f"control characters in a {name} address")
            address = _CONTROLS_ALL.sub("", address)
        name_text = decode_words(display, problems, "a name") if display else ""
        result.append(EmailAddress(name_text, address, normalized))
    return tuple(result)


def _date(
    value: str | None, fallback: dt.datetime | None, problems: list[str]
) -> dt.datetime | None:
    parsed: dt.datetime | None = None
    if value:
        try:
            parsed = email.utils.parsedate_to_datetime(_unsurrogate(str(value)))
        except (TypeError, ValueError, IndexError, OverflowError):
            problems.append("unreadable Date header")
    if parsed is None:
        if fallback is None:
            return None
        parsed = fallback
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def _message_id(
    headers: Headers, problems: list[str], header_bytes: bytes, text_bytes: bytes
) -> str:
    raw = headers.get("Message-ID")
    if raw:
        value = _unsurrogate(str(raw))
        if _CONTROLS_ALL.search(value):
            problems.append("control characters removed from the Message-ID")
            value = _CONTROLS_ALL.sub("", value)
        match = _MESSAGE_ID.search(value)
        if match and len(match.group(0)) <= 250:
            return match.group(0)
        text = _SPACE.sub("", value)
        if text and len(text) <= 250:
            return text
    problems.append("missing Message-ID")
    return synthetic_message_id(header_bytes, text_bytes)


def synthetic_message_id(header_bytes: bytes, text_bytes: bytes) -> str:
    """The id of a message without a usable Message-ID: a hash of the selected header
    fields (as the server sends them) and the start of the body.

    "The same message" is then: the same From, To, Cc, Date, Subject, … and the same first
    ID_BODY_BYTES of body text, whichever folder or mailbox it is in (INBOX and Sent, a copy
    in an archive) and however often it is read (a rescan, a restart after a crash): it is
    logged once. Two messages with the same headers but another body are two. Received,
    DKIM and other trace lines are not among the selected fields, so the copy that went
    through a server is still the same as the one saved in Sent; a server that rewrites the
    body on the way (a footer, another transfer encoding) makes two of it. Line endings
    and trailing blanks of the body slice do not count."""
    body = text_bytes[:ID_BODY_BYTES].replace(b"\r\n", b"\n").rstrip()
    digest = hashlib.sha256(header_bytes)
    digest.update(b"\0body\0")
    digest.update(body)
    return f"<{digest.hexdigest()[:40]}@contactbot.invalid>"


def _is_bulk(headers: Headers) -> bool:
    if headers.get("List-Id") or headers.get("List-Unsubscribe"):
        return True
    precedence = headers.get("Precedence").lower()
    if precedence in ("bulk", "list", "junk"):
        return True
    auto = headers.get("Auto-Submitted").lower()
    return bool(auto) and auto != "no"


def _transfer_decoded(raw: bytes, encoding: str) -> bytes:
    """Undo a Content-Transfer-Encoding; raises ValueError (binascii.Error is one)."""
    if encoding == "base64":
        cleaned = b"".join(raw.split())
        cleaned = cleaned[: len(cleaned) - len(cleaned) % 4]  # the slice may cut a quantum
        return binascii.a2b_base64(cleaned)
    if encoding == "quoted-printable":
        return quopri.decodestring(raw)
    return raw  # 7bit, 8bit, binary: the bytes are the text


def _text_of(raw: bytes, encoding: str, charset: str | None, problems: list[str]) -> str:
    """A body slice as text: transfer encoding undone, then the charset."""
    try:
        decoded = _transfer_decoded(raw, encoding.strip().lower())
    except ValueError:
        problems.append("undecodable body")
        return ""
    return _decode_bytes(decoded, charset, problems, cut=True)


def _part_text(part: Message, problems: list[str]) -> str:
    """The text of one part of a parsed MIME structure.

    compat32 keeps the part's 8-bit bytes as surrogates, which get_payload() would decode
    with the part's charset before the transfer encoding is undone (and the text then no
    longer encodes back to bytes); get_payload(decode=True) gives the bytes, with
    quoted-printable undone. Base64 is undone here as for a single part: the slice may cut
    it inside a quantum, which the email package would return undecoded."""
    charset = part.get_content_charset()
    written = str(part.get("Content-Transfer-Encoding", "")).lower()
    encoding = written.strip()
    if encoding == "base64":
        payload = part.get_payload()
        if not isinstance(payload, str):
            return ""
        # Base64 is ASCII; stray 8-bit bytes are noise that a2b_base64 would skip as well.
        return _text_of(payload.encode("ascii", "ignore"), encoding, charset, problems)
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    if encoding == "quoted-printable" and written != encoding:
        raw = quopri.decodestring(raw)  # the email package knows it only without blanks
    return _decode_bytes(raw, charset, problems, cut=True)


@lru_cache(maxsize=1024)
def _content_type(value: str) -> tuple[str, str | None]:
    """(type, charset) of a Content-Type value, as the email package reads it. A single-part
    message has one of a few values (text/plain; charset=utf-8), so this is nearly free."""
    part = Message()
    part["Content-Type"] = value
    return part.get_content_type(), part.get_content_charset()


def _body_from(headers: Headers, text_bytes: bytes, problems: list[str]) -> str:
    """The body text: single parts directly, MIME structures through the email package."""
    content_type = headers.get("Content-Type", "text/plain")
    encoding = headers.get("Content-Transfer-Encoding")
    if content_type.lower().lstrip().startswith(("multipart/", "message/")):
        head = f"Content-Type: {content_type}\r\n"
        if encoding:
            head += f"Content-Transfer-Encoding: {encoding}\r\n"
        message = _PARSER.parsebytes(head.encode("utf-8", "replace") + b"\r\n" + text_bytes)
        return _body_text(message, problems)
    kind, charset = _content_type(content_type)
    if kind not in ("text/plain", "text/html"):
        return ""
    text = _text_of(text_bytes, encoding, charset, problems)
    return _html_to_text(text) if kind == "text/html" else text


def _html_to_text(html_text: str) -> str:
    text = _DROP_HTML.sub(" ", html_text)
    text = _BREAKS.sub("\n", text)
    return html.unescape(_TAGS.sub(" ", text))


def _body_text(message: Message, problems: list[str]) -> str:
    plain = html_text = None
    for part in message.walk():
        if part.is_multipart():
            continue
        if str(part.get("Content-Disposition", "")).lower().startswith("attachment"):
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _part_text(part, problems)
            break
        if kind == "text/html" and html_text is None:
            html_text = _part_text(part, problems)
    if plain is not None:
        return plain
    if html_text is not None:
        return _html_to_text(html_text)
    return ""


def snippet_of(text: str, limit: int) -> str:
    """A short plain-text snippet: quoted replies, reply intros and signatures stripped.

    Reading stops as soon as the snippet is certain to be cut at `limit`: later lines could
    only add to its end, so the result is the same, and the rest of the slice is not read.
    """
    if limit <= 0:
        return ""
    kept: list[str] = []
    length = -1  # of " ".join(kept)
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if stripped.startswith(">"):
            continue
        if _SIGNATURE.match(stripped) or (kept and _QUOTE_INTRO.match(stripped)):
            break
        if stripped:
            kept.append(_SPACE.sub(" ", stripped))
            length += len(kept[-1]) + 1
            if length > limit:
                break
    snippet = " ".join(kept)
    if len(snippet) > limit:
        snippet = snippet[: limit - 1].rstrip() + "…"
    return snippet


def _journaled(headers: Headers, text_bytes: bytes) -> tuple[bytes, bytes] | None:
    """The original of an Exchange journal report (bot.mail.journal), else None; the cheap
    checks first, since nearly all mail is not one."""
    content_type = headers.get("Content-Type")
    if not content_type.lower().lstrip().startswith("multipart/mixed"):
        return None
    if b"message/rfc822" not in text_bytes.lower():
        return None
    return unwrap_journal(content_type, text_bytes)


def parse_email(
    header_bytes: bytes,
    text_bytes: bytes,
    *,
    mailbox: str,
    folder: str,
    uid: int,
    internal_date: dt.datetime | None = None,
    owner_salesperson: str | None = None,
    owner_address: str = "",
    snippet_chars: int = 200,
) -> ReceivedEmail:
    """Parse what was fetched. Never raises for bad input; see `problems`.

    `date` comes from the Date header, else from `internal_date`, else it is None: the worker
    then asks the server for the arrival time (INTERNALDATE) of those few messages only."""
    problems: list[str] = []
    header_bytes = header_bytes or b""
    if not header_bytes.endswith(b"\r\n\r\n") and not header_bytes.endswith(b"\n\n"):
        header_bytes = header_bytes.rstrip(b"\r\n") + b"\r\n\r\n"
    headers = Headers(header_bytes)
    original = _journaled(headers, text_bytes or b"")
    if original is not None:  # a journal report: the original message is what is logged
        header_bytes, text_bytes = original
        headers = Headers(header_bytes)
    senders = _addresses(headers, "From", problems) or _addresses(headers, "Sender", problems)
    try:
        body = _body_from(headers, text_bytes or b"", problems)
        body = body.replace("\r\n", "\n").replace("\r", "\n")  # CR is a line end here
        snippet = snippet_of(without_controls(body, problems, "the body"), snippet_chars)
    except Exception as error:  # a MIME structure beyond repair: log the headers anyway
        problems.append(f"unreadable body ({type(error).__name__})")
        snippet = ""
    return ReceivedEmail(
        mailbox=mailbox,
        folder=folder,
        uid=uid,
        message_id=_message_id(headers, problems, header_bytes, text_bytes or b""),
        subject=decode_words(headers.get("Subject"), problems, "the subject")[:250],
        sender=senders[0] if senders else None,
        to=_addresses(headers, "To", problems),
        cc=_addresses(headers, "Cc", problems),
        date=_date(headers.get("Date"), internal_date, problems),
        snippet=snippet,
        bulk=_is_bulk(headers),
        owner_salesperson=owner_salesperson,
        owner_address=normalize_address(owner_address) if owner_address else "",
        problems=tuple(dict.fromkeys(problems)),
    )
