"""Backing up and restoring the store: `contactbot db backup FILE` and `db restore FILE`.

SQLite: SQLite's online backup API (`sqlite3.Connection.backup`), copying every page in one
step under one read transaction, so the copy is one consistent moment of the database while
the bot goes on writing (WAL mode lets writers continue during the read). The copy is made
beside the target and renamed into place, readable by its owner only (storage.files), so a
crash never leaves half a backup under the name. A restore copies the backup's pages into the
configured database the same way, after checking that the file is a contactbot database.

PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean --if-exists --no-owner`, run
with the URL's parts in libpq's environment variables (PGPASSWORD among them, never on a
command line that `ps` shows). Without them installed, the error says what to install.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from storage.errors import UserError
from storage.files import private_file


@dataclass(frozen=True)
class BackupResult:
    path: Path
    contacts: int
    method: str  # "sqlite backup API" | "pg_dump"


def sqlite_file(url: str) -> Path | None:
    """The SQLite database file of `url`, or None for another kind of database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise UserError("The database is in memory: there is nothing to back up.")
    return Path(parsed.database)


def _contacts_in(connection: sqlite3.Connection, what: str) -> int:
    try:
        return int(connection.execute("SELECT count(*) FROM contacts").fetchone()[0])
    except sqlite3.DatabaseError as error:
        raise UserError(f"{what} is not a contactbot database ({error}).") from None


def backup_sqlite(source: Path, target: Path) -> BackupResult:
    """Copy `source` to `target` with the online backup API while others may write."""
    if not source.is_file():
        raise UserError(f"There is no database at {source} to back up.")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    private_file(partial)
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30) as src:
            with sqlite3.connect(partial) as dst:
                src.backup(dst)  # every page in one step: one consistent moment
                contacts = _contacts_in(dst, str(source))
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            dst.close()
        src.close()
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(target, contacts, "sqlite backup API")


def check_sqlite_backup(backup: Path) -> int:
    """The number of contacts in a backup file, or UserError when it is not one."""
    if not backup.is_file():
        raise UserError(f"There is no backup at {backup}.")
    with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as connection:
        try:
            connection.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.DatabaseError as error:
            raise UserError(f"{backup} is not a contactbot backup ({error}).") from None
        contacts = _contacts_in(connection, str(backup))
    connection.close()
    return contacts


def sqlite_contacts(path: Path) -> int | None:
    """Contacts in the database at `path`, or None when there is none (yet) to overwrite."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(connection.execute("SELECT count(*) FROM contacts").fetchone()[0])
    except sqlite3.DatabaseError:
        return 0
    finally:
        connection.close()


def restore_sqlite(backup: Path, target: Path) -> int:
    """Replace the database at `target` with the backup's pages; returns its contacts."""
    contacts = check_sqlite_backup(backup)
    if not target.parent.is_dir():
        raise UserError(f"The folder {target.parent} does not exist: create it first.")
    if not target.exists():
        private_file(target)
    with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as src:
        with sqlite3.connect(target, timeout=30) as dst:
            src.backup(dst)
        dst.close()
    src.close()
    return contacts


# --- PostgreSQL -----------------------------------------------------------------------------


def _libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """(connection arguments, environment) for pg_dump / pg_restore: the password only in
    the environment."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    for variable, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", str(parsed.port) if parsed.port else None),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
    ):
        if value:
            env[variable] = str(value)
    return [], env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise UserError(
            f"{name} is not installed: install the PostgreSQL client tools "
            f"(apt-get install postgresql-client), or run {name} yourself (docs/deploy.md)."
        )
    return path


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        words = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise UserError(f"{what} failed: {words}")


def backup_postgres(url: str, target: Path) -> BackupResult:
    tool = _tool("pg_dump")
    arguments, env = _libpq(url)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    private_file(partial)
    try:
        _run(
            [tool, "--format=custom", "--no-owner", f"--file={partial}", *arguments], env, "pg_dump"
        )
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(target, -1, "pg_dump")


def restore_postgres(url: str, backup: Path) -> None:
    if not backup.is_file():
        raise UserError(f"There is no backup at {backup}.")
    tool = _tool("pg_restore")
    arguments, env = _libpq(url)
    _run(
        [
            tool,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={env.get('PGDATABASE', '')}",
            *arguments,
            str(backup),
        ],
        env,
        "pg_restore",
    )
