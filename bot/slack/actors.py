"""Slack user -> Actor: roles from config, salesperson from the code table.

Roles (`[roles]` in config) list Slack user ids (U…, W…) and user-group ids (S…) for `admin` and
`sales`. With none configured, every member of the workspace has `sales` and nobody has `admin`.
Once roles are configured, a user with no role gets a polite refusal and nothing else. An admin
also has `sales` (the shell's actor has both too). Group members come from
`usergroups.users.list`, cached for a few minutes.

The salesperson is the one whose `slack_user_id` is the user's id; failing that, the one whose
email is the user's Slack profile email (`users.info`), which is then remembered in the code
table, so the lookup by email happens once per user. Both are the store's queries
(storage.salespeople), run through the dispatcher: this module only asks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.config import RoleSettings
from bot.dispatcher import Dispatcher
from bot.inputs import ADMIN, SALES, Actor
from storage.salespeople import claim_salesperson_by_email, salesperson_of_chat_user

log = logging.getLogger(__name__)

CACHE_SECONDS = 300.0

REFUSAL = (
    "Sorry, you do not have access to contactbot in this workspace. "
    "Ask an admin to add you (or a user group you are in) to `[roles]` in contactbot's config."
)


def is_group_id(entry: str) -> bool:
    """Slack user ids start with U or W; user-group ids with S."""
    return entry[:1].upper() == "S"


@dataclass(frozen=True)
class _Profile:
    name: str
    email: str


class _TtlCache:
    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self.clock = clock
        self._data: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, Any]:
        with self._lock:
            hit = self._data.get(key)
            if hit is None or hit[0] < self.clock():
                return False, None
            return True, hit[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._data[key] = (self.clock() + self.seconds, value)

    def drop(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class ActorResolver:
    """Who a Slack user is to contactbot. Thread-safe; caches for CACHE_SECONDS."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        roles: RoleSettings,
        client: WebClient,
        *,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dispatcher = dispatcher
        self.config = roles
        self.client = client
        self._groups = _TtlCache(cache_seconds, clock)
        self._salespeople = _TtlCache(cache_seconds, clock)
        self._profiles = _TtlCache(cache_seconds, clock)

    # --- roles ---------------------------------------------------------------------------

    def roles(self, user_id: str) -> frozenset[str]:
        """The user's roles; empty means refused (only possible once roles are configured)."""
        if not self.config.configured:
            return frozenset({SALES})
        if self._member(user_id, self.config.admin):
            return frozenset({ADMIN, SALES})
        if self._member(user_id, self.config.sales):
            return frozenset({SALES})
        return frozenset()

    def _member(self, user_id: str, entries: frozenset[str]) -> bool:
        if user_id in entries:
            return True
        return any(
            user_id in self._group_members(entry) for entry in sorted(entries) if is_group_id(entry)
        )

    def _group_members(self, group_id: str) -> frozenset[str]:
        found, members = self._groups.get(group_id)
        if found:
            return members
        try:
            response = self.client.usergroups_users_list(usergroup=group_id)
            members = frozenset(response.get("users") or ())
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("cannot list the members of user group %s: %s", group_id, error)
            members = frozenset()
        self._groups.put(group_id, members)
        return members

    # --- salesperson -------------------------------------------------------------------

    def profile(self, user_id: str) -> _Profile:
        found, profile = self._profiles.get(user_id)
        if found:
            return profile
        name, email = "", ""
        try:
            user = self.client.users_info(user=user_id).get("user") or {}
            data = user.get("profile") or {}
            name = data.get("real_name") or user.get("real_name") or user.get("name") or ""
            email = data.get("email") or ""
        except (SlackApiError, SlackClientError, OSError) as error:
            log.warning("users.info for %s failed: %s", user_id, error)
        profile = _Profile(name=name, email=email)
        self._profiles.put(user_id, profile)
        return profile

    def salesperson(self, user_id: str) -> str | None:
        """The code of the user's salesperson, or None."""
        found, code = self._salespeople.get(user_id)
        if found:
            return code
        code = self._salesperson_by_id(user_id)
        if code is None:
            email = self.profile(user_id).email
            if email:
                code = self._claim_by_email(user_id, email)
        self._salespeople.put(user_id, code)
        return code

    def _salesperson_by_id(self, user_id: str) -> str | None:
        return self.dispatcher.query(salesperson_of_chat_user, user_id)

    def _claim_by_email(self, user_id: str, email: str) -> str | None:
        """Match by the profile email and remember the Slack user id on that salesperson."""
        return self.dispatcher.query(claim_salesperson_by_email, user_id, email, as_actor=user_id)

    # --- together -------------------------------------------------------------------

    def actor(self, user_id: str, *, name: str = "", roles: frozenset[str] | None = None) -> Actor:
        """The Actor for a user who has roles (call `roles()` first to refuse the others)."""
        roles = self.roles(user_id) if roles is None else roles
        return Actor(
            user_id=user_id,
            name=name or user_id,
            roles=roles,
            salesperson_code=self.salesperson(user_id),
        )

    def forget(self, user_id: str) -> None:
        """Drop cached knowledge of a user (after a code table change, in tests)."""
        for cache in (self._salespeople, self._profiles):
            cache.drop(user_id)
