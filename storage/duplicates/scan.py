"""`dupes scan`: rebuild every contact's keys and every open pair in one pass.

The contacts are read once (streamed), keyed, and their keys written in bulk; the blocks are
then held in memory as key hash -> positions, each contact is compared with the contacts that
share a usable key with it, and the open pairs are rewritten. Separate pairs are never
touched, and a pair found again keeps its first-found time (the digest reports new pairs).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from storage.csv_import import NoProgress, Progress
from storage.duplicates.index import COLUMNS, data_from_row
from storage.duplicates.keys import BLOCK_LIMIT, key_weight
from storage.duplicates.matcher import Matcher, Prepared
from storage.duplicates.models import OPEN, SEPARATE, DupeKey, DupePair
from storage.models import Contact

READ_CHUNK = 5_000
WRITE_CHUNK = 20_000


@dataclass(frozen=True)
class ScanResult:
    contacts: int
    keys: int
    compared: int
    pairs: int
    seconds: float

    def summary(self) -> str:
        return (
            f"Scanned {self.contacts} contacts in {self.seconds:.1f} s: {self.compared} pairs "
            f"compared, {self.pairs} possible duplicates."
        )


def _write_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), WRITE_CHUNK):
        session.execute(insert(table), rows[start : start + WRITE_CHUNK])


def scan(
    session: Session, progress: Progress | None = None, matcher: Matcher | None = None
) -> ScanResult:
    started = time.perf_counter()
    progress = progress or NoProgress()
    matcher = matcher or Matcher.from_settings(session)
    session.flush()
    total = session.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1)) or 0
    count = session.query(Contact).count() if total else 0

    # 1. read, key, and write the keys
    progress.stage("Keying contacts", count)
    session.execute(delete(DupeKey))
    prepared: list[Prepared] = []
    hashes: list[tuple[int, ...]] = []
    blocks: dict[int, Any] = {}
    weights: dict[int, int] = {}
    pending: list[dict[str, Any]] = []
    written = 0
    rows = session.execute(
        select(*COLUMNS).order_by(Contact.id).execution_options(yield_per=READ_CHUNK)
    )
    for row in rows:
        item = matcher.prepare(data_from_row(row))
        position = len(prepared)
        prepared.append(item)
        own: list[int] = []
        for key in item.keys:
            pending.append({"contact_id": item.data.id, "value": key})
            h = hash(key)
            own.append(h)
            members = blocks.get(h)
            if members is None:
                blocks[h] = [position]
                weights[h] = key_weight(key)
            elif members is not False:
                members.append(position)
                if len(members) > BLOCK_LIMIT:
                    blocks[h] = False  # too common to say anything
        hashes.append(tuple(own))
        if len(pending) >= WRITE_CHUNK:
            _write_rows(session, DupeKey, pending)
            written += len(pending)
            pending = []
        if position % 1000 == 999:
            progress.advance(1000)
    rows.close()
    _write_rows(session, DupeKey, pending)
    written += len(pending)
    progress.advance(len(prepared) % 1000)

    # 2. compare each contact with those after it that share a usable key
    progress.stage("Comparing", len(prepared))
    found: dict[tuple[int, int], Any] = {}
    compared = 0
    for position, item in enumerate(prepared):
        shared: Counter[int] = Counter()
        for h in hashes[position]:
            members = blocks[h]
            if members is False or len(members) < 2:
                continue
            weight = weights[h]
            for other in members:
                if other > position:
                    shared[other] += weight
        for other_position, weight in shared.items():
            other = prepared[other_position]
            if not matcher.worth_scoring(item, other, weight):
                continue
            compared += 1
            verdict = matcher.judge(item, other)
            if verdict is not None:
                a, b = item.data.id, other.data.id
                found[(a, b) if a < b else (b, a)] = verdict
        if position % 1000 == 999:
            progress.advance(1000)
    progress.advance(len(prepared) % 1000)
    del blocks, hashes

    # 3. rewrite the open pairs; separate pairs stay as they are
    progress.stage("Writing pairs", len(found))
    separate: set[tuple[int, int]] = set()
    first_seen: dict[tuple[int, int], dt.datetime] = {}
    for a, b, status, created in session.execute(
        select(DupePair.contact_id_1, DupePair.contact_id_2, DupePair.status, DupePair.created_at)
    ):
        if status == SEPARATE:
            separate.add((a, b))
        else:
            first_seen[(a, b)] = created
    session.execute(delete(DupePair).where(DupePair.status == OPEN))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    new_rows = [
        {
            "contact_id_1": a,
            "contact_id_2": b,
            "score": verdict.score,
            "method": matcher.method,
            "why": verdict.as_json(),
            "status": OPEN,
            "created_at": first_seen.get((a, b), now),
            "updated_at": now,
        }
        for (a, b), verdict in sorted(found.items())
        if (a, b) not in separate
    ]
    _write_rows(session, DupePair, new_rows)
    progress.advance(len(found))
    session.expire_all()
    return ScanResult(
        len(prepared), written, compared, len(new_rows), time.perf_counter() - started
    )
