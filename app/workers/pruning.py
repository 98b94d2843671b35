"""Pruning what is past retention (`app/services/retention.py`): a transaction per batch, so
that no lock is held longer than one small batch takes. `flask prune` drains every table; the
delivery worker prunes for a few seconds every few minutes (`DeliveryWorker.prune`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from time import monotonic, sleep

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
    that long has passed (`caught_up` is then False when rows were left). The tables take
    turns, a batch each, so that a long backlog in one never starves the others."""
    pace = pace or pace_for(session)
    now = utcnow()
    deadline = None if budget_seconds is None else monotonic() + budget_seconds
    due = [(r, cutoff) for r in RETENTIONS if (cutoff := r.cutoff(settings, now)) is not None]
    pruned = Pruned(rows={retention.table: 0 for retention, _ in due})
    while due:
        for retention, cutoff in list(due):
            if deadline is not None and monotonic() >= deadline:
                pruned.caught_up = False
                break
            found = retention.prune_batch(session, cutoff, pace.batch)
            session.commit()
            pruned.rows[retention.table] += found
            if found < pace.batch:
                due.remove((retention, cutoff))
            if pace.pause_seconds:
                sleep(pace.pause_seconds)
        if not pruned.caught_up:
            break
    if pruned.total:
        log.info("pruned", extra={"rows": pruned.rows, "caught_up": pruned.caught_up})
    return pruned
