"""bot.slack.events without a transport: which message events are answered, what the command
line of a mention is, and where the answer goes."""

from __future__ import annotations

from typing import Any

import pytest

from bot.registry import build_registry
from bot.slack.events import command_text, ignored, is_dm, said_from, short_help

BOT = "U0BOT"


def message(**fields: Any) -> dict[str, Any]:
    return {"type": "message", "user": "U1", "channel": "D1", "ts": "1.000001", **fields}


@pytest.mark.parametrize(
    "fields",
    [
        {"subtype": "bot_message"},
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "thread_broadcast"},
        {"bot_id": "B1"},
        {"bot_profile": {"id": "B1"}},
        {"user": BOT},
        {"user": ""},
        {"user": None},
        {"edited": {"user": "U1", "ts": "2.0"}},
        {"hidden": True},
        {"channel": ""},
    ],
)
def test_bots_edits_deletions_and_other_subtypes_are_ignored(fields: dict[str, Any]) -> None:
    assert ignored(message(**fields), BOT) is not None


def test_a_person_writing_is_answered() -> None:
    assert ignored(message(text="show CT000001"), BOT) is None
    assert ignored(message(), None) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"<@{BOT}> find acme holdng", "find acme holdng"),
        (f"<@{BOT}|contactbot>   show CT000001 ", "show CT000001"),
        (f"hey <@{BOT}> find acme", "find acme"),
        (f"<@UOTHER> have a look <@{BOT}> find acme", "find acme"),
        (f"<@{BOT}>", ""),
        (f"thanks <@{BOT}>", ""),
        ("show CT000001", "show CT000001"),
        (
            f'<@{BOT}> new company "A &amp; B" email=<mailto:a@b.example|a@b.example>',
            'new company "A & B" email=a@b.example',
        ),
        (f"<@{BOT}> log CT000001 NOTE about <@U2>", "log CT000001 NOTE about <@U2>"),
    ],
)
def test_the_command_line_follows_the_bots_mention(text: str, expected: str) -> None:
    assert command_text(text, BOT) == expected


def test_without_the_bots_id_the_leading_mentions_are_the_bot() -> None:
    assert command_text("<@U9> find acme", None) == "find acme"
    assert command_text("<@U9> <@U8|x> find acme", "U0BOT") == "find acme"
    assert command_text("find <@U9>", None) == "find <@U9>"


def test_a_mention_is_answered_in_its_thread_and_a_dm_in_the_dm() -> None:
    top = said_from(message(channel="C1", channel_type="channel", text="x"), BOT)
    assert (top.answer_thread, top.thread_root, top.in_dm) == ("1.000001", None, False)
    reply = said_from(message(channel="C1", thread_ts="0.5", text="x"), BOT)
    assert (reply.answer_thread, reply.thread_root) == ("0.5", "0.5")
    root_itself = said_from(message(channel="C1", thread_ts="1.000001"), BOT)
    assert (root_itself.answer_thread, root_itself.thread_root) == ("1.000001", None)
    dm = said_from(message(channel_type="im"), BOT)
    assert (dm.answer_thread, dm.in_dm) == (None, True)
    dm_thread = said_from(message(channel_type="im", thread_ts="0.5"), BOT)
    assert dm_thread.answer_thread == "0.5"
    where = reply.where
    assert where.conversation and where.channel_id == "C1" and where.thread_ts == "0.5"


def test_is_dm_reads_the_channel_type_else_the_channel_id() -> None:
    assert is_dm({"channel_type": "im", "channel": "C1"})
    assert not is_dm({"channel_type": "mpim", "channel": "G1"})
    assert is_dm({"channel": "D1"}) and not is_dm({"channel": "C1"})


def test_the_short_help_names_the_verbs() -> None:
    registry = build_registry()
    text = short_help(registry, in_dm=False, word="hello").text
    assert text.startswith("`hello` is not a command. Did you mean `help`? Mention me with")
    assert all(verb in text for verb in ("find", "show", "log", "help"))
    assert short_help(registry, in_dm=True, word="fnd").text.startswith(
        "`fnd` is not a command. Did you mean `find`? Type a command"
    )
    assert short_help(registry, in_dm=True).text.startswith("Type a command, like `find acme`")
