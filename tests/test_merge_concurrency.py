"""Issue 12's Done-when: merge and unmerge in a loop in one process while another process adds
persons to both companies, edits them and logs notes. Afterwards every person and note that
was confirmed to its sender exists (on the contact it was made on, since the loop ends with an
unmerge), and no command ended in the internal-error apology.

Both processes drive the real dispatcher through `build_app`, as the shell and Slack do; they
are spawned (not forked) so each opens its own engine and connections, like two contactbot
instances on one database.
"""

from __future__ import annotations

import multiprocessing
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.config import Settings
from bot.registry import build_registry
from bot.runtime import build_app
from storage.contacts import create_contact, delete_contact, get_by_no
from storage.database import Store
from storage.errors import UserError
from storage.models import Contact, ContactType, Interaction

#: The issue's number: how long the two processes work against each other, per backend.
SECONDS = 20.0
#: And a bound on the rounds, so the loops stop even on a machine far faster than expected.
MAX_ROUNDS = 5000
#: How long a process may take to start and finish, beyond SECONDS.
SLACK_SECONDS = 90.0
APOLOGY = "Sorry, that went wrong"
KEEP, DUP = "CT000001", "CT000002"
_CREATED = re.compile(r"^Created person (\S+):")
_MERGED = re.compile(r"^Merged \S+ into \S+ .*\(merge (\d+)\)")


def _app(url: str, data_dir: str) -> Any:
    return build_app(Settings(data_dir=Path(data_dir), database_url=url), build_registry())


def _merger(url: str, data_dir: str, start: Any, results: Any) -> None:
    """Merge DUP into KEEP and undo it, again and again; always ends unmerged."""
    app = _app(url, data_dir)
    texts: list[str] = []
    merges = unmerges = 0
    start.wait()
    deadline = time.monotonic() + SECONDS
    try:
        for round_ in range(MAX_ROUNDS):
            if time.monotonic() >= deadline:
                break
            choice = " city=dup" if round_ % 2 else ""
            text = app.run(f"merge {DUP} into {KEEP}{choice} --yes").text
            texts.append(text)
            match = _MERGED.match(text)
            if match is None:
                continue
            merges += 1
            for _attempt in range(50):  # a busy database may refuse it for a moment
                text = app.run(f"unmerge {match.group(1)}").text
                texts.append(text)
                if text.startswith("Undid merge"):
                    unmerges += 1
                    break
    finally:
        app.close()
        results.put(("merger", {"texts": texts, "merges": merges, "unmerges": unmerges}))


def _colleague(url: str, data_dir: str, start: Any, results: Any) -> None:
    """Add persons to both companies, edit them, log notes on them and on the companies."""
    app = _app(url, data_dir)
    texts: list[str] = []
    persons: list[tuple[str, str]] = []  # (person no, company it was created under)
    notes: list[tuple[str, str]] = []  # (contact no, description)
    tag = uuid.uuid4().hex[:6]
    start.wait()
    deadline = time.monotonic() + SECONDS
    try:
        for round_ in range(MAX_ROUNDS):
            if time.monotonic() >= deadline:
                break
            company = (KEEP, DUP)[round_ % 2]
            text = app.run(f'new person "Colleague{round_} Person{tag}" company={company}').text
            texts.append(text)
            created = _CREATED.match(text)
            if created:
                persons.append((created.group(1), company))
            if persons:
                no, _ = persons[round_ % len(persons)]
                texts.append(app.run(f"set {no} city=City{round_} job_title=Buyer{round_}").text)
                for target in (no, company):
                    description = f"note {tag}-{round_}-{target}"
                    text = app.run(f'log {target} NOTE "{description}"').text
                    texts.append(text)
                    if text.startswith("Logged"):
                        notes.append((target, description))
    finally:
        app.close()
        results.put(("colleague", {"texts": texts, "persons": persons, "notes": notes}))


def _run_both(url: str, data_dir: Path) -> dict[str, dict[str, Any]]:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    results = context.Queue()
    workers = [
        context.Process(target=target, args=(url, str(data_dir), start, results))
        for target in (_merger, _colleague)
    ]
    for worker in workers:
        worker.start()
    out: dict[str, dict[str, Any]] = {}
    try:
        for _ in workers:
            name, value = results.get(timeout=SECONDS + SLACK_SECONDS)
            out[name] = value
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    return out


def test_merge_and_unmerge_lose_nothing_of_a_colleague_working_at_once(
    database_url: str, tmp_path: Path
) -> None:
    setup = _app(database_url, str(tmp_path))
    try:
        assert setup.run('new company "Keep Holding" city=Keeptown').text.startswith(
            f"Created company {KEEP}"
        )
        assert setup.run('new company "Dup Trading" city=Dupville').text.startswith(
            f"Created company {DUP}"
        )
    finally:
        setup.close()

    out = _run_both(database_url, tmp_path)
    merger, colleague = out["merger"], out["colleague"]
    apologies = [t for t in merger["texts"] + colleague["texts"] if APOLOGY in t]
    assert not apologies, apologies[:5]
    # the run meant something: both sides worked, and every merge was undone
    assert merger["merges"] >= 3, merger["texts"][-5:]
    assert merger["unmerges"] == merger["merges"], merger["texts"][-5:]
    assert len(colleague["persons"]) >= 6, colleague["texts"][-5:]

    store = Store(database_url)
    try:
        with store.transaction() as session:
            ids = {no: id_ for no, id_ in session.execute(select(Contact.no, Contact.id))}
            company_of = {
                no: company
                for no, company in session.execute(select(Contact.no, Contact.company_id))
            }
            noted = {
                (no, description)
                for no, description in session.execute(
                    select(Contact.no, Interaction.description).join(
                        Contact, Contact.id == Interaction.contact_id
                    )
                )
            }
    finally:
        store.dispose()
    lost = [no for no, _company in colleague["persons"] if no not in ids]
    assert not lost, f"{len(lost)} of {len(colleague['persons'])} confirmed persons lost: {lost}"
    misplaced = [
        (no, company) for no, company in colleague["persons"] if company_of[no] != ids.get(company)
    ]
    assert not misplaced, misplaced
    missing = [note for note in colleague["notes"] if note not in noted]
    assert not missing, f"{len(missing)} of {len(colleague['notes'])} notes lost: {missing[:5]}"


def test_a_person_added_to_the_duplicate_while_its_merge_runs_is_refused_not_lost(
    database_url: str, tmp_path: Path
) -> None:
    """The colleague's `new person … company=DUP` arrives while the merge is halfway (held
    there by a mover that waits): it waits for the merge, then hears the company is gone.
    Before the fix it was created, confirmed, and deleted with the duplicate on PostgreSQL."""
    app = _app(database_url, str(tmp_path))
    inside, release = threading.Event(), threading.Event()

    def pause(_session: object, _dup: object, _keep: object) -> None:
        inside.set()
        release.wait(timeout=30)

    mover = ("test-pause", pause, lambda *_args: None)
    app.store.rules.merge_movers.append(mover)  # type: ignore[arg-type]
    try:
        app.run('new company "Keep Holding"')
        app.run('new company "Dup Trading"')
        assert app.run(f'new person "Early Bird" company={DUP}').text.startswith("Created")
        with ThreadPoolExecutor(2) as pool:
            merging = pool.submit(app.run, f"merge {DUP} into {KEEP} --yes")
            assert inside.wait(timeout=30)
            adding = pool.submit(app.run, f'new person "Late Comer" company={DUP}')
            time.sleep(1.0)  # the create is waiting on the merge's lock by now
            release.set()
            merged, added = merging.result(timeout=60), adding.result(timeout=60)
    finally:
        app.store.rules.merge_movers.remove(mover)  # type: ignore[arg-type]
        release.set()
    try:
        assert merged.text.startswith(f"Merged {DUP} into {KEEP}"), merged.text
        assert "Moved: 1 persons" in merged.text
        assert added.text == (
            f"{DUP} Dup Trading was deleted, or merged into another company, a moment ago. "
            "Name the company it is part of now: `find Dup Trading`."
        )
        with app.store.transaction() as session:
            names = set(session.scalars(select(Contact.name)))
        assert names == {"Keep Holding", "Early Bird"}
    finally:
        app.close()


def test_the_merge_deletes_the_duplicate_alone_never_a_person_it_did_not_move(
    store: Store,
) -> None:
    """The last line of defence: the delete at the end of a merge refuses, rather than takes
    along, a person still on the duplicate."""
    with store.transaction() as session:
        company = create_contact(session, ContactType.COMPANY, "Dup Trading")
        create_contact(session, ContactType.PERSON, "Jan de Vries", {"company": company.no})
    with store.transaction() as session:
        company = get_by_no(session, "CT000001")
        assert company is not None
        try:
            delete_contact(session, company, alone=True)
        except UserError as refusal:
            assert refusal.message == "CT000001 still has persons (CT000002); nothing was deleted."
        else:
            raise AssertionError("deleted a company that still had a person")
    with store.transaction() as session:
        assert sorted(session.scalars(select(Contact.no))) == ["CT000001", "CT000002"]
