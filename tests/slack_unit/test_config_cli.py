"""[slack] config keys, the token checks of `contactbot slack`, and what `contactbot run` plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.slack import plan
from bot.slack.client import base_url


def _settings(tmp_path: Path, text: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env=env or {})


def test_slack_keys(tmp_path: Path) -> None:
    settings = _settings(tmp_path, '[slack]\nmode = "http"\nhost = "127.0.0.1"\nport = 8080\n')
    assert (settings.slack.mode, settings.slack.host, settings.slack.port) == (
        "http",
        "127.0.0.1",
        8080,
    )
    env = {"CONTACTBOT_SLACK_API_URL": "http://127.0.0.1:9/api"}
    assert base_url(_settings(tmp_path, "", env)) == "http://127.0.0.1:9/api/"
    assert base_url(_settings(tmp_path, "")) == "https://slack.com/api/"
    for bad, key in (
        ('mode = "web"', "slack.mode"),
        ("port = 0", "slack.port"),
        ("x = 1", "slack.x"),
    ):
        with pytest.raises(ConfigError, match=key):
            _settings(tmp_path, f"[slack]\n{bad}\n")


def test_plan_names_the_missing_variable(tmp_path: Path) -> None:
    socket = _settings(tmp_path, "")
    assert plan(socket, {"SLACK_BOT_TOKEN": "x"}) == (
        None,
        "SLACK_APP_TOKEN is not set; Slack Socket Mode needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN "
        "in the environment.",
    )
    assert (
        plan(socket, {"SLACK_BOT_TOKEN": "x", "SLACK_APP_TOKEN": "y"})[0] == "Slack (Socket Mode)"
    )
    http = _settings(tmp_path, '[slack]\nmode = "http"\nport = 8080\n')
    assert "SLACK_SIGNING_SECRET" in plan(http, {"SLACK_BOT_TOKEN": "x"})[1]
    ok = plan(http, {"SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "y"})[0]
    assert ok == "Slack (HTTP mode on 0.0.0.0:8080)"


@pytest.mark.parametrize(
    ("argv", "env", "missing"),
    [
        (["slack"], {}, "SLACK_BOT_TOKEN"),
        (["slack"], {"SLACK_BOT_TOKEN": "x"}, "SLACK_APP_TOKEN"),
        (["slack", "--http", "--port", "1"], {"SLACK_BOT_TOKEN": "x"}, "SLACK_SIGNING_SECRET"),
        (["slack", "--http"], {"SLACK_SIGNING_SECRET": "x"}, "SLACK_BOT_TOKEN"),
    ],
)
def test_missing_token_is_refused_in_one_line(
    argv: list[str],
    env: dict[str, str],
    missing: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "CONTACTBOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONTACTBOT_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"contactbot: {missing} is not set")
    assert not (tmp_path / "contactbot.db").exists()  # refused before opening the database


def test_http_limit_keys(tmp_path: Path) -> None:
    defaults = _settings(tmp_path, "").slack
    assert (defaults.max_body_bytes, defaults.request_seconds) == (1_048_576, 10)
    assert (defaults.connection_limit, defaults.connections_per_client) == (500, 50)
    text = "[slack]\nmax_body_bytes = 4096\nrequest_seconds = 3\nconnections_per_client = 0\n"
    chosen = _settings(tmp_path, text).slack
    assert (chosen.max_body_bytes, chosen.request_seconds, chosen.connections_per_client) == (
        4096,
        3,
        0,
    )
    for bad in ("max_body_bytes = 10", "request_seconds = 0", 'connection_limit = "many"'):
        key = bad.split(" ")[0]
        with pytest.raises(ConfigError, match=f"slack.{key}: expected a whole number from"):
            _settings(tmp_path, f"[slack]\n{bad}\n")
