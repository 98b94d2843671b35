"""Releases: opened (the gates they ask again reopen), read, and shipped once no critical gate
holds them (the go/no-go). Each change is an event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.models import Checklist, Project, Release
from app.models.base import utcnow
from app.services.catalog.store import catalog_for, current_catalog
from app.services.checklists.documents import project_header
from app.services.checklists.waivers import expire_due_waivers
from app.services.context import Context
from app.services.events import record_event
from app.services.locks import for_update, lock_checklists, lock_projects
from app.services.lookup import one_or_not_found
from app.services.releases.gates import blocking_gates, gate_states, reopen_gates
from app.vocabulary import ProjectStatus, ReleaseStatus


def release_snapshot(release: Release) -> dict[str, Any]:
    """A release as events show it (and its JSON form, less its links)."""
    return {
        "id": release.id,
        "version": release.version,
        "model": release.model,
        "notes": release.notes,
        "status": release.status,
        "opened_at": release.opened_at.isoformat(),
        "opened_by": release.opened_by,
        "shipped_at": release.shipped_at.isoformat() if release.shipped_at else None,
        "shipped_by": release.shipped_by,
        "superseded_at": release.superseded_at.isoformat() if release.superseded_at else None,
        "superseded_by": release.superseded_by,
    }


def releases_query(project: Project) -> Select[Release]:
    """The project's releases, for a list to page (newest first)."""
    return select(Release).where(
        Release.team_id == project.team_id, Release.project_id == project.id
    )


def get_release(session: Session, project: Project, version: str, *, lock: bool = False) -> Release:
    """A release of the project by its version; with `lock`, locked and read afresh."""
    stmt = select(Release).where(
        Release.team_id == project.team_id,
        Release.project_id == project.id,
        Release.version == version,
    )
    release: Release = one_or_not_found(
        session, stmt, f"No release '{version}' of project '{project.slug}'.", lock=lock
    )
    return release


def checklist_state(session: Session, project: Project) -> int | None:
    """The state of the project's checklist (None without one): a release's ETag has it."""
    return session.scalar(select(Checklist.state).where(Checklist.project_id == project.id))


def etag_parts(release: Release, checklist_state: int | None) -> tuple[int, int | None]:
    """What a release's ETag depends on besides its id and version: its row's version, and
    the state of its project's checklist, so that a go/no-go sent with `If-Match` is refused
    when any item changed since the client read the release."""
    return release.row_version, checklist_state


def latest_release(session: Session, project: Project) -> Release | None:
    """The project's most recently opened release (the one its checklist is for)."""
    return session.scalar(
        releases_query(project).order_by(Release.opened_at.desc(), Release.id.desc()).limit(1)
    )


def open_release(session: Session, ctx: Context, project: Project, data: dict[str, Any]) -> Release:
    """Open a release of the project: an open one is superseded by it; the checklist's gates
    it asks again reopen (`gates.reopen_gates`), the model gates too when its model differs
    from the previous release's; the checklist is for it from now on. 409 when the version
    exists already or the project is archived."""
    lock_projects(session, [project.id])
    if project.status == ProjectStatus.ARCHIVED:
        raise Conflict(f"Project '{project.slug}' is archived: it has no new releases.")
    locked = lock_checklists(session, project.team_id, [project.id])
    checklist = locked[0][1] if locked else None
    version = data["version"]
    # The unique constraint is the real guard; this gives the common case a clear message.
    existing = session.scalar(releases_query(project).where(Release.version == version))
    if existing is not None:
        raise Conflict(
            f"Release '{version}' of project '{project.slug}' exists already "
            f"({existing.status}, opened {existing.opened_at.date().isoformat()})."
        )
    previous = latest_release(session, project)
    if previous is not None:
        previous = session.scalar(for_update(select(Release).where(Release.id == previous.id)))
    superseded = None
    if previous is not None and previous.status == ReleaseStatus.OPEN:
        # A new candidate replaces the one that did not ship; one release is open at a time.
        previous.status = ReleaseStatus.SUPERSEDED.value
        previous.superseded_at = utcnow()
        previous.superseded_by = version
        session.flush()
        superseded = previous
    model = data["model"]
    release = Release(
        team_id=project.team_id,
        project_id=project.id,
        version=version,
        model_name=model["name"],
        model_version=model["version"],
        model_provider=model.get("provider"),
        notes=data.get("notes") or "",
        status=ReleaseStatus.OPEN.value,
        opened_by=ctx.actor,
    )
    session.add(release)
    session.flush()
    model_changed = previous is not None and previous.model != release.model
    reopened = []
    if checklist is not None:
        expire_due_waivers(session, ctx, [checklist])
        reopened = reopen_gates(
            session, ctx, project, checklist, version, model_changed=model_changed
        )
        checklist.release_id = release.id
        checklist.mark_changed()
    record_event(
        session,
        ctx,
        project.team_id,
        "release.opened",
        {
            "project": _header(session, project, checklist),
            "release": release_snapshot(release),
            "previous": (
                {"version": previous.version, "model": previous.model} if previous else None
            ),
            "model_changed": model_changed,
            "superseded": superseded.version if superseded is not None else None,
            "reopened": [gate.as_dict() for gate in reopened],
        },
        project_id=project.id,
    )
    session.flush()
    return release


def ship_release(
    session: Session, ctx: Context, project: Project, checklist: Checklist | None, release: Release
) -> Release:
    """The go/no-go: the release ships unless a critical gate of the checklist holds it (409
    naming them in `blocking`). The caller holds the checklist's lock, then the release's. A
    release that is not open cannot change (409)."""
    if release.status != ReleaseStatus.OPEN:
        raise Conflict(
            f"Release '{release.version}' is {release.status}: it cannot change any more.",
            slug="release-closed",
            title="Release closed",
        )
    if checklist is None:
        raise Conflict(
            f"Project '{project.slug}' has no checklist: its release gates are unknown. "
            f"POST /v1/projects/{project.slug}/checklist generates it.",
            slug="release-blocked",
            title="Release blocked",
            extensions={"blocking": []},
        )
    expire_due_waivers(session, ctx, [checklist])
    blocking = blocking_gates(session, checklist)
    if blocking:
        raise Conflict(
            f"Release '{release.version}' cannot ship: {len(blocking)} critical release "
            f"gate(s) are not done with the sign-off they need, nor waived by a waiver that "
            f"holds: {', '.join(blocking)}.",
            slug="release-blocked",
            title="Release blocked",
            extensions={"blocking": blocking},
        )
    release.status = ReleaseStatus.SHIPPED.value
    release.shipped_at = utcnow()
    release.shipped_by = ctx.actor
    session.flush()
    checklist.mark_changed()
    record_event(
        session,
        ctx,
        project.team_id,
        "release.shipped",
        {
            "project": _header(session, project, checklist),
            "release": release_snapshot(release),
            "gates": gate_states(session, checklist),
        },
        project_id=project.id,
    )
    session.flush()
    return release


def _header(session: Session, project: Project, checklist: Checklist | None) -> dict[str, Any]:
    catalog = (
        catalog_for(session, checklist.catalog_version)
        if checklist is not None
        else current_catalog(session)
    )
    return project_header(project, catalog)
