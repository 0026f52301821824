"""Issue 17's "Slack where people talk" over real HTTP: Events API bodies (`app_mention`, and
`message` from `message.im`) posted to `contactbot slack --http` as Slack posts them (JSON,
signed), answered with chat.postMessage on the Web API double. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.slack_double import BOT_ID, BOT_USER_ID, RESPONSE_URL, Call, SlackDouble
from tests.slack_e2e.harness import (
    SlackProcess,
    SlackSender,
    direct_message,
    mention,
    numbers_named,
    selected,
)
from tests.slack_e2e.test_http_done_when import app
from tests.slack_unit.helpers import check_blocks

POST = "chat.postMessage"


# `contactbot slack --http` on SQLite, then on PostgreSQL, as test_http_done_when.py runs it.
__all__ = ["app"]


def slash(app: SlackProcess, sender: SlackSender, text: str) -> Call:
    sent = sender.command(text)
    return app.double.wait_for(RESPONSE_URL, lambda c: c.target == sent.response_url_id)


@pytest.fixture(scope="module")
def acme(app: SlackProcess) -> str:
    """The number of "Acme Holding B.V." in this module's database, made by the slash command."""
    sender = SlackSender(app.port, app.double)
    reply = slash(app, sender, 'new company "Acme Holding B.V." city=Amsterdam')
    found = re.search(r"CT\d{6}", reply.text)
    assert found, reply.text
    return found.group(0)


def channel_id(prefix: str = "C") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10].upper()}"


def answer_in(
    double: SlackDouble, channel: str, thread_ts: str | None, timeout: float = 10.0
) -> Call:
    """The chat.postMessage to `channel` in thread `thread_ts` (None: not in a thread)."""
    call = double.wait_for(
        POST,
        lambda c: c.body.get("channel") == channel and c.body.get("thread_ts") == thread_ts,
        timeout=timeout,
    )
    check_blocks(call.blocks)
    return call


def posts_to(double: SlackDouble, channel: str) -> list[Call]:
    return [c for c in double.calls(POST) if c.body.get("channel") == channel]


def test_a_mention_is_answered_in_its_thread_naming_the_contact(
    app: SlackProcess, sender: SlackSender, acme: str
) -> None:
    channel = channel_id()
    ts = app.double.add_message(channel, "find acme holdng", user="U_SALES")
    sent = sender.event(mention("find acme holdng", ts, channel=channel))
    assert sent.response.status == 200
    reply = answer_in(app.double, channel, ts)
    assert acme in reply.text and "Acme Holding B.V." in reply.text
    assert reply.headers["authorization"] == "Bearer xoxb-contactbot-e2e"
    # A normal message in the thread, for everyone there: not an ephemeral one.
    assert not [
        c for c in app.double.calls("chat.postEphemeral") if c.body.get("channel") == channel
    ]


def test_a_mention_inside_a_thread_is_answered_in_that_thread(
    app: SlackProcess, sender: SlackSender, acme: str
) -> None:
    channel = channel_id()
    root = app.double.add_message(channel, "Who handles Acme?", user="U_OTHER")
    ts = app.double.add_message(channel, "find acme", user="U_SALES", thread_ts=root)
    sender.event(mention("find acme", ts, channel=channel, thread_ts=root))
    reply = answer_in(app.double, channel, root)
    assert acme in reply.text
    assert not [c for c in posts_to(app.double, channel) if c.body.get("thread_ts") == ts]


def test_a_dm_is_answered_in_the_dm_with_the_slash_commands_card(
    app: SlackProcess, sender: SlackSender, acme: str
) -> None:
    dm = channel_id("D")
    ts = app.double.add_message(dm, f"show {acme}", user="U_SALES")
    sender.event(direct_message(f"show {acme}", ts, channel=dm))
    reply = answer_in(app.double, dm, None)
    assert "Acme Holding B.V." in reply.text and "Amsterdam" in reply.text
    card = slash(app, sender, f"show {acme}")

    def without_buttons(blocks: list[dict[str, object]]) -> list[dict[str, object]]:
        return [b for b in blocks if b.get("type") != "actions"]

    assert without_buttons(reply.blocks) == without_buttons(card.blocks)
    assert len(without_buttons(reply.blocks)) >= 2


def test_a_redelivered_event_is_answered_once(
    app: SlackProcess, sender: SlackSender, acme: str
) -> None:
    channel = channel_id()
    ts = app.double.add_message(channel, "find acme holdng", user="U_SALES")
    first = sender.event(mention("find acme holdng", ts, channel=channel))
    answer_in(app.double, channel, ts)
    for retry in (1, 2):
        again = sender.resend_event(first.payload, retry=retry)
        assert again.response.status == 200
    event_id = first.payload["event_id"]
    app.wait_for_log(rf"{event_id}\S* ran already|event {event_id} was answered already")
    app.double.assert_never(
        POST, lambda c: c.body.get("channel") == channel and len(posts_to(app.double, channel)) > 1
    )
    assert len(posts_to(app.double, channel)) == 1


def test_a_redelivered_mention_that_writes_writes_and_answers_once(
    app: SlackProcess, sender: SlackSender
) -> None:
    channel = channel_id()
    name = f"Mention Once {uuid.uuid4().hex[:6]}"
    ts = app.double.add_message(channel, f'new company "{name}"', user="U_SALES")
    first = sender.event(mention(f'new company "{name}"', ts, channel=channel))
    assert name in answer_in(app.double, channel, ts).text
    sender.resend_event(first.payload, retry=1)
    app.wait_for_log(rf"delivery \S*{first.payload['event_id']}\S* ran already")
    found = slash(app, sender, f'find "{name}"')
    assert len(numbers_named(found.text, name)) == 1
    assert len(posts_to(app.double, channel)) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"bot_id": "B0OTHERBOT"},
        {"subtype": "bot_message", "bot_id": "B0OTHERBOT"},
        {"user": BOT_USER_ID, "bot_id": BOT_ID},
        {"user": BOT_USER_ID},
        {"subtype": "message_changed", "message": {"type": "message", "text": "show x"}},
        {"subtype": "message_deleted", "deleted_ts": "1700000000.000001"},
        {"subtype": "channel_join"},
        {"edited": {"user": "U_SALES", "ts": "1700000000.000002"}},
    ],
    ids=["bot", "bot_message", "own", "own-user", "changed", "deleted", "join", "edited"],
)
def test_bots_edits_and_deletions_are_never_answered(
    app: SlackProcess, sender: SlackSender, acme: str, fields: dict[str, object]
) -> None:
    dm = channel_id("D")
    ts = app.double.add_message(dm, f"show {acme}", user="U_SALES")
    sender.event(direct_message(f"show {acme}", ts, channel=dm, **fields))
    channel = channel_id()
    sender.event(mention(f"show {acme}", ts, channel=channel, **fields))
    app.double.assert_never(POST, lambda c: c.body.get("channel") in (dm, channel), within=1.5)


def test_a_channel_message_without_a_mention_and_a_dm_mention_are_not_answered_twice(
    app: SlackProcess, sender: SlackSender, acme: str
) -> None:
    channel = channel_id()
    ts = app.double.add_message(channel, f"show {acme}", user="U_SALES")
    plain = direct_message(f"show {acme}", ts, channel=channel, channel_type="channel")
    sender.event(plain)
    dm = channel_id("D")
    dts = app.double.add_message(dm, f"<@{BOT_USER_ID}> show {acme}", user="U_SALES")
    # Slack sends both for a mention in a DM; only the message.im one is answered.
    sender.event(mention(f"show {acme}", dts, channel=dm))
    sender.event(direct_message(f"<@{BOT_USER_ID}> show {acme}", dts, channel=dm))
    assert "Acme Holding B.V." in answer_in(app.double, dm, None).text
    app.double.assert_never(POST, lambda c: c.body.get("channel") == channel, within=1.0)
    assert len(posts_to(app.double, dm)) == 1


@pytest.mark.parametrize("text", ["", "hello there", "   "])
def test_a_mention_naming_no_verb_gets_the_short_help_in_the_thread(
    app: SlackProcess, sender: SlackSender, text: str
) -> None:
    channel = channel_id()
    ts = app.double.add_message(channel, text, user="U_SALES")
    sender.event(mention(text, ts, channel=channel))
    reply = answer_in(app.double, channel, ts)
    assert "Mention me with a command" in reply.text
    assert "find" in reply.text and "show" in reply.text
    if text.strip():
        assert "`hello` is not a command" in reply.text


def test_what_people_typed_is_escaped_in_the_answer(app: SlackProcess, sender: SlackSender) -> None:
    channel = channel_id()
    ts = app.double.add_message(channel, "x", user="U_SALES")
    sender.event(mention("<!channel> &lt;b&gt;", ts, channel=channel))
    reply = answer_in(app.double, channel, ts)
    assert "<!channel>" not in reply.text and "&lt;!channel&gt;" in reply.text


def test_a_thread_is_logged_on_the_contact_once_with_its_first_message(
    app: SlackProcess, sender: SlackSender, acme: str
) -> None:
    channel = channel_id()
    words = f"Acme asks for a quote on 40 licences {uuid.uuid4().hex[:6]}"
    root = app.double.add_message(channel, words, user="U_CUSTOMER")
    app.double.add_message(channel, "I will call them", user="U_SALES", thread_ts=root)
    ts = app.double.add_message(channel, f"log {acme} NOTE", user="U_SALES", thread_ts=root)
    sender.event(mention(f"log {acme} NOTE", ts, channel=channel, thread_ts=root))
    reply = answer_in(app.double, channel, root)
    assert f"Logged the message on {acme}" in reply.text
    permalink = app.double.wait_for(
        "chat.getPermalink",
        lambda c: c.body.get("channel") == channel and c.body.get("message_ts") == root,
    )
    link = permalink.answer["permalink"]
    history = slash(app, sender, f"history {acme}")
    assert words in history.text and "NOTE" in history.text

    # Logged again in the thread, or with the shortcut on the same message: refused.
    again = app.double.add_message(channel, f"log {acme} NOTE", user="U_SALES", thread_ts=root)
    sender.event(mention(f"log {acme} NOTE", again, channel=channel, thread_ts=root))
    app.double.wait_for(
        POST,
        lambda c: c.body.get("channel") == channel and f"on {acme} (Acme" in c.text,
    )
    shortcut = sender.interaction(
        sender.message_action(
            "contactbot_log_message",
            {"ts": root, "user": "U_CUSTOMER", "text": words},
            channel=channel,
        )
    )
    opened = app.double.wait_for(
        "views.open", lambda c: c.body.get("trigger_id") == shortcut.payload["trigger_id"]
    )
    values = {
        **selected("contact", "contact_search", acme, kind="external_select"),
        "description": {"value": {"type": "plain_text_input", "value": "From the shortcut"}},
    }
    sender.interaction(sender.view_submission(opened.view, values))
    refused = app.double.wait_for(
        RESPONSE_URL, lambda c: c.target == shortcut.response_url_id, timeout=10
    )
    assert f"on {acme} (Acme Holding B.V.) already" in refused.text
    history = slash(app, sender, f"history {acme} 100")
    count = re.match(r"(\d+) interaction", history.text)
    assert count and count.group(1) == "1", history.text
    assert link.startswith("https://") and root.replace(".", "") in link


def test_a_thread_logged_without_a_template_is_logged_as_slack(
    app: SlackProcess, sender: SlackSender, acme: str
) -> None:
    channel = channel_id()
    words = f"Acme's renewal is due in March {uuid.uuid4().hex[:6]}"
    root = app.double.add_message(channel, words, user="U_CUSTOMER")
    ts = app.double.add_message(channel, f"log {acme}", user="U_SALES", thread_ts=root)
    sender.event(mention(f"log {acme} direction=out", ts, channel=channel, thread_ts=root))
    assert f"Logged the message on {acme}" in answer_in(app.double, channel, root).text
    history = slash(app, sender, f"history {acme} 100")
    line = next(line for line in history.text.splitlines() if words in line)
    assert "SLACK" in line and "· out ·" in line
