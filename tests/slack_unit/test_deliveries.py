"""Delivery ids: the same for a retry, unique per request; a retry never runs twice."""

from __future__ import annotations

import threading

import pytest

from bot.dispatcher import DUPLICATE_DELIVERY
from bot.inputs import CommandInvocation
from bot.slack.deliveries import delivery_key
from storage.deliveries import DuplicateDelivery, prune_deliveries, record_delivery
from tests.conftest import SALES_ACTOR, ChatBot

SLASH = {
    "command": "/contact",
    "team_id": "T1",
    "user_id": "U1",
    "text": "new company Acme",
    "trigger_id": "123.456.abc",
    "response_url": "http://127.0.0.1/r/1",
}


def test_keys() -> None:
    assert delivery_key(SLASH) == "command:T1:123.456.abc"
    assert delivery_key(dict(SLASH)) == delivery_key(SLASH)
    assert delivery_key({**SLASH, "trigger_id": "other"}) != delivery_key(SLASH)
    event = {"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event": {}}
    assert delivery_key(event) == "event:T1:Ev1"
    click = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"}}
    click["actions"] = [{"action_id": "a", "action_ts": "1.2"}]
    assert delivery_key(click) == "block_actions:T1:U1:1.2"
    bare = {"type": "view_submission", "view": {"id": "V1", "hash": "h"}}
    assert delivery_key(bare) == delivery_key(dict(bare))
    assert delivery_key(bare, "log") != delivery_key(bare)


def test_storage_unique_key(bot: ChatBot) -> None:
    with bot.app.store.transaction() as session:
        record_delivery(session, "slack", "x" * 500)  # long ids are hashed
    with pytest.raises(DuplicateDelivery), bot.app.store.transaction() as session:
        record_delivery(session, "slack", "x" * 500)
    with bot.app.store.transaction() as session:
        record_delivery(session, "shell", "x" * 500)  # another source, another key
        assert prune_deliveries(session) == 0


def _invocation(delivery: str) -> CommandInvocation:
    return CommandInvocation(
        actor=SALES_ACTOR,
        text='new company "Acme Holding B.V." city=Amsterdam',
        source="slack",
        delivery_id=delivery,
    )


def test_a_retry_creates_nothing(bot: ChatBot) -> None:
    first = bot.app.dispatcher.dispatch(_invocation("command:T1:1"))
    assert first.ok and "CT000001" in first.text
    assert bot.app.dispatcher.dispatch(_invocation("command:T1:1")) is DUPLICATE_DELIVERY
    assert bot.send("find acme").startswith("1 contact ")


def test_a_refused_command_may_be_retried(bot: ChatBot) -> None:
    bad = CommandInvocation(actor=SALES_ACTOR, text="new company", source="slack", delivery_id="d")
    assert not bot.app.dispatcher.dispatch(bad).ok
    assert not bot.app.dispatcher.dispatch(bad).ok  # the same refusal, not "handled already"


def test_concurrent_retries_create_one_contact(bot: ChatBot) -> None:
    results: list[object] = []
    barrier = threading.Barrier(8)

    def send() -> None:
        barrier.wait()
        results.append(bot.app.dispatcher.dispatch(_invocation("command:T1:race")))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [r for r in results if r is not DUPLICATE_DELIVERY]
    assert len(created) == 1 and created[0].ok, [getattr(r, "text", r) for r in results]
    assert bot.send("find acme").startswith("1 contact ")


def test_concurrent_different_requests_all_work(bot: ChatBot) -> None:
    results: list[object] = []
    barrier = threading.Barrier(8)

    def send(i: int) -> None:
        barrier.wait()
        results.append(bot.app.dispatcher.dispatch(_invocation(f"command:T1:{i}")))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.ok for r in results), [r.text for r in results]
    assert sorted(r.text.split()[2] for r in results) == [f"CT00000{i}:" for i in range(1, 9)]
