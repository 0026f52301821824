"""The one clock: what time it is, in UTC.

The database stores naive UTC timestamps (`DateTime` without time zone, on SQLite and
PostgreSQL alike), so the store and the plugins use `utcnow()`; the scheduler and the mail
worker hand times to APScheduler, which needs them time-zone aware: `utcnow_aware()`.
"""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """Now in UTC, without tzinfo: the form every stored timestamp has."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def utcnow_aware() -> dt.datetime:
    """Now in UTC, with tzinfo=UTC: for APScheduler and other time-zone aware code."""
    return dt.datetime.now(dt.UTC)
