"""Slack user -> Actor: roles from config (user ids and user groups), salesperson by Slack id
or by profile email (remembered)."""

from __future__ import annotations

from typing import Any

from bot.config import RoleSettings
from bot.inputs import ADMIN, SALES
from bot.slack.actors import ActorResolver, is_group_id
from storage.models import Salesperson
from tests.conftest import ChatBot


class FakeClient:
    """What ActorResolver calls of the WebClient."""

    def __init__(
        self, groups: dict[str, list[str]] | None = None, emails: dict[str, str] | None = None
    ):
        self.groups = groups or {}
        self.emails = emails or {}
        self.calls: list[tuple[str, str]] = []

    def usergroups_users_list(self, usergroup: str) -> dict[str, Any]:
        self.calls.append(("usergroups.users.list", usergroup))
        return {"ok": True, "users": self.groups.get(usergroup, [])}

    def users_info(self, user: str) -> dict[str, Any]:
        self.calls.append(("users.info", user))
        profile = {"real_name": f"Name {user}", "email": self.emails.get(user, "")}
        return {"ok": True, "user": {"id": user, "name": user.lower(), "profile": profile}}


def test_no_roles_configured_everyone_sales_nobody_admin(bot: ChatBot) -> None:
    resolver = ActorResolver(bot.app.dispatcher, RoleSettings(), FakeClient())  # type: ignore[arg-type]
    assert resolver.roles("U1") == frozenset({SALES})
    actor = resolver.actor("U1")
    assert not actor.has(ADMIN) and actor.has(SALES) and actor.salesperson_code is None


def test_roles_by_user_id_and_user_group(bot: ChatBot) -> None:
    client = FakeClient(groups={"S_ADMINS": ["U_GROUP_ADMIN"], "S_SALES": ["U_GROUP_SALES"]})
    roles = RoleSettings(
        admin=frozenset({"U_ADMIN", "S_ADMINS"}), sales=frozenset({"U_SALES", "S_SALES"})
    )
    resolver = ActorResolver(bot.app.dispatcher, roles, client)  # type: ignore[arg-type]
    assert resolver.roles("U_ADMIN") == frozenset({ADMIN, SALES})
    assert resolver.roles("U_GROUP_ADMIN") == frozenset({ADMIN, SALES})
    assert resolver.roles("U_SALES") == frozenset({SALES})
    assert resolver.roles("U_GROUP_SALES") == frozenset({SALES})
    assert resolver.roles("U_NOBODY") == frozenset()
    resolver.roles("U_NOBODY")
    # Group members are cached: each group listed once.
    listed = [c for c in client.calls if c[0] == "usergroups.users.list"]
    assert sorted(listed) == [
        ("usergroups.users.list", "S_ADMINS"),
        ("usergroups.users.list", "S_SALES"),
    ]


def test_refused_user_gets_nothing_from_the_dispatcher(bot: ChatBot) -> None:
    resolver = ActorResolver(
        bot.app.dispatcher,
        RoleSettings(sales=frozenset({"U_SALES"})),
        FakeClient(),  # type: ignore[arg-type]
    )
    assert not resolver.roles("U_OTHER")


def test_salesperson_by_slack_id_then_by_email_remembered(bot: ChatBot) -> None:
    bot.ok("codes salespeople add SP1 name=Sam slack_user_id=U_SAM")
    bot.ok("codes salespeople add SP2 name=Pat email=Pat@Example.com")
    client = FakeClient(emails={"U_PAT": "pat@example.com", "U_X": "x@example.com"})
    resolver = ActorResolver(bot.app.dispatcher, RoleSettings(), client)  # type: ignore[arg-type]
    assert resolver.actor("U_SAM").salesperson_code == "SP1"
    assert ("users.info", "U_SAM") not in client.calls
    assert resolver.actor("U_PAT").salesperson_code == "SP2"
    assert resolver.actor("U_X").salesperson_code is None
    with bot.app.store.transaction() as session:
        assert session.get(Salesperson, "SP2").slack_user_id == "U_PAT"
    # A fresh resolver finds Pat by id now, without asking Slack.
    fresh_client = FakeClient()
    fresh = ActorResolver(bot.app.dispatcher, RoleSettings(), fresh_client)  # type: ignore[arg-type]
    assert fresh.salesperson("U_PAT") == "SP2"
    assert fresh_client.calls == []
    # New contacts get the creator's salesperson.
    reply = bot.reply('new company "Acme"', resolver.actor("U_PAT"))
    assert "Salesperson" in str(reply.cards[0].fields) and "SP2" in reply.cards[0].context


def test_group_ids() -> None:
    assert is_group_id("S0123") and not is_group_id("U0123") and not is_group_id("W0123")


def test_caches_expire(bot: ChatBot) -> None:
    now = [0.0]
    client = FakeClient(groups={"S1": ["U1"]}, emails={"U2": "new@example.com"})
    resolver = ActorResolver(
        bot.app.dispatcher,
        RoleSettings(sales=frozenset({"S1"})),
        client,  # type: ignore[arg-type]
        cache_seconds=60,
        clock=lambda: now[0],
    )
    assert resolver.roles("U1") and not resolver.roles("U2")
    client.groups["S1"] = ["U1", "U2"]
    assert not resolver.roles("U2")  # cached
    now[0] = 61
    assert resolver.roles("U2")
    assert resolver.salesperson("U2") is None
    bot.ok("codes salespeople add SP9 name=New email=new@example.com")
    assert resolver.salesperson("U2") is None  # cached "none"
    resolver.forget("U2")
    assert resolver.salesperson("U2") == "SP9"
