"""Issue 12's fuzz test: generated command lines through the real dispatcher and generated CSV
files through the real importer, on SQLite and on PostgreSQL.

Commands: a verb of the registry, then words drawn from what the command language reads
(contact numbers, sub-actions, codes, `field=value` pairs with every field name the commands
know) and from what breaks parsers (odd unicode, quotes, control characters, lone
surrogates, huge and superscript numbers, long values). For each: no exception escapes the
dispatcher, no reply is the internal-error apology, the text the shell would print holds no
control character a terminal acts on, and a refused command leaves the database as it was
(row counts of every table and a hash of the contacts and number series).

CSV: a header of contact columns and rows of the same kinds of cells, written as valid CSV
(quoted as needed). The import never raises for a file with a good header, and every row is
either imported or in the report, which matches the database's count.

Bounded (100 commands and 40 files per backend, no deadline): well under a minute each;
CONTACTBOT_FUZZ_EXAMPLES=2000 hunts longer.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.arguments import quote
from bot.text_render import render_text
from storage.database import Store
from storage.fields import CSV_COLUMNS, EDITABLE_FIELDS
from storage.importing.contacts import import_contacts
from storage.models import Contact
from tests.conftest import STANDARD_CODES, ChatBot
from tests.db_fingerprint import fingerprint

APOLOGY = "Sorry, that went wrong"
#: Commands per backend (CSV files: two fifths of it); raise it for a longer hunt.
EXAMPLES = int(os.environ.get("CONTACTBOT_FUZZ_EXAMPLES", "100"))
#: What a terminal would act on, in what the shell prints (tab and line feed are fine).
TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

FIELD_NAMES = (
    *EDITABLE_FIELDS,
    *("type", "no", "description", "direction", "duration", "cost", "date", "initiated"),
    *("from", "to", "template", "master", "limit", "code", "formula", "currency"),
    *("job", "industry", "mailing", "number_prefix", "number_width", "number_start"),
    *("threshold", "search_hit_percent", "search_strings", "method", "autosearch"),
    *("default_country", "inherit_address", "customer_relation", "1", "2"),
)
WORDS = (
    *("CT000001", "CT000002", "CT000003", "CT000004", "CT999999", "C00001", "V00001"),
    *("Acme", "acme", "Jan de Vries", "1", "0", "2", "#1", "-1"),
    *("list", "add", "set", "remove", "new", "show", "delete", "into", "setup", "scan"),
    *("company", "person", "customer", "vendor", "bank", "employee", "bank-accounts"),
    *("customers", "vendors", "formal", "informal", "territories", "salespeople"),
    *("countries", "languages", "jobs", "interactions", "relations", "mailing", "levels"),
    *("NORTH", "NL", "EN", "SAM", "CALL", "EMAIL", "NOTE", "--yes", "--dry-run"),
)
ODD = (
    *("\x00", "\x1b[2J", "\x1b]8;;http://x\x07", "\x07", "\x7f", "\x9b", "\t", "\n", "\r"),
    *("\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066", "\u0301", "\u3164"),
    *("\udcff", "\ud800", "²", "٣", "１２", "½", "NaN", "Infinity", "-Infinity", "1e999"),
    *('"', "'", "\\", '"unclosed', "“curly”", "‘x’", "=cmd|' /C calc'!A0", "+31 20 555 0100"),
    *("@SUM(1)", "-2+3", "1_000", "0x10", "2147483648", "99999999999999999999999", "9" * 5000),
    *("2026-02-30", "9999-12-31", "0001-01-01", "10:99", "x@", "@x", "a@b.c", "http://x"),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["2147483647", "2147483648", "4294967296", "²", "¹²", "٣", "-0", "00"]),
)
TEXT = st.text(max_size=12)  # any code point but surrogates (ODD has those)
VALUES = st.one_of(
    st.sampled_from(ODD),
    st.sampled_from(WORDS),
    NUMBERS,
    TEXT,
    st.builds(lambda c, n: c * n, st.sampled_from("xé€\u200b"), st.integers(90, 400)),
    st.lists(st.sampled_from((*ODD, *WORDS)), min_size=2, max_size=4).map("".join),
)


def _quoted(value: str, how: int) -> str:
    if how == 0:
        return value
    if how == 1:
        return quote(value)
    return '"' + value + '"'


WORD = st.one_of(
    st.sampled_from(WORDS),
    st.builds(_quoted, VALUES, st.integers(0, 2)),
    st.builds(
        lambda key, value, how: f"{key}={_quoted(value, how)}",
        st.sampled_from(FIELD_NAMES),
        VALUES,
        st.integers(0, 2),
    ),
)


#: Commands as people type them, with generated values in their places ({} below).
TEMPLATES = (
    "new company {} city={}",
    "new person {} company=CT000001 {}",
    "set CT000001 {}={}",
    "set CT000002 {}={}",
    'log CT000002 CALL "x {}" duration={} cost={}',
    "log CT000002 {} {} date={}",
    "history CT000001 {}",
    "codes territories add {} name={}",
    "codes salespeople set SAM {}={}",
    "customer new {} {}={}",
    "customer set C00001 {}={}",
    "address CT000001 add {} from={} to={}",
    "unmerge {}",
    "merge CT000003 into CT000001 {}=dup --yes",
    "setup {}={}",
    "dupes setup {}={}",
    "template customer add {} {}={}",
    "find {}",
    "show {}",
    "relation CT000001 add {}",
    "assign CT000002 job={}",
    "link CT000001 customer {}",
    "salutation CT000002 {}",
    "type CT000004 {}",
    "relations-log {}",
    "dupes {}",
)


@st.composite
def templated(draw: st.DrawFn) -> str:
    template = draw(st.sampled_from(TEMPLATES))
    slots = template.count("{}")
    values = [
        draw(st.one_of(st.sampled_from(FIELD_NAMES), VALUES.map(quote))) for _ in range(slots)
    ]
    return template.format(*values)


@pytest.fixture
def world(bot: ChatBot) -> Iterator[ChatBot]:
    """A database with something to act on: codes, companies, persons, a record, a merge."""
    for line in STANDARD_CODES:
        bot.ok(line)
    for line in (
        'new company "Acme" city=Amsterdam phone="+31 20 555 0100" country=NL',
        'new person "Jan de Vries" company=CT000001 email=jan@acme.example',
        'new company "Acme" city=Amsterdam',
        "new company Beta territory=NORTH",
        "create-as CT000004 customer",
        'log CT000002 CALL "Called about the renewal" duration=20m',
        "address CT000001 add HQ address=Dam city=Amsterdam",
    ):
        bot.ok(line)
    yield bot


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(data=st.data())
def test_generated_command_lines_never_escape_and_refusals_change_nothing(
    world: ChatBot, data: st.DataObject
) -> None:
    if data.draw(st.booleans(), label="templated"):
        line = data.draw(templated(), label="line")
    else:
        verb = data.draw(st.sampled_from(world.app.registry.verbs()), label="verb")
        line = " ".join([verb, *data.draw(st.lists(WORD, max_size=6), label="words")])
    before = fingerprint(world.app.store)
    reply = world.app.run(line)  # an exception escaping here fails the test as it is
    event("ok" if reply.ok else "refused")
    shown = render_text(reply)
    assert APOLOGY not in shown, f"{line!r}: {shown}"
    assert TERMINAL_CONTROL.search(shown) is None, f"{line!r} printed {shown!r}"
    shown.encode("utf-8")  # no lone surrogate reaches the terminal
    if not reply.ok:
        assert fingerprint(world.app.store) == before, f"refused {line!r} changed the database"


# --- CSV ------------------------------------------------------------------------------------

CELLS = st.one_of(
    st.just(""),
    st.sampled_from(["company", "person", "Acme", "Good Co", "CT000001", "NL", "NORTH", "SAM"]),
    st.sampled_from([o for o in ODD if not ("\ud800" <= o[:1] <= "\udfff")]),
    NUMBERS,
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.builds(lambda c, n: c * n, st.sampled_from("xé"), st.integers(20, 150)),
)
HEADERS = st.lists(st.sampled_from(CSV_COLUMNS), min_size=1, max_size=8, unique=True).map(
    lambda columns: ["name", *[c for c in columns if c != "name"]]
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = draw(HEADERS)
    width = len(header)
    rows = draw(
        st.lists(st.lists(CELLS, min_size=max(width - 1, 1), max_size=width + 1), max_size=8)
    )
    return header, rows


@settings(
    max_examples=max(EXAMPLES * 2 // 5, 1),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(data=csv_files())
def test_generated_csv_rows_are_imported_or_reported(
    store: Store, tmp_path: Path, data: tuple[list[str], list[list[str]]]
) -> None:
    header, rows = data
    path = tmp_path / "fuzz.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    with store.transaction() as session:
        before = session.scalar(select(func.count()).select_from(Contact))
    result = import_contacts(store, path)  # a traceback here fails the test
    with store.transaction() as session:
        after = session.scalar(select(func.count()).select_from(Contact))
    records = [r for r in rows if any(cell.strip() for cell in r)]
    # a record spanning lines (a quoted line break) is one row; blank ones are skipped
    assert result.created + result.failed == _records_read(path), (header, rows)
    assert after - before == result.created
    reported = 0
    if result.report is not None:
        with result.report.open(encoding="utf-8", newline="") as handle:
            reported = len({r["line"] for r in csv.DictReader(handle) if r["outcome"] == "refused"})
    assert reported == result.failed
    assert len(records) >= result.created


def _records_read(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return sum(1 for cells in reader if any(cell.strip() for cell in cells))
