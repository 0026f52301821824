"""Benchmark of `contactbot import contacts`: generate N realistic rows, time the import.

    python bench/bench_import.py 100000
    python bench/bench_import.py 1000000 --postgres postgresql+psycopg://postgres@127.0.0.1/bench

The file has companies (about 1 row in 5) and persons; about 20% of the persons name their
company (by exact name), phones come in mixed formats (international, national with the
default country, with dashes and brackets), most rows have an email, and about 0.5% of the rows
are bad (an email without @, an unknown country) so that the failure report is exercised too.
SQLite runs on a fresh file in a temporary directory; PostgreSQL on the given database, which
must exist and be empty (it is migrated here). Prints rows/s and total seconds per backend.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.database import Store
from storage.importing.contacts import import_contacts
from storage.models import CountryRegion, Language, Salesperson, Territory
from storage.setup import update_setup

HEADER = [
    "type",
    "name",
    "first_name",
    "surname",
    "company",
    "job_title",
    "address",
    "city",
    "post_code",
    "country",
    "phone",
    "mobile",
    "email",
    "salesperson",
]
FIRST = ["Jan", "Piet", "Anna", "Sanne", "Lars", "Ingrid", "Sofie", "Mark", "Eva", "Noah"]
SURNAMES = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Hansen", "Olsen", "Berg", "Dijk"]
CITIES = [("Amsterdam", "NL", "1015"), ("Oslo", "NO", "0150"), ("Antwerpen", "BE", "2000")]
WORDS = ["Acme", "Nord", "Blue", "Delta", "Polder", "Fjord", "Tulip", "Vector", "Orbit"]
LEGAL = ["B.V.", "AS", "NV", "Holding", "Group"]


def _phone(rng: random.Random, country: str) -> str:
    digits = f"{rng.randrange(10**7):07d}"
    if country == "NL":
        return rng.choice(
            [
                f"+31 20 {digits[:3]} {digits[3:]}",
                f"020-{digits}",
                f"(020) {digits[:3]} {digits[3:]}",
            ]
        )
    if country == "NO":
        return rng.choice([f"+47 2{digits[:3]} {digits[3:7]}", f"2{digits[:3]}{digits[3:7]}"])
    return rng.choice([f"+32 3 {digits[:3]} {digits[3:7]}", f"03 {digits[:3]} {digits[3:7]}"])


def _company(rng: random.Random, index: int) -> tuple[str, list[str]]:
    name = f"{rng.choice(WORDS)} {index} {rng.choice(LEGAL)}"
    city, country, post = rng.choice(CITIES)
    email = f"info@{name.split()[0].lower()}{index}.example"
    row = ["company", name, "", "", "", "", f"Main Street {index % 300 + 1}", city, post, country]
    row += [_phone(rng, country), "", email, rng.choice(["", "SP1", "SP2"])]
    return name, row


def _person(rng: random.Random, index: int, companies: list[str]) -> list[str]:
    first, surname = rng.choice(FIRST), rng.choice(SURNAMES)
    company = rng.choice(companies) if companies and rng.random() < 0.2 else ""
    city, country, post = ("", "", "") if company else rng.choice(CITIES)
    email = f"{first.lower()}.{surname.replace(' ', '').lower()}{index}@mail{index % 97}.example"
    if rng.random() < 0.005:
        email = email.replace("@", " at ")  # a bad row
    mobile = f"+31 6 {rng.randrange(10**8):08d}" if rng.random() < 0.5 else ""
    return [
        "person",
        "",
        first,
        surname,
        company,
        rng.choice(["", "Sales", "CFO", "Buyer"]),
        "" if company else f"Side Road {index % 500 + 1}",
        city,
        post,
        country,
        _phone(rng, country or "NL"),
        mobile,
        email if rng.random() < 0.9 else "",
        "",
    ]


def generate(path: Path, count: int, seed: int = 1) -> None:
    """Write `count` rows: a company every fifth row, persons naming earlier or later ones."""
    import csv

    rng = random.Random(seed)
    companies: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for index in range(count):
            if index % 5 == 0:
                name, row = _company(rng, index)
                companies.append(name)
                if rng.random() < 0.005:
                    row[9] = "XX"  # unknown country: a bad row
                writer.writerow(row)
            else:
                writer.writerow(_person(rng, index, companies[-2000:]))


def prepare(store: Store) -> None:
    """Migrate, and give the store the code tables and default country the file uses."""
    store.migrate()
    with store.transaction() as session:
        for code in ("NL", "NO", "BE"):
            session.add(CountryRegion(code=code, name=code))
        session.add(Language(code="NL", name="Dutch"))
        for code in ("SP1", "SP2"):
            session.add(Salesperson(code=code, name=code))
        session.add(Territory(code="NORTH", name="North"))
        session.flush()
        update_setup(session, {"default_country": "NL", "default_territory": "NORTH"})


def run(label: str, store: Store, path: Path, count: int) -> None:
    prepare(store)
    started = time.perf_counter()
    result = import_contacts(store, path)
    seconds = time.perf_counter() - started
    print(
        f"{label:<10} {count:>9} rows  {seconds:8.1f} s  {count / seconds:9.0f} rows/s  "
        f"({result.created} created, {result.failed} failed)",
        flush=True,
    )
    store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=100_000)
    parser.add_argument("--postgres", metavar="URL", help="an empty PostgreSQL database")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as directory:
        path = Path(directory) / "contacts.csv"
        started = time.perf_counter()
        generate(path, args.rows)
        size = path.stat().st_size / 1e6
        print(
            f"generated {args.rows} rows ({size:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        if not args.no_sqlite:
            run("sqlite", Store(f"sqlite:///{Path(directory) / 'bench.db'}"), path, args.rows)
        if args.postgres:
            run("postgresql", Store(args.postgres), path, args.rows)


if __name__ == "__main__":
    main()
