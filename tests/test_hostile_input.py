"""Issue 12, "input that should be refused with a message": numbers past what a column holds,
code-table values past their length, control characters, blank-looking names, terminal
escapes in what the shell prints, spreadsheet formulas in CSV exports, and NUL bytes in CSV
cells. Each is refused (or neutralised) the same way on SQLite and PostgreSQL, and a refused
command changes nothing.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.reply import Card, Field, Reply, Table
from bot.text_render import render_text, terminal_safe
from storage.database import Store
from storage.duplicates.export import export_pairs
from storage.export import export_contacts
from storage.importing.contacts import import_contacts
from storage.models import Contact, Interaction, Territory
from storage.spreadsheet import neutralise, restore
from tests.conftest import ChatBot
from tests.db_fingerprint import fingerprint

APOLOGY = "Sorry, that went wrong"


@pytest.fixture
def acme(bot: ChatBot) -> ChatBot:
    bot.ok("new company Acme city=Amsterdam")
    return bot


def refused(bot: ChatBot, line: str) -> str:
    """Run `line`, insisting on a refusal with a message (not the apology) that changed
    nothing in the database."""
    before = fingerprint(bot.app.store)
    message = bot.fails(line)
    assert APOLOGY not in message, f"{line!r}: {message}"
    assert fingerprint(bot.app.store) == before, f"{line!r} changed the database"
    return message


# --- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'log CT000001 CALL "x" duration=99999999999999999999999',
            "duration: `99999999999999999999999` is too large; at most 2147483647 minutes.",
        ),
        (
            'log CT000001 CALL "x" duration=2147483648',
            "duration: `2147483648` is too large; at most 2147483647 minutes.",
        ),
        (
            'log CT000001 CALL "x" duration=35791395h',
            "duration: `35791395h` is too large; at most 2147483647 minutes.",
        ),
        ('log CT000001 CALL "x" duration=²', "duration: `²` is not a duration."),
        ('log CT000001 CALL "x" duration=٣', "duration: `٣` is not a duration."),
        ('log CT000001 CALL "x" cost=NaN', "cost: `NaN` is not an amount."),
        ('log CT000001 CALL "x" cost=Infinity', "cost: `Infinity` is not an amount."),
        ('log CT000001 CALL "x" cost=1e3', "cost: `1e3` is not an amount."),
        (
            'log CT000001 CALL "x" cost=9999999999.999',
            "cost: `9999999999.999` is too large; at most 9999999999.99.",
        ),
        ("history CT000001 ²", "limit: `²` is not a whole number; type digits 0-9, from 1 to"),
        ("history CT000001 99999999999999999999999", "is too large; at most 1000."),
        (
            "unmerge 99999999999999999999999",
            "merge number: `99999999999999999999999` is too large; at most 2147483647.",
        ),
        ("unmerge 2147483648", "merge number: `2147483648` is too large; at most 2147483647."),
        ("unmerge ²", "merge number: `²` is not a whole number"),
        ("relations-log ²", "count: `²` is not a whole number"),
        ("dupes setup search_hit_percent=²", "search_hit_percent: `²` is not a whole number"),
        ("dupes setup search_strings=name:first:²", "search_strings: `²` is not a whole number"),
        ("setup number_width=²", "number_width: `²` is not a whole number"),
        ("setup number_start=2147483648", "number_start: 2147483648 is out of range"),
    ],
)
def test_numbers_are_read_as_ascii_digits_within_the_columns_range(
    acme: ChatBot, line: str, message: str
) -> None:
    assert message in refused(acme, line)


def test_the_largest_numbers_that_fit_are_stored(acme: ChatBot, store: Store) -> None:
    acme.ok('log CT000001 CALL "long" duration=2147483647 cost=9999999999.99')
    acme.ok('log CT000001 CALL "short" duration=1h30m cost=12,5')
    with acme.app.store.transaction() as session:
        rows = {i.description: i for i in session.scalars(select(Interaction))}
    assert rows["long"].duration_minutes == 2147483647
    assert str(rows["long"].cost) == "9999999999.99"
    assert rows["short"].duration_minutes == 90
    assert str(rows["short"].cost) == "12.50"


# --- lengths of code-table values -----------------------------------------------------------


def test_code_table_values_are_checked_against_their_column(bot: ChatBot) -> None:
    assert "name: 5000 characters is too long; the most is 100. Shorten it." in refused(
        bot, "codes territories add NORTH name=" + "N" * 5_000
    )
    # a whole line past the command language's own cap is refused before it is split
    assert "a command takes at most 10,000" in refused(
        bot, "codes territories add NORTH name=" + "N" * 100_000
    )
    assert "code: a country/region code has up to 10 characters" in refused(
        bot, "codes countries add ABCDEFGHIJK name=Far"
    )
    bot.ok("codes territories add NORTH name=North")
    assert "name: 101 characters is too long; the most is 100." in refused(
        bot, "codes territories set NORTH name=" + "N" * 101
    )
    assert "email: 121 characters is too long; the most is 120." in refused(
        bot, "codes salespeople add SAM email=" + "s" * 109 + "@example.com"
    )
    assert "name: contains a line break; type it on one line." in refused(
        bot, 'codes territories set NORTH name="North\nSea"'
    )
    long_code = "X" * 300
    message = refused(bot, f"new company Acme territory={long_code}")
    assert "does not exist" in message and long_code not in message  # echoed short


def test_a_value_too_long_for_its_column_is_refused_on_every_path(
    bot: ChatBot, store: Store
) -> None:
    """The flush check: a write without its own length check still gets a field message."""
    from storage.errors import UserError

    too_long = pytest.raises(UserError, match="name: 101 characters is too long; the most is 100")
    with too_long, store.transaction() as session:
        session.add(Territory(code="T1", name="x" * 101))
    nul = pytest.raises(UserError, match="name: contains the control character U\\+0000")
    with nul, store.transaction() as session:
        session.add(Territory(code="T1", name="a\x00b"))


# --- control characters and blank-looking names -------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('new company "A\x00B"', "the command: contains the control character U+0000"),
        ("new company Acme2 city=Ams\x00", "city: contains the control character U+0000"),
        ('new company "Red\x1b[31m"', "the command: contains the control character U+001B"),
        ('new company Red name_2="\x1b[31m"', "name_2: contains the control character U+001B"),
        ('set CT000001 city="a\x00b"', "city: contains the control character U+0000"),
        ("find a\x00b", "the command: contains the control character U+0000"),
        ('log CT000001 CALL "a\x00b"', "the command: contains the control character U+0000"),
        ('new company "Tab\tCo"', "name: contains a tab; type it on one line."),
        ('set CT000001 name="Two\nLines"', "name: contains a line break; type it on one line."),
        ("customer new Bad\x00Name", "the command: contains the control character U+0000"),
        ('new company "\u200b\u200b"', "name: looks blank; type a name with letters or digits."),
        ('new company "\u2060\ufeff"', "name: looks blank; type a name with letters or digits."),
        ('new company "\u0301"', "name: looks blank; type a name with letters or digits."),
        ('new company "\u3164"', "name: looks blank; type a name with letters or digits."),
        ('set CT000001 name="\u200d"', "name: looks blank; type a name with letters or digits."),
        ('new person x first_name="\u200c"', "first_name: looks blank"),
    ],
)
def test_control_characters_and_blank_looking_values_are_field_errors(
    acme: ChatBot, line: str, message: str
) -> None:
    assert message in refused(acme, line)


def test_free_text_and_addresses_may_keep_their_line_breaks(acme: ChatBot) -> None:
    acme.ok('log CT000001 CALL "first line\nsecond line"')
    acme.ok('set CT000001 address="Keizersgracht 1\nsecond floor"')
    assert "Keizersgracht 1\\nsecond floor" in acme.ok("show CT000001")


# --- the shell prints people's text terminal-safe -------------------------------------------


def test_terminal_escapes_and_bidi_overrides_never_reach_the_terminal() -> None:
    evil = "Ev\x1b]8;;http://x\x07il\x1b[2J \u202egnp.exe\x9b\udcff"
    reply = Reply(
        text=f"Found {evil}\nsecond line",
        table=Table(("no", "name"), (("CT1", evil), ("CT2", "a\nb"))),
        cards=(Card(title=evil, fields=(Field("Name", evil),), sections=(("Notes", (evil,)),)),),
        notes=(evil,),
    )
    text = render_text(reply)
    for bad in ("\x1b", "\x07", "\x9b", "\u202e", "\udcff"):
        assert bad not in text
    assert "Ev\\x1b]8;;http://x\\x07il\\x1b[2J gnp.exe\\x9b\ufffd" in text
    assert "Found" in text and "\nsecond line" in text  # the reply's own lines stay lines
    assert "a\\nb" in text  # a table row stays one line
    text.encode("utf-8")  # printable: no lone surrogate left


def test_a_stored_name_with_an_escape_is_shown_escaped(acme: ChatBot) -> None:
    """Data written before these checks (or by a path outside the command language)."""
    with acme.app.store.engine.begin() as connection:
        connection.execute(update(Contact.__table__).values(name="Acme\x1b[2J\u202eRed"))
    shown = acme.ok("show CT000001") + acme.ok("find acme")
    assert "\x1b" not in shown and "\u202e" not in shown
    assert "Acme\\x1b[2JRed" in shown
    assert terminal_safe("ok\n\ttab") == "ok\n\ttab"


# --- CSV export: formulas neutralised, round trip exact ------------------------------------


def test_formula_cells_are_neutralised_and_read_back() -> None:
    for value in ("=HYPERLINK(1)", "+31 20 555 0100", "-5", "@SUM(A1)", "\tx", "\rx", "'quoted"):
        assert neutralise(value) == "'" + value
        assert restore(neutralise(value)) == value
    assert neutralise("Acme") == "Acme" and restore("'abc") == "'abc"
    assert restore("'") == "'"


def test_csv_export_neutralises_formulas_and_round_trips(
    bot: ChatBot, store: Store, tmp_path: Path
) -> None:
    bot.ok('new company "=HYPERLINK(\\"http://evil\\")" phone="+31 20 555 0100" country=NL')
    bot.ok('set CT000001 name_2="@SUM(A1)" address="-1 Main St" city="\'quoted"')
    out = io.StringIO()
    export_contacts(store, out, "csv")
    row = next(r for r in csv.DictReader(io.StringIO(out.getvalue())) if r["no"] == "CT000001")
    assert row["name"] == '\'=HYPERLINK("http://evil")'
    assert row["phone"] == "'+31 20 555 0100"
    assert row["name_2"] == "'@SUM(A1)"
    assert row["address"] == "'-1 Main St"
    assert row["city"] == "''quoted"

    with store.transaction() as session:
        before = session.scalars(select(Contact)).one()
        expected = {k: getattr(before, k) for k in ("name", "name_2", "address", "city", "phone")}
        session.delete(before)
    path = tmp_path / "export.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    result = import_contacts(store, path)
    assert (result.created, result.failed) == (1, 0)
    with store.transaction() as session:
        after = session.scalars(select(Contact)).one()
        assert {k: getattr(after, k) for k in expected} == expected
        assert after.phone_e164 == "+31205550100"


def test_dupes_export_neutralises_formula_numbers(bot: ChatBot, store: Store) -> None:
    bot.ok("setup number_prefix=-X")
    bot.ok("new company Acme city=Amsterdam")
    bot.ok("new company Acme city=Amsterdam")
    out = io.StringIO()
    assert export_pairs_count(store, out) == 1
    assert out.getvalue().splitlines()[1].startswith("'-X000001,'-X000002,")


def export_pairs_count(store: Store, out: io.StringIO) -> int:
    with store.transaction() as session:
        return export_pairs(session, out)


# --- CSV import: a NUL fails its row on both databases, the rest is imported ---------------


def test_a_nul_in_a_csv_cell_costs_the_cell_or_its_row_and_the_rest_is_imported(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "type,no,name,company,city\n"
        "company,,Acme,,Ams\x00terdam\n"
        "company,,Good,,Utrecht\n"
        "person,CT0\x0009,Numbered,,\n"
        "person,,Ref,Go\x00od,\n"
        "person,,Fine Person,Good,\n"
        "person,,Esc\x1b[2J,Good,\n"
        "person,,Of Acme,Acme,\n",
        encoding="utf-8",
    )
    result = import_contacts(store, path)
    assert (result.created, result.failed, result.left_out) == (4, 3, 1)
    assert result.report is not None
    with result.report.open(encoding="utf-8", newline="") as handle:
        reasons = {int(r["line"]): r["reason"] for r in csv.DictReader(handle)}
    assert reasons == {
        2: "city: contains the control character U+0000; type plain text without it.",
        4: "no: contains the control character U+0000; type plain text without it.",
        5: "company: contains the control character U+0000; type plain text without it.",
        7: "name: contains the control character U+001B; type plain text without it.",
    }  # line 2 is imported without its city; line 8's person joins it
    with store.transaction() as session:
        names = set(session.scalars(select(Contact.name)))
    assert names == {"Acme", "Good", "Fine Person", "Of Acme"}
