"""Exchange journal reports unwrapped, so that the original's sender and recipients are logged.

Business Central's shared-mailbox model has one queue mailbox that salespeople BCC, or that an
Exchange journal rule copies every message to. A journal report is a message from the
journaling agent to the queue mailbox: `multipart/mixed` with a `text/plain` envelope first,

    Sender: sam@example.com
    Subject: The offer
    Message-Id: <abc@example.com>
    To: jan@acme.example
    Cc: piet@beta.example
    Bcc: anna@gamma.example

and the original message attached as `message/rfc822`. The envelope is what the server saw
(it has the Bcc recipients the original's own header never shows), so its sender and
recipients win; the attachment gives the original's Date, its display names where the
envelope has only addresses, its content type and its text.

`unwrap_journal` works on what the worker fetched: the top-level header fields' Content-Type
and the first `mail.text_bytes` of the body. The envelope is short and comes first, so it is
always within them; the attached message's header and text may be cut by the slice, and then
the snippet is shorter or empty, never wrong. A message that is not a journal report (no
envelope part, no attached message) is left alone.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from email.message import Message

_ENVELOPE_SENDER = re.compile(rb"^sender:", re.IGNORECASE | re.MULTILINE)
_ENVELOPE_ID = re.compile(rb"^message-id:", re.IGNORECASE | re.MULTILINE)
_UNFOLD = re.compile(rb"\r?\n[ \t]+")
#: Envelope keys whose values are recipients (Exchange's newer and older report formats).
_TO_KEYS = ("to", "recipient", "recipients")
_CC_KEYS = ("cc", "bcc")
#: Fields of the original that are not in the envelope and that the parser reads.
_ORIGINAL_FIELDS = (
    "date",
    "list-id",
    "list-unsubscribe",
    "precedence",
    "auto-submitted",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
)


def _fields(raw: bytes) -> dict[str, list[str]]:
    """Header-style lines (`Name: value`, folded lines joined) as lower-case name -> values."""
    fields: dict[str, list[str]] = {}
    for line in _UNFOLD.sub(b" ", raw).split(b"\n"):
        name, colon, value = line.partition(b":")
        if colon and name and b" " not in name.strip():
            key = name.strip().decode("ascii", "replace").lower()
            fields.setdefault(key, []).append(value.strip().decode("utf-8", "replace"))
    return fields


def _split_part(part: bytes) -> tuple[bytes, bytes]:
    """A MIME part (or a message) as (header, body), at its first empty line."""
    if part.startswith((b"\r\n", b"\n")):  # no header at all
        return b"", part.lstrip(b"\r").removeprefix(b"\n")
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = part.partition(separator)
        if found:
            return head, body
    return part, b""


def _content_type(value: str) -> tuple[str, dict[str, str]]:
    message = Message()
    message["Content-Type"] = value
    params = {k.lower(): str(v) for k, v in message.get_params(failobj=[])[1:]}
    return message.get_content_type(), params


def _decoded(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    try:
        if encoding == "base64":
            cleaned = b"".join(body.split())
            return base64.b64decode(cleaned[: len(cleaned) - len(cleaned) % 4])
        if encoding == "quoted-printable":
            return quopri.decodestring(body)
    except (binascii.Error, ValueError):
        return b""
    return body


def _recipients(envelope: dict[str, list[str]], keys: tuple[str, ...]) -> list[str]:
    """The addresses under `keys`; Exchange's notes after a comma ("Expanded: group@…",
    "Forwarded: …") name lists and forwarders, not recipients of their own."""
    found: list[str] = []
    for key in keys:
        for value in envelope.get(key, []):
            found += [p.strip() for p in value.split(",") if p.strip() and ":" not in p]
    return found


def unwrap_journal(content_type: str, text_bytes: bytes) -> tuple[bytes, bytes] | None:
    """(header fields, body text) of the original in a journal report, or None when the
    message is not one. The header holds From, To, Cc, Subject, Message-ID from the envelope
    (the original's own where the envelope has none) and the original's other fields."""
    kind, params = _content_type(content_type)
    boundary = params.get("boundary", "")
    if kind != "multipart/mixed" or not boundary:
        return None
    parts = text_bytes.split(b"--" + boundary.encode("utf-8", "replace"))[1:]
    envelope: dict[str, list[str]] | None = None
    original: bytes | None = None
    for part in parts:
        if part.startswith(b"--"):  # the closing delimiter: the epilogue follows
            break
        head, body = _split_part(part.partition(b"\n")[2])  # past the delimiter's line
        fields = _fields(head)
        part_type, _ = _content_type((fields.get("content-type") or ["text/plain"])[0])
        if envelope is None and part_type == "text/plain":
            text = _decoded(body, (fields.get("content-transfer-encoding") or [""])[0])
            if _ENVELOPE_SENDER.search(text) and _ENVELOPE_ID.search(text):
                envelope = _fields(text)
        elif part_type == "message/rfc822" and original is None:
            original = body
    if envelope is None or original is None:
        return None
    original_head, original_body = _split_part(original)
    inner = _fields(original_head)
    lines: list[str] = []

    def add(name: str, values: list[str]) -> None:
        if values:
            lines.append(f"{name}: {', '.join(values)}")

    sender = envelope.get("sender", [])[:1]
    inner_from = inner.get("from", [])[:1]
    if inner_from and sender and sender[0].lower() in inner_from[0].lower():
        sender = inner_from  # the same address, with the original's display name
    add("From", sender or inner_from)
    add("To", _recipients(envelope, _TO_KEYS) or inner.get("to", []))
    add("Cc", _recipients(envelope, _CC_KEYS) or inner.get("cc", []))
    add("Subject", inner.get("subject", [])[:1] or envelope.get("subject", [])[:1])
    add("Message-ID", envelope.get("message-id", [])[:1] or inner.get("message-id", [])[:1])
    for name in _ORIGINAL_FIELDS:
        add(name.title(), inner.get(name, [])[:1])
    header = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return header, original_body
