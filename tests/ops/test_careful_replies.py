"""Replies a careful user would expect: what a delete takes with it, which card a merge keeps,
a `help` that fits the terminal, and a `--help` line for every subcommand."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli import _parser
from storage.contacts import get_by_no
from tests.conftest import ADMIN_ACTOR, ChatBot, sqlite_only
from tests.ops.conftest import contactbot


def test_deleting_a_company_names_the_persons_that_go_with_it(bot: ChatBot) -> None:
    bot.ok('new company "Acme Holding B.V."')
    bot.ok('new person "Jan de Vries" company=CT000001')
    bot.ok('new person "Piet Jansen" company=CT000001')
    bot.ok('new person "Eva Alone"')
    question = bot.reply("delete CT000001", ADMIN_ACTOR)
    assert question.confirm is not None
    assert question.confirm.question == (
        "Really run `delete CT000001`? It deletes CT000001 Acme Holding B.V. with its "
        "2 persons: CT000002 Jan de Vries, CT000003 Piet Jansen."
    )
    assert question.confirm.command == "delete CT000001 --yes"
    assert "Jan de Vries" in bot.ok("show CT000002")  # asking deleted nothing
    alone = bot.reply("delete CT000004", ADMIN_ACTOR)
    assert alone.confirm is not None
    assert alone.confirm.question == "Really run `delete CT000004`?"
    assert bot.ok(question.confirm.command, ADMIN_ACTOR) == (
        "Deleted CT000001 and its persons CT000002, CT000003."
    )


@sqlite_only
def test_a_company_with_many_persons_names_ten_and_counts_the_rest(bot: ChatBot) -> None:
    bot.ok('new company "Big Corp"')
    for n in range(12):
        bot.ok(f'new person "Person {n:02d}" company=CT000001')
    question = bot.reply("delete CT000001", ADMIN_ACTOR).confirm
    assert question is not None
    assert "with its 12 persons: CT000002 Person 00," in question.question
    assert question.question.endswith("CT000011 Person 09 and 2 more.")


@sqlite_only
def test_a_delete_of_no_contact_is_refused_without_a_question(bot: ChatBot) -> None:
    assert bot.fails("delete CT000404", ADMIN_ACTOR).startswith("No contact `CT000404`.")


def _older_fuller_acme(bot: ChatBot) -> None:
    bot.ok("setup default_country=NL")
    bot.ok('new company "Acme Holding B.V." phone="+31 20 555 0100"')
    bot.ok('new person "Jan de Vries" company=CT000001')
    bot.ok('log CT000001 CALL "Called about the offer"')
    bot.ok("create-as CT000001 customer")
    bot.ok('new company "Acme Holding BV" phone="020-5550100"')  # CT000003, newer and bare


def _merge_commands(reply_buttons: tuple) -> list[str]:  # type: ignore[type-arg]
    return [b.command for b in reply_buttons if b.command.startswith("merge ")]


def test_the_merge_suggestion_keeps_the_older_fuller_card_from_either_side(
    bot: ChatBot,
) -> None:
    _older_fuller_acme(bot)
    from_new = bot.replies[-1]
    assert _merge_commands(from_new.buttons) == ["merge CT000003 into CT000001"]
    # the change on the older card suggests the same merge, not its reverse
    changed = bot.reply("set CT000001 city=Amsterdam")
    assert _merge_commands(changed.buttons) == ["merge CT000003 into CT000001"]
    listed = bot.reply("dupes CT000001")
    assert _merge_commands(listed.buttons) == ["merge CT000003 into CT000001"]
    done = bot.ok("merge CT000003 into CT000001 --yes", ADMIN_ACTOR)
    assert done.startswith("Merged CT000003 into CT000001 Acme Holding B.V.")
    card = bot.ok("show CT000001")
    assert "Jan de Vries" in bot.ok("show CT000002") and "CT000001" in card
    assert "No contact `CT000003`" in bot.fails("show CT000003")


@sqlite_only
def test_between_two_bare_cards_the_older_one_stays(bot: ChatBot) -> None:
    bot.ok("setup default_country=NL")
    bot.ok('new company "Zeta Trading B.V." phone="+31 10 555 0199"')
    bot.ok('new company "Zeta Trading BV" phone="010-5550199"')
    changed = bot.reply("set CT000001 city=Rotterdam")
    assert _merge_commands(changed.buttons) == ["merge CT000002 into CT000001"]


def test_a_newer_card_with_a_customer_link_is_still_merged_into_the_older(
    bot: ChatBot,
) -> None:
    bot.ok("setup default_country=NL")
    bot.ok('new company "Kappa Tools B.V." phone="+31 30 555 0123"')
    reply = bot.reply('customer new "Kappa Tools BV" phone="030-5550123"')  # CT000002, linked
    assert _merge_commands(reply.buttons) == ["merge CT000002 into CT000001"]
    bot.ok("merge CT000002 into CT000001 --yes", ADMIN_ACTOR)
    assert "C00001" in bot.ok("related CT000001")  # the link moved to the kept card


@sqlite_only
def test_cards_created_together_keep_the_fuller_one(bot: ChatBot) -> None:
    bot.ok("setup default_country=NL")
    bot.ok('new company "Kappa Tools B.V." phone="+31 30 555 0123"')
    bot.ok('new company "Kappa Tools BV" phone="030-5550123"')
    bot.ok('new person "Kim Kappa" company=CT000002')
    with bot.app.store.transaction() as session:  # as one import writes them: one moment
        first, second = (get_by_no(session, no) for no in ("CT000001", "CT000002"))
        assert first is not None and second is not None
        second.created_at = first.created_at
    changed = bot.reply("set CT000001 city=Utrecht")
    assert _merge_commands(changed.buttons) == ["merge CT000001 into CT000002"]


def test_help_fits_100_columns_in_the_shell_and_lists_every_verb(tmp_path: Path) -> None:
    result = contactbot(tmp_path, "shell", "-c", "help")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)
    listed = {line.split()[0] for line in lines[3:] if line.strip()}
    for verb in ("new", "find", "show", "delete", "merge", "customer", "help"):
        assert verb in listed, verb
    assert any(line.startswith('new company|person "<name>"') for line in lines)


def _subparsers(
    parser: argparse.ArgumentParser, prefix: str = "contactbot"
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((f"{prefix} {name}", sub))
                found += _subparsers(sub, f"{prefix} {name}")
    return found


SUBCOMMANDS = [name for name, _ in _subparsers(_parser())]


def test_every_subcommand_is_listed() -> None:
    for name in ("contactbot status", "contactbot db backup", "contactbot db restore"):
        assert name in SUBCOMMANDS


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommands_help_has_a_line_saying_what_it_does(name: str) -> None:
    parser = dict(_subparsers(_parser()))[name]
    text = parser.format_help()
    body = text.split("\n\n")
    assert body[0].startswith(f"usage: {name}")
    description = body[1].strip()
    assert description and not description.startswith(("positional", "options")), text
    assert description.endswith(".") and description[0].isupper(), description
