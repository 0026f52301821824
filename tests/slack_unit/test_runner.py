"""SlackRunner: refusals, apologies with an error id, and where answers go."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from bot.config import RoleSettings
from bot.slack.actors import REFUSAL, ActorResolver
from bot.slack.runner import SlackRunner, Where
from tests.conftest import ChatBot
from tests.slack_unit.test_actors import FakeClient


class RecordingClient(FakeClient):
    def __init__(self) -> None:
        super().__init__()
        self.posted: list[tuple[str, dict[str, Any]]] = []

    def chat_postEphemeral(self, **kwargs: Any) -> dict[str, Any]:
        self.posted.append(("chat.postEphemeral", kwargs))
        return {"ok": True}

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.posted.append(("chat.postMessage", kwargs))
        return {"ok": True}


def _runner(bot: ChatBot, roles: RoleSettings | None = None) -> tuple[SlackRunner, RecordingClient]:
    client = RecordingClient()
    resolver = ActorResolver(bot.app.dispatcher, roles or RoleSettings(), client)  # type: ignore[arg-type]
    return SlackRunner(bot.app, resolver, client), client  # type: ignore[arg-type]


def test_run_answers_ephemeral_in_the_channel_without_response_url(bot: ChatBot) -> None:
    runner, client = _runner(bot)
    reply = runner.run('new company "Acme"', Where("U1", "C1"), "d1")
    assert reply is not None and reply.ok
    method, message = client.posted[-1]
    assert method == "chat.postEphemeral" and message["channel"] == "C1" and message["user"] == "U1"
    assert "CT000001" in message["text"]
    assert runner.run('new company "Acme"', Where("U1", "C1"), "d1") is None  # the retry
    assert len(client.posted) == 1
    runner.run("find acme", Where("U1"), "d2")
    assert client.posted[-1][0] == "chat.postMessage" and client.posted[-1][1]["channel"] == "U1"
    runner.close()


def test_user_without_a_role_is_refused_and_nothing_runs(bot: ChatBot) -> None:
    runner, client = _runner(bot, RoleSettings(sales=frozenset({"U_SALES"})))
    assert runner.run('new company "Acme"', Where("U_OTHER", "C1"), "d1") is None
    assert client.posted[-1][1]["text"] == REFUSAL.replace("&", "&amp;")
    assert bot.send("find acme").startswith("No contact")
    runner.close()


def test_an_exception_becomes_an_apology_with_an_id_in_the_log(
    bot: ChatBot, caplog: pytest.LogCaptureFixture
) -> None:
    runner, client = _runner(bot)
    body = {"user": {"id": "U1"}, "channel": {"id": "C1"}}
    with caplog.at_level(logging.ERROR), runner.guard(body, "a test"):
        raise RuntimeError("boom")
    text = client.posted[-1][1]["text"]
    error_id = re.search(r"error ([0-9a-f]{8})", text).group(1)  # type: ignore[union-attr]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)
    # Work after the ack is guarded the same way, and the runner keeps working.
    runner.later(body, "later", lambda: 1 / 0).result(timeout=10)
    assert "went wrong" in client.posted[-1][1]["text"]
    assert runner.run("help", Where("U1", "C1"), None) is not None
    runner.close()
