"""`[mail]` and `[[mail.accounts]]`: validated at start, so a typo never surfaces at 3 a.m.

Each account table is checked key by key; the error names the key
(`mail.accounts[1].security`) and what was expected. Secrets are never in the file: an
account names the environment variable that holds its password (`password_env`), its OAuth2
client secret (`client_secret_env`) or the path of its service-account key file
(`service_account_file_env`); they are read when the worker starts, not when the shell does.

`auth = "oauth2"` logs in with SASL XOAUTH2 (or OAUTHBEARER) and a token from
`oauth2_provider`: "microsoft" (msal, client credentials), "google" (google-auth, a service
account with domain-wide delegation) or "command" (a program that prints a token). See
bot.mail.oauth2.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config_errors import ConfigError

SECURITY_MODES = ("tls", "starttls", "none")
AUTH_MODES = ("password", "oauth2")
OAUTH2_PROVIDERS = ("microsoft", "google", "command")
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
AUTO_CREATE_MODES = ("none", "sent", "sent_and_received")
IDLE_RENEW_LIMIT_MINUTES = 29  # RFC 2177: servers may drop an IDLE after 30 minutes

_ACCOUNT_KEYS = {
    "name": 'a short name for the mailbox, like "sam"',
    "host": "the IMAP server's host name",
    "port": "a port number (993 for tls, 143 for starttls/none)",
    "security": '"tls", "starttls" or "none"',
    "allow_insecure": 'true to allow security = "none" (local servers only)',
    "username": "the IMAP login",
    "password_env": "the name of the environment variable holding the password",
    "auth": '"password" or "oauth2"',
    "oauth2_provider": '"microsoft", "google" or "command"',
    "tenant_id": "the Microsoft Entra tenant (directory) id",
    "client_id": "the application (client) id of the app registration",
    "client_secret_env": "the name of the environment variable holding the client secret",
    "oauth2_authority": 'the sign-in authority URL, like "https://login.microsoftonline.com"',
    "service_account_file_env": (
        "the name of the environment variable holding the service-account key file's path"
    ),
    "oauth2_token_command": 'a program and its arguments as a list, like ["oauth2l", "fetch"]',
    "ca_file": "the path of a PEM file with the certificate authorities to trust",
    "since": 'the first day to read on a first sync, like "2026-01-01"',
    "since_days": "how many days back a first sync reads, like 90",
    "folders": 'a list of folder names, like ["INBOX", "Sent"] (default: INBOX and Sent)',
    "salesperson": "the code of the salesperson who owns the mailbox",
    "after": '"leave", "flag" or "move:<folder>"',
    "auto_create": '"none", "sent" or "sent_and_received"',
}
_MAIL_KEYS = {
    "accounts",
    "poll_minutes",
    "idle",
    "idle_renew_minutes",
    "batch_size",
    "snippet_chars",
    "text_bytes",
    "free_mail_domains",
    "alert_channel",
}

#: Free-mail providers: a correspondent there is a private person, never a company's domain.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "proton.me",
        "protonmail.com",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "hotmail.nl",
        "live.nl",
        "ziggo.nl",
        "kpnmail.nl",
        "online.no",
    }
)


@dataclass(frozen=True)
class MailAccount:
    name: str
    host: str
    username: str
    password_env: str = ""
    port: int = 993
    security: str = "tls"
    allow_insecure: bool = False
    #: () = INBOX and the folder the server marks \Sent (SPECIAL-USE), found at connect
    folders: tuple[str, ...] = ("INBOX",)
    salesperson: str | None = None
    after: str = "leave"  # "leave" | "flag" | "move:<folder>"
    auto_create: str = "none"
    key: str = "mail.accounts[0]"  # where it came from, for messages
    auth: str = "password"  # "password" | "oauth2"
    oauth2_provider: str = ""  # "microsoft" | "google" | "command"
    tenant_id: str = ""
    client_id: str = ""
    client_secret_env: str = ""
    oauth2_authority: str = MICROSOFT_AUTHORITY
    service_account_file_env: str = ""
    oauth2_token_command: tuple[str, ...] = ()
    ca_file: str | None = None
    #: a first sync (or a rescan) reads mail that arrived on this day or later only
    since: dt.date | None = None
    since_days: int | None = None

    def first_day(self, today: dt.date) -> dt.date | None:
        """The day a first sync starts at (`since`, or `since_days` before today), or None."""
        if self.since is not None:
            return self.since
        if self.since_days is not None:
            return today - dt.timedelta(days=self.since_days)
        return None

    @property
    def move_to(self) -> str | None:
        return self.after.split(":", 1)[1] if self.after.startswith("move:") else None

    def secret_variables(self) -> dict[str, tuple[str, str]]:
        """Key -> (environment variable, what it holds) for each secret this account needs."""
        if self.auth == "password":
            return {"password_env": (self.password_env, f"the password of {self.username}")}
        if self.oauth2_provider == "microsoft":
            secret = (self.client_secret_env, "the app registration's client secret")
            return {"client_secret_env": secret}
        if self.oauth2_provider == "google":
            path = (self.service_account_file_env, "the path of the service account's key file")
            return {"service_account_file_env": path}
        return {}

    def secret(self, key: str, env: Mapping[str, str] | None = None) -> str:
        """The secret named by `key` (like "password_env") from the environment; refused,
        naming the key and the variable, when it is not set."""
        env = os.environ if env is None else env
        needed = self.secret_variables()
        if key not in needed:
            raise ConfigError(f'{self.key}: logs in with auth = "{self.auth}", not with {key}.')
        variable, what = needed[key]
        value = env.get(variable)
        if not value:
            raise ConfigError(
                f"{self.key}.{key}: the environment variable {variable} is not set; "
                f"export it with {what}."
            )
        return value

    def check_secrets(self, env: Mapping[str, str] | None = None) -> None:
        """Refuse at start an account whose secrets are not in the environment."""
        for key in self.secret_variables():
            self.secret(key, env)

    def password(self, env: Mapping[str, str] | None = None) -> str:
        """The password from the environment; refused with the key's name when missing."""
        return self.secret("password_env", env)


@dataclass(frozen=True)
class MailSettings:
    accounts: tuple[MailAccount, ...] = ()
    poll_minutes: float = 10.0  # Business Central's email logging runs every 10 minutes
    idle: bool = True
    idle_renew_minutes: float = 25.0
    batch_size: int = 500
    snippet_chars: int = 200
    text_bytes: int = 4096
    free_mail_domains: frozenset[str] = field(default=FREE_MAIL_DOMAINS)
    #: the Slack channel told once when a mailbox starts failing and once when it recovers
    alert_channel: str | None = None


def _string(value: Any, key: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: expected {what}.")
    return value.strip()


def _number(value: Any, key: str, low: float, high: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{key}: expected {what} (from {low:g} to {high:g}).")
    return value


def _account(data: Any, index: int) -> MailAccount:
    key = f"mail.accounts[{index}]"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{key}: expected a table ([[mail.accounts]]).")
    for name in data:
        if name not in _ACCOUNT_KEYS:
            raise ConfigError(
                f"{key}.{name}: unknown key. Known keys: {', '.join(sorted(_ACCOUNT_KEYS))}."
            )
    auth = data.get("auth", "password")
    if auth not in AUTH_MODES:
        raise ConfigError(f"{key}.auth: expected {_ACCOUNT_KEYS['auth']}, got {auth!r}.")
    for required in ("name", "host", "username", *_auth_keys(auth, data, key)):
        if required not in data:
            raise ConfigError(f"{key}.{required}: missing; expected {_ACCOUNT_KEYS[required]}.")
    security = data.get("security", "tls")
    if security not in SECURITY_MODES:
        raise ConfigError(
            f"{key}.security: expected {_ACCOUNT_KEYS['security']}, got {security!r}."
        )
    allow_insecure = data.get("allow_insecure", False)
    if not isinstance(allow_insecure, bool):
        raise ConfigError(f"{key}.allow_insecure: expected true or false.")
    if security == "none" and not allow_insecure:
        raise ConfigError(
            f'{key}.security: "none" sends the password in clear text; use "tls" or '
            '"starttls", or add allow_insecure = true for a server on this machine.'
        )
    default_port = 993 if security == "tls" else 143
    port = int(_number(data.get("port", default_port), f"{key}.port", 1, 65535, "a port number"))
    folders = data.get("folders", [])
    if (
        not isinstance(folders, list)
        or ("folders" in data and not folders)
        or not all(isinstance(f, str) and f.strip() for f in folders)
    ):
        raise ConfigError(f"{key}.folders: expected {_ACCOUNT_KEYS['folders']}.")
    after = data.get("after", "leave")
    if not isinstance(after, str) or not (
        after in ("leave", "flag") or (after.startswith("move:") and after[5:].strip())
    ):
        raise ConfigError(f"{key}.after: expected {_ACCOUNT_KEYS['after']}, got {after!r}.")
    auto_create = data.get("auto_create", "none")
    if auto_create not in AUTO_CREATE_MODES:
        raise ConfigError(f"{key}.auto_create: expected {_ACCOUNT_KEYS['auto_create']}.")
    salesperson = data.get("salesperson")
    if salesperson is not None:
        salesperson = _string(salesperson, f"{key}.salesperson", _ACCOUNT_KEYS["salesperson"])
    return MailAccount(
        name=_string(data["name"], f"{key}.name", _ACCOUNT_KEYS["name"]),
        host=_string(data["host"], f"{key}.host", _ACCOUNT_KEYS["host"]),
        username=_string(data["username"], f"{key}.username", _ACCOUNT_KEYS["username"]),
        port=port,
        security=security,
        allow_insecure=allow_insecure,
        folders=tuple(f.strip() for f in folders),
        salesperson=salesperson.upper() if salesperson else None,
        after=after,
        auto_create=auto_create,
        key=key,
        auth=auth,
        ca_file=_ca_file(data.get("ca_file"), f"{key}.ca_file"),
        since=_since(data.get("since"), f"{key}.since"),
        since_days=_since_days(data, key),
        **_auth_values(data, key),
    )


def _auth_keys(auth: str, data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """The keys an account must have for its way of logging in."""
    if auth == "password":
        for name in _OAUTH2_ONLY_KEYS:
            if name in data:
                raise ConfigError(f'{key}.{name}: only with auth = "oauth2"; add that line.')
        return ("password_env",)
    provider = data.get("oauth2_provider")
    if provider not in OAUTH2_PROVIDERS:
        raise ConfigError(
            f"{key}.oauth2_provider: expected {_ACCOUNT_KEYS['oauth2_provider']} "
            f'with auth = "oauth2", got {provider!r}.'
        )
    return {
        "microsoft": ("tenant_id", "client_id", "client_secret_env"),
        "google": ("service_account_file_env",),
        "command": ("oauth2_token_command",),
    }[provider]


_OAUTH2_ONLY_KEYS = (
    "oauth2_provider",
    "tenant_id",
    "client_id",
    "client_secret_env",
    "oauth2_authority",
    "service_account_file_env",
    "oauth2_token_command",
)
_STRING_AUTH_KEYS = (
    "password_env",
    "oauth2_provider",
    "tenant_id",
    "client_id",
    "client_secret_env",
    "oauth2_authority",
    "service_account_file_env",
)


def _auth_values(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The login keys present, checked: strings, and the token command as a list."""
    values: dict[str, Any] = {
        name: _string(data[name], f"{key}.{name}", _ACCOUNT_KEYS[name])
        for name in _STRING_AUTH_KEYS
        if name in data
    }
    authority = values.get("oauth2_authority")
    if authority is not None:
        if not authority.startswith("https://"):
            raise ConfigError(f"{key}.oauth2_authority: expected an https:// URL.")
        values["oauth2_authority"] = authority.rstrip("/")
    command = data.get("oauth2_token_command")
    if command is not None:
        if (
            not isinstance(command, list)
            or not command
            or not all(isinstance(part, str) and part for part in command)
        ):
            raise ConfigError(
                f"{key}.oauth2_token_command: expected {_ACCOUNT_KEYS['oauth2_token_command']}"
                " (no shell: each argument its own string)."
            )
        values["oauth2_token_command"] = tuple(command)
    return values


def _ca_file(value: Any, key: str) -> str | None:
    if value is None:
        return None
    path = _string(value, key, _ACCOUNT_KEYS["ca_file"])
    if not os.path.isfile(path):
        raise ConfigError(f"{key}: {path} is not a file; expected {_ACCOUNT_KEYS['ca_file']}.")
    return path


def _since(value: Any, key: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value  # TOML's own date: since = 2026-01-01
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{key}: expected {_ACCOUNT_KEYS['since']}, got {value!r}.") from None


def _since_days(data: Mapping[str, Any], key: str) -> int | None:
    if "since_days" not in data:
        return None
    if "since" in data:
        raise ConfigError(f"{key}.since_days: set either since or since_days, not both.")
    return int(_number(data["since_days"], f"{key}.since_days", 1, 36500, "a number of days"))


def parse_mail_settings(data: Any) -> MailSettings:
    """`[mail]` from the TOML document (absent: no mailboxes)."""
    if data is None:
        return MailSettings()
    if not isinstance(data, Mapping):
        raise ConfigError("mail: expected a table ([mail] and [[mail.accounts]]).")
    for name in data:
        if name not in _MAIL_KEYS:
            raise ConfigError(
                f"mail.{name}: unknown key. Known keys: {', '.join(sorted(_MAIL_KEYS))}."
            )
    accounts_data = data.get("accounts", [])
    if not isinstance(accounts_data, list):
        raise ConfigError("mail.accounts: expected one [[mail.accounts]] table per mailbox.")
    accounts = tuple(_account(item, i) for i, item in enumerate(accounts_data))
    names = [a.name for a in accounts]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(
                f"mail.accounts[{i}].name: `{name}` is used by another account already."
            )
    idle = data.get("idle", True)
    if not isinstance(idle, bool):
        raise ConfigError("mail.idle: expected true or false.")
    extra = data.get("free_mail_domains", [])
    if not isinstance(extra, list) or not all(isinstance(d, str) for d in extra):
        raise ConfigError(
            'mail.free_mail_domains: expected a list of domains, like ["mail.example"].'
        )
    alert_channel = data.get("alert_channel")
    if alert_channel is not None:
        alert_channel = _string(
            alert_channel, "mail.alert_channel", 'a Slack channel id or name, like "C0123ABCD"'
        )
    return MailSettings(
        accounts=accounts,
        alert_channel=alert_channel,
        poll_minutes=_number(
            data.get("poll_minutes", 10), "mail.poll_minutes", 0.01, 1440, "minutes"
        ),
        idle=idle,
        idle_renew_minutes=_number(
            data.get("idle_renew_minutes", 25),
            "mail.idle_renew_minutes",
            0.01,
            IDLE_RENEW_LIMIT_MINUTES - 0.5,
            "minutes, under 29",
        ),
        batch_size=int(
            _number(data.get("batch_size", 500), "mail.batch_size", 1, 5000, "a message count")
        ),
        snippet_chars=int(
            _number(data.get("snippet_chars", 200), "mail.snippet_chars", 0, 2000, "characters")
        ),
        text_bytes=int(
            _number(data.get("text_bytes", 4096), "mail.text_bytes", 256, 65536, "bytes")
        ),
        free_mail_domains=FREE_MAIL_DOMAINS | {d.lower() for d in extra},
    )
