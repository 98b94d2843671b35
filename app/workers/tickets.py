"""Native tickets: the delivery worker opens, updates, closes and reopens a ticket (a GitHub or
Jira issue, a Linear issue) for each item an integration's `tickets` select, and links the item
to it. The syncer knows trackers only through `TicketClient` (`ticketing/trackers.py`): the
GitHub, Jira and Linear clients each find, open and update tickets their own way.

A round is three steps, like a delivery's, and no transaction is open while a tracker is called:
1. `discover`: every selected item (of the priority and above, of the kinds and phases given,
   open or in progress, with no ticket link) that has no sync row gets one, `pending`;
2. `claim`: due rows are leased to this worker (`FOR UPDATE SKIP LOCKED` on PostgreSQL), each
   with what to send (the ticket text, assignees, labels, the state its status asks); a
   `pending` row becomes `creating` in the same commit: the intent, recorded before the call;
3. the calls, then `record` of each outcome where this worker still holds the lease: the
   ticket, the item's link to it (an ordinary item change, with its event), or the error and
   when to try again (`Retry-After`, `X-RateLimit-*`, else the webhooks' schedule).

Exactly one ticket per item: a row found `creating` (a worker died between the tracker's answer
and its commit, or the call failed) is looked up first, by the item's marker line, among the
tickets made or updated since the intent; only when none has it is a ticket opened.

Echoes: an item change that came from the tracker (an inbound delivery about the row's ticket)
marks the row as brought up to the item's new version (`tracker_sync.note_inbound`): it is not
sent back.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload, selectinload

from app.config import Settings
from app.models import Checklist, ChecklistItem, Integration, Project, TicketSync, utcnow
from app.services.catalog.store import catalog_for
from app.services.checklists.documents import loaded_owners, project_header
from app.services.checklists.item_events import ItemEvents
from app.services.checklists.items import update_item
from app.services.checklists.tickets import marker, ticket_text
from app.services.checklists.waivers import expire_due_waivers
from app.services.context import SYSTEM, Context
from app.services.locks import lock_checklists
from app.services.ticketing.github import GitHubClient
from app.services.ticketing.jira import JiraClient
from app.services.ticketing.linear import LinearClient
from app.services.ticketing.token_box import TokenBoxError, decrypt_token
from app.services.ticketing.tracker_sync import (
    HAS_TICKETS,
    OPEN_STATUSES,
    selected_items,
    wanted_state,
)
from app.services.ticketing.trackers import Draft, Ticket, TicketClient, TrackerError
from app.vocabulary import TicketSyncState

__all__ = ["TicketSyncer"]

log = logging.getLogger(__name__)

# Rows claimed at a time: one, performed and recorded before the next is claimed, so that a
# row's lease (which outlasts its own calls) never runs out while it waits behind others.
CLAIM_BATCH = 1
# Items discovered per integration per round.
DISCOVER_BATCH = 200
# A row's lease outlasts its calls (a look-up is a few pages).
LEASE_CALLS = 8
# How long a round may sync before it leaves the rest to the next (the worker's deliveries
# wait meanwhile).
ROUND_BUDGET_SECONDS = 5.0


@dataclass
class _Job:
    """A claimed row and what to send for it."""

    sync_id: str
    integration_id: str
    item_id: str
    provider: str
    where: dict[str, Any]  # the integration's `tickets` settings
    token: str | None
    token_problem: str | None
    search_first: bool  # the intent was committed before this claim: look the issue up first
    intent_at: datetime | None
    ref: str | None  # the ticket's id in the tracker, once known
    item_version: int
    draft: Draft
    state: str
    reason: str | None
    remote_state: str | None
    remote_reason: str | None
    attempts: int


@dataclass
class _Outcome:
    ticket: Ticket | None = None
    error: str | None = None
    retry_after: float | None = None
    sent_state: tuple[str, str | None] | None = None


class TicketSyncer:
    """The native tickets' part of a delivery worker (it runs in the worker's own loop)."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        worker_id: str,
        clients: Mapping[str, TicketClient] | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.worker_id = worker_id
        # One client per tracker, by provider (each pools its connections).
        self.clients: dict[str, TicketClient] = dict(clients or {})
        if not clients:
            self.clients = {
                "github": GitHubClient(settings),
                "jira": JiraClient(settings),
                "linear": LinearClient(settings),
            }
        self.ctx = Context(SYSTEM, settings=settings)
        self.lease = timedelta(seconds=settings.webhook_timeout * LEASE_CALLS + 5)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def run_once(self, budget: float = ROUND_BUDGET_SECONDS) -> int:
        """Discover, then sync what is due until nothing is or `budget` seconds have passed
        (the rest is the next round's); the rows handled."""
        deadline = time.monotonic() + budget
        self.discover()
        handled = 0
        while time.monotonic() < deadline and (jobs := self.claim(CLAIM_BATCH)):
            self.record([(job, self.perform(job)) for job in jobs])
            handled += len(jobs)
        return handled

    # -- 1. discover ---------------------------------------------------------------------------

    def discover(self) -> int:
        """A `pending` row for every selected item without a ticket or a row."""
        session = self.session
        integrations = session.scalars(select(Integration).where(HAS_TICKETS)).all()
        made = 0
        now = utcnow()
        for integration in integrations:
            items = session.execute(
                selected_items(integration)
                .where(
                    ChecklistItem.ticket["key"].as_string().is_(None),
                    ChecklistItem.status.in_(OPEN_STATUSES),
                    # An item has one ticket, whichever integration opened it.
                    ~exists().where(TicketSync.item_id == ChecklistItem.id),
                )
                .with_only_columns(ChecklistItem.id)
                .limit(DISCOVER_BATCH)
            ).scalars()
            for item_id in items:
                session.add(
                    TicketSync(
                        team_id=integration.team_id,
                        integration_id=integration.id,
                        item_id=item_id,
                        state=TicketSyncState.PENDING,
                        attempts=0,
                        next_attempt_at=now,
                    )
                )
                made += 1
        try:
            session.commit()
        except IntegrityError:  # another worker made the same rows meanwhile: as good
            session.rollback()
            return 0
        return made

    # -- 2. claim ------------------------------------------------------------------------------

    def claim(self, limit: int) -> list[_Job]:
        session = self.session
        now = utcnow()
        due = (
            select(TicketSync.id)
            .join(ChecklistItem, ChecklistItem.id == TicketSync.item_id)
            .join(Integration, Integration.id == TicketSync.integration_id)
            .where(
                HAS_TICKETS,
                or_(TicketSync.lease_until.is_(None), TicketSync.lease_until < now),
                or_(
                    and_(
                        TicketSync.state != TicketSyncState.SYNCED,
                        TicketSync.next_attempt_at <= now,
                    ),
                    and_(
                        TicketSync.state == TicketSyncState.SYNCED,
                        TicketSync.synced_version != ChecklistItem.version,
                    ),
                ),
            )
            .order_by(TicketSync.next_attempt_at)
            .limit(limit)
            .with_for_update(of=TicketSync, skip_locked=True)
        )
        ids = list(session.scalars(due))
        if not ids:
            session.commit()
            return []
        rows = session.execute(
            select(TicketSync, ChecklistItem, Integration)
            .join(ChecklistItem, ChecklistItem.id == TicketSync.item_id)
            .join(Integration, Integration.id == TicketSync.integration_id)
            .where(TicketSync.id.in_(ids))
            .options(selectinload(ChecklistItem.owners), lazyload(TicketSync.item))
        ).all()
        jobs = []
        for sync, item, integration in rows:
            jobs.append(self._job(sync, item, integration, now))
            sync.lease_until = now + self.lease
            sync.leased_by = self.worker_id
            if sync.state == TicketSyncState.PENDING:
                # The intent to open the ticket, committed before the call.
                sync.state = TicketSyncState.CREATING
                sync.intent_at = now
        session.commit()
        return jobs

    def _job(
        self, sync: TicketSync, item: ChecklistItem, integration: Integration, now: datetime
    ) -> _Job:
        session = self.session
        tickets = integration.tickets or {}
        project = session.get(Project, item.project_id)
        checklist = session.get(Checklist, item.checklist_id)
        assert project is not None and checklist is not None
        events = ItemEvents(session, self.ctx, project, checklist)
        snapshot = events.snapshot(item, loaded_owners(item))
        text = ticket_text(
            project_header(project, catalog_for(session, checklist.catalog_version)), snapshot
        )
        # The owners' handles for this tracker: GitHub logins, Jira account ids, Linear ids.
        provider = integration.provider
        assignees = [
            owner["handles"][provider]
            for owner in snapshot.get("owners") or ()
            if (owner.get("handles") or {}).get(provider)
        ]
        token: str | None = None
        problem: str | None = None
        try:
            token = decrypt_token(
                self.settings.tickets_encryption_key, integration.tickets_token or ""
            )
        except TokenBoxError as exc:
            problem = str(exc)
        state, reason = wanted_state(snapshot["status"])
        return _Job(
            sync_id=sync.id,
            integration_id=integration.id,
            item_id=item.id,
            provider=provider,
            where=dict(tickets),
            token=token,
            token_problem=problem,
            search_first=sync.state == TicketSyncState.CREATING,
            intent_at=sync.intent_at or now,
            ref=sync.ticket_ref,
            item_version=item.version,
            draft=Draft(
                title=text["title"],
                body=text["body"],
                marker=marker(project.slug, item.key),
                labels=list(tickets.get("labels") or ()),
                assignees=list(dict.fromkeys(assignees)),
            ),
            state=state,
            reason=reason,
            remote_state=sync.remote_state,
            remote_reason=sync.remote_reason,
            attempts=sync.attempts,
        )

    # -- 3. the calls --------------------------------------------------------------------------

    def perform(self, job: _Job) -> _Outcome:
        """The calls a job needs; never raises for the tracker's failures."""
        if job.token is None:
            return _Outcome(error=job.token_problem)
        client = self.clients.get(job.provider)
        if client is None:
            return _Outcome(error=f"no native tickets for {job.provider}")
        try:
            return self._calls(client, job)
        except TrackerError as exc:
            return _Outcome(error=exc.message, retry_after=exc.retry_after)
        except httpx.HTTPError as exc:  # what the client did not turn into a TrackerError
            return _Outcome(error=f"{job.provider} could not be read: {type(exc).__name__}")

    def _calls(self, client: TicketClient, job: _Job) -> _Outcome:
        assert job.token is not None
        token = job.token
        ticket: Ticket | None = None
        created = False
        if job.ref is None:
            if job.search_first:
                since = (job.intent_at or utcnow()) - timedelta(minutes=1)
                ticket = client.find(token, job.where, job.draft.marker, since)
            if ticket is None:
                ticket = client.create(token, job.where, job.draft)
                created = True
        current: tuple[str | None, str | None]
        if ticket is not None:
            current = (ticket.state, ticket.reason)
        else:
            current = (job.remote_state, job.remote_reason)
        state: tuple[str, str | None] | None = None
        if current[0] != job.state or (job.state == "closed" and current[1] != job.reason):
            state = (job.state, job.reason)
        elif ticket is not None and (created or ticket.body == job.draft.body):
            # Just opened (or found) as the item is: nothing more to send.
            return _Outcome(ticket=ticket, sent_state=(ticket.state, ticket.reason))
        ref = ticket.ref if ticket else job.ref
        assert ref is not None
        updated = client.update(token, job.where, ref, job.draft, state)
        return _Outcome(ticket=updated, sent_state=(updated.state, updated.reason))

    # -- record --------------------------------------------------------------------------------

    def record(self, finished: Sequence[tuple[_Job, _Outcome]]) -> None:
        """Each outcome, where this worker still holds the row, in one transaction."""
        session = self.session
        now = utcnow()
        for job, outcome in finished:
            sync = session.scalars(
                select(TicketSync)
                .where(TicketSync.id == job.sync_id, TicketSync.leased_by == self.worker_id)
                .options(lazyload(TicketSync.item))
                .with_for_update(of=TicketSync)
            ).first()
            if sync is None:
                log.warning(
                    "ticket sync %s was taken over before its outcome was recorded", job.sync_id
                )
                continue
            sync.lease_until = None
            sync.leased_by = None
            sync.updated_at = now
            if outcome.ticket is None:
                sync.attempts += 1
                sync.last_error = (outcome.error or "failed")[:500]
                sync.next_attempt_at = now + timedelta(seconds=self._delay(sync.attempts, outcome))
                if sync.state == TicketSyncState.SYNCED:
                    sync.state = TicketSyncState.RETRYING
                log.info(
                    "ticket sync %s of item %s failed (attempt %d): %s",
                    sync.id,
                    job.item_id,
                    sync.attempts,
                    sync.last_error,
                    extra={"ticket_sync_id": sync.id, "item_id": job.item_id},
                )
                continue
            ticket = outcome.ticket
            sync.state = TicketSyncState.SYNCED
            sync.attempts = 0
            sync.last_error = None
            sync.ticket_ref = ticket.ref
            sync.ticket_number = int(ticket.ref) if job.provider == "github" else None
            sync.ticket_key = ticket.key
            sync.ticket_url = ticket.url
            sync.remote_state, sync.remote_reason = outcome.sent_state or (ticket.state, None)
            sync.synced_version = job.item_version
            sync.next_attempt_at = now
            self._link(sync, job)
            log.info(
                "ticket sync %s: item %s is %s (%s)",
                sync.id,
                job.item_id,
                sync.ticket_key,
                sync.remote_state,
                extra={"ticket_sync_id": sync.id, "item_id": job.item_id},
            )
        session.commit()

    def _link(self, sync: TicketSync, job: _Job) -> None:
        """The item's ticket link, when it has none: an ordinary item change, with its event."""
        session = self.session
        item = session.get(ChecklistItem, job.item_id)
        if item is None or item.ticket is not None:
            return
        locked = lock_checklists(session, item.team_id, [item.project_id])
        if not locked:
            return
        project, checklist = locked[0]
        expire_due_waivers(session, self.ctx, [checklist])
        item = session.scalars(
            select(ChecklistItem)
            .where(ChecklistItem.id == job.item_id)
            .options(selectinload(ChecklistItem.owners))
            .execution_options(populate_existing=True)
        ).one()
        if item.ticket is not None:
            return
        unchanged = item.version == job.item_version
        client = self.clients[job.provider]
        link = {"system": client.system, "key": sync.ticket_key, "url": sync.ticket_url}
        # The integration links the item, as its inbound deliveries change items.
        ctx = replace(self.ctx, actor=f"integration:{job.integration_id}")
        update_item(
            session,
            ctx,
            project,
            checklist,
            item,
            {"ticket": link},
            reason=f"{client.noun} {sync.ticket_key} was opened for the item",
        )
        if unchanged:
            # The link is not in the ticket's text: the ticket is as up to date as before.
            sync.synced_version = item.version

    def _delay(self, attempts: int, outcome: _Outcome) -> float:
        if outcome.retry_after is not None:
            return max(1.0, outcome.retry_after)
        schedule = self.settings.webhook_retry_schedule or (60,)
        base = schedule[min(attempts, len(schedule)) - 1]
        return float(base) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret
