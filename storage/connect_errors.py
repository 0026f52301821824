"""Why a database cannot be opened, in one line a person can act on.

Every `contactbot` subcommand opens the configured database first; when that fails (the server
is down, the port or host is wrong, the database does not exist, the login is refused, the
SQLite file's folder is missing) the user gets one line naming the database, with its password
hidden, and what to check, never a driver's traceback. `contactbot status` and /healthz use the
same words for their database line.

Hosting providers hand out `postgres://user:pw@host/db` URLs, which SQLAlchemy does not know;
`normalize_url` turns them (and a bare `postgresql://`) into `postgresql+psycopg://`, the
driver contactbot installs.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

#: Seconds a PostgreSQL connection attempt may take before it counts as unreachable.
CONNECT_TIMEOUT_SECONDS = 10

#: Where the URL comes from, for the "what to check" half of the message.
URL_SOURCES = "the database URL (CONTACTBOT_DATABASE_URL or database.url in the config)"

_POSTGRES_SCHEMES = ("postgres://", "postgresql://")
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")


class DatabaseUnreachable(Exception):
    """The configured database cannot be opened; the message is the one line to show."""


def normalize_url(url: str) -> str:
    """`postgres://…` and `postgresql://…` as `postgresql+psycopg://…`; others unchanged."""
    stripped = url.strip()
    for scheme in _POSTGRES_SCHEMES:
        if stripped.startswith(scheme):
            return "postgresql+psycopg://" + stripped[len(scheme) :]
    return stripped


def shown_url(url: str) -> str:
    """The URL with its password replaced by ***, also when SQLAlchemy cannot parse it."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _PASSWORD_IN_URL.sub(r"\1***@", url)


def _password(url: str) -> str:
    try:
        return make_url(url).password or ""
    except (ArgumentError, ValueError):
        return ""


def _first_line(error: BaseException) -> str:
    """The driver's own words: the first line, without SQLAlchemy's wrapper and link."""
    original = getattr(error, "orig", None) or error
    words = str(original).strip().splitlines() or [type(original).__name__]
    line = words[0].strip()
    line = re.sub(r"^connection failed: ", "", line)
    return line[:300]


def _sqlite_path(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _postgres_advice(url: str, words: str) -> str:
    parsed = make_url(url)
    host = parsed.host or "localhost"
    where = f"{host}:{parsed.port or 5432}"
    lowered = words.lower()
    if "connection refused" in lowered or "no such file or directory" in lowered:
        return (
            f"nothing answers at {where}: check that PostgreSQL is running there and that "
            f"the host and port in {URL_SOURCES} are right"
        )
    if "does not exist" in lowered and "database" in lowered:
        return (
            f"there is no database {parsed.database!r} on {where}: create it "
            f"(createdb {parsed.database}) or fix the name in {URL_SOURCES}"
        )
    if "password" in lowered or "authentication" in lowered or "role" in lowered:
        return (
            f"{where} refused the login of {parsed.username!r}: check the user name and "
            f"password in {URL_SOURCES}"
        )
    if "translate host name" in lowered or "name or service" in lowered:
        return f"the host name {host!r} is unknown: check the host in {URL_SOURCES}"
    if "timeout" in lowered or "timed out" in lowered:
        return (
            f"{where} did not answer within {CONNECT_TIMEOUT_SECONDS} s: check the host, "
            "the port and any firewall in between"
        )
    return f"{words}; check {URL_SOURCES}"


def _advice(url: str, error: BaseException) -> str:
    if isinstance(error, NoSuchModuleError | ModuleNotFoundError):
        scheme = url.partition(":")[0]
        return (
            f"contactbot does not know the database kind {scheme!r}: use sqlite:///PATH or "
            f"postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE in {URL_SOURCES}"
        )
    if isinstance(error, ArgumentError):
        return (
            f"this is not a database URL; write sqlite:///PATH or "
            f"postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE in {URL_SOURCES}"
        )
    words = _first_line(error)
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None and not path.parent.is_dir():
            return (
                f"the folder {path.parent} does not exist: create it, or point "
                f"{URL_SOURCES} at a folder that does"
            )
        if path is not None and path.is_dir():
            return f"{path} is a folder, not a database file: fix {URL_SOURCES}"
        return f"{words}; check that the file is a contactbot database and that you may write it"
    if url.startswith("postgresql"):
        return _postgres_advice(url, words)
    return f"{words}; check {URL_SOURCES}"


def describe(url: str, error: BaseException) -> str:
    """One line: which database (password hidden) and what to check."""
    line = f"cannot open the database {shown_url(url)}: {_advice(url, error)}."
    password = _password(url)
    if password and len(password) > 2:
        line = line.replace(password, "***")
    return line


def probe(url: str, data_dir: Path | None = None) -> None:
    """Connect once and run `SELECT 1`, or raise DatabaseUnreachable with `describe`'s line.

    For SQLite only the folder is checked (opening the file would create it before
    storage.files has made it private); the real open follows in `open_store`, which creates
    `data_dir` (the default database's folder) when it is missing."""
    try:
        if url.startswith("sqlite"):
            path = _sqlite_path(url)
            if path is None or (data_dir is not None and path.parent == data_dir):
                return
            if not path.parent.is_dir() or path.is_dir():
                raise DatabaseUnreachable(describe(url, FileNotFoundError(str(path))))
            return
        engine = create_engine(url, poolclass=NullPool, **connect_options(url))
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except DatabaseUnreachable:
        raise
    except (SQLAlchemyError, ModuleNotFoundError, OSError) as error:
        raise DatabaseUnreachable(describe(url, error)) from None


def connect_options(url: str) -> dict[str, object]:
    """create_engine arguments that bound the wait for an unreachable server."""
    if not url.startswith("postgresql"):
        return {}
    query = make_url(url).query
    if "connect_timeout" in query:
        return {}
    return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_SECONDS}}
