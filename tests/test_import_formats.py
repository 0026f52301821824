"""The import reads the files people have (issue 14): code pages and UTF-16, semicolons and
tabs, Business Central's and Outlook's headers, vCards from phones and mail programs; a bad
value costs that value, not the row. On SQLite and PostgreSQL (the `store` fixture)."""

from __future__ import annotations

import codecs
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import or_, select

from bot.runtime import default_rules
from storage.contacts import create_contact
from storage.database import Store
from storage.duplicates.models import DupeKey, DupePair
from storage.errors import UserError
from storage.importing.contacts import import_contacts
from storage.importing.reading import detect_format
from storage.importing.salvage import field_of
from storage.importing.vcard import import_vcards
from storage.models import Contact, ContactType, CountryRegion
from storage.setup import update_setup
from tests.conftest import ChatBot
from tests.test_import_export import CONTACTBOT, cards, report
from tests.test_store_rules import assert_typed_again_warns, kbot, keys_current  # noqa: F401

BC_CAPTIONS = (
    "No.;Name;Type;Address;Post Code;City;Country/Region Code;Phone No.;E-Mail;Company No.\r\n"
    "K0001;Société Générale Côte d'Azur;Company;Rue de Lyon 1;06000;Nice;FR;"
    "+33 4 93 00 00 00;info@sg.example;\r\n"
    "K0002;Jürgen Müller-Lüdenscheidt;Person;;;;;;25.12.2020;K0001\r\n"
    "K0003;Ørsted Søn & Æble;Company;Kongens Nytorv 1;1050;København;;;;\r\n"
)


def countries(store: Store, *codes: str) -> None:
    """The country codes the rows use, which every database has (the ISO seed)."""
    with store.session() as session:
        assert all(session.get(CountryRegion, code) is not None for code in codes)


def by_name(store: Store) -> dict[str, Contact]:
    return {contact.name: contact for contact in cards(store).values()}


# --- CSV: encodings, delimiters, headers ---------------------------------------------------


def test_a_cp1252_semicolon_file_with_business_central_captions_keeps_its_accents(
    store: Store, tmp_path: Path
) -> None:
    countries(store, "FR")
    path = tmp_path / "bc-export.csv"
    path.write_bytes(BC_CAPTIONS.encode("cp1252"))
    assert detect_format(path).delimiter == ";"
    result = import_contacts(store, path)
    assert (result.created, result.failed) == (3, 0), result.summary()
    contacts = by_name(store)
    societe = contacts["Société Générale Côte d'Azur"]
    assert (societe.no, societe.city, societe.country) == ("K0001", "Nice", "FR")
    assert societe.email == "info@sg.example"
    jurgen = contacts["Jürgen Müller-Lüdenscheidt"]
    assert jurgen.type is ContactType.PERSON and jurgen.company.no == "K0001"
    assert "Ørsted Søn & Æble" in contacts and contacts["Ørsted Søn & Æble"].city == "København"


def test_a_row_whose_e_mail_is_not_an_email_is_imported_without_it_and_reported(
    store: Store, tmp_path: Path
) -> None:
    countries(store, "FR")
    path = tmp_path / "bc-export.csv"
    path.write_bytes(BC_CAPTIONS.encode("cp1252"))
    result = import_contacts(store, path)
    assert (result.created, result.failed, result.left_out) == (3, 0, 1)
    assert "(1 without a value that was refused), 0 rows refused" in result.summary()
    jurgen = by_name(store)["Jürgen Müller-Lüdenscheidt"]
    assert jurgen.email == "" and jurgen.company.no == "K0001"  # the rest of the row is in
    [row] = report(path)
    assert (row["line"], row["outcome"], row["field"], row["value"]) == (
        "3",
        "imported without it",
        "email",
        "25.12.2020",
    )
    assert row["reason"].startswith("email: `25.12.2020` is not an email address")
    assert row["Name"] == "Jürgen Müller-Lüdenscheidt"  # the report is UTF-8, accents intact


def test_strict_refuses_the_row_instead(store: Store, tmp_path: Path) -> None:
    countries(store, "FR")
    path = tmp_path / "bc-export.csv"
    path.write_bytes(BC_CAPTIONS.encode("cp1252"))
    result = import_contacts(store, path, strict=True)
    assert (result.created, result.failed, result.left_out) == (2, 1, 0)
    assert [(r["line"], r["outcome"]) for r in report(path)] == [("3", "refused")]
    assert "Jürgen Müller-Lüdenscheidt" not in by_name(store)


def test_a_utf16_tab_separated_file_as_excel_saves_unicode_text(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "unicode.txt"
    text = "Name\tCity\tE-mail Address\r\nŁódź Spółka\tKraków\tbiuro@lodz.example\r\n"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert detect_format(path).delimiter == "\t"
    result = import_contacts(store, path)
    assert (result.created, result.failed) == (1, 0), result.summary()
    [contact] = cards(store).values()
    assert (contact.name, contact.city, contact.email) == (
        "Łódź Spółka",
        "Kraków",
        "biuro@lodz.example",
    )


def test_a_tab_file_and_the_overrides(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "tabs.tsv"
    path.write_text("name\tcity\nAcme; Beta\tLeiden, NL\n", encoding="utf-8")
    result = import_contacts(store, path)
    assert (result.created, result.failed) == (1, 0)
    [contact] = cards(store).values()
    assert (contact.name, contact.city) == ("Acme; Beta", "Leiden, NL")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name|city\nCafé Noël|Liège\n".encode("iso-8859-1"))
    result = import_contacts(store, latin, encoding="latin-1", delimiter="|")
    assert (result.created, result.failed) == (1, 0)
    assert by_name(store)["Café Noël"].city == "Liège"
    with pytest.raises(UserError, match="Unknown encoding `klingon`"):
        import_contacts(store, latin, encoding="klingon")
    with pytest.raises(UserError, match="give one character"):
        import_contacts(store, latin, delimiter="ab")


def test_outlook_headers_take_the_business_address_whole(store: Store, tmp_path: Path) -> None:
    countries(store, "NL")
    header = [
        "Title", "First Name", "Middle Name", "Last Name", "Company", "Job Title",
        "Business Street", "Business City", "Business Postal Code", "Business Country/Region",
        "Home Street", "Home City", "Home Postal Code", "Business Phone", "Home Phone",
        "Mobile Phone", "E-mail Address", "E-mail 2 Address", "Web Page", "Categories",
    ]  # fmt: skip
    rows = [
        ["", "Anna", "", "Bakker", "Acme Trading", "Buyer", "Damrak 1", "Amsterdam", "1012 LG",
         "NL",
         "Thuisweg 2", "Haarlem", "2011 AA", "+31 20 555 0101", "+31 23 555 0102",
         "+31 6 1234 5678", "anna@acme.example", "anna@home.example", "acme.example", "VIP"],
        ["Mr.", "Bram", "", "de Vries", "", "", "", "", "", "", "Thuisweg 9", "Haarlem",
         "2011 AB", "", "+31 23 555 0103", "", "", "bram@home.example", "", ""],
        ["", "", "", "", "Acme Trading", "", "", "Amsterdam", "", "", "", "", "", "", "", "",
         "", "", "", ""],  # only a company: that company, which Anna joins
    ]  # fmt: skip
    path = tmp_path / "outlook.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    result = import_contacts(store, path)
    assert (result.created, result.failed) == (3, 0), result.summary()
    assert result.summary().count("`Title`") == 1 and "`Categories`" in result.summary()
    contacts = {c.surname or c.name: c for c in cards(store).values()}
    anna, bram = contacts["Bakker"], contacts["de Vries"]
    acme = contacts["Acme Trading"]
    assert acme.type is ContactType.COMPANY and anna.company.no == acme.no
    assert (anna.first_name, anna.job_title, anna.type) == ("Anna", "Buyer", ContactType.PERSON)
    assert (anna.address, anna.city, anna.post_code) == ("Damrak 1", "Amsterdam", "1012 LG")
    assert (anna.phone, anna.mobile) == ("+31 20 555 0101", "+31 6 1234 5678")
    assert (anna.email, anna.home_page) == ("anna@acme.example", "acme.example")
    # no business address: the home one, whole; the second email when the first is blank
    assert (bram.address, bram.city, bram.post_code) == ("Thuisweg 9", "Haarlem", "2011 AB")
    assert (bram.phone, bram.email) == ("+31 23 555 0103", "bram@home.example")


# --- vCard ---------------------------------------------------------------------------------

GOOGLE_30 = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:Jansen;Eva;Maria;;\r\n"
    "FN:Eva Maria Jansen\r\n"
    "ORG:Acme Holding B.V.;Inkoop\r\n"
    "TITLE:Head of Purchasing\r\n"
    "TEL;TYPE=CELL:+31 6 1234 5678\r\n"
    "TEL;TYPE=WORK,VOICE:+31 20 555 0100\r\n"
    "TEL;TYPE=WORK,FAX:+31 20 555 0199\r\n"
    "EMAIL;TYPE=INTERNET,HOME:eva@home.example\r\n"
    "EMAIL;TYPE=INTERNET,WORK:eva.jansen@acme.example\r\n"
    "ADR;TYPE=HOME:;;Thuisweg 1;Haarlem;;2011 AA;Netherlands\r\n"
    "ADR;TYPE=WORK:;;Keizersgracht 1\\nverdieping 3;Amsterdam;Noord-Holland;1015 CJ;Netherl\r\n"
    " ands\r\n"
    "URL:https://acme.example\r\n"
    "NOTE:Met at the fair\\, booth 12\r\n"
    "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U\r\n"
    " HRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAABAAEBAREA/8QAFAAB\r\n"
    "END:VCARD\r\n"
)
#: GOOGLE_30 whose addresses name a country no table has: its value is left out, not the card.
GOOGLE_30_ATLANTIS = GOOGLE_30.replace("Netherlands", "Atlantis").replace(
    "Netherl\r\n ands", "Atlan\r\n tis"
)
OUTLOOK_21 = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;LANGUAGE=de;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen M=C3=BCller\r\n"
    "ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Gro=C3=9Fhandel K=C3=B6ln GmbH\r\n"
    "TEL;WORK;VOICE:+49 221 555 0100\r\n"
    "TEL;CELL;VOICE:+49 170 555 0100\r\n"
    "ADR;WORK;PREF;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;Stra=C3=9Fe 1=0D=0A=\r\n"
    "Hinterhaus;K=C3=B6ln;;50667;DE\r\n"
    "EMAIL;PREF;INTERNET:juergen@grosshandel.example\r\n"
    "END:VCARD\r\n"
)
ONLY_ORG = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:org\r\nFN:Nordic Fjord AS\r\nORG:Nordic Fjord AS\r\n"
    "TEL;VALUE=uri;TYPE=work:tel:+47-22-55-01-00\r\nEND:VCARD\r\n"
)


def test_a_vcard_30_person_joins_its_company_which_is_created(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "google.vcf"
    path.write_text(GOOGLE_30, encoding="utf-8")
    countries(store, "NL")
    result = import_vcards(store, path)
    assert (result.created, result.failed, result.left_out) == (2, 0, 0), result.summary()
    assert "1 cards had a NOTE, which is not imported." in result.summary()
    contacts = by_name(store)
    acme, eva = contacts["Acme Holding B.V."], contacts["Eva Maria Jansen"]
    assert acme.type is ContactType.COMPANY
    assert eva.type is ContactType.PERSON and eva.company.no == acme.no
    assert (eva.first_name, eva.middle_name, eva.surname) == ("Eva", "Maria", "Jansen")
    assert eva.job_title == "Head of Purchasing"
    assert (eva.phone, eva.mobile) == ("+31 20 555 0100", "+31 6 1234 5678")  # no fax
    assert eva.email == "eva.jansen@acme.example"  # the work one
    assert (eva.address, eva.address_2, eva.city, eva.post_code, eva.county, eva.country) == (
        "Keizersgracht 1",
        "verdieping 3",
        "Amsterdam",
        "1015 CJ",
        "Noord-Holland",
        "NL",  # the folded line joined, the country's name read as its code
    )
    assert eva.home_page == "https://acme.example"


def test_vcards_of_outlook_21_quoted_printable_and_an_only_org_card(
    store: Store, tmp_path: Path
) -> None:
    countries(store, "DE", "NO")
    with store.transaction() as session:  # the company exists: the person joins it
        stored = create_contact(session, ContactType.COMPANY, "Großhandel Köln GmbH").no
    path = tmp_path / "outlook.vcf"
    path.write_bytes((OUTLOOK_21 + ONLY_ORG).encode("utf-8"))
    result = import_vcards(store, path)
    assert (result.created, result.failed, result.left_out) == (2, 0, 0), result.summary()
    contacts = by_name(store)
    jurgen = contacts["Jürgen Müller"]
    assert (jurgen.first_name, jurgen.surname) == ("Jürgen", "Müller")
    assert jurgen.company.no == stored
    assert (jurgen.address, jurgen.address_2, jurgen.city) == ("Straße 1", "Hinterhaus", "Köln")
    assert (jurgen.phone, jurgen.mobile) == ("+49 221 555 0100", "+49 170 555 0100")
    assert jurgen.email == "juergen@grosshandel.example"
    fjord = contacts["Nordic Fjord AS"]
    assert fjord.type is ContactType.COMPANY and fjord.phone == "tel:+47-22-55-01-00"


def test_a_bad_vcard_costs_itself_and_a_dry_run_writes_nothing(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.vcf"
    broken = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:;;;;\r\nEMAIL:nobody@example.org\r\nEND:VCARD\r\n"
    path.write_text(GOOGLE_30_ATLANTIS + broken + ONLY_ORG, encoding="utf-8")
    result = import_vcards(store, path, dry_run=True)
    assert (result.created, result.failed) == (3, 1), result.summary()
    assert "Dry run" in result.summary()
    assert cards(store) == {}
    refused = [row for row in report(path) if row["outcome"] == "refused"]
    assert len(refused) == 1 and "needs a name" in refused[0]["reason"]
    left_out = {row["field"] for row in report(path) if row["outcome"] != "refused"}
    assert left_out == {"country"}  # Atlantis: left out, the card imported


def test_a_vcard_that_is_not_one_is_refused_with_a_message(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "empty.vcf"
    path.write_text("name,city\nAcme,Leiden\n", encoding="utf-8")
    with pytest.raises(UserError, match="holds no vCard"):
        import_vcards(store, path)


# --- duplicate keys of imported rows --------------------------------------------------------


def test_a_vcard_company_is_offered_as_a_duplicate_when_typed_again(
    kbot: ChatBot,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "acme.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Acme Holding B.V.\r\nORG:Acme Holding B.V.\r\n"
        "ADR;TYPE=WORK:;;Keizersgracht 1;Amsterdam;;;\r\nTEL;TYPE=WORK:+31 20 555 0100\r\n"
        "END:VCARD\r\n",
        encoding="utf-8",
    )
    result = import_vcards(kbot.app.store, path)
    assert result.created == 1 and not result.failed, result.summary()
    assert keys_current(kbot, "CT000001")
    assert_typed_again_warns(kbot)


def test_an_import_into_a_filled_database_pairs_new_rows_with_stored_ones(
    database_url: str, tmp_path: Path
) -> None:
    """The keys path that keeps the value index (the table has more contacts than the file
    rows): the imported look-alike is paired with the contact typed before."""
    store = Store(database_url, default_rules())
    try:
        path = tmp_path / "first.csv"
        rows = "".join(f"company,Firm {n} Trading,Street {n},Town {n}\n" for n in range(30))
        path.write_text("type,name,address,city\n" + rows, encoding="utf-8")
        assert import_contacts(store, path).created == 30
        again = tmp_path / "again.csv"
        again.write_text(
            "type,name,address,city\ncompany,Firm 7 Trading BV,Street 7,Town 7\n",
            encoding="utf-8",
        )
        assert import_contacts(store, again).created == 1
        with store.session() as session:
            old = session.scalars(select(Contact.id).where(Contact.name == "Firm 7 Trading")).one()
            new = session.scalars(
                select(Contact.id).where(Contact.name == "Firm 7 Trading BV")
            ).one()
            pairs = session.execute(
                select(DupePair.contact_id_1, DupePair.contact_id_2).where(
                    or_(DupePair.contact_id_1 == new, DupePair.contact_id_2 == new)
                )
            ).all()
            assert (old, new) in [tuple(pair) for pair in pairs]
            assert session.scalars(select(DupeKey.value).where(DupeKey.contact_id == new)).all()
    finally:
        store.dispose()


def test_the_cli_imports_a_vcf_by_its_extension_and_takes_the_options(
    database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    env = {
        **os.environ,
        "CONTACTBOT_DATABASE_URL": database_url,
        "CONTACTBOT_DATA_DIR": str(tmp_path / "data"),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(CONTACTBOT), "--config", str(config), *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    path = tmp_path / "phone.vcf"
    path.write_text(GOOGLE_30_ATLANTIS, encoding="utf-8")
    dry = run("import", "contacts", str(path), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "phone.vcf: 2 contacts would be created (1 without a value" in dry.stdout
    strict = run("import", "contacts", str(path), "--strict")
    assert strict.returncode == 1, strict.stderr  # Eva's country `Atlantis` is unknown
    assert "1 contacts created, 1 rows refused" in strict.stdout
    semicolons = tmp_path / "excel.csv"
    semicolons.write_bytes("Name;City\r\nBrasserie Noël;Liège\r\n".encode("cp1252"))
    done = run("import", "contacts", str(semicolons), "--encoding", "cp1252", "--delimiter", ";")
    assert done.returncode == 0 and "1 contacts created, 0 rows refused" in done.stdout
    bad = run("import", "contacts", str(semicolons), "--encoding", "nope")
    assert bad.returncode == 2 and "Unknown encoding `nope`" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_which_field_a_refusal_names() -> None:
    fields = {"email": "x@", "country": "ZZ", "city": "Oslo", "job_title": "Boss"}
    assert field_of("email: `x@` is not an email address.", fields) == "email"
    assert field_of("job_title applies to persons only; a company.", fields) == "job_title"
    assert field_of("country/region `ZZ` does not exist. Add it …", fields) == "country"
    assert field_of("The number CT1 is taken already.", fields) is None
    assert field_of("name: 101 characters is too long", fields) is None  # not in the row


def test_a_company_row_loses_a_person_only_value_not_itself(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text("type,name,job_title,city\ncompany,Acme,Boss,Leiden\n", encoding="utf-8")
    result = import_contacts(store, path)
    assert (result.created, result.failed, result.left_out) == (1, 0, 1)
    [contact] = cards(store).values()
    assert (contact.name, contact.city, contact.job_title) == ("Acme", "Leiden", "")
    assert [row["field"] for row in report(path)] == ["job_title"]


IMPORT_IN_A_PROCESS = """
import sys
from pathlib import Path
from bot.runtime import default_rules
from storage.database import Store
from storage.importing.contacts import import_contacts
store = Store(sys.argv[1], default_rules())
result = import_contacts(store, Path(sys.argv[2]))
print(result.created, result.failed)
"""


def test_new_in_another_process_during_a_bulk_import(
    kbot: ChatBot,  # noqa: F811
    database_url: str,
    tmp_path: Path,
) -> None:
    """A first import (the bulk keys path: the value index dropped, on PostgreSQL the foreign
    key too, under a lock on contacts) while another process types `new`: both succeed, no
    deadlock, and the imported look-alike and the typed company end up a pair."""
    path = tmp_path / "many.csv"
    rows = "".join(f"company,Firm {n} Trading,Street {n},Town {n % 50}\n" for n in range(3000))
    path.write_text(
        "type,name,address,city,phone\n"
        "company,Acme Holding B.V.,Keizersgracht 1,Amsterdam,+31 20 555 0100\n" + rows,
        encoding="utf-8",
    )
    importer = subprocess.Popen(
        [sys.executable, "-c", IMPORT_IN_A_PROCESS, database_url, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    typed = 0
    while importer.poll() is None or typed == 0:
        reply = kbot.reply(f'new company "Typed {typed} Ltd" city=Utrecht')
        assert reply.ok, reply.text
        typed += 1
    out, err = importer.communicate(timeout=300)
    assert importer.returncode == 0, err
    assert out.split() == ["3001", "0"]
    reply = kbot.reply(
        'new company "Acme Holding BV" address="Keizersgracht 1" city=Amsterdam '
        'phone="+31 20 555 0100"'
    )
    assert reply.ok and any(note.startswith("possible duplicate of ") for note in reply.notes)


# --- numbers and blank rows at scale's edges ------------------------------------------------


def test_numbers_taken_across_a_width_skip_the_ones_on_a_contact(
    store: Store, tmp_path: Path
) -> None:
    """The series runs from one digit to two within the import (KT9, KT10): each width is
    asked for the numbers on a contact, and a taken one (KT12) is skipped, not duplicated."""
    with store.transaction() as session:
        update_setup(session, {"number_prefix": "KT", "number_width": 1})
        create_contact(session, ContactType.COMPANY, "Stored", no="KT12")
    path = tmp_path / "fifteen.csv"
    path.write_text(
        "type,name\n" + "".join(f"company,Firm {n}\n" for n in range(15)), encoding="utf-8"
    )
    result = import_contacts(store, path)
    assert (result.created, result.failed) == (15, 0), result.summary()
    numbers = {contact.name: contact.no for contact in cards(store).values()}
    expected = [f"KT{n}" for n in range(1, 17) if n != 12]
    assert [numbers[f"Firm {n}"] for n in range(15)] == expected
    assert numbers["Stored"] == "KT12"


def test_rows_of_only_blanks_are_skipped_and_a_guarded_formula_is_restored(
    store: Store, tmp_path: Path
) -> None:
    """White space only (`, ,\\t`) is no record; a `'` an export put before a formula-like
    cell comes off; line numbers stay the file's."""
    path = tmp_path / "blanks.csv"
    path.write_text(
        "type,name,city\n , ,\t\ncompany,'=Acme,Leiden\n,,\ncompany,Nord\nperson,,Delft",
        encoding="utf-8",
    )
    result = import_contacts(store, path)
    assert (result.created, result.failed) == (2, 1), result.summary()
    assert sorted(by_name(store)) == ["=Acme", "Nord"]
    assert [row["line"] for row in report(path)] == ["6"]
