"""The dispatcher's other inputs: an email batch (one transaction, a failing handler isolated,
the folder's position with it), a scheduled job's tick (a JobContext, its writes by the job's
actor), a query an adapter needs, and a retried delivery refused by what the first wrote."""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.contexts import EmailContext, EmailOutcome, JobContext
from bot.dispatcher import DUPLICATE_DELIVERY, Context
from bot.inputs import CommandInvocation, EmailBatch, JobTick, ReceivedEmail
from bot.registry import build_registry, command, on_email, schedule
from bot.reply import Reply
from bot.runtime import build_app
from storage.audit import actor_of
from storage.contacts import create_contact
from storage.deliveries import record_delivery
from storage.errors import UserError
from storage.mail_state import folder_position, skipped_messages
from storage.models import Contact, ContactType
from tests.conftest import SALES_ACTOR, ChatBot, sqlite_only

SEEN: list[Any] = []
#: The app under test, for the handler that plays the twin delivery on its own connection.
APPS: list[Any] = []


def _plugin() -> types.ModuleType:
    module = types.ModuleType("inputs_probe")

    @on_email("probe")
    def probe(ctx: EmailContext) -> EmailOutcome:
        if "boom" in ctx.email.subject:
            create_contact(ctx.session, ContactType.COMPANY, "Half Written B.V.")
            raise RuntimeError("a handler bug")
        create_contact(ctx.session, ContactType.COMPANY, f"From {ctx.email.subject}")
        SEEN.append(actor_of(ctx.session))
        return EmailOutcome(matched=True, logged=1)

    @schedule("probe_job", cron="0 6 * * *")
    def job(ctx: JobContext) -> str:
        SEEN.append(ctx)
        return ctx.query(lambda session: f"{actor_of(session)} at {ctx.tick.at:%H:%M}")

    @command("race")
    def race(ctx: Context) -> Reply:
        """Refused by what a twin delivery wrote and committed meanwhile."""
        with APPS[-1].store.transaction() as other:  # the first delivery, committing now
            record_delivery(other, "slack", "twin")
        raise UserError("That message is on CT000001 already.")

    module.a, module.b, module.c = probe, job, race
    return module


@pytest.fixture
def probe_bot(tmp_path: Path, database_url: str) -> Iterator[ChatBot]:
    SEEN.clear()
    registry = build_registry(["help"])
    registry.add_plugin(_plugin(), "inputs_probe")
    app = build_app(Settings(data_dir=tmp_path, database_url=database_url), registry)
    APPS.append(app)
    yield ChatBot(app)
    app.close()


def _email(uid: int, subject: str) -> ReceivedEmail:
    return ReceivedEmail("box", "INBOX", uid, f"<{uid}@example.com>", subject, None)


def test_an_email_batch_is_one_transaction_with_a_failing_handler_isolated(
    probe_bot: ChatBot,
) -> None:
    batch = EmailBatch(
        mailbox="box",
        folder="INBOX",
        uidvalidity=7,
        last_uid=4,
        emails=(_email(1, "one"), _email(2, "boom"), _email(3, "three")),
        failures=((4, "cannot parse: ValueError: bad"),),
        partial=((3, "header fields cut"),),
    )
    results = probe_bot.app.dispatcher.dispatch_emails(batch)
    assert [(r.uid, r.outcome.matched, bool(r.reason), r.partial) for r in results] == [
        (1, True, False, ""),
        (2, False, True, ""),
        (3, True, False, "header fields cut"),
    ]
    assert "probe failed: RuntimeError: a handler bug" in results[1].reason
    with probe_bot.app.store.transaction() as session:
        names = set(session.scalars(select(Contact.name)))
        assert names == {"From one", "From three"}  # not the failed handler's half
        assert folder_position(session, "box", "INBOX", 7).last_uid == 4
        skipped = {(s.uid, s.reason[:12]) for s in skipped_messages(session, "box")}
        assert skipped == {(2, "probe failed"), (3, "header field"), (4, "cannot parse")}
    assert SEEN[-1] == "mail:box"  # the actor of the batch's writes


def test_a_job_gets_a_context_and_its_queries_name_the_job(probe_bot: ChatBot) -> None:
    spec = probe_bot.app.registry.schedules["probe_job"]
    at = dt.datetime(2026, 12, 3, 6, 0, tzinfo=dt.UTC)
    assert probe_bot.app.dispatcher.run_job(spec, JobTick("probe_job", at)) == (
        "job:probe_job at 06:00"
    )
    context = SEEN[-1]
    assert isinstance(context, JobContext) and context.settings is probe_bot.app.settings


@sqlite_only
def test_a_retry_refused_by_what_the_first_delivery_wrote_is_its_duplicate(
    probe_bot: ChatBot,
) -> None:
    """SQLite records the delivery id last: a twin delivery that ran beside the first may be
    refused by the first's writes; once the first committed, the twin is its duplicate (it
    answers nothing) rather than an error shown to the person a second time."""
    invocation = CommandInvocation(SALES_ACTOR, "race", source="slack", delivery_id="twin")
    assert probe_bot.app.dispatcher.dispatch(invocation) is DUPLICATE_DELIVERY
    with probe_bot.app.store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0
