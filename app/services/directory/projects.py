"""Projects: registration, changes and archiving."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.errors import Conflict, ValidationFailed
from app.models import CONTEXT_FIELDS, Assignment, Project
from app.services.catalog.keys import check_keys
from app.services.catalog.model import Catalog
from app.services.checklists.facts import model_source_disagreement
from app.services.checklists.refresh import (
    projects_sharing_people,
    refresh_checklists,
    touch_checklists,
)
from app.services.context import Context
from app.services.directory.teams import slugify
from app.services.events import changes, record_event
from app.services.locks import lock_people
from app.services.lookup import one_or_not_found
from app.vocabulary import TRAIT_FIELDS, ProjectStatus


def project_snapshot(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "slug": project.slug,
        "application": project.application,
        "traits": project.traits,
        "status": project.status,
        **project.context,
    }


def projects_query(team_id: str, status: str = "active") -> Select[Project]:
    """The team's projects of `status` (`all`: any), for a list to page."""
    stmt = select(Project).where(Project.team_id == team_id)
    if status != "all":
        stmt = stmt.where(Project.status == status)
    return stmt


def assignments_query(project: Project) -> Select[Assignment]:
    """The project's staffing, for a list to page."""
    return select(Assignment).where(Assignment.project_id == project.id)


def get_project(session: Session, team_id: str, id_or_slug: str, *, lock: bool = False) -> Project:
    """A project of the team by id or slug; with `lock`, locked and read afresh, as a change
    to it or to its staffing needs."""
    stmt = select(Project).where(Project.is_ref(team_id, id_or_slug))
    project: Project = one_or_not_found(
        session, stmt, f"No project '{id_or_slug}' in this team.", lock=lock
    )
    return project


def _ensure_slug_free(
    session: Session, team_id: str, slug: str, project_id: str | None = None
) -> None:
    other = session.scalar(
        select(Project.id).where(Project.team_id == team_id, Project.slug == slug)
    )
    if other is not None and other != project_id:
        raise Conflict(f"A project with the slug '{slug}' exists already in this team.")


def create_project(
    session: Session, ctx: Context, catalog: Catalog, team_id: str, data: dict[str, Any]
) -> Project:
    check_keys(catalog, applications={"application": data["application"]})
    slug = data.get("slug") or slugify(data["name"], "project")
    _ensure_slug_free(session, team_id, slug)
    project = Project(
        team_id=team_id,
        name=data["name"].strip(),
        slug=slug,
        description=data.get("description", ""),
        application=data["application"],
        **{trait: data.get("traits", {}).get(trait) for trait in TRAIT_FIELDS},
        **{name: data[name] for name in CONTEXT_FIELDS if name in data},
    )
    session.add(project)
    session.flush()
    record_event(
        session,
        ctx,
        team_id,
        "project.created",
        {"project": project_snapshot(project)},
        project_id=project.id,
    )
    session.flush()
    return project


def update_project(
    session: Session, ctx: Context, catalog: Catalog, project: Project, data: dict[str, Any]
) -> Project:
    """Change a project; the caller holds its lock (`get_project(..., lock=True)`)."""
    values: dict[str, Any] = {
        k: data[k]
        for k in ("name", "slug", "description", "application", "status", *CONTEXT_FIELDS)
        if k in data
    }
    if "name" in values:
        values["name"] = values["name"].strip()
    if "application" in values:
        check_keys(catalog, applications={"application": values["application"]})
    if "slug" in values:
        _ensure_slug_free(session, project.team_id, values["slug"], project.id)
    values.update(data.get("traits") or {})
    _check_model_source({**project.traits, **(data.get("traits") or {})})
    changed = changes(project, values)
    if changed:
        record_event(
            session,
            ctx,
            project.team_id,
            "project.updated",
            {"project": project_snapshot(project), "changes": changed},
            project_id=project.id,
        )
        # What the generator reads: the application, the traits, the status, and the context
        # (its risk classification and jurisdictions bring items of their own).
        if changed.keys() & {"application", "status", *TRAIT_FIELDS, *CONTEXT_FIELDS}:
            _refresh(session, ctx, project, include_colleagues="status" in changed)
        # The checklist's header shows the project's name, slug and context.
        touch_checklists(session, [project.id])
    session.flush()
    return project


def _check_model_source(traits: dict[str, Any]) -> None:
    """A change that leaves `uses_third_party_models` contradicting `model_source` (one given
    now, the other stored) is refused, naming the trait."""
    problem = model_source_disagreement(traits)
    if problem:
        raise ValidationFailed(problem, errors={"traits": {"uses_third_party_models": [problem]}})


def archive_project(session: Session, ctx: Context, project: Project) -> Project:
    """Archive a project; the caller holds its lock."""
    if project.status != ProjectStatus.ARCHIVED:
        project.status = "archived"
        record_event(
            session,
            ctx,
            project.team_id,
            "project.archived",
            {"project": project_snapshot(project)},
            project_id=project.id,
        )
        _refresh(session, ctx, project, include_colleagues=True)
    session.flush()
    return project


def _refresh(session: Session, ctx: Context, project: Project, *, include_colleagues: bool) -> None:
    """Regenerate the project's checklist; when the project (de)activates, also those of the
    projects its people work on, whose over-allocation findings count this one (their people
    are locked first, as a staffing change would)."""
    affected = {project.id}
    if include_colleagues:
        people = lock_people(
            session,
            session.scalars(
                select(Assignment.person_id).where(Assignment.project_id == project.id)
            ),
        )
        affected |= projects_sharing_people(session, [p.id for p in people])
    session.flush()
    refresh_checklists(session, ctx, project.team_id, affected)
