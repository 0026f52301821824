"""The dispatcher runs a command again when PostgreSQL made it a deadlock's victim or failed
it for a serialization conflict (SQLSTATE 40P01, 40001), as it does for a lost unique-key race;
when that keeps happening the person hears the database was busy, not the apology (issue 12)."""

from __future__ import annotations

import logging
import threading
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.config import Settings
from bot.dispatcher import BUSY_ATTEMPTS, BUSY_MESSAGE, Context
from bot.registry import build_registry, command
from bot.reply import Reply
from bot.runtime import build_app
from storage.contacts import create_contact
from storage.models import Contact, ContactType
from tests.conftest import ChatBot, sqlite_only


class _Serialization(Exception):
    """Stands in for psycopg's SerializationFailure: what the dispatcher reads is `sqlstate`."""

    sqlstate = "40001"


def _retry_plugin(calls: list[str], barrier: threading.Barrier) -> types.ModuleType:
    module = types.ModuleType("retrying")

    @command("lock-both")
    def lock_both(ctx: Context) -> Reply:
        """Lock contact A, wait for the other worker to lock B, then lock B: a deadlock."""
        first, second = (int(word) for word in ctx.args.positionals)
        calls.append(ctx.invocation.text)
        lock = select(Contact).with_for_update()
        ctx.session.execute(lock.where(Contact.id == first)).one()
        if len(calls) <= 2:  # the first two runs meet; a run again goes straight on
            barrier.wait(timeout=30)
        ctx.session.execute(lock.where(Contact.id == second)).one()
        return Reply(text=f"Locked {first} and {second}.")

    @command("always-conflicts")
    def always_conflicts(ctx: Context) -> Reply:
        """Writes a contact, then fails as a serialization conflict, every time."""
        calls.append(ctx.invocation.text)
        create_contact(ctx.session, ContactType.COMPANY, "Never Written B.V.")
        raise OperationalError("UPDATE contacts …", {}, _Serialization("could not serialize"))

    @command("conflicts-once")
    def conflicts_once(ctx: Context) -> Reply:
        """Fails as a serialization conflict the first time, then writes its contact."""
        calls.append(ctx.invocation.text)
        contact = create_contact(ctx.session, ContactType.COMPANY, "Second Try B.V.")
        if len(calls) == 1:
            raise OperationalError("UPDATE contacts …", {}, _Serialization("could not serialize"))
        return Reply(text=f"Created {contact.no}.")

    module.a, module.b, module.c = lock_both, always_conflicts, conflicts_once
    return module


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def barrier() -> threading.Barrier:
    return threading.Barrier(2)


@pytest.fixture
def retry_bot(
    tmp_path: Path, database_url: str, calls: list[str], barrier: threading.Barrier
) -> Iterator[ChatBot]:
    registry = build_registry(["help", "contacts"])
    registry.add_plugin(_retry_plugin(calls, barrier), "retrying")
    app = build_app(Settings(data_dir=tmp_path, database_url=database_url), registry)
    yield ChatBot(app)
    app.close()


def _count(bot: ChatBot) -> int:
    with bot.app.store.transaction() as session:
        return session.scalar(select(func.count()).select_from(Contact)) or 0


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_deadlock_victim_is_run_again_and_both_commands_succeed(
    retry_bot: ChatBot, calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    retry_bot.ok('new company "One"')
    retry_bot.ok('new company "Two"')
    caplog.set_level(logging.INFO, logger="bot.dispatcher")
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(retry_bot.app.run, ["lock-both 1 2", "lock-both 2 1"]))
    assert [r.text for r in replies] == ["Locked 1 and 2.", "Locked 2 and 1."]
    assert len(calls) == 3  # the deadlock's victim ran once more
    again = [r.getMessage() for r in caplog.records if "running it again" in r.getMessage()]
    assert len(again) == 1 and again[0].startswith("a deadlock while running 'lock-both")


@sqlite_only
def test_a_serialization_failure_is_run_again_on_a_clean_transaction(
    retry_bot: ChatBot, calls: list[str]
) -> None:
    assert retry_bot.ok("conflicts-once") == "Created CT000001."
    assert calls == ["conflicts-once", "conflicts-once"]
    assert _count(retry_bot) == 1  # the first run's contact was rolled back


@sqlite_only
def test_a_command_that_stays_in_conflict_says_busy_and_writes_nothing(
    retry_bot: ChatBot, calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.dispatcher"):
        assert retry_bot.fails("always-conflicts") == BUSY_MESSAGE
    assert len(calls) == BUSY_ATTEMPTS
    assert _count(retry_bot) == 0
    gave_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert len(gave_up) == 1 and gave_up[0].levelno == logging.WARNING
    assert "Sorry" not in BUSY_MESSAGE
