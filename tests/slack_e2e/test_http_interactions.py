"""Interactivity over real HTTP: modals, buttons, suggestions, the message shortcut, failures,
rate limits and escaping, against `contactbot slack --http` on SQLite with roles configured
(U_SALES has sales, U_ADMIN admin; anyone else is refused). Every message and view that reaches
the Web API double is checked against Slack's Block Kit limits."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from bot.slack.actors import REFUSAL
from tests.slack_double import RESPONSE_URL, Call, SlackDouble
from tests.slack_e2e.conftest import database, running_app
from tests.slack_e2e.harness import SlackProcess, SlackSender, selected, text_values
from tests.slack_unit.helpers import check_blocks, check_view, mrkdwn_text

ROLES = {"sales": ["U_SALES", "S0SALESTEAM"], "admin": ["U_ADMIN"]}
#: A salesperson whose Slack user is found by the profile email users.info gives.
CONFIG = """
[codes.salespeople.SAM]
name = "Sam Sales"
email = "sam@sales.example"
"""


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, module_double: SlackDouble
) -> Iterator[SlackProcess]:
    work = tmp_path_factory.mktemp("slack-http-interactions")
    module_double.groups["S0SALESTEAM"] = ["U_TEAMMATE"]
    module_double.users["U_SALES"] = {"real_name": "Sam Sales", "email": "Sam@Sales.example"}
    with (
        database("sqlite", work, None) as url,
        running_app(work, module_double, url, roles=ROLES, config=CONFIG) as process,
    ):
        yield process


def reply_to(double: SlackDouble, target: str, predicate: Any = None) -> Call:
    """The answer that reached one response_url (checked against Block Kit's limits)."""
    call = double.wait_for(
        RESPONSE_URL, lambda c: c.target == target and (predicate is None or predicate(c))
    )
    check_blocks(call.blocks)
    return call


def run(sender: SlackSender, text: str, user_id: str = "U_SALES") -> Call:
    """`/contact <text>` and its answer."""
    sent = sender.command(text, user_id=user_id)
    assert sent.response.status == 200
    return reply_to(sender.double, sent.response_url_id)


def number_in(call: Call) -> str:
    found = re.search(r"CT\d{6}", call.text)
    assert found, call.text
    return found.group(0)


def element(call: Call, action_id: str, value: str | None = None) -> dict[str, Any]:
    """The interactive element `action_id` (with `value`) of a message, as Slack would send
    it back when clicked, with its block id."""
    for block in call.blocks:
        for candidate in [block.get("accessory"), *block.get("elements", ())]:
            if not isinstance(candidate, dict) or candidate.get("action_id") != action_id:
                continue
            if value is None or candidate.get("value") == value:
                return {**candidate, "block_id": block.get("block_id", "b")}
    raise AssertionError(f"no {action_id} {value or ''} in {call.blocks}")


def click(sender: SlackSender, action: dict[str, Any], user_id: str = "U_SALES") -> Call:
    sent = sender.interaction(sender.block_actions(action, user_id=user_id))
    assert sent.response.status == 200 and sent.response.body == b""
    return reply_to(sender.double, sent.response_url_id)


def open_contact_modal(sender: SlackSender) -> tuple[dict[str, Any], str]:
    """`/contact new` without text: (the view views.open received, the command's
    response_url id)."""
    sent = sender.command("new")
    opened = sender.double.wait_for(
        "views.open", lambda c: c.body.get("trigger_id") == sent.payload["trigger_id"]
    )
    check_view(opened.view)
    return opened.view, sent.response_url_id


def test_view_submission_with_a_bad_email_comes_back_next_to_the_field(
    sender: SlackSender,
) -> None:
    view, target = open_contact_modal(sender)
    values = {
        **selected("kind", "value", "company"),
        **text_values(name="Mailco B.V.", email="not-an-email"),
    }
    answer = sender.interaction(sender.view_submission(view, values)).response
    assert answer.status == 200
    body = answer.json()
    assert body["response_action"] == "errors" and set(body["errors"]) == {"email"}
    assert "email" in body["errors"]["email"].lower()

    values.update(text_values(name="Mailco B.V.", email="info@mailco.example"))
    answer = sender.interaction(sender.view_submission(view, values)).response
    assert answer.status == 200 and answer.body == b""  # the modal closes
    created = reply_to(sender.double, target)
    assert "Mailco B.V." in created.text and "info@mailco.example" in created.text


def test_buttons_run_their_command_through_the_same_permission_checks(
    sender: SlackSender,
) -> None:
    no = number_in(run(sender, 'new company "Button Test B.V." city=Utrecht'))
    found = run(sender, "find button test")
    card = click(sender, element(found, "contactbot_run:1", f"show {no}"))
    assert card.blocks[0]["type"] == "header" and "Button Test B.V." in card.text

    menu = element(card, "contactbot_menu")
    delete = next(o for o in menu["options"] if o["value"] == f"delete {no}")
    refused = click(sender, {**menu, "selected_option": delete}, user_id="U_SALES")
    assert "needs the admin role" in refused.text

    outsider = click(sender, element(found, "contactbot_run:1", f"show {no}"), "U_OUTSIDER")
    assert outsider.body["text"] == REFUSAL.replace("&", "&amp;")
    assert "Button Test B.V." not in outsider.text

    question = click(sender, {**menu, "selected_option": delete}, user_id="U_ADMIN")
    yes = element(question, "contactbot_confirm")
    done = click(sender, yes, user_id="U_ADMIN")
    assert done.body["replace_original"] is True and no in done.text
    assert run(sender, f"show {no}").body["text"].startswith(f"No contact `{no}`")


def test_block_suggestion_answers_with_contact_options(sender: SlackSender) -> None:
    company = number_in(run(sender, 'new company "Suggestion Partners" city=Gouda'))
    person = number_in(run(sender, f'new person "Sara Suggestion" company={company}'))
    answer = sender.interaction(sender.block_suggestion("contact_search", "suggestion")).response
    assert answer.status == 200
    options = answer.json()["options"]
    assert {company, person} <= {o["value"] for o in options}
    assert any("Suggestion Partners" in o["text"]["text"] for o in options)

    companies = sender.interaction(sender.block_suggestion("company_search", "suggestion"))
    values = {o["value"] for o in companies.response.json()["options"]}
    assert company in values and person not in values

    outsider = sender.interaction(
        sender.block_suggestion("contact_search", "suggestion", user_id="U_OUTSIDER")
    )
    assert outsider.response.status == 200 and outsider.response.json() == {"options": []}


def test_message_shortcut_opens_its_modal_and_logs_the_message(sender: SlackSender) -> None:
    no = number_in(run(sender, 'new company "Shortcut Shipping"'))
    message = {"ts": "1700000123.000200", "user": "U_CUSTOMER", "text": "Call me <!here> at 9"}
    sent = sender.interaction(sender.message_action("contactbot_log_message", message))
    assert sent.response.status == 200
    opened = sender.double.wait_for(
        "views.open", lambda c: c.body.get("trigger_id") == sent.payload["trigger_id"]
    )
    check_view(opened.view)
    assert opened.view["callback_id"] == "contactbot_log_modal"
    assert "<!here>" not in mrkdwn_text(opened.view["blocks"])

    values = {
        **selected("contact", "contact_search", no, kind="external_select"),
        "description": {"value": {"type": "plain_text_input", "value": "Asked for a call"}},
    }
    answer = sender.interaction(sender.view_submission(opened.view, values)).response
    assert answer.status == 200 and answer.body == b""
    logged = reply_to(sender.double, sent.response_url_id)
    assert f"Logged the message on {no}" in logged.text
    link = sender.double.wait_for(
        "chat.getPermalink", lambda c: c.body.get("message_ts") == message["ts"]
    )
    assert link.body["channel"] == "C_SALES"
    history = run(sender, f"history {no}")
    assert "Asked for a call" in history.text and "<!here>" not in mrkdwn_text(history.blocks)

    empty = sender.interaction(sender.view_submission(opened.view, {})).response.json()
    assert empty == {"response_action": "errors", "errors": {"contact": "Pick a contact."}}
    outsider = sender.view_submission(opened.view, values, user_id="U_OUTSIDER")
    refused = sender.interaction(outsider).response.json()
    assert refused["errors"]["contact"].startswith("Sorry, you do not have access")

    sent = sender.interaction(
        sender.message_action("contactbot_log_message", message, user_id="U_OUTSIDER")
    )
    assert REFUSAL.replace("&", "&amp;") in reply_to(sender.double, sent.response_url_id).text
    assert not [
        c
        for c in sender.double.calls("views.open")
        if c.body["trigger_id"] == sent.payload["trigger_id"]
    ]


def test_an_exception_becomes_an_apology_with_an_error_id_and_serving_goes_on(
    app: SlackProcess, sender: SlackSender
) -> None:
    sender.double.fail("views.open", "expired_trigger_id")
    sent = sender.command("new")
    apology = reply_to(sender.double, sent.response_url_id)
    error_id = re.search(r"error ([0-9a-f]{8})", apology.text)
    assert error_id, apology.text
    app.wait_for_log(rf"error {error_id.group(1)} .*\n(.*\n)*.*expired_trigger_id")
    assert "After The Error" in run(sender, 'new company "After The Error"').text  # serving


def test_a_rate_limited_or_failed_reply_is_retried_and_arrives(sender: SlackSender) -> None:
    sender.double.rate_limit(RESPONSE_URL, times=1, retry_after=0)
    sent = sender.command('new company "Rate Limited Retail"')
    reply = reply_to(sender.double, sent.response_url_id)
    assert "Rate Limited Retail" in reply.text
    statuses = [c.status for c in sender.double.calls(RESPONSE_URL) if c.target == reply.target]
    assert statuses == [429, 200]
    sender.double.server_error(RESPONSE_URL, times=1, status=502)
    again = reply_to(sender.double, sender.command("find rate limited").response_url_id)
    assert [c.status for c in sender.double.calls(RESPONSE_URL) if c.target == again.target] == [
        502,
        200,
    ]

    sender.double.rate_limit("chat.postMessage", times=1, retry_after=0)
    found = run(sender, "find rate limited retail")
    share = element(found, "contactbot_share")
    sender.interaction(sender.block_actions(share))
    posted = sender.double.wait_for("chat.postMessage", lambda c: "Rate Limited Retail" in c.text)
    check_blocks(posted.blocks)
    assert posted.body["channel"] == "C_SALES"
    assert [c.status for c in sender.double.calls("chat.postMessage")][-2:] == [429, 200]


def test_a_contact_named_like_a_mention_reaches_slack_escaped(sender: SlackSender) -> None:
    created = run(sender, 'new company "<!channel> & <@U123>"')
    no = number_in(created)
    card = run(sender, f"show {no}")
    for call in (created, card):
        shown = mrkdwn_text(call.blocks) + "\n" + call.body["text"]
        assert "<!channel>" not in shown and "<@U123>" not in shown
    assert card.blocks[0]["text"] == {
        "type": "plain_text",  # plain text pings nobody: shown as typed
        "text": "<!channel> & <@U123>",
        "emoji": False,
    }
    assert card.body["text"] == f"{no} &lt;!channel&gt; &amp; &lt;@U123&gt;"
    sender.interaction(sender.block_actions(element(card, "contactbot_share")))
    posted = sender.double.wait_for("chat.postMessage", lambda c: no in c.text)
    assert "<!channel>" not in mrkdwn_text(posted.blocks) + posted.body["text"]


def test_the_largest_card_and_list_are_valid_block_kit(sender: SlackSender) -> None:
    name = ("Lengthy " * 12)[:94] + "Group"
    company = number_in(
        run(
            sender,
            f'new company "{name}" address="{"Long Street 1 " * 6}" city=Rotterdam '
            "post_code=3011AA email=info@lengthy.example phone=+31101234567",
        )
    )
    for index in range(30):
        run(sender, f'new person "Lengthy Person {index:02d}" company={company}')
    card = run(sender, f"show {company}")  # checked in reply_to: fields, persons, limits
    assert "Lengthy Person 29" in card.text or "more" in card.text
    lines = run(sender, "find lengthy person")
    assert len(lines.blocks) <= 50 and "Lengthy Person" in lines.text


def test_set_without_pairs_opens_the_modal_first_and_fills_it_in(sender: SlackSender) -> None:
    no = number_in(run(sender, 'new company "Edit Me B.V." city=Delft email=edit@me.example'))
    sent = sender.command(f"set {no}")
    opened = sender.double.wait_for(
        "views.open", lambda c: c.body.get("trigger_id") == sent.payload["trigger_id"]
    )
    assert "Loading" in opened.text
    updated = sender.double.wait_for(
        "views.update", lambda c: f"Edit {no}" in c.view.get("title", {}).get("text", "")
    )
    check_view(updated.view)
    answered = opened.answer["view"]
    assert (updated.body["view_id"], updated.body["hash"]) == (answered["id"], answered["hash"])
    filled = {b["block_id"]: b["element"].get("initial_value") for b in updated.view["blocks"]}
    assert filled["name"] == "Edit Me B.V." and filled["city"] == "Delft"

    values = text_values(name="Edit Me B.V.", city="Leiden", email="edit@me.example")
    answer = sender.interaction(sender.view_submission(updated.view, values)).response
    assert answer.status == 200 and answer.body == b""
    saved = reply_to(sender.double, sent.response_url_id)
    assert "Leiden" in saved.text


def test_app_home_opened_publishes_a_home_view(app: SlackProcess, sender: SlackSender) -> None:
    event = {
        "token": "deprecated-verification-token",
        "team_id": "T0CONTACT",
        "api_app_id": "A0CONTACTBOT",
        "type": "event_callback",
        "event_id": "Ev0HOME0001",
        "event_time": 1700000000,
        "event": {
            "type": "app_home_opened",
            "user": "U_SALES",
            "channel": "D0HOME",
            "tab": "home",
            "event_ts": "1700000000.000100",
        },
    }
    answer = sender.post(json.dumps(event).encode(), "application/json")
    assert answer.status == 200
    published = sender.double.wait_for(
        "views.publish", lambda c: c.body.get("user_id") == "U_SALES"
    )
    assert published.view["type"] == "home"
    check_view(published.view)


def test_url_verification_answers_the_challenge(sender: SlackSender) -> None:
    body = json.dumps({"token": "t", "challenge": "c0ffee", "type": "url_verification"})
    answer = sender.post(body.encode(), "application/json")
    assert answer.status == 200 and answer.json() == {"challenge": "c0ffee"}
    assert sender.post(body.encode(), "application/json", signed=False).status == 401


def test_roles_come_from_user_groups_and_the_salesperson_from_the_profile_email(
    sender: SlackSender,
) -> None:
    assert "Sorry, you do not have access" in run(sender, "find x", user_id="U_NOBODY").text
    teammate = run(sender, 'new company "Teammate Trading"', user_id="U_TEAMMATE")
    assert "Teammate Trading" in teammate.text
    listed = sender.double.wait_for("usergroups.users.list")
    assert listed.body["usergroup"] == "S0SALESTEAM"
    sams = run(sender, 'new company "Sams Own Shop"', user_id="U_SALES")
    context = next(b for b in sams.blocks if b["type"] == "context")
    assert "salesperson SAM" in context["elements"][0]["text"]
    assert sender.double.wait_for("users.info", lambda c: c.body["user"] == "U_SALES")
