"""The Web API double answers slack_sdk's clients as Slack does, so the end-to-end tests can
trust what it records (and the 429 it gives on demand is one the real retry handler obeys)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.config import Settings, SlackSettings
from bot.slack.client import make_web_client, make_webhook_client
from tests.slack_double import BOT_USER_ID, RESPONSE_URL, SlackDouble


def _client(double: SlackDouble, **kwargs: object) -> WebClient:
    return WebClient(token="xoxb-test", base_url=double.url, timeout=5, **kwargs)  # type: ignore[arg-type]


def test_answers_and_records_the_methods_contactbot_calls(slack_double: SlackDouble) -> None:
    client = _client(slack_double)
    assert client.auth_test()["user_id"] == BOT_USER_ID
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "CT000001 Acme"}}]
    posted = client.chat_postMessage(channel="C1", text="hello", blocks=blocks)
    assert posted["channel"] == "C1" and posted["message"]["ts"] == posted["ts"]
    assert client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]
    opened = client.views_open(trigger_id="t1", view={"type": "modal", "blocks": []})
    view_id = opened["view"]["id"]
    updated = client.views_update(view_id=view_id, view={"type": "modal", "blocks": []})
    assert updated["view"]["id"] == view_id
    assert client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["ok"]
    slack_double.users["U1"] = {"real_name": "Sam Sales", "email": "sam@example.com"}
    assert client.users_info(user="U1")["user"]["profile"]["email"] == "sam@example.com"
    assert "email" not in client.users_info(user="U2")["user"]["profile"]
    link = client.chat_getPermalink(channel="C1", message_ts="1.000200")["permalink"]
    assert link.endswith("/archives/C1/p1000200")

    call = slack_double.wait_for("chat.postMessage", lambda c: "CT000001" in c.text, timeout=1)
    assert call.blocks == blocks and call.headers["authorization"] == "Bearer xoxb-test"
    assert slack_double.calls("users.info")[0].body == {"user": "U1"}
    assert [c.method for c in slack_double.calls()][:3] == [
        "auth.test",
        "chat.postMessage",
        "chat.postEphemeral",
    ]


def test_refuses_as_slack_does(slack_double: SlackDouble) -> None:
    with pytest.raises(SlackApiError, match="not_authed"):
        WebClient(base_url=slack_double.url).auth_test()
    with pytest.raises(SlackApiError, match="unknown_method"):
        _client(slack_double).api_call("chat.nope")
    slack_double.fail("views.open", "expired_trigger_id")
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        _client(slack_double).views_open(trigger_id="t", view={"type": "modal", "blocks": []})
    assert _client(slack_double).views_open(trigger_id="t", view={"type": "modal"})["ok"]


def test_rate_limit_is_a_429_that_slack_sdk_retries(slack_double: SlackDouble) -> None:
    slack_double.rate_limit("chat.postMessage", times=1, retry_after=0)
    with pytest.raises(SlackApiError, match="ratelimited"):
        _client(slack_double).chat_postMessage(channel="C1", text="first")
    slack_double.rate_limit("chat.postMessage", times=1, retry_after=0)
    retrying = _client(slack_double, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    assert retrying.chat_postMessage(channel="C1", text="second")["ok"]
    assert [c.status for c in slack_double.calls("chat.postMessage")] == [429, 429, 200]
    assert slack_double.wait_for("chat.postMessage", timeout=1).body["text"] == "second"


def test_response_urls_are_recorded_with_their_id(slack_double: SlackDouble) -> None:
    url = slack_double.response_url("abc")
    assert WebhookClient(url).send_dict({"text": "hi", "response_type": "ephemeral"}).body == "ok"
    call = slack_double.wait_for(RESPONSE_URL, timeout=1)
    assert call.target == "abc" and call.body["response_type"] == "ephemeral"
    slack_double.fail(RESPONSE_URL, "expired_url")
    assert WebhookClient(slack_double.response_url()).send(text="late").status_code == 404


def test_wait_for_fails_with_what_arrived_and_assert_never_passes_quietly(
    slack_double: SlackDouble,
) -> None:
    _client(slack_double).chat_postMessage(channel="C1", text="other")
    started = time.monotonic()
    with pytest.raises(AssertionError, match="other"):
        slack_double.wait_for("chat.postMessage", lambda c: "CT" in c.text, timeout=0.2)
    assert time.monotonic() - started >= 0.2
    slack_double.assert_never("views.open", within=0.1)
    with pytest.raises(AssertionError, match="unexpected"):
        slack_double.assert_never("chat.postMessage", within=0.1)


def test_server_errors_on_demand_are_retried_by_contactbots_client(
    slack_double: SlackDouble,
) -> None:
    slack = SlackSettings(api_url=slack_double.url)
    settings = Settings(data_dir=Path("."), database_url="sqlite://", slack=slack)
    slack_double.server_error("chat.postMessage", times=1, status=502)
    client = make_web_client(settings, "xoxb-test")
    assert client.chat_postMessage(channel="C1", text="after a 502")["ok"]
    assert [c.status for c in slack_double.calls("chat.postMessage")] == [502, 200]
    slack_double.server_error(RESPONSE_URL, times=1)
    answer = make_webhook_client(slack_double.response_url("r1")).send(text="after a 503")
    assert answer.status_code == 200
    assert [c.status for c in slack_double.calls(RESPONSE_URL)] == [503, 200]
