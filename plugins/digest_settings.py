"""`[dupes]`: when the duplicate digest runs, in which time zone, and where it posts.

The duplicate digest plugin's own table of the configuration file (its `@config_table`):
checked when the app is built, so a bad cron line or a misspelt time zone stops `contactbot
run` at start, naming the key, instead of failing silently on Monday morning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config_errors import ConfigError
from bot.cron import check_cron, check_timezone

#: The digest's job id in the registry (`contactbot jobs run duplicate_digest`).
DIGEST_JOB_ID = "duplicate_digest"
DEFAULT_DIGEST_CRON = "0 9 * * mon"
DEFAULT_TIMEZONE = "UTC"
#: A channel id (C…, G… private, D… direct) or a #name, as chat.postMessage takes it.
_CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,30}|#[a-z0-9][a-z0-9._-]{0,79}")
_KEYS = {
    "digest_cron": 'a crontab line "minute hour day month weekday", like "0 9 * * mon"',
    "digest_timezone": 'a time zone name, like "Europe/Amsterdam"',
    "digest_channel": 'a Slack channel id, like "C0123ABCD" (or "#name")',
}


@dataclass(frozen=True)
class DupesSettings:
    digest_cron: str = DEFAULT_DIGEST_CRON
    digest_timezone: str = DEFAULT_TIMEZONE
    digest_channel: str = ""  # empty: the digest job has nowhere to post and says so

    def job_timings(self) -> dict[str, tuple[str, str]]:
        """Job id -> (cron, time zone) that this table sets (see bot.registry.ConfigTableSpec)."""
        return {DIGEST_JOB_ID: (self.digest_cron, self.digest_timezone)}


def _string(table: Mapping[str, Any], key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"dupes.{key}: expected {_KEYS[key]}.")
    return value.strip()


def parse_dupes_settings(data: Any) -> DupesSettings:
    """The `[dupes]` table (absent: the defaults, and no channel)."""
    if data is None:
        return DupesSettings()
    if not isinstance(data, Mapping):
        raise ConfigError(f"dupes: expected a table ([dupes]), got {type(data).__name__}.")
    for key in data:
        if key not in _KEYS:
            raise ConfigError(
                f"dupes.{key}: unknown key. Known keys in [dupes]: {', '.join(_KEYS)}."
            )
    timezone = _string(data, "digest_timezone", DEFAULT_TIMEZONE)
    check_timezone(timezone, "dupes.digest_timezone")
    cron = " ".join(_string(data, "digest_cron", DEFAULT_DIGEST_CRON).split())
    check_cron(cron, timezone, "dupes.digest_cron")
    channel = data.get("digest_channel", "")
    if not isinstance(channel, str) or (channel and not _CHANNEL.fullmatch(channel.strip())):
        raise ConfigError(
            f"dupes.digest_channel: expected {_KEYS['digest_channel']}, got {channel!r}."
        )
    return DupesSettings(cron, timezone, channel.strip())
