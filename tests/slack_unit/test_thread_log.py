"""bot.slack.thread_log.first_message against the Web API double: the thread's root from
conversations.replies, else from conversations.history, else a message saying what to do."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.slack.thread_log import first_message
from storage.errors import UserError
from tests.slack_double import SlackDouble, slack_double

__all__ = ["slack_double"]  # the fixture


@pytest.fixture
def client(slack_double: SlackDouble) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack_double.url)


def test_the_root_comes_from_conversations_replies(
    slack_double: SlackDouble, client: WebClient
) -> None:
    root = slack_double.add_message("C1", "Acme wants 40 licences", user="U_CUSTOMER")
    slack_double.add_message("C1", "on it", user="U_SALES", thread_ts=root)
    found = first_message(client, "C1", root)
    assert (found["ts"], found["text"], found["user"]) == (
        root,
        "Acme wants 40 licences",
        "U_CUSTOMER",
    )
    assert not slack_double.calls("conversations.history")


def test_the_history_is_read_when_replies_are_refused(
    slack_double: SlackDouble, client: WebClient
) -> None:
    root = slack_double.add_message("C1", "the root", user="U_CUSTOMER")
    slack_double.add_message("C1", "later, elsewhere", user="U_CUSTOMER")
    slack_double.fail("conversations.replies", "missing_scope")
    assert first_message(client, "C1", root)["text"] == "the root"


def test_a_thread_slack_will_not_give_is_a_message_saying_what_to_do(
    slack_double: SlackDouble, client: WebClient
) -> None:
    with pytest.raises(UserError) as refused:
        first_message(client, "C_NOT_IN", "1700000000.000100")
    assert "Slack said `channel_not_found`" in refused.value.message
    assert "/invite @contactbot" in refused.value.message
