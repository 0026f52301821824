"""The duplicate digest on SQLite and PostgreSQL: nothing new sends nothing; new pairs go out
as one message grouped per salesperson with Merge and Not a duplicate; a second run sends
nothing; a failed post gives the pairs back; two instances at once send one digest; and the
job posts through the Slack Web API client (against tests/slack_double.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from bot.config import ConfigError, Settings, SlackSettings
from bot.registry import build_registry
from bot.runtime import build_app
from bot.scheduler import build_scheduler, job_timing
from bot.slack.blocks import RUN_ACTION_PATTERN
from plugins.digest_settings import DIGEST_JOB_ID
from plugins.duplicate_digest import DigestNotSent, duplicate_digest, send_digest
from storage.database import Store
from storage.duplicates.digest import ADVISORY_LOCK_KEY, STALE_AFTER
from storage.duplicates.models import SENDING, SENT, DupeDigest, DupeDigestPair
from storage.duplicates.scan import scan
from tests.conftest import ChatBot
from tests.slack_double import SlackDouble, slack_double
from tests.slack_unit.helpers import check_blocks

__all__ = ["slack_double"]  # the double's fixture, used below

CHANNEL = "C0DIGEST"


class Recorder:
    """An injected poster: keeps each (channel, message), answers a ts, optionally slowly."""

    def __init__(self, delay: float = 0.0) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, channel: str, message: dict[str, Any]) -> str:
        time.sleep(self.delay)
        with self.lock:
            self.posts.append((channel, message))
            return f"1700000000.{len(self.posts):06d}"


@pytest.fixture
def digest_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, plugin_tables={"dupes": {"digest_channel": CHANNEL}})


@pytest.fixture
def dbot(digest_settings: Settings) -> Iterator[ChatBot]:
    app = build_app(digest_settings, build_registry())
    yield ChatBot(app)
    app.close()


def _pairs_for_three_owners(bot: ChatBot) -> None:
    """Three duplicate pairs: Ada's, Sam's, and one without a salesperson."""
    bot.ok('codes salespeople add ADA name="Ada Admin" slack_user_id=U0ADA')
    bot.ok('codes salespeople add SAM name="Sam Sales"')
    bot.ok('new company "Acme Holding B.V." city=Amsterdam address="Damrak 1" salesperson=SAM')
    bot.ok('new company "Acme Holding BV" city=Amsterdam address="Damrak 1" salesperson=SAM')
    bot.ok('new company "Globex Trading B.V." city=Utrecht address="Oudegracht 5" salesperson=ADA')
    bot.ok('new company "Globex Trading" city=Utrecht address="Oudegracht 5" salesperson=ADA')
    bot.ok('new company "Initech Systems" city=Delft address="Markt 2"')
    bot.ok('new company "Initech Systems B.V." city=Delft address="Markt 2"')


def _section_texts(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def _button_commands(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (e["text"]["text"], e["value"])
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def test_nothing_new_sends_nothing(dbot: ChatBot) -> None:
    poster = Recorder()
    result = send_digest(dbot.app.store, CHANNEL, poster)
    assert result.posted == 0 and "No new duplicate pairs" in result.summary
    dbot.ok('new company "Lonely Corp" city=Nowhere')
    assert send_digest(dbot.app.store, CHANNEL, poster).posted == 0
    assert poster.posts == []
    with dbot.app.store.transaction() as session:
        assert session.scalars(select(DupeDigest)).all() == []


def test_new_pairs_go_out_once_grouped_per_salesperson(dbot: ChatBot) -> None:
    _pairs_for_three_owners(dbot)
    poster = Recorder()
    result = send_digest(dbot.app.store, CHANNEL, poster)
    assert result.posted == 3, result.summary
    assert [channel for channel, _ in poster.posts] == [CHANNEL]
    message = poster.posts[0][1]
    check_blocks(message["blocks"])
    assert message["text"] == "Possible duplicates: 3 new pairs since the last digest"
    sections = _section_texts(message)
    # Ada, Sam, then the pair nobody owns; each heading followed by its pair
    assert sections[0] == "*Ada Admin* (ADA) <@U0ADA>"
    assert sections[1].startswith("*CT000004* Globex Trading  ↔  *CT000003* Globex Trading B.V.")
    assert sections[2] == "*Sam Sales* (SAM)"
    assert sections[3].startswith("*CT000002* Acme Holding BV  ↔  *CT000001* Acme Holding B.V.")
    assert sections[4] == "*No salesperson*"
    assert sections[5].startswith("*CT000006* Initech Systems B.V.  ↔  *CT000005* Initech")
    assert all("score " in s for s in sections[1::2])
    assert _button_commands(message) == [
        ("Merge", "merge CT000004 into CT000003"),
        ("Not a duplicate", "separate CT000004 CT000003"),
        ("Merge", "merge CT000002 into CT000001"),
        ("Not a duplicate", "separate CT000002 CT000001"),
        ("Merge", "merge CT000006 into CT000005"),
        ("Not a duplicate", "separate CT000006 CT000005"),
    ]
    ids = [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert len(set(ids)) == 6 and all(RUN_ACTION_PATTERN.match(i) for i in ids)

    # a second run: nothing new, nothing sent
    again = send_digest(dbot.app.store, CHANNEL, poster)
    assert again.posted == 0 and len(poster.posts) == 1
    # a rescan rewrites the open pairs, and they are still not new
    with dbot.app.store.transaction() as session:
        scan(session)
    assert send_digest(dbot.app.store, CHANNEL, poster).posted == 0
    # a pair found later goes out alone, without headings when nobody owns it
    dbot.ok('new company "Hooli Inc" city=Palo address="Main Street 1"')
    dbot.ok('new company "Hooli" city=Palo address="Main Street 1"')
    assert send_digest(dbot.app.store, CHANNEL, poster).posted == 1
    latest = poster.posts[-1][1]
    assert _section_texts(latest)[0].startswith("*CT000008* Hooli  ↔  *CT000007* Hooli Inc")
    assert _button_commands(latest) == [
        ("Merge", "merge CT000008 into CT000007"),
        ("Not a duplicate", "separate CT000008 CT000007"),
    ]
    with dbot.app.store.transaction() as session:
        digests = session.scalars(select(DupeDigest).order_by(DupeDigest.id)).all()
        assert [(d.status, d.pairs, d.message_ts) for d in digests] == [
            (SENT, 3, "1700000000.000001"),
            (SENT, 1, "1700000000.000002"),
        ]


def test_typed_text_is_escaped_and_only_real_user_ids_are_mentioned(dbot: ChatBot) -> None:
    dbot.ok('codes salespeople add EVE name="<!channel> Eve" slack_user_id="<!here>"')
    dbot.ok('new company "Smith <!everyone> & Co" city=Leeds address="High St 1" salesperson=EVE')
    dbot.ok('new company "Smith <!everyone> & Co Ltd" city=Leeds address="High St 1"')
    poster = Recorder()
    assert send_digest(dbot.app.store, CHANNEL, poster).posted == 1
    message = poster.posts[0][1]
    everything = repr(message)
    assert "<!everyone>" not in everything and "<!channel>" not in everything
    assert "<!here>" not in everything
    sections = _section_texts(message)
    assert sections[0] == "*&lt;!channel&gt; Eve* (EVE)"
    assert "Smith &lt;!everyone&gt; &amp; Co" in sections[1]


def test_a_failed_post_gives_the_pairs_back(dbot: ChatBot) -> None:
    _pairs_for_three_owners(dbot)

    def refuse(channel: str, message: dict[str, Any]) -> str:
        raise DigestNotSent("Slack refused the digest in C0DIGEST: not_in_channel.")

    with pytest.raises(DigestNotSent):
        send_digest(dbot.app.store, CHANNEL, refuse)
    with dbot.app.store.transaction() as session:
        assert session.scalars(select(DupeDigest)).all() == []
        assert session.scalars(select(DupeDigestPair)).all() == []
    poster = Recorder()
    assert send_digest(dbot.app.store, CHANNEL, poster).posted == 3


WORDS = [
    "Amber",
    "Birch",
    "Cobalt",
    "Dune",
    "Ember",
    "Fjord",
    "Garnet",
    "Harbor",
    "Indigo",
    "Juniper",
    "Kestrel",
    "Lagoon",
    "Meadow",
    "Nimbus",
    "Onyx",
    "Prairie",
    "Quartz",
    "Raven",
    "Saffron",
    "Tundra",
    "Umber",
    "Violet",
    "Willow",
    "Xenon",
    "Yarrow",
    "Zephyr",
    "Basalt",
    "Cedar",
    "Delta",
    "Falcon",
]
CITIES = [
    "Assen",
    "Breda",
    "Delft",
    "Emmen",
    "Gouda",
    "Haarlem",
    "Hoorn",
    "Kampen",
    "Leiden",
    "Lelystad",
    "Maastricht",
    "Nijmegen",
    "Oss",
    "Purmerend",
    "Roermond",
    "Schiedam",
    "Tiel",
    "Utrecht",
    "Venlo",
    "Weert",
    "Zwolle",
    "Almere",
    "Arnhem",
    "Bussum",
    "Deventer",
    "Ede",
    "Geleen",
    "Heerlen",
    "Hengelo",
    "Zeist",
]


def test_many_pairs_fit_in_one_message(dbot: ChatBot) -> None:
    for n, word in enumerate(WORDS):
        place = f'city={CITIES[n]} address="{word}straat {n + 1}"'
        dbot.ok(f'new company "{word} Holding B.V." {place}')
        dbot.ok(f'new company "{word} Holding" {place}')
    poster = Recorder()
    assert send_digest(dbot.app.store, CHANNEL, poster).posted == 30
    message = poster.posts[0][1]
    check_blocks(message["blocks"])
    shown = len(_button_commands(message)) // 2
    assert 20 <= shown < 30
    assert message["blocks"][-1]["elements"][0]["text"] == (
        f"…and {30 - shown} more new pairs: `/contact dupes` lists them all."
    )


def _claim_in_flight(store: Store, claimed_at: dt.datetime) -> None:
    with store.transaction() as session:
        session.add(DupeDigest(status=SENDING, channel=CHANNEL, pairs=0, claimed_at=claimed_at))


def test_a_digest_in_flight_elsewhere_is_left_alone_until_stale(dbot: ChatBot) -> None:
    _pairs_for_three_owners(dbot)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    _claim_in_flight(dbot.app.store, now - dt.timedelta(minutes=1))
    poster = Recorder()
    assert "Another instance" in send_digest(dbot.app.store, CHANNEL, poster).summary
    assert poster.posts == []
    with dbot.app.store.transaction() as session:
        session.execute(text("UPDATE dupe_digests SET claimed_at = :t"), {"t": now - STALE_AFTER})
    assert send_digest(dbot.app.store, CHANNEL, poster).posted == 3


def test_two_instances_at_once_send_one_digest(dbot: ChatBot, database_url: str) -> None:
    """Two stores (two instances' engines) run the digest at the same moment; the poster is
    slow, so the second run happens while the first is still posting, or before it claimed."""
    _pairs_for_three_owners(dbot)
    poster = Recorder(delay=0.5)
    stores = [Store(database_url), Store(database_url)]
    start = threading.Barrier(2)
    results: list[str] = []
    errors: list[BaseException] = []

    def instance(store: Store) -> None:
        try:
            start.wait()
            results.append(send_digest(store, CHANNEL, poster).summary)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=instance, args=(store,)) for store in stores]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for store in stores:
            store.dispose()
    assert errors == []
    assert len(poster.posts) == 1
    assert sorted(r.split()[0] for r in results) in (["Another", "Posted"], ["No", "Posted"])


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_advisory_lock_held_elsewhere_means_no_post(
    dbot: ChatBot, database_url: str
) -> None:
    _pairs_for_three_owners(dbot)
    other = create_engine(database_url)
    try:
        with other.connect() as connection:
            held = connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
            assert held is not None
            poster = Recorder()
            result = send_digest(dbot.app.store, CHANNEL, poster)
            assert "Another instance" in result.summary and poster.posts == []
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
        assert send_digest(dbot.app.store, CHANNEL, poster).posted == 3
    finally:
        other.dispose()


def test_the_job_posts_through_the_slack_web_api(
    digest_settings: Settings, slack_double: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    settings = dataclasses.replace(digest_settings, slack=SlackSettings(api_url=slack_double.url))
    app = build_app(settings, build_registry())
    try:
        bot = ChatBot(app)
        bot.ok('new company "Acme Holding B.V." city=Amsterdam address="Damrak 1"')
        bot.ok('new company "Acme Holding BV" city=Amsterdam address="Damrak 1"')
        assert duplicate_digest(app) == f"Posted 1 new duplicate pair to {CHANNEL}."
        call = slack_double.wait_for("chat.postMessage", timeout=5)
        assert call.body["channel"] == CHANNEL
        assert call.headers["authorization"] == "Bearer xoxb-test"
        values = [e["value"] for b in call.blocks if b["type"] == "actions" for e in b["elements"]]
        assert values == ["merge CT000002 into CT000001", "separate CT000002 CT000001"]
        assert "No new duplicate pairs" in duplicate_digest(app)
        assert len(slack_double.calls("chat.postMessage")) == 1
        # Slack refusing the message: the pair waits for the next digest
        bot.ok('new company "Globex B.V." city=Utrecht address="Oudegracht 5"')
        bot.ok('new company "Globex" city=Utrecht address="Oudegracht 5"')
        slack_double.fail("chat.postMessage", "not_in_channel")
        with pytest.raises(DigestNotSent, match="not_in_channel"):
            duplicate_digest(app)
        assert duplicate_digest(app) == f"Posted 1 new duplicate pair to {CHANNEL}."
    finally:
        app.close()


def test_the_job_needs_a_channel_and_a_token(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build_app(settings, build_registry())
    try:
        with pytest.raises(ConfigError, match=r"^dupes\.digest_channel: not set"):
            duplicate_digest(app)
        app.registry.configure({"dupes": {"digest_channel": CHANNEL}})
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        with pytest.raises(ConfigError, match=r"^SLACK_BOT_TOKEN is not set"):
            duplicate_digest(app)
    finally:
        app.close()


def test_the_scheduler_runs_the_digest_on_the_configured_cron_and_zone(
    digest_settings: Settings,
) -> None:
    settings = dataclasses.replace(
        digest_settings,
        plugin_tables={
            "dupes": {
                "digest_cron": "30 8 * * tue",
                "digest_timezone": "Europe/Amsterdam",
                "digest_channel": CHANNEL,
            }
        },
    )
    app = build_app(settings, build_registry())
    try:
        scheduler = build_scheduler(app)
        job = scheduler.get_job(DIGEST_JOB_ID)
        assert job is not None and job.args[1] is app
        after = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)  # a Wednesday
        fire = job.trigger.get_next_fire_time(None, after)
        assert fire.isoformat() == "2026-12-01T08:30:00+01:00"
        spec = app.registry.schedules[DIGEST_JOB_ID]
        assert job_timing(spec, app.registry).next_run(after) == fire
    finally:
        app.close()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('digest_cron = "0 9 * *"', "dupes.digest_cron: Wrong number of fields"),
        ('digest_cron = "0 25 * * *"', "dupes.digest_cron: Error validating expression '25'"),
        ('digest_timezone = "Mars/Olympus"', "dupes.digest_timezone: unknown time zone"),
        ('digest_channel = "general"', "dupes.digest_channel: expected a Slack channel id"),
        ("digest_channel = 7", "dupes.digest_channel: expected a Slack channel id"),
        ('colour = "red"', "dupes.colour: unknown key"),
    ],
)
def test_bad_dupes_config_is_refused_naming_the_key(
    tmp_path: Path, table: str, message: str
) -> None:
    from bot.config import load_settings
    from bot.runtime import plugin_registry

    path = tmp_path / "config.toml"
    path.write_text(f"[dupes]\n{table}\n", encoding="utf-8")
    settings = load_settings(path, env={})  # the table is the plugin's: read when it loads
    with pytest.raises(ConfigError) as refused:
        plugin_registry(settings)
    assert str(refused.value).startswith(message)


def test_a_misspelt_table_is_refused_and_a_switched_off_plugins_table_ignored(
    tmp_path: Path,
) -> None:
    from bot.config import load_settings
    from bot.runtime import plugin_registry

    path = tmp_path / "config.toml"
    path.write_text('[dupse]\ndigest_channel = "C0123ABCD"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        plugin_registry(load_settings(path, env={}))
    assert str(refused.value).startswith("dupse: unknown table. Tables of the installed plugins:")
    assert "dupes" in str(refused.value)

    path.write_text(
        '[plugins]\nenabled = ["help", "contacts"]\n[dupes]\ndigest_cron = "not a line"\n',
        encoding="utf-8",
    )
    registry = plugin_registry(load_settings(path, env={}))  # the digest is off: not read
    assert "dupes" not in registry.configs and DIGEST_JOB_ID not in registry.schedules


def test_a_scheduled_run_logs_the_setting_to_fix(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_app(settings, build_registry())  # no [dupes] digest_channel
    try:
        job = build_scheduler(app).get_job(DIGEST_JOB_ID)
        assert job is not None
        with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
            job.func(*job.args)  # what the scheduler calls: it must not raise
        assert [r.getMessage() for r in caplog.records] == [
            "job duplicate_digest not run: dupes.digest_channel: not set; the duplicate digest "
            'needs a channel, like "C0123ABCD".'
        ]
    finally:
        app.close()
