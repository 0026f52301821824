"""Fixtures of the Slack end-to-end tests: the Web API double (tests/slack_double.py)."""

from __future__ import annotations

from tests.slack_double import slack_double

__all__ = ["slack_double"]
