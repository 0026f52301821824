"""Benchmark of the store at scale: seed N contacts, then time `find`, `new` and the import.

    python bench/bench_store.py 100000 1000000
    python bench/bench_store.py 1000000 --no-sqlite          # PostgreSQL only
    python bench/bench_store.py 1000000 --keep /tmp/bench --reuse   # seed once, measure again

For each size N: bench/bench_import.py's generator writes N realistic rows (companies like
"Acme 1234 Holding" sharing a few words, persons with ten first names and nine surnames, mixed
phone formats, a few bad rows) and `storage.importing.import_contacts` seeds them into a fresh
SQLite file and into the PostgreSQL database `contactbot_bench` (dropped and created again via
the `postgres` database of --postgres; never the test suite's `test` database). The import's
wall time is the import figure. Then, through the real dispatcher (bot.runtime.build_app(...)
.run(...), one transaction per command, as the shell runs them):

- find: --queries queries drawn from random seeded contacts, in five kinds: an exact name, a
  name with one typo, a partial company name (two words, one of them typo'd half the time), an
  email, and the last seven phone digits. Each is timed once after a warm-up; `found` is the
  share whose contact (or, for a name query, a contact of the same name) is among the ≤10 rows.
- create: --creates commands alternating `new company …` and `new person … company=CT…`.

Prints one line per backend and size (p50/p95 in milliseconds), then find per kind.
--reuse keeps an already seeded database (with --keep for SQLite) and skips the import.
The store is opened with the installed plugins' rules (bot.runtime.default_rules), so the
import includes the duplicate keys and pairs, written as the import writes each batch
(storage/duplicates/bulk.py); --no-keys opens it without them (the import as it was before
issue 13). Figures are noisy on a shared machine: compare runs made together; the import line
also gives the CPU seconds of this process and its workers (not the database server's) and
the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import generate, prepare
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.registry import build_registry
from bot.runtime import build_app, default_rules
from storage.database import Store
from storage.importing.contacts import import_contacts
from storage.normalize import digits, fold

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/"
KINDS = ("exact", "typo", "partial", "email", "phone")


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    no: str  # the contact it was drawn from
    name: str  # folded name that also counts as found (name kinds), else ""


@dataclass
class Result:
    backend: str
    rows: int
    import_s: float | None
    find_ms: dict[str, list[float]]
    found: dict[str, list[bool]]
    create_ms: list[float]


def _typo(word: str, rng: random.Random) -> str:
    """One edit (drop, swap, replace, double a letter) inside `word`, never its first letter."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("drop", "swap", "replace", "double"))
    if edit == "drop":
        return word[:i] + word[i + 1 :]
    if edit == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if edit == "replace":
        letter = rng.choice([c for c in "aeiourstnl" if c != word[i]])
        return word[:i] + letter + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _typo_text(text_: str, rng: random.Random) -> str:
    words = text_.split()
    longest = max(range(len(words)), key=lambda i: (words[i].isalpha(), len(words[i])))
    words[longest] = _typo(words[longest], rng)
    return " ".join(words)


def make_queries(store: Store, count: int, seed: int = 7) -> list[Query]:
    """`count` queries drawn from random contacts of the seeded store."""
    rng = random.Random(seed)
    with store.engine.connect() as connection:
        top = connection.execute(text("SELECT MAX(id) FROM contacts")).scalar() or 0
        ids = rng.sample(range(1, top + 1), min(top, count * 3))
        rows = connection.execute(
            text(
                "SELECT no, type, name, company_name, email, phone, mobile FROM contacts "
                "WHERE id IN (" + ",".join(str(i) for i in ids) + ")"
            )
        ).all()
    rng.shuffle(rows)
    queries: list[Query] = []
    per_kind = max(1, count // len(KINDS))
    pools = {kind: list(rows) for kind in KINDS}
    for kind in KINDS:
        made = 0
        for no, _type, name, company, email, phone, mobile in pools[kind]:
            if made == per_kind:
                break
            if kind == "exact":
                query = Query(kind, name, no, fold(name))
            elif kind == "typo":
                query = Query(kind, _typo_text(name, rng), no, fold(name))
            elif kind == "partial":
                source = company or name
                if _type != "company" and not company:
                    continue
                words = source.split()[:2]
                if rng.random() < 0.5:
                    words[0] = _typo(words[0], rng)
                query = Query(kind, " ".join(words).lower(), no if not company else "", "")
                if company:  # the person's company is the answer: found by its name
                    query = Query(kind, query.text, "", "company:" + fold(company))
            elif kind == "email":
                if not email:
                    continue
                query = Query(kind, email, no, "")
            else:
                number = digits(phone or mobile or "")
                if len(number) < 7:
                    continue
                query = Query(kind, number[-7:], no, "")
            queries.append(query)
            made += 1
    rng.shuffle(queries)
    return queries


def _is_found(query: Query, rows: tuple[tuple[str, ...], ...]) -> bool:
    for no, _type, name, _company, _city in rows:
        if query.no and no == query.no:
            return True
        if query.name.startswith("company:"):
            if _type == "company" and fold(name) == query.name[8:]:
                return True
        elif query.name and fold(name) == query.name:
            return True
    return False


def _word(rng: random.Random) -> str:
    """A made-up word of two or three syllables (capitalised), such as `Tomeka`."""
    syllables = [
        rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(rng.choice((2, 3)))
    ]
    return "".join(syllables).capitalize()


def _quote(text_: str) -> str:
    return text_.replace('"', "")


def measure(
    label: str, url: str, work: Path, rows: int, queries: int, creates: int, seeded: float | None
) -> Result:
    settings = Settings(data_dir=work / "data", database_url=url)
    app = build_app(settings, build_registry())
    store = app.store
    batch = make_queries(store, queries)
    for query in batch[:20]:  # warm-up: connections, caches, the plan cache
        app.run(f"find {_quote(query.text)}")
    find_ms: dict[str, list[float]] = {kind: [] for kind in KINDS}
    found: dict[str, list[bool]] = {kind: [] for kind in KINDS}
    for query in batch:
        started = time.perf_counter()
        reply = app.run(f"find {_quote(query.text)}")
        find_ms[query.kind].append((time.perf_counter() - started) * 1000)
        table_rows = reply.table.rows if reply.table else ()
        found[query.kind].append(_is_found(query, table_rows))
    with store.engine.connect() as connection:
        company_no = connection.execute(
            text("SELECT no FROM contacts WHERE type = 'company' ORDER BY id LIMIT 1")
        ).scalar()
    create_ms: list[float] = []
    rng = random.Random(time.time_ns())
    for i in range(creates):
        # Names made of random syllables: new contacts unlike each other and the seed, as most
        # real creates are (numbered look-alikes would time a storm of duplicate pairs).
        if i % 2 == 0:
            name, phone = f"{_word(rng)} {_word(rng)} Holding", f"+47 22 {rng.randrange(10**6):06d}"
            line = f'new company "{name}" city=Oslo phone="{phone}"'
        else:
            first, last = _word(rng), _word(rng)
            line = f'new person "{first} {last}" company={company_no} email={first}.{last}@b.no'
        started = time.perf_counter()
        reply = app.run(line)
        create_ms.append((time.perf_counter() - started) * 1000)
        assert reply.ok, reply.text
    app.close()
    return Result(label, rows, seeded, find_ms, found, create_ms)


def _pct(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(result: Result) -> None:
    every = [ms for values in result.find_ms.values() for ms in values]
    hits = [ok for values in result.found.values() for ok in values]
    seeded = f"{result.import_s:8.1f}" if result.import_s is not None else "  (kept)"
    print(
        f"{result.backend:<10} {result.rows:>9}  import {seeded} s  "
        f"find p50 {_pct(every, 50):6.1f} p95 {_pct(every, 95):6.1f} max {max(every):6.1f} ms  "
        f"found {100 * sum(hits) / len(hits):5.1f}% of {len(hits)}  "
        f"create p50 {_pct(result.create_ms, 50):5.1f} ms (n={len(result.create_ms)})",
        flush=True,
    )
    for kind in KINDS:
        values = result.find_ms[kind]
        if values:
            share = 100 * sum(result.found[kind]) / len(values)
            print(
                f"    find {kind:<8} p50 {_pct(values, 50):6.1f} p95 {_pct(values, 95):6.1f} "
                f"max {max(values):6.1f} ms  found {share:5.1f}% (n={len(values)})",
                flush=True,
            )


def _store(url: str, args: argparse.Namespace) -> Store:
    return Store(url, None if args.no_keys else default_rules())


def _seed(store: Store, csv_path: Path) -> float:
    prepare(store)
    cpu = _cpu_seconds()
    started = time.perf_counter()
    result = import_contacts(store, csv_path)
    seconds = time.perf_counter() - started
    print(
        f"  imported {result.created} ({result.failed} refused, {result.left_out} without a "
        f"value) in {seconds:.1f} s, {_cpu_seconds() - cpu:.1f} s CPU, "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return seconds


def _cpu_seconds() -> float:
    """User and system CPU seconds of this process and its finished children (the import's
    validation workers)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _has_rows(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text("SELECT COUNT(*) FROM contacts")).scalar())
    except Exception:
        return False
    finally:
        engine.dispose()


def run_sqlite(args: argparse.Namespace, work: Path, rows: int, csv_path: Path) -> Result:
    path = work / f"bench-{rows}.db"
    url = f"sqlite:///{path}"
    seconds = None
    if not (args.reuse and path.exists() and _has_rows(url)):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        store = _store(url, args)
        seconds = _seed(store, csv_path)
        store.dispose()
    return measure("sqlite", url, work, rows, args.queries, args.creates, seconds)


def run_postgres(args: argparse.Namespace, work: Path, rows: int, csv_path: Path) -> Result:
    server = make_url(args.postgres)
    url = server.set(database=args.pg_database).render_as_string(hide_password=False)
    seconds = None
    if not (args.reuse and _has_rows(url)):
        admin_url = server.set(database="postgres").render_as_string(hide_password=False)
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{args.pg_database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{args.pg_database}"'))
        admin.dispose()
        store = _store(url, args)
        seconds = _seed(store, csv_path)
        with store.engine.connect() as connection:  # what autovacuum would do soon after
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE contacts")
            )
        store.dispose()
    return measure("postgresql", url, work, rows, args.queries, args.creates, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, nargs="*", default=[100_000])
    parser.add_argument("--postgres", metavar="URL", default=POSTGRES, help="server URL")
    parser.add_argument("--pg-database", default="contactbot_bench")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-keys", action="store_true", help="import without duplicate keys")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--creates", type=int, default=100)
    parser.add_argument("--keep", metavar="DIR", help="keep the CSV and SQLite files here")
    parser.add_argument("--reuse", action="store_true", help="measure an already seeded db")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as scratch:
        work = Path(args.keep or scratch)
        work.mkdir(parents=True, exist_ok=True)
        results = []
        for rows in args.rows:
            csv_path = work / f"contacts-{rows}.csv"
            if not csv_path.exists():
                generate(csv_path, rows)
            if not args.no_sqlite:
                results.append(run_sqlite(args, work, rows, csv_path))
                report(results[-1])
            if not args.no_postgres:
                results.append(run_postgres(args, work, rows, csv_path))
                report(results[-1])
        if len(results) > 1:
            print("\nsummary")
            for result in results:
                report(result)


if __name__ == "__main__":
    main()
