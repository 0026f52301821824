"""Business relations through the command language, on SQLite and PostgreSQL: create-as, sync
both ways (reaching persons), link with a master, unlink, the uniqueness rules, deletes and
their log, type change, the automatic contact of a new record, merge and unmerge, relation codes,
templates, and bad input refused with exact words and nothing half-written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from bot.config import Settings
from bot.inputs import Actor
from bot.registry import build_registry
from bot.runtime import build_app
from storage.contacts import get_by_no
from storage.models import (
    BusinessLink,
    BusinessRecord,
    BusinessRelationLog,
    ContactBusinessRelation,
    NumberSeries,
)
from tests.conftest import ADMIN_ACTOR, SALES_ACTOR, ChatBot

ACME = (
    'new company "Acme Holding B.V." address="Keizersgracht 1" post_code="1015 AA" '
    'city=Amsterdam country=NL phone="+31 20 555 0100" email=info@acme.example'
)


@pytest.fixture
def rbot(settings: Settings) -> Iterator[ChatBot]:
    """The installed plugins (relations and duplicates among them, through their entry points),
    with a country and a salesperson to use."""
    app = build_app(settings, build_registry())
    bot = ChatBot(app)
    bot.ok("codes salespeople add SAM name=Sam")
    yield bot
    app.close()


def record(bot: ChatBot, kind: str, no: str) -> dict[str, Any]:
    with bot.app.store.transaction() as session:
        row = session.scalars(
            select(BusinessRecord).where(BusinessRecord.kind == kind, BusinessRecord.no == no)
        ).one()
        return {c.key: getattr(row, c.key) for c in BusinessRecord.__table__.columns}


def contact(bot: ChatBot, no: str) -> dict[str, Any]:
    with bot.app.store.transaction() as session:
        row = get_by_no(session, no)
        assert row is not None, no
        return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def links(bot: ChatBot) -> list[tuple[str, str, str]]:
    """Every link as (contact no, kind, record no)."""
    with bot.app.store.transaction() as session:
        rows = session.scalars(select(BusinessLink).order_by(BusinessLink.id))
        return [(link.contact.no, link.kind, link.record.no) for link in rows]


def codes(bot: ChatBot, no: str) -> list[str]:
    with bot.app.store.transaction() as session:
        found = get_by_no(session, no)
        assert found is not None
        query = select(ContactBusinessRelation.code).where(
            ContactBusinessRelation.contact_id == found.id
        )
        return sorted(session.scalars(query))


def count_records(bot: ChatBot) -> int:
    with bot.app.store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(BusinessRecord)) or 0)


SHARED = ("name", "address", "post_code", "city", "country", "phone", "email")


# --- the "done when" --------------------------------------------------------------


def test_create_as_makes_a_customer_linked_with_the_contacts_name_and_address(
    rbot: ChatBot,
) -> None:
    rbot.ok(ACME)
    text = rbot.ok("create-as CT000001 customer")
    assert text.startswith("Created customer C00001 from CT000001: Acme Holding B.V., linked.")
    customer = record(rbot, "customer", "C00001")
    acme = contact(rbot, "CT000001")
    assert {f: customer[f] for f in SHARED} == {f: acme[f] for f in SHARED}
    assert customer["name"] == "Acme Holding B.V." and customer["address"] == "Keizersgracht 1"
    assert customer["city"] == "Amsterdam" and customer["post_code"] == "1015 AA"
    assert links(rbot) == [("CT000001", "customer", "C00001")]
    assert codes(rbot, "CT000001") == ["CUST"]
    assert "CUST customer C00001 Acme Holding B.V." in rbot.ok("show CT000001")
    assert "is linked to CT000001 Acme Holding B.V." in rbot.ok("related C00001")


def test_set_on_the_contact_changes_the_customers_phone(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok('new person "Jan de Vries" company=CT000001')
    rbot.ok("create-as CT000001 customer")
    text = rbot.ok('set CT000001 phone="+31 20 555 0199"')
    assert "Changed CT000001: phone." in text
    assert "Linked records updated too: customer C00001 (phone)." in text
    assert record(rbot, "customer", "C00001")["phone"] == "+31 20 555 0199"
    assert contact(rbot, "CT000002")["phone"] == "+31 20 555 0199"  # inheritance as before


def test_link_with_master_record_copies_the_records_differing_fields_and_lists_them(
    rbot: ChatBot,
) -> None:
    rbot.ok(ACME)
    rbot.ok("setup auto_contact=no")
    rbot.ok('customer new "Acme Holding" city=Rotterdam phone="+31 10 555 0100" country=NL')
    text = rbot.ok("link CT000001 customer C00001 master=record")
    assert text.startswith(
        "Linked CT000001 Acme Holding to customer C00001. Copied from C00001 to CT000001: "
        "name, address, city, post_code, phone, email."
    )
    acme = contact(rbot, "CT000001")
    assert acme["name"] == "Acme Holding" and acme["city"] == "Rotterdam"
    assert acme["phone"] == "+31 10 555 0100" and acme["address"] == ""
    assert record(rbot, "customer", "C00001")["name"] == "Acme Holding"


def test_link_with_the_contact_as_master_copies_the_contacts_fields(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok("setup auto_contact=no")
    rbot.ok('vendor new "Acme" city=Delft')
    text = rbot.ok("link CT000001 vendor V00001")
    assert (
        "Copied from CT000001 to V00001: name, address, city, post_code, country, phone, email."
        in text
    )
    vendor = record(rbot, "vendor", "V00001")
    assert vendor["name"] == "Acme Holding B.V." and vendor["city"] == "Amsterdam"
    assert contact(rbot, "CT000001")["city"] == "Amsterdam"
    rbot.ok("unlink CT000001 vendor")
    assert rbot.ok("link CT000001 vendor V00001") == (
        "Linked CT000001 Acme Holding B.V. to vendor V00001. "
        "Their shared fields were the same already."
    )


def test_unlink_leaves_both_with_their_data_and_ends_the_sync(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok("create-as CT000001 customer")
    text = rbot.ok("unlink CT000001 customer")
    assert text == "Unlinked CT000001 Acme Holding B.V. from customer C00001; both keep their data."
    assert links(rbot) == [] and codes(rbot, "CT000001") == []
    customer = record(rbot, "customer", "C00001")
    acme = contact(rbot, "CT000001")
    assert customer["city"] == acme["city"] == "Amsterdam"
    assert customer["phone"] == acme["phone"] == "+31 20 555 0100"
    rbot.ok("set CT000001 city=Utrecht")
    assert record(rbot, "customer", "C00001")["city"] == "Amsterdam"
    assert "unlinked" in rbot.ok("relations-log")


# --- sync --------------------------------------------------------------------------------


def test_a_change_on_the_record_reaches_the_contact_its_persons_and_its_other_records(
    rbot: ChatBot,
) -> None:
    rbot.ok(ACME)
    rbot.ok('new person "Jan de Vries" company=CT000001')
    rbot.ok('new person "Eva Own" company=CT000001 city=Leiden')
    rbot.ok("create-as CT000001 customer")
    rbot.ok("create-as CT000001 vendor")
    text = rbot.ok("customer set C00001 city=Rotterdam salesperson=SAM currency=EUR")
    assert text.startswith("Changed customer C00001: city, salesperson, currency.")
    assert "Contact CT000001 updated too: city, salesperson." in text
    assert "Persons updated too: CT000002 (salesperson, city); CT000003 (salesperson)." in text
    assert "Linked records updated too: vendor V00001 (city, salesperson)." in text
    assert contact(rbot, "CT000001")["city"] == "Rotterdam"
    assert contact(rbot, "CT000002")["city"] == "Rotterdam"
    assert contact(rbot, "CT000003")["city"] == "Leiden"  # its own value stays
    assert record(rbot, "vendor", "V00001")["salesperson"] == "SAM"
    assert record(rbot, "customer", "C00001")["currency"] == "EUR"


def test_a_linked_person_is_kept_independent(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok('new person "Eva Jansen" email=eva@example.com')
    rbot.ok("create-as CT000002 employee")
    rbot.ok("set CT000002 first_name=Evelien")
    assert record(rbot, "employee", "E00001")["name"] == "Evelien Jansen"
    message = rbot.fails("set CT000002 company=CT000001")
    assert message == (
        "CT000002 Evelien Jansen is a person of company CT000001 Acme Holding B.V.; business "
        "relations belong to the company. Use CT000001 instead."
    )
    assert contact(rbot, "CT000002")["company_id"] is None  # rolled back
    rbot.ok("unlink CT000002 employee")
    rbot.ok("codes relations add PROSP description=Prospect")
    rbot.ok("relation CT000002 add PROSP")
    assert "business relations belong to the company" in rbot.fails("set CT000002 company=CT000001")
    rbot.ok("relation CT000002 remove PROSP")
    assert "Changed CT000002: company" in rbot.ok("set CT000002 company=CT000001")


# --- uniqueness and bad input ------------------------------------------------------------


def test_one_record_per_kind_per_contact_and_one_contact_per_record(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok('new company "Beta B.V."')
    rbot.ok("create-as CT000001 customer")
    rbot.ok("setup auto_contact=no")
    rbot.ok('customer new "Other"')
    assert rbot.fails("link CT000001 customer C00002") == (
        "CT000001 is linked to customer C00001 already; a contact has one customer. "
        "`unlink CT000001 customer` first."
    )
    assert rbot.fails("link CT000002 customer C00001") == (
        "customer C00001 is linked to CT000001 Acme Holding B.V. already; a record has one "
        "contact. `unlink CT000001 customer` first."
    )
    assert rbot.fails("create-as CT000001 customer") == (
        "CT000001 is a customer already: C00001. See `related CT000001`."
    )
    assert links(rbot) == [("CT000001", "customer", "C00001")]
    # the database holds the rules too, whatever a future caller forgets to check
    with pytest.raises(IntegrityError), rbot.app.store.transaction() as session:
        ids = {c.no: c.id for c in (get_by_no(session, "CT000001"), get_by_no(session, "CT000002"))}
        other = session.scalar(select(BusinessRecord.id).where(BusinessRecord.no == "C00002"))
        session.execute(
            insert(BusinessLink).values(
                contact_id=ids["CT000001"], kind="customer", record_id=other, created_at=func.now()
            )
        )
    with pytest.raises(IntegrityError), rbot.app.store.transaction() as session:
        beta = get_by_no(session, "CT000002")
        first = session.scalar(select(BusinessRecord.id).where(BusinessRecord.no == "C00001"))
        session.execute(
            insert(BusinessLink).values(
                contact_id=beta.id, kind="customer", record_id=first, created_at=func.now()
            )
        )
    with pytest.raises(IntegrityError), rbot.app.store.transaction() as session:
        beta = get_by_no(session, "CT000002")
        other = session.scalar(select(BusinessRecord.id).where(BusinessRecord.no == "C00002"))
        session.execute(  # a link whose kind is not its record's
            insert(BusinessLink).values(
                contact_id=beta.id, kind="vendor", record_id=other, created_at=func.now()
            )
        )


def test_bad_input_is_refused_with_exact_words_and_nothing_written(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok('new person "Jan de Vries" company=CT000001')
    link_usage = "link <no> customer|vendor|bank|employee <record no> [master=contact|record]"
    assert rbot.fails("link CT000001 planet C00001") == (
        f"`planet` is not customer, vendor, bank or employee. Usage: {link_usage}"
    )
    assert rbot.fails("link CT000001 customer C00099") == (
        "No customer `C00099`. See `customer list`."
    )
    assert rbot.fails("link CT000001") == (
        f"Missing customer|vendor|bank|employee. Usage: {link_usage}"
    )
    assert rbot.fails("create-as CT000002 customer") == (
        "CT000002 Jan de Vries is a person of company CT000001 Acme Holding B.V.; business "
        "relations belong to the company. Use CT000001 instead."
    )
    assert rbot.fails("create-as CT000009 customer") == (
        "No contact `CT000009`. Try `find CT000009` to search."
    )
    assert rbot.fails("create-as CT000001 customer template=NOPE") == (
        "No customer template `NOPE`. See `template customer list`."
    )
    assert rbot.fails("unlink CT000001 vendor") == (
        "CT000001 is not linked to a vendor. See `related CT000001`."
    )
    assert count_records(rbot) == 0
    rbot.ok("create-as CT000001 customer")
    assert (
        rbot.fails("link CT000001 vendor V00001 master=boss")
        == "No vendor `V00001`. See `vendor list`."
    )
    rbot.ok("setup auto_contact=no")
    rbot.ok('vendor new "V"')
    assert rbot.fails("link CT000001 vendor V00001 master=boss") == (
        "master=boss: say master=contact or master=record."
    )
    # a bad value leaves record, contact and persons as they were
    assert rbot.fails("customer set C00001 city=Rotterdam country=XX").startswith(
        "country: country/region `XX` does not exist."
    )
    assert rbot.fails('customer set C00001 city=Rotterdam phone="call me"').startswith(
        "phone: `call me` has no digits"
    )
    assert (
        rbot.fails("employee set E00001 currency=EUR")
        == "No employee `E00001`. See `employee list`."
    )
    assert rbot.fails("vendor set V00001 currency=EURO").startswith(
        "currency: `EURO` is not a currency code; type three letters like EUR"
    )
    assert rbot.fails('bank new "ING" currency=EUR') == (
        "currency applies to customers and vendors only, not to a bank account."
    )
    assert rbot.fails("customer set C00001 colour=red").startswith(
        "Unknown field `colour` for a customer. Fields: name, name_2,"
    )
    assert rbot.fails('customer new ""') == (
        'A customer needs a name: `customer new "Name" field=value …`.'
    )
    assert record(rbot, "customer", "C00001")["city"] == "Amsterdam"
    assert contact(rbot, "CT000001")["city"] == contact(rbot, "CT000002")["city"] == "Amsterdam"
    assert links(rbot) == [("CT000001", "customer", "C00001")]


def test_no_link_without_a_relation_code_in_the_setup(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok("setup customer_relation=")
    assert rbot.fails("create-as CT000001 customer") == (
        "The setup names no business relation code for customers; set one first: "
        "`setup customer_relation=…`."
    )
    assert count_records(rbot) == 0
    assert "does not exist" in rbot.fails("setup vendor_relation=NOPE")
    assert "setup's customer_relation" not in rbot.fails("codes relations remove VEND")


# --- delete, type change ------------------------------------------------------------------


def test_deleting_a_linked_contact_keeps_the_record_and_logs_it(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok("create-as CT000001 customer")
    assert rbot.ok("delete CT000001 --yes") == "Deleted CT000001."
    assert links(rbot) == []
    assert record(rbot, "customer", "C00001")["name"] == "Acme Holding B.V."
    log = rbot.ok("relations-log")
    assert "contact deleted" in log and "customer C00001 Acme Holding B.V." in log
    assert "CT000001 Acme Holding B.V." in log
    assert "has no contact" in rbot.ok("related C00001")
    assert "admin" in rbot.fails("relations-log", SALES_ACTOR)


def test_the_relations_log_says_who_removed_what(rbot: ChatBot) -> None:
    """By display name, else by the adapter's user id; the hook behind `delete` knows it too."""
    rbot.ok(ACME)
    rbot.ok('new company "Beta B.V." country=NL')
    rbot.ok("create-as CT000001 customer")
    rbot.ok("create-as CT000002 vendor")
    rbot.ok("unlink CT000001 customer", ADMIN_ACTOR)
    nameless = Actor(user_id="U_NAMELESS", roles=ADMIN_ACTOR.roles)
    rbot.ok("delete CT000002 --yes", nameless)
    lines = rbot.ok("relations-log").splitlines()
    deleted = next(line for line in lines if "contact deleted" in line)
    unlinked = next(line for line in lines if "unlinked" in line)
    assert deleted.rstrip().endswith("U_NAMELESS"), deleted
    assert unlinked.rstrip().endswith(ADMIN_ACTOR.name), unlinked


def test_deleting_a_record_keeps_the_contact_and_logs_it(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok("create-as CT000001 customer")
    rbot.ok("codes relations add PROSP description=Prospect")
    rbot.ok("relation CT000001 add PROSP")
    question = rbot.reply("customer delete C00001")
    assert question.confirm is not None and count_records(rbot) == 1
    assert "admin" in rbot.fails("customer delete C00001 --yes", SALES_ACTOR)
    text = rbot.ok(question.confirm.command)
    assert text == (
        "Deleted customer C00001 Acme Holding B.V. Its contact CT000001 Acme Holding B.V. stays;"
        " the link is in `relations-log`."
    )
    assert count_records(rbot) == 0 and links(rbot) == []
    assert codes(rbot, "CT000001") == ["PROSP"]  # CUST went with the link
    assert contact(rbot, "CT000001")["city"] == "Amsterdam"
    with rbot.app.store.transaction() as session:
        entry = session.scalars(select(BusinessRelationLog)).one()
        assert (entry.event, entry.record_no, entry.contact_no) == (
            "record deleted",
            "C00001",
            "CT000001",
        )


def test_a_company_with_business_relations_stays_a_company(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok("create-as CT000001 customer")
    rbot.ok("codes relations add LAWYER description=Lawyer")
    rbot.ok("relation CT000001 add LAWYER")
    assert rbot.fails("type CT000001 person") == (
        "CT000001 Acme Holding B.V. cannot become a person: it has business relations: "
        "CUST customer C00001 Acme Holding B.V.; LAWYER Lawyer (`unlink CT000001 <kind>`, "
        "`relation CT000001 remove <code>`)"
    )
    rbot.ok("unlink CT000001 customer")
    rbot.ok("relation CT000001 remove LAWYER")
    assert "is a person now" in rbot.ok("type CT000001 person")


# --- records that bring their contact ------------------------------------------------------


def test_a_new_record_gets_a_contact_unless_the_setup_says_no(rbot: ChatBot) -> None:
    text = rbot.ok('customer new "Initech" city=Austin email=info@initech.example')
    assert text.startswith("Created customer C00001: Initech. Contact CT000001 made and linked")
    initech = contact(rbot, "CT000001")
    assert initech["type"].value == "company" and initech["city"] == "Austin"
    assert initech["email"] == "info@initech.example"
    assert links(rbot) == [("CT000001", "customer", "C00001")]
    assert codes(rbot, "CT000001") == ["CUST"]
    rbot.ok("setup auto_contact=no")
    assert rbot.ok('customer new "Hooli"').startswith("Created customer C00002: Hooli.\n")
    assert links(rbot) == [("CT000001", "customer", "C00001")]
    assert get_by_no_in(rbot, "CT000002") is None


def test_setup_defaults_never_make_a_records_contact_differ_from_it(rbot: ChatBot) -> None:
    rbot.ok("setup default_salesperson=SAM default_country=NL")
    rbot.ok('vendor new "Supplies" city=Delft phone="015 123 4567"')
    supplies = contact(rbot, "CT000001")
    vendor = record(rbot, "vendor", "V00001")
    assert supplies["salesperson"] is None and vendor["salesperson"] is None
    assert supplies["phone"] == vendor["phone"] == "015 123 4567"


def test_records_are_numbered_per_kind_and_take_a_given_number(rbot: ChatBot) -> None:
    rbot.ok("setup auto_contact=no")
    rbot.ok('customer new "A" no=C00002')
    assert "C00001" in rbot.ok('customer new "B"')
    assert "C00003" in rbot.ok('customer new "C"')  # C00002 is taken: skipped
    assert "V00001" in rbot.ok('vendor new "D"')
    assert "B00001" in rbot.ok('bank new "E"')
    assert "E00001" in rbot.ok('employee new "F"')
    assert (
        rbot.fails('customer new "G" no=C00001') == "The customer number C00001 is taken already."
    )
    with rbot.app.store.transaction() as session:
        series = session.get(NumberSeries, "CUSTOMER")
        assert series is not None and (series.prefix, series.last_number) == ("C", 3)


# --- merge --------------------------------------------------------------------------------


def test_merge_moves_links_and_codes_and_unmerge_moves_them_back(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok('new company "Acme Holding BV" city=Rotterdam')
    rbot.ok("codes relations add PROSP description=Prospect")
    rbot.ok("create-as CT000001 customer")
    rbot.ok("create-as CT000002 vendor")
    rbot.ok("relation CT000002 add PROSP")
    vendor_before = record(rbot, "vendor", "V00001")
    rbot.ok("merge CT000002 into CT000001 --yes")
    assert links(rbot) == [("CT000001", "customer", "C00001"), ("CT000001", "vendor", "V00001")]
    assert codes(rbot, "CT000001") == ["CUST", "PROSP", "VEND"]
    assert record(rbot, "vendor", "V00001")["city"] == "Amsterdam"  # the kept contact's
    rbot.ok("unmerge 1")
    assert links(rbot) == [("CT000001", "customer", "C00001"), ("CT000002", "vendor", "V00001")]
    assert codes(rbot, "CT000001") == ["CUST"] and codes(rbot, "CT000002") == ["PROSP", "VEND"]
    after = record(rbot, "vendor", "V00001")
    assert {k: after[k] for k in SHARED} == {k: vendor_before[k] for k in SHARED}


def test_merge_refuses_two_records_of_one_kind(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok('new company "Acme Holding BV"')
    rbot.ok("create-as CT000001 customer")
    rbot.ok("create-as CT000002 customer")
    assert rbot.fails("merge CT000002 into CT000001 --yes") == (
        "CT000002 and CT000001 are both linked to a customer (C00002, C00001); a contact has "
        "one. `unlink CT000002 customer` first, then merge."
    )
    assert get_by_no_in(rbot, "CT000002") is not None
    assert len(links(rbot)) == 2


# --- codes, templates, contacts-from -------------------------------------------------------


def test_a_prospect_carries_a_code_without_a_record(rbot: ChatBot) -> None:
    rbot.ok(ACME)
    rbot.ok('new person "Jan de Vries" company=CT000001')
    rbot.ok("codes relations add PROSP description=Prospect")
    assert rbot.ok("relation CT000001 add prosp") == (
        "Added business relation PROSP to CT000001 Acme Holding B.V."
    )
    assert "has business relation PROSP already" in rbot.ok("relation CT000001 add PROSP")
    assert "PROSP Prospect" in rbot.ok("show CT000001")
    assert "business relations PROSP. No linked records." in rbot.ok("related CT000001")
    assert rbot.fails("relation CT000001 add NOPE").startswith(
        "Business relation `NOPE` does not exist. Add it with `codes relations add NOPE"
    )
    assert "person of company" in rbot.fails("relation CT000002 add PROSP")
    assert "still used" in rbot.fails("codes relations remove PROSP")
    assert rbot.fails("codes relations remove CUST").startswith(
        "Business relation CUST is the setup's customer_relation"
    )
    rbot.ok("relation CT000001 remove PROSP")
    assert codes(rbot, "CT000001") == []
    assert (
        rbot.fails("relation CT000001 remove PROSP") == "CT000001 has no business relation PROSP."
    )


def test_create_as_with_a_template_fills_blanks_on_both_sides(rbot: ChatBot) -> None:
    rbot.ok('new company "Blank Co" city=Delft')
    assert "admin" in rbot.fails("template customer add DOM currency=EUR", SALES_ACTOR)
    rbot.ok("template customer add DOM currency=eur salesperson=SAM description=Domestic")
    assert "DOM" in rbot.ok("template customer list")
    assert "currency applies to customers and vendors only" in rbot.fails(
        "template employee add X currency=EUR"
    )
    text = rbot.ok("create-as CT000001 customer template=dom")
    assert "CT000001 took from the template: salesperson." in text
    customer = record(rbot, "customer", "C00001")
    assert (customer["currency"], customer["salesperson"]) == ("EUR", "SAM")
    assert contact(rbot, "CT000001")["salesperson"] == "SAM"


def test_contacts_from_as_an_admin_command(rbot: ChatBot) -> None:
    rbot.ok("setup auto_contact=no")
    rbot.ok('customer new "Acme" city=Amsterdam')
    rbot.ok('customer new "Beta" city=Utrecht')
    rbot.ok('new company "Acme" city=Amsterdam')
    assert "admin" in rbot.fails("contacts-from customers", SALES_ACTOR)
    reply = rbot.reply("contacts-from customers city=amsterdam")
    assert reply.ok
    assert reply.text == (
        "Contacts from customers: 1 created, 0 skipped (linked already), 1 possible duplicates."
    )
    assert reply.notes and reply.notes[0].startswith("CT000002: possible duplicate of CT000001")
    assert links(rbot) == [("CT000002", "customer", "C00001")]
    assert rbot.ok("contacts-from customers").startswith(
        "Contacts from customers: 1 created, 1 skipped"
    )
    assert rbot.fails("contacts-from employees") == (
        "Usage: contacts-from customers|vendors|bank-accounts [field=value …]"
    )


def get_by_no_in(bot: ChatBot, no: str) -> object | None:
    with bot.app.store.transaction() as session:
        return get_by_no(session, no)
