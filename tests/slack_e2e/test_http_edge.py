"""Issue 12's HTTP edge, over real sockets against `contactbot slack --http` (run with -v):

- a body over `[slack] max_body_bytes` (1 MiB) gets 413 before it is read, whether it says its
  length or comes chunked, and the server's memory does not grow by it;
- slow or idle connections (slowloris) cannot make /healthz or /slack/events unreachable:
  a connection has `request_seconds` to deliver its request, one client address holds at most
  `connections_per_client` connections, all together `connection_limit`;
- a signed body that is not a well-formed Slack payload gets 400 and a log line, and no
  listener runs;
- with -v the log holds bounded lines and no response_url;
- a replayed request (the same bytes, signature and timestamp, within Slack's five minutes) acts
  once: a slash command, a button, a modal submission, the share button and the "Log to
  contact" modal (on SQLite and PostgreSQL).

Every socket the tests open is on the loopback (some from 127.0.0.x source addresses, to be
several clients) and is closed at the end of its test.
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import PostgresServer
from tests.slack_double import RESPONSE_URL, SlackDouble
from tests.slack_e2e.conftest import database, running_app
from tests.slack_e2e.harness import (
    SlackProcess,
    SlackSender,
    numbers_named,
    request,
    selected,
    signed_headers,
    text_values,
)

FORM = "application/x-www-form-urlencoded"
MB = 1 << 20
#: A status line must come back this fast (seconds) for the server to count as reachable.
REACHABLE_SECONDS = 3.0


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, module_double: SlackDouble
) -> Iterator[SlackProcess]:
    """The app with its default limits, on SQLite."""
    work = tmp_path_factory.mktemp("slack-http-edge")
    with database("sqlite", work, None) as url, running_app(work, module_double, url) as process:
        yield process


# --- raw HTTP over a socket ----------------------------------------------------------------


def vm_rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert found, status
    return int(found.group(1))


def connect(port: int, source: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(sock: socket.socket) -> int:
    """The status code of the answer on `sock` (reads up to the end of the status line)."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"the server closed the connection after {data!r}")
        data += chunk
    return int(data.split(b" ", 2)[1])


def post_streaming(
    port: int, headers: dict[str, str], body: Iterable[bytes]
) -> tuple[int, float, int]:
    """POST /slack/events with the body sent from a thread while this one waits for the answer:
    (status, seconds to the status line, body bytes the server took before it stopped us)."""
    sent = 0

    def pump() -> None:
        nonlocal sent
        try:
            for chunk in body:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed: what the test expects

    with connect(port) as sock:
        sock.sendall(head("POST", "/slack/events", headers))
        pumping = threading.Thread(target=pump, daemon=True)
        started = time.perf_counter()
        pumping.start()
        status = status_of(sock)
        seconds = time.perf_counter() - started
        with suppress(OSError):  # reset by the server already
            sock.shutdown(socket.SHUT_RDWR)
        pumping.join(timeout=30)
    assert not pumping.is_alive()
    return status, seconds, sent


def timed_get(port: int, path: str = "/healthz", timeout: float = 10.0) -> tuple[int, float]:
    """(status, seconds) of a GET on a fresh connection from 127.0.0.1."""
    started = time.perf_counter()
    with connect(port, timeout=timeout) as sock:
        sock.sendall(head("GET", path, {"Connection": "close"}))
        status = status_of(sock)
    return status, time.perf_counter() - started


def filler(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    block = b"a" * chunk
    for _ in range(total // chunk):
        yield block


def chunked(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    for block in filler(total, chunk):
        yield b"%x\r\n" % len(block) + block + b"\r\n"
    yield b"0\r\n\r\n"


def longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


# --- 1. bodies over the cap ------------------------------------------------------------------


def test_a_50_mb_unsigned_post_gets_413_unread_and_the_server_does_not_grow(
    app: SlackProcess, sender: SlackSender
) -> None:
    assert sender.command("help").response.status == 200  # warm: Bolt, the database, the log
    assert app.process is not None
    before = vm_rss_kib(app.process.pid)
    headers = {"Content-Type": FORM, "Content-Length": str(50 * MB)}
    status, seconds, sent = post_streaming(app.port, headers, filler(50 * MB))
    assert status == 413 and seconds < 2.0
    assert sent < 50 * MB
    grown = vm_rss_kib(app.process.pid) - before
    assert grown < 10 * 1024, f"the server grew by {grown} KiB"
    # The same, chunked: refused once the first MiB has come, not after 50.
    headers = {"Content-Type": FORM, "Transfer-Encoding": "chunked"}
    status, seconds, sent = post_streaming(app.port, headers, chunked(50 * MB))
    assert status == 413 and seconds < 2.0
    assert sent < 50 * MB
    grown = vm_rss_kib(app.process.pid) - before
    assert grown < 10 * 1024, f"the server grew by {grown} KiB"
    # With -v nothing logged the body (Bolt logged the whole unverified body on one line).
    assert longest_line(app.log()) < 1000
    assert "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" not in app.log()
    # A normal signed request is served as before.
    sent_command = sender.command('new company "After The Flood Ltd"')
    assert sent_command.response.status == 200
    reply = app.double.wait_for(RESPONSE_URL, lambda c: c.target == sent_command.response_url_id)
    assert "After The Flood Ltd" in reply.text


def test_a_signed_body_at_the_cap_is_served_and_one_byte_more_is_413(
    app: SlackProcess, sender: SlackSender
) -> None:
    payload = sender.command_payload("help")
    body = urlencode(payload).encode()
    padding = 1 * MB - len(body) - len("&filler=")
    at_cap = urlencode({**payload, "filler": "p" * padding}).encode()
    assert len(at_cap) == 1 * MB
    answer = request(
        app.port, "POST", "/slack/events", at_cap, {**signed_headers(at_cap), "Content-Type": FORM}
    )
    assert answer.status == 200
    over = at_cap + b"p"
    headers = {**signed_headers(over), "Content-Type": FORM, "Content-Length": str(len(over))}
    status, _, _ = post_streaming(app.port, headers, [over])
    assert status == 413


# --- 2. slow and idle connections ----------------------------------------------------------


@contextmanager
def held_connections(
    port: int, count: int, sources: list[str], partial: bytes = b""
) -> Iterator[list[socket.socket]]:
    """`count` connections spread over `sources`, each having sent `partial` (an unfinished
    request head) or nothing; all closed on leaving."""
    socks: list[socket.socket] = []
    try:
        for index in range(count):
            sock = connect(port, sources[index % len(sources)], timeout=5)
            if partial:
                sock.sendall(partial)
            socks.append(sock)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def trickle(socks: list[socket.socket], stop: threading.Event, every: float) -> threading.Thread:
    """Send one more header byte on every socket every `every` seconds (slowloris)."""

    def run() -> None:
        while not stop.wait(every):
            for sock in socks:
                with suppress(OSError):  # closed by the server
                    sock.send(b"X")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def closed_by_server(socks: list[socket.socket], wait: float = 0.0) -> int:
    """How many of `socks` the server has closed (EOF or reset), within `wait` seconds."""
    deadline = time.monotonic() + wait
    closed: set[int] = set()
    while True:
        readable, _, _ = select.select(socks, [], [], 0.1)
        for sock in readable:
            try:
                if sock.recv(4096, socket.MSG_DONTWAIT) == b"":
                    closed.add(sock.fileno())
            except BlockingIOError:
                pass
            except OSError:
                closed.add(sock.fileno())
        if len(closed) == len(socks) or time.monotonic() >= deadline:
            return len(closed)


SLOW_HEAD = b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def test_200_slowloris_connections_from_several_clients_leave_healthz_and_events_reachable(
    app: SlackProcess, sender: SlackSender
) -> None:
    sources = [f"127.0.0.{n}" for n in range(20, 30)]  # 10 clients with 20 connections each
    stop = threading.Event()
    with held_connections(app.port, 200, sources, SLOW_HEAD) as socks:
        trickler = trickle(socks, stop, every=0.5)
        try:
            time.sleep(1.0)  # they are all accepted and trickling
            status, seconds = timed_get(app.port)
            assert status == 200 and seconds < REACHABLE_SECONDS
            sent = sender.command("help")
            assert sent.response.status == 200 and sent.response.seconds < REACHABLE_SECONDS
        finally:
            stop.set()
            trickler.join()


def test_one_client_holds_at_most_its_share_of_connections(app: SlackProcess) -> None:
    with held_connections(app.port, 200, ["127.0.0.2"]) as socks:
        # The 150 over the cap of 50 are closed as soon as they are accepted.
        assert closed_by_server(socks, wait=3.0) >= 150
        assert closed_by_server(socks) <= 150
        status, seconds = timed_get(app.port)
        assert status == 200 and seconds < REACHABLE_SECONDS


def test_a_connection_that_does_not_finish_its_request_in_time_is_closed(
    tmp_path: Path, slack_double: SlackDouble
) -> None:
    """With `request_seconds = 2` and room for 60 connections, 100 trickling connections from
    one address: the server closes each 2 s after it took it, and /healthz gets in within a few
    seconds though every connection was taken."""
    config = "[slack]\nrequest_seconds = 2\nconnection_limit = 60\nconnections_per_client = 0\n"
    with (
        database("sqlite", tmp_path, None) as url,
        running_app(tmp_path, slack_double, url, config=config) as app,
    ):
        stop = threading.Event()
        with held_connections(app.port, 100, ["127.0.0.1"], SLOW_HEAD) as socks:
            trickler = trickle(socks, stop, every=0.5)
            try:
                started = time.perf_counter()
                status, seconds = timed_get(app.port, timeout=15)
                assert status == 200 and seconds < 2 + 4.0
                assert closed_by_server(socks, wait=8.0) == 100
                assert time.perf_counter() - started < 10.0
            finally:
                stop.set()
                trickler.join()
        assert "no complete request in 2 s" in app.log()
        # An idle connection that never sends a byte goes the same way.
        with held_connections(app.port, 1, ["127.0.0.1"]) as idle:
            assert closed_by_server(idle, wait=5.0) == 1


# --- 3. signed but malformed bodies ----------------------------------------------------------


def _payload(**fields: Any) -> bytes:
    return urlencode({"payload": json.dumps(fields)}).encode()


USER = {"id": "U_SALES", "username": "u_sales", "team_id": "T0CONTACT"}
MALFORMED: dict[str, tuple[bytes, str]] = {
    "json that is not json": (b'{"type": "event_callback", ', "application/json"),
    "a json list": (b"[1, 2, 3]", "application/json"),
    "a payload that is not json": (b"payload=%7Bnot+json", FORM),
    "a payload that is a list": (b"payload=%5B%5D", FORM),
    "a payload nested too deep": (b"payload=" + b"%5B" * 100_000, FORM),
    "a user that is a number": (
        _payload(type="block_actions", user=5, actions=[{"action_id": "contactbot_run:1"}]),
        FORM,
    ),
    "actions that is a string": (_payload(type="block_actions", user=USER, actions="x"), FORM),
    "a button value that is a number": (
        _payload(
            type="block_actions", user=USER, actions=[{"action_id": "contactbot_run:1", "value": 7}]
        ),
        FORM,
    ),
    "a view state value that is a number": (
        _payload(
            type="view_submission",
            user=USER,
            view={
                "callback_id": "contactbot_contact_modal",
                "state": {"values": {"name": {"value": {"type": "plain_text_input", "value": 7}}}},
            },
        ),
        FORM,
    ),
    "a view submission without a view": (_payload(type="view_submission", user=USER), FORM),
    "a team that is a list": (
        _payload(type="shortcut", user=USER, team=[], callback_id="x", trigger_id="1"),
        FORM,
    ),
    "an event that is a string": (
        json.dumps({"type": "event_callback", "event": "app_home_opened"}).encode(),
        "application/json",
    ),
    "a command without a user": (b"command=%2Fcontact&text=help", FORM),
    "neither command, interaction nor event": (b"hello=world", FORM),
    "an empty body": (b"", FORM),
    "a body that is not utf-8": (b"command=%2Fcontact&text=\xff\xfe", FORM),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_signed_malformed_body_gets_400_a_log_line_and_reaches_no_listener(
    app: SlackProcess, sender: SlackSender, case: str
) -> None:
    body, content_type = MALFORMED[case]
    calls_before = len(app.double.calls())
    log_before = len(app.log())
    answer = request(
        app.port,
        "POST",
        "/slack/events",
        body,
        {**signed_headers(body), "Content-Type": content_type},
    )
    assert answer.status == 400, answer
    assert answer.json()["error"]
    new_log = app.log()[log_before:]
    assert re.search(r"refused a request to /slack/events .*\(400 Bad Request\)", new_log)
    assert "Traceback" not in new_log
    # No listener ran: nothing reached the Web API, no answer, no apology.
    time.sleep(0.2)
    assert len(app.double.calls()) == calls_before
    # And the server goes on serving (its answer awaited, so it cannot land in the next case).
    sent = sender.command("help")
    assert sent.response.status == 200
    app.double.wait_for(RESPONSE_URL, lambda c: c.target == sent.response_url_id)


def test_a_timestamp_that_is_not_a_number_gets_401_not_500(app: SlackProcess) -> None:
    body = b"command=%2Fcontact&text=help&user_id=U_SALES"
    headers = {**signed_headers(body), "Content-Type": FORM, "X-Slack-Request-Timestamp": "abc"}
    assert request(app.port, "POST", "/slack/events", body, headers).status == 401


# --- 3b. what -v logs ---------------------------------------------------------------------------


def test_verbose_logs_are_bounded_and_hold_no_response_url(
    app: SlackProcess, sender: SlackSender
) -> None:
    log_before = len(app.log())
    payload = sender.command_payload("help")
    payload["filler"] = "f" * (900 * 1024)  # a big signed body, under the cap
    sent = sender.resend(payload)
    assert sent.response.status == 200
    app.double.wait_for(RESPONSE_URL, lambda c: c.target == sent.response_url_id)
    clicked = sender.block_actions({"action_id": "no_such_action", "value": "v" * 500_000})
    assert sender.interaction(clicked).response.status in (200, 404)
    app.wait_for_log(r"slack_sdk\.webhook.*Sending a request")  # -v is on: Bolt talks
    time.sleep(0.5)
    log = app.log()[log_before:]
    assert longest_line(log) < 1000
    assert sent.response_url_id not in log
    assert str(clicked["response_url"]).rsplit("/", 1)[-1] not in log
    assert "xoxb-contactbot-e2e" not in app.log()


# --- 4. replays within Slack's five minutes --------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def replay_app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_double: SlackDouble,
    postgres_server: PostgresServer | None,
) -> Iterator[SlackProcess]:
    work = tmp_path_factory.mktemp(f"slack-http-replay-{request.param}")
    with (
        database(request.param, work, postgres_server) as url,
        running_app(work, module_double, url, verbose=True) as process,
    ):
        yield process


def replay(port: int, body: bytes) -> tuple[int, int]:
    """Post the very same signed bytes twice (no retry header: a replay, not a Slack retry)."""
    headers = {**signed_headers(body), "Content-Type": FORM}
    first = request(port, "POST", "/slack/events", body, headers)
    second = request(port, "POST", "/slack/events", body, headers)
    return first.status, second.status


def count_named(sender: SlackSender, name: str) -> int:
    sent = sender.command(f'find "{name}"')
    reply = sender.double.wait_for(RESPONSE_URL, lambda c: c.target == sent.response_url_id)
    return len(numbers_named(reply.text, name))


def test_a_replayed_request_acts_once_on_every_path_that_writes(
    replay_app: SlackProcess,
) -> None:
    sender = SlackSender(replay_app.port, replay_app.double)
    # A slash command.
    command = sender.command_payload('new company "Replay Command Ltd"')
    assert replay(replay_app.port, urlencode(command).encode()) == (200, 200)
    replay_app.wait_for_log(rf"delivery \S*{re.escape(command['trigger_id'])}\S* ran already")
    # A button whose command creates a contact.
    button = {"action_id": "contactbot_run:1", "value": 'new company "Replay Button Ltd"'}
    click = sender.block_actions(button)
    assert replay(replay_app.port, urlencode({"payload": json.dumps(click)}).encode()) == (200, 200)
    replay_app.wait_for_log(rf"delivery \S*{re.escape(click['trigger_id'])}\S* ran already")
    # A submission of the contact modal.
    opened_by = sender.command("new")
    opened = replay_app.double.wait_for(
        "views.open", lambda c: c.body.get("trigger_id") == opened_by.payload["trigger_id"]
    )
    values = {
        **selected("kind", "value", "company"),
        **text_values(name="Replay Modal Ltd"),
    }
    submission = sender.view_submission(opened.view, values)
    body = urlencode({"payload": json.dumps(submission)}).encode()
    assert replay(replay_app.port, body) == (200, 200)
    replay_app.wait_for_log(rf"delivery \S*{re.escape(submission['trigger_id'])}\S* ran already")

    for name in ("Replay Command Ltd", "Replay Button Ltd", "Replay Modal Ltd"):
        assert count_named(sender, name) == 1, name

    # The share button posts in the channel once.
    sent = sender.command('find "Replay Command Ltd"')
    found = replay_app.double.wait_for(RESPONSE_URL, lambda c: c.target == sent.response_url_id)
    no = re.findall(r"CT\d{6}", found.text)[0]
    channel = f"C{uuid.uuid4().hex[:10].upper()}"  # this run's own (the double is shared)
    share = sender.block_actions(
        {"action_id": "contactbot_share", "value": f"show {no}"}, channel=channel
    )
    assert replay(replay_app.port, urlencode({"payload": json.dumps(share)}).encode()) == (200, 200)
    replay_app.wait_for_log(rf"delivery \S*{re.escape(share['trigger_id'])}\S* ran already")
    # The first delivery posts after its commit, which may come after the replay's refusal.
    replay_app.double.wait_for("chat.postMessage", lambda c: c.body["channel"] == channel)
    time.sleep(0.5)  # room for a second post, were there one
    posted = [
        c for c in replay_app.double.calls("chat.postMessage") if c.body["channel"] == channel
    ]
    assert len(posted) == 1
    # The "Log to contact" modal logs the message once.
    message = {"ts": "1700000999.000100", "user": "U_CUSTOMER", "text": "Replayed note"}
    shortcut = sender.interaction(sender.message_action("contactbot_log_message", message))
    opened = replay_app.double.wait_for(
        "views.open", lambda c: c.body.get("trigger_id") == shortcut.payload["trigger_id"]
    )
    values = {
        **selected("contact", "contact_search", no, kind="external_select"),
        "description": {"value": {"type": "plain_text_input", "value": "Replayed note"}},
    }
    logged = sender.view_submission(opened.view, values)
    body = urlencode({"payload": json.dumps(logged)}).encode()
    assert replay(replay_app.port, body) == (200, 200)
    replay_app.wait_for_log(rf"delivery \S*{re.escape(logged['trigger_id'])}:log\S* ran already")
    sent = sender.command(f"history {no}")
    history = replay_app.double.wait_for(RESPONSE_URL, lambda c: c.target == sent.response_url_id)
    assert history.body["text"] == "1 interaction" and "Replayed note" in history.text


def _log_message(
    app: SlackProcess, sender: SlackSender, message: dict[str, Any], no: str, text: str
) -> tuple[dict[str, Any], str]:
    """Open "Log to contact" on `message` and build its submission (not sent): the payload
    and the response_url id the answer goes to."""
    shortcut = sender.interaction(sender.message_action("contactbot_log_message", message))
    opened = app.double.wait_for(
        "views.open", lambda c: c.body.get("trigger_id") == shortcut.payload["trigger_id"]
    )
    values = {
        **selected("contact", "contact_search", no, kind="external_select"),
        "description": {"value": {"type": "plain_text_input", "value": text}},
    }
    return sender.view_submission(opened.view, values), shortcut.response_url_id


def _answer(app: SlackProcess, target: str) -> str:
    return app.double.wait_for(RESPONSE_URL, lambda c: c.target == target).text


def test_log_to_contact_logs_a_message_once_through_log(replay_app: SlackProcess) -> None:
    """The same Slack message logged on the same contact twice is one interaction (the rule
    of storage.interactions, keyed by the message), and a retried submission (Slack's
    X-Slack-Retry-Num) is the dispatcher's duplicate delivery: it answers nothing."""
    sender = SlackSender(replay_app.port, replay_app.double)
    created = sender.command('new company "Logged Once Ltd"')
    no = re.findall(r"CT\d{6}", _answer(replay_app, created.response_url_id))[0]
    message = {"ts": "1700000777.000100", "user": "U_CUSTOMER", "text": "Send the quote, won’t you"}

    first, first_answer = _log_message(
        replay_app, sender, message, no, "Quote asked – it’s “urgent”"
    )
    assert sender.interaction(first).response.status == 200
    assert f"Logged the message on {no}" in _answer(replay_app, first_answer)
    again, again_answer = _log_message(replay_app, sender, message, no, "The same message again")
    assert sender.interaction(again).response.status == 200
    assert f"That message is on {no}" in _answer(replay_app, again_answer)

    other = {"ts": "1700000777.000200", "user": "U_CUSTOMER", "text": "Another message"}
    retried, retried_answer = _log_message(replay_app, sender, other, no, "Another one")
    assert sender.interaction(retried).response.status == 200
    assert f"Logged the message on {no}" in _answer(replay_app, retried_answer)
    assert sender.interaction(retried, retry=1).response.status == 200
    replay_app.wait_for_log(rf"delivery \S*{re.escape(retried['trigger_id'])}:log\S* ran already")

    sent = sender.command(f"history {no}")
    history = replay_app.double.wait_for(RESPONSE_URL, lambda c: c.target == sent.response_url_id)
    assert history.body["text"] == "2 interactions"
    assert "Quote asked – it’s “urgent”" in history.text
    assert "The same message again" not in history.text
    answers = [c for c in replay_app.double.calls(RESPONSE_URL) if c.target == retried_answer]
    assert len(answers) == 1
