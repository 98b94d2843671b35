"""Row locks taken before derived state is recomputed, always in one global order.

Every write that regenerates checklists locks, in this order and each kind by id:
projects, then people, then checklists. Two transactions therefore never wait on each other in
a cycle (no deadlocks), and the last one to take a checklist's lock reads everything committed
before it (no stale checklists). Locked rows are read afresh (`populate_existing`), so an object
loaded earlier in the transaction cannot carry a value another transaction has since changed.

`FOR NO KEY UPDATE` rather than `FOR UPDATE`: foreign-key checks of concurrent inserts (an
event of the project, an item's owner) take `KEY SHARE` locks, which it does not block.
SQLite ignores row locks; there a write transaction holds the whole database (`BEGIN
IMMEDIATE`, see `app.extensions`), which serialises the same work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from app.models import Checklist, Person, Project

S = TypeVar("S", bound=Select[Any])


def for_update(stmt: S) -> S:
    """`stmt` reading rows the caller is about to change: locked (`FOR NO KEY UPDATE`; nothing
    on SQLite, whose write transactions hold the database) and read afresh."""
    return stmt.with_for_update(key_share=True).execution_options(populate_existing=True)


def lock_projects(session: Session, project_ids: Iterable[str]) -> list[Project]:
    ids = sorted(set(project_ids))
    if not ids:
        return []
    return list(
        session.scalars(for_update(select(Project).where(Project.id.in_(ids)).order_by(Project.id)))
    )


def lock_people(session: Session, person_ids: Iterable[str]) -> list[Person]:
    ids = sorted(set(person_ids))
    if not ids:
        return []
    return list(
        session.scalars(for_update(select(Person).where(Person.id.in_(ids)).order_by(Person.id)))
    )


def lock_directory(
    session: Session, team_id: str, person_ids: Iterable[str], emails: Iterable[str]
) -> tuple[dict[str, Person], dict[str, Person]]:
    """The team's people with these ids or emails, locked in one statement (by id, as
    `lock_people`); by id, and by email for the emails asked."""
    ids, wanted = set(person_ids), set(emails)
    named = [Person.id.in_(ids)] if ids else []
    if wanted:
        named.append(Person.email.in_(wanted))
    if not named:
        return {}, {}
    people = session.scalars(
        for_update(select(Person).where(Person.team_id == team_id, or_(*named)).order_by(Person.id))
    )
    by_id = {person.id: person for person in people}
    return by_id, {p.email: p for p in by_id.values() if p.email in wanted}


def lock_checklists(
    session: Session, team_id: str, project_ids: Iterable[str]
) -> list[tuple[Project, Checklist]]:
    """The checklists of these projects, locked (the projects are read, not locked)."""
    ids = sorted(set(project_ids))
    if not ids:
        return []
    rows = session.execute(
        select(Project, Checklist)
        .join(Checklist, Checklist.project_id == Project.id)
        .where(Project.team_id == team_id, Project.id.in_(ids))
        .order_by(Checklist.id)
        .with_for_update(of=Checklist, key_share=True)
        .execution_options(populate_existing=True)
    )
    return [(project, checklist) for project, checklist in rows]
