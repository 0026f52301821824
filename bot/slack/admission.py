"""What a POST to /slack/events must pass before Bolt sees it: size, signature, shape.

1. Size: a body larger than `max_bytes` is refused with 413 before it is read: by Content-Length
   when there is one, else (a chunked body some server passes on undecoded) while reading it in
   chunks of READ_CHUNK bytes, so at most `max_bytes` + one chunk is ever held. (waitress refuses
   both itself, with the same limit; this is the app's own guard, under any WSGI server.)
2. Signature: Slack's `v0` HMAC of `v0:{timestamp}:{body}` under the signing secret, with a
   timestamp at most five minutes off (slack_sdk's SignatureVerifier, as Bolt uses it); a bad,
   missing or stale one is 401, before the body is parsed or logged. A body that is not UTF-8
   cannot be a Slack request and is 400 (the verifier could not even read it).
3. Shape (bot.slack.payload_shape): a signed body that is not a form or JSON object, whose
   `payload` is not JSON, or whose fields have the wrong types, is 400, so Bolt (and a listener)
   never gets it. Bolt would answer such a body with a 500, or hand a listener a `user` that is a
   number.

Slack's SSL check (`ssl_check=1`, which Slack does not sign) is answered 200 before step 2, as
Bolt answers it. The refusals are logged by the caller with `Refusal.reason`: a fixed phrase,
never the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from bot.slack.body import parse_slack_body
from bot.slack.payload_shape import Malformed, check_payload

#: Bytes read from wsgi.input at a time.
READ_CHUNK = 64 * 1024


class Refusal(Exception):
    """A request refused with HTTP `status`; `reason` is a fixed phrase, safe to log."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def read_body(environ: Mapping[str, Any], max_bytes: int) -> bytes:
    """The request body, or Refusal 413 / 400 without reading more than max_bytes + READ_CHUNK."""
    stream = environ.get("wsgi.input")
    length_text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if length_text:
        if not (length_text.isascii() and length_text.isdigit()):
            raise Refusal("400 Bad Request", "Content-Length is not a number")
        length: int | None = int(length_text)
        if int(length_text) > max_bytes:
            raise Refusal("413 Content Too Large", f"a body over {max_bytes} bytes")
    elif environ.get("wsgi.input_terminated"):
        length = None  # read to the end, bounded
    else:
        length = 0  # PEP 3333: no Content-Length, no body to read
    if stream is None or length == 0:
        return b""
    chunks: list[bytes] = []
    held = 0
    wanted = max_bytes + 1 if length is None else length
    while held < wanted:
        chunk = stream.read(min(READ_CHUNK, wanted - held))
        if not chunk:
            break
        chunks.append(chunk)
        held += len(chunk)
    if held > max_bytes:
        raise Refusal("413 Content Too Large", f"a body over {max_bytes} bytes")
    if length is not None and held < length:
        raise Refusal("400 Bad Request", "the body is shorter than its Content-Length")
    return b"".join(chunks)


def check_signature(environ: Mapping[str, Any], body: bytes, signing_secret: str) -> str:
    """The body as text, when Slack signed it (Refusal 401 or 400 otherwise)."""
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "")
    signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")
    if not (timestamp.isascii() and timestamp.isdigit()) or not signature:
        raise Refusal("401 Unauthorized", "no Slack signature or timestamp")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal("400 Bad Request", "the body is not UTF-8") from None
    if not signing_secret or not SignatureVerifier(signing_secret).is_valid(
        text, timestamp, signature
    ):
        raise Refusal("401 Unauthorized", "a bad or stale Slack signature")
    return text


def check_shape(environ: Mapping[str, Any], text: str) -> None:
    """Refusal 400 unless Bolt will parse `text` into a payload our listeners can read."""
    content_type = str(environ.get("CONTENT_TYPE") or "").split(";")[0] or None
    try:
        # The parser whose reading Bolt is handed (bot.slack.body), so what is checked is
        # exactly what Bolt will get.
        payload = parse_slack_body(text, content_type)
    except (ValueError, RecursionError):
        raise Refusal("400 Bad Request", "the body or its payload is not valid JSON") from None
    try:
        check_payload(payload)
    except Malformed as error:
        raise Refusal("400 Bad Request", str(error)) from None


def is_ssl_check(body: bytes) -> bool:
    """Slack's SSL check of a slash command URL (`ssl_check=1`, unsigned): answered 200, as
    Bolt's SslCheck middleware answers it, and nothing else done."""
    if len(body) > 1024 or b"payload" in body:
        return False
    fields = parse_qs(body.decode("ascii", "replace"))
    return fields.get("ssl_check") == ["1"] and "command" not in fields


def admit(environ: Mapping[str, Any], signing_secret: str, max_bytes: int) -> bytes | None:
    """The body of a request that may go on to Bolt; None for an SSL check; or Refusal."""
    body = read_body(environ, max_bytes)
    if is_ssl_check(body):
        return None
    text = check_signature(environ, body, signing_secret)
    check_shape(environ, text)
    return body
