"""Serving Slack: HTTP mode (a WSGI app on waitress) and Socket Mode.

HTTP mode: POST /slack/events goes to Bolt once it has passed bot.slack.admission (a body over
`[slack] max_body_bytes` gets 413 unread, a bad or stale signature 401, a signed body that is
not a well-formed Slack payload 400, each with a log line); GET /healthz answers bot.health's
report (200 while every part works, else 503). waitress runs enough threads for 20 concurrent
requests, each acked as soon as its listener calls ack(), and is bounded
(bot.slack.bounded_waitress) so that slow or idle clients cannot hold every connection: each
connection has `request_seconds` to deliver a whole request, one client address may hold
`connections_per_client` connections, all together
`connection_limit`. waitress itself refuses headers over MAX_HEADER_BYTES (431) and bodies over
max_body_bytes (413) while it reads them, so it never buffers more either.

Socket Mode: slack_bolt's built-in SocketModeHandler; its WebClient is the app's, so
apps.connections.open goes to the configured Web API base URL too.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App as BoltApp
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse

from bot.health import HealthMonitor
from bot.runtime import App
from bot.slack.admission import Refusal, admit
from bot.slack.body import bolt_request
from bot.slack.bounded_waitress import Bounds, create_bounded_server

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
HTTP_THREADS = 32
#: Request line and headers together (Slack's are under 2 KB; a proxy adds a few forwarded ones).
MAX_HEADER_BYTES = 16 * 1024
#: Idle connections are also closed by waitress after this long (checked every CLEANUP_SECONDS);
#: the request deadline of bounded_waitress is usually sooner.
CHANNEL_TIMEOUT_SECONDS = 30
CLEANUP_SECONDS = 5

StartResponse = Callable[..., Any]


class SlackWsgi:
    """The tiny router: /slack/events to Bolt, /healthz, 404 for anything else."""

    def __init__(self, bolt: BoltApp, app: App, *, signing_secret: str) -> None:
        self.bolt = bolt
        self.app = app
        self.signing_secret = signing_secret
        self.max_body_bytes = app.settings.slack.max_body_bytes
        self.health_monitor = HealthMonitor(app.settings, app.store)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH:
            if method != "POST":
                return _answer(start_response, "405 Method Not Allowed", {"error": "POST only"})
            return self.events(environ, start_response)
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            return self.health(start_response)
        return _answer(start_response, "404 Not Found", {"error": "not found"})

    def events(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Bolt gets the request only once admitted, with the body already read (bounded) and
        parsed by bot.slack.body (Bolt would take a command holding the word "payload" for an
        interaction and drop it)."""
        try:
            body = admit(environ, self.signing_secret, self.max_body_bytes)
        except Refusal as refusal:
            # Unsigned requests are the internet's noise (info); a signed one that is malformed,
            # or a body too large, is worth a warning.
            log.log(
                logging.INFO if refusal.status.startswith("401") else logging.WARNING,
                "refused a request to %s from %s: %s (%s)",
                EVENTS_PATH,
                environ.get("REMOTE_ADDR", "?"),
                refusal.reason,
                refusal.status,
            )
            return _answer(start_response, refusal.status, {"error": refusal.reason})
        if body is None:  # Slack's SSL check
            return _answer(start_response, "200 OK", {"ok": True})
        admitted = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        request = WsgiHttpRequest(admitted)
        answer = self.bolt.dispatch(
            bolt_request(
                body.decode("utf-8"), query=request.query_string, headers=request.get_headers()
            )
        )
        response = WsgiHttpResponse(status=answer.status, headers=answer.headers, body=answer.body)
        start_response(response.status, response.get_headers())
        return response.get_body()

    def health(self, start_response: StartResponse) -> Iterable[bytes]:
        """bot.health's report, the JSON `contactbot run --health-port` serves too."""
        status, body = self.health_monitor.response()
        return _answer(start_response, status, body)


def _answer(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def serve_http(
    bolt: BoltApp,
    app: App,
    *,
    host: str,
    port: int,
    signing_secret: str,
    stop: threading.Event | None = None,
) -> None:
    """Serve until interrupted (or until `stop` is set)."""
    limits = app.settings.slack
    server = create_bounded_server(
        SlackWsgi(bolt, app, signing_secret=signing_secret),
        Bounds(
            request_seconds=limits.request_seconds,
            connections_per_client=limits.connections_per_client,
        ),
        host=host,
        port=port,
        threads=HTTP_THREADS,
        connection_limit=limits.connection_limit,
        channel_timeout=CHANNEL_TIMEOUT_SECONDS,
        cleanup_interval=CLEANUP_SECONDS,
        max_request_header_size=MAX_HEADER_BYTES,
        # waitress refuses a body of max_request_body_size bytes or more.
        max_request_body_size=limits.max_body_bytes + 1,
        # poll(), not select(): select() cannot watch a descriptor numbered 1024 or above.
        asyncore_use_poll=True,
        ident="contactbot",
    )
    if stop is not None:
        threading.Thread(
            target=lambda: (stop.wait(), server.close()), name="slack-http-stop", daemon=True
        ).start()
    log.info("Slack HTTP mode on http://%s:%s%s", host, port, EVENTS_PATH)
    try:
        server.run()
    except (OSError, ValueError):
        if stop is None or not stop.is_set():
            raise


def serve_socket_mode(bolt: BoltApp, app_token: str, stop: threading.Event) -> None:
    """Connect over Socket Mode and serve until `stop` is set."""
    from slack_bolt.adapter.socket_mode.builtin import SocketModeHandler

    handler = SocketModeHandler(bolt, app_token, web_client=bolt.client, concurrency=16)
    handler.connect()
    log.info("Slack Socket Mode connected")
    try:
        stop.wait()
    finally:
        handler.close()
