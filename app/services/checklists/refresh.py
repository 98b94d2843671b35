"""Stored checklists: generation and regeneration around the pure generator.

Regeneration keeps each item's state by key: new items start `open`, items that no longer apply
become `obsolete` (and get their old status back if they apply again). Every staffing or trait
change regenerates the checklists it touches in the same transaction as the change; the reading,
comparing and writing of items is `app.services.checklists.regeneration`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import NotFound
from app.models import Assignment, Checklist, Person, Project, Release
from app.models.base import utcnow
from app.services.catalog.model import Catalog
from app.services.catalog.store import current_catalog
from app.services.checklists.documents import project_facts as project_facts
from app.services.checklists.generator import GeneratorSettings, Member
from app.services.checklists.regeneration import regenerate
from app.services.checklists.regeneration_diff import Target
from app.services.context import Context
from app.services.locks import lock_checklists, lock_people, lock_projects
from app.services.staffing.findings import over_allocation_key


def generator_settings(settings: Settings) -> GeneratorSettings:
    return GeneratorSettings(settings.max_roles_per_person)


def member_of(person: Person) -> Member:
    return Member(person.id, person.name, person.email, tuple(sorted(person.handles.items())))


def get_checklist(
    session: Session, team_id: str, project_ref: str, *, lock: bool = False
) -> tuple[Project, Checklist]:
    """The project and its checklist in one query; 404 when either is missing. With `lock`,
    the checklist is then locked and read afresh, as a write to its items needs."""
    row = session.execute(
        select(Project, Checklist)
        .outerjoin(Checklist, Checklist.project_id == Project.id)
        .where(Project.is_ref(team_id, project_ref))
    ).first()
    if row is None:
        raise NotFound(f"No project '{project_ref}' in this team.")
    project, checklist = row
    if checklist is None:
        raise NotFound(
            f"Project '{project_ref}' has no checklist yet; "
            f"POST /v1/projects/{project_ref}/checklist generates it."
        )
    if lock:
        lock_checklists(session, team_id, [project.id])
    return project, checklist


def generate(
    session: Session, ctx: Context, catalog: Catalog, project: Project
) -> tuple[Checklist, bool]:
    """Generate the project's checklist, or regenerate it; True when it was created.

    A checklist being created is not yet visible to the writers who regenerate the checklists
    of a person's projects, so its own project and people are locked first: a concurrent
    staffing change either commits before this reads the staffing, or sees the new checklist.
    """
    lock_projects(session, [project.id])
    lock_people(
        session,
        session.scalars(select(Assignment.person_id).where(Assignment.project_id == project.id)),
    )
    locked = lock_checklists(session, project.team_id, [project.id])
    created = not locked
    if locked:
        _, checklist = locked[0]
    else:
        checklist = Checklist(
            team_id=project.team_id,
            project_id=project.id,
            catalog_version=catalog.version,
            release_id=_latest_release_id(session, project),
        )
        session.add(checklist)
        session.flush()
    regenerate(
        session,
        ctx,
        catalog,
        generator_settings(ctx.settings),
        [Target(project, checklist, created=created)],
    )
    return checklist, created


def _latest_release_id(session: Session, project: Project) -> str | None:
    """The release a new checklist is for: the project's most recently opened, if any."""
    return session.scalar(
        select(Release.id)
        .where(Release.team_id == project.team_id, Release.project_id == project.id)
        .order_by(Release.opened_at.desc(), Release.id.desc())
        .limit(1)
    )


def refresh_checklists(
    session: Session,
    ctx: Context,
    team_id: str,
    project_ids: Iterable[str],
    *,
    colleagues: Iterable[str] = (),
    allocations_of: Iterable[str] = (),
) -> None:
    """Regenerate the existing checklists of these projects (part of the caller's transaction),
    under their locks, so that the last writer's checklist reflects every committed change.

    `colleagues` are projects that see these projects only through the allocation of the people
    `allocations_of` (it counts in their over-allocation findings): of their checklists only
    those people's over-allocation findings are regenerated, and the items moved around them.
    All the checklists are locked at once, in the order of `app.services.locks`.
    """
    whole = set(project_ids)
    scope = frozenset(over_allocation_key(person_id) for person_id in allocations_of)
    rows = lock_checklists(session, team_id, whole | set(colleagues) if scope else whole)
    if not rows:
        return
    targets = [
        Target(project, checklist, scope=None if project.id in whole else scope)
        for project, checklist in rows
    ]
    catalog = current_catalog(session)
    regenerate(session, ctx, catalog, generator_settings(ctx.settings), targets)


def touch_checklists(session: Session, project_ids: Iterable[str]) -> None:
    """Mark these projects' checklists changed though their items are not: what they show of
    the project or of people (names, slugs, emails) did change, so cached renderings and
    ETags must not be served again."""
    project_ids = list(set(project_ids))
    if project_ids:
        session.execute(
            update(Checklist)
            .where(Checklist.project_id.in_(project_ids))
            .values(state=Checklist.state + 1, updated_at=utcnow())
            .execution_options(synchronize_session="fetch")
        )


def projects_sharing_people(session: Session, person_ids: Iterable[str]) -> set[str]:
    """Projects where any of these people hold a role: their over-allocation findings depend on
    each other."""
    person_ids = list(set(person_ids))
    if not person_ids:
        return set()
    return set(
        session.scalars(
            select(Assignment.project_id).where(Assignment.person_id.in_(person_ids)).distinct()
        )
    )
