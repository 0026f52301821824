"""Issue 3's "Done when", over real HTTP: `contactbot slack --http --port N` on an empty
database, a Web API double at $CONTACTBOT_SLACK_API_URL, and signed slash commands posted to
http://127.0.0.1:N/slack/events. On SQLite and on PostgreSQL; no roles configured, so every
member of the workspace has `sales`."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tests.conftest import PostgresServer
from tests.slack_double import RESPONSE_URL, Call, SlackDouble
from tests.slack_e2e.conftest import database, running_app
from tests.slack_e2e.harness import (
    SlackProcess,
    SlackSender,
    contactbot_command,
    get,
    numbers_named,
    request,
    signed_headers,
)
from tests.slack_unit.helpers import check_blocks, check_view


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_double: SlackDouble,
    postgres_server: PostgresServer | None,
) -> Iterator[SlackProcess]:
    work = tmp_path_factory.mktemp(f"slack-http-{request.param}")
    with (
        database(request.param, work, postgres_server) as url,
        running_app(work, module_double, url) as process,
    ):
        yield process


FORM = "application/x-www-form-urlencoded"


def reply_to(double: SlackDouble, sent_id: str, timeout: float = 10.0) -> Call:
    """The answer that reached the response_url of one request."""
    call = double.wait_for(RESPONSE_URL, lambda c: c.target == sent_id, timeout=timeout)
    check_blocks(call.blocks)
    return call


def test_new_company_answers_with_the_first_number_and_find_finds_it(
    app: SlackProcess, sender: SlackSender
) -> None:
    sent = sender.command('new company "Acme Holding B.V." city=Amsterdam')
    assert sent.response.status == 200 and sent.response.body == b""
    reply = reply_to(app.double, sent.response_url_id)
    assert "CT000001" in reply.text and "Acme Holding B.V." in reply.text
    assert reply.body["response_type"] == "ephemeral"

    found = reply_to(app.double, sender.command("find acme holdng").response_url_id)
    assert "CT000001" in found.text and "Amsterdam" in found.text

    # The shell reads the same database and sees the same contact.
    shell = subprocess.run(
        [*contactbot_command(), "shell"],
        input="show CT000001\n",
        capture_output=True,
        text=True,
        env=app.environment(),
        cwd=app.work,
        timeout=60,
    )
    assert "Acme Holding B.V." in shell.stdout and "Amsterdam" in shell.stdout, shell.stderr


def test_unsigned_stale_and_forged_requests_get_401_and_run_nothing(
    app: SlackProcess, sender: SlackSender
) -> None:
    payload = sender.command_payload('new company "Unsigned Ltd"')
    assert sender.resend(payload, signed=False).response.status == 401
    stale = int(time.time()) - 6 * 60
    assert sender.resend(payload, timestamp=stale).response.status == 401
    body = urlencode(payload).encode()
    forged = {**signed_headers(body, secret="not-the-signing-secret"), "Content-Type": FORM}
    assert request(app.port, "POST", "/slack/events", body, forged).status == 401
    tampered = {**signed_headers(body), "Content-Type": FORM}
    assert request(app.port, "POST", "/slack/events", body + b"x", tampered).status == 401
    # A 401 is answered before any listener runs: nothing is pending, nothing was created.
    found = reply_to(app.double, sender.command("find unsigned").response_url_id)
    assert "Unsigned Ltd" not in found.text
    unsigned_target = payload["response_url"].rsplit("/", 1)[-1]
    assert all(c.target != unsigned_target for c in app.double.calls(RESPONSE_URL))


def _count(app: SlackProcess, sender: SlackSender, name: str) -> int:
    """Contacts of exactly this name (find lists near names after them)."""
    reply = reply_to(app.double, sender.command(f'find "{name}"').response_url_id)
    return len(numbers_named(reply.text, name))


def test_a_retried_delivery_creates_one_contact(app: SlackProcess, sender: SlackSender) -> None:
    payload = sender.command_payload('new company "Retry Once Corp"')
    first = sender.resend(payload)
    reply_to(app.double, first.response_url_id)
    again = sender.resend(payload, retry=1)
    assert again.response.status == 200
    app.wait_for_log(rf"delivery \S*{re.escape(payload['trigger_id'])}\S* ran already")
    assert _count(app, sender, "Retry Once Corp") == 1
    # Delivered twice at the same moment (Slack retried while the first was still running).
    twin = sender.command_payload('new company "Retry Twice Corp"')
    threads = [
        threading.Thread(target=sender.resend, args=(twin,), kwargs={"retry": retry})
        for retry in (None, 1)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    app.wait_for_log(rf"delivery \S*{re.escape(twin['trigger_id'])}\S* ran already")
    assert _count(app, sender, "Retry Twice Corp") == 1
    answers = app.double.calls(RESPONSE_URL)
    assert len([c for c in answers if c.target == twin["response_url"].rsplit("/", 1)[-1]]) == 1


def test_new_without_text_opens_the_modal_through_views_open(
    app: SlackProcess, sender: SlackSender
) -> None:
    sent = sender.command("new")
    assert sent.response.status == 200
    opened = app.double.wait_for(
        "views.open", lambda c: c.body.get("trigger_id") == sent.payload["trigger_id"]
    )
    check_view(opened.view)
    assert opened.view["title"]["text"] == "New contact"
    assert opened.headers["authorization"] == "Bearer xoxb-contactbot-e2e"


def test_health_endpoint_answers_while_the_database_does(app: SlackProcess) -> None:
    answer = get(app.port, "/healthz")
    assert answer.status == 200 and answer.json()["ok"] is True
    assert {c["name"]: c["state"] for c in answer.json()["checks"]}["slack"] == "ok"
    assert get(app.port, "/nothing").status == 404
