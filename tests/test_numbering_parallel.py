"""Numbers stay unique and consecutive when many contacts are created at once: workers that
each run their own transactions, all started together."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.registry import build_registry
from bot.runtime import build_app
from storage.contacts import create_contact
from storage.database import Store
from storage.models import Contact, ContactType

WORKERS = 8
CREATES = 25


def _numbers(store: Store) -> list[str]:
    with store.transaction() as session:
        return list(session.scalars(select(Contact.no).order_by(Contact.no)))


def test_parallel_creates_get_unique_consecutive_numbers(database_url: str) -> None:
    """The store's own proof, without the dispatcher's retries: every create must succeed."""
    store = Store(database_url)
    start = threading.Barrier(WORKERS)
    try:

        def worker(index: int) -> list[str]:
            start.wait()
            taken = []
            for round_ in range(CREATES):
                with store.transaction() as session:  # one transaction per create
                    contact = create_contact(
                        session, ContactType.COMPANY, f"Worker {index} company {round_}"
                    )
                    taken.append(contact.no)
            return taken

        with ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(worker, range(WORKERS)))
        taken = [no for result in results for no in result]
        expected = [f"CT{n:06d}" for n in range(1, WORKERS * CREATES + 1)]
        assert len(set(taken)) == len(taken) == WORKERS * CREATES
        assert sorted(taken) == expected
        assert _numbers(store) == expected
        for result in results:  # each worker saw its own numbers rise
            assert result == sorted(result)
    finally:
        store.dispose()


def _parallel_chat(settings: Settings, workers: int, creates: int) -> list[str]:
    app = build_app(settings, build_registry(["contacts"]))
    start = threading.Barrier(workers)
    try:

        def worker(index: int) -> list[str]:
            start.wait()
            return [
                app.run(f'new person "Worker{index} Person{round_}"').text
                for round_ in range(creates)
            ]

        with ThreadPoolExecutor(workers) as pool:
            texts = [text for result in pool.map(worker, range(workers)) for text in result]
        failures = [text for text in texts if not text.startswith("Created person CT")]
        assert not failures, failures
        return _numbers(app.store)
    finally:
        app.close()


def test_parallel_commands_on_postgresql_get_unique_consecutive_numbers(
    postgres_url: str, tmp_path: Path
) -> None:
    numbers = _parallel_chat(Settings(data_dir=tmp_path, database_url=postgres_url), 6, 10)
    assert numbers == [f"CT{n:06d}" for n in range(1, 61)]


def test_parallel_commands_on_sqlite_get_unique_consecutive_numbers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'contactbot.db'}"
    caplog.set_level(logging.INFO, logger="bot.dispatcher")
    numbers = _parallel_chat(Settings(data_dir=tmp_path, database_url=url), 8, 10)
    assert numbers == [f"CT{n:06d}" for n in range(1, 81)]
    assert not [r for r in caplog.records if "running it again" in r.getMessage()]
