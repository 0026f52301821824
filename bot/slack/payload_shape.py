"""The shape a Slack payload must have before Bolt and contactbot's listeners read it.

Slack signs what it sends, but a signature says who sent a body, not that the body is what the
listeners expect; a signed body with `"user": 5` or `"actions": "x"` would reach Bolt's context
extraction (a 500) or a listener (an apology). `check_payload` raises `Malformed` with a short,
fixed description (a path, never a value) unless the payload is one of:

- a slash command (form fields: `command` starting with "/", `user_id`);
- an interactivity payload (`type` and a `user` object with an `id`), with the fields each kind
  that contactbot listens to reads (block_actions, view_submission / view_closed,
  block_suggestion, message_action, shortcut); other kinds pass with the common checks, and
  Bolt answers them as unhandled;
- an Events API body (`url_verification` with its `challenge`, `event_callback` with an `event`
  object), or another Events API `type`.

Only types are checked, where the fields are: Slack adds fields all the time, and those are left
alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Malformed(ValueError):
    """A payload Slack would not send; the message names the field."""


#: Fields that are strings wherever they appear at the top level of a payload.
_TOP_STRINGS = (
    "type",
    "token",
    "team_id",
    "enterprise_id",
    "user_id",
    "channel_id",
    "api_app_id",
    "trigger_id",
    "response_url",
    "command",
    "text",
    "callback_id",
    "action_id",
    "block_id",
    "value",
    "event_id",
    "challenge",
    "thread_ts",
    "message_ts",
)
#: Fields Bolt reads as "a string id, or an object with an `id`" (team may also be null).
_IDS = ("enterprise", "team", "user", "channel")
#: Fields that are objects wherever they appear at the top level.
_TOP_OBJECTS = ("container", "view", "message", "previous_message", "item", "event", "state")
#: Fields that are lists of objects.
_TOP_LISTS = ("actions", "authorizations", "response_urls")


def check_payload(payload: Any) -> None:
    """Raise Malformed unless `payload` has the shape its kind needs (see the module doc)."""
    body = _object(payload, "the body")
    _common(body, "")
    kind = body.get("type")
    if kind is None:
        if "command" not in body:
            raise Malformed("neither a slash command, an interaction nor an event")
        _slash_command(body)
        return
    check = _KINDS.get(kind)
    if check is not None:
        check(body)
    elif "user" in body and not isinstance(body["user"], Mapping):
        raise Malformed("user is not an object")


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Malformed(f"{where} is not an object")
    return value


def _common(body: Mapping[str, Any], prefix: str) -> None:
    """The top-level fields Bolt's context extraction reads, whatever the kind."""
    for key in _TOP_STRINGS:
        _string(body, key, prefix)
    for key in _IDS:
        value = body.get(key)
        if value is None or isinstance(value, str):
            continue
        if not isinstance(value, Mapping):
            raise Malformed(f"{prefix}{key} is neither an id nor an object")
        _string(value, "id", f"{prefix}{key}.")
        _string(value, "team_id", f"{prefix}{key}.")
        _string(value, "enterprise_id", f"{prefix}{key}.")
    for key in _TOP_OBJECTS:
        if body.get(key) is not None:
            _object(body[key], f"{prefix}{key}")
    for key in _TOP_LISTS:
        if body.get(key) is not None:
            _objects(body[key], f"{prefix}{key}")
    for index, authorization in enumerate(body.get("authorizations") or ()):
        for key in ("team_id", "enterprise_id", "user_id"):
            _string(authorization, key, f"{prefix}authorizations[{index}].")
    for index, answer in enumerate(body.get("response_urls") or ()):
        _string(answer, "response_url", f"{prefix}response_urls[{index}].")


def _string(body: Mapping[str, Any], key: str, prefix: str = "", *, required: bool = False) -> str:
    value = body.get(key)
    if value is None:
        if required:
            raise Malformed(f"{prefix}{key} is missing")
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{prefix}{key} is not a string")
    if required and not value:
        raise Malformed(f"{prefix}{key} is empty")
    return value


def _objects(value: Any, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        raise Malformed(f"{where} is not a list")
    return [_object(item, f"{where}[{index}]") for index, item in enumerate(value)]


def _user(body: Mapping[str, Any]) -> None:
    user = body.get("user")
    if not isinstance(user, Mapping):
        raise Malformed("user is missing or not an object")
    _string(user, "id", "user.", required=True)
    for key in ("username", "name"):
        _string(user, key, "user.")


def _slash_command(body: Mapping[str, Any]) -> None:
    if not _string(body, "command", required=True).startswith("/"):
        raise Malformed("command does not start with /")
    _string(body, "user_id", required=True)


def _option(value: Any, where: str) -> None:
    if value is not None:
        _string(_object(value, where), "value", f"{where}.")


def _block_actions(body: Mapping[str, Any]) -> None:
    _user(body)
    actions = _objects(body.get("actions"), "actions")
    if not actions:
        raise Malformed("actions is empty")
    for index, action in enumerate(actions):
        where = f"actions[{index}]"
        _string(action, "action_id", f"{where}.", required=True)
        for key in ("block_id", "value", "action_ts", "type"):
            _string(action, key, f"{where}.")
        _option(action.get("selected_option"), f"{where}.selected_option")
    if body.get("view") is not None:
        _view(body["view"])


def _view(value: Any) -> None:
    view = _object(value, "view")
    for key in ("id", "callback_id", "private_metadata", "hash", "type", "app_installed_team_id"):
        _string(view, key, "view.")
    state = view.get("state")
    if state is None:
        return
    values = _object(state, "view.state").get("values")
    if values is None:
        return
    where = "view.state.values.<block>"
    for block in _object(values, "view.state.values").values():
        for element in _object(block, where).values():
            element = _object(element, f"{where}.<action>")
            _string(element, "type", f"{where}.<action>.")
            _string(element, "value", f"{where}.<action>.")
            _option(element.get("selected_option"), f"{where}.<action>.selected_option")


def _view_submission(body: Mapping[str, Any]) -> None:
    _user(body)
    if body.get("view") is None:
        raise Malformed("view is missing")
    _view(body["view"])


def _block_suggestion(body: Mapping[str, Any]) -> None:
    _user(body)
    _string(body, "action_id", required=True)
    if body.get("view") is not None:
        _view(body["view"])


def _message_action(body: Mapping[str, Any]) -> None:
    _user(body)
    _string(body, "callback_id", required=True)
    message = _object(body.get("message"), "message")
    for key in ("text", "ts", "user", "bot_id"):
        _string(message, key, "message.")


def _shortcut(body: Mapping[str, Any]) -> None:
    _user(body)
    _string(body, "callback_id", required=True)


def _url_verification(body: Mapping[str, Any]) -> None:
    _string(body, "challenge", required=True)


def _event_callback(body: Mapping[str, Any]) -> None:
    event = _object(body.get("event"), "event")
    _string(event, "type", "event.", required=True)
    for key in ("tab", "event_ts", "ts", "subtype", "bot_id", "channel_type"):
        _string(event, key, "event.")
    if event["type"] == "app_home_opened":
        _string(event, "user", "event.", required=True)
    _common(event, "event.")


_KINDS = {
    "block_actions": _block_actions,
    "view_submission": _view_submission,
    "view_closed": _view_submission,
    "block_suggestion": _block_suggestion,
    "message_action": _message_action,
    "shortcut": _shortcut,
    "url_verification": _url_verification,
    "event_callback": _event_callback,
}
