"""CSV import and CSV/vCard export of contacts, on SQLite and PostgreSQL (the `store` fixture)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

import storage.importing.validation as import_validation
from storage.contacts import create_contact
from storage.database import Store
from storage.errors import UserError
from storage.export import export_contacts, fold
from storage.importing.contacts import import_contacts
from storage.models import Contact, ContactType, NumberSeries, Salesperson
from storage.numbering import get_series
from storage.setup import update_setup

CONTACTBOT = Path(sys.executable).with_name("contactbot")


def write(tmp_path: Path, text: str, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def cards(store: Store) -> dict[str, Contact]:
    """Every contact by number, with its company loaded, detached for reading."""
    with store.session() as session:
        rows = session.scalars(select(Contact).order_by(Contact.no)).all()
        result = {c.no: c for c in rows}
        for contact in rows:
            _ = contact.company
        session.expunge_all()
    return result


def report(path: Path) -> list[dict[str, str]]:
    with path.with_name(f"{path.stem}.errors.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def seed(store: Store) -> None:
    with store.transaction() as session:
        session.add_all([Salesperson(code="SP1")])  # country NL is seeded (ISO 3166-1)
        session.flush()
        update_setup(session, {"default_country": "NL"})


def test_companies_first_then_persons_by_number_and_by_exact_name(
    store: Store, tmp_path: Path
) -> None:
    seed(store)
    with store.transaction() as session:
        old = create_contact(session, ContactType.COMPANY, "Old Corp", {"city": "Utrecht"})
        assert old.no == "CT000001"
    path = write(
        tmp_path,
        """
type,no,name,company,city,phone,address,salesperson
person,,Jan de Vries,acme holding b.v.,,,,
person,,Piet Jansen,ZZ000007,,,,
person,,Kees Smit,Old Corp,,,,
person,,Anna Bakker,CT000001,Leiden,,,
company,,Acme Holding B.V.,,Amsterdam,020 555 0100,Keizersgracht 1,SP1
company,ZZ000007,Beta B.V.,,Rotterdam,,,
""",
    )
    result = import_contacts(store, path)
    assert (result.created, result.failed) == (6, 0), result.summary()
    by_name = {c.name: c for c in cards(store).values()}
    jan = by_name["Jan de Vries"]
    assert jan.company is not None and jan.company.name == "Acme Holding B.V."
    assert jan.company_name == "Acme Holding B.V."
    # inheritance from the company, as for `new`: address block, phone, salesperson
    assert (jan.city, jan.address, jan.salesperson) == ("Amsterdam", "Keizersgracht 1", "SP1")
    assert jan.phone_e164 == "+31205550100"
    assert (jan.first_name, jan.middle_name, jan.surname) == ("Jan", "de", "Vries")
    assert by_name["Piet Jansen"].company.no == "ZZ000007"
    assert by_name["Kees Smit"].company.no == "CT000001"
    anna = by_name["Anna Bakker"]
    assert anna.company.no == "CT000001" and anna.city == "Leiden"  # typed wins
    assert by_name["Acme Holding B.V."].country == "NL"  # the setup's default


def test_numbers_follow_file_order_skipping_failed_and_taken(store: Store, tmp_path: Path) -> None:
    with store.transaction() as session:
        create_contact(session, ContactType.PERSON, "Typed By Hand", no="CT000003")
    path = write(
        tmp_path,
        """
type,no,name,company,email
person,,P1,,
company,,C1,,
person,,Bad,Nowhere Inc,
person,,P2,C1,
person,CT000900,Own Number,,
company,,C2,,
""",
    )
    result = import_contacts(store, path)
    assert (result.created, result.failed) == (5, 1)
    names = {no: c.name for no, c in cards(store).items()}
    assert names == {
        "CT000001": "P1",
        "CT000002": "C1",
        "CT000003": "Typed By Hand",
        "CT000004": "P2",
        "CT000005": "C2",
        "CT000900": "Own Number",
    }
    assert result.numbers == ("CT000001", "CT000005")
    with store.session() as session:
        assert get_series(session).last_number == 5


def test_bad_rows_are_reported_with_line_and_reason_and_good_rows_kept(
    store: Store, tmp_path: Path
) -> None:
    seed(store)
    long_name = "x" * 101
    path = write(
        tmp_path,
        f"""
type,no,name,company,phone,email,country,address
company,,Acme,,,,,"Keizersgracht 1
second line"
company,,Twin,,,,,
company,,Twin,,,,,
person,,Good Person,Acme,,good@acme.example,,
person,,Bad Mail,,,jan@@acme,,
person,,Bad Phone,,call-me,,,
person,,Bad Code,,,,XX,
person,,No Company,Nope Inc,,,,
person,,Twin Person,twin,,,,
company,,{long_name},,,,,
person,CT000001,Same Number 1,,,,,
person,CT000001,Same Number 2,,,,,
dinosaur,,Rex,,,,,
person,,Too,Many,Cells,,,,,,
person,,Bad Company,{long_name},,,,
""",
    )
    result = import_contacts(store, path)
    # refused whole: no company (10, 11, 17), a bad name (12), a taken number (14), a bad type
    # (15), too many cells (16); the bad email, phone and country cost only that value
    assert result.failed == 7
    assert result.left_out == 3
    assert result.created == 8  # Acme, Twin, Twin, Good Person, Bad *, Same Number 1
    assert result.report == tmp_path / "contacts.errors.csv"
    rows = report(path)
    reasons = {row["line"]: row["reason"] for row in rows}
    outcomes = {row["line"]: row["outcome"] for row in rows}
    assert set(reasons) == {"7", "8", "9", "10", "11", "12", "14", "15", "16", "17"}
    assert {line for line, outcome in outcomes.items() if outcome == "refused"} == {
        "10",
        "11",
        "12",
        "14",
        "15",
        "16",
        "17",
    }
    assert reasons["7"].startswith("email: `jan@@acme` is not an email address")
    assert (rows[0]["field"], rows[0]["value"]) == ("email", "jan@@acme")
    assert reasons["8"].startswith("phone: `call-me` has no digits")  # a local one is kept
    assert "country/region `XX` does not exist" in reasons["9"]
    assert outcomes["9"] == "imported without it" and rows[2]["field"] == "country"
    assert "no company `Nope Inc`" in reasons["10"]
    assert "several companies: line 4, line 5" in reasons["11"]
    assert reasons["12"].startswith("name: 101 characters is too long")
    assert reasons["14"] == "The number CT000001 is on line 13 already."
    assert reasons["15"] == "type: `dinosaur` is not company or person."
    assert "the header names 8" in reasons["16"]
    assert "company: `xxx" in reasons["17"]
    # the original cells follow the line, outcome, field, value and reason
    assert rows[0]["name"] == "Bad Mail" and rows[0]["email"] == "jan@@acme"
    numbers = {c.name: c.no for c in cards(store).values()}
    assert set(numbers) == {
        "Acme",
        "Twin",
        "Good Person",
        "Bad Mail",
        "Bad Phone",
        "Bad Code",
        "Same Number 1",
    }
    assert numbers["Same Number 1"] == "CT000001"
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 8
        good = session.scalars(select(Contact).where(Contact.name == "Good Person")).one()
        assert good.address == "Keizersgracht 1\nsecond line"  # inherited, multi-line cell
        mail = session.scalars(select(Contact).where(Contact.name == "Bad Mail")).one()
        assert mail.email == ""
    summary = result.summary()
    assert "8 contacts created (3 without a value that was refused), 7 rows refused" in summary
    assert "contacts.errors.csv" in summary


def test_strict_refuses_a_row_with_a_bad_value(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "name,email\nAcme,info@acme.example\nBeta,beta-at-example\n")
    result = import_contacts(store, path, strict=True)
    assert (result.created, result.failed, result.left_out) == (1, 1, 0)
    assert [(row["line"], row["outcome"]) for row in report(path)] == [("3", "refused")]
    assert {contact.name for contact in cards(store).values()} == {"Acme"}


def test_dry_run_validates_and_writes_nothing(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "name,company\nAcme,\nBeta Person,Nowhere Inc\n")
    result = import_contacts(store, path, dry_run=True)
    assert (result.created, result.failed) == (1, 1)
    assert "would be created" in result.summary() and "nothing was written" in result.summary()
    assert [row["line"] for row in report(path)] == ["3"]
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0
        assert get_series(session).last_number == 0


def test_an_unknown_column_is_named_once_and_skipped(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, "name,emial,city\nAcme,info@acme.example,Leiden\nBeta,x,Delft\n")
    result = import_contacts(store, path)
    assert (result.created, result.failed, result.left_out) == (2, 0, 0)
    assert result.summary().count("`emial`") == 1
    assert "Columns skipped (no such field): `emial`." in result.summary()
    assert {c.name: c.city for c in cards(store).values()} == {"Acme": "Leiden", "Beta": "Delft"}
    assert not (tmp_path / "contacts.errors.csv").exists()


def test_a_header_without_a_name_or_with_one_field_twice_is_refused(
    store: Store, tmp_path: Path
) -> None:
    with pytest.raises(UserError, match="needs a `name` column"):
        import_contacts(store, write(tmp_path, "city,emial\nLeiden,x\n"))
    with pytest.raises(UserError, match="`city` and `City` both hold city"):
        import_contacts(store, write(tmp_path, "name,city,City\n"))
    with pytest.raises(UserError, match="No file"):
        import_contacts(store, tmp_path / "missing.csv")
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_csv_export_round_trips_into_an_empty_database(store: Store, tmp_path: Path) -> None:
    seed(store)
    with store.transaction() as session:
        acme = create_contact(
            session,
            ContactType.COMPANY,
            'Acme, "Holding"; B.V.',
            {"city": "Amsterdam", "phone": "020 555 0100", "address": "Line 1\nLine 2"},
        )
        create_contact(
            session,
            ContactType.PERSON,
            "Jan de Vries",
            {"company": acme.no, "email": "Jan@Acme.example", "job_title": "CFO"},
        )
        create_contact(session, ContactType.PERSON, "Émile Zoë", {"mobile": "+47 412 34 567"})
    before = io.StringIO()
    assert export_contacts(store, before, "csv") == 3
    snapshot = {no: _fields(c) for no, c in cards(store).items()}

    with store.transaction() as session:  # empty the database
        session.execute(delete(Contact).where(Contact.company_id.is_not(None)))
        session.execute(delete(Contact))
        session.execute(update(NumberSeries).values(last_number=0))
    path = tmp_path / "export.csv"
    path.write_text(before.getvalue(), encoding="utf-8", newline="")
    result = import_contacts(store, path)
    assert (result.created, result.failed) == (3, 0)

    assert {no: _fields(c) for no, c in cards(store).items()} == snapshot
    after = io.StringIO()
    export_contacts(store, after, "csv")
    assert after.getvalue() == before.getvalue()


def _fields(contact: Contact) -> dict[str, object]:
    skip = {"id", "company_id", "created_at", "modified_at"}
    values = {
        c.key: getattr(contact, c.key) for c in Contact.__table__.columns if c.key not in skip
    }
    values["company"] = contact.company.no if contact.company else None
    return values


def test_vcard_export_parses_back_with_escaping_and_folding(store: Store) -> None:
    seed(store)
    name = "Acme; Tools, Parts \\ More — Ærøskøbing Værktøjsfabrik og Søn A/S, Ølstykke"
    with store.transaction() as session:
        acme = create_contact(
            session,
            ContactType.COMPANY,
            name,
            {"phone": "+31 20 555 0100", "city": "Ærøskøbing", "home_page": "acme.example"},
        )
        create_contact(
            session,
            ContactType.PERSON,
            "Jan de Vries",
            {"company": acme.no, "email": "jan@acme.example", "mobile": "06-12345678"},
        )
    out = io.StringIO()
    assert export_contacts(store, out, "vcard") == 2
    text = out.getvalue()
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    company, person = parse_vcards(text)
    assert company["VERSION"] == [("", "4.0")]
    assert company["KIND"] == [("", "org")]
    assert company["FN"] == [("", [name])]
    assert company["ORG"] == [("", [name])]
    assert any(line.startswith(" ") for line in text.split("\r\n"))  # FN and ORG folded
    assert company["ADR"] == [(";TYPE=work", ["", "", "", "Ærøskøbing", "", "", "Netherlands"])]
    assert company["TEL"] == [(";VALUE=uri;TYPE=work", "tel:+31205550100")]
    assert company["URL"] == [("", "https://acme.example")]
    assert person["KIND"] == [("", "individual")]
    assert person["N"] == [("", ["Vries", "Jan", "de", "", ""])]
    assert person["ORG"] == [("", [name])]
    assert person["EMAIL"] == [(";TYPE=work", ["jan@acme.example"])]
    assert sorted(person["TEL"]) == [
        (";VALUE=uri;TYPE=cell", "tel:+31612345678"),
        (";VALUE=uri;TYPE=work", "tel:+31205550100"),  # inherited from the company
    ]
    assert person["UID"][0][1].startswith("urn:uuid:")
    assert person["UID"] != company["UID"]


#: Compound properties (RFC 6350 §3.4: `;` separates their components) and plain text ones
#: (a `;` is a character there, written without a backslash).
COMPOUND = {"N", "ADR", "ORG"}
STRUCTURED = {*COMPOUND, "FN", "EMAIL", "TITLE", "NOTE"}


def parse_vcards(text: str) -> list[dict[str, list[tuple[str, object]]]]:
    """A strict reader for the test: CRLF only, unfold, split on unescaped ; and unescape."""
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    unfolded = text.replace("\r\n ", "").split("\r\n")[:-1]
    found: list[dict[str, list[tuple[str, object]]]] = []
    for line in unfolded:
        name_params, _, value = line.partition(":")
        name, _, params = name_params.partition(";")
        params = f";{params}" if params else ""
        if name == "BEGIN":
            found.append({})
            continue
        if name == "END":
            continue
        parsed: object = _components(value, name in COMPOUND) if name in STRUCTURED else value
        found[-1].setdefault(name, []).append((params, parsed))
    return found


def _components(value: str, compound: bool) -> list[str]:
    parts, current, chars = [], "", iter(value)
    for char in chars:
        if char == "\\":
            escaped = next(chars)
            assert compound or escaped != ";", f"needless \\; in {value!r}"
            current += {"n": "\n", "N": "\n"}.get(escaped, escaped)
        elif char == ";" and compound:
            parts.append(current)
            current = ""
        else:
            assert char != ",", f"unescaped comma in {value!r}"
            current += char
    return [*parts, current]


def test_fold_never_splits_a_character() -> None:
    line = "NOTE:" + "é" * 80
    folded = fold(line)
    pieces = folded.split("\r\n")
    assert all(len(piece.encode()) <= 75 for piece in pieces)
    assert all(piece.startswith(" ") for piece in pieces[1:])
    assert folded.replace("\r\n ", "") == line


def test_parallel_workers_number_in_file_order_like_one(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forked workers validate interleaved chunks; the numbers must not notice."""
    monkeypatch.setattr(import_validation, "CHUNK", 3)
    lines = ["type,name,company,email"]
    for index in range(40):
        if index % 4 == 0:
            lines.append(f"company,Company {index},,")
        elif index % 7 == 0:
            lines.append(f"person,Bad {index},Nowhere {index},")
        else:
            lines.append(f"person,Person {index},Company {index - index % 4},")
    path = write(tmp_path, "\n".join(lines) + "\n")
    result = import_contacts(store, path, workers=2)
    assert (result.created, result.failed) == (36, 4)
    expected = [line.split(",")[1] for line in lines[1:] if ",Bad " not in line]
    contacts = cards(store)
    assert [contacts[f"CT{n:06d}"].name for n in range(1, 37)] == expected
    assert contacts["CT000003"].company.name == "Company 0"
    assert [row["line"] for row in report(path)] == ["9", "16", "23", "37"]


def test_cli_import_and_export_in_a_subprocess(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    env = {
        **os.environ,
        "CONTACTBOT_DATABASE_URL": database_url,
        "CONTACTBOT_DATA_DIR": str(tmp_path / "data"),
    }
    path = write(tmp_path, "type,name,company\ncompany,Acme,\nperson,Bad,Nowhere Inc\n")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(CONTACTBOT), "--config", str(config), *args]
        done = subprocess.run(command, env=env, capture_output=True, timeout=120)
        out, err = done.stdout.decode(), done.stderr.decode()  # keep the CRLFs
        return subprocess.CompletedProcess(command, done.returncode, out, err)

    imported = run("import", "contacts", str(path))
    assert imported.returncode == 1, imported.stderr
    assert "1 contacts created, 1 rows refused" in imported.stdout
    assert str(tmp_path / "contacts.errors.csv") in imported.stdout
    assert imported.stderr == ""  # no progress bar when stderr is not a terminal

    exported = run("export", "contacts", "--format", "csv", "-o", str(tmp_path / "out.csv"))
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "out.csv").read_text().splitlines()[1].startswith("CT000001,company,Acme")

    vcards = run("export", "contacts", "--format", "vcard")
    assert vcards.returncode == 0 and "FN:Acme\r\n" in vcards.stdout

    refused = run("import", "contacts", str(write(tmp_path, "nam\nx\n", "bad.csv")))
    assert refused.returncode == 2
    assert "no column of the header names a field (`nam`)" in refused.stderr
    assert "Traceback" not in refused.stderr
