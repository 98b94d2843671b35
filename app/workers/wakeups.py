"""How an idle delivery worker waits for work: LISTEN on PostgreSQL, polling on SQLite."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from app.services.webhooks.outbox import CHANNEL

__all__ = ["WakeUps"]


class WakeUps:
    """How an idle worker waits: on PostgreSQL it listens for the NOTIFY that every commit
    with new deliveries sends (and still looks every few seconds); on SQLite it polls every
    `WEBHOOK_POLL_SECONDS`."""

    LISTENING_MAX_WAIT = 5.0

    def __init__(self, database_url: str, poll_seconds: float, stop: threading.Event) -> None:
        self.stop = stop
        self.poll_seconds = poll_seconds
        self.connection: psycopg.Connection[Any] | None = None
        url = make_url(database_url)
        if url.get_backend_name() == "postgresql":
            plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self.connection = psycopg.connect(plain, autocommit=True)
            self.connection.execute(f"LISTEN {CHANNEL}")

    def wait(self, seconds: float) -> None:
        if self.connection is None:
            self.stop.wait(min(seconds, self.poll_seconds))
            return
        deadline = time.monotonic() + max(0.0, min(seconds, self.LISTENING_MAX_WAIT))
        # In slices, so that a stop request is seen within a fraction of a second.
        while not self.stop.is_set() and (left := deadline - time.monotonic()) > 0:
            for _ in self.connection.notifies(timeout=min(left, 0.25), stop_after=1):
                return

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
