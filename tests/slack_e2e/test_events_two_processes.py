"""Two `contactbot slack --http` processes on one PostgreSQL database, as a team runs them
behind a load balancer: the same event (same event_id) delivered to both at once is answered
once, and a mention that writes writes once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import PostgresServer
from tests.slack_double import RESPONSE_URL, SlackDouble
from tests.slack_e2e.conftest import database, running_app
from tests.slack_e2e.harness import (
    SlackProcess,
    SlackSender,
    event_callback,
    mention,
    numbers_named,
)

POST = "chat.postMessage"
EVENTS = 12


@pytest.fixture(scope="module")
def apps(
    tmp_path_factory: pytest.TempPathFactory,
    module_double: SlackDouble,
    postgres_server: PostgresServer | None,
) -> Iterator[tuple[SlackProcess, SlackProcess]]:
    shared = tmp_path_factory.mktemp("slack-two-db")
    with database("postgres", shared, postgres_server) as url:
        first_work = tmp_path_factory.mktemp("slack-two-a")
        second_work = tmp_path_factory.mktemp("slack-two-b")
        with (
            running_app(first_work, module_double, url) as first,
            running_app(second_work, module_double, url) as second,
        ):
            yield first, second


def both_at_once(senders: list[SlackSender], body: dict[str, object]) -> None:
    """`body` posted to every process at the same moment (each thread waits at a barrier)."""
    barrier = threading.Barrier(len(senders))

    def post(sender: SlackSender, retry: int | None) -> None:
        barrier.wait()
        assert sender.resend_event(body, retry=retry).response.status == 200

    threads = [
        threading.Thread(target=post, args=(sender, None if index == 0 else 1))
        for index, sender in enumerate(senders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_the_same_event_at_two_processes_is_answered_once(
    apps: tuple[SlackProcess, SlackProcess],
) -> None:
    first, second = apps
    double = first.double
    senders = [SlackSender(first.port, double), SlackSender(second.port, double)]
    name = f"Twin Events {uuid.uuid4().hex[:6]}"
    channels = []
    for index in range(EVENTS):
        channel = f"C{uuid.uuid4().hex[:10].upper()}"
        # Reads, writes (which must happen once too), and answers that write nothing (the
        # short help, an error), which only the answer's own record keeps to one.
        text = [f'find "{name}"', f'new company "{name} n{index:02d}"', "", "show CT999999"][
            index % 4
        ]
        ts = double.add_message(channel, text, user="U_SALES")
        both_at_once(senders, event_callback(mention(text, ts, channel=channel)))
        channels.append((channel, ts))
    for channel, ts in channels:
        double.wait_for(
            POST,
            lambda c, ch=channel, ts=ts: (
                c.body.get("channel") == ch and c.body.get("thread_ts") == ts
            ),
        )
    double.assert_never(
        POST,
        lambda c: any(
            len([p for p in double.calls(POST) if p.body.get("channel") == ch]) > 1
            for ch, _ in channels
        ),
        within=2.0,
    )
    answers = [
        len([p for p in double.calls(POST) if p.body.get("channel") == ch]) for ch, _ in channels
    ]
    assert answers == [1] * EVENTS
    # Both processes did some of the answering work (the first delivery is not always first).
    logs = first.log() + second.log()
    assert "ran already" in logs or "answered already" in logs
    sender = senders[0]
    sent = sender.command(f'find "{name}"')
    found = double.wait_for(RESPONSE_URL, lambda c: c.target == sent.response_url_id)
    for index in range(1, EVENTS, 4):
        assert len(numbers_named(found.text, f"{name} n{index:02d}")) == 1, found.text
