"""Checks of Block Kit against Slack's limits: slack_sdk's block models, plus the limits those
models do not check (blocks per message, button values, overflow options, unique action ids)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View


def _elements(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "accessory" in block:
        yield block["accessory"]
    if "element" in block:
        yield block["element"]
    yield from block.get("elements", ())


def check_blocks(blocks: Sequence[dict[str, Any]], limit: int = 50) -> None:
    assert 0 < len(blocks) <= limit, f"{len(blocks)} blocks"
    action_ids: list[str] = []
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, raw
        parsed.validate_json()
        for element in _elements(raw):
            if not isinstance(element, dict) or "action_id" not in element:
                continue
            action_ids.append(f"{raw.get('block_id', id(raw))}/{element['action_id']}")
            if element.get("type") == "button":
                assert len(element.get("value", "")) <= 2000
                assert len(element["text"]["text"]) <= 75
            if element.get("type") == "overflow":
                assert 2 <= len(element["options"]) <= 5
                for option in element["options"]:
                    assert len(option["value"]) <= 150
                    assert len(option["text"]["text"]) <= 75
        if raw["type"] == "section":
            assert len(raw.get("fields", ())) <= 10
            for field in raw.get("fields", ()):
                assert len(field["text"]) <= 2000
            if "text" in raw:
                assert 0 < len(raw["text"]["text"]) <= 3000
        if raw["type"] == "header":
            assert len(raw["text"]["text"]) <= 150
    # Within one message the run-button action ids are unique.
    run_ids = [a.split("/", 1)[1] for a in action_ids if "contactbot_run" in a]
    assert len(run_ids) == len(set(run_ids)), run_ids


def check_view(view: dict[str, Any]) -> None:
    View(**view).validate_json()
    check_blocks(view["blocks"], limit=100)
    assert len(view.get("private_metadata", "")) <= 3000


def all_text(blocks: Any) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def mrkdwn_text(blocks: Any) -> str:
    """All mrkdwn texts (where Slack would read `<!channel>`), joined; plain_text is shown as is
    and pings nobody."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node.get("text", ""))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(found)
