"""The Slack Web API client: slack_sdk's WebClient at the configured base URL, with retries.

`slack.api_url` (environment `CONTACTBOT_SLACK_API_URL`) points the client at another base URL,
for tests and local trials that stand up their own Web API double. The client retries, with
slack_sdk's retry handlers, on rate limits (429, waiting Retry-After), connection errors and
5xx answers. Every call happens after the ack, so a retry never delays it.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryHandler,
    RetryState,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.webhook import WebhookClient

from bot.config import Settings

DEFAULT_BASE_URL = "https://slack.com/api/"
TIMEOUT_SECONDS = 15


class AnyServerErrorRetryHandler(RetryHandler):
    """slack_sdk's ServerErrorRetryHandler retries 500 and 503 only; Slack's edge also answers
    502 and 504 when it is having a bad moment."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and 500 <= response.status_code <= 599


def retry_handlers() -> list[RetryHandler]:
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.5)
    return [
        RateLimitErrorRetryHandler(max_retry_count=3),
        ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
        AnyServerErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
    ]


def base_url(settings: Settings) -> str:
    """The configured Web API base URL with exactly one trailing slash."""
    url = (settings.slack.api_url or DEFAULT_BASE_URL).strip()
    return url.rstrip("/") + "/"


def make_web_client(settings: Settings, token: str | None) -> WebClient:
    return WebClient(
        token=token,
        base_url=base_url(settings),
        timeout=TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(),
    )


def make_webhook_client(url: str) -> WebhookClient:
    """A client for one response_url, with the same retries."""
    return WebhookClient(url=url, timeout=TIMEOUT_SECONDS, retry_handlers=retry_handlers())
