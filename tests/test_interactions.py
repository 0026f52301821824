"""The interaction log through the command language, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import func, select

from storage.interactions import EmailInteraction, record_email_interactions
from storage.models import Interaction


def _setup(bot) -> None:  # type: ignore[no-untyped-def]
    bot.ok('codes salespeople add SP1 name="Sam Sales" email=sales@example.com')
    bot.ok('new company "Acme Holding B.V." city=Amsterdam')  # CT000001
    bot.ok('new person "Jan de Vries" company=CT000001 email=jan@acme.example')  # CT000002


def test_log_and_history_newest_first(bot) -> None:  # type: ignore[no-untyped-def]
    _setup(bot)
    logged = bot.ok(
        'log CT000002 CALL "Discussed the renewal" duration=1h30m cost=12,50 date=2026-11-20'
    )
    assert "Logged CALL (outbound) on CT000002" in logged
    bot.ok('log CT000002 meeting "Demo at their office" direction=in date="2026-11-21 14:30"')
    bot.ok('log CT000001 NOTE "Company-level note" date=2026-11-19')

    history = bot.ok("history CT000002").splitlines()
    assert history[0] == "2 interactions"
    assert "Demo at their office" in history[3] and " in " in history[3]
    assert "Discussed the renewal" in history[4] and " out " in history[4]

    company = bot.ok("history CT000001").splitlines()
    assert company[0] == "3 interactions"
    assert "CT000002 Jan de Vries" in company[3]  # a person's interaction, marked
    assert "Company-level note" in company[5]
    assert "CT000002" not in company[5]

    limited = bot.ok("history CT000001 1").splitlines()
    assert limited[0] == "3 interactions"
    assert len([line for line in limited if "2026-" in line]) == 1

    with bot.app.store.transaction() as session:
        call = session.scalars(select(Interaction).where(Interaction.template == "CALL")).one()
        assert call.duration_minutes == 90
        assert str(call.cost) == "12.50"
        assert call.initiated_by == "us" and call.source == "shell"
        meeting = session.scalars(
            select(Interaction).where(Interaction.template == "MEETING")
        ).one()
        assert meeting.initiated_by == "them"
        assert meeting.occurred_at == dt.datetime(2026, 11, 21, 14, 30)

    card = bot.ok("show CT000002")
    assert "Interactions" in card and "2, last 2026-11-21 14:30 UTC" in card
    assert "3, last 2026-11-21 14:30 UTC" in bot.ok("show CT000001")


def test_log_refuses_bad_input_without_writing(bot) -> None:  # type: ignore[no-untyped-def]
    _setup(bot)
    assert "template" in bot.fails('log CT000002 TELEPATHY "hm"')
    assert "codes interactions" in bot.fails('log CT000002 TELEPATHY "hm"')
    assert "description" in bot.fails("log CT000002 CALL")
    assert "duration" in bot.fails('log CT000002 CALL "x" duration=forever')
    assert "date" in bot.fails('log CT000002 CALL "x" date=tomorrow')
    assert "direction" in bot.fails('log CT000002 CALL "x" direction=sideways')
    assert "cost" in bot.fails('log CT000002 CALL "x" cost=lots')
    assert "limit" in bot.fails("history CT000002 many")
    assert "Usage" in bot.fails("log")
    assert bot.ok("history CT000002").splitlines()[0] == "0 interactions"


def test_templates_are_a_code_table(bot) -> None:  # type: ignore[no-untyped-def]
    listing = bot.ok("codes interactions list")
    for code in ("EMAIL", "CALL", "MEETING", "NOTE", "SLACK"):
        assert code in listing
    bot.ok('codes interactions add VISIT description="Site visit"')
    _setup(bot)
    assert "VISIT" in bot.ok('log CT000002 visit "Walked the plant"')


def test_contact_with_interactions_cannot_change_type_and_delete_takes_them(bot) -> None:  # type: ignore[no-untyped-def]
    bot.ok('new person "Lone Wolf"')  # CT000001
    bot.ok('log CT000001 NOTE "Met at a fair"')
    refusal = bot.fails("type CT000001 company")
    assert "1 logged interaction" in refusal
    bot.ok("delete CT000001 --yes")
    with bot.app.store.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Interaction)) == 0


def test_email_interactions_are_unique_per_contact_and_message_id(bot) -> None:  # type: ignore[no-untyped-def]
    _setup(bot)
    when = dt.datetime(2026, 11, 20, 9, 0)
    rows = [
        EmailInteraction(2, "<m1@x>", "inbound", "SP1", when, "Hello", "sam", "INBOX", "hi"),
        EmailInteraction(1, "<m1@x>", "inbound", "SP1", when, "Hello", "sam", "INBOX", "hi"),
    ]
    with bot.app.store.transaction() as session:
        assert record_email_interactions(session, rows) == 2
    with bot.app.store.transaction() as session:  # Sent, another mailbox, a rescan …
        assert record_email_interactions(session, rows) == 0
        assert record_email_interactions(session, []) == 0
    # Only the rows really inserted count: one new among old ones, and a key twice in a call.
    new = EmailInteraction(2, "<m2@x>", "outbound", "SP1", when, "Re: Hello", "sam", "Sent", "")
    with bot.app.store.transaction() as session:
        assert record_email_interactions(session, [*rows, new]) == 1
        assert record_email_interactions(session, [rows[0]]) == 0
        twice = replace(new, message_id="<m3@x>")
        assert record_email_interactions(session, [twice, twice]) == 1
    assert bot.ok("history CT000002").splitlines()[0] == "3 interactions"


def test_an_interaction_keyed_by_its_source_link_is_logged_once_per_contact(bot) -> None:  # type: ignore[no-untyped-def]
    """The once-per-message rule is the store's: `log` with a key (the Slack shortcut's
    permalink, or any other source's link) logs it once per contact, whatever the delivery;
    another contact may log the same message. The words go as values: no quoting to undo."""
    from bot.inputs import SNIPPET, TEMPLATE_DESCRIPTION, CommandInvocation
    from storage.contacts import get_by_no
    from storage.interactions import AlreadyLogged, record_interaction
    from tests.conftest import SALES_ACTOR

    _setup(bot)
    bot.ok("codes interactions remove NOTE --yes")
    link = "https://example.slack.com/archives/C1/p1700000000000100"

    def log(no: str, delivery: str, description: str = "It’s “quoted” – and a=b") -> str:
        invocation = CommandInvocation(
            actor=SALES_ACTOR,
            text=f"log {no} NOTE",
            source="api",
            delivery_id=delivery,
            words=("log", no, "NOTE", f"description={description}", "direction=in"),
            key=link,
            extra={SNIPPET: "sam in #sales: hello", TEMPLATE_DESCRIPTION: "Note"},
        )
        return bot.app.dispatcher.dispatch(invocation).text

    assert log("CT000002", "d1") == "Logged the message on CT000002 (Jan de Vries)."
    assert log("CT000002", "d2", "again") == "That message is on CT000002 (Jan de Vries) already."
    assert log("CT000001", "d3") == "Logged the message on CT000001 (Acme Holding B.V.)."
    with bot.app.store.transaction() as session:
        rows = session.scalars(select(Interaction).order_by(Interaction.id)).all()
        assert [(r.contact_id, r.message_id) for r in rows] == [(2, link), (1, link)]
        assert rows[0].description == "It’s “quoted” – and a=b"
        assert rows[0].snippet == "sam in #sales: hello" and rows[0].reference == link
        assert rows[0].source == "api" and rows[0].direction == "inbound"
        contact = get_by_no(session, "CT000002")
        assert contact is not None
        try:
            record_interaction(session, contact, "NOTE", "by hand", key=link)
        except AlreadyLogged as error:
            assert "CT000002" in error.message
        else:
            raise AssertionError("the same key was logged twice")
