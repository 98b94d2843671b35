"""When each API key was last used: noted in memory by every request, written in batches.

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
from sqlalchemy import Engine, bindparam, or_, update

from app.extensions import db
from app.models import ApiKey, utcnow

log = logging.getLogger(__name__)

_EXTENSION = "key_use_log"

_WRITE = (
    update(ApiKey)
    .where(
        ApiKey.id == bindparam("key_id"),
        or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < bindparam("used_at")),
    )
    .values(last_used_at=bindparam("used_at"))
)


class KeyUseLog:
    """The keys this process served and when, until they are written."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._pending: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._written_at = time.monotonic()

    def note(self, key_id: str, when: datetime) -> None:
        with self._lock:
            self._pending[key_id] = when

    def pending(self) -> dict[str, datetime]:
        with self._lock:
            return dict(self._pending)

    def write_if_due(self, engine: Engine) -> int:
        """Write the batch when the interval has passed; how many keys it held."""
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
        # In key order: two processes writing batches never wait on each other in a cycle.
        rows = [{"key_id": key, "used_at": batch[key]} for key in sorted(batch)]
        try:
            with engine.begin() as connection:
                connection.execute(_WRITE, rows)
        except Exception:
            log.warning("could not write the API keys' last use; kept for later", exc_info=True)
            with self._lock:
                for key, when in batch.items():
                    if key not in self._pending or self._pending[key] < when:
                        self._pending[key] = when
            return 0
        return len(rows)


def key_use_log(app: Flask) -> KeyUseLog:
    uses: KeyUseLog = app.extensions[_EXTENSION]
    return uses


def init_key_use(app: Flask) -> None:
    """Note the key of every authenticated request; write the notes once an interval."""
    uses = KeyUseLog(app.config["SETTINGS"].key_use_flush_seconds)
    app.extensions[_EXTENSION] = uses

    @app.teardown_request
    def _note_and_maybe_write(_error: BaseException | None) -> None:
        key_id = g.get("api_key_id")
        if key_id is None:
            return
        uses.note(key_id, utcnow())
        uses.write_if_due(db.engine)
