"""Leases in the database: one instance at a time does a piece of work (reads a mailbox).

Several `contactbot run` processes against one PostgreSQL share the mailboxes: each mailbox is
read by the instance that holds its lease, the others wait for it. The lease is a PostgreSQL
session-level advisory lock, held on a connection of its own for as long as the holder reads:

- nothing to clean up and nothing to expire by hand: when the holder dies (a crash, a
  SIGKILL, a machine that stops) its connection ends and PostgreSQL releases the lock at once
  (a peer that vanishes from the network is noticed by TCP keepalives within about 30 s), and
  a waiting instance takes it over at its next try, every `RETRY_SECONDS`: well within a minute;
- no table and no migration: the lock's key is a fixed class number and a hash of the name.

SQLite is one machine and, in practice, one process: there every lease is granted at once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

#: The advisory lock class of leases (the first key of the two-key form): "LEAS".
LEASE_CLASS = 0x4C454153
#: How often a waiting instance tries to take a lease that someone holds.
RETRY_SECONDS = 5.0
#: TCP keepalives of the lease connection: a holder gone from the network is noticed in
#: about idle + interval * count seconds, and PostgreSQL then releases its lock.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "connect_timeout": 10,
}


def lease_key(name: str) -> int:
    """A stable signed 32-bit key for `name` (the second key of the advisory lock)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big", signed=True)


class Leases:
    """Takes and holds named leases for one process (one connection per lease held)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.shared = url.startswith("postgresql")
        self._engine: Engine | None = None

    def _connect(self) -> Connection:
        if self._engine is None:
            self._engine = create_engine(
                self.url, poolclass=NullPool, connect_args=dict(KEEPALIVES)
            )
        return self._engine.connect()

    def try_take(self, name: str) -> Connection | None:
        """The connection holding `name`'s lease, or None when another instance holds it."""
        connection = self._connect()
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:class, :key)"),
                {"class": LEASE_CLASS, "key": lease_key(name)},
            ).scalar()
            connection.commit()  # the lock is the session's, not the transaction's
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()
            return None
        return connection

    @contextmanager
    def held(self, name: str, stop: threading.Event) -> Iterator[bool]:
        """Wait until `name`'s lease is ours (True) or `stop` is set (False), hold it for the
        block, then give it back. A database that does not answer is retried likewise."""
        if not self.shared:
            yield True
            return
        connection: Connection | None = None
        waited = False
        while connection is None and not stop.is_set():
            try:
                connection = self.try_take(name)
            except Exception as error:  # the database is away: wait as for a held lease
                log.warning("lease %s: cannot ask the database (%s); retrying", name, error)
            if connection is None:
                if not waited:
                    log.info("lease %s: held by another instance; waiting for it", name)
                    waited = True
                stop.wait(RETRY_SECONDS)
        if connection is None:
            yield False
            return
        log.info("lease %s: taken", name)
        try:
            yield True
        finally:
            connection.close()  # ends the session: the lock goes with it
            log.info("lease %s: given back", name)

    @contextmanager
    def if_free(self, name: str) -> Iterator[bool]:
        """Hold `name`'s lease for the block when nobody else does (True), else False."""
        if not self.shared:
            yield True
            return
        connection = self.try_take(name)
        try:
            yield connection is not None
        finally:
            if connection is not None:
                connection.close()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def mailbox_lease(name: str) -> str:
    """The lease name of a mailbox (`[[mail.accounts]]` name)."""
    return f"mailbox:{name}"
