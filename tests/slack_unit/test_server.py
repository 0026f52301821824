"""The WSGI router of HTTP mode: /slack/events to Bolt (signatures checked), /healthz, 404."""

from __future__ import annotations

import io
import json
from typing import Any

from slack_bolt import App as BoltApp

from bot.slack.server import SlackWsgi
from tests.conftest import ChatBot


def _call(
    wsgi: SlackWsgi, method: str, path: str, body: bytes = b"", **headers: str
) -> tuple[str, bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }
    seen: list[str] = []
    chunks = wsgi(environ, lambda status, _headers: seen.append(status))
    return seen[0], b"".join(chunks)


def test_routes(bot: ChatBot) -> None:
    bolt = BoltApp(
        token="xoxb-test",
        signing_secret="secret",
        token_verification_enabled=False,
    )
    wsgi = SlackWsgi(bolt, bot.app, signing_secret="secret")
    status, body = _call(wsgi, "GET", "/healthz")  # bot.health's report (tests/test_health.py)
    assert status == "200 OK" and json.loads(body)["ok"] is True
    assert _call(wsgi, "GET", "/nope")[0] == "404 Not Found"
    assert _call(wsgi, "GET", "/slack/events")[0] == "405 Method Not Allowed"
    status, _ = _call(wsgi, "POST", "/slack/events", b"command=%2Fcontact&text=help")
    assert status.startswith("401")
    stale = {"X_SLACK_REQUEST_TIMESTAMP": "1", "X_SLACK_SIGNATURE": "v0=00"}
    assert _call(wsgi, "POST", "/slack/events", b"command=%2Fcontact", **stale)[0].startswith("401")
