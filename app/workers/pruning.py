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

# Rows a transaction deletes at most: a few milliseconds of locks, and of SQLite's one writer.
PRUNE_BATCH = 500


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
    batch: int = PRUNE_BATCH,
    budget_seconds: float | None = None,
    pause_seconds: float = 0.0,
) -> Pruned:
    """Delete, batch after batch (each committed), every row past its table's retention as of
    now; with `budget_seconds`, stop once that long has passed (`caught_up` is then False when
    rows were left). `pause_seconds` between batches leaves SQLite's writer lock to others."""
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
            if pause_seconds:
                time.sleep(pause_seconds)
        pruned.rows[retention.table] = removed
        if not pruned.caught_up:
            break
    if pruned.total:
        log.info("pruned", extra={"rows": pruned.rows, "caught_up": pruned.caught_up})
    return pruned
