"""The delivery id of a Slack request: the same for a retry, different for a new request.

Slack retries a request it thinks was lost: over HTTP with `X-Slack-Retry-Num`, in Socket Mode
with `retry_attempt`. The retry carries the very same payload, so its ids are the same:

- a slash command, a button click, a shortcut and a view submission carry a `trigger_id` that
  is unique per invocation (and the same in a retry);
- an event carries its `event_id`;
- for anything without those, a hash of the whole payload (a retry is byte-for-byte the same
  payload; two real clicks differ at least in their action_ts).

The dispatcher records the id in the command's own transaction (storage.deliveries), so a
retry never creates a second contact or interaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from bot.dispatcher import Dispatcher
from storage.deliveries import DuplicateDelivery, record_delivery

SOURCE = "slack"


def _hash(body: Mapping[str, Any]) -> str:
    data = json.dumps(body, sort_keys=True, default=str).encode()
    return hashlib.sha256(data).hexdigest()[:40]


def delivery_key(body: Mapping[str, Any], purpose: str = "") -> str:
    """A stable id of this delivery (plus `purpose`, when one delivery runs several writes)."""
    suffix = f":{purpose}" if purpose else ""
    team = body.get("team_id") or (body.get("team") or {}).get("id") or ""
    if body.get("event_id"):
        return f"event:{team}:{body['event_id']}{suffix}"
    kind = "command" if body.get("command") else str(body.get("type") or "request")
    trigger = body.get("trigger_id")
    if trigger:
        return f"{kind}:{team}:{trigger}{suffix}"
    actions = body.get("actions") or []
    if actions and actions[0].get("action_ts"):
        user = (body.get("user") or {}).get("id", "")
        return f"{kind}:{team}:{user}:{actions[0]['action_ts']}{suffix}"
    return f"{kind}:{team}:sha:{_hash(body)}{suffix}"


def claim_answer(dispatcher: Dispatcher, body: Mapping[str, Any]) -> bool:
    """Whether this process is the one to answer this delivery: the answer is recorded as a
    delivery of its own (`…:answer`), in its own transaction, just before it is sent.

    The command's delivery id keeps a retry from writing twice, but a command that ends in a
    refusal, an error or a question writes nothing, so its retry would be answered again; an
    event (a mention, a DM) is answered in the conversation, where a second answer is seen by
    everyone. The unique key on (source, delivery id) decides between two processes (one
    PostgreSQL) or two threads handling the same event_id: one records it, the other is told
    DuplicateDelivery and stays silent."""
    try:
        dispatcher.query(record_delivery, SOURCE, delivery_key(body, "answer"))
    except DuplicateDelivery:
        return False
    return True
