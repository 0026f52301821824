"""Crontab lines and time zones, checked the way the scheduler will read them.

For the parsers of configuration tables that set a job's timing (a plugin's `@config_table`):
a bad line or a misspelt zone then stops `contactbot run` at start, naming the key, instead of
the job failing silently on Monday morning.
"""

from __future__ import annotations

import zoneinfo

from bot.config_errors import ConfigError


def check_timezone(name: str, key: str) -> zoneinfo.ZoneInfo:
    """The zone named `name`; ConfigError naming `key` when there is none by that name."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f'{key}: unknown time zone {name!r}; expected a name like "Europe/Amsterdam" or "UTC".'
        ) from None


def check_cron(cron: str, timezone: str, key: str) -> None:
    """Refuse a crontab line APScheduler cannot read, with its reason."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(cron, timezone=zoneinfo.ZoneInfo(timezone))
    except ValueError as error:
        raise ConfigError(
            f'{key}: {error} in {cron!r}; expected a crontab line like "0 9 * * mon" '
            "(minute hour day month weekday)."
        ) from None
