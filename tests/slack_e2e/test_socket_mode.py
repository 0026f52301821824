"""Socket Mode end to end: `contactbot slack` (no --http) as a subprocess, its Web API at the
double, whose `apps.connections.open` points at a local WebSocket server that speaks Slack's
envelope protocol (hello, envelopes, acknowledgements, disconnect)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.slack_double import RESPONSE_URL, Call, SlackDouble
from tests.slack_e2e.conftest import database, running_app
from tests.slack_e2e.harness import APP_TOKEN, SlackProcess, SlackSender
from tests.slack_e2e.socket_mode_server import SocketModeServer
from tests.slack_unit.helpers import check_blocks


@pytest.fixture(scope="module")
def socket_server() -> Iterator[SocketModeServer]:
    server = SocketModeServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory,
    module_double: SlackDouble,
    socket_server: SocketModeServer,
) -> Iterator[SlackProcess]:
    module_double.socket_mode_url = socket_server.url
    work = tmp_path_factory.mktemp("slack-socket-mode")
    with (
        database("sqlite", work, None) as url,
        running_app(work, module_double, url, http=False) as process,
    ):
        socket_server.wait_for_connections(1)
        yield process


def command(
    server: SocketModeServer, sender: SlackSender, text: str, *, retry_attempt: int = 0
) -> tuple[dict[str, object], str]:
    payload = sender.command_payload(text)
    return payload, server.send_envelope("slash_commands", payload, retry_attempt=retry_attempt)


def reply_to(double: SlackDouble, payload: dict[str, object]) -> Call:
    target = str(payload["response_url"]).rsplit("/", 1)[-1]
    call = double.wait_for(RESPONSE_URL, lambda c: c.target == target)
    check_blocks(call.blocks)
    return call


def test_a_slash_command_envelope_is_acked_and_creates_a_contact(
    app: SlackProcess, socket_server: SocketModeServer, sender: SlackSender
) -> None:
    opened = app.double.wait_for("apps.connections.open")
    assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"
    payload, envelope = command(socket_server, sender, 'new company "Socket Works" city=Bergen')
    assert socket_server.wait_for_ack(envelope) == {"envelope_id": envelope}
    reply = reply_to(app.double, payload)
    assert "CT000001" in reply.text and "Socket Works" in reply.text


def test_a_redelivery_with_retry_attempt_creates_nothing_new(
    app: SlackProcess, socket_server: SocketModeServer, sender: SlackSender
) -> None:
    payload, first = command(socket_server, sender, 'new company "Socket Retry"')
    socket_server.wait_for_ack(first)
    reply_to(app.double, payload)
    again = socket_server.send_envelope("slash_commands", payload, retry_attempt=1)
    assert socket_server.wait_for_ack(again)["envelope_id"] == again
    app.wait_for_log(rf"delivery \S*{re.escape(str(payload['trigger_id']))}\S* ran already")
    found, envelope = command(socket_server, sender, 'find "Socket Retry"')
    socket_server.wait_for_ack(envelope)
    lines = [
        line for line in reply_to(app.double, found).text.splitlines() if "Socket Retry" in line
    ]
    assert len({no for line in lines for no in re.findall(r"CT\d{6}", line)}) == 1


def test_an_ack_carries_the_answer_of_a_block_suggestion(
    app: SlackProcess, socket_server: SocketModeServer, sender: SlackSender
) -> None:
    payload, _ = command(socket_server, sender, 'new company "Suggested Socket"')
    reply_to(app.double, payload)
    asked = socket_server.send_envelope(
        "interactive", sender.block_suggestion("contact_search", "suggested socket")
    )
    options = socket_server.wait_for_ack(asked)["payload"]["options"]
    assert any("Suggested Socket" in o["text"]["text"] for o in options)


def test_after_a_disconnect_message_the_app_reconnects_and_serves(
    app: SlackProcess, socket_server: SocketModeServer, sender: SlackSender
) -> None:
    before = socket_server.connections
    opens = len(app.double.calls("apps.connections.open"))
    socket_server.disconnect()
    socket_server.wait_for_connections(before + 1)
    assert len(app.double.calls("apps.connections.open")) == opens + 1
    payload, envelope = command(socket_server, sender, 'new company "Reconnected Ltd"')
    assert socket_server.wait_for_ack(envelope) == {"envelope_id": envelope}
    assert "Reconnected Ltd" in reply_to(app.double, payload).text
