"""Every revision of a checklist, kept: recorded once per transaction that changes the checklist
or any of its items, just before that transaction commits, whoever owns it (a request, the
delivery worker, a CLI command), and readable as it stood ever after.

The recording is one hook on every session's commit (`install`), as the outbox's is: the
writers need not remember it. A writer marks its change in the checklist's `state` (in SQL,
under the checklist's lock: `Checklist.mark_changed`, the regeneration's bulk UPDATE,
`touch_checklists`); a checklist whose `state` is not its `recorded_state` has changed in this
transaction, and the hook, for all of them at once, with a fixed number of statements:

- gives it its next `revision` (the first one of a new checklist is 1);
- keeps what it now shows of the project (header and context), the release it is for as that
  release stands (its status included), its catalog version and its summary as a
  `ChecklistRevision`, with the types of the events of the transaction and who made
  it (their actor);
- writes a `ChecklistItemVersion` for each item whose public form (owners' names and its place
  included) differs from its current version, and closes that one (its `to_revision`).

Revision n is its header and the item versions live at n. A transaction that changes nothing
records nothing: only transactions that record events are looked at (every change of a checklist
records one), and a checklist whose state moved but that shows what its last revision showed
(a project's description changed) gets no revision, its `recorded_state` only catching up.
A release opened or shipped changes what the checklist shows (its `release`), so each is a
revision even when no item changed.

Concurrency: a checklist changed in the transaction has had its row updated by it (its
`state`), so the row is locked until the commit, and two transactions never record revisions of
one checklist at once; the numbers come from the row read under that lock. Items are never
deleted (they go obsolete), so an item's versions go only with its checklist.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, insert, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from app.errors import NotFound
from app.models import (
    Checklist,
    ChecklistItem,
    ChecklistItemOwner,
    ChecklistItemVersion,
    ChecklistRevision,
    Event,
    Person,
    Project,
    Release,
    utcnow,
)
from app.models.base import UTCDateTime
from app.models.checklist import PUBLIC_COLUMNS
from app.models.directory import handles_of
from app.schemas.checklists import RecordedChecklistOut
from app.schemas.compiled import compile_dump
from app.services.catalog.store import catalog_for
from app.services.checklists.documents import project_header
from app.services.checklists.register import risk_register
from app.services.checklists.summary import summary_of
from app.services.webhooks.outbox import pending_events

CHECKLISTS = Checklist.__table__
VERSIONS = ChecklistItemVersion.__table__
REVISIONS = ChecklistRevision.__table__

# `session.info`: the revision each checklist changed in this transaction will be recorded as.
_NEXT = "checklist_next_revisions"

# The item columns whose values are timestamps: kept as ISO 8601 text, read back as datetimes.
_TIMESTAMPS = frozenset(
    c.key for c in ChecklistItem.__table__.c if isinstance(c.type, UTCDateTime)
) & frozenset(PUBLIC_COLUMNS)


def next_revision(session: Session, checklist: Checklist) -> int:
    """The revision this transaction's change to `checklist` (read under its lock) will be
    recorded as: what a regeneration's answer and event show before the commit records it."""
    promised: dict[str, int] = session.info.setdefault(_NEXT, {})
    if checklist.id not in promised:
        first = checklist.recorded_state is None
        promised[checklist.id] = checklist.revision if first else checklist.revision + 1
    return promised[checklist.id]


# --------------------------------------------------------------------------- recording


def item_data(row: Any, owners: list[dict[str, Any]]) -> dict[str, Any]:
    """An item as a version keeps it: its public columns (timestamps as text), its owners and
    its signer's name; `row` is an item or a row of its columns and `signed_off_by_name`."""
    data = {name: getattr(row, name) for name in PUBLIC_COLUMNS}
    for name in _TIMESTAMPS:
        if data[name] is not None:
            data[name] = data[name].isoformat()
    data["owners"] = owners
    data["signed_off_by_name"] = row.signed_off_by_name
    return data


def version_digest(position: int, data: Mapping[str, Any]) -> str:
    """What tells two versions of an item apart: its place and everything its JSON shows."""
    canonical = json.dumps(
        [position, data], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


_UNRECORDED = (
    select(
        Checklist.id,
        Checklist.team_id,
        Checklist.revision,
        Checklist.recorded_state,
        Checklist.catalog_version,
        Checklist.generated_at,
        Project,
        # The last recorded revision's header: a change that leaves the checklist showing
        # what it showed (a project's description) is no revision.
        REVISIONS.c.project.label("last_project"),
        REVISIONS.c.context.label("last_context"),
        REVISIONS.c.catalog_version.label("last_catalog_version"),
        REVISIONS.c.generated_at.label("last_generated_at"),
        REVISIONS.c.release.label("last_release"),
        # The release it is for, as it stands now (read after the flush: a ship's status).
        Release.version.label("release_version"),
        Release.model_name.label("release_model_name"),
        Release.model_version.label("release_model_version"),
        Release.model_provider.label("release_model_provider"),
        Release.status.label("release_status"),
        Release.opened_at.label("release_opened_at"),
    )
    .join(Project, Project.id == Checklist.project_id)
    .outerjoin(Release, Release.id == Checklist.release_id)
    .outerjoin(
        REVISIONS,
        and_(
            REVISIONS.c.checklist_id == Checklist.id,
            REVISIONS.c.revision == Checklist.revision,
            Checklist.recorded_state.is_not(None),
        ),
    )
    .where(or_(Checklist.recorded_state.is_(None), Checklist.recorded_state != Checklist.state))
)

_SIGNER = aliased(Person)
_OWNER = aliased(Person)

# Every item of the checklists, with its signer's name, its current version's digest (none for a
# new item) and its owners, one row an owner (an item without any has one row): one statement.
_ITEMS = (
    select(
        ChecklistItem.checklist_id,
        ChecklistItem.position,
        *(ChecklistItem.__table__.c[name] for name in PUBLIC_COLUMNS),
        _SIGNER.name.label("signed_off_by_name"),
        VERSIONS.c.digest.label("live_digest"),
        _OWNER.id.label("owner_id"),
        _OWNER.name.label("owner_name"),
        _OWNER.email.label("owner_email"),
        _OWNER.github.label("owner_github"),
        _OWNER.jira.label("owner_jira"),
        _OWNER.linear.label("owner_linear"),
    )
    .outerjoin(_SIGNER, _SIGNER.id == ChecklistItem.signed_off_by)
    .outerjoin(
        VERSIONS,
        and_(VERSIONS.c.item_id == ChecklistItem.id, VERSIONS.c.to_revision.is_(None)),
    )
    .outerjoin(ChecklistItemOwner, ChecklistItemOwner.item_id == ChecklistItem.id)
    .outerjoin(_OWNER, _OWNER.id == ChecklistItemOwner.person_id)
    .where(ChecklistItem.checklist_id.in_(bindparam("ids", expanding=True)))
    .order_by(ChecklistItem.id, ChecklistItemOwner.position)
)


def record_revisions(session: Session) -> None:
    """Record the next revision of every checklist this transaction changed (the commit hook)."""
    promised = session.info.pop(_NEXT, None)
    events = pending_events(session)
    if not events and not promised:
        return
    session.flush()
    checklists = session.execute(_UNRECORDED).all()
    if not checklists:
        return
    ids = [c.id for c in checklists]
    items: dict[str, list[Row[Any]]] = {}
    owners: dict[str, list[dict[str, Any]]] = {}
    for row in session.execute(_ITEMS, {"ids": ids}):
        if row.id not in owners:
            owners[row.id] = []
            items.setdefault(row.checklist_id, []).append(row)
        if row.owner_id is not None:
            owners[row.id].append(
                {
                    "id": row.owner_id,
                    "name": row.owner_name,
                    "email": row.owner_email,
                    "handles": handles_of(row.owner_github, row.owner_jira, row.owner_linear),
                }
            )
    now = utcnow()
    closed: list[dict[str, Any]] = []
    opened: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    numbers: list[dict[str, Any]] = []
    for checklist in checklists:
        n = checklist.revision if checklist.recorded_state is None else checklist.revision + 1
        current = items.get(checklist.id, [])
        project = checklist.Project
        header = project_header(project, catalog_for(session, checklist.catalog_version))
        release = _release_as_kept(checklist)
        changed = len(closed) + len(opened)
        for row in current:
            data = item_data(row, owners[row.id])
            digest = version_digest(row.position, data)
            before = row.live_digest
            if before == digest:
                continue
            if before is not None:
                closed.append({"gone": row.id, "n": n})
            opened.append(
                {
                    "item_id": row.id,
                    "from_revision": n,
                    "to_revision": None,
                    "checklist_id": checklist.id,
                    "team_id": checklist.team_id,
                    "position": row.position,
                    "digest": digest,
                    "data": data,
                }
            )
        if len(closed) + len(opened) == changed and (
            header,
            project.context,
            checklist.catalog_version,
            checklist.generated_at,
            release,
        ) == (
            checklist.last_project,
            checklist.last_context,
            checklist.last_catalog_version,
            checklist.last_generated_at,
            checklist.last_release,
        ):
            # Nothing it shows changed: no revision, its state is recorded as it stands.
            numbers.append({"checklist": checklist.id, "n": checklist.revision})
            continue
        made_by = _events_of(events, project.id)
        actor = made_by[0].actor if made_by else "system"
        revisions.append(
            {
                "checklist_id": checklist.id,
                "revision": n,
                "team_id": checklist.team_id,
                "recorded_at": now,
                "catalog_version": checklist.catalog_version,
                "generated_at": checklist.generated_at,
                "project": header,
                "context": project.context,
                "release": release,
                "summary": summary_of(Counter((row.status, row.kind) for row in current)),
                "event_types": list(dict.fromkeys(e.type for e in made_by)),
                "actor": actor,
                "api_key_id": actor.removeprefix("api_key:") if _by_key(actor) else None,
                "person_id": next(
                    (e.actor_person_id for e in made_by if e.actor_person_id is not None), None
                ),
            }
        )
        numbers.append({"checklist": checklist.id, "n": n})
    by_checklist = {number["checklist"]: number["n"] for number in numbers}
    if closed:
        session.execute(
            update(VERSIONS)
            .where(VERSIONS.c.item_id == bindparam("gone"), VERSIONS.c.to_revision.is_(None))
            .values(to_revision=bindparam("n")),
            closed,
        )
    if opened:
        session.execute(insert(VERSIONS), opened)
    if revisions:
        session.execute(insert(REVISIONS), revisions)
    session.execute(
        update(CHECKLISTS)
        .where(CHECKLISTS.c.id == bindparam("checklist"))
        .values(revision=bindparam("n"), recorded_state=CHECKLISTS.c.state),
        numbers,
    )
    for obj in session.identity_map.values():
        if isinstance(obj, Checklist) and obj.id in by_checklist:
            set_committed_value(obj, "revision", by_checklist[obj.id])
            session.expire(obj, ["recorded_state"])


def _release_as_kept(row: Row[Any]) -> dict[str, Any] | None:
    """The release a checklist is for as a revision keeps it (`documents.release_ref`, its
    `opened_at` as ISO 8601 text), from the columns `_UNRECORDED` reads; None without one."""
    if row.release_version is None:
        return None
    return {
        "version": row.release_version,
        "model": {
            "name": row.release_model_name,
            "version": row.release_model_version,
            "provider": row.release_model_provider,
        },
        "status": row.release_status,
        "opened_at": row.release_opened_at.isoformat(),
    }


def recorded_release(kept: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A revision's release as `ReleaseRefOut` dumps it (`opened_at` a datetime again)."""
    if kept is None:
        return None
    return {**kept, "opened_at": datetime.fromisoformat(kept["opened_at"])}


def _by_key(actor: str) -> bool:
    return actor.startswith("api_key:")


def _events_of(events: Sequence[Event], project_id: str) -> list[Event]:
    """The events that made a checklist's revision: its project's; else those of no project
    (a person renamed shows in every checklist they own); else all of them."""
    return (
        [e for e in events if e.project_id == project_id]
        or [e for e in events if e.project_id is None]
        or list(events)
    )


def _forget(session: Session) -> None:
    session.info.pop(_NEXT, None)


def install() -> None:
    """Hook the recording into every session's commit (once per process), before the outbox
    takes the transaction's events."""
    if not sa_event.contains(Session, "before_commit", record_revisions):
        sa_event.listen(Session, "before_commit", record_revisions, insert=True)
        sa_event.listen(Session, "after_rollback", _forget)


# --------------------------------------------------------------------------- reading


def revisions_query(team_id: str, checklist_id: str) -> Select[ChecklistRevision]:
    """A checklist's revisions (a team's), for a list to page newest first."""
    return select(ChecklistRevision).where(
        ChecklistRevision.team_id == team_id, ChecklistRevision.checklist_id == checklist_id
    )


dump_recorded = compile_dump(RecordedChecklistOut())
# The largest revision number a column holds (a larger one asked for is no revision).
_LAST = 2**31 - 1


def revision_document(session: Session, team_id: str, checklist_id: str, n: int) -> dict[str, Any]:
    """The checklist as it stood at revision `n` (2 queries), in the JSON form of a checklist,
    with when it was recorded and what made it; 404 when there is no such revision."""
    if not 1 <= n <= _LAST:
        raise NotFound(f"This checklist has no revision {n}.")
    revision = session.scalar(
        select(ChecklistRevision).where(
            ChecklistRevision.team_id == team_id,
            ChecklistRevision.checklist_id == checklist_id,
            ChecklistRevision.revision == n,
        )
    )
    if revision is None:
        raise NotFound(f"This checklist has no revision {n}.")
    versions = session.execute(
        select(VERSIONS.c.position, VERSIONS.c.data).where(
            VERSIONS.c.checklist_id == checklist_id,
            VERSIONS.c.from_revision <= n,
            or_(VERSIONS.c.to_revision.is_(None), VERSIONS.c.to_revision > n),
        )
    ).all()
    catalog = catalog_for(session, revision.catalog_version)
    titles = {role.key: role.title for role in catalog.roles}
    ordered = sorted(versions, key=lambda v: (v.position, v.data["key"]))
    items = [_item_as_recorded(v.data, titles) for v in ordered]
    project = revision.project
    return dump_recorded(
        {
            "project": revision.project,
            "context": revision.context,
            "release": recorded_release(revision.release),
            "checklist_id": checklist_id,
            "revision": revision.revision,
            "catalog_version": revision.catalog_version,
            "generated_at": revision.generated_at,
            "recorded_at": revision.recorded_at,
            "event_types": revision.event_types,
            "summary": revision.summary,
            "filters": {},
            # Derived as the revision stood (its project's traits, its items), by the rules of
            # the catalog in force.
            "risk_register": risk_register(
                catalog, project["application"], project.get("traits") or (), items
            ),
            "items": items,
        }
    )


def _item_as_recorded(data: Mapping[str, Any], titles: Mapping[str, str]) -> dict[str, Any]:
    """An item version as `ItemOut` dumps it: its stored form, timestamps as datetimes, and
    the titles of its roles in the revision's catalog."""
    item = dict(data)
    for name in _TIMESTAMPS:
        if item.get(name) is not None:
            item[name] = datetime.fromisoformat(item[name])
    item["role_titles"] = [titles.get(r, r) for r in item.get("roles", [])]
    item["reviewer_role_titles"] = [titles.get(r, r) for r in item.get("reviewer_roles", [])]
    return item
