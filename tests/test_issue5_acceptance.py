"""Issue 5's "Done when" (the part after FEBRL2, which tests/test_duplicates.py::test_febrl2_f1
checks through the same command), as one story on SQLite and PostgreSQL: the Acme warning with
both buttons, merge then unmerge leaving both cards and their interactions exactly as before,
and the digest job run by hand with `contactbot jobs run` posting one message to the configured
channel (the Slack Web API double), and nothing on a second run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.config import load_settings
from bot.registry import build_registry
from bot.runtime import build_app
from bot.slack.blocks import reply_message
from storage.contacts import get_by_no
from storage.duplicates.merge import snapshot
from storage.models import Interaction
from tests.conftest import ChatBot
from tests.slack_double import SlackDouble, slack_double

__all__ = ["slack_double"]  # the double's fixture, used below

CHANNEL = "C0SALES"


def _cards_and_interactions(bot: ChatBot, *numbers: str) -> dict[str, Any]:
    """Both cards as merge records them (search_text aside: a derived search column) and every
    column of every interaction row they hold."""
    with bot.app.store.transaction() as session:
        out: dict[str, Any] = {}
        for no in numbers:
            contact = get_by_no(session, no)
            assert contact is not None
            card = snapshot(session, contact)
            card.pop("search_text")
            rows = session.execute(
                select(Interaction.__table__)
                .where(Interaction.contact_id == contact.id)
                .order_by(Interaction.id)
            )
            out[no] = (card, [dict(row._mapping) for row in rows])
        return out


def test_done_when(
    tmp_path: Path,
    database_url: str,
    slack_double: SlackDouble,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("CONTACTBOT_DATABASE_URL", "CONTACTBOT_DATA_DIR", "CONTACTBOT_SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-acceptance")
    config = tmp_path / "config.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        f'[database]\nurl = "{database_url}"\n'
        f'[slack]\napi_url = "{slack_double.url}"\n'
        "[dupes]\n"
        'digest_cron = "0 9 * * mon"\n'
        'digest_timezone = "Europe/Amsterdam"\n'
        f'digest_channel = "{CHANNEL}"\n',
        encoding="utf-8",
    )
    app = build_app(load_settings(config), build_registry())
    bot = ChatBot(app)
    try:
        bot.ok("setup default_country=NL")
        bot.ok('new company "Acme Holding B.V." phone="+31 20 555 0100"')
        bot.ok('log CT000001 NOTE "Met at the fair" date=2026-11-19')

        # creating the duplicate warns, with both buttons, and still creates it
        reply = bot.reply('new company "Acme Holding BV" phone="020-5550100"')
        assert reply.ok and reply.text.startswith("Created company CT000002")
        assert reply.notes[0].startswith("possible duplicate of CT000001 Acme Holding B.V.")
        assert [(b.label, b.command) for b in reply.buttons] == [
            ("Merge", "merge CT000002 into CT000001"),
            ("Not a duplicate", "separate CT000002 CT000001"),
        ]
        slack = reply_message(reply)
        actions = [b for b in slack["blocks"] if b["type"] == "actions"]
        values = [e["value"] for b in actions for e in b["elements"]]
        assert values == ["merge CT000002 into CT000001", "separate CT000002 CT000001"]

        # merge, then unmerge: both cards and their interactions exactly as before
        bot.ok('log CT000002 CALL "Called about the renewal" date=2026-11-20')
        bot.ok('log CT000002 NOTE "Sent the price list" date=2026-11-21')
        before = _cards_and_interactions(bot, "CT000001", "CT000002")
        assert len(before["CT000002"][1]) == 2
        assert "Merged CT000002 into CT000001" in bot.ok("merge CT000002 into CT000001 --yes")
        merged = _cards_and_interactions(bot, "CT000001")
        assert len(merged["CT000001"][1]) == 3
        assert "Undid merge 1" in bot.ok("unmerge 1")
        assert _cards_and_interactions(bot, "CT000001", "CT000002") == before

        # the digest job, run by hand: one message to the channel with the new pair ...
        assert main(["--config", str(config), "jobs", "run", "duplicate_digest"]) == 0
        [call] = slack_double.calls("chat.postMessage")
        assert call.body["channel"] == CHANNEL
        assert "*CT000002* Acme Holding BV  ↔  *CT000001* Acme Holding B.V." in call.text
        elements = [e for b in call.blocks for e in b.get("elements", ())]
        buttons = [(e["text"]["text"], e["value"]) for e in elements if e.get("type") == "button"]
        assert buttons == [
            ("Merge", "merge CT000002 into CT000001"),
            ("Not a duplicate", "separate CT000002 CT000001"),
        ]
        # ... and a second run posts nothing
        assert main(["--config", str(config), "jobs", "run", "duplicate_digest"]) == 0
        assert len(slack_double.calls("chat.postMessage")) == 1
    finally:
        app.close()
