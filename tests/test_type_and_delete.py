"""Changing a contact's type (refused with the reason while anything depends on the old type)
and deleting a contact (admin only, after confirmation; a company takes its persons)."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.contacts import get_by_no
from storage.models import AltAddress, Contact, ContactType
from tests.conftest import ADMIN_ACTOR, SALES_ACTOR, ChatBot


def contact(bot: ChatBot, no: str) -> Contact | None:
    with bot.app.store.transaction() as session:
        found = get_by_no(session, no)
        if found is not None:
            session.expunge(found)
        return found


def test_a_company_with_persons_cannot_become_a_person_and_the_refusal_names_them(
    bot: ChatBot,
) -> None:
    bot.ok('new company "Acme"')
    bot.ok('new person "Jan de Vries" company=CT000001')
    bot.ok('new person "Piet Bakker" company=CT000001')
    refusal = bot.fails("type CT000001 person")
    assert refusal == (
        "CT000001 Acme cannot become a person: it still has persons: CT000002, CT000003"
    )
    assert contact(bot, "CT000001").type is ContactType.COMPANY


def test_a_company_with_industry_groups_cannot_become_a_person(bot: ChatBot) -> None:
    bot.ok("codes industries add RETAIL")
    bot.ok('new company "Acme"')
    bot.ok("assign CT000001 industry=RETAIL")
    assert "it has industry groups: RETAIL (unassign them)" in bot.fails("type CT000001 person")
    bot.ok("unassign CT000001 industry=RETAIL")
    assert bot.ok("type CT000001 person") == "CT000001 Acme is a person now."


def test_a_person_with_job_responsibilities_or_a_level_cannot_become_a_company(
    bot: ChatBot,
) -> None:
    bot.ok("codes jobs add PURCH")
    bot.ok("codes levels add BOARD")
    bot.ok('new person "Jan de Vries" job_title=Buyer')
    bot.ok("assign CT000001 job=PURCH level=BOARD")
    refusal = bot.fails("type CT000001 company")
    assert "it has job responsibilities: PURCH (unassign them)" in refusal
    assert "it has organizational level BOARD (unassign it)" in refusal
    bot.ok("unassign CT000001 job=PURCH")
    refusal = bot.fails("type CT000001 company")
    assert "job responsibilities" not in refusal and "level BOARD" in refusal
    bot.ok("unassign CT000001 level=BOARD")
    bot.ok("type CT000001 company")
    company = contact(bot, "CT000001")
    assert company.type is ContactType.COMPANY
    assert (company.first_name, company.surname, company.job_title) == ("", "", "")
    assert company.name == "Jan de Vries"


def test_a_person_of_a_company_must_leave_it_first(bot: ChatBot) -> None:
    bot.ok('new company "Acme"')
    bot.ok('new person "Jan" company=CT000001')
    assert "it belongs to company Acme (`set CT000002 company=`)" in bot.fails(
        "type CT000002 company"
    )


def test_a_company_that_becomes_a_person_gets_its_name_broken_down(bot: ChatBot) -> None:
    bot.ok('new company "Jan de Vries"')
    bot.ok("type CT000001 person")
    person = contact(bot, "CT000001")
    assert (person.type, person.first_name, person.middle_name, person.surname) == (
        ContactType.PERSON,
        "Jan",
        "de",
        "Vries",
    )
    assert "CT000001 is a person already." in bot.fails("type CT000001 person")
    assert "`robot` is not company or person" in bot.fails("type CT000001 robot")
    assert "Missing person or company" in bot.fails("type CT000001")


def test_delete_is_for_admins_only(bot: ChatBot) -> None:
    bot.ok('new company "Acme"')
    refusal = bot.fails("delete CT000001 --yes", SALES_ACTOR)
    assert refusal == "`delete` needs the admin role, which you do not have."
    assert contact(bot, "CT000001") is not None


def test_delete_asks_and_only_yes_deletes(bot: ChatBot) -> None:
    bot.ok('new person "Jan"')
    reply = bot.reply("delete CT000001", ADMIN_ACTOR)
    assert reply.confirm is not None and reply.confirm.command == "delete CT000001 --yes"
    assert contact(bot, "CT000001") is not None
    assert bot.ok("delete CT000001 --yes", ADMIN_ACTOR) == "Deleted CT000001."
    assert contact(bot, "CT000001") is None


def test_deleting_a_company_takes_its_persons_and_their_groups(bot: ChatBot) -> None:
    bot.ok("codes mailing add NEWS")
    bot.ok('new company "Acme"')
    bot.ok('new person "Jan" company=CT000001')
    bot.ok('new person "Piet" company=CT000001')
    bot.ok('new person "Fred"')
    bot.ok("assign CT000002 mailing=NEWS")
    bot.ok("address CT000001 add BRANCH city=Rotterdam")
    assert bot.ok("delete CT000001 --yes") == (
        "Deleted CT000001 and its persons CT000002, CT000003."
    )
    with bot.app.store.transaction() as session:
        left = session.scalars(select(Contact.no)).all()
        links = session.execute(
            select(func.count()).select_from(Contact.mailing_groups.property.secondary)
        ).scalar()
        addresses = session.scalar(select(func.count()).select_from(AltAddress))
    assert left == ["CT000004"] and links == 0 and addresses == 0
    # The numbers are not given again.
    assert "CT000005" in bot.ok('new person "Kees"')


def test_deleting_an_unknown_contact_says_so(bot: ChatBot) -> None:
    assert "No contact `CT000009`" in bot.fails("delete CT000009 --yes")
