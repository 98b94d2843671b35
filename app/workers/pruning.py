"""Pruning what is past retention (`app/services/retention.py`): a transaction per batch, so
that no lock is held longer than one small batch takes. `flask prune` drains every table; the
delivery worker prunes for a few seconds every few minutes (`DeliveryWorker.prune`)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from app.config import Settings
from app.models import utcnow
from app.services.retention import RETENTIONS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pace:
    """How pruning goes: the rows a transaction deletes at most, and the wait between two."""

    batch: int
    pause_seconds: float


# PostgreSQL locks rows: a batch of 500 holds its few locks for milliseconds, and nothing
# else waits on them. SQLite has one writer: a smaller batch, then a pause in which the
# requests waiting for the lock take it (their busy handler polls it in growing sleeps).
POSTGRESQL_PACE = Pace(batch=500, pause_seconds=0.0)
SQLITE_PACE = Pace(batch=100, pause_seconds=0.05)


def pace_for(session: Session) -> Pace:
    """The pace of pruning on this session's database."""
    return SQLITE_PACE if session.get_bind().dialect.name == "sqlite" else POSTGRESQL_PACE


@dataclass
class Pruned:
    """What a pruning deleted, by table, and whether it caught up with every table."""

    rows: dict[str, int] = field(default_factory=dict)
    caught_up: bool = True

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def prune(
    session: Session,
    settings: Settings,
    *,
    pace: Pace | None = None,
    budget_seconds: float | None = None,
) -> Pruned:
    """Delete, batch after batch (each committed), every row past its table's retention as of
    now, at `pace` (the database's, `pace_for`, unless given); with `budget_seconds`, stop once
    that long has passed (`caught_up` is then False when rows were left)."""
    pace = pace or pace_for(session)
    batch = pace.batch
    now = utcnow()
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    pruned = Pruned()
    for retention in RETENTIONS:
        cutoff = retention.cutoff(settings, now)
        if cutoff is None:
            continue
        removed = 0
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                pruned.caught_up = False
                break
            found = retention.prune_batch(session, cutoff, batch)
            session.commit()
            removed += found
            if found < batch:
                break
            if pace.pause_seconds:
                time.sleep(pace.pause_seconds)
        pruned.rows[retention.table] = removed
        if not pruned.caught_up:
            break
    if pruned.total:
        log.info("pruned", extra={"rows": pruned.rows, "caught_up": pruned.caught_up})
    return pruned
