"""App Home's duplicate pairs: a salesperson's own (pairs touching their contacts), everyone's
for a user without one, each with Merge and Not a duplicate, an empty state, and a valid view
when there are more pairs than fit."""

from __future__ import annotations

from typing import Any

from bot.slack.home import HOME_PAIRS, home_for
from tests.conftest import ChatBot
from tests.slack_unit.helpers import check_view
from tests.test_duplicate_digest import WORDS


def _home(bot: ChatBot, salesperson: str | None) -> dict[str, Any]:
    view = home_for(bot.app.dispatcher, salesperson)
    check_view(view)
    return view


def _after_heading(view: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = view["blocks"]
    at = next(
        i
        for i, b in enumerate(blocks)
        if b["type"] == "section" and b["text"]["text"].startswith("*Possible duplicates")
    )
    return blocks[at + 1 :]


def _buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_home_shows_the_users_open_pairs_with_buttons(coded_bot: ChatBot) -> None:
    bot = coded_bot
    assert _after_heading(_home(bot, "SAM"))[0]["elements"][0]["text"] == (
        "No open duplicate pairs. New ones show here, with Merge and Not a duplicate."
    )
    bot.ok('new company "Acme Holding B.V." city=Amsterdam address="Damrak 1" salesperson=SAM')
    bot.ok('new company "Acme Holding BV" city=Amsterdam address="Damrak 1" salesperson=BOB')
    bot.ok('new company "Globex <b> & Co B.V." city=Utrecht address="Oudegracht 5" salesperson=BOB')
    bot.ok('new company "Globex <b> & Co" city=Utrecht address="Oudegracht 5" salesperson=BOB')

    sams = _after_heading(_home(bot, "SAM"))
    assert sams[0]["text"]["text"].startswith(
        "*CT000002* Acme Holding BV  ↔  *CT000001* Acme Holding B.V.\nscore "
    )
    assert _buttons(sams) == ["merge CT000002 into CT000001", "separate CT000002 CT000001"]

    bobs = _after_heading(_home(bot, "BOB"))
    assert sorted(_buttons(bobs)) == [
        "merge CT000002 into CT000001",
        "merge CT000004 into CT000003",
        "separate CT000002 CT000001",
        "separate CT000004 CT000003",
    ]
    assert any("Globex &lt;b&gt; &amp; Co" in b["text"]["text"] for b in bobs if "text" in b)
    everyone = _home(bot, None)
    assert len(_buttons(_after_heading(everyone))) == 4
    assert _after_heading(_home(bot, "ADA"))[0]["type"] == "context"  # Ada has none

    bot.ok("separate CT000001 CT000002")
    assert _buttons(_after_heading(_home(bot, "SAM"))) == []


def test_home_with_more_pairs_than_fit_stays_valid(bot: ChatBot) -> None:
    words = WORDS[:22]
    for n, word in enumerate(words):
        bot.ok(f'new company "{word} Holding B.V." city={word}dorp address="{word}straat {n + 1}"')
        bot.ok(f'new company "{word} Holding" city={word}dorp address="{word}straat {n + 1}"')
    view = _home(bot, None)
    after = _after_heading(view)
    assert len(_buttons(after)) == 2 * HOME_PAIRS
    assert after[-1]["elements"][0]["text"] == "More open pairs: `/contact dupes` lists them all."
    ids = [
        e["action_id"] for b in view["blocks"] for e in b.get("elements", ()) if "action_id" in e
    ]
    assert len(ids) == len(set(ids))


def test_home_has_no_duplicates_section_without_the_plugin(bot: ChatBot) -> None:
    bot.ok('new company "Acme Holding B.V." city=Amsterdam')
    view = home_for(bot.app.dispatcher, None, duplicates=False)
    check_view(view)
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert any("Acme Holding B.V." in text for text in texts)
    assert not any("duplicate" in text.lower() for text in texts), texts
