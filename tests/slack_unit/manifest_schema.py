"""The part of Slack's app manifest schema (version 1) that contactbot's manifest uses, as a
JSON Schema: every object closed (`additionalProperties: false`, as Slack's own schema has
them, so a misspelt key is refused as Slack refuses it), with Slack's documented types,
required keys and length limits. Written from Slack's manifest reference, for the test of
slack/manifest.yml."""

from __future__ import annotations

from typing import Any


def _text(low: int, high: int, **more: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": low, "maxLength": high, **more}


def _closed(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(required),
        "properties": properties,
    }


def _names(limit: int) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string", "maxLength": 50},
        "maxItems": limit,
        "uniqueItems": True,
    }


_URL = {"type": "string", "pattern": r"^https?://", "maxLength": 3500}
_BOOLEAN = {"type": "boolean"}

MANIFEST_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    **_closed(
        {
            "_metadata": _closed(
                {
                    "major_version": {"type": "integer"},
                    "minor_version": {"type": "integer"},
                }
            ),
            "display_information": _closed(
                {
                    "name": _text(1, 35),
                    "description": _text(1, 140),
                    "long_description": _text(175, 4000),
                    "background_color": _text(4, 7, pattern=r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$"),
                },
                ("name",),
            ),
            "features": _closed(
                {
                    "app_home": _closed(
                        {
                            "home_tab_enabled": _BOOLEAN,
                            "messages_tab_enabled": _BOOLEAN,
                            "messages_tab_read_only_enabled": _BOOLEAN,
                        }
                    ),
                    "bot_user": _closed(
                        {"display_name": _text(1, 80), "always_online": _BOOLEAN},
                        ("display_name",),
                    ),
                    "slash_commands": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 50,
                        "items": _closed(
                            {
                                "command": _text(2, 32, pattern="^/"),
                                "url": _URL,
                                "description": _text(1, 2000),
                                "usage_hint": _text(1, 1000),
                                "should_escape": _BOOLEAN,
                            },
                            ("command", "description"),
                        ),
                    },
                    "shortcuts": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 10,
                        "items": _closed(
                            {
                                "name": _text(1, 24),
                                "type": {"type": "string", "enum": ["message", "global"]},
                                "callback_id": _text(1, 255),
                                "description": _text(1, 150),
                            },
                            ("name", "type", "callback_id", "description"),
                        ),
                    },
                }
            ),
            "oauth_config": _closed(
                {
                    "redirect_urls": {"type": "array", "items": {"type": "string"}},
                    "scopes": _closed({"bot": _names(255), "user": _names(255)}),
                }
            ),
            "settings": _closed(
                {
                    "event_subscriptions": _closed(
                        {"request_url": _URL, "bot_events": _names(100), "user_events": _names(100)}
                    ),
                    "interactivity": _closed(
                        {
                            "is_enabled": _BOOLEAN,
                            "request_url": _URL,
                            "message_menu_options_url": _URL,
                        },
                        ("is_enabled",),
                    ),
                    "org_deploy_enabled": _BOOLEAN,
                    "socket_mode_enabled": _BOOLEAN,
                    "token_rotation_enabled": _BOOLEAN,
                }
            ),
        },
        ("display_information",),
    ),
}

#: The scopes Slack requires before a bot may subscribe to an event (Slack's events reference).
EVENT_SCOPES: dict[str, frozenset[str]] = {
    "app_home_opened": frozenset(),
    "app_mention": frozenset({"app_mentions:read"}),
    "message.im": frozenset({"im:history"}),
    "message.channels": frozenset({"channels:history"}),
    "message.groups": frozenset({"groups:history"}),
    "message.mpim": frozenset({"mpim:history"}),
}
