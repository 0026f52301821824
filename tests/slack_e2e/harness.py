"""Slack's side of the end-to-end tests: the app as a user starts it, and requests as Slack
sends them.

`SlackProcess` runs `contactbot slack [--http --port N]` as a subprocess with its own config
file, data directory and database, pointed at a SlackDouble through CONTACTBOT_SLACK_API_URL,
and waits for it to serve. `SlackSender` posts slash commands (form-encoded), interactivity
payloads (`payload=<json>`) and Events API bodies (JSON: `event_callback`) to its
/slack/events, signed as Slack signs them: `v0=` + the HMAC-SHA256 of
`v0:{timestamp}:{body}` under the signing secret, in X-Slack-Signature, with the timestamp in
X-Slack-Request-Timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.slack_double import BOT_USER_ID, TEAM_ID, SlackDouble

#: Test values, not secrets: the app and the sender share them through the environment.
BOT_TOKEN = "xoxb-contactbot-e2e"
APP_TOKEN = "xapp-1-contactbot-e2e"
SIGNING_SECRET = "e2e-signing-secret-0123456789abcdef"
API_APP_ID = "A0CONTACTBOT"
START_SECONDS = 30.0
#: Variables the app must not inherit from the test run: its own settings, and proxies (the
#: tests reach nothing but 127.0.0.1).
_CLEARED_PREFIXES = ("SLACK_", "CONTACTBOT_")
_CLEARED_NAMES = {"http_proxy", "https_proxy", "all_proxy"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def contactbot_command() -> list[str]:
    """The installed console script next to this interpreter (what a user runs)."""
    script = Path(sys.executable).with_name("contactbot")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]


def write_config(path: Path, roles: Mapping[str, list[str]] | None = None, extra: str = "") -> Path:
    """A config file with `[roles]` (when given) and `extra` TOML."""
    lines = []
    if roles:
        lines.append("[roles]")
        lines.extend(f"{name} = {json.dumps(ids)}" for name, ids in roles.items())
    path.write_text("\n".join([*lines, extra]) + "\n", encoding="utf-8")
    return path


class SlackProcess:
    """`contactbot slack …` in a subprocess; its log (standard error) goes to `log_path`, with
    debug messages unless `verbose` is off (tests read the log; the benchmark does not)."""

    def __init__(
        self,
        work: Path,
        double: SlackDouble,
        database_url: str,
        *,
        http: bool = True,
        roles: Mapping[str, list[str]] | None = None,
        config: str = "",
        verbose: bool = True,
    ) -> None:
        self.work = work
        self.verbose = verbose
        self.double = double
        self.database_url = database_url
        self.http = http
        self.port = free_port() if http else 0
        self.config = write_config(work / "config.toml", roles, config)
        self.log_path = work / "contactbot.log"
        self.process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(_CLEARED_PREFIXES) and k.lower() not in _CLEARED_NAMES
        }
        env.update(
            CONTACTBOT_CONFIG=str(self.config),
            CONTACTBOT_DATA_DIR=str(self.work / "data"),
            CONTACTBOT_DATABASE_URL=self.database_url,
            CONTACTBOT_SLACK_API_URL=self.double.url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
        )
        if self.http:
            env["SLACK_SIGNING_SECRET"] = SIGNING_SECRET
        else:
            env["SLACK_APP_TOKEN"] = APP_TOKEN
        return env

    def start(self) -> SlackProcess:
        args = [*contactbot_command(), *(["-v"] if self.verbose else []), "slack"]
        if self.http:
            args += ["--http", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                args, cwd=self.work, env=self.environment(), stdout=log, stderr=log
            )
        if self.http:
            self.wait_until_healthy()
        return self

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            self.check_running()
            try:
                if get(self.port, "/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)  # polling a port that is not open yet: nothing to wait on
        raise AssertionError(f"contactbot did not serve in {START_SECONDS} s:\n{self.log()}")

    def check_running(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"contactbot exited with {self.process.returncode}:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """The first match of `pattern` in the app's log, once it has been written."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.log())
            if found:
                return found
            self.check_running()
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not in the log after {timeout} s")
            time.sleep(0.05)  # a file has no change notification to wait on

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def request(
    port: int, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> Response:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        answer = connection.getresponse()
        data = answer.read()
        return Response(answer.status, data, time.perf_counter() - started)
    finally:
        connection.close()


def get(port: int, path: str) -> Response:
    return request(port, "GET", path)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: bytes, *, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(secret, stamp, body),
    }


_TRIGGERS = itertools.count(1)


def trigger_id() -> str:
    return f"{next(_TRIGGERS)}.{int(time.time())}.{uuid.uuid4().hex[:16]}"


def user(user_id: str) -> dict[str, str]:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def event_callback(event: Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An Events API body as Slack posts it (or sends it in a Socket Mode `events_api`
    envelope): `event` inside, a fresh event_id unless one is given."""
    return {
        "token": "deprecated-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": API_APP_ID,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def mention(
    text: str,
    ts: str,
    *,
    user_id: str = "U_SALES",
    channel: str = "C_SALES",
    thread_ts: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An `app_mention` event: `<@bot> text` written by `user_id` at `ts`."""
    event = {
        "type": "app_mention",
        "user": user_id,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
        **fields,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def direct_message(
    text: str, ts: str, *, user_id: str = "U_SALES", channel: str = "D_SALES", **fields: Any
) -> dict[str, Any]:
    """A `message` event in the DM `channel` (what `message.im` delivers)."""
    return {
        "type": "message",
        "channel_type": "im",
        "user": user_id,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
        **fields,
    }


def interactive(kind: str, user_id: str, **fields: Any) -> dict[str, Any]:
    """An interactivity payload of `kind`: the fields every one carries, then `fields`."""
    return {
        "type": kind,
        "team": {"id": TEAM_ID, "domain": "contactbot-test"},
        "user": user(user_id),
        "api_app_id": API_APP_ID,
        "token": "deprecated-verification-token",
        **fields,
    }


@dataclass(frozen=True)
class Sent:
    """A request as posted, and the app's HTTP answer."""

    payload: dict[str, Any]
    body: bytes
    response: Response

    @property
    def response_url_id(self) -> str:
        return str(self.payload.get("response_url", "")).rsplit("/", 1)[-1]


class SlackSender:
    """Posts what Slack posts to the app's /slack/events."""

    def __init__(self, port: int, double: SlackDouble) -> None:
        self.port = port
        self.double = double

    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        signed: bool = True,
        timestamp: int | None = None,
        retry: int | None = None,
    ) -> Response:
        headers = {"Content-Type": content_type}
        if signed:
            headers.update(signed_headers(body, timestamp=timestamp))
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return request(self.port, "POST", "/slack/events", body, headers)

    def command_payload(
        self, text: str, *, user_id: str = "U_SALES", channel: str = "C_SALES"
    ) -> dict[str, Any]:
        return {
            "token": "deprecated-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "contactbot-test",
            "channel_id": channel,
            "channel_name": "sales",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": "/contact",
            "text": text,
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": self.double.response_url(),
            "trigger_id": trigger_id(),
        }

    def command(self, text: str, **kwargs: Any) -> Sent:
        """`/contact <text>`, form-encoded and signed."""
        payload = self.command_payload(text, **kwargs)
        return self.resend(payload)

    def resend(self, payload: dict[str, Any], *, retry: int | None = None, **options: Any) -> Sent:
        """Post a slash command payload (again: `retry` sets X-Slack-Retry-Num)."""
        body = urlencode(payload).encode()
        response = self.post(body, "application/x-www-form-urlencoded", retry=retry, **options)
        return Sent(payload, body, response)

    def interaction(self, payload: dict[str, Any], **options: Any) -> Sent:
        """An interactivity payload, as Slack posts it: form field `payload` holding JSON."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        response = self.post(body, "application/x-www-form-urlencoded", **options)
        return Sent(payload, body, response)

    def event(
        self, event: Mapping[str, Any], *, event_id: str | None = None, retry: int | None = None
    ) -> Sent:
        """An Events API event_callback around `event`, posted as JSON and signed."""
        return self.resend_event(event_callback(event, event_id=event_id), retry=retry)

    def resend_event(self, payload: dict[str, Any], *, retry: int | None = None) -> Sent:
        """Post an Events API body (again: `retry` sets X-Slack-Retry-Num)."""
        body = json.dumps(payload).encode()
        response = self.post(body, "application/json", retry=retry)
        return Sent(payload, body, response)

    # --- interactivity payloads ------------------------------------------------------------

    def block_actions(
        self, action: Mapping[str, Any], *, user_id: str = "U_SALES", channel: str = "C_SALES"
    ) -> dict[str, Any]:
        """A click on `action` (an element of a message that reached the double)."""
        clicked = {
            "action_id": action["action_id"],
            "block_id": action.get("block_id", "b"),
            "type": action.get("type", "button"),
            "action_ts": f"{time.time():.6f}",
        }
        for key in ("value", "selected_option", "text"):
            if key in action:
                clicked[key] = action[key]
        container = {
            "type": "message",
            "message_ts": "1700000000.000100",
            "channel_id": channel,
            "is_ephemeral": True,
        }
        return interactive(
            "block_actions",
            user_id,
            container=container,
            trigger_id=trigger_id(),
            channel={"id": channel, "name": "sales"},
            response_url=self.double.response_url(),
            actions=[clicked],
        )

    def view_submission(
        self, view: Mapping[str, Any], values: Mapping[str, Any], *, user_id: str = "U_SALES"
    ) -> dict[str, Any]:
        """Submitting `view` (as views.open received it) with state `values`."""
        submitted = {
            **view,
            "id": view.get("id", "V0TEST"),
            "state": {"values": dict(values)},
            "hash": "1700000000.abcdef",
        }
        return interactive(
            "view_submission", user_id, trigger_id=trigger_id(), view=submitted, response_urls=[]
        )

    def block_suggestion(
        self, action_id: str, value: str, *, block_id: str = "", user_id: str = "U_SALES"
    ) -> dict[str, Any]:
        return interactive(
            "block_suggestion",
            user_id,
            container={"type": "view", "view_id": "V0TEST"},
            action_id=action_id,
            block_id=block_id or action_id,
            value=value,
            view={"id": "V0TEST", "type": "modal", "callback_id": "x"},
        )

    def message_action(
        self,
        callback_id: str,
        message: Mapping[str, Any],
        *,
        user_id: str = "U_SALES",
        channel: str = "C_SALES",
    ) -> dict[str, Any]:
        return interactive(
            "message_action",
            user_id,
            callback_id=callback_id,
            trigger_id=trigger_id(),
            message_ts=message["ts"],
            response_url=self.double.response_url(),
            channel={"id": channel, "name": "sales"},
            message={"type": "message", **message},
        )


def text_values(**fields: str) -> dict[str, Any]:
    """view.state.values for plain text inputs (block id = field, action id = value)."""
    return {
        name: {"value": {"type": "plain_text_input", "value": value}}
        for name, value in fields.items()
    }


def selected(
    block_id: str, action_id: str, value: str, kind: str = "radio_buttons"
) -> dict[str, Any]:
    """view.state.values for one picked option (radio buttons, a select)."""
    return {
        block_id: {
            action_id: {
                "type": kind,
                "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
            }
        }
    }


def numbers_named(text: str, name: str) -> set[str]:
    """The contact numbers on the lines of a `find` reply that hold `name`: find lists the
    near spellings after the exact ones, so counting every number would count those too."""
    lines = [line for line in text.splitlines() if name in line]
    return {no for line in lines for no in re.findall(r"CT\d{6}", line)}
