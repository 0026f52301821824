"""Mentions and DMs under `[roles]`: the slash command's roles, over real HTTP. A user without
a role is told privately (ephemeral in a channel, in the DM) and nothing runs; a verb that
needs a role the user lacks is refused in the thread as the slash command refuses it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.slack_double import SlackDouble
from tests.slack_e2e.conftest import database, running_app
from tests.slack_e2e.harness import SlackProcess, SlackSender, direct_message, mention

POST = "chat.postMessage"


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, module_double: SlackDouble
) -> Iterator[SlackProcess]:
    work = tmp_path_factory.mktemp("slack-events-roles")
    roles = {"admin": ["U_ADMIN"], "sales": ["U_SALES"]}
    with (
        database("sqlite", work, None) as url,
        running_app(work, module_double, url, roles=roles) as process,
    ):
        yield process


def test_a_user_without_a_role_is_told_privately_and_nothing_runs(
    app: SlackProcess, sender: SlackSender
) -> None:
    channel = f"C{uuid.uuid4().hex[:10].upper()}"
    ts = app.double.add_message(channel, 'new company "Outsider Ltd"', user="U_OUTSIDER")
    sender.event(mention('new company "Outsider Ltd"', ts, channel=channel, user_id="U_OUTSIDER"))
    told = app.double.wait_for(
        "chat.postEphemeral",
        lambda c: c.body.get("channel") == channel and c.body.get("user") == "U_OUTSIDER",
    )
    assert "do not have access" in told.text
    dm = f"D{uuid.uuid4().hex[:10].upper()}"
    dts = app.double.add_message(dm, "find outsider", user="U_OUTSIDER")
    sender.event(direct_message("find outsider", dts, channel=dm, user_id="U_OUTSIDER"))
    in_dm = app.double.wait_for(POST, lambda c: c.body.get("channel") == dm)
    assert "do not have access" in in_dm.text
    app.double.assert_never(POST, lambda c: c.body.get("channel") == channel, within=1.0)
    # Nothing was created: a salesperson's find does not see it.
    check = f"D{uuid.uuid4().hex[:10].upper()}"
    cts = app.double.add_message(check, 'find "Outsider Ltd"', user="U_SALES")
    sender.event(direct_message('find "Outsider Ltd"', cts, channel=check))
    found = app.double.wait_for(POST, lambda c: c.body.get("channel") == check)
    assert "No contact matches `Outsider Ltd`" in found.text and "CT0" not in found.text


def test_a_verb_needing_a_role_the_user_lacks_is_refused_in_the_thread(
    app: SlackProcess, sender: SlackSender
) -> None:
    channel = f"C{uuid.uuid4().hex[:10].upper()}"
    ts = app.double.add_message(channel, "delete CT000001", user="U_SALES")
    sender.event(mention("delete CT000001", ts, channel=channel))
    refused = app.double.wait_for(
        POST, lambda c: c.body.get("channel") == channel and c.body.get("thread_ts") == ts
    )
    assert "`delete` needs the admin role" in refused.text


def test_when_slack_refuses_the_answer_in_the_channel_the_user_is_told_privately(
    app: SlackProcess, sender: SlackSender
) -> None:
    channel = f"C{uuid.uuid4().hex[:10].upper()}"
    ts = app.double.add_message(channel, "help", user="U_SALES")
    app.double.fail("chat.postMessage", "not_in_channel")
    sender.event(mention("help", ts, channel=channel))
    told = app.double.wait_for(
        "chat.postEphemeral",
        lambda c: c.body.get("channel") == channel and c.body.get("user") == "U_SALES",
    )
    assert "Commands" in told.text
    app.wait_for_log(rf"chat.postMessage to {channel} failed")
