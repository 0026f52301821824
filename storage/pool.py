"""`[database]` pool settings: how many PostgreSQL connections one contactbot process keeps.

A small module of its own so that the configuration (bot.config) can validate them without
importing the engine. SQLAlchemy's QueuePool takes them as they are (`pool_size`,
`max_overflow`, `pool_recycle` of `create_engine`); SQLite has no use for them (one file, one
writer), so storage.database ignores them there, with a note in the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

#: key -> (lowest, highest) accepted value; pool_recycle is in seconds, -1 meaning never.
POOL_LIMITS: dict[str, tuple[int, int]] = {
    "pool_size": (1, 1000),
    "max_overflow": (0, 1000),
    "pool_recycle": (-1, 86_400),
}


class PoolSettingError(ValueError):
    """A pool setting out of range or of the wrong kind; the message names the key."""


@dataclass(frozen=True)
class PoolSettings:
    """SQLAlchemy's own defaults: 5 connections kept, 10 more at a peak, never recycled."""

    pool_size: int = 5
    max_overflow: int = 10
    pool_recycle: int = -1

    @property
    def customised(self) -> bool:
        return self != PoolSettings()

    def engine_arguments(self) -> dict[str, int]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


def parse_pool_settings(table: Mapping[str, Any], prefix: str = "database") -> PoolSettings:
    """The pool keys of a `[database]` table (other keys are the caller's), each checked."""
    values: dict[str, int] = {}
    for key, (low, high) in POOL_LIMITS.items():
        if key not in table:
            continue
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise PoolSettingError(
                f"{prefix}.{key}: expected a whole number from {low} to {high}, got {value!r}."
            )
        values[key] = value
    return PoolSettings(**values)
