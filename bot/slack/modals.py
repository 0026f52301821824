"""The contact modal: `/contact new` (empty) and `/contact set <no>` (filled in).

Company or Person, name, a company picker (external_select searched through `find`), email,
phone, the address block and a salesperson picker. The modal opens before any database work
(trigger ids expire after 3 s): `set` opens a "Loading…" view first and fills it in with
views.update. A submission runs the same `new` or `set` command line through the dispatcher;
a refusal comes back next to its field (`response_action: errors`), a success closes the modal
and answers where the command was typed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bot.arguments import quote
from bot.slack.escape import escape_within, plain_within

CONTACT_MODAL = "contactbot_contact_modal"
COMPANY_SEARCH = "company_search"
SALESPERSON_SEARCH = "salesperson_search"
CONTACT_SEARCH = "contact_search"
VALUE = "value"
METADATA_LIMIT = 3000

#: (block id = field name, label, max length) of the text inputs, in order.
TEXT_FIELDS: tuple[tuple[str, str, int], ...] = (
    ("email", "Email", 120),
    ("phone", "Phone", 30),
    ("address", "Address", 100),
    ("address_2", "Address 2", 50),
    ("post_code", "Post code", 20),
    ("city", "City", 30),
    ("county", "County", 30),
    ("country", "Country/region code", 10),
)
SELECT_FIELDS = ("company", "salesperson")
FORM_FIELDS = ("name", *SELECT_FIELDS, *(name for name, _, _ in TEXT_FIELDS))
KINDS = ("company", "person")

_FIELD_IN_MESSAGE = re.compile(r"^([a-z][a-z0-9_]*)(?::| applies to)")
ERROR_LIMIT = 300


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": plain_within(text, limit)}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text, 75), "value": value[:150]}


def metadata(data: Mapping[str, Any]) -> str:
    """JSON for private_metadata, dropping the initial values when it would not fit."""
    text = json.dumps(data, separators=(",", ":"))
    if len(text) > METADATA_LIMIT:
        text = json.dumps({k: v for k, v in data.items() if k != "initial"}, separators=(",", ":"))
    return text[:METADATA_LIMIT]


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = True,
    hint: str = "",
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint, 2000)
    return block


def _text_input(initial: str, max_length: int) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": VALUE}
    element["max_length"] = max_length
    if initial:
        element["initial_value"] = initial[:max_length]
    return element


def _external(action_id: str, placeholder: str, initial: tuple[str, str] | None, min_len: int):
    element: dict[str, Any] = {
        "type": "external_select",
        "action_id": action_id,
        "placeholder": _plain(placeholder, 150),
        "min_query_length": min_len,
    }
    if initial:
        element["initial_option"] = option(initial[1], initial[0])
    return element


def contact_modal(
    meta: Mapping[str, Any],
    *,
    initial: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The modal. `meta`: mode ("new"|"set"), no (for set), response_url, channel.
    `initial`: field values to fill in (set); `labels`: shown text of the picked company and
    salesperson."""
    initial = initial or {}
    labels = labels or {}
    editing = meta.get("mode") == "set"
    blocks: list[dict[str, Any]] = []
    if not editing:
        radio = {
            "type": "radio_buttons",
            "action_id": VALUE,
            "options": [option("Company", "company"), option("Person", "person")],
            "initial_option": option("Company", "company"),
        }
        blocks.append(_input("kind", "Company or person", radio, optional=False))
    blocks.append(_input("name", "Name", _text_input(initial.get("name", ""), 100), optional=False))
    company = initial.get("company")
    blocks.append(
        _input(
            "company",
            "Company",
            _external(
                COMPANY_SEARCH,
                "Search companies",
                (company, labels.get("company", company)) if company else None,
                1,
            ),
            hint="For a person: the company they work for. Leave empty for a company.",
        )
    )
    for name, label, limit in TEXT_FIELDS:
        blocks.append(_input(name, label, _text_input(initial.get(name, ""), limit)))
    salesperson = initial.get("salesperson")
    blocks.append(
        _input(
            "salesperson",
            "Salesperson",
            _external(
                SALESPERSON_SEARCH,
                "Pick a salesperson",
                (salesperson, labels.get("salesperson", salesperson)) if salesperson else None,
                0,
            ),
        )
    )
    title = f"Edit {meta.get('no', '')}" if editing else "New contact"
    return {
        "type": "modal",
        "callback_id": CONTACT_MODAL,
        "title": _plain(title, 24),
        "submit": _plain("Save" if editing else "Create", 24),
        "close": _plain("Cancel", 24),
        "private_metadata": metadata(meta),
        "blocks": blocks,
    }


def message_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (loading, not found, refused)."""
    return {
        "type": "modal",
        "title": _plain(title, 24),
        "close": _plain("Close", 24),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": escape_within(text, 3000)}}
        ],
    }


# --- reading a submission ------------------------------------------------------------------


def read_values(state: Mapping[str, Any]) -> dict[str, str]:
    """Field name -> value ("" when empty) from view.state.values."""
    values: dict[str, str] = {}
    for block_id, actions in (state or {}).items():
        for element in actions.values():
            kind = element.get("type")
            if kind in ("plain_text_input", "email_text_input", "number_input"):
                values[block_id] = (element.get("value") or "").strip()
            elif kind in ("radio_buttons", "static_select", "external_select"):
                selected = element.get("selected_option") or {}
                values[block_id] = selected.get("value") or ""
    return values


def quote_value(value: str) -> str:
    """Quoted for the command line as the dispatcher splits it (only double quotes group;
    apostrophes are letters): bot.arguments.quote."""
    return quote(value)


def check(values: Mapping[str, str], meta: Mapping[str, Any]) -> dict[str, str]:
    """What can be said before running anything: field -> message."""
    errors: dict[str, str] = {}
    if not values.get("name"):
        errors["name"] = "Type a name."
    if meta.get("mode") != "set" and values.get("kind") == "company" and values.get("company"):
        errors["company"] = "Only a person belongs to a company; leave this empty for a company."
    return errors


def command_line(values: Mapping[str, str], meta: Mapping[str, Any]) -> str | None:
    """The `new …` or `set <no> …` line for a submission; None when nothing changed."""
    if meta.get("mode") == "set":
        initial = meta.get("initial")
        pairs = []
        for name in FORM_FIELDS:
            value = values.get(name, "")
            if isinstance(initial, Mapping):
                if value == (initial.get(name) or ""):
                    continue
            elif not value:
                continue
            pairs.append(f"{name}={quote_value(value)}")
        if not pairs:
            return None
        return f"set {meta.get('no', '')} " + " ".join(pairs)
    kind = values.get("kind") or "company"
    pairs = [
        f"{name}={quote_value(values[name])}"
        for name in FORM_FIELDS
        if name != "name" and values.get(name)
    ]
    return " ".join([f"new {kind}", quote_value(values.get("name", "")), *pairs])


def errors_for(message: str, present: set[str]) -> dict[str, str]:
    """A dispatcher refusal as `response_action: errors`: next to the field it names, else
    next to the name."""
    match = _FIELD_IN_MESSAGE.match(message)
    block = match.group(1) if match else "name"
    if block not in present:
        block = "name"
    text = message if len(message) <= ERROR_LIMIT else message[: ERROR_LIMIT - 1] + "…"
    return {block: text}


def initial_values(contact: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(values, labels) of a Contact for the filled-in `set` modal."""
    values = {"name": contact.name or ""}
    for name, _, _ in TEXT_FIELDS:
        values[name] = str(getattr(contact, name) or "")
    labels: dict[str, str] = {}
    if contact.company is not None:
        values["company"] = contact.company.no
        labels["company"] = f"{contact.company.no} {contact.company.name}"
    if contact.salesperson:
        values["salesperson"] = contact.salesperson
    return {k: v for k, v in values.items() if v}, labels
