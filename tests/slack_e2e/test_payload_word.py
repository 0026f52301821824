"""A slash command whose text holds the word "payload" is a command, not an interaction.

Bolt 1.30 reads any form body containing "payload" as an interactivity payload, so such a
command parsed to nothing (400 from the shape check, 404 from Bolt before it). Over real HTTP
against `contactbot slack --http`, SQLite only: the parsing does not touch the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack.body import parse_slack_body
from tests.slack_double import RESPONSE_URL, SlackDouble
from tests.slack_e2e.conftest import database, running_app
from tests.slack_e2e.harness import SlackProcess, SlackSender


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, module_double: SlackDouble
) -> Iterator[SlackProcess]:
    work: Path = tmp_path_factory.mktemp("slack-payload-word")
    with database("sqlite", work, None) as url, running_app(work, module_double, url) as process:
        yield process


def test_a_command_with_the_word_payload_runs(app: SlackProcess, sender: SlackSender) -> None:
    created = sender.command('new company "Payload Logistics" city=Rotterdam')
    assert created.response.status == 200
    app.double.wait_for(RESPONSE_URL, lambda c: c.target == created.response_url_id)
    found = sender.command("find payload")
    assert found.response.status == 200
    reply = app.double.wait_for(RESPONSE_URL, lambda c: c.target == found.response_url_id)
    assert "Payload Logistics" in reply.text


def test_the_parser_tells_a_form_with_the_word_from_an_interaction() -> None:
    command = "command=%2Fcontact&text=log+CT000001+payload+specs&user_id=U1"
    assert parse_slack_body(command, "application/x-www-form-urlencoded") == {
        "command": "/contact",
        "text": "log CT000001 payload specs",
        "user_id": "U1",
    }
    interaction = "payload=%7B%22type%22%3A%22block_actions%22%7D"
    assert parse_slack_body(interaction, None) == {"type": "block_actions"}
    assert parse_slack_body('{"type": "url_verification"}', "application/json")["type"] == (
        "url_verification"
    )
