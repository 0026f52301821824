"""Slack's side of Socket Mode, on 127.0.0.1: a WebSocket server speaking the envelope protocol.

The app asks the Web API (the double) `apps.connections.open` for a WebSocket URL; the double
answers with this server's `url`. On each connection the server sends `hello`; the test then
sends envelopes (`send_envelope`: envelope_id, type, payload, accepts_response_payload,
retry_attempt) and reads the app's acknowledgements (`wait_for_ack`: `{"envelope_id": …}`, with
a `payload` when the ack carries an answer). `disconnect()` sends Slack's `disconnect` message,
after which the app opens a new connection (`wait_for_connections`).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

APP_ID = "A0CONTACTBOT"


class SocketModeServer:
    def __init__(self) -> None:
        self._server: Server | None = None
        self._changed = threading.Condition()
        self._open: list[ServerConnection] = []
        self.connections = 0  # how many connections were ever made
        self.received: list[dict[str, Any]] = []  # what the app sent, oldest first
        self._retiring: list[ServerConnection] = []  # told to go; closed once a new one opens

    def start(self) -> SocketModeServer:
        self._server = serve(self._handle, "127.0.0.1", 0)
        threading.Thread(
            target=self._server.serve_forever, name="socket-mode-server", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    @property
    def url(self) -> str:
        """What apps.connections.open answers (Slack's is wss://wss-primary.slack.com/link/…)."""
        assert self._server is not None
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={uuid.uuid4()}&app_id={APP_ID}"

    def _handle(self, connection: ServerConnection) -> None:
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "local-socket-mode", "approximate_connection_time": 3600},
            "connection_info": {"app_id": APP_ID},
        }
        connection.send(json.dumps(hello))
        with self._changed:
            self._open.append(connection)
            self.connections += 1
            retiring, self._retiring = self._retiring, []
            self._changed.notify_all()
        for old in retiring:  # as Slack does once the replacement is open
            old.close()
        try:
            for message in connection:
                with self._changed:
                    self.received.append(json.loads(message))
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                self._open.remove(connection)
                self._changed.notify_all()

    def _wait(self, ready: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = ready()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {what} within {timeout} s")
                self._changed.wait(left)

    def wait_for_connections(self, count: int, timeout: float = 30.0) -> None:
        """Until `count` connections were made and one is open."""
        self._wait(
            lambda: self.connections >= count and self._open, timeout, f"connection #{count}"
        )

    def send(self, message: dict[str, Any]) -> None:
        """Send on the newest open connection."""
        with self._changed:
            assert self._open, "no open Socket Mode connection"
            connection = self._open[-1]
        connection.send(json.dumps(message))

    def send_envelope(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        accepts_response_payload: bool = True,
    ) -> str:
        envelope_id = str(uuid.uuid4())
        self.send(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": accepts_response_payload,
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        def ack() -> dict[str, Any] | None:
            return next((m for m in self.received if m.get("envelope_id") == envelope_id), None)

        return self._wait(ack, timeout, f"ack of {envelope_id}")

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's warning that this connection is about to go: the app should reconnect. The
        server closes it once the app has opened another."""
        with self._changed:
            assert self._open, "no open Socket Mode connection"
            self._retiring.append(self._open[-1])
        self.send({"type": "disconnect", "reason": reason, "debug_info": {"host": "local"}})
