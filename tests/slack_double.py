"""A local Slack Web API double: an HTTP server on 127.0.0.1 that records every call.

Point the app at it with `CONTACTBOT_SLACK_API_URL=double.url` (or `Settings.slack.api_url`);
`response_url`s handed to the app come from `double.response_url()` and point at it too, so
nothing a test runs reaches slack.com. The double answers the methods contactbot calls the way
Slack does (`ok: true` and the fields a client reads), refuses a call without a token as Slack
does (`not_authed`), and answers anything else with `unknown_method`.

    double = SlackDouble().start()            # or the `slack_double` fixture
    double.rate_limit("chat.postMessage", times=1)   # the next call gets 429 + Retry-After
    double.server_error("chat.postMessage")          # the next call gets 503
    double.fail("views.open", "expired_trigger_id")  # the next call gets ok: false
    url = double.response_url()              # POSTs to it are recorded as "response_url"
    call = double.wait_for("chat.postEphemeral", lambda c: "CT000001" in c.text)
    double.calls("views.open")               # every call so far, oldest first
    ts = double.add_message("C1", "Acme wants a quote", user="U1")  # what people wrote,
    # read back by conversations.replies / conversations.history (chat.postMessage adds too)
    double.stop()

Every request is recorded, the refused ones too (with their `status`), so a test can count the
attempts of a retried call. `wait_for` is how a test waits for work the app does after its ack;
`assert_never` is the one bounded wait for something that must not happen.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

#: The method name under which POSTs to a response_url are recorded.
RESPONSE_URL = "response_url"
TEAM_ID = "T0CONTACT"
BOT_USER_ID = "U0CONTACTBOT"
BOT_ID = "B0CONTACTBOT"
WORKSPACE_URL = "https://contactbot-test.slack.com/"

#: Fields Slack takes as JSON text when a client sends them form-encoded.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")


@dataclass(frozen=True)
class Call:
    """One request the double received."""

    method: str  # "chat.postMessage", or RESPONSE_URL for a POST to a response_url
    body: dict[str, Any]  # query string, form or JSON body, JSON-valued form fields decoded
    headers: dict[str, str]  # lower-case names
    status: int  # what the double answered: 200, 429 when rate limited, 5xx when told to
    target: str = ""  # the id of the response_url, for RESPONSE_URL calls
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic)
    answer: dict[str, Any] = field(default_factory=dict)  # what the double answered (JSON)

    @property
    def text(self) -> str:
        """The message's text plus every text in its blocks (or its view's), for assertions
        on what a user would read."""
        parts = [str(self.body.get("text") or "")]
        parts.extend(_texts(self.body.get("blocks")))
        parts.extend(_texts(self.body.get("view")))
        return "\n".join(p for p in parts if p)

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.body.get("blocks")
        return blocks if isinstance(blocks, list) else []

    @property
    def view(self) -> dict[str, Any]:
        view = self.body.get("view")
        return view if isinstance(view, dict) else {}


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from _texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _texts(value)


Predicate = Callable[[Call], bool]


class SlackDouble:
    """The double. Thread-safe: the app calls it from its own threads (or process)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._calls: list[Call] = []
        self._changed = threading.Condition()
        self._rate_limits: dict[str, list[int]] = {}  # method -> [times left, retry after]
        self._failures: dict[str, list[Any]] = {}  # method -> [times left, error]
        self._server_errors: dict[str, list[int]] = {}  # method -> [times left, status]
        self._ts = itertools.count(1)
        #: users.info answers: user id -> {"name", "real_name", "email"}; others get a profile
        #: without an email.
        self.users: dict[str, dict[str, str]] = {}
        #: usergroups.users.list answers: group id -> member user ids.
        self.groups: dict[str, list[str]] = {}
        #: What apps.connections.open answers as `url` (a ws:// URL of a Socket Mode server).
        self.socket_mode_url: str | None = None
        #: The messages of each channel, oldest first (add_message, chat.postMessage).
        self.messages: dict[str, list[dict[str, Any]]] = {}

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> SlackDouble:
        self._server = ThreadingHTTPServer((self.host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="slack-double", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the double first"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The Web API base URL: the value for CONTACTBOT_SLACK_API_URL."""
        return f"http://{self.host}:{self.port}/api/"

    def response_url(self, target: str | None = None) -> str:
        """A response_url served by the double; POSTs to it are recorded as RESPONSE_URL calls
        with `target` (a fresh id when not given)."""
        return f"http://{self.host}:{self.port}/response/{target or uuid.uuid4().hex[:12]}"

    def reset(self) -> None:
        """Forget the calls and pending refusals (between tests sharing one double)."""
        with self._changed:
            self._calls.clear()
            self._rate_limits.clear()
            self._failures.clear()
            self._server_errors.clear()
            self.users.clear()
            self.groups.clear()
            self.messages.clear()

    # --- steering ----------------------------------------------------------------------

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` get 429 with `Retry-After: retry_after`."""
        with self._changed:
            self._rate_limits[method] = [times, retry_after]

    def server_error(self, method: str, times: int = 1, status: int = 503) -> None:
        """The next `times` calls of `method` get HTTP `status` (a 5xx, as Slack's edge gives
        on a bad day)."""
        with self._changed:
            self._server_errors[method] = [times, status]

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """The next `times` calls of `method` get `{"ok": false, "error": error}` (a
        response_url answers 404 with `error` as its text, as Slack's do)."""
        with self._changed:
            self._failures[method] = [times, error]

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str | None = None,
        thread_ts: str | None = None,
        **fields: Any,
    ) -> str:
        """A message in `channel` (in the thread `thread_ts`), as conversations.replies and
        conversations.history will give it; returns its ts."""
        with self._changed:
            ts = self._next_ts()
            message: dict[str, Any] = {"type": "message", "text": text, "ts": ts, **fields}
            if user:
                message["user"] = user
            if thread_ts:
                message["thread_ts"] = thread_ts
            self.messages.setdefault(channel, []).append(message)
            return ts

    # --- reading -----------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """The calls of `method` (every call when None), oldest first."""
        with self._changed:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(
        self,
        method: str | tuple[str, ...],
        predicate: Predicate | None = None,
        timeout: float = 10.0,
    ) -> Call:
        """The first answered (HTTP 200) call of `method` (or any of several) that `predicate`
        accepts, waiting up to `timeout` seconds for it; AssertionError with what did arrive
        when none does."""
        methods = (method,) if isinstance(method, str) else method
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for call in self._calls:
                    wanted = call.method in methods and call.status == 200
                    if wanted and (predicate is None or predicate(call)):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.status, c.text[:120]) for c in self._calls]
                    raise AssertionError(f"no matching {methods} call in {timeout} s; got {seen}")
                self._changed.wait(left)

    def assert_never(
        self, method: str | tuple[str, ...], predicate: Predicate | None = None, within: float = 1.0
    ) -> None:
        """Fail if a matching call arrives within `within` seconds (or arrived already)."""
        try:
            call = self.wait_for(method, predicate, timeout=within)
        except AssertionError:
            return
        raise AssertionError(f"unexpected {call.method} call: {call.body}")

    # --- answering (called by the handler) -------------------------------------------------

    def _record(self, call: Call) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def _refusal(self, method: str) -> tuple[int, dict[str, str], dict[str, Any]] | None:
        with self._changed:
            limit = self._rate_limits.get(method)
            if limit and limit[0] > 0:
                limit[0] -= 1
                return 429, {"Retry-After": str(limit[1])}, {"ok": False, "error": "ratelimited"}
            broken = self._server_errors.get(method)
            if broken and broken[0] > 0:
                broken[0] -= 1
                return broken[1], {}, {"ok": False, "error": "internal_error"}
            failure = self._failures.get(method)
            if failure and failure[0] > 0:
                failure[0] -= 1
                return 200, {}, {"ok": False, "error": failure[1]}
        return None

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def answer(self, method: str, body: Mapping[str, Any], authed: bool) -> dict[str, Any]:
        """Slack's answer to one Web API call."""
        if not authed:
            return {"ok": False, "error": "not_authed"}
        handler = _ANSWERS.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        return handler(self, body)


def _auth_test(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "ok": True,
        "url": WORKSPACE_URL,
        "team": "contactbot test",
        "user": "contactbot",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def _post_message(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    if not body.get("channel"):
        return {"ok": False, "error": "channel_not_found"}
    if not body.get("text") and not body.get("blocks"):
        return {"ok": False, "error": "no_text"}
    fields: dict[str, Any] = {"bot_id": BOT_ID}
    if body.get("blocks"):
        fields["blocks"] = body["blocks"]
    channel = str(body["channel"])
    thread_ts = str(body.get("thread_ts") or "") or None
    text = str(body.get("text") or "")
    ts = double.add_message(channel, text, user=BOT_USER_ID, thread_ts=thread_ts, **fields)
    message = next(m for m in double.messages[channel] if m["ts"] == ts)
    return {"ok": True, "channel": channel, "ts": ts, "message": message}


def _channel_messages(double: SlackDouble, body: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    with double._changed:
        found = double.messages.get(str(body.get("channel") or ""))
        return None if found is None else [dict(m) for m in found]


def _replies(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    """A thread, its root first, as Slack answers (limit counts the root too)."""
    messages = _channel_messages(double, body)
    if messages is None:
        return {"ok": False, "error": "channel_not_found"}
    ts = str(body.get("ts") or "")
    thread = [m for m in messages if m["ts"] == ts or m.get("thread_ts") == ts]
    if not thread:
        return {"ok": False, "error": "thread_not_found"}
    thread.sort(key=lambda m: m["ts"])
    limit = int(body.get("limit") or 1000)
    return {"ok": True, "messages": thread[:limit], "has_more": len(thread) > limit}


def _history(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    """The channel's top-level messages, newest first, between oldest and latest."""
    messages = _channel_messages(double, body)
    if messages is None:
        return {"ok": False, "error": "channel_not_found"}
    inclusive = str(body.get("inclusive") or "").lower() in ("1", "true")
    latest, oldest = body.get("latest"), body.get("oldest")

    def within(m: dict[str, Any]) -> bool:
        ts = float(m["ts"])
        if latest and (ts > float(latest) or (ts == float(latest) and not inclusive)):
            return False
        return not oldest or ts > float(oldest) or (ts == float(oldest) and inclusive)

    top = [m for m in messages if m.get("thread_ts") in (None, m["ts"]) and within(m)]
    top.sort(key=lambda m: m["ts"], reverse=True)
    limit = int(body.get("limit") or 100)
    return {"ok": True, "messages": top[:limit], "has_more": len(top) > limit}


def _post_ephemeral(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    if not body.get("channel"):
        return {"ok": False, "error": "channel_not_found"}
    if not body.get("user"):
        return {"ok": False, "error": "user_not_in_channel"}
    return {"ok": True, "message_ts": double._next_ts()}


def _view(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    view = body.get("view")
    if not isinstance(view, dict):
        return {"ok": False, "error": "invalid_arguments"}
    view_id = body.get("view_id") or f"V{uuid.uuid4().hex[:10].upper()}"
    return {
        "ok": True,
        "view": {
            **view,
            "id": view_id,
            "team_id": TEAM_ID,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "root_view_id": view_id,
            "app_id": "A0CONTACTBOT",
            "bot_id": BOT_ID,
        },
    }


def _views_open(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    if not body.get("trigger_id"):
        return {"ok": False, "error": "invalid_trigger_id"}
    return _view(double, body)


def _views_update(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    if not body.get("view_id") and not body.get("external_id"):
        return {"ok": False, "error": "not_found"}
    return _view(double, body)


def _views_publish(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    if not body.get("user_id"):
        return {"ok": False, "error": "invalid_arguments"}
    return _view(double, body)


def _users_info(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    user_id = str(body.get("user") or "")
    if not user_id:
        return {"ok": False, "error": "user_not_found"}
    known = double.users.get(user_id, {})
    name = known.get("name", user_id.lower())
    real_name = known.get("real_name", name)
    profile: dict[str, Any] = {"real_name": real_name, "display_name": name}
    if known.get("email"):
        profile["email"] = known["email"]
    user = {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "real_name": real_name,
        "deleted": False,
        "is_bot": False,
        "profile": profile,
    }
    return {"ok": True, "user": user}


def _permalink(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    channel, ts = str(body.get("channel") or ""), str(body.get("message_ts") or "")
    if not channel or not ts:
        return {"ok": False, "error": "message_not_found"}
    link = f"{WORKSPACE_URL}archives/{channel}/p{ts.replace('.', '')}"
    return {"ok": True, "channel": channel, "permalink": link}


def _group_members(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    group = str(body.get("usergroup") or "")
    if group not in double.groups:
        return {"ok": False, "error": "no_such_subteam"}
    return {"ok": True, "users": list(double.groups[group])}


def _connections_open(double: SlackDouble, body: Mapping[str, Any]) -> dict[str, Any]:
    if not double.socket_mode_url:
        return {"ok": False, "error": "not_allowed_token_type"}
    return {"ok": True, "url": double.socket_mode_url}


_ANSWERS: dict[str, Callable[[SlackDouble, Mapping[str, Any]], dict[str, Any]]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _post_message,
    "chat.postEphemeral": _post_ephemeral,
    "views.open": _views_open,
    "views.update": _views_update,
    "views.publish": _views_publish,
    "users.info": _users_info,
    "chat.getPermalink": _permalink,
    "usergroups.users.list": _group_members,
    "apps.connections.open": _connections_open,
    "conversations.replies": _replies,
    "conversations.history": _history,
}


def _parse_body(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    body: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if not raw:
        return body
    if "json" in content_type:
        data = json.loads(raw)
        if isinstance(data, dict):
            body.update(data)
        return body
    body.update(parse_qsl(raw.decode(), keep_blank_values=True))
    for name in _JSON_FIELDS:  # form-encoded clients send these as JSON text
        if isinstance(body.get(name), str) and body[name][:1] in "[{":
            with contextlib.suppress(ValueError):
                body[name] = json.loads(body[name])
    return body


def _handler_for(double: SlackDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                body = _parse_body(raw, headers.get("content-type", ""), parts.query)
            except ValueError:
                body = {"_raw": raw.decode(errors="replace")}
            segments = parts.path.strip("/").split("/")
            if len(segments) == 2 and segments[0] == "api":
                self._api(segments[1], body, headers)
            elif len(segments) == 2 and segments[0] == "response" and self.command == "POST":
                self._response_url(segments[1], body, headers)
            else:
                self._send(404, {}, b"not found", "text/plain")

        def _api(self, method: str, body: dict[str, Any], headers: dict[str, str]) -> None:
            refusal = double._refusal(method)
            if refusal is not None:
                status, extra, answer = refusal
                double._record(Call(method, body, headers, status, answer=answer))
                self._send(status, extra, json.dumps(answer).encode(), "application/json")
                return
            authed = headers.get("authorization", "").startswith("Bearer ") or bool(
                body.get("token")
            )
            answer = double.answer(method, body, authed)
            double._record(Call(method, body, headers, 200, answer=answer))
            self._send(200, {}, json.dumps(answer).encode(), "application/json")

        def _response_url(self, target: str, body: dict[str, Any], headers: dict[str, str]) -> None:
            refusal = double._refusal(RESPONSE_URL)
            if refusal is not None:  # 429, 5xx, or a failure as Slack gives it: 404 expired_url
                status, extra, answer = refusal
                status = status if status != 200 else 404
                double._record(Call(RESPONSE_URL, body, headers, status, target))
                self._send(status, extra, str(answer["error"]).encode(), "text/plain")
                return
            double._record(Call(RESPONSE_URL, body, headers, 200, target))
            self._send(200, {}, b"ok", "text/plain")

        def _send(self, status: int, extra: dict[str, str], data: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def slack_double() -> Iterator[SlackDouble]:
    """A started SlackDouble for one test."""
    double = SlackDouble().start()
    yield double
    double.stop()
