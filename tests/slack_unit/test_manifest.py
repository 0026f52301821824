"""slack/manifest.yml: valid against Slack's manifest schema (tests/slack_unit/manifest_schema),
and saying what the code listens to: the events the listeners take (mentions, DMs, App Home)
with the scopes Slack requires for them, the messages tab open for writing, the shortcut's
callback id, and the scopes of the Web API methods the app calls."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.slack import events, shortcut
from tests.slack_unit.manifest_schema import EVENT_SCOPES, MANIFEST_SCHEMA

MANIFEST = Path(__file__).resolve().parents[2] / "slack" / "manifest.yml"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(MANIFEST_SCHEMA)
    return [error.message for error in validator.iter_errors(document)]


def test_the_manifest_is_valid_against_the_schema(manifest: dict[str, Any]) -> None:
    jsonschema.Draft7Validator.check_schema(MANIFEST_SCHEMA)
    assert errors(manifest) == []


@pytest.mark.parametrize(
    "path, value",
    [
        (("features", "app_home", "messages_tab_writable"), True),  # a key Slack does not know
        (("display_information", "name"), "x" * 36),
        (("display_information", "long_description"), "too short"),
        (("settings", "event_subscriptions", "bot_events"), ["app_mention", "app_mention"]),
        (("features", "app_home", "messages_tab_read_only_enabled"), "false"),
        (("features", "slash_commands"), [{"command": "contact", "description": "x"}]),
    ],
)
def test_the_schema_refuses_what_slack_refuses(
    manifest: dict[str, Any], path: tuple[str, ...], value: Any
) -> None:
    broken = copy.deepcopy(manifest)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert errors(broken), f"{'.'.join(path)} = {value!r} passed"


def test_mentions_and_direct_messages_are_subscribed_with_their_scopes(
    manifest: dict[str, Any],
) -> None:
    bot_events = manifest["settings"]["event_subscriptions"]["bot_events"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mention", "message.im", "app_home_opened"} <= set(bot_events)
    assert {"app_mentions:read", "im:history", "chat:write"} <= scopes
    for event in bot_events:
        assert EVENT_SCOPES[event] <= scopes, f"{event} needs {EVENT_SCOPES[event] - scopes}"
    # The listeners take exactly what is subscribed: app_mention, and message (only DMs).
    assert events.MENTION in bot_events
    assert [e for e in bot_events if e.startswith(events.MESSAGE + ".")] == ["message.im"]


def test_the_messages_tab_is_open_for_writing(manifest: dict[str, Any]) -> None:
    home = manifest["features"]["app_home"]
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False


def test_the_code_and_the_manifest_name_the_same_shortcut_and_methods(
    manifest: dict[str, Any],
) -> None:
    shortcuts = {s["callback_id"] for s in manifest["features"]["shortcuts"]}
    assert shortcut.SHORTCUT in shortcuts
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # conversations.replies/history read a thread's first message (bot.slack.thread_log).
    assert {"channels:history", "groups:history"} <= scopes
    assert manifest["settings"]["socket_mode_enabled"] is True
