"""The contact modal: valid Block Kit, and submissions that become the right command line."""

from __future__ import annotations

import json

from bot.arguments import parse_arguments, split_words
from bot.slack.commands import modal_for
from bot.slack.home import home_view
from bot.slack.modals import (
    check,
    command_line,
    contact_modal,
    errors_for,
    message_modal,
    read_values,
)
from bot.slack.shortcut import log_modal
from tests.conftest import ChatBot
from tests.slack_unit.helpers import check_view


def _text(value: str | None) -> dict:
    return {"value": {"type": "plain_text_input", "value": value}}


def _select(action: str, value: str | None) -> dict:
    chosen = {"value": value, "text": {"type": "plain_text", "text": value}} if value else None
    return {action: {"type": "external_select", "selected_option": chosen}}


def test_views_are_valid() -> None:
    meta = {"mode": "new", "response_url": "http://127.0.0.1/r", "channel": "C1"}
    check_view(contact_modal(meta))
    filled = contact_modal(
        {"mode": "set", "no": "CT000001", "initial": {"name": "x" * 100}},
        initial={"name": "x" * 100, "city": "y" * 30, "company": "CT000002", "salesperson": "SP1"},
        labels={"company": "CT000002 " + "z" * 200, "salesperson": "SP1 Sam"},
    )
    check_view(filled)
    check_view(message_modal("Edit contact", "<!channel> " * 1000))
    check_view(log_modal({"text": "t" * 1500}, "d" * 400))
    check_view(home_view([], None, salesperson=None))


def test_new_submission_becomes_new_command() -> None:
    state = {
        "kind": {"value": {"type": "radio_buttons", "selected_option": {"value": "person"}}},
        "name": _text("Jan “de” O’Vries"),
        "company": _select("company_search", "CT000001"),
        "email": _text(" jan@acme.example "),
        "phone": _text(None),
        "city": _text("Den Haag"),
        "salesperson": _select("salesperson_search", None),
    }
    values = read_values(state)
    assert values["email"] == "jan@acme.example" and values["salesperson"] == ""
    assert check(values, {"mode": "new"}) == {}
    line = command_line(values, {"mode": "new"})
    assert line is not None
    words = split_words(line)
    args = parse_arguments(words[1:])
    assert words[0] == "new"
    assert args.positionals == ("person", 'Jan "de" O’Vries')  # an apostrophe is kept as typed
    assert args.fields == {"company": "CT000001", "email": "jan@acme.example", "city": "Den Haag"}


def test_set_submission_sends_only_changes() -> None:
    meta = {"mode": "set", "no": "CT000001", "initial": {"name": "Acme", "city": "Amsterdam"}}
    values = {"name": "Acme", "city": "", "email": "a=b@acme.example"}
    line = command_line(values, meta)
    assert line is not None
    args = parse_arguments(split_words(line)[1:])
    assert args.positionals == ("CT000001",)
    assert args.fields == {"city": "", "email": "a=b@acme.example"}
    assert command_line({"name": "Acme", "city": "Amsterdam"}, meta) is None


def test_checks_and_errors_next_to_the_field() -> None:
    assert check({"name": "", "kind": "company"}, {"mode": "new"}) == {"name": "Type a name."}
    assert "company" in check({"name": "A", "kind": "company", "company": "CT1"}, {"mode": "new"})
    present = {"name", "email", "company"}
    assert list(errors_for("email: `x` is not an email address.", present)) == ["email"]
    assert list(errors_for("company applies to persons only; …", present)) == ["company"]
    assert list(errors_for("Unknown field `x`.", present)) == ["name"]
    assert list(errors_for("vat_no: too long", present)) == ["name"]
    assert len(errors_for("email: " + "x" * 5000, present)["email"]) <= 300


def test_which_lines_open_the_modal() -> None:
    assert modal_for("new") == ("new", None)
    assert modal_for("NEW ") == ("new", None)
    assert modal_for('new company "Acme"') is None
    assert modal_for("set CT000001") == ("set", "CT000001")
    assert modal_for('set "Acme Holding"') == ("set", "Acme Holding")
    assert modal_for("set CT000001 city=Rotterdam") is None
    assert modal_for("set") is None
    assert modal_for("find acme") is None
    assert modal_for('set "unclosed') is None


def test_filled_modal_from_a_real_contact(bot: ChatBot) -> None:
    from bot.slack.modals import initial_values
    from storage.contacts import get_by_no

    bot.ok('new company "Acme" city=Amsterdam')
    bot.ok('new person "Jan" company=CT000001 email=jan@acme.example')
    with bot.app.store.transaction() as session:
        values, labels = initial_values(get_by_no(session, "CT000002"))
    assert values["company"] == "CT000001" and labels["company"] == "CT000001 Acme"
    assert values["city"] == "Amsterdam"
    view = contact_modal(
        {"mode": "set", "no": "CT000002", "initial": values}, initial=values, labels=labels
    )
    check_view(view)
    assert json.loads(view["private_metadata"])["initial"]["email"] == "jan@acme.example"
