"""Serving Slack: HTTP mode (a WSGI app on waitress) and Socket Mode.

HTTP mode: POST /slack/events goes to Bolt (signature verified; a bad or stale one gets 401),
GET /healthz answers 200 while the database answers. waitress runs enough threads for 20
concurrent requests, each acked as soon as its listener calls ack().

Socket Mode: slack_bolt's built-in SocketModeHandler; its WebClient is the app's, so
apps.connections.open goes to the configured Web API base URL too.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App as BoltApp
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from bot.runtime import App

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
HTTP_THREADS = 32

StartResponse = Callable[..., Any]


class SlackWsgi:
    """The tiny router: /slack/events to Bolt, /healthz, 404 for anything else."""

    def __init__(self, bolt: BoltApp, app: App) -> None:
        self.bolt_handler = SlackRequestHandler(bolt)
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH:
            if method != "POST":
                return _answer(start_response, "405 Method Not Allowed", {"error": "POST only"})
            return self.bolt_handler(environ, start_response)
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            return self.health(start_response)
        return _answer(start_response, "404 Not Found", {"error": "not found"})

    def health(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            with self.app.store.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("health check: database unavailable: %s", error)
            return _answer(start_response, "503 Service Unavailable", {"ok": False})
        return _answer(start_response, "200 OK", {"ok": True})


def _answer(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def serve_http(
    bolt: BoltApp, app: App, *, host: str, port: int, stop: threading.Event | None = None
) -> None:
    """Serve until interrupted (or until `stop` is set)."""
    from waitress.server import create_server

    server = create_server(
        SlackWsgi(bolt, app),
        host=host,
        port=port,
        threads=HTTP_THREADS,
        connection_limit=200,
        channel_timeout=30,
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
