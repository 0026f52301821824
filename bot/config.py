"""Configuration: a TOML file plus the environment.

Where the file is: `--config FILE`, else `$CONTACTBOT_CONFIG`, else `./config.toml`, else
`config.toml` in the user config directory; with none, the defaults. Secrets never live in the
file: tokens and passwords are read from the environment. A key the program does not know, or
a value of the wrong kind, is refused at start with the key's name and what was expected.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from bot.config_errors import ConfigError
from bot.mail.config import MailSettings, parse_mail_settings
from storage.connect_errors import normalize_url
from storage.pool import PoolSettingError, PoolSettings, parse_pool_settings

APP_NAME = "contactbot"


@dataclass(frozen=True)
class RoleSettings:
    """Slack user ids and user-group ids per role. Empty: everybody has `sales`."""

    admin: frozenset[str] = frozenset()
    sales: frozenset[str] = frozenset()

    @property
    def configured(self) -> bool:
        return bool(self.admin or self.sales)


SLACK_MODES = ("socket", "http")
#: The largest request body HTTP mode reads (Slack's payloads are a few KB; 1 MiB is ample).
MAX_BODY_BYTES = 1_048_576


@dataclass(frozen=True)
class SlackSettings:
    """`[slack]`: the Web API base URL, and how `contactbot run` serves Slack (tokens come from
    the environment: SLACK_BOT_TOKEN with SLACK_APP_TOKEN or SLACK_SIGNING_SECRET)."""

    api_url: str = ""
    mode: str = "socket"  # "socket" | "http"
    host: str = "0.0.0.0"
    port: int = 3000
    #: HTTP mode's edge (bot.slack.http_limits): the largest request body, the seconds a
    #: connection has to deliver a whole request, open connections overall and per client.
    max_body_bytes: int = MAX_BODY_BYTES
    request_seconds: int = 10
    connection_limit: int = 500
    connections_per_client: int = 50


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    plugins: tuple[str, ...] | None = None  # None: every installed plugin
    setup: Mapping[str, Any] = field(default_factory=dict)
    codes: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    roles: RoleSettings = RoleSettings()
    slack: SlackSettings = SlackSettings()
    config_path: Path | None = None
    mail: MailSettings = field(default_factory=MailSettings)
    #: The file's other tables, each owned and parsed by a plugin (`@config_table`, read when
    #: the app is built: bot.registry.Registry.configure): `[dupes]` for the digest, say.
    plugin_tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: `[database]` pool_size, max_overflow, pool_recycle (PostgreSQL; ignored for SQLite)
    pool: PoolSettings = field(default_factory=PoolSettings)


_TOP_KEYS = {
    "data_dir",
    "database",
    "plugins",
    "setup",
    "codes",
    "roles",
    "slack",
    "mail",
}


def find_config_file(explicit: str | Path | None, env: Mapping[str, str]) -> Path | None:
    """The configuration file to read, by the precedence documented above."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"--config: {path} does not exist.")
        return path
    if env.get("CONTACTBOT_CONFIG"):
        path = Path(env["CONTACTBOT_CONFIG"])
        if not path.is_file():
            raise ConfigError(f"CONTACTBOT_CONFIG: {path} does not exist.")
        return path
    for candidate in (
        Path("config.toml"),
        Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml",
    ):
        if candidate.is_file():
            return candidate
    return None


def _table(data: Mapping[str, Any], key: str, allowed: set[str]) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected a table ([{key}]), got {type(value).__name__}.")
    for sub in value:
        if sub not in allowed:
            raise ConfigError(
                f"{key}.{sub}: unknown key. Known keys in [{key}]: {', '.join(sorted(allowed))}."
            )
    return value


def _string_list(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{key}: expected a list of strings, like ["U0123"].')
    return tuple(value)


def load_settings(
    explicit: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read the configuration file (if any) and the environment into Settings."""
    from storage.setup import SETUP_KEYS

    env = os.environ if env is None else env
    path = find_config_file(explicit, env)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML ({error}).") from None
    plugin_tables: dict[str, Mapping[str, Any]] = {}
    for key, value in data.items():
        if key in _TOP_KEYS:
            continue
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"{key}: unknown key. Known keys: {', '.join(sorted(_TOP_KEYS))}, and the "
                "tables of the plugins."
            )
        plugin_tables[key] = value

    data_dir_value = env.get("CONTACTBOT_DATA_DIR") or data.get("data_dir")
    if data_dir_value is not None and not isinstance(data_dir_value, str):
        raise ConfigError("data_dir: expected a path as a string.")
    data_dir = Path(data_dir_value or platformdirs.user_data_dir(APP_NAME)).expanduser()

    database = _table(data, "database", {"url", "pool_size", "max_overflow", "pool_recycle"})
    url = env.get("CONTACTBOT_DATABASE_URL") or database.get("url") or ""
    if not isinstance(url, str):
        raise ConfigError("database.url: expected a string like postgresql+psycopg://host/db.")
    url = normalize_url(url) or f"sqlite:///{data_dir / 'contactbot.db'}"
    try:
        pool = parse_pool_settings(database)
    except PoolSettingError as error:
        raise ConfigError(str(error)) from None

    plugins_table = _table(data, "plugins", {"enabled"})
    plugins = (
        _string_list(plugins_table["enabled"], "plugins.enabled")
        if "enabled" in plugins_table
        else None
    )
    setup = _table(data, "setup", set(SETUP_KEYS))
    codes = _codes(data)
    roles_table = _table(data, "roles", {"admin", "sales"})
    roles = RoleSettings(
        admin=frozenset(_string_list(roles_table.get("admin", []), "roles.admin")),
        sales=frozenset(_string_list(roles_table.get("sales", []), "roles.sales")),
    )
    slack = _slack_settings(data, env)
    return Settings(
        data_dir=data_dir,
        database_url=url,
        plugins=plugins,
        setup=dict(setup),
        codes=codes,
        roles=roles,
        slack=slack,
        config_path=path,
        mail=parse_mail_settings(data.get("mail")),
        plugin_tables=plugin_tables,
        pool=pool,
    )


def _slack_settings(data: Mapping[str, Any], env: Mapping[str, str]) -> SlackSettings:
    table = _table(data, "slack", {"api_url", "mode", "host", "port", *_SLACK_LIMITS})
    api_url = env.get("CONTACTBOT_SLACK_API_URL") or table.get("api_url", "")
    if not isinstance(api_url, str):
        raise ConfigError(
            'slack.api_url: expected a URL as a string, like "http://127.0.0.1:8099/api/".'
        )
    mode = table.get("mode", "socket")
    if mode not in SLACK_MODES:
        raise ConfigError(f'slack.mode: expected "socket" or "http", got {mode!r}.')
    host = table.get("host", "0.0.0.0")
    if not isinstance(host, str) or not host:
        raise ConfigError('slack.host: expected an address as a string, like "0.0.0.0".')
    port = table.get("port", 3000)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError("slack.port: expected a port number from 1 to 65535.")
    limits = {
        key: _slack_limit(table, key, low, high) for key, (low, high) in _SLACK_LIMITS.items()
    }
    return SlackSettings(api_url=api_url, mode=mode, host=host, port=port, **limits)


#: [slack] HTTP-mode limits: key -> (lowest, highest) accepted value.
_SLACK_LIMITS = {
    "max_body_bytes": (1024, 64 * 1_048_576),
    "request_seconds": (1, 3600),
    "connection_limit": (10, 10_000),
    "connections_per_client": (0, 10_000),
}


def _slack_limit(table: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = table.get(key, getattr(SlackSettings, key))
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"slack.{key}: expected a whole number from {low} to {high}.")
    return value


def _codes(data: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    from storage.codes import CODE_TABLES

    table = _table(data, "codes", set(CODE_TABLES))
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for name, entries in table.items():
        if not isinstance(entries, Mapping):
            raise ConfigError(f"codes.{name}: expected a table of codes, like [codes.{name}.X].")
        allowed = set(CODE_TABLES[name].fields)
        result[name] = {}
        for code, values in entries.items():
            if not isinstance(values, Mapping):
                raise ConfigError(f"codes.{name}.{code}: expected a table of fields.")
            for key in values:
                if key not in allowed:
                    raise ConfigError(
                        f"codes.{name}.{code}.{key}: unknown field. "
                        f"Fields: {', '.join(sorted(allowed))}."
                    )
            result[name][code] = dict(values)
    return result
