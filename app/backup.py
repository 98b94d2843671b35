"""`flask backup`: a consistent copy of the database taken while the service runs.

SQLite: the online backup API (`sqlite3.Connection.backup`), page by page, never a file copy
(which can catch a write half done). PostgreSQL: `pg_dump --format=custom`, one snapshot, which
`pg_restore` loads into an empty database.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupFailed(Exception):
    """The backup could not be taken; nothing was left at its path."""


def backup(database_url: str, target: Path) -> str:
    """Back the database of `database_url` up into `target` (which must not exist); says how."""
    if target.exists():
        raise BackupFailed(f"{target} exists: give a path that does not.")
    url = make_url(database_url)
    try:
        if url.get_backend_name() == "sqlite":
            _sqlite(url.database or "", target)
            return "SQLite online backup"
        _postgres(url.set(drivername="postgresql"), target)
        return "pg_dump, custom format"
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _sqlite(database: str, target: Path) -> None:
    if not database or database == ":memory:" or not Path(database).exists():
        raise BackupFailed(f"No SQLite database file at '{database}'.")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        # In one step: one read transaction, so one snapshot. The database is in WAL mode, so
        # writers go on meanwhile (a copy in steps would start again after each of them).
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def _postgres(url: URL, target: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupFailed("pg_dump is not on PATH: install PostgreSQL's client tools.")
    # The password goes by the environment, never on the command line (`ps` shows that).
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    libpq_url = url.set(password=None).render_as_string(hide_password=False)
    result = subprocess.run(  # noqa: S603 - pg_dump with our own arguments
        [pg_dump, "--format=custom", "--no-owner", f"--file={target}", f"--dbname={libpq_url}"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if result.returncode != 0:
        raise BackupFailed(f"pg_dump failed: {result.stderr.strip()}")
