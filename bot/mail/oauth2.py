"""Access tokens for IMAP's SASL XOAUTH2 / OAUTHBEARER login, one provider per account.

- "microsoft": msal's ConfidentialClientApplication with the client-credentials grant and the
  scope https://outlook.office365.com/.default (an app registration with the IMAP.AccessAsApp
  application permission, which also reaches shared mailboxes). msal keeps the token in its
  in-memory cache and fetches a new one shortly before it expires.
- "google": google-auth's service-account credentials with domain-wide delegation: the
  subject is the mailbox's username, the scope https://mail.google.com/. They are refreshed
  when google-auth no longer calls them valid (a few minutes before expiry).
- "command": a program of the site's choice (a token broker, oauth2l, …) run as an argument
  list, never through a shell, whose standard output is the token. It runs at every connect
  and once more when the server refuses the token.

`token(fresh=True)` is asked for when the server refused the last one: the provider drops
what it cached and asks again. Secrets (the client secret, the key file's path) come from the
environment variables the account names; tokens and secrets are never logged, and an error
says which account and what failed, in the provider's own words, without them.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Mapping
from typing import Protocol

from bot.mail.config import MailAccount

log = logging.getLogger(__name__)

MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
GOOGLE_SCOPE = "https://mail.google.com/"
#: A token program taking longer than this is stopped: `mail sync --once` must end in a minute.
COMMAND_TIMEOUT_SECONDS = 20.0
_MESSAGE_CHARS = 300


class TokenError(Exception):
    """No token could be had; the message names the account and the cause (never a secret)."""


class TokenProvider(Protocol):
    def token(self, *, fresh: bool = False) -> str:
        """An access token; with `fresh`, not the one handed out before."""
        ...


def _short(text: str) -> str:
    """The last non-empty line of a program's or a server's words, bounded."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "")[:_MESSAGE_CHARS]


class CommandTokens:
    """`oauth2_token_command`: run the program; its first line of output is the token."""

    def __init__(self, account: MailAccount, timeout: float = COMMAND_TIMEOUT_SECONDS) -> None:
        self.account = account
        self.timeout = timeout

    def token(self, *, fresh: bool = False) -> str:
        program = self.account.oauth2_token_command[0]
        what = f"mailbox {self.account.name}: the token program {program}"
        try:
            result = subprocess.run(
                list(self.account.oauth2_token_command),
                capture_output=True,
                text=True,
                timeout=self.timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except FileNotFoundError:
            raise TokenError(f"{what} was not found.") from None
        except PermissionError:
            raise TokenError(f"{what} may not be run (permission denied).") from None
        except subprocess.TimeoutExpired:
            raise TokenError(f"{what} did not finish within {self.timeout:g} s.") from None
        except OSError as error:
            raise TokenError(f"{what} could not be run: {error.strerror or error}.") from None
        if result.returncode != 0:
            words = _short(result.stderr)
            raise TokenError(
                f"{what} failed (exit status {result.returncode})"
                + (f": {words}" if words else ".")
            )
        token = result.stdout.strip().splitlines()[0].strip() if result.stdout.strip() else ""
        if not token:
            raise TokenError(f"{what} printed no token.")
        return token


class MicrosoftTokens:
    """Client credentials for the app registration, through msal (which caches the token)."""

    def __init__(self, account: MailAccount, env: Mapping[str, str] | None = None) -> None:
        self.account = account
        self.env = env
        self._app: object | None = None

    def _application(self) -> object:
        import msal

        authority = f"{self.account.oauth2_authority}/{self.account.tenant_id}"
        default = self.account.oauth2_authority.startswith("https://login.microsoftonline.com")
        return msal.ConfidentialClientApplication(
            self.account.client_id,
            client_credential=self.account.secret("client_secret_env", self.env),
            authority=authority,
            # a national cloud or a local double is not in Microsoft's instance list
            instance_discovery=None if default else False,
            timeout=30,
        )

    def token(self, *, fresh: bool = False) -> str:
        what = f"mailbox {self.account.name}: Microsoft sign-in"
        try:
            if self._app is None or fresh:
                self._app = self._application()  # a new app has an empty cache
            result = self._app.acquire_token_for_client(scopes=[MICROSOFT_SCOPE])  # type: ignore[attr-defined]
        except ValueError as error:  # msal: the authority's metadata could not be read
            raise TokenError(f"{what} failed: {_short(str(error))}") from None
        except OSError as error:  # requests' ConnectionError is an OSError
            words = _short(str(error))
            raise TokenError(f"{what} could not reach the authority: {words}") from None
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            error = result.get("error", "no token") if isinstance(result, dict) else "no token"
            words = result.get("error_description", "") if isinstance(result, dict) else ""
            raise TokenError(f"{what} failed: {error}: {_short(words)}".rstrip(": "))
        return str(token)


class GoogleTokens:
    """A service account acting for the mailbox's user (domain-wide delegation)."""

    def __init__(self, account: MailAccount, env: Mapping[str, str] | None = None) -> None:
        self.account = account
        self.env = env
        self._credentials: object | None = None

    def _load(self) -> object:
        from google.oauth2 import service_account

        path = self.account.secret("service_account_file_env", self.env)
        what = f"mailbox {self.account.name}: the service-account key file"
        try:
            with open(path, encoding="utf-8") as handle:
                info = json.load(handle)
            return service_account.Credentials.from_service_account_info(
                info, scopes=[GOOGLE_SCOPE], subject=self.account.username
            )
        except OSError as error:
            raise TokenError(f"{what} cannot be read: {error.strerror or error}.") from None
        except (ValueError, KeyError) as error:  # not JSON, or not a service account's key
            raise TokenError(f"{what} is not a service account's key: {error}.") from None

    def token(self, *, fresh: bool = False) -> str:
        from google.auth.exceptions import GoogleAuthError
        from google.auth.transport.requests import Request

        if self._credentials is None:
            self._credentials = self._load()
        credentials = self._credentials
        what = f"mailbox {self.account.name}: Google sign-in"
        try:
            if fresh or not credentials.valid:  # type: ignore[attr-defined]
                credentials.refresh(Request())  # type: ignore[attr-defined]
        except GoogleAuthError as error:
            raise TokenError(f"{what} failed: {_google_words(error)}") from None
        except OSError as error:
            raise TokenError(f"{what} could not reach the token endpoint: {error}") from None
        return str(credentials.token)  # type: ignore[attr-defined]


def _google_words(error: BaseException) -> str:
    """google-auth's RefreshError carries (message, response); the message is enough."""
    return _short(str(error.args[0] if error.args else error))


def token_provider(account: MailAccount, env: Mapping[str, str] | None = None) -> TokenProvider:
    """The provider the account's `oauth2_provider` names."""
    if account.oauth2_provider == "microsoft":
        return MicrosoftTokens(account, env)
    if account.oauth2_provider == "google":
        return GoogleTokens(account, env)
    return CommandTokens(account)
