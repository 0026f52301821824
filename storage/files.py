"""Files of the store on disk, readable by their owner only.

The data directory holds the whole CRM: the SQLite database (with its -wal and -shm files)
and the shell's history, which has every line typed, emails and phone numbers included.
With the usual umask 022 they were created 0755 and 0644, so any local user could read
them. Now the directory is created 0700 and the files 0600; an existing directory or file
with looser permissions is tightened when contactbot opens it, with a line in the log.

SQLite creates a database's -wal, -shm and -journal files with the permissions of the
database file itself (os_unix.c, findCreateFileMode), so creating the database file 0600
before SQLite opens it covers those too; tests/test_files_on_disk.py checks that.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
#: The files SQLite keeps beside a database.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def _tighten(path: Path, mode: int) -> None:
    """chmod `path` to `mode` when group or others may use it; logs what it changed."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & 0o077:
        os.chmod(path, mode)
        log.info("%s was readable by others (%o); now %o", path, current, mode)


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) 0700, or tighten it when it exists."""
    if not path.exists():
        path.mkdir(parents=True, mode=DIR_MODE, exist_ok=True)
        os.chmod(path, DIR_MODE)  # mkdir's mode passes through the umask
        return path
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 when it is missing, or tighten it."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
    else:
        os.close(descriptor)
    return path


def private_sqlite(database: Path) -> None:
    """The database file 0600 before SQLite opens it (so its -wal and -shm are too), and
    companions left looser by an older version tightened."""
    if not database.parent.is_dir():
        return  # SQLite reports the missing directory itself
    private_file(database)
    for suffix in SQLITE_COMPANIONS:
        _tighten(database.with_name(database.name + suffix), FILE_MODE)
