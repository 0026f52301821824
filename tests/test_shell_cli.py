"""The `contactbot` console script in a subprocess: script mode, `shell -c`, `shell --demo`,
`db upgrade` / `db current`, configuration refused at start, and exit codes.

Every run gets its own home, config, data and temporary directories under tmp_path, so
nothing reads or writes the user's real data directory or config.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from storage.database import Store
from tests.conftest import ChatBot, sqlite_only

SCRIPT = shutil.which("contactbot", path=str(Path(sys.executable).parent)) or "contactbot"


class Cli:
    def __init__(self, tmp_path: Path, database_url: str | None = None) -> None:
        self.home = tmp_path / "home"
        self.home.mkdir(exist_ok=True)
        self.data_dir = tmp_path / "data"
        self.database_url = database_url or f"sqlite:///{self.data_dir / 'contactbot.db'}"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("CONTACTBOT_", "SLACK_", "XDG_"))
        }
        self.env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            TMPDIR=str(tmp_path),
            CONTACTBOT_DATA_DIR=str(self.data_dir),
            CONTACTBOT_DATABASE_URL=self.database_url,
        )

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SCRIPT, *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.home,
            env=self.env,
            timeout=60,
            check=False,
        )


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_script_mode_runs_one_command_per_line_and_prints_each_reply(cli: Cli) -> None:
    script = "\n".join(
        [
            "# a comment, then a blank line",
            "",
            'new company "Acme Holding B.V." city=Amsterdam phone="+31 20 555 0100"',
            'new person "Jan de Vries" company=CT000001',
            "show CT000002",
            "delete CT000002",
            "shwo CT000002",
            "exit",
            'new company "Never Run"',
        ]
    )
    result = cli.run("shell", stdin=script)
    assert result.returncode == 1, result.stderr  # some commands failed
    assert "Traceback" not in result.stdout + result.stderr
    out = result.stdout
    order = [
        "Created company CT000001: Acme Holding B.V.",
        "Created person CT000002: Jan de Vries",
        "CT000002 Jan de Vries\n=====================",
        "Really run `delete CT000002`? Not done. Add --yes to run it without asking.",
        "Unknown command `shwo`. Did you mean `show`? Type `help` for the list.",
    ]
    positions = [out.index(text) for text in order]
    assert positions == sorted(positions)
    assert "Never Run" not in out
    assert (cli.data_dir / "contactbot.db").is_file()  # migrated by itself, in the data dir
    again = cli.run("shell", stdin="show CT000002\ndelete CT000002 --yes\n")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Amsterdam" in again.stdout and "Deleted CT000002." in again.stdout


def test_shell_c_runs_one_command_and_its_exit_code_says_how_it_went(cli: Cli) -> None:
    ok = cli.run("shell", "-c", 'new company "Acme"')
    assert (ok.returncode, ok.stdout.splitlines()[0]) == (0, "Created company CT000001: Acme")
    missing = cli.run("shell", "-c", "show CT000099")
    assert missing.returncode == 1
    assert missing.stdout.strip() == "No contact `CT000099`. Try `find CT000099` to search."
    unconfirmed = cli.run("shell", "-c", "delete CT000001")
    assert unconfirmed.returncode == 1 and "Not done. Add --yes" in unconfirmed.stdout
    assert cli.run("shell", "-c", "delete CT000001 --yes").stdout.strip() == "Deleted CT000001."


def test_shell_demo_loads_the_demo_into_a_fresh_database_of_its_own(
    cli: Cli, tmp_path: Path
) -> None:
    result = cli.run("shell", "--demo", stdin="show CT000002\nsalutation CT000002 formal\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Demo data loaded into " in result.stderr
    demo_db = Path(result.stderr.split("Demo data loaded into ", 1)[1].split()[0].rstrip("."))
    assert demo_db.is_relative_to(tmp_path)  # under TMPDIR, not the user's data dir
    assert "CT000002 Jan de Vries" in result.stdout and "Keizersgracht 1" in result.stdout
    assert "Geachte heer de Vries" in result.stdout
    assert not (cli.data_dir / "contactbot.db").exists()


def test_shell_demo_warns_about_a_demo_contact_typed_again(cli: Cli) -> None:
    """The demo set is keyed for duplicates, as contacts made with `new` are."""
    typed = 'new person "Jan de Vries" company=CT000001\nnew person "Piet Hein" company=CT000001\n'
    result = cli.run("shell", "--demo", stdin=typed)
    assert result.returncode == 0, result.stdout + result.stderr
    again, other = result.stdout.split("Created person ")[1:3]
    assert "possible duplicate of CT000002 Jan de Vries" in again
    assert "possible duplicate" not in other  # a colleague, not a duplicate


def test_db_upgrade_and_current_on_an_empty_database(
    empty_database_url: str, tmp_path: Path
) -> None:
    cli = Cli(tmp_path, empty_database_url)
    config = tmp_path / "config.toml"
    config.write_text(
        '[setup]\ndefault_country = "NL"\nnumber_prefix = "K"\n\n'
        '[codes.countries.NL]\nname = "Netherlands"\n',
        encoding="utf-8",
    )
    heads = Store(empty_database_url).head_revision()
    before = cli.run("db", "current")
    assert (before.returncode, before.stdout.strip()) == (0, f"empty (newest: {heads})")
    upgraded = cli.run("--config", str(config), "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"Database at schema {heads}."
    assert cli.run("db", "current").stdout.strip() == f"{heads} (newest: {heads})"
    created = cli.run("--config", str(config), "shell", "-c", 'new company "Acme"')
    assert "Created company K000001: Acme" in created.stdout
    assert "Netherlands" in cli.run("shell", "-c", "codes countries").stdout


def test_postgresql_must_be_upgraded_before_the_shell_runs(postgres_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import _postgres_unavailable

    _postgres_unavailable(postgres_server)
    url = postgres_server.new_database(empty=True)
    try:
        result = Cli(tmp_path, url).run("shell", "-c", "help")
        assert result.returncode == 2
        assert result.stderr.startswith("contactbot: The database is at schema none")
        assert "run `contactbot db upgrade` first" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        postgres_server.drop(url)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('colour = "red"\n', "contactbot: colour: unknown key. Known keys: codes, data_dir"),
        (
            "[setup]\nnumber_colour = 3\n",
            "contactbot: setup.number_colour: unknown key. Known keys in [setup]:",
        ),
        (
            "[codes.territories.NORTH]\nshape = 1\n",
            "contactbot: codes.territories.NORTH.shape: unknown field. Fields: name.",
        ),
        ('[plugins]\nenabled = "help"\n', "contactbot: plugins.enabled: expected a list"),
        ('[plugins]\nenabled = ["help", "nope"]\n', "contactbot: Plugin `nope` is enabled"),
    ],
)
def test_a_bad_config_is_refused_at_start_naming_the_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    toml: str,
    message: str,
) -> None:
    """In-process through the console script's `main` (one case runs as a subprocess below)."""
    config = tmp_path / "config.toml"
    config.write_text(toml, encoding="utf-8")
    monkeypatch.setenv("CONTACTBOT_CONFIG", str(config))
    monkeypatch.setenv("CONTACTBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONTACTBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'c.db'}")
    assert main(["shell", "-c", "help"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(message), err
    assert out == ""
    if "Plugin" not in message:  # (a missing plugin is found after the store is opened)
        assert not (tmp_path / "data").exists()  # refused before anything opened


def test_a_bad_config_key_exits_2_from_the_console_script(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "sqlite://"\nuser = "me"\n', encoding="utf-8")
    cli.env["CONTACTBOT_CONFIG"] = str(config)
    result = cli.run("shell", "-c", "help")
    assert result.returncode == 2
    assert (
        result.stderr == "contactbot: database.user: unknown key. Known keys in [database]: "
        "max_overflow, pool_recycle, pool_size, url.\n"
    )
    assert result.stdout == ""


def test_config_found_in_the_working_directory_and_a_missing_config_file(cli: Cli) -> None:
    (cli.home / "config.toml").write_text('[plugins]\nenabled = ["help"]\n', encoding="utf-8")
    listing = cli.run("shell", "-c", "help")
    assert listing.returncode == 0 and "new company" not in listing.stdout
    missing = cli.run("--config", "nowhere.toml", "shell", "-c", "help")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "contactbot: --config: nowhere.toml does not exist."


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["db"], ["shell", "--bogus"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert "usage: contactbot" in capsys.readouterr().err


@sqlite_only
def test_at_a_prompt_delete_asks_and_runs_only_on_yes(
    bot: ChatBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    import bot.shell as shell

    bot.ok('new company "Acme"')
    questions: list[str] = []
    answers = iter([False, True])

    def answer(question: str) -> bool:
        questions.append(question)
        return next(answers)

    monkeypatch.setattr(shell, "_ask_yes", answer)
    out = io.StringIO()
    assert shell.run_line(bot.app, "delete CT000001", out, ask=True) is True
    assert out.getvalue() == "Not done.\n"
    assert "CT000001" in bot.ok("show CT000001")
    out = io.StringIO()
    assert shell.run_line(bot.app, "delete CT000001", out, ask=True) is True
    assert out.getvalue() == "Deleted CT000001.\n"
    assert questions == ["Really run `delete CT000001`?"] * 2


def test_the_default_database_is_a_sqlite_file_in_the_data_directory(cli: Cli) -> None:
    del cli.env["CONTACTBOT_DATABASE_URL"]
    assert cli.run("shell", "-c", 'new company "Acme"').returncode == 0
    assert (cli.data_dir / "contactbot.db").is_file()
    del cli.env["CONTACTBOT_DATA_DIR"]  # then the platform's user data directory
    assert cli.run("shell", "-c", 'new company "Bakker"').returncode == 0
    platform_db = cli.home / ".local" / "share" / "contactbot" / "contactbot.db"
    assert platform_db.is_file()
    assert "CT000001 Bakker" in cli.run("shell", "-c", "show CT000001").stdout


def test_which_config_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import load_settings

    def config(path: Path, plugins: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"[plugins]\nenabled = [{plugins}]\n", encoding="utf-8")
        return path

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    env: dict[str, str] = {}
    assert load_settings(None, env).plugins is None  # none anywhere: the defaults
    config(tmp_path / "xdg" / "contactbot" / "config.toml", '"help"')
    assert load_settings(None, env).plugins == ("help",)
    config(tmp_path / "config.toml", '"codes"')
    assert load_settings(None, env).plugins == ("codes",)
    env["CONTACTBOT_CONFIG"] = str(config(tmp_path / "env.toml", '"setup"'))
    assert load_settings(None, env).plugins == ("setup",)
    explicit = config(tmp_path / "explicit.toml", '"contacts"')
    assert load_settings(explicit, env).plugins == ("contacts",)
