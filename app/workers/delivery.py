"""The delivery worker: claims due deliveries, sends them signed, records every attempt.

A round is three steps, and no lock or transaction is held while the HTTP calls run:
1. claim a batch of due deliveries (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers
   never take the same one) by leasing them to this worker for a while, and commit;
2. send them concurrently over pooled keep-alive connections;
3. record each attempt and its outcome in one transaction, where this worker still holds the
   lease. A worker that dies leaves leases that expire: another worker takes the deliveries
   over, with the same `webhook-id`, so delivery is at least once and nothing is lost.

This module owns the loop and the transactions. What one attempt sends and what its outcome
makes of a delivery are rules of their own (`app/services/webhooks/attempts.py`); how an idle
worker waits for work is `app/workers/wakeups.py`.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, new_id, utcnow
from app.models.webhooks import DUE_PREDICATE, DUE_STATUSES
from app.services.checklists.waivers import record_lapsed_waivers
from app.services.context import SYSTEM, Context
from app.services.webhooks.attempts import (
    Claimed,
    attempt_error,
    endpoint_outcome,
    next_state,
    signed_headers,
    strongest_outcome,
)
from app.services.webhooks.endpoints import note_endpoint_outcomes
from app.services.webhooks.outcome import EXCERPT_BYTES, SendResult
from app.services.webhooks.sender import WebhookSender
from app.workers.pruning import Pruned, prune
from app.workers.tickets import ROUND_BUDGET_SECONDS, TicketSyncer
from app.workers.wakeups import WakeUps

__all__ = ["DeliveryWorker", "WakeUps"]

log = logging.getLogger(__name__)

# Attempts that end close together are recorded in one transaction: up to this many, waiting
# at most this long after the first.
RECORD_BATCH = 64
RECORD_AFTER = 0.02

# How often the worker records waivers that have lapsed (a day is their unit: a minute late is
# on time), and how many checklists a transaction takes at most.
LAPSE_SWEEP_SECONDS = 60.0
LAPSE_BATCH = 100

# How often the worker prunes what is past retention, and for how long at most each time
# (batch after batch; what is left waits for the next time, or for `flask prune`).
PRUNE_SECONDS = 300.0
PRUNE_BUDGET_SECONDS = 5.0

# Native tickets are synced this often: each round looks for items to ticket, changed items
# and failed calls that are due again (item changes send no wake-up of their own).
TICKET_ROUND_SECONDS = 1.0


class DeliveryWorker:
    """Delivers due webhooks; `run_once` drains what is due, `run` keeps at it until stopped."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        sender: WebhookSender | None = None,
        *,
        worker_id: str | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.sender = sender or WebhookSender.from_settings(
            settings,
            max_keepalive_per_endpoint=settings.webhook_endpoint_concurrency,
        )
        self.worker_id = worker_id or f"worker-{secrets.token_hex(6)}"
        self.concurrency = settings.webhook_worker_concurrency
        # An attempt ends within the timeout; the lease outlasts it, so no other worker takes
        # a delivery over while it is being sent.
        self.lease = timedelta(
            seconds=max(settings.webhook_lease_seconds, settings.webhook_timeout + 5)
        )
        self.pool = ThreadPoolExecutor(self.concurrency)
        self.ctx = Context(SYSTEM, settings=settings)
        # Native tickets: synced in this loop, between delivery rounds (tracker_sync.py).
        self.tickets = TicketSyncer(session, settings, self.worker_id)

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.sender.close()
        self.tickets.close()

    def sync_tickets(self, budget: float = ROUND_BUDGET_SECONDS) -> int:
        """One round of native tickets: open, update, close or reopen what is due."""
        return self.tickets.run_once(budget)

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Send every delivery that is due now; the number of attempts made.

        Attempts flow rather than go in rounds: whenever attempts end, their outcomes are
        recorded and more deliveries are claimed for the free threads, so a slow receiver
        holds only its own threads, at most `WEBHOOK_ENDPOINT_CONCURRENCY` of them.
        """
        in_flight: dict[Future[tuple[datetime, SendResult]], Claimed] = {}
        made = 0
        while True:
            free = self.concurrency - len(in_flight)
            # Claims come in batches (half the threads at least, or all when idle): a claim
            # and a record are a transaction each, and per delivery they would cost more
            # than the sending.
            if free >= max(1, self.concurrency // 2) and not (stop and stop.is_set()):
                busy = Counter(delivery.endpoint_id for delivery in in_flight.values())
                for delivery in self.claim(free, busy):
                    in_flight[self.pool.submit(self.send, delivery)] = delivery
            if not in_flight:
                return made
            done = self._finished(in_flight)
            if done:
                self.record([(in_flight.pop(future), *future.result()) for future in done])
                made += len(done)

    def _finished(
        self, in_flight: Mapping[Future[tuple[datetime, SendResult]], Claimed]
    ) -> set[Future[tuple[datetime, SendResult]]]:
        """The attempts that end within the poll interval, gathered for up to `RECORD_AFTER`
        after the first so that they are recorded together."""
        done, pending = wait(
            in_flight, timeout=self.settings.webhook_poll_seconds, return_when=FIRST_COMPLETED
        )
        deadline = time.monotonic() + RECORD_AFTER
        while done and pending and len(done) < RECORD_BATCH:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            more, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
            if not more:
                break
            done |= more
        return done

    def run(self, stop: threading.Event, wake_ups: WakeUps) -> None:
        """Deliver until `stop` is set, sleeping between rounds until the next delivery is due
        or a new one is committed; record lapsed waivers every `LAPSE_SWEEP_SECONDS`, prune
        what is past retention every `PRUNE_SECONDS`, and sync native tickets every
        `TICKET_ROUND_SECONDS`."""
        next_sweep = 0.0
        next_prune = 0.0
        next_tickets = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_sweep:
                    self.record_lapsed_waivers()
                    next_sweep = time.monotonic() + LAPSE_SWEEP_SECONDS
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_SECONDS
                    self.prune()
                self.run_once(stop)
                if time.monotonic() >= next_tickets:
                    self.sync_tickets()
                    next_tickets = time.monotonic() + TICKET_ROUND_SECONDS
                pause = min(
                    self.seconds_until_next_due(),
                    next_sweep - time.monotonic(),
                    next_prune - time.monotonic(),
                    next_tickets - time.monotonic(),
                )
            except Exception:  # a database outage must not end the worker
                log.exception("delivery round failed")
                self.session.rollback()
                pause = 5.0
            if not stop.is_set():
                wake_ups.wait(max(0.0, pause))

    def record_lapsed_waivers(self) -> int:
        """Turn the items whose waivers have lapsed back to `open`, with their events, a
        transaction per batch of checklists (reads only show a lapse; this records it, so
        the events reach the webhooks even when nobody writes to the checklist)."""
        recorded = 0
        while True:
            found = record_lapsed_waivers(self.session, self.ctx, limit=LAPSE_BATCH)
            self.session.commit()
            recorded += found
            if found < LAPSE_BATCH:
                return recorded

    def prune(self) -> Pruned:
        """Prune what is past retention for `PRUNE_BUDGET_SECONDS` at most, a transaction
        per batch (`app/workers/pruning.py`)."""
        return prune(self.session, self.settings, budget_seconds=PRUNE_BUDGET_SECONDS)

    def _claimable(self, now: datetime) -> list[Any]:
        """What makes a delivery this worker's to take: due, its endpoint enabled, and no
        other worker's lease on it."""
        return [
            text(DUE_PREDICATE),
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            WebhookEndpoint.enabled.is_(True),
        ]

    def seconds_until_next_due(self) -> float:
        """Until this worker could next claim something: the earliest scheduled attempt, or
        the end of another worker's lease (an hour when nothing is waiting)."""
        ready = case(
            (
                WebhookDelivery.lease_until > WebhookDelivery.next_attempt_at,
                WebhookDelivery.lease_until,
            ),
            else_=WebhookDelivery.next_attempt_at,
        )
        next_due = self.session.scalar(
            select(func.min(ready))
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(text(DUE_PREDICATE), WebhookEndpoint.enabled.is_(True))
        )
        self.session.commit()
        if next_due is None:
            return 3600.0
        return max(0.0, (next_due - utcnow()).total_seconds())

    def claim(self, limit: int, busy: Mapping[str, int] | None = None) -> list[Claimed]:
        """Lease up to `limit` due deliveries to this worker, oldest first, at most
        `WEBHOOK_ENDPOINT_CONCURRENCY` per endpoint counting the `busy` ones in flight."""
        session = self.session
        _relax_commit(session)
        now = utcnow()
        cap = self.settings.webhook_endpoint_concurrency
        busy = busy or {}
        due = (
            select(WebhookDelivery.id, WebhookDelivery.endpoint_id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(*self._claimable(now))
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
        full = [endpoint_id for endpoint_id, n in busy.items() if n >= cap]
        if full:
            due = due.where(WebhookDelivery.endpoint_id.not_in(full))
        taken = Counter(busy)
        ids = []
        for delivery_id, endpoint_id in session.execute(due):
            # The rest stay where they are: their row locks end with this transaction.
            if taken[endpoint_id] < cap:
                taken[endpoint_id] += 1
                ids.append(delivery_id)
        if not ids:
            session.commit()
            return []
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .values(lease_until=now + self.lease, leased_by=self.worker_id)
            .execution_options(synchronize_session=False)
        )
        rows = session.execute(
            select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.id.in_(ids))
            .order_by(WebhookDelivery.next_attempt_at)
        ).all()
        claimed = [_claimed(delivery, endpoint, now) for delivery, endpoint in rows]
        session.commit()
        return claimed

    def send(self, delivery: Claimed) -> tuple[datetime, SendResult]:
        """One signed attempt; when it started, and how it went (never raises)."""
        started = utcnow()
        headers = signed_headers(delivery)
        return started, self.sender.send(delivery.endpoint_id, delivery.url, headers, delivery.body)

    def record(self, finished: Sequence[tuple[Claimed, datetime, SendResult]]) -> None:
        """Write each attempt and its delivery's new state, then what they say of each
        endpoint, in one transaction. A delivery whose lease this worker lost (its endpoint
        was deleted) is left to whoever holds it now."""
        session = self.session
        _relax_commit(session)
        now = utcnow()
        table = WebhookDelivery.__table__
        # The deliveries this worker still holds, locked; `due` is False for one that ended
        # meanwhile (its endpoint was disabled: dead), which keeps its state. One whose
        # endpoint was deleted is gone, and its attempt with it.
        held: dict[str, bool] = dict(
            session.execute(
                select(table.c.id, table.c.status.in_(DUE_STATUSES))
                .where(
                    table.c.id.in_([delivery.id for delivery, _, _ in finished]),
                    table.c.leased_by == self.worker_id,
                )
                .with_for_update()
            ).all()
        )
        attempts = []
        changes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        outcomes: dict[str, str] = {}
        recorded: list[tuple[Claimed, SendResult, dict[str, Any]]] = []
        for delivery, started, result in finished:
            if delivery.id not in held:
                log.warning("delivery %s ended before its outcome was recorded", delivery.id)
                continue
            if held[delivery.id]:
                values = next_state(self.settings, delivery, result, now)
            else:
                values = {"lease_until": None, "leased_by": None, "attempts": delivery.attempts + 1}
            recorded.append((delivery, result, values))
            changes.setdefault(tuple(sorted(values)), []).append(
                {"b_id": delivery.id, **{f"v_{k}": v for k, v in values.items()}}
            )
            attempts.append(
                {
                    "id": new_id(WebhookAttempt.id_prefix),
                    "delivery_id": delivery.id,
                    "attempted_at": started,
                    "status_code": result.status_code,
                    "latency_ms": round(result.latency_ms),
                    "error": attempt_error(result),
                    "response_excerpt": result.excerpt[:EXCERPT_BYTES] or None,
                }
            )
            current = outcomes.get(delivery.endpoint_id, "failed")
            outcomes[delivery.endpoint_id] = strongest_outcome(current, endpoint_outcome(result))
        # One executemany per shape of change (success, retry, dead, ended), not one per row.
        for columns, rows in changes.items():
            session.execute(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values({column: bindparam(f"v_{column}") for column in columns}),
                rows,
            )
        if attempts:
            session.execute(insert(WebhookAttempt.__table__), attempts)
        note_endpoint_outcomes(session, self.ctx, outcomes, now)
        session.commit()
        for delivery, result, values in recorded:
            _log_attempt(delivery, result, values)


def _claimed(delivery: WebhookDelivery, endpoint: WebhookEndpoint, now: datetime) -> Claimed:
    signing = [endpoint.secret]
    if endpoint.previous_secret and (endpoint.previous_secret_expires_at or now) > now:
        signing.append(endpoint.previous_secret)
    return Claimed(
        id=delivery.id,
        endpoint_id=endpoint.id,
        url=endpoint.url,
        headers=dict(endpoint.headers),
        signing_secrets=tuple(signing),
        message_id=delivery.message_id,
        body=delivery.body.encode(),
        attempts=delivery.attempts,
    )


def _log_attempt(delivery: Claimed, result: SendResult, values: Mapping[str, Any]) -> None:
    """One line an attempt, once it is recorded: which delivery, where, how it went, and what
    comes next (the same facts as the delivery log, for an operator watching the worker)."""
    outcome = values.get("status", "ended")  # a delivery that ended meanwhile keeps its state
    following = values.get("next_attempt_at")
    then = f", next attempt at {following.isoformat(timespec='seconds')}" if following else ""
    log.info(
        "delivery %s attempt %d to %s: %s in %d ms, %s%s",
        delivery.id,
        values["attempts"],
        delivery.url,
        attempt_error(result) or f"HTTP {result.status_code}",
        round(result.latency_ms),
        outcome,
        then,
        extra={
            "delivery_id": delivery.id,
            "endpoint_id": delivery.endpoint_id,
            "attempt": values["attempts"],
            "status_code": result.status_code,
            "latency_ms": round(result.latency_ms),
            "outcome": outcome,
        },
    )


def _relax_commit(session: Session) -> None:
    """The worker's own bookkeeping need not wait for its commit to reach the disk: a commit
    lost in a crash only means an attempt is made again, which at-least-once delivery allows.
    (The outbox rows are written by the committing request, synchronously.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
