"""Text people typed, made safe for Slack's mrkdwn.

Slack reads `<…>` as links and mentions (`<!channel>`, `<@U123>`, `<#C1>`, `<https://…|x>`) and
`&` as the start of an entity. Escaping `&`, `<` and `>` as Slack documents shows the text as it
was typed and pings nobody. Truncation happens before escaping, character by character, so an
entity is never cut in half.
"""

from __future__ import annotations

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
