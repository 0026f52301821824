"""Inheritance from a company to its persons: each switch of the setup on and off, copying
when a person gets a company, pushing a company's change down, and the address block."""

from __future__ import annotations

import pytest

from storage.contacts import get_by_no
from storage.models import Contact
from tests.conftest import ChatBot

#: switch -> {field: (the company's first value, its changed value)}
GROUPS: dict[str, dict[str, tuple[str, str]]] = {
    "inherit_salesperson": {"salesperson": ("ADA", "BOB")},
    "inherit_territory": {"territory": ("NORTH", "SOUTH")},
    "inherit_country": {"country": ("NL", "BE")},
    "inherit_language": {"language": ("NL", "EN")},
    "inherit_address": {
        "address": ("Keizersgracht 1", "Coolsingel 2"),
        "address_2": ("3rd floor", "Ground floor"),
        "post_code": ("1015 CJ", "3011 AD"),
        "city": ("Amsterdam", "Rotterdam"),
        "county": ("Noord-Holland", "Zuid-Holland"),
    },
    "inherit_communication": {
        "phone": ("+31 20 555 0100", "+31 10 555 0100"),
        "home_page": ("https://acme.example", "https://acme.example/nl"),
    },
}


def contact(bot: ChatBot, no: str) -> Contact:
    with bot.app.store.transaction() as session:
        found = get_by_no(session, no)
        assert found is not None, no
        session.expunge(found)
        return found


def values(bot: ChatBot, no: str, fields: object) -> dict[str, str]:
    card = contact(bot, no)
    return {name: getattr(card, name) or "" for name in fields}  # type: ignore[attr-defined]


def assignments(fields: dict[str, str]) -> str:
    return " ".join(f'{name}="{value}"' for name, value in fields.items())


def first(group: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {name: pair[0] for name, pair in group.items()}


def second(group: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {name: pair[1] for name, pair in group.items()}


@pytest.mark.parametrize("switch", list(GROUPS))
def test_with_the_switch_on_a_person_takes_the_group_and_follows_changes(
    coded_bot: ChatBot, switch: str
) -> None:
    group = GROUPS[switch]
    coded_bot.ok(f"setup {switch}=yes")
    coded_bot.ok(f'new company "Acme" {assignments(first(group))}')
    coded_bot.ok('new person "Jan de Vries" company=CT000001')
    assert values(coded_bot, "CT000002", group) == first(group)

    reply = coded_bot.ok(f"set CT000001 {assignments(second(group))}")
    assert f"Persons updated too: CT000002 ({', '.join(group)})" in reply
    assert values(coded_bot, "CT000002", group) == second(group)
    if switch == "inherit_communication":
        assert contact(coded_bot, "CT000002").phone_e164 == "+31105550100"


@pytest.mark.parametrize("switch", list(GROUPS))
def test_with_the_switch_off_the_group_is_neither_copied_nor_pushed(
    coded_bot: ChatBot, switch: str
) -> None:
    group = GROUPS[switch]
    others = {s: g for s, g in GROUPS.items() if s != switch}
    coded_bot.ok(f"setup {switch}=no")
    every = {name: value for g in GROUPS.values() for name, value in first(g).items()}
    coded_bot.ok(f'new company "Acme" {assignments(every)}')
    coded_bot.ok('new person "Jan de Vries" company=CT000001')
    assert values(coded_bot, "CT000002", group) == dict.fromkeys(group, "")
    for other in others.values():  # the other switches still work
        assert values(coded_bot, "CT000002", other) == first(other)

    reply = coded_bot.ok(f"set CT000001 {assignments(second(group))}")
    assert "Persons updated" not in reply
    assert values(coded_bot, "CT000002", group) == dict.fromkeys(group, "")


def test_email_and_mobile_are_the_persons_own(bot: ChatBot) -> None:
    bot.ok('new company "Acme" email=info@acme.example mobile="+31 6 1234 5678"')
    bot.ok('new person "Jan" company=CT000001')
    jan = contact(bot, "CT000002")
    assert (jan.email, jan.mobile) == ("", "")


# --- a person gets a (new) company ------------------------------------------------------


@pytest.fixture
def two_companies(coded_bot: ChatBot) -> ChatBot:
    coded_bot.ok('new company "Acme" city=Amsterdam salesperson=ADA phone="+31 20 555 0100"')
    coded_bot.ok('new company "Bakker" city=Rotterdam salesperson=BOB phone="+31 10 555 0100"')
    return coded_bot


def test_moving_a_person_takes_what_still_equals_the_old_companys_values(
    two_companies: ChatBot,
) -> None:
    bot = two_companies
    bot.ok('new person "Jan de Vries" company=Acme')
    bot.ok("set CT000003 salesperson=SAM")  # his own salesperson from now on
    reply = bot.ok("set CT000003 company=Bakker")
    assert "company" in reply and "city" in reply and "phone" in reply
    jan = contact(bot, "CT000003")
    assert (jan.company_name, jan.city, jan.phone, jan.phone_e164, jan.salesperson) == (
        "Bakker",
        "Rotterdam",
        "+31 10 555 0100",
        "+31105550100",
        "SAM",
    )


def test_an_independent_person_takes_only_what_is_blank(two_companies: ChatBot) -> None:
    bot = two_companies
    bot.ok('new person "Fred Free" city=Utrecht')
    bot.ok("set CT000003 company=CT000002")
    fred = contact(bot, "CT000003")
    assert (fred.city, fred.phone, fred.salesperson) == ("Utrecht", "+31 10 555 0100", "BOB")


def test_what_is_typed_with_the_company_is_not_overwritten(two_companies: ChatBot) -> None:
    bot = two_companies
    bot.ok('new person "Jan" company=Acme salesperson=SAM')
    assert contact(bot, "CT000003").salesperson == "SAM"
    bot.ok("set CT000003 company=Bakker city=Delft")
    jan = contact(bot, "CT000003")
    assert (jan.city, jan.salesperson, jan.phone) == ("Delft", "SAM", "+31 10 555 0100")


def test_leaving_a_company_keeps_the_values_and_stops_the_push(two_companies: ChatBot) -> None:
    bot = two_companies
    bot.ok('new person "Jan" company=Acme')
    bot.ok("set CT000003 company=")
    assert "(independent)" in bot.ok("show CT000003")
    jan = contact(bot, "CT000003")
    assert (jan.company_id, jan.company_name, jan.city) == (None, "", "Amsterdam")
    assert "Persons updated" not in bot.ok("set CT000001 city=Haarlem")
    assert contact(bot, "CT000003").city == "Amsterdam"


def test_setting_the_same_company_again_changes_nothing(two_companies: ChatBot) -> None:
    bot = two_companies
    bot.ok('new person "Jan" company=Acme city=Utrecht')
    assert "nothing changed" in bot.ok("set CT000003 company=CT000001")
    assert contact(bot, "CT000003").city == "Utrecht"


# --- a company changes ------------------------------------------------------------------


def test_a_change_is_pushed_only_to_persons_still_equal(two_companies: ChatBot) -> None:
    bot = two_companies
    bot.ok('new person "Jan" company=Acme')
    bot.ok('new person "Piet" company=Acme')
    bot.ok('new person "Kees" company=Bakker')
    bot.ok("set CT000004 city=Utrecht")
    reply = bot.ok("set CT000001 city=Haarlem")
    assert reply.startswith("Changed CT000001: city. Persons updated too: CT000003 (city).")
    assert contact(bot, "CT000003").city == "Haarlem"
    assert contact(bot, "CT000004").city == "Utrecht"
    assert contact(bot, "CT000005").city == "Rotterdam"
    # Back to the old value: Piet's own Utrecht still stands.
    bot.ok("set CT000001 city=Amsterdam")
    assert contact(bot, "CT000004").city == "Utrecht"


def test_a_new_company_name_reaches_its_persons(two_companies: ChatBot) -> None:
    bot = two_companies
    bot.ok('new person "Jan" company=Acme')
    bot.ok('set CT000001 name="Acme Holding B.V."')
    assert contact(bot, "CT000003").company_name == "Acme Holding B.V."
    assert "CT000001 Acme Holding B.V." in bot.ok("show CT000003")


ADDRESS = 'address="Keizersgracht 1" post_code="1015 CJ" city=Amsterdam'


def test_the_address_block_is_pushed_only_when_all_of_it_matched(bot: ChatBot) -> None:
    bot.ok(f'new company "Acme" {ADDRESS}')
    bot.ok('new person "Jan" company=CT000001')
    bot.ok('new person "Piet" company=CT000001')
    bot.ok('set CT000003 post_code="1016 AA"')  # Piet changed one line of his address
    reply = bot.ok('set CT000001 address="Coolsingel 2" post_code="3011 AD" city=Rotterdam')
    assert "Persons updated too: CT000002 (address, post_code, city)." in reply
    jan, piet = contact(bot, "CT000002"), contact(bot, "CT000003")
    assert (jan.address, jan.post_code, jan.city) == ("Coolsingel 2", "3011 AD", "Rotterdam")
    assert (piet.address, piet.post_code, piet.city) == ("Keizersgracht 1", "1016 AA", "Amsterdam")


def test_the_address_block_is_copied_only_as_a_whole(bot: ChatBot) -> None:
    bot.ok(f'new company "Acme" {ADDRESS}')
    bot.ok('new person "Jan" company=CT000001 city=Utrecht')
    jan = contact(bot, "CT000002")
    assert (jan.address, jan.post_code, jan.city) == ("", "", "Utrecht")
    bot.ok('new person "Piet" city=Delft')
    bot.ok("set CT000003 company=CT000001")
    piet = contact(bot, "CT000003")
    assert (piet.address, piet.post_code, piet.city) == ("", "", "Delft")
