"""Log records about Slack traffic, bounded and redacted.

With `-v`, Bolt and slack_sdk log at debug level what they handle: whole request bodies (a
signed body can be a megabyte, on one line), the response_url of each request (anyone holding
one can answer as the app for 30 minutes), and the webhook URL each answer goes to. This
filter, put on every handler of the root logger (so it sees every record, whichever logger
made it), rewrites each record's message before it is written:

- Slack tokens (`xoxb-…`, `xoxp-…`, `xapp-…`), `https://hooks.slack.com/…` URLs, the value of
  any `response_url` field (in JSON, a Python repr or a form), and every URL in slack_sdk's
  webhook records are replaced by `[redacted]`;
- a message from Bolt, slack_sdk or waitress keeps its first THIRD_PARTY_CHARS characters, any
  other message its first MAX_CHARS, with the number of characters left out.

Tracebacks are redacted too, and kept whole.
"""

from __future__ import annotations

import logging
import re

#: Loggers whose messages may quote a payload (Bolt logs through "bot.slack.bolt").
THIRD_PARTY = ("slack_bolt", "slack_sdk", "bot.slack.bolt", "waitress")
THIRD_PARTY_CHARS = 300
MAX_CHARS = 2000
REDACTED = "[redacted]"

_TOKEN = re.compile(r"\b(?:xox[a-z]|xapp)-[A-Za-z0-9-]+")
_HOOK = re.compile(r"https?://hooks\.slack\.com/[^\s'\",}&]*", re.IGNORECASE)
#: `"response_url": "…"`, `'response_url': '…'`, `response_url=…` (also percent-encoded forms).
_RESPONSE_URL = re.compile(
    r"""(response_url(?:['"]|%22|%27)?[\s+]*(?::|=|%3A|%3D)[\s+]*(?:['"]|%22|%27)?)[^\s'",}&]+""",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s'\",}]+")


def redact(text: str, *, webhook: bool = False) -> str:
    """`text` without tokens, hooks.slack.com URLs and response_url values (nor any URL when
    `webhook`: slack_sdk's webhook client logs the response_url it posts to as `url: …`)."""
    text = _TOKEN.sub(REDACTED, text)
    text = _HOOK.sub("https://hooks.slack.com/" + REDACTED, text)
    text = _RESPONSE_URL.sub(r"\1" + REDACTED, text)
    if webhook:
        text = _URL.sub(REDACTED, text)
    return text


def bound(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


class RedactingFilter(logging.Filter):
    """Rewrites every record it sees (returns True: it drops nothing)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_contactbot_redacted", False):
            return True  # another handler's filter did it already
        third_party = record.name.startswith(THIRD_PARTY)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: show it as it is, do not lose the record
            message = f"{record.msg!r} {record.args!r}"
        limit = THIRD_PARTY_CHARS if third_party else MAX_CHARS
        # Bound first: the redaction then runs over a short text.
        message = redact(bound(message, limit), webhook=record.name.startswith("slack_sdk.webhook"))
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record._contactbot_redacted = True  # type: ignore[attr-defined]
        return True


def install() -> None:
    """Put a RedactingFilter on every handler of the root logger (once)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
