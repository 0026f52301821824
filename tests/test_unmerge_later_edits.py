"""`unmerge` after edits made since the merge: what the merge wrote is put back, what a person
changed later stays, and the reply says which later edits were kept (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.registry import build_registry
from bot.runtime import build_app
from storage.contacts import get_by_no
from storage.models import Contact
from tests.conftest import ChatBot


@pytest.fixture
def dbot(settings) -> Iterator[ChatBot]:  # type: ignore[no-untyped-def]
    app = build_app(settings, build_registry())
    yield ChatBot(app)
    app.close()


def _card(bot: ChatBot, no: str) -> Contact:
    with bot.app.store.transaction() as session:
        contact = get_by_no(session, no)
        assert contact is not None, f"{no} is gone"
        session.expunge(contact)
        return contact


def _two_companies(bot: ChatBot) -> None:
    bot.ok('new company "Acme Holding B.V." city=Amsterdam phone="+31 20 555 0100"')
    bot.ok('new company "Acme Holding BV" city=Rotterdam phone="+31 10 555 0199"')


def test_unmerge_keeps_a_field_of_the_kept_card_edited_after_the_merge(dbot: ChatBot) -> None:
    _two_companies(dbot)
    dbot.ok("merge CT000002 into CT000001 city=dup phone=dup --yes")
    assert _card(dbot, "CT000001").city == "Rotterdam"
    dbot.ok("set CT000001 city=Utrecht")

    reply = dbot.ok("unmerge 1")

    assert reply == (
        "Undid merge 1: CT000002 is back (Acme Holding BV), and CT000001 is back as it was, "
        "except city (changed to Utrecht after the merge; kept)."
    )
    kept = _card(dbot, "CT000001")
    assert kept.city == "Utrecht"  # the later edit stays
    assert kept.phone == "+31 20 555 0100"  # what the merge took is put back
    assert "31205550100" in kept.search_text  # found by its own phone again
    back = _card(dbot, "CT000002")
    assert (back.city, back.phone) == ("Rotterdam", "+31 10 555 0199")


def test_unmerge_without_later_edits_says_the_card_is_as_it_was(dbot: ChatBot) -> None:
    _two_companies(dbot)
    dbot.ok("merge CT000002 into CT000001 city=dup --yes")
    assert dbot.ok("unmerge 1") == (
        "Undid merge 1: CT000002 is back (Acme Holding BV), and CT000001 is as it was."
    )
    assert _card(dbot, "CT000001").city == "Amsterdam"


def test_unmerge_moves_a_person_back_with_the_edits_made_after_the_merge(dbot: ChatBot) -> None:
    _two_companies(dbot)
    dbot.ok('new person "Jan de Vries" company=CT000002 job_title=Buyer')
    dbot.ok('new person "Piet Jansen" company=CT000002')
    dbot.ok("merge CT000002 into CT000001 --yes")
    dbot.ok('set CT000003 job_title="Head of Purchasing" mobile="+31 6 1234 5678"')

    reply = dbot.reply("unmerge 1")

    assert reply.ok, reply.text
    assert reply.text.endswith("CT000001 is as it was.")
    assert reply.notes == ("CT000003 keeps what was changed after the merge: job_title, mobile.",)
    jan = _card(dbot, "CT000003")
    dup = _card(dbot, "CT000002")
    assert (jan.company_id, jan.company_name) == (dup.id, "Acme Holding BV")
    assert (jan.job_title, jan.mobile) == ("Head of Purchasing", "+31 6 1234 5678")
    assert "acme holding bv" in jan.search_text.lower()
    piet = _card(dbot, "CT000004")
    assert (piet.company_id, piet.company_name) == (dup.id, "Acme Holding BV")


def test_unmerge_leaves_a_person_moved_on_or_deleted_after_the_merge(dbot: ChatBot) -> None:
    _two_companies(dbot)
    dbot.ok('new person "Jan de Vries" company=CT000002')
    dbot.ok('new person "Piet Jansen" company=CT000002')
    dbot.ok('new company "Other Trading"')  # CT000005
    dbot.ok("merge CT000002 into CT000001 --yes")
    dbot.ok("set CT000003 company=CT000005")
    dbot.ok("delete CT000004 --yes")

    reply = dbot.reply("unmerge 1")

    assert reply.ok, reply.text
    assert reply.notes == (
        "CT000003 was moved to Other Trading after the merge; it stays there.",
        "CT000004 was deleted after the merge; it stays deleted.",
    )
    assert _card(dbot, "CT000003").company_name == "Other Trading"
    with dbot.app.store.transaction() as session:
        assert session.scalars(select(Contact.no).where(Contact.no == "CT000004")).all() == []


def test_unmerge_works_when_sqlite_gave_the_duplicates_id_to_a_newer_contact(
    dbot: ChatBot,
) -> None:
    """SQLite hands the highest id out again once its row is deleted: the duplicate comes back
    under a new id, with its number, persons and history."""
    _two_companies(dbot)
    dbot.ok('log CT000002 NOTE "Met at the fair"')
    dbot.ok("merge CT000002 into CT000001 --yes")
    dbot.ok('new company "Newcomer"')  # on SQLite: the id CT000002 had
    assert "Undid merge 1" in dbot.ok("unmerge 1")
    back = _card(dbot, "CT000002")
    assert back.name == "Acme Holding BV"
    assert "Met at the fair" in dbot.ok("history CT000002")
    assert "Met at the fair" not in dbot.ok("history CT000001")
    assert _card(dbot, "CT000003").name == "Newcomer"
