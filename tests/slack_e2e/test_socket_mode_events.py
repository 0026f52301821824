"""Mentions and DMs through Socket Mode: `events_api` envelopes on the local WebSocket server
(tests/slack_e2e/socket_mode_server.py), acked by the app, answered with chat.postMessage on
the Web API double; a retried envelope (`retry_attempt`) answered once."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.slack_double import RESPONSE_URL, Call, SlackDouble
from tests.slack_e2e.harness import (
    SlackProcess,
    SlackSender,
    direct_message,
    event_callback,
    mention,
)
from tests.slack_e2e.socket_mode_server import SocketModeServer
from tests.slack_e2e.test_socket_mode import app, socket_server
from tests.slack_unit.helpers import check_blocks

POST = "chat.postMessage"


# The Socket Mode server and the app connected to it, as test_socket_mode.py starts them.
__all__ = ["app", "socket_server"]


@pytest.fixture(scope="module")
def acme(app: SlackProcess, socket_server: SocketModeServer) -> str:
    sender = SlackSender(app.port, app.double)
    payload = sender.command_payload('new company "Acme Holding B.V." city=Amsterdam')
    socket_server.send_envelope("slash_commands", payload)
    target = str(payload["response_url"]).rsplit("/", 1)[-1]
    reply = app.double.wait_for(RESPONSE_URL, lambda c: c.target == target)
    found = re.search(r"CT\d{6}", reply.text)
    assert found, reply.text
    return found.group(0)


def channel_id(prefix: str = "C") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10].upper()}"


def answer_in(double: SlackDouble, channel: str, thread_ts: str | None) -> Call:
    call = double.wait_for(
        POST, lambda c: c.body.get("channel") == channel and c.body.get("thread_ts") == thread_ts
    )
    check_blocks(call.blocks)
    return call


def send_event(server: SocketModeServer, body: dict[str, object], retry_attempt: int = 0) -> None:
    envelope = server.send_envelope(
        "events_api", body, retry_attempt=retry_attempt, accepts_response_payload=False
    )
    assert server.wait_for_ack(envelope) == {"envelope_id": envelope}


def test_a_mention_envelope_is_acked_and_answered_in_the_thread(
    app: SlackProcess, socket_server: SocketModeServer, acme: str
) -> None:
    channel = channel_id()
    ts = app.double.add_message(channel, "find acme holdng", user="U_SALES")
    send_event(socket_server, event_callback(mention("find acme holdng", ts, channel=channel)))
    reply = answer_in(app.double, channel, ts)
    assert acme in reply.text and "Acme Holding B.V." in reply.text


def test_a_dm_envelope_is_answered_in_the_dm(
    app: SlackProcess, socket_server: SocketModeServer, acme: str
) -> None:
    dm = channel_id("D")
    ts = app.double.add_message(dm, f"show {acme}", user="U_SALES")
    send_event(socket_server, event_callback(direct_message(f"show {acme}", ts, channel=dm)))
    reply = answer_in(app.double, dm, None)
    assert "Acme Holding B.V." in reply.text and "Amsterdam" in reply.text


def test_a_retried_envelope_is_answered_once(
    app: SlackProcess, socket_server: SocketModeServer, acme: str
) -> None:
    channel = channel_id()
    ts = app.double.add_message(channel, f"show {acme}", user="U_SALES")
    body = event_callback(mention(f"show {acme}", ts, channel=channel))
    send_event(socket_server, body)
    answer_in(app.double, channel, ts)
    send_event(socket_server, body, retry_attempt=1)
    event_id = body["event_id"]
    app.wait_for_log(rf"{event_id}\S* ran already|event {event_id} was answered already")
    app.double.assert_never(
        POST,
        lambda c: len([p for p in app.double.calls(POST) if p.body.get("channel") == channel]) > 1,
    )


def test_a_bots_message_is_not_answered(
    app: SlackProcess, socket_server: SocketModeServer, acme: str
) -> None:
    dm = channel_id("D")
    ts = app.double.add_message(dm, f"show {acme}", bot_id="B0OTHERBOT")
    bot = direct_message(f"show {acme}", ts, channel=dm, bot_id="B0OTHERBOT", subtype="bot_message")
    send_event(socket_server, event_callback(bot))
    app.double.assert_never(POST, lambda c: c.body.get("channel") == dm, within=1.5)
