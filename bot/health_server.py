"""`contactbot run --health-port N`: /healthz on a port of its own, whatever Slack's mode.

Socket Mode opens no port, so a load balancer or a monitor has nothing to ask; this small
threaded HTTP server answers GET /healthz with bot.health's JSON (200 when every part works,
503 when one is failing), the same body HTTP mode's /healthz gives (bot.slack.server), and 404
for anything else. It runs in a daemon thread until `stop` is set.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bot.health import HealthMonitor

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


def _handler(monitor: HealthMonitor) -> type[BaseHTTPRequestHandler]:
    class HealthHandler(BaseHTTPRequestHandler):
        server_version = "contactbot"

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != HEALTH_PATH:
                self._send("404 Not Found", {"error": "not found"})
                return
            try:
                status, body = monitor.response()
            except Exception:  # a check that crashed is a failing check, not a dead server
                log.exception("health check failed")
                status, body = "503 Service Unavailable", {"ok": False}
            self._send(status, body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def _send(self, status: str, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(int(status.split()[0]))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("health: " + format, *args)

    return HealthHandler


def start_health_server(
    monitor: HealthMonitor, host: str, port: int, stop: threading.Event
) -> ThreadingHTTPServer:
    """Listen now (an OSError when the port is taken, for the caller to report) and serve in
    a thread until `stop` is set."""
    server = ThreadingHTTPServer((host, port), _handler(monitor))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()

    def close() -> None:
        stop.wait()
        server.shutdown()
        server.server_close()

    threading.Thread(target=close, name="health-stop", daemon=True).start()
    log.info("health on http://%s:%s%s", host, server.server_address[1], HEALTH_PATH)
    return server
