"""Alternate addresses (the one in force today shows on the card), the groups a contact can be
assigned by kind, and the salutation built from a formula."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.conftest import ChatBot

TODAY = dt.date.today()
LAST_YEAR = TODAY - dt.timedelta(days=365)
YESTERDAY = TODAY - dt.timedelta(days=1)
TOMORROW = TODAY + dt.timedelta(days=1)


@pytest.fixture
def acme(coded_bot: ChatBot) -> ChatBot:
    coded_bot.ok('new company "Acme" address="Keizersgracht 1" city=Amsterdam country=NL')
    return coded_bot


def test_an_alternate_address_in_force_today_shows_on_the_card(acme: ChatBot) -> None:
    reply = acme.ok(
        'address CT000001 add branch address="Coolsingel 2" post_code="3011 AD" '
        'city=Rotterdam phone="010 555 0100" email=rotterdam@acme.example '
        f"from={YESTERDAY} to={TOMORROW}"
    )
    assert reply == "Added alternate address BRANCH to CT000001."
    card = acme.ok("show CT000001")
    assert (
        "Alternate address in force (BRANCH):\n"
        "  Coolsingel 2, 3011 AD, Rotterdam\n"
        "  010 555 0100, rotterdam@acme.example"
    ) in card
    assert re.search(r"^City +Amsterdam$", card, re.M)  # the card's own address stays


def test_an_address_out_of_its_date_range_is_listed_but_not_shown(acme: ChatBot) -> None:
    acme.ok(f'address CT000001 add OLD city=Utrecht from={LAST_YEAR} to="{YESTERDAY}"')
    acme.ok(f"address CT000001 add NEXT city=Delft from={TOMORROW}")
    assert "Alternate address" not in acme.ok("show CT000001")
    listing = acme.reply("address CT000001 list")
    assert listing.table is not None
    assert sorted(listing.table.rows) == [
        ("NEXT", "Delft", str(TOMORROW), "", ""),
        ("OLD", "Utrecht", str(LAST_YEAR), str(YESTERDAY), ""),
    ]
    acme.ok("address CT000001 add ALWAYS city=Leiden")
    assert "Alternate address in force (ALWAYS):\n  Leiden" in acme.ok("show CT000001")
    rows = {row[0]: row for row in acme.reply("address CT000001").table.rows}  # type: ignore[union-attr]
    assert rows["ALWAYS"][4] == "yes" and rows["OLD"][4] == rows["NEXT"][4] == ""


def test_an_alternate_address_can_be_removed(acme: ChatBot) -> None:
    acme.ok("address CT000001 add BRANCH city=Rotterdam")
    assert "has an alternate address BRANCH already" in acme.fails(
        "address CT000001 add branch city=Delft"
    )
    assert acme.ok("address CT000001 remove branch") == (
        "Removed alternate address BRANCH from CT000001."
    )
    assert acme.ok("address CT000001") == "CT000001 has no alternate addresses."
    assert "has no alternate address BRANCH (it has: none)" in acme.fails(
        "address CT000001 remove BRANCH"
    )


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("from=tomorrow", "from: `tomorrow` is not a date. Type it as 2026-12-31."),
        ("from=2026-05-01 to=2026-04-01", "to: the end date is before the start date."),
        ("colour=red", "Unknown address field `colour`. Fields: company_name, address"),
        ("country=XX", "country: country/region `XX` does not exist"),
        ("phone=abc", "phone: `abc` has no digits"),
        ("email=nope@", "email: `nope@` is not an email address"),
    ],
)
def test_a_bad_alternate_address_is_refused_with_the_reason(
    acme: ChatBot, typed: str, why: str
) -> None:
    assert why in acme.fails(f"address CT000001 add BRANCH city=Rotterdam {typed}")
    assert acme.ok("address CT000001") == "CT000001 has no alternate addresses."


def test_address_needs_a_code_and_a_known_action(acme: ChatBot) -> None:
    assert "Missing the address code" in acme.fails("address CT000001 add")
    assert "Unknown action `move`" in acme.fails("address CT000001 move BRANCH")


# --- assignments ------------------------------------------------------------------------


@pytest.fixture
def groups(coded_bot: ChatBot) -> ChatBot:
    for line in (
        'codes jobs add PURCH description="Purchasing"',
        "codes jobs add IT",
        'codes industries add RETAIL description="Retail"',
        'codes mailing add NEWS description="Newsletter"',
        'codes levels add BOARD description="Board"',
        "codes levels add STAFF",
        'new company "Acme"',
        'new person "Jan de Vries" company=CT000001',
    ):
        coded_bot.ok(line)
    return coded_bot


def test_each_group_goes_on_its_kind_of_contact(groups: ChatBot) -> None:
    assert groups.ok("assign CT000002 job=purch mailing=news level=board") == (
        "CT000002 Jan de Vries now has job PURCH, mailing NEWS, level BOARD."
    )
    assert groups.ok("assign CT000001 industry=RETAIL mailing=NEWS") == (
        "CT000001 Acme now has industry RETAIL, mailing NEWS."
    )
    person = groups.ok("show CT000002")
    assert "Job responsibilities:\n  PURCH Purchasing" in person
    assert "Mailing groups:\n  NEWS Newsletter" in person
    assert "Organizational Level  BOARD" in person
    company = groups.ok("show CT000001")
    assert "Industry groups:\n  RETAIL Retail" in company
    # A level is one value: assigning another replaces it.
    groups.ok("assign CT000002 level=STAFF")
    assert "Organizational Level  STAFF" in groups.ok("show CT000002")


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("assign CT000001 job=PURCH", "job applies to persons only; CT000001 Acme is a company."),
        ("assign CT000001 level=BOARD", "level applies to persons only;"),
        (
            "assign CT000002 industry=RETAIL",
            "industry applies to companies only; CT000002 Jan de Vries is a person.",
        ),
    ],
)
def test_the_wrong_kind_of_contact_gets_a_clear_refusal(
    groups: ChatBot, line: str, why: str
) -> None:
    assert why in groups.fails(line)


def test_assigning_twice_or_an_unknown_code_or_group_is_refused(groups: ChatBot) -> None:
    groups.ok("assign CT000002 job=PURCH")
    assert "CT000002 has job PURCH already." in groups.fails("assign CT000002 job=PURCH")
    assert "job: job responsibility `CHEF` does not exist" in groups.fails(
        "assign CT000002 job=CHEF"
    )
    assert "Unknown group `hobby`. Use one of: job, industry, mailing, level." in groups.fails(
        "assign CT000002 hobby=golf"
    )
    assert "Say what to assign as group=code" in groups.fails("assign CT000002")


def test_unassign_removes_only_what_is_there(groups: ChatBot) -> None:
    groups.ok("assign CT000002 job=PURCH")
    groups.ok("assign CT000002 level=BOARD mailing=NEWS")
    assert groups.ok("unassign CT000002 job=purch level=BOARD") == (
        "Removed from CT000002 Jan de Vries: job PURCH, level BOARD."
    )
    card = groups.ok("show CT000002")
    assert "Job responsibilities" not in card and "Organizational Level" not in card
    assert "Mailing groups" in card
    assert "CT000002 has no job PURCH." in groups.fails("unassign CT000002 job=PURCH")
    assert "CT000002 has no organizational level" in groups.fails("unassign CT000002 level=BOARD")


def test_a_code_assigned_to_a_contact_cannot_be_removed_from_its_table(groups: ChatBot) -> None:
    groups.ok("assign CT000002 job=PURCH")
    assert "still used" in groups.fails("codes jobs remove PURCH")
    groups.ok("unassign CT000002 job=PURCH")
    groups.ok("codes jobs remove PURCH")


# --- salutations ------------------------------------------------------------------------


FORMULAS = (
    "codes salutations add M description=Male",
    "codes salutations add COMPANY",
    'salutation formula M formal text="Dear Mr. %1 %2" 1=middle_name 2=surname',
    'salutation formula M informal text="Dear %1" 1=first_name',
    'salutation formula M formal language=NL text="Geachte heer %1 %2" 1=middle_name 2=surname',
    'salutation formula M informal language=NL text="Beste %1" 1=first_name',
    'salutation formula M formal language=EN text="Dear Mr. %1 (%2)" 1=surname 2=initials',
    'salutation formula COMPANY formal text="Dear colleagues at %1" 1=company_name',
    "setup default_person_salutation=M default_company_salutation=COMPANY",
)


@pytest.fixture
def greeter(coded_bot: ChatBot) -> ChatBot:
    for line in FORMULAS:
        coded_bot.ok(line)
    coded_bot.ok('new company "Acme Holding B.V."')
    coded_bot.ok('new person "Jan de Vries" company=CT000001')
    return coded_bot


def test_salutation_formal_and_informal(greeter: ChatBot) -> None:
    assert greeter.ok("salutation CT000002 formal") == "Dear Mr. de Vries"
    assert greeter.ok("salutation CT000002") == "Dear Mr. de Vries"
    assert greeter.ok("salutation CT000002 informal") == "Dear Jan"
    assert greeter.ok("salutation CT000001") == "Dear colleagues at Acme Holding B.V."
    greeter.ok('new person "Piet Jansen"')  # no middle name: no double space
    assert greeter.ok("salutation CT000003") == "Dear Mr. Jansen"
    assert "`polite` is not formal or informal" in greeter.fails("salutation CT000002 polite")


def test_salutation_follows_the_contacts_language(greeter: ChatBot) -> None:
    greeter.ok("set CT000002 language=NL")
    assert greeter.ok("salutation CT000002 formal") == "Geachte heer de Vries"
    assert greeter.ok("salutation CT000002 informal") == "Beste Jan"
    greeter.ok("set CT000002 language=EN")
    assert greeter.ok("salutation CT000002 formal") == "Dear Mr. Vries (J.D.)"
    # No English informal formula: the formula for any language is used.
    assert greeter.ok("salutation CT000002 informal") == "Dear Jan"


def test_a_missing_formula_names_the_code_and_language(greeter: ChatBot) -> None:
    greeter.ok("set CT000001 language=NL")
    refusal = greeter.fails("salutation CT000001 informal")
    assert refusal.startswith("There is no informal formula for salutation COMPANY in language NL.")
    assert "salutation formula COMPANY informal language=NL" in refusal


def test_a_contact_without_salutation_code_is_told_how_to_set_one(coded_bot: ChatBot) -> None:
    coded_bot.ok('new person "Jan de Vries"')
    refusal = coded_bot.fails("salutation CT000001")
    assert refusal.startswith("CT000001 has no salutation code. Set one: `set CT000001 salutation=")
