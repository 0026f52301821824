"""The dispatcher: what every adapter gets for an unknown verb or field, for a missing role, for
a destructive command, and for a handler that fails halfway: nothing written, no traceback."""

from __future__ import annotations

import logging
import re
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.dispatcher import Context
from bot.registry import build_registry, command
from bot.reply import Reply
from bot.runtime import build_app
from storage.contacts import create_contact
from storage.errors import UserError
from storage.fields import EDITABLE_FIELDS
from storage.models import Contact, ContactType
from tests.conftest import ADMIN_ACTOR, SALES_ACTOR, ChatBot, sqlite_only


def _count(bot: ChatBot) -> int:
    with bot.app.store.transaction() as session:
        return session.scalar(select(func.count()).select_from(Contact)) or 0


@sqlite_only
def test_an_unknown_verb_gets_the_closest_verb_and_help(bot: ChatBot) -> None:
    assert bot.fails("shwo CT000001") == (
        "Unknown command `shwo`. Did you mean `show`? Type `help` for the list."
    )
    assert "Did you mean `delete`?" in bot.fails("dleete CT000001")
    far = bot.fails("xyzzy")
    assert "Unknown command `xyzzy`." in far and "Did you mean" not in far
    assert "help" in far


@sqlite_only
def test_an_empty_line_is_help(bot: ChatBot) -> None:
    reply = bot.reply("   ")
    assert reply.ok and reply.table is not None
    assert reply.text.startswith("Commands")


def test_an_unknown_field_lists_the_valid_fields(bot: ChatBot) -> None:
    bot.ok('new company "Acme"')
    refusal = bot.fails("set CT000001 colour=red")
    assert refusal.startswith("Unknown field `colour`. Valid fields:")
    for name in EDITABLE_FIELDS:
        assert name in refusal
    refusal = bot.fails('new person "Jan" shoe_size=44')
    assert "Unknown field `shoe_size`" in refusal and "job_title" in refusal
    assert _count(bot) == 1


@sqlite_only
def test_an_unclosed_quote_says_how_to_quote(bot: ChatBot) -> None:
    assert "A quote is not closed" in bot.fails('new company "Acme')
    assert _count(bot) == 0


@sqlite_only
def test_curly_quotes_from_phones_are_straight_quotes(bot: ChatBot) -> None:
    assert "Acme Holding B.V." in bot.ok("new company \u201cAcme Holding B.V.\u201d")


def test_admin_only_commands_are_refused_for_sales(bot: ChatBot) -> None:
    bot.ok('new company "Acme"')
    for line in ("delete CT000001 --yes", "setup", "setup default_country=", "delete CT000001"):
        refusal = bot.fails(line, SALES_ACTOR)
        assert "needs the admin role, which you do not have" in refusal
    assert "`codes … add` needs the admin role" in bot.fails(
        "codes territories add NORTH", SALES_ACTOR
    )
    assert "`salutation formula` needs the admin role" in bot.fails(
        'salutation formula M formal text="Dear %1"', SALES_ACTOR
    )
    assert "CT000001" in bot.ok("show CT000001", SALES_ACTOR)
    assert _count(bot) == 1


def test_sales_may_run_the_everyday_commands(bot: ChatBot) -> None:
    bot.ok('new company "Acme" city=Amsterdam', SALES_ACTOR)
    bot.ok("set CT000001 city=Rotterdam", SALES_ACTOR)
    assert "Rotterdam" in bot.ok("show Acme", SALES_ACTOR)
    assert "territories" in bot.ok("codes", SALES_ACTOR)


def test_delete_asks_first_and_yes_skips_the_question(bot: ChatBot) -> None:
    bot.ok('new company "Acme"')
    question = bot.reply("delete CT000001")
    assert question.ok and question.confirm is not None
    assert question.confirm.question == "Really run `delete CT000001`?"
    assert question.confirm.command == "delete CT000001 --yes"
    assert _count(bot) == 1  # asking deleted nothing
    assert bot.ok(question.confirm.command, ADMIN_ACTOR) == "Deleted CT000001."
    assert _count(bot) == 0
    assert "No contact `CT000001`" in bot.fails("show CT000001")


def test_a_command_that_is_refused_halfway_writes_nothing(bot: ChatBot) -> None:
    bot.ok("codes jobs add PURCH")
    bot.ok('new person "Jan de Vries"')
    # The first assignment is valid, the second is not: neither stays.
    assert "level `NOPE` does not exist" in bot.fails("assign CT000001 job=PURCH level=NOPE")
    assert "Job responsibilities" not in bot.ok("show CT000001")
    # A failed create does not use up a number.
    assert "No company `CT000099`" in bot.fails('new person "Piet" company=CT000099')
    assert "CT000002" in bot.ok('new person "Piet"')


# --- handlers that fail after writing -----------------------------------------------------


def _faulty_plugin() -> types.ModuleType:
    module = types.ModuleType("faulty")

    @command("write-then-refuse")
    def write_then_refuse(ctx: Context) -> Reply:
        """Writes a contact, then refuses."""
        create_contact(ctx.session, ContactType.COMPANY, "Half Written B.V.")
        raise UserError("Refused after writing.")

    @command("write-then-crash")
    def write_then_crash(ctx: Context) -> Reply:
        """Writes a contact, then crashes."""
        create_contact(ctx.session, ContactType.COMPANY, "Crashed B.V.")
        raise RuntimeError("secret internals: /srv/db password=hunter2")

    @command("wrong-return")
    def wrong_return(ctx: Context) -> Reply:
        """Returns something that is not a Reply."""
        create_contact(ctx.session, ContactType.COMPANY, "Not A Reply B.V.")
        return "oops"  # type: ignore[return-value]

    module.a, module.b, module.c = write_then_refuse, write_then_crash, wrong_return
    return module


@pytest.fixture
def faulty_bot(tmp_path: Path, database_url: str) -> Iterator[ChatBot]:
    registry = build_registry(["help", "contacts"])
    registry.add_plugin(_faulty_plugin(), "faulty")
    app = build_app(Settings(data_dir=tmp_path, database_url=database_url), registry)
    yield ChatBot(app)
    app.close()


def test_a_handler_that_refuses_after_writing_leaves_nothing_written(faulty_bot: ChatBot) -> None:
    assert faulty_bot.fails("write-then-refuse") == "Refused after writing."
    assert _count(faulty_bot) == 0
    assert "CT000001" in faulty_bot.ok('new company "Acme"')


@pytest.mark.parametrize(
    ("line", "logged"),
    [("write-then-crash", "RuntimeError"), ("wrong-return", "TypeError")],
)
def test_an_unexpected_error_is_an_apology_with_an_id_that_is_in_the_log(
    faulty_bot: ChatBot, caplog: pytest.LogCaptureFixture, line: str, logged: str
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.dispatcher"):
        reply = faulty_bot.reply(line)
    assert not reply.ok
    match = re.fullmatch(
        r"Sorry, that went wrong on our side \(error ([0-9a-f]{8})\)\. Nothing was changed; "
        r"the error is in the log under that id\.",
        reply.text,
    )
    assert match, reply.text
    error_id = match.group(1)
    assert "Traceback" not in reply.text and "hunter2" not in reply.text
    records = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(records) == 1
    assert records[0].exc_info is not None and records[0].exc_info[0].__name__ == logged
    assert line in records[0].getMessage()
    assert _count(faulty_bot) == 0  # rolled back
    assert "CT000001" in faulty_bot.ok('new company "Acme"')
