"""When each API key was last used: noted in memory by every request, written in batches.
(Share links count their uses with the same log: `app.http.shares`.)

A request never writes its key's use itself (a GET writes nothing). Each process keeps, per
key, the time of its last request, and writes what it kept at most once every
`KEY_USE_FLUSH_SECONDS`: at the teardown of the request that finds the interval passed, once
that request's own transaction has ended, on a connection and in a transaction of its own.
It is one `UPDATE` for the batch (that one request pays its round trip, once an interval),
which never moves a `last_used_at` back (another process may have written a later one). A
process that stops loses at most that interval of notes; `last_used_at` is a hint for
operators ("is this key still in use?"), not an audit record (the events are).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from flask import Flask, g
from sqlalchemy import Engine, Update, bindparam, or_, update

from app.extensions import db
from app.models import ApiKey, utcnow

log = logging.getLogger(__name__)

_EXTENSION = "key_use_log"

# `:count` is not used: a key keeps only its last use.
_WRITE = (
    update(ApiKey)
    .where(
        ApiKey.id == bindparam("row_id"),
        or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < bindparam("used_at")),
    )
    .values(last_used_at=bindparam("used_at"))
)


class UseLog:
    """The rows (keys, share links) this process served, when last and how often, until they
    are written by `statement`, an UPDATE of `:row_id` given `:used_at` (the latest use) and
    `:count` (how many since the last batch)."""

    def __init__(
        self, interval: float, statement: Update, what: str = "API keys' last use"
    ) -> None:
        self.interval = interval
        self.statement = statement
        self.what = what
        self._pending: dict[str, tuple[datetime, int]] = {}
        self._lock = threading.Lock()
        self._written_at = time.monotonic()

    def note(self, row_id: str, when: datetime) -> None:
        with self._lock:
            self._merge(row_id, when, 1)

    def _merge(self, row_id: str, when: datetime, count: int) -> None:
        before = self._pending.get(row_id)
        if before is not None:
            when, count = max(when, before[0]), count + before[1]
        self._pending[row_id] = (when, count)

    def pending(self) -> dict[str, datetime]:
        """The latest use of each row noted and not yet written."""
        with self._lock:
            return {row_id: when for row_id, (when, _) in self._pending.items()}

    def pending_counts(self) -> dict[str, int]:
        """How many uses of each row are noted and not yet written."""
        with self._lock:
            return {row_id: count for row_id, (_, count) in self._pending.items()}

    def write_if_due(self, engine: Engine) -> int:
        """Write the batch when the interval has passed; how many rows it held."""
        if time.monotonic() - self._written_at < self.interval:
            return 0
        return self.write(engine)

    def write(self, engine: Engine) -> int:
        """Write every noted use now (the batch is put back, merged, if the write fails)."""
        with self._lock:
            batch, self._pending = self._pending, {}
            self._written_at = time.monotonic()
        if not batch:
            return 0
        # In id order: two processes writing batches never wait on each other in a cycle.
        rows = [
            {"row_id": row_id, "used_at": batch[row_id][0], "count": batch[row_id][1]}
            for row_id in sorted(batch)
        ]
        try:
            with engine.begin() as connection:
                connection.execute(self.statement, rows)
        except Exception:
            log.warning("could not write the %s; kept for later", self.what, exc_info=True)
            with self._lock:
                for row_id, (when, count) in batch.items():
                    self._merge(row_id, when, count)
            return 0
        return len(rows)


def key_use_log(app: Flask) -> UseLog:
    uses: UseLog = app.extensions[_EXTENSION]
    return uses


def init_key_use(app: Flask) -> None:
    """Note the key of every authenticated request; write the notes once an interval."""
    uses = UseLog(app.config["SETTINGS"].key_use_flush_seconds, _WRITE)
    app.extensions[_EXTENSION] = uses

    @app.teardown_request
    def _note_and_maybe_write(_error: BaseException | None) -> None:
        key_id = g.get("api_key_id")
        if key_id is None:
            return
        note_key_use(uses, key_id, db.engine)


def note_key_use(uses: UseLog, key_id: str, engine: Engine) -> None:
    """Note a request of key `key_id` and write the batch if it is due (at the end of every
    authenticated request, `app.api.fast_reads`' too)."""
    uses.note(key_id, utcnow())
    uses.write_if_due(engine)
