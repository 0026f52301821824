"""The contact card: the name breakdown, phone and email checks, lookups by number and name,
and where a new contact's values come from (typed, the user, the company, the defaults)."""

from __future__ import annotations

import pytest

from bot.inputs import SALES, Actor
from storage.contacts import get_by_no
from storage.models import Contact
from tests.conftest import SAM_WITH_SALESPERSON, ChatBot, sqlite_only


def card(bot: ChatBot, no: str) -> Contact:
    with bot.app.store.transaction() as session:
        contact = get_by_no(session, no)
        assert contact is not None, no
        session.expunge(contact)
        return contact


def field_lines(text: str) -> dict[str, str]:
    """The `Label  value` lines of a rendered card."""
    lines = {}
    for line in text.splitlines():
        label, sep, value = line.partition("  ")
        if sep and label and not label.startswith(" "):
            lines[label] = value.strip()
    return lines


@pytest.mark.parametrize(
    ("name", "first", "middle", "surname"),
    [
        ("Jan de Vries", "Jan", "de", "Vries"),
        ("Anna Maria van Dijk", "Anna Maria", "van", "Dijk"),
        ("Jan Jansen", "Jan", "", "Jansen"),
        ("Cher", "", "", "Cher"),
    ],
)
@sqlite_only
def test_a_persons_name_is_broken_down_as_business_central_does(
    bot: ChatBot, name: str, first: str, middle: str, surname: str
) -> None:
    text = bot.ok(f'new person "{name}"')
    person = card(bot, "CT000001")
    assert (person.first_name, person.middle_name, person.surname) == (first, middle, surname)
    shown = field_lines(text)
    assert shown.get("Surname") == surname
    assert shown.get("Middle Name", "") == middle


def test_typed_name_parts_build_the_name_and_a_new_name_is_broken_down_again(
    bot: ChatBot,
) -> None:
    bot.ok("new person first_name=Piet middle_name=van surname=Dam")
    assert card(bot, "CT000001").name == "Piet van Dam"
    bot.ok('set CT000001 name="Klaas Jan Huntelaar"')
    person = card(bot, "CT000001")
    assert (person.first_name, person.middle_name, person.surname) == (
        "Klaas",
        "Jan",
        "Huntelaar",
    )


def test_a_company_keeps_its_name_whole(bot: ChatBot) -> None:
    bot.ok('new company "Acme Holding B.V."')
    company = card(bot, "CT000001")
    assert company.name == "Acme Holding B.V."
    assert (company.first_name, company.middle_name, company.surname) == ("", "", "")
    assert "applies to persons only" in bot.fails("set CT000001 surname=Holding")


def test_a_phone_is_stored_normalised_and_shown_as_entered(coded_bot: ChatBot) -> None:
    text = coded_bot.ok('new company "Acme" phone="+31 20 555 0100" mobile="+31 (6) 1234 5678"')
    assert field_lines(text)["Phone"] == "+31 20 555 0100"
    company = card(coded_bot, "CT000001")
    assert (company.phone, company.phone_e164) == ("+31 20 555 0100", "+31205550100")
    assert company.mobile_e164 == "+31612345678"
    # Without a prefix the number is read in the contact's country.
    coded_bot.ok('new company "Bakker" country=NL phone="020-555 0199"')
    bakker = card(coded_bot, "CT000002")
    assert (bakker.phone, bakker.phone_e164) == ("020-555 0199", "+31205550199")


def test_a_phone_without_prefix_is_read_in_the_country_taken_from_the_company(
    coded_bot: ChatBot,
) -> None:
    coded_bot.ok('new company "Acme" country=NL phone="020 555 0100"')
    coded_bot.ok('new person "Jan" company=CT000001 mobile="06 12345678"')
    jan = card(coded_bot, "CT000002")
    assert (jan.country, jan.mobile, jan.mobile_e164) == ("NL", "06 12345678", "+31612345678")
    coded_bot.ok('new person "Kees"')
    coded_bot.ok('set CT000003 company=CT000001 mobile="06 87654321"')
    assert card(coded_bot, "CT000003").mobile_e164 == "+31687654321"
    # A typed country still wins over the company's.
    coded_bot.ok('new person "Luc" company=CT000001 country=BE mobile="0470 12 34 56"')
    luc = card(coded_bot, "CT000004")
    assert (luc.country, luc.mobile_e164) == ("BE", "+32470123456")


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("phone=call-me", "phone: `call-me` has no digits"),
        ("email=jan@", "email: `jan@` is not an email address"),
        ("email=jan.acme.example", "email: `jan.acme.example` is not an email address"),
    ],
)
@sqlite_only
def test_a_bad_phone_or_email_names_the_field_and_why(bot: ChatBot, typed: str, why: str) -> None:
    refusal = bot.fails(f'new company "Acme" {typed}')
    assert why in refusal
    assert "like" in refusal  # says what to type instead
    bot.ok('new company "Acme"')
    assert why in bot.fails(f"set CT000001 {typed}")
    assert card(bot, "CT000001").phone == "" and card(bot, "CT000001").email == ""


def test_an_email_is_kept_as_typed_and_matched_normalised(bot: ChatBot) -> None:
    bot.ok('new person "Jan" email=Jan.de.Vries@ACME.Example')
    person = card(bot, "CT000001")
    assert person.email == "Jan.de.Vries@ACME.Example"
    assert person.email_normalized == "jan.de.vries@acme.example"


def test_a_number_that_does_not_exist_says_so(bot: ChatBot) -> None:
    assert bot.fails("show CT000042") == "No contact `CT000042`. Try `find CT000042` to search."
    assert "No contact `CT000042`" in bot.fails("set CT000042 city=Rotterdam")
    assert "No contact `Nobody`" in bot.fails("show Nobody")


def test_a_contact_is_found_by_number_in_any_case_or_by_its_exact_name(bot: ChatBot) -> None:
    bot.ok('new company "Acme Holding B.V."')
    assert "CT000001 Acme Holding B.V." in bot.ok("show ct000001")
    assert "CT000001 Acme Holding B.V." in bot.ok('show "acme holding b.v."')


def test_an_ambiguous_name_lists_the_candidates(bot: ChatBot) -> None:
    bot.ok('new company "Acme"')
    bot.ok('new company "Bakker"')
    bot.ok('new person "Jan Jansen" company=Acme')
    bot.ok('new person "Jan Jansen" company=Bakker')
    refusal = bot.fails('show "Jan Jansen"')
    assert refusal == (
        "`Jan Jansen` names several contacts: CT000003 (Acme), CT000004 (Bakker). Use the number."
    )
    assert "Jansen" in bot.ok("show CT000004")


def test_a_companys_persons_are_listed_on_its_card(bot: ChatBot) -> None:
    bot.ok('new company "Acme"')
    bot.ok('new person "Jan de Vries" company=CT000001 job_title=Buyer')
    text = bot.ok("show CT000001")
    assert "Persons:\n  CT000002 Jan de Vries Buyer" in text
    assert "Company      CT000001 Acme" in bot.ok("show CT000002")
    bot.ok('new person "Freelance Fred"')
    assert "(independent)" in bot.ok("show CT000003")


# --- where a new contact's values come from ---------------------------------------------


DEFAULTS = (
    "setup default_salesperson=ADA default_territory=NORTH default_country=NL default_language=NL"
)


def test_defaults_fill_a_new_contact(coded_bot: ChatBot) -> None:
    coded_bot.ok(DEFAULTS)
    coded_bot.ok('new company "Acme"')
    acme = card(coded_bot, "CT000001")
    assert (acme.salesperson, acme.territory, acme.country, acme.language) == (
        "ADA",
        "NORTH",
        "NL",
        "NL",
    )
    # What is typed wins over a default.
    coded_bot.ok('new company "Bruxelles SA" country=BE territory=south salesperson=bob')
    brux = card(coded_bot, "CT000002")
    assert (brux.salesperson, brux.territory, brux.country, brux.language) == (
        "BOB",
        "SOUTH",
        "BE",
        "NL",
    )


def test_a_typed_blank_is_not_overwritten_by_a_default(coded_bot: ChatBot) -> None:
    coded_bot.ok(DEFAULTS)
    coded_bot.ok('new company "Acme" territory=')
    assert card(coded_bot, "CT000001").territory is None


def test_the_creating_users_salesperson_wins_over_the_default(coded_bot: ChatBot) -> None:
    coded_bot.ok(DEFAULTS)
    coded_bot.ok('new company "Acme"', SAM_WITH_SALESPERSON)
    assert card(coded_bot, "CT000001").salesperson == "SAM"
    assert "salesperson SAM" in coded_bot.ok("show CT000001")
    # A user whose salesperson code is not (or no longer) in the table gets the default.
    ghost = Actor(user_id="U_GHOST", roles=frozenset({SALES}), salesperson_code="GHOST")
    coded_bot.ok('new company "Bakker"', ghost)
    assert card(coded_bot, "CT000002").salesperson == "ADA"


def test_what_a_person_inherits_from_its_company_wins_over_the_defaults(
    coded_bot: ChatBot,
) -> None:
    coded_bot.ok('new company "Bruxelles SA" country=BE territory=SOUTH salesperson=BOB')
    coded_bot.ok(DEFAULTS)
    coded_bot.ok('new person "Luc Peeters" company=CT000001')
    luc = card(coded_bot, "CT000002")
    assert (luc.salesperson, luc.territory, luc.country, luc.language) == (
        "BOB",
        "SOUTH",
        "BE",
        "NL",  # the company has no language: the default fills it
    )
    # With inheritance of the country off, the default applies again.
    coded_bot.ok("setup inherit_country=no")
    coded_bot.ok('new person "Els Maes" company=CT000001')
    assert card(coded_bot, "CT000003").country == "NL"


def test_a_code_field_must_exist_in_its_table(coded_bot: ChatBot) -> None:
    refusal = coded_bot.fails('new company "Acme" territory=WEST')
    assert refusal.startswith("territory: territory `WEST` does not exist.")
    assert "codes territories add WEST" in refusal
    assert "CT000001" in coded_bot.ok('new company "Acme" territory=north')
    assert card(coded_bot, "CT000001").territory == "NORTH"


def test_a_name_cannot_be_cleared(bot: ChatBot) -> None:
    bot.ok('new company "Acme"')
    bot.ok('new person "Jan de Vries"')
    assert bot.fails("set CT000001 name=") == (
        "CT000001 needs a name; it cannot be blank. "
        'Type a new one instead: `set CT000001 name="…"`.'
    )
    assert "CT000002 needs a name" in bot.fails('set CT000002 name=" "')
    assert "CT000002 needs a name" in bot.fails("set CT000002 first_name= middle_name= surname=")
    assert card(bot, "CT000001").name == "Acme"
    assert card(bot, "CT000002").name == "Jan de Vries"


def test_a_too_long_value_is_refused_with_the_limit(bot: ChatBot) -> None:
    refusal = bot.fails(f'new company "Acme" city={"x" * 200}')
    assert refusal.startswith("city: 200 characters is too long; the most is")


def test_a_contact_needs_a_name(bot: ChatBot) -> None:
    assert "A company needs a name" in bot.fails("new company city=Amsterdam")
    assert "`robot` is not company or person" in bot.fails('new robot "R2"')
    assert "company applies to persons only" in bot.fails('new company "A" company=B')


def test_salutation_defaults_differ_for_companies_and_persons(coded_bot: ChatBot) -> None:
    coded_bot.ok("codes salutations add COMPANY")
    coded_bot.ok("codes salutations add NEUTRAL")
    coded_bot.ok("setup default_company_salutation=COMPANY default_person_salutation=NEUTRAL")
    coded_bot.ok('new company "Acme"')
    coded_bot.ok('new person "Jan" company=CT000001')
    assert card(coded_bot, "CT000001").salutation == "COMPANY"
    assert card(coded_bot, "CT000002").salutation == "NEUTRAL"


def test_created_and_modified_times(bot: ChatBot) -> None:
    bot.ok('new company "Acme"')
    created = card(bot, "CT000001")
    assert created.created_at == created.modified_at
    assert "nothing changed" in bot.ok('set CT000001 name="Acme"')
    assert card(bot, "CT000001").modified_at == created.modified_at
    bot.ok("set CT000001 city=Rotterdam")
    changed = card(bot, "CT000001")
    assert changed.created_at == created.created_at
    assert changed.modified_at > created.modified_at
    assert f"changed {changed.modified_at:%Y-%m-%d %H:%M} UTC" in bot.ok("show CT000001")


def test_the_cards_buttons_name_commands_that_run(bot: ChatBot) -> None:
    bot.ok('new person "Jan de Vries"')
    (shown,) = bot.reply("show CT000001").cards
    commands = {button.label: button.command for button in shown.actions}
    assert commands == {
        "Edit": "set CT000001",
        "Salutation": "salutation CT000001 formal",
        "Delete": "delete CT000001",
    }
    for command in commands.values():
        assert command.split()[0] in bot.app.registry.commands
    assert bot.reply(commands["Delete"]).confirm is not None
    assert bot.ok(commands["Delete"] + " --yes") == "Deleted CT000001."
