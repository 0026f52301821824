"""Code tables (`codes`), salutation formulas, the relationship setup (`setup`) seeded from
config, and the number series it controls."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.registry import build_registry
from bot.runtime import build_app
from storage.contacts import create_contact, get_by_no
from storage.errors import UserError
from storage.models import ContactType
from tests.conftest import SALES_ACTOR, ChatBot

#: The issue's code tables, each with one of its fields.
TABLES = [
    ("salespeople", "name"),
    ("territories", "name"),
    ("countries", "name"),
    ("languages", "name"),
    ("jobs", "description"),
    ("industries", "description"),
    ("levels", "description"),
    ("mailing", "description"),
    ("salutations", "description"),
]


@pytest.mark.parametrize(("table", "field"), TABLES)
def test_each_code_table_can_be_listed_added_changed_and_emptied(
    bot: ChatBot, table: str, field: str
) -> None:
    seeded = table in ("countries", "languages")  # every ISO code is there from the start
    assert bot.ok(f"codes {table} list").startswith(f"No {table} yet.") is not seeded
    assert bot.ok(f'codes {table} add x1 {field}="First one"').endswith(" X1.")
    listing = bot.reply(f"codes {table}")
    assert listing.table is not None
    assert [row[:2] for row in listing.table.rows if row[0] == "X1"] == [("X1", "First one")]
    assert bot.ok(f'codes {table} set X1 {field}="Better one"').endswith(f": {field}.")
    assert "Better one" in bot.ok(f"codes {table} list", SALES_ACTOR)
    assert "exists already" in bot.fails(f"codes {table} add X1")
    assert bot.ok(f"codes {table} remove x1").endswith(" X1.")
    assert "does not exist" in bot.fails(f"codes {table} remove X1")
    assert bot.ok(f"codes {table}").startswith(f"No {table} yet.") is not seeded


@pytest.mark.parametrize("action", ["add NORTH", "set NORTH name=N", "remove NORTH"])
def test_code_changes_are_for_admins_only(bot: ChatBot, action: str) -> None:
    bot.ok("codes territories add NORTH name=North")
    refusal = bot.fails(f"codes territories {action}", SALES_ACTOR)
    assert refusal.startswith(f"`codes … {action.split()[0]}` needs the admin role")
    listing = bot.reply("codes territories list", SALES_ACTOR)
    assert listing.table is not None and listing.table.rows == (("NORTH", "North"),)


def test_a_code_in_use_cannot_be_removed(bot: ChatBot) -> None:
    bot.ok("codes territories add NORTH")
    bot.ok("codes salespeople add ADA")
    bot.ok('new company "Acme" territory=NORTH')
    bot.ok("setup default_salesperson=ADA")
    assert "Territory NORTH is still used" in bot.fails("codes territories remove NORTH")
    refusal = bot.fails("codes salespeople remove ADA")
    assert refusal.startswith("Salesperson ADA is the setup's default_salesperson; change that")
    assert "`setup default_salesperson=…`" in refusal
    assert "NORTH" in bot.ok("codes territories list")
    bot.ok("set CT000001 territory=")
    bot.ok("codes territories remove NORTH")
    bot.ok("setup default_salesperson=")
    bot.ok("codes salespeople remove ADA")
    assert "CT000002" in bot.ok('new company "Bakker"')


def test_a_salutation_used_by_both_defaults_names_both(bot: ChatBot) -> None:
    bot.ok("codes salutations add NEUTRAL")
    bot.ok("setup default_company_salutation=NEUTRAL default_person_salutation=neutral")
    refusal = bot.fails("codes salutations remove NEUTRAL")
    assert "default_company_salutation, default_person_salutation" in refusal
    assert "NEUTRAL" in bot.ok("codes salutations list")


def test_codes_refuses_what_it_does_not_know(bot: ChatBot) -> None:
    refusal = bot.fails("codes planets list")
    assert refusal.startswith("Unknown code table `planets`. Tables: salespeople, territories")
    assert "Unknown action `purge`" in bot.fails("codes territories purge")
    assert "Unknown field `colour` for territories. Fields: name." in bot.fails(
        "codes territories add NORTH colour=blue"
    )
    assert "up to 20 characters" in bot.fails(f"codes territories add {'X' * 21}")
    assert "Code tables: salespeople" in bot.ok("codes")


def test_a_salesperson_has_name_email_and_slack_user_id(bot: ChatBot) -> None:
    bot.ok(
        'codes salesperson add ADA name="Ada Lovelace" email=ada@example.com slack_user_id=U0ADA'
    )
    listing = bot.reply("codes salespeople")
    assert listing.table is not None
    assert listing.table.columns == ("code", "name", "email", "slack_user_id")
    assert listing.table.rows == (("ADA", "Ada Lovelace", "ada@example.com", "U0ADA"),)
    assert "email: `ada@` is not an email address" in bot.fails(
        "codes salespeople add BOB email=ada@"
    )
    assert "email: `ada.example.com` is not an email address" in bot.fails(
        "codes salespeople set ADA email=ada.example.com"
    )
    assert "ada@example.com" in bot.ok("codes salespeople")


# --- salutation formulas ----------------------------------------------------------------


def test_salutation_formulas_are_kept_per_code_language_and_type(bot: ChatBot) -> None:
    bot.ok("codes salutations add M description=Male")  # language NL is seeded (ISO 639-1)
    assert (
        bot.ok('salutation formula M formal text="Dear Mr. %1 %2" 1=middle_name 2=surname')
        == "Saved the formal formula of M for any language."
    )
    assert (
        bot.ok(
            'salutation formula M formal language=nl text="Geachte heer %1 %2" '
            "1=middle_name 2=surname"
        )
        == "Saved the formal formula of M for NL."
    )
    bot.ok('new person "Jan de Vries" salutation=M')
    assert bot.ok("salutation CT000001") == "Dear Mr. de Vries"
    bot.ok("set CT000001 language=NL")
    assert bot.ok("salutation CT000001 formal") == "Geachte heer de Vries"
    # Saving again replaces the formula.
    bot.ok('salutation formula M formal language=NL text="Beste heer %1" 1=surname')
    assert bot.ok("salutation CT000001") == "Beste heer Vries"


def test_a_bad_formula_is_refused_with_the_reason(bot: ChatBot) -> None:
    bot.ok("codes salutations add M")
    assert "salutation `X` does not exist" in bot.fails(
        'salutation formula X formal text="Dear %1" 1=surname'
    )
    assert "language: language `ZZ` does not exist" in bot.fails(  # FR is seeded; ZZ is no ISO code
        'salutation formula M formal language=ZZ text="Cher %1" 1=surname'
    )
    assert "`shoe_size` is not a name part" in bot.fails(
        'salutation formula M formal text="Dear %1" 1=shoe_size'
    )
    assert "`7=` is not a placeholder" in bot.fails(
        'salutation formula M formal text="Dear %1" 7=surname'
    )
    assert "`polite` is not formal or informal" in bot.fails(
        'salutation formula M polite text="Dear %1" 1=surname'
    )
    assert 'A formula needs text="…"' in bot.fails("salutation formula M formal 1=surname")


# --- setup ------------------------------------------------------------------------------


def test_setup_shows_every_key_to_admins_only(bot: ChatBot) -> None:
    reply = bot.reply("setup")
    assert reply.ok and reply.table is not None
    shown = dict(reply.table.rows)
    assert shown["number_prefix"] == "CT" and shown["number_width"] == "6"
    assert shown["number_start"] == "1" and shown["default_country"] == "(blank)"
    assert shown["inherit_address"] == "yes"
    assert shown["customer_relation"] == "CUST" and shown["auto_contact"] == "yes"
    assert len(shown) == 20  # 15 of the contact card, 5 of business relations
    assert "needs the admin role" in bot.fails("setup", SALES_ACTOR)
    assert "needs the admin role" in bot.fails("setup default_country=", SALES_ACTOR)


def test_setup_changes_are_checked_and_all_or_nothing(coded_bot: ChatBot) -> None:
    bot = coded_bot
    assert bot.ok("setup default_country=nl inherit_address=no") == (
        "Changed: default_country=NL, inherit_address=no."
    )
    assert "nothing changed" in bot.ok("setup default_country=NL")
    assert "default_territory: territory `WEST` does not exist" in bot.fails(
        "setup default_language=EN default_territory=WEST"
    )
    assert "number_width: 99 is out of range; use 1 to 12." in bot.fails(
        "setup default_language=EN number_width=99"
    )
    assert "inherit_country: `maybe` is not yes or no" in bot.fails(
        "setup default_language=EN inherit_country=maybe"
    )
    assert "number_start: `ten` is not a whole number" in bot.fails("setup number_start=ten")
    assert "number_prefix: use up to 10 characters" in bot.fails("setup number_prefix=ABCDEFGHIJK")
    refusal = bot.fails("setup default_colour=red")
    assert refusal.startswith("Unknown setup key `default_colour`. Keys: default_salesperson")
    assert "Type settings as key=value" in bot.fails("setup default_country NL")
    shown = dict(bot.reply("setup").table.rows)  # type: ignore[union-attr]
    assert shown["default_language"] == "(blank)"  # no refused change stayed
    assert (shown["default_country"], shown["inherit_address"]) == ("NL", "no")


def test_the_setup_is_seeded_from_config_once(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'data' / 'new.db'}",
        setup={"default_country": "NL", "number_prefix": "KT", "inherit_address": False},
        codes={"countries": {"nl": {"name": "Netherlands"}}, "territories": {"N": {}}},
    )
    app = build_app(settings, build_registry())
    chat = ChatBot(app)
    try:
        shown = dict(chat.reply("setup").table.rows)  # type: ignore[union-attr]
        assert (shown["default_country"], shown["number_prefix"]) == ("NL", "KT")
        assert shown["inherit_address"] == "no"
        assert "Netherlands" in chat.ok("codes countries")
        assert "KT000001" in chat.ok('new company "Acme"')
        chat.ok("setup default_country= number_prefix=CT")
    finally:
        app.close()
    # The database's own edits survive the next start with the same config.
    app = build_app(settings, build_registry())
    try:
        shown = dict(ChatBot(app).reply("setup").table.rows)  # type: ignore[union-attr]
        assert (shown["default_country"], shown["number_prefix"]) == ("(blank)", "CT")
    finally:
        app.close()


# --- number series ----------------------------------------------------------------------


def test_prefix_width_and_start_come_from_the_setup(bot: ChatBot) -> None:
    bot.ok("setup number_prefix=K number_width=4 number_start=100")
    assert bot.ok('new company "Acme"').startswith("Created company K0100: Acme")
    assert bot.ok('new person "Jan"').startswith("Created person K0101: Jan")
    bot.ok("setup number_prefix=CT number_width=6 number_start=1")
    assert bot.ok('new person "Piet"').startswith("Created person CT000102")


def test_any_prefix_gives_numbers_that_can_be_looked_up(bot: ChatBot) -> None:
    assert bot.ok("setup number_prefix=k") == "Changed: number_prefix=K."
    bot.ok('new company "Acme"')
    assert "K000001 Acme" in bot.ok("show k000001")
    bot.ok("setup number_prefix=CT- number_width=4")
    assert bot.ok('new company "Bakker"').startswith("Created company CT-0002: Bakker")
    assert "CT-0002 Bakker" in bot.ok("show ct-0002")
    bot.ok('new company "3M"')  # a name that looks a bit like a number
    assert "CT-0003 3M" in bot.ok("show 3M")


def test_the_next_number_skips_numbers_taken_already(bot: ChatBot) -> None:
    with bot.app.store.transaction() as session:
        create_contact(session, ContactType.COMPANY, "Typed", no="CT000002")
        create_contact(session, ContactType.COMPANY, "Imported", no="ct000003")
    assert "CT000001" in bot.ok('new company "First"')
    assert "CT000004" in bot.ok('new company "Fourth"')
    with bot.app.store.transaction() as session:
        assert get_by_no(session, "CT000003").name == "Imported"  # type: ignore[union-attr]
        with pytest.raises(UserError, match="The number CT000004 is taken already"):
            create_contact(session, ContactType.COMPANY, "Again", no="CT000004")


def test_a_series_that_outgrows_the_number_field_is_refused(bot: ChatBot) -> None:
    bot.ok("setup number_prefix=ABCDEFGHIJ number_width=12")
    refusal = bot.fails('new company "Acme"')
    assert "has run past 20 characters at ABCDEFGHIJ000000000001" in refusal
    assert "number_prefix" in refusal
