"""waitress with two more bounds: a deadline for reading a request, and connections per client.

waitress (3.x) bounds what one request may buffer (`max_request_header_size`,
`max_request_body_size`: it answers 431 or 413 itself, before the app sees anything), the open
connections overall (`connection_limit`: past it, it stops accepting) and idle connections
(`channel_timeout`, measured from the last byte received). It has no deadline for a whole request:
a client that sends a header byte every few seconds stays "active" for ever, and a few hundred
such clients fill `connection_limit`, so nobody else gets in (slowloris). Nor does it count
connections per client. This module adds both, in the smallest way waitress allows (a channel and
a server subclass, as webtest subclasses TcpWSGIServer):

- `BoundedChannel`: a connection has `request_seconds` to deliver one complete request (headers
  and body), counted from the moment the server starts waiting for it: the accept, or the end of
  the previous response on a kept-alive connection. Past that, waitress closes it. The check runs
  in readable(), which waitress's loop calls for every channel on every turn (at least once a
  second: `asyncore_loop_timeout`), on the loop's own thread, so it needs no lock. A connection
  whose request is being served or whose response is still being sent is never cut.
- `BoundedServer`: at most `connections_per_client` open connections from one client address (0:
  no cap); one more is closed as soon as it is accepted. Behind a reverse proxy every connection
  comes from the proxy's address: set the cap to 0 there and cap clients in the proxy
  (README, "Running HTTP mode behind a reverse proxy").
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

log = logging.getLogger(__name__)

#: A refused client is logged at most once in this many seconds (an attack would flood the log).
REFUSAL_LOG_SECONDS = 60.0


@dataclass(frozen=True)
class Bounds:
    request_seconds: float
    connections_per_client: int  # 0: no cap


class BoundedChannel(HTTPChannel):
    """An HTTPChannel that is closed when a request takes longer than the server's
    `bounds.request_seconds` to arrive."""

    server: BoundedServer

    def __init__(self, server: BoundedServer, sock: Any, addr: Any, adj: Any, map: Any = None):
        # Counted before this channel registers itself.
        crowded = server.crowded(addr)
        super().__init__(server, sock, addr, adj, map=map)
        #: When the server started waiting for this connection's next request (None: serving).
        self.waiting_since: float | None = time.monotonic()
        if crowded:
            self.handle_close()

    def readable(self) -> bool:
        busy = bool(self.requests) or bool(self.total_outbufs_len) or self.close_when_flushed
        now = time.monotonic()
        if busy:
            self.waiting_since = None
        elif self.waiting_since is None:
            self.waiting_since = now
        elif not self.will_close and now - self.waiting_since > self.server.bounds.request_seconds:
            log.info(
                "closed a connection from %s: no complete request in %s s",
                _host(self.addr),
                self.server.bounds.request_seconds,
            )
            self.will_close = True  # writable() turns true; the loop closes the channel
        return bool(super().readable())

    def service(self) -> None:
        """Log a request waitress refused itself (431, 413, 400: the app never sees those)."""
        request = self.requests[0] if self.requests else None
        error = getattr(request, "error", None)
        if error is not None:
            log.warning(
                "refused a request from %s: %s %s (%s)",
                _host(self.addr),
                error.code,
                error.reason,
                str(error.body)[:200],
            )
        super().service()


class BoundedServer(TcpWSGIServer):
    """A TcpWSGIServer whose channels are BoundedChannels, with a cap per client address."""

    channel_class = BoundedChannel

    def __init__(self, *args: Any, bounds: Bounds, **kwargs: Any) -> None:
        self.bounds = bounds
        self._refusals_logged: dict[str, float] = {}
        super().__init__(*args, **kwargs)

    def crowded(self, addr: Any) -> bool:
        """Whether the client at `addr` already holds its share of connections."""
        cap = self.bounds.connections_per_client
        if cap <= 0:
            return False
        host = _host(addr)
        held = sum(1 for channel in self.active_channels.values() if _host(channel.addr) == host)
        if held < cap:
            return False
        now = time.monotonic()
        if now - self._refusals_logged.get(host, -REFUSAL_LOG_SECONDS) >= REFUSAL_LOG_SECONDS:
            self._refusals_logged[host] = now
            log.warning("refusing connections from %s: it holds %d (the cap per client)", host, cap)
        return True


def _host(addr: Any) -> str:
    return str(addr[0]) if isinstance(addr, tuple) and addr else str(addr)


def create_bounded_server(
    application: Any, bounds: Bounds, **adjustments: Any
) -> BoundedServer | MultiSocketServer:
    """waitress.create_server, with BoundedServers (one per address `host` resolves to)."""
    adj = Adjustments(**adjustments)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    socket_map: dict[int, Any] = {}
    servers = [
        BoundedServer(
            application, socket_map, dispatcher=dispatcher, adj=adj, sockinfo=info, bounds=bounds
        )
        for info in adj.listen
    ]
    if len(servers) == 1:
        return servers[0]
    listening = [(server.effective_host, server.effective_port) for server in servers]
    return MultiSocketServer(socket_map, adj, listening, dispatcher, servers[0].log_info)
