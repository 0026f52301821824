"""bot.slack.admission and bot.slack.payload_shape without a server: the bounded read under any
WSGI server (waitress refuses big bodies before the app; another server may not), and that
every payload the way Slack sends it passes the shape check (the e2e tests send the bad ones)."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.slack.admission import READ_CHUNK, Refusal, admit, is_ssl_check, read_body
from bot.slack.payload_shape import Malformed, check_payload
from tests.slack_e2e.harness import SIGNING_SECRET, SlackSender, signed_headers, text_values

LIMIT = 1 << 20


class CountingStream:
    """An endless wsgi.input that counts what the app reads of it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        assert size > 0, "an unbounded read"
        self.read_bytes += size
        return b"a" * size


def environ(stream: Any, **extra: Any) -> dict[str, Any]:
    return {"wsgi.input": stream, "CONTENT_TYPE": "application/x-www-form-urlencoded", **extra}


def test_a_content_length_over_the_cap_is_refused_before_reading() -> None:
    stream = CountingStream()
    with pytest.raises(Refusal) as refused:
        read_body(environ(stream, CONTENT_LENGTH=str(50 * LIMIT)), LIMIT)
    assert refused.value.status.startswith("413") and stream.read_bytes == 0


def test_a_body_without_length_is_read_in_chunks_and_refused_past_the_cap() -> None:
    stream = CountingStream()
    with pytest.raises(Refusal) as refused:
        read_body(environ(stream, **{"wsgi.input_terminated": True}), LIMIT)
    assert refused.value.status.startswith("413")
    assert stream.read_bytes <= LIMIT + READ_CHUNK


def test_no_content_length_means_no_body_and_bad_lengths_are_400() -> None:
    stream = CountingStream()
    assert read_body(environ(stream), LIMIT) == b"" and stream.read_bytes == 0
    for bad in ("-1", "12a", "²"):
        with pytest.raises(Refusal) as refused:
            read_body(environ(stream, CONTENT_LENGTH=bad), LIMIT)
        assert refused.value.status.startswith("400")
    with pytest.raises(Refusal) as refused:
        read_body(environ(io.BytesIO(b"abc"), CONTENT_LENGTH="10"), LIMIT)
    assert refused.value.reason == "the body is shorter than its Content-Length"


def test_the_ssl_check_is_admitted_unsigned_and_nothing_else_is() -> None:
    assert is_ssl_check(b"ssl_check=1&token=abc")
    assert not is_ssl_check(b"ssl_check=1&command=%2Fcontact&text=x")
    body = b"command=%2Fcontact&text=help&user_id=U1"
    env = environ(io.BytesIO(body), CONTENT_LENGTH=str(len(body)))
    with pytest.raises(Refusal) as refused:
        admit(env, SIGNING_SECRET, LIMIT)
    assert refused.value.status.startswith("401")
    env = environ(io.BytesIO(body), CONTENT_LENGTH=str(len(body)))
    signed = signed_headers(body)
    env["HTTP_X_SLACK_REQUEST_TIMESTAMP"] = signed["X-Slack-Request-Timestamp"]
    env["HTTP_X_SLACK_SIGNATURE"] = signed["X-Slack-Signature"]
    assert admit(env, SIGNING_SECRET, LIMIT) == body


class _Double:
    def response_url(self) -> str:
        return "https://hooks.slack.com/actions/T0/1/abc"


def _slack_payloads() -> list[dict[str, Any]]:
    """Each kind contactbot listens to, as the e2e tests (and Slack) send it."""
    sender = SlackSender(0, _Double())  # type: ignore[arg-type]
    view = {"id": "V1", "callback_id": "contactbot_contact_modal", "private_metadata": "{}"}
    message = {"ts": "1700000000.000100", "user": "U1", "text": "hello"}
    event = {
        "type": "event_callback",
        "team_id": "T0",
        "event_id": "Ev1",
        "authorizations": [{"team_id": "T0", "user_id": "U0", "enterprise_id": None}],
        "event": {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"},
    }
    return [
        sender.command_payload("find acme"),
        sender.block_actions({"action_id": "contactbot_run:1", "value": "show CT000001"}),
        sender.block_actions(
            {"action_id": "contactbot_menu", "selected_option": {"value": "delete CT000001"}}
        ),
        sender.view_submission(view, text_values(name="Acme", email="")),
        {**sender.view_submission(view, {}), "team": None},  # an org-wide install
        sender.block_suggestion("contact_search", "acm"),
        sender.message_action("contactbot_log_message", message),
        event,
        {**event, "event": {"type": "channel_created", "channel": {"id": "C1", "name": "x"}}},
        {"type": "url_verification", "challenge": "c0ffee", "token": "t"},
        {"type": "app_rate_limited", "team_id": "T0", "minute_rate_limited": 1518467820},
    ]


@pytest.mark.parametrize("payload", _slack_payloads(), ids=lambda p: p.get("type", "command"))
def test_slack_payloads_pass_the_shape_check(payload: dict[str, Any]) -> None:
    check_payload(payload)
    check_payload(json.loads(json.dumps(payload)))  # as it arrives
    assert urlencode({"payload": json.dumps(payload)})  # and it can be form-encoded


def test_a_malformed_payload_is_named_by_its_field_never_its_value() -> None:
    with pytest.raises(Malformed) as error:
        check_payload({"type": "block_actions", "user": {"id": 5}, "actions": []})
    assert str(error.value) == "user.id is not a string"
