"""`[mail]` and `[[mail.accounts]]`: validated at start, so a typo never surfaces at 3 a.m.

Each account table is checked key by key; the error names the key
(`mail.accounts[1].security`) and what was expected. Passwords are never in the file: an
account names the environment variable that holds its password (`password_env`), which is
read when the worker starts, not when the shell does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config_errors import ConfigError

SECURITY_MODES = ("tls", "starttls", "none")
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
    "folders": 'a list of folder names, like ["INBOX", "Sent"]',
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
    password_env: str
    port: int = 993
    security: str = "tls"
    allow_insecure: bool = False
    folders: tuple[str, ...] = ("INBOX",)
    salesperson: str | None = None
    after: str = "leave"  # "leave" | "flag" | "move:<folder>"
    auto_create: str = "none"
    key: str = "mail.accounts[0]"  # where it came from, for messages

    @property
    def move_to(self) -> str | None:
        return self.after.split(":", 1)[1] if self.after.startswith("move:") else None

    def password(self, env: Mapping[str, str] | None = None) -> str:
        """The password from the environment; refused with the key's name when missing."""
        env = os.environ if env is None else env
        value = env.get(self.password_env)
        if value is None:
            raise ConfigError(
                f"{self.key}.password_env: the environment variable {self.password_env} "
                f"is not set; export it with the password of {self.username}."
            )
        return value


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
    for required in ("name", "host", "username", "password_env"):
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
    folders = data.get("folders", ["INBOX"])
    if (
        not isinstance(folders, list)
        or not folders
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
        password_env=_string(
            data["password_env"], f"{key}.password_env", _ACCOUNT_KEYS["password_env"]
        ),
        port=port,
        security=security,
        allow_insecure=allow_insecure,
        folders=tuple(f.strip() for f in folders),
        salesperson=salesperson.upper() if salesperson else None,
        after=after,
        auto_create=auto_create,
        key=key,
    )


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
    return MailSettings(
        accounts=accounts,
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
