"""Block Kit of the largest cards and lists stays within Slack's limits, and escapes text."""

from __future__ import annotations

from bot.reply import Button, Card, Confirmation, Field, Reply, Table
from bot.slack.blocks import (
    ACTION_CONFIRM,
    ACTION_MENU,
    ACTION_SHARE,
    fallback_text,
    reply_blocks,
    reply_message,
)
from tests.conftest import ChatBot
from tests.slack_unit.helpers import all_text, check_blocks, mrkdwn_text

LONG = "Ünïcode <!channel> & <@U123> " * 200


def test_largest_synthetic_card_fits() -> None:
    card = Card(
        title=LONG,
        subtitle="CT000001",
        fields=tuple(Field(f"Label {i} {LONG}", LONG) for i in range(25)),
        context=LONG,
        actions=(
            *(Button(f"Action {i} {LONG}", f"show CT{i:06d}") for i in range(8)),
            Button("Too long for a menu", "set CT000001 name=" + "x" * 300),
        ),
        sections=tuple((f"Heading {i} {LONG}", (LONG,) * 400) for i in range(30)),
    )
    reply = Reply(text=LONG, cards=(card,) * 3, buttons=(Button("Next", "x" * 3000),))
    blocks = reply_blocks(reply, command="show CT000001")
    check_blocks(blocks)
    text = mrkdwn_text(blocks)
    assert "<!channel>" not in text and "<@U123>" not in text
    assert "&lt;!channel&gt;" in text


def test_largest_table_fits_and_says_what_is_missing() -> None:
    rows = tuple(
        (f"2026-11-{i % 28 + 1:02d}", "EMAIL", "in", "", LONG[:250], LONG[:80]) for i in range(1000)
    )
    reply = Reply(text="1000 interactions", table=Table(("a",) * 6, rows), shareable=True)
    blocks = reply_blocks(reply, command="history CT000001 1000")
    check_blocks(blocks)
    assert "more rows not shown" in all_text(blocks)
    assert blocks[-1]["elements"][-1]["action_id"] == ACTION_SHARE


def test_find_rows_get_show_buttons_and_share() -> None:
    rows = tuple((f"CT{i:06d}", "company", f"Acme {i}", "", "Amsterdam") for i in range(10))
    reply = Reply(text="10 contacts for `acme`:", table=Table(("no",) * 5, rows), shareable=True)
    blocks = reply_blocks(reply, command="find acme")
    check_blocks(blocks)
    buttons = [b["accessory"] for b in blocks if "accessory" in b]
    assert [b["value"] for b in buttons] == [f"show CT{i:06d}" for i in range(10)]
    share = blocks[-1]["elements"][0]
    assert share["action_id"] == ACTION_SHARE and share["value"] == "find acme"
    # Without the command, or when sharing already, there is no share button.
    assert ACTION_SHARE not in all_text(reply_blocks(reply))
    assert ACTION_SHARE not in all_text(reply_blocks(reply, command="find acme", shareable=False))


def test_many_cards_are_cut_to_fifty_blocks() -> None:
    card = Card(title="Acme", subtitle="CT1", fields=(Field("City", "A"),), context="CT1")
    blocks = reply_blocks(Reply(cards=(card,) * 40))
    check_blocks(blocks)
    assert "more not shown" in all_text(blocks)


def test_confirmation_asks_with_a_danger_button() -> None:
    reply = Reply(
        text="Really?",
        confirm=Confirmation("Really run `delete CT000001`?", "delete CT000001 --yes"),
    )
    blocks = reply_blocks(reply)
    check_blocks(blocks)
    yes = blocks[-1]["elements"][0]
    assert yes["action_id"] == ACTION_CONFIRM
    assert yes["value"] == "delete CT000001 --yes"
    assert yes["style"] == "danger" and "confirm" in yes


def test_error_reply_and_fallback_text() -> None:
    message = reply_message(Reply.error("No contact `<!here>`."))
    check_blocks(message["blocks"])
    assert message["text"] == "No contact `&lt;!here&gt;`."
    assert message["blocks"][0]["text"]["text"].startswith(":warning:")
    card = Card(title="Acme", subtitle="CT000001")
    assert fallback_text(Reply(cards=(card,))) == "CT000001 Acme"


def test_real_cards_from_the_store(bot: ChatBot) -> None:
    """The largest card the store makes: every field at its longest, a name that tries to ping
    everyone, many persons, groups."""
    name = ("<!channel> <@U123> & Co " * 10)[:100]
    bot.ok("codes salespeople add SP1 name=Sam")
    bot.ok(
        f'new company "{name}" address="{"A" * 100}" address_2="{"B" * 50}" city="{"C" * 30}" '
        f'post_code="{"1" * 20}" county="{"D" * 30}" country=NL phone="+31 20 555 0100" '
        f'email=info@acme.example home_page="{"h" * 120}" vat_no="{"V" * 30}" salesperson=SP1'
    )
    for i in range(60):
        bot.ok(f'new person "Person {i} <!here>" company=CT000001 job_title="Boss <@U1>"')
    reply = bot.reply("show CT000001")
    blocks = reply_blocks(reply, command="show CT000001")
    check_blocks(blocks)
    text = mrkdwn_text(blocks)
    assert "<!channel>" not in text and "<!here>" not in text and "<@U1" not in text
    assert "&lt;!here&gt;" in text
    header = blocks[0]
    assert header["type"] == "header" and header["text"]["text"].startswith("<!channel>")
    menu = blocks[1]["accessory"]
    assert menu["action_id"] == ACTION_MENU
    assert menu["options"][0]["value"] == "set CT000001"
    assert "CT000001" in blocks[-2]["elements"][0]["text"]  # the context line
    for line in ("find person", "help", "history CT000001"):
        check_blocks(reply_blocks(bot.reply(line), command=line))
