"""The plugin's own tests, written as a plugin author writes them: contactbot's chat-style
driver (bot.testing) with this module added to the installed plugins, on a fresh SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import contactbot_account_care
import pytest

from bot.registry import RegistryError
from bot.testing import ChatBot, chat_bot


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[ChatBot]:
    tables = {"account_care": {"stale_days": 30}}
    with chat_bot(tmp_path, modules=[contactbot_account_care], tables=tables) as bot:
        yield bot


def test_a_company_never_talked_to_is_stale_until_someone_calls(bot: ChatBot) -> None:
    bot.ok('new company "Acme Holding"')
    assert bot.ok("stale").startswith("1 company with no interaction for 30 days:")
    assert "nothing logged with CT000001's account yet" in bot.ok("show CT000001")
    bot.ok('log CT000001 CALL "intro"')
    assert bot.ok("stale") == "Every company has had an interaction in the last 30 days."
    assert "Account care" not in bot.ok("show CT000001")


def test_a_persons_call_counts_for_the_company(bot: ChatBot) -> None:
    bot.ok('new company "Acme Holding"')
    bot.ok('new person "Anna Berg" company=CT000001')
    bot.ok('log CT000002 CALL "intro" date=2026-01-05')
    assert "since 2026-01-05" in bot.ok("show CT000001")
    assert "since 2026-01-05" in bot.ok("show CT000002")  # the person's account is Acme


def test_a_salesperson_change_is_a_handover_on_the_history(bot: ChatBot) -> None:
    bot.ok('codes salespeople add SAM name="Sam Sales"')
    bot.ok('new company "Acme Holding"')
    bot.ok("set CT000001 salesperson=SAM")
    assert "Handed over to SAM" in bot.ok("history CT000001")
    bot.ok("set CT000001 city=Utrecht")  # not a handover
    assert bot.ok("history CT000001").count("HANDOVER") == 1


def test_days_must_be_a_number(bot: ChatBot) -> None:
    assert bot.fails("stale 0") == "`0` is not a number of days from 1 to 3650. Usage: stale [days]"


def test_it_needs_the_interactions_plugin(tmp_path: Path) -> None:
    needs = pytest.raises(RegistryError, match="needs `interactions`")
    with needs, chat_bot(tmp_path, plugins=["help", "contacts"], modules=[contactbot_account_care]):
        pass
