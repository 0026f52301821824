"""`contactbot import customers|…` and `contactbot contacts from …` through bot.cli.main, on
SQLite and PostgreSQL: the issue's three customers, bad rows reported like the contact import,
the automatic contact of imported records, filters, and possible duplicates in the summary."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from storage.contacts import create_contact
from storage.database import Store
from storage.duplicates import check_new_contact
from storage.models import BusinessLink, BusinessRecord, Contact, ContactType
from storage.setup import update_setup

THREE = (
    "no,name,address,post_code,city,phone,email,currency\n"
    "C00010,Acme Trading,Keizersgracht 1,1015 AA,Amsterdam,+31 20 555 0100,info@acme.example,EUR\n"
    ",Beta B.V.,Oudegracht 2,3511 AB,Utrecht,,,\n"
    ',"Gamma, Delft",Markt 3,2611 GP,Delft,,,usd\n'
)


@pytest.fixture
def cli(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run `contactbot …` in this process against the test database; returns (status, out)."""
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("CONTACTBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("CONTACTBOT_DATA_DIR", str(tmp_path / "data"))

    def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main(["--config", str(config), *args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


def _setup(database_url: str, **values: str) -> None:
    store = Store(database_url)
    try:
        with store.transaction() as session:
            update_setup(session, values)
    finally:
        store.dispose()


def _state(database_url: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(contacts as (no, type, name), links as (contact no, record no))."""
    store = Store(database_url)
    try:
        with store.transaction() as session:
            contacts = [
                (c.no, c.type.value, c.name)
                for c in session.scalars(select(Contact).order_by(Contact.no))
            ]
            links = [
                (link.contact.no, link.record.no)
                for link in session.scalars(select(BusinessLink).order_by(BusinessLink.id))
            ]
            return contacts, links
    finally:
        store.dispose()


def test_three_imported_customers_get_contacts_once(
    cli, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    _setup(database_url, auto_contact="no")
    path = tmp_path / "customers.csv"
    path.write_text(THREE, encoding="utf-8")
    status, out, err = cli("import", "customers", str(path), capsys=capsys)
    assert (status, err) == (0, "")
    assert out.strip() == "customers.csv: 3 customers created, 0 rows refused."
    assert _state(database_url) == ([], [])

    status, out, _ = cli("contacts", "from", "customers", capsys=capsys)
    assert status == 0
    assert out.strip() == (
        "Contacts from customers: 3 created, 0 skipped (linked already), 0 possible duplicates."
    )
    contacts, links = _state(database_url)
    assert contacts == [  # in the order of the records' numbers
        ("CT000001", "company", "Beta B.V."),
        ("CT000002", "company", "Gamma, Delft"),
        ("CT000003", "company", "Acme Trading"),
    ]
    assert links == [("CT000001", "C00001"), ("CT000002", "C00002"), ("CT000003", "C00010")]
    store = Store(database_url)
    try:
        with store.transaction() as session:
            acme = session.scalars(select(Contact).where(Contact.no == "CT000003")).one()
            assert (acme.address, acme.city, acme.phone) == (
                "Keizersgracht 1",
                "Amsterdam",
                "+31 20 555 0100",
            )
            gamma = session.scalars(select(BusinessRecord).where(BusinessRecord.no == "C00002"))
            assert gamma.one().currency == "USD"
    finally:
        store.dispose()

    status, out, _ = cli("contacts", "from", "customers", capsys=capsys)
    assert out.strip() == (
        "Contacts from customers: 0 created, 3 skipped (linked already), 0 possible duplicates."
    )
    assert len(_state(database_url)[0]) == 3


def test_bad_rows_are_reported_beside_the_file_and_the_good_ones_kept(
    cli, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "vendors.csv"
    path.write_text(
        "no,name,email,country\n"
        "V00005,Good Vendor,sales@good.example,\n"
        "V00005,Same Number,,\n"
        ",Bad Mail,x@,\n"
        ",,,\n"
        ",Bad Country,,ZZ\n"
        ",No Name Here,,\n",
        encoding="utf-8",
    )
    status, out, _ = cli("import", "vendors", str(path), capsys=capsys)
    report = tmp_path / "vendors.errors.csv"
    assert status == 1
    assert out.strip() == (
        "vendors.csv: 4 vendors created (4 with a new contact), 2 without a value that was "
        f"refused, 1 rows refused. Line, field, value and reason of each: {report}."
    )
    with report.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["line"], row["outcome"], row["field"], row["name"]) for row in rows] == [
        ("3", "refused", "", "Same Number"),
        ("4", "imported without it", "email", "Bad Mail"),
        ("6", "imported without it", "country", "Bad Country"),
    ]
    assert rows[0]["reason"] == "The vendor number V00005 is taken already."
    assert rows[1]["reason"].startswith("email: `x@` is not an email address")
    assert rows[2]["reason"].startswith("country: country/region `ZZ` does not exist.")
    contacts, links = _state(database_url)  # the setup's auto_contact is on by default
    assert contacts == [
        ("CT000001", "company", "Good Vendor"),
        ("CT000002", "company", "Bad Mail"),
        ("CT000003", "company", "Bad Country"),
        ("CT000004", "company", "No Name Here"),
    ]
    assert links == [
        ("CT000001", "V00005"),
        ("CT000002", "V00001"),
        ("CT000003", "V00002"),
        ("CT000004", "V00003"),
    ]

    status, out, _ = cli("contacts", "from", "vendors", capsys=capsys)
    assert "0 created, 4 skipped (linked already)" in out


def test_a_dry_run_and_a_bad_header_write_nothing(
    cli, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "employees.csv"
    path.write_text("name,city\nEva Jansen,Leiden\n", encoding="utf-8")
    status, out, _ = cli("import", "employees", str(path), "--dry-run", capsys=capsys)
    assert status == 0
    assert out.strip() == (
        "employees.csv: 1 employees would be created (1 with a new contact), 0 rows refused. "
        "Dry run: nothing was written to the database."
    )
    assert _state(database_url) == ([], [])
    path.write_text("name,currency\nEva,EUR\n", encoding="utf-8")
    status, out, _ = cli("import", "employees", str(path), "--dry-run", capsys=capsys)
    assert status == 0
    assert "Columns skipped (no such field): `currency`." in out  # employees have none
    path.write_text("city,currency\nLeiden,EUR\n", encoding="utf-8")
    status, _, err = cli("import", "employees", str(path), capsys=capsys)
    assert status == 2
    assert err.startswith(f"contactbot: {path}: the header needs a `name` column")
    assert "Traceback" not in err
    assert _state(database_url) == ([], [])


def test_contacts_from_a_filter_reports_possible_duplicates(
    cli, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    _setup(database_url, auto_contact="no")
    store = Store(database_url)
    try:
        with store.transaction() as session:
            acme = create_contact(
                session, ContactType.COMPANY, "Acme Trading", {"city": "Amsterdam"}
            )
            check_new_contact(session, acme)  # as `new` does: its duplicate keys
    finally:
        store.dispose()
    path = tmp_path / "customers.csv"
    path.write_text(THREE, encoding="utf-8")
    cli("import", "customers", str(path), capsys=capsys)
    status, out, _ = cli(
        "contacts", "from", "customers", "--filter", "city=AMSTERDAM", capsys=capsys
    )
    assert status == 0
    lines = out.strip().splitlines()
    assert lines[0] == (
        "Contacts from customers: 1 created, 0 skipped (linked already), 1 possible duplicates."
    )
    assert lines[1].startswith("  CT000002: possible duplicate of CT000001 Acme Trading")
    status, out, _ = cli("contacts", "from", "customers", "--filter", "name=*B.V.", capsys=capsys)
    assert out.startswith("Contacts from customers: 1 created, 0 skipped")
    assert _state(database_url)[1] == [("CT000002", "C00010"), ("CT000003", "C00001")]
    status, _, err = cli("contacts", "from", "customers", "--filter", "colour=red", capsys=capsys)
    assert status == 2 and err.startswith("contactbot: Cannot filter on `colour`.")


def test_sync_holds_when_the_relations_plugin_is_not_enabled(tmp_path: Path) -> None:
    """The sync is a rule of the store, not of a plugin: a `set` from an instance that enables
    only the contact commands still reaches the linked customer (a fresh process, so nothing
    was imported by the test run first)."""
    from tests.test_shell_cli import Cli

    cli = Cli(tmp_path)
    created = cli.run(
        "shell",
        stdin='new company "Acme Holding B.V." phone="+31 20 555 0100"\n'
        "create-as CT000001 customer\n",
    )
    assert created.returncode == 0, created.stdout + created.stderr
    narrow = tmp_path / "narrow.toml"
    narrow.write_text('[plugins]\nenabled = ["help", "contacts"]\n')
    changed = cli.run(
        "--config", str(narrow), "shell", "-c", 'set CT000001 phone="+31 20 555 0199"'
    )
    assert changed.returncode == 0, changed.stdout + changed.stderr
    unknown = cli.run("--config", str(narrow), "shell", "-c", "related CT000001")
    assert unknown.returncode == 1 and "Unknown command `related`" in unknown.stdout
    store = Store(cli.database_url)
    try:
        with store.transaction() as session:
            customer = session.scalars(select(BusinessRecord)).one()
            assert (customer.kind, customer.phone) == ("customer", "+31 20 555 0199")
    finally:
        store.dispose()
