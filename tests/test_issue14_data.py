"""Issue 14, real data in the model: phones as typed, every country and language, a fold that
keeps every letter, apostrophes as letters, the config's setup on a new database only, and
exports for the programs people open them in.

Driven through the dispatcher (`bot`, a fresh migrated database on SQLite and PostgreSQL, with
nothing set up) as a person types it, and through the `contactbot` CLI where a file is made.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import vobject
from sqlalchemy import inspect, select

from bot.cli import main
from bot.config import Settings
from bot.registry import build_registry
from bot.runtime import App, build_app, new_sqlite_file, prepare_schema
from storage.codes import iso_countries, iso_languages
from storage.contacts import create_contact
from storage.database import Store
from storage.duplicates.normalize import fold as key_fold
from storage.duplicates.normalize import name_tokens
from storage.errors import UserError
from storage.export import export_contacts
from storage.models import Contact, ContactType, CountryRegion, Language
from storage.normalize import fold
from tests.conftest import ChatBot

KEPT = "kept as typed: no country to read it with"


def vcards(bot: ChatBot, version: str = "4.0") -> str:
    out = io.StringIO()
    export_contacts(bot.app.store, out, "vcard", vcard_version=version)
    return out.getvalue()


def contact(bot: ChatBot, no: str) -> Contact:
    with bot.app.store.session() as session:
        return session.scalars(select(Contact).where(Contact.no == no)).one()


# --- phones kept as typed -------------------------------------------------------------------


def test_a_local_phone_on_a_fresh_database_is_kept_as_typed_and_noted_once(bot: ChatBot) -> None:
    reply = bot.ok('new company "Acme Holding BV" phone="020-5550100" city=Amsterdam')
    assert reply.startswith("Created company CT000001: Acme Holding BV")
    assert reply.count(KEPT) == 1
    assert "020-5550100" in bot.ok("show CT000001")
    assert KEPT not in bot.ok("show CT000001")
    stored = contact(bot, "CT000001")
    assert (stored.phone, stored.phone_e164) == ("020-5550100", "")
    # matched on its digits: found by the number as typed, or by its digits
    for query in ("020-5550100", "0205550100", "555 0100"):
        assert "CT000001" in bot.ok(f"find {query}"), query
    # phone and mobile both kept: one note for both
    reply = bot.ok('new person "Jan Smit" phone="020-5550101" mobile="06-12345678"')
    assert reply.count("kept as typed") == 1 and "Phone and mobile kept as typed" in reply
    # the export writes the number as typed, not a guessed one
    assert "TEL;VALUE=text;TYPE=work:020-5550100" in vcards(bot)


def test_a_number_is_read_in_the_contacts_country_and_read_again_when_it_changes(
    bot: ChatBot,
) -> None:
    bot.ok("setup default_country=NL")
    # an Oslo number typed without +: not a valid Dutch number, so not read as one
    reply = bot.ok('new company "Fjord AS" phone="22 12 34 56" city=Oslo')
    assert "kept as typed: not a valid number in NL" in reply
    assert contact(bot, "CT000001").phone_e164 == ""
    assert "tel:+31" not in vcards(bot)
    bot.ok("set CT000001 country=NO")
    stored = contact(bot, "CT000001")
    assert (stored.phone, stored.phone_e164) == ("22 12 34 56", "+4722123456")
    assert "TEL;VALUE=uri;TYPE=work:tel:+4722123456" in vcards(bot)
    assert "TEL;TYPE=WORK,VOICE:+4722123456" in vcards(bot, "3.0")
    assert "CT000001" in bot.ok("find +47 22 12 34 56")
    # a number typed with + does not depend on the country
    bot.ok('set CT000001 phone="+31 20 555 0100"')
    bot.ok("set CT000001 country=DE")
    assert contact(bot, "CT000001").phone_e164 == "+31205550100"


def test_a_country_inherited_from_the_company_reads_the_persons_phones_again(
    bot: ChatBot,
) -> None:
    bot.ok('new company "Nordic" city=Oslo')
    bot.ok('new person "Kari Nordmann" company=CT000001 mobile="412 34 567"')
    assert contact(bot, "CT000002").mobile_e164 == ""
    reply = bot.ok("set CT000001 country=NO")
    assert "CT000002 (country)" in reply
    assert contact(bot, "CT000002").mobile_e164 == "+4741234567"
    # joining a company in another country reads it again there
    bot.ok('new company "Dansk" country=DK')
    bot.ok('new person "Mette Hansen" mobile="20 12 34 56"')
    assert contact(bot, "CT000004").mobile_e164 == ""
    bot.ok("set CT000004 company=CT000003")
    assert contact(bot, "CT000004").mobile_e164 == "+4520123456"


def test_a_phone_without_digits_is_still_refused_and_nothing_is_written(bot: ChatBot) -> None:
    assert bot.fails('new company "Acme" phone=call-me') == (
        "phone: `call-me` has no digits. Type a number like +31 20 555 0100."
    )
    assert "No contact" in bot.send("find Acme")


def test_two_contacts_with_the_same_local_number_are_matched_on_its_digits(
    bot: ChatBot,
) -> None:
    bot.ok('new company "Kiwi Traders" phone="555-0188" city=Springfield')
    reply = bot.reply('new company "Kiwi Trading Co" phone="555 0188" city=Springfield')
    assert any("possible duplicate of CT000001" in note for note in reply.notes)
    assert "phone same" in " ".join(reply.notes)


# --- countries and languages -----------------------------------------------------------------


def test_every_country_and_language_is_there_on_a_fresh_database(bot: ChatBot) -> None:
    for code in ("NO", "DE", "DK", "US", "JP"):
        assert bot.ok(f'new company "Firm {code}" country={code}').startswith("Created")
    assert bot.ok("setup default_country=US") == "Changed: default_country=US."
    assert bot.ok("setup default_language=DE") == "Changed: default_language=DE."
    with bot.app.store.session() as session:
        countries = {c.code: c.name for c in session.scalars(select(CountryRegion))}
        languages = {lang.code: lang.name for lang in session.scalars(select(Language))}
    assert countries == iso_countries() and len(countries) >= 249
    assert countries["NO"] == "Norway" and countries["DE"] == "Germany"
    assert languages == iso_languages() and languages["NL"] == "Dutch"
    assert "ZZ" not in countries
    # still editable, as in Business Central
    bot.ok("codes countries set NL name=Nederland")
    bot.ok('codes countries add XK name="Kosovo (user-assigned)"')
    assert "Nederland" in bot.ok("codes countries list")


def test_the_seed_migration_leaves_what_users_added_or_changed(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    try:
        store.migrate("0012")
        with store.transaction() as session:
            session.add_all(
                [
                    CountryRegion(code="NL", name="Nederland"),
                    CountryRegion(code="XK", name="Kosovo"),
                    Language(code="ENU", name="English (US)"),
                ]
            )
        store.migrate()
        with store.session() as session:
            countries = {c.code: c.name for c in session.scalars(select(CountryRegion))}
            languages = {lang.code: lang.name for lang in session.scalars(select(Language))}
        assert countries["NL"] == "Nederland" and countries["XK"] == "Kosovo"
        assert countries["DE"] == "Germany" and len(countries) == len(iso_countries()) + 1
        assert languages["ENU"] == "English (US)" and languages["EN"] == "English"
    finally:
        store.dispose()


def test_the_refold_migration_rebuilds_search_text_and_phones(empty_database_url: str) -> None:
    """A database written under the old rules: the search text without Ø, a Norwegian number
    read as Dutch. After the migration both are as the new rules make them."""
    store = Store(empty_database_url)
    try:
        store.migrate("0013_seed_iso_codes")
        with store.transaction() as session:
            made = create_contact(
                session, ContactType.COMPANY, "Ørsted A/S", {"phone": "22 12 34 56"}
            )
            made.search_text, made.phone_e164 = "rsted a s 22123456", "+3122123456"
            made.country = "NO"
        store.migrate()
        with store.session() as session:
            stored = session.scalars(select(Contact)).one()
            assert stored.search_text == "orsted a/s 22123456"
            assert stored.phone_e164 == "+4722123456"
    finally:
        store.dispose()


# --- folding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("Ørsted A/S", "Orsted AS"),
        ("Łódź Tools", "Lodz Tools"),
        ("Ærø Bryghus", "Aero Bryghus"),
        ("Đurić d.o.o.", "Djuric d.o.o."),
        ("Þórsson", "Thorsson"),
        ("Œuvre SARL", "Oeuvre SARL"),
        ("Straße GmbH", "Strasse GmbH"),
        ("O’Brien", "O'Brien"),
    ],
)
def test_the_fold_keeps_every_letter(typed: str, plain: str) -> None:
    if typed.startswith("Đ"):  # Đ is D (Serbo-Croatian writes dj for it when without)
        plain = "Duric d.o.o."
    assert fold(typed).split()[0] == fold(plain).split()[0]  # search: the same word
    assert name_tokens(typed, True) == name_tokens(plain, True)
    assert key_fold(typed) and all(ch.isascii() for ch in key_fold(typed))


def test_orsted_as_is_offered_as_a_duplicate_of_orsted_a_s_in_the_same_city(
    bot: ChatBot,
) -> None:
    bot.ok('new company "Ørsted A/S" city=Fredericia country=DK')
    reply = bot.reply('new company "Orsted AS" city=Fredericia country=DK')
    assert reply.ok
    assert any(n.startswith("possible duplicate of CT000001 Ørsted A/S") for n in reply.notes)
    # and found by search either way
    assert "CT000001" in bot.ok("find Orsted")
    assert "CT000002" in bot.ok("find Ørsted")


# --- apostrophes ----------------------------------------------------------------------------


def test_apostrophes_are_letters(bot: ChatBot) -> None:
    bot.ok("new person Ann O'Brien city='s-Hertogenbosch")
    bot.ok("new person Seán O’Brien")
    card = bot.ok("show CT000001")
    assert "O'Brien" in card and "'s-Hertogenbosch" in card
    assert contact(bot, "CT000001").name == "Ann O'Brien"
    assert contact(bot, "CT000002").name == "Seán O’Brien"
    for query in ("O'Brien", "O’Brien", "o'brien"):
        found = bot.ok(f"find {query}")
        assert "CT000001" in found and "CT000002" in found, query
    assert "`O'Brien`" in bot.ok("find O'Brien")
    # only double quotes group words; an unclosed one is a message
    bot.ok('new company "Mc\'Donald’s Bar" city="\'t Zand"')
    assert contact(bot, "CT000003").city == "'t Zand"
    assert bot.fails('new company "Acme').startswith("A quote is not closed.")
    assert "apostrophe" in bot.ok("help").lower()


# --- the config's setup ---------------------------------------------------------------------


def setup_value(app: App, key: str) -> str:
    table = app.run("setup").table
    assert table is not None
    return dict(table.rows)[key]


def test_a_refused_first_start_leaves_no_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    refused = Settings(data_dir=tmp_path, database_url=url, setup={"default_country": "XX"})
    with pytest.raises(UserError, match="default_country: country/region `XX` does not exist"):
        build_app(refused, build_registry())
    assert not any(tmp_path.glob("new.db*"))
    configured = Settings(
        data_dir=tmp_path, database_url=url, setup={"default_country": "US", "number_prefix": "K"}
    )
    app = build_app(configured, build_registry())
    try:
        assert setup_value(app, "default_country") == "US"
        app.run("setup default_country=NO")
    finally:
        app.close()
    again = build_app(configured, build_registry())  # not a new database: config not applied
    try:
        assert setup_value(again, "default_country") == "NO"
    finally:
        again.close()


def test_a_refused_upgrade_of_a_new_database_leaves_it_empty(
    empty_database_url: str, tmp_path: Path
) -> None:
    """`contactbot db upgrade` on a database without a schema (PostgreSQL's way to start):
    refused, the database is back to empty, and the next try says the same."""
    settings = Settings(
        data_dir=tmp_path, database_url=empty_database_url, setup={"default_language": "QQ"}
    )
    for _ in range(2):
        store = Store(empty_database_url)
        with pytest.raises(UserError, match="default_language: language `QQ` does not exist"):
            prepare_schema(
                store, settings, store.migrate, new_file=new_sqlite_file(empty_database_url)
            )
        store = Store(empty_database_url)
        try:
            assert store.current_revision() is None
            assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
        finally:
            store.dispose()


# --- exports --------------------------------------------------------------------------------


def test_the_vcard_3_export_parses_in_vobject(bot: ChatBot) -> None:
    bot.ok(
        'new company "Smith; Jones, Partners" country=NO city=Oslo address="Karl Johans gate 1"'
        ' phone="22 12 34 56" home_page=example.no vat_no=NO123'
    )
    bot.ok(
        'new person "Kari Nordmann" company=CT000001 email=kari@example.no '
        'job_title="Head; of sales" mobile="+47 412 34 567"'
    )
    text = vcards(bot, "3.0")
    cards = list(vobject.readComponents(text))
    assert len(cards) == 2
    company, person = cards
    assert company.version.value == "3.0"
    assert company.fn.value == "Smith; Jones, Partners"
    assert company.org.value == ["Smith; Jones, Partners"]
    assert company.adr.value.country == "Norway" and company.adr.value.city == "Oslo"
    assert company.adr.value.street == "Karl Johans gate 1"
    assert company.tel.value == "+4722123456"
    assert person.n.value.family == "Nordmann" and person.n.value.given == "Kari"
    assert person.org.value == ["Smith; Jones, Partners"]
    assert person.title.value == "Head; of sales"
    assert person.email.value == "kari@example.no"
    assert sorted(tel.value for tel in person.tel_list) == ["+4722123456", "+4741234567"]
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_the_vcard_4_export_escapes_semicolons_only_in_compound_properties(
    bot: ChatBot,
) -> None:
    bot.ok('new company "Smith; Jones" country=DE city=Berlin')
    text = vcards(bot)
    assert "VERSION:4.0" in text
    assert "\r\nFN:Smith; Jones\r\n" in text
    assert "\r\nORG:Smith\\; Jones\r\n" in text
    assert "ADR;TYPE=work:;;;Berlin;;;Germany\r\n" in text


def test_the_excel_csv_has_a_byte_order_mark_and_the_asked_delimiter(
    bot: ChatBot, tmp_path: Path
) -> None:
    bot.ok('new company "Ærøskøbing Bryghus; ApS" city=Ærøskøbing country=DK')
    out = io.StringIO()
    export_contacts(bot.app.store, out, "csv", excel=True, delimiter=";")
    raw = out.getvalue().encode("utf-8")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0]["name"] == "Ærøskøbing Bryghus; ApS" and rows[0]["country"] == "DK"
    plain = io.StringIO()
    export_contacts(bot.app.store, plain, "csv")
    assert not plain.getvalue().startswith("\ufeff") and plain.getvalue().startswith("no,type")
    with pytest.raises(UserError, match=r"Unknown vCard version `2\.1`"):
        export_contacts(bot.app.store, io.StringIO(), "vcard", vcard_version="2.1")


def test_the_export_command_takes_the_version_and_excel_options(
    bot: ChatBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`contactbot export contacts …` as typed at a terminal, on the bot's database."""
    bot.ok('new company "Fjord AS" phone="22 12 34 56" country=NO city=Bergen')
    monkeypatch.chdir(tmp_path)  # no ./config.toml
    monkeypatch.setenv("CONTACTBOT_DATABASE_URL", bot.app.settings.database_url)
    monkeypatch.setenv("CONTACTBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CONTACTBOT_CONFIG", raising=False)
    cards, table = tmp_path / "c.vcf", tmp_path / "c.csv"
    args = ["export", "contacts", "--format", "vcard", "--vcard-version", "3.0", "-o", str(cards)]
    assert main(args) == 0
    card = vobject.readOne(cards.read_text(encoding="utf-8"))
    assert card.version.value == "3.0" and card.tel.value == "+4722123456"
    assert card.adr.value.country == "Norway"
    assert main(["export", "contacts", "--excel", "--delimiter", ";", "-o", str(table)]) == 0
    raw = table.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfno;type;name;")
    assert main(["export", "contacts", "--format", "vcard", "-o", str(cards)]) == 0
    assert "VERSION:4.0" in cards.read_text(encoding="utf-8")
