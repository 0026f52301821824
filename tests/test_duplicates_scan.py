"""`dupes scan` against the rule it implements, on SQLite and PostgreSQL.

The scan streams: the database groups the keys into candidate pairs and Python holds each
contact as two packed strings. The oracle here is the rule written out plainly, all in
memory: every contact's keys, the blocks of 2 to BLOCK_LIMIT contacts, the evidence bits of
the keys two contacts share, the quick look, the score. The scan must find exactly the pairs
it finds, with the same scores and explanations, and leave exactly every contact's keys.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from storage.database import Store
from storage.duplicates import scan as scan_module
from storage.duplicates.index import COLUMNS, data_from_row
from storage.duplicates.keys import BLOCK_LIMIT, key_bit
from storage.duplicates.matcher import Matcher, Prepared
from storage.duplicates.models import DupeKey, DupePair
from storage.duplicates.normalize import ContactData, pack, profile, unpack
from storage.duplicates.scan import scan
from storage.duplicates.scoring import score_pair
from storage.duplicates.settings import update_settings
from storage.importing.contacts import import_contacts
from storage.models import Contact

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from bench_dupes_quality import synthetic, write_csv

Found = dict[tuple[int, int], tuple[float, str]]


def _one_domain(domain: str, count: int) -> list[dict[str, str]]:
    """`count` unlike companies that share only their email domain: one block of that size."""
    words = ["Alpha", "Brio", "Cobalt", "Delta", "Ember", "Fjord", "Garnet", "Helix", "Iris"]
    rng = random.Random(domain)
    return [
        {
            "type": "company",
            "name": f"{rng.choice(words)} {rng.choice(words)} {i} {domain[:4]}",
            "address": f"{rng.choice(words)}straat {i + 1}",
            "city": rng.choice(["Delft", "Breda", "Assen", "Venlo"]),
            "email": f"desk{i}@{domain}",
        }
        for i in range(count)
    ]


@pytest.fixture
def synthetic_store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    """1,500 synthetic companies and persons (typos, swapped words, near misses), and two
    groups of companies that share a domain: a block of BLOCK_LIMIT (used) and one of
    BLOCK_LIMIT + 1 (too common to say anything), imported."""
    rows, _ = synthetic(1500, seed=11)
    rows += _one_domain("limit.example", BLOCK_LIMIT) + _one_domain("over.example", BLOCK_LIMIT + 1)
    path = tmp_path / "contacts.csv"
    write_csv(rows, path)
    store = Store(database_url)
    import_contacts(store, path)
    yield store
    store.dispose()


def _prepared(store: Store, matcher: Matcher) -> list[Prepared]:
    with store.transaction() as session:
        rows = session.execute(select(*COLUMNS).order_by(Contact.id)).all()
    return [matcher.prepare(data_from_row(row)) for row in rows]


def _candidates(prepared: list[Prepared]) -> dict[tuple[int, int], int]:
    """(position, later position) -> OR of the bits of the usable keys the two share."""
    blocks: dict[str, list[int]] = {}
    for position, item in enumerate(prepared):
        for key in item.keys:
            blocks.setdefault(key, []).append(position)
    shared: dict[tuple[int, int], int] = {}
    for key, members in blocks.items():
        if 2 <= len(members) <= BLOCK_LIMIT:
            for pair in combinations(members, 2):
                shared[pair] = shared.get(pair, 0) | key_bit(key)
    return shared


def _oracle(prepared: list[Prepared], matcher: Matcher) -> tuple[Found, int]:
    """The pairs found and how many pairs were scored."""
    found: Found = {}
    compared = 0
    for (x, y), mask in _candidates(prepared).items():
        a, b = prepared[x], prepared[y]
        if not matcher.worth_scoring(a, b, mask):
            continue
        compared += 1
        if (verdict := matcher.judge(a, b)) is not None:
            found[(a.data.id, b.data.id)] = (verdict.score, verdict.as_json())
    return found, compared


def _scanned(store: Store) -> tuple[Found, int, set[tuple[int, str]]]:
    with store.transaction() as session:
        compared = scan(session).compared
    with store.transaction() as session:
        pairs = session.execute(
            select(DupePair.contact_id_1, DupePair.contact_id_2, DupePair.score, DupePair.why)
        ).all()
        keys = {
            (id_, value)
            for id_, value in session.execute(select(DupeKey.contact_id, DupeKey.value))
        }
    return {(a, b): (score, why) for a, b, score, why in pairs}, compared, keys


@pytest.mark.parametrize("method", ["default", "bc"])
def test_the_scan_finds_what_the_rule_finds(synthetic_store: Store, method: str) -> None:
    with synthetic_store.transaction() as session:
        update_settings(session, {"method": method})
        matcher = Matcher.from_settings(session)
    prepared = _prepared(synthetic_store, matcher)
    expected, scored = _oracle(prepared, matcher)
    assert len(expected) > 100  # the set is built to hold duplicates
    for rescan in (False, True):  # a rescan replaces keys and pairs with the same
        found, compared, keys = _scanned(synthetic_store)
        assert found == expected, rescan
        assert compared == scored, rescan
        assert keys == {(item.data.id, key) for item in prepared for key in item.keys}


def test_a_rescan_ends_as_a_first_scan_would(
    synthetic_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rescan rewrites only the keys that differ: here contacts renamed behind the store's
    back, 600 contacts imported since (no keys yet), a few deleted, and then the method
    changed (every key differs). Small batches, so that several ranges meet."""
    monkeypatch.setattr(scan_module, "READ_CHUNK", 200)
    _scanned(synthetic_store)
    with synthetic_store.transaction() as session:
        session.execute(text("UPDATE contacts SET name = name || ' Zuid' WHERE id % 7 = 0"))
        session.execute(text("DELETE FROM contacts WHERE id % 50 = 3"))
    more, _ = synthetic(600, seed=12)
    path = tmp_path / "more.csv"
    write_csv(more, path)
    import_contacts(synthetic_store, path)
    for method in ("default", "bc"):
        with synthetic_store.transaction() as session:
            update_settings(session, {"method": method})
            matcher = Matcher.from_settings(session)
        prepared = _prepared(synthetic_store, matcher)
        expected, scored = _oracle(prepared, matcher)
        found, compared, keys = _scanned(synthetic_store)
        assert (found, compared) == (expected, scored), method
        assert keys == {(item.data.id, key) for item in prepared for key in item.keys}


def test_the_score_floor_only_drops_pairs_below_it(synthetic_store: Store) -> None:
    """score_pair(a, b, floor) stops early on hopeless pairs: it must give None only where
    the full score is below the floor, and otherwise exactly the full result."""
    prepared = _prepared(synthetic_store, Matcher())
    stopped = 0
    for x, y in _candidates(prepared):
        a, b = prepared[x].state, prepared[y].state
        if a.company != b.company:
            continue
        full = score_pair(a, b)
        assert full is not None
        for floor in (20.0, 50.0, 80.0, 95.0, 100.0):
            early = score_pair(a, b, floor)
            if early is None:
                stopped += 1
                assert full.score < floor, (a, b, floor)
            else:
                assert early == full
    assert stopped > 0


def _data(**fields: Any) -> ContactData:
    base: dict[str, Any] = {"id": 1, "no": "CT000001", "type": "c", "name": "Acme Holding B.V."}
    return ContactData(**(base | fields))


@pytest.mark.parametrize(
    "data",
    [
        _data(),
        _data(type="p", name="", first_name="Jan Piet", surname="de Vries"),
        _data(address="Keizersgracht 1-3a", address_2="2e etage", city="Den Haag"),
        _data(post_code="1016 AB", vat_no="NL 8525.06.117.B01", email_normalized="a@acme.nl"),
        _data(phone_e164="+31205550100", mobile_e164="+31612345678"),
        _data(email_normalized="odd\x1fmail@acme.nl", phone_e164="+31\x1e20"),  # as JSON
        _data(name="Ærøskøbing Ølkompagni ApS", city="Århus"),
    ],
)
def test_a_packed_profile_unpacks_to_the_same_profile(data: ContactData) -> None:
    prepared = profile(data)
    assert unpack(pack(prepared)) == prepared


def test_packed_search_strings_unpack_in_setup_order() -> None:
    matcher = Matcher(method="bc")
    for name in ("Acme", "[[Acme", "Ac\x1fme", ""):
        item = matcher.prepare(_data(name=name, city="Delft", phone="+31 15 000"))
        packed = matcher.pack(item)
        assert packed[0] == "c"
        state = matcher.unpack(packed)
        assert state == item.state and list(state) == list(item.state)


def test_packed_state_starts_with_the_type(synthetic_store: Store) -> None:
    """The scan skips a pair whose packed states differ in their first letter (persons are
    never compared with companies); the keys hold the type too, so it never has to."""
    for method in ("default", "bc"):
        matcher = Matcher(method=method)
        prepared = _prepared(synthetic_store, matcher)
        assert {item.data.type for item in prepared} == {"c", "p"}
        assert all(matcher.pack(item)[0] == item.data.type for item in prepared)
