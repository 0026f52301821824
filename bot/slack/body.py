"""Reading a Slack request body the way Slack means it.

Bolt 1.30's `parse_body` treats a form body as an interactivity payload whenever the text
"payload" appears anywhere in it, so `/contact log CT000012 sent the payload specs` parses to
`{}` and the command never runs. Slack sends interactivity as a form with a `payload` field
and slash commands as a form without one; `parse_slack_body` decides by that field, and
`bolt_request` hands Bolt the body so read (the raw text stays, for Bolt's signature check).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.context.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context


def parse_slack_body(text: str, content_type: str | None) -> Any:
    """JSON for a JSON body, the `payload` field's JSON for interactivity, else the form."""
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        return json.loads(text)
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in fields:
        return json.loads(fields["payload"])
    return fields


def bolt_request(text: str, **request: Any) -> BoltRequest:
    """A BoltRequest whose body (and context) is `parse_slack_body`'s reading of `text`."""
    bolt = BoltRequest(body=text, **request)
    body = parse_slack_body(text, bolt.content_type)
    if body != bolt.body:
        bolt.body = body
        bolt.context = build_context(BoltContext({}), body)
    return bolt
