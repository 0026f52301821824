"""Text people typed, made safe for Slack's mrkdwn.

Slack reads `<…>` as links and mentions (`<!channel>`, `<@U123>`, `<#C1>`, `<https://…|x>`) and
`&` as the start of an entity. Escaping `&`, `<` and `>` as Slack documents shows the text as it
was typed and pings nobody. Truncation happens before escaping, character by character, so an
entity is never cut in half.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str) -> str:
    """`text` as literal mrkdwn: &, < and > become entities (in that order of concern)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters; a cut text ends in an ellipsis."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def escape_within(text: str, limit: int) -> str:
    """escape(text), cut so that the escaped result has at most `limit` characters, between
    characters of the original (never inside `&amp;`), with an ellipsis when cut."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    if limit <= 0:
        return ""
    budget = limit - len(ELLIPSIS)
    out: list[str] = []
    used = 0
    for char in text:
        piece = _ENTITIES.get(char, char)
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out).rstrip() + ELLIPSIS


def plain_within(text: str, limit: int) -> str:
    """For plain_text objects (headers, button labels, modal titles): no escaping needed, since
    Slack does not parse mentions there, only a length limit and no empty text."""
    text = " ".join(text.split()) or "-"
    return truncate(text, limit)


_AUTO_LINK = re.compile(r"<((?:https?|mailto|tel):[^<>|\s]*)(?:\|([^<>]*))?>")


def from_slack(text: str) -> str:
    """Text as Slack delivers it (slash command text, message text) back to what was typed.

    Slack sends `&`, `<` and `>` as entities and wraps what it auto-linked: a typed
    `jan@acme.example` may arrive as `<mailto:jan@acme.example|jan@acme.example>`, a web address
    as `<http://acme.example|acme.example>`. Those links become their shown text again. Real
    mentions (`<@U123>`, `<!channel>`, `<#C1|x>`) are left as they are: they are what Slack
    made of the user's `@name`, and are escaped again whenever contactbot shows them."""

    def shown(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if label:
            return label
        return target.removeprefix("mailto:").removeprefix("tel:")

    text = _AUTO_LINK.sub(shown, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
