"""The team's directory of people."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.models import Assignment, Person
from app.services.checklists.refresh import (
    projects_sharing_people,
    refresh_checklists,
    touch_checklists,
)
from app.services.context import Context
from app.services.directory.emails import normalize_email
from app.services.directory.teams import revoke_person_keys
from app.services.events import changes, record_event
from app.services.lookup import one_or_not_found
from app.vocabulary import TicketSystem


def person_snapshot(person: Person) -> dict[str, Any]:
    return {"id": person.id, "name": person.name, "email": person.email, "handles": person.handles}


def people_query(team_id: str, email: str | None = None) -> Select[Person]:
    """The team's directory, for a list to page; with `email`, the person of that address
    (compared casefolded) if any."""
    stmt = select(Person).where(Person.team_id == team_id)
    if email is not None:
        stmt = stmt.where(Person.email == normalize_email(email))
    return stmt


def get_person(session: Session, team_id: str, person_id: str, *, lock: bool = False) -> Person:
    """A person of the team; with `lock`, locked and read afresh, as a write to them needs."""
    stmt = select(Person).where(Person.team_id == team_id, Person.id == person_id)
    person: Person = one_or_not_found(
        session, stmt, f"No person '{person_id}' in this team.", lock=lock
    )
    return person


def find_by_email(session: Session, team_id: str, email: str) -> Person | None:
    return session.scalar(
        select(Person).where(Person.team_id == team_id, Person.email == normalize_email(email))
    )


def named_in(entries: Sequence[Mapping[str, Any]]) -> tuple[set[str], set[str]]:
    """The people staffing entries name: the `person_id`s, and the inline people's emails
    (normalised)."""
    ids = {e["person_id"] for e in entries if "person_id" in e}
    emails = {normalize_email(e["person"]["email"]) for e in entries if "person" in e}
    return ids, emails


def directory_of(
    session: Session, team_id: str, entries: Sequence[Mapping[str, Any]]
) -> tuple[dict[str, Person], dict[str, Person]]:
    """The team's people that staffing entries name, by `person_id` and by the inline
    person's email (normalised, `normalize_email`), in an indexed query for each kind of
    reference given."""
    ids, emails = named_in(entries)
    by_id: dict[str, Person] = {}
    by_email: dict[str, Person] = {}
    if ids:
        found = session.scalars(_PEOPLE_BY_ID, {"team_id": team_id, "refs": list(ids)})
        by_id = {p.id: p for p in found}
    if emails:
        found = session.scalars(_PEOPLE_BY_EMAIL, {"team_id": team_id, "refs": list(emails)})
        by_email = {p.email: p for p in found}
    return by_id, by_email


# Built once (a preview runs one of them each time): building the statement cost about as much
# as running it, and SQLAlchemy memoizes the cache key of a statement on the statement.
def _people_whose(column: Any) -> Select[Person]:
    return select(Person).where(
        Person.team_id == bindparam("team_id"), column.in_(bindparam("refs", expanding=True))
    )


_PEOPLE_BY_ID = _people_whose(Person.id)
_PEOPLE_BY_EMAIL = _people_whose(Person.email)


def _handle_values(handles: dict[str, str | None]) -> dict[str, str | None]:
    return {
        system: handles[system]
        for system in (TicketSystem.GITHUB, TicketSystem.JIRA, TicketSystem.LINEAR)
        if system in handles
    }


def _ensure_email_free(
    session: Session, team_id: str, email: str, person_id: str | None = None
) -> None:
    # The unique constraint is the real guard; this gives the common case a clear message.
    other = find_by_email(session, team_id, email)
    if other is not None and other.id != person_id:
        raise Conflict(f"A person with the email '{email}' exists already ({other.id}).")


def add_person(session: Session, ctx: Context, team_id: str, data: dict[str, Any]) -> Person:
    """Add a person to the directory; 409 when their email is taken."""
    _ensure_email_free(session, team_id, data["email"])
    return create_person(session, ctx, team_id, data)


def create_person(session: Session, ctx: Context, team_id: str, data: dict[str, Any]) -> Person:
    """Create the person of an email the caller found free (the unique constraint still
    guards against a concurrent creation)."""
    person = Person(
        team_id=team_id,
        name=data["name"].strip(),
        email=normalize_email(data["email"]),
        **_handle_values(data.get("handles") or {}),
    )
    session.add(person)
    record_event(session, ctx, team_id, "person.created", {"person": person_snapshot(person)})
    session.flush()
    return person


def update_person(session: Session, ctx: Context, person: Person, data: dict[str, Any]) -> Person:
    """Change a person; the caller holds their lock (`get_person(..., lock=True)`)."""
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = data["name"].strip()
    if "email" in data:
        values["email"] = normalize_email(data["email"])
        _ensure_email_free(session, person.team_id, values["email"], person.id)
    values.update(_handle_values(data.get("handles") or {}))
    changed = changes(person, values)
    if changed:
        record_event(
            session,
            ctx,
            person.team_id,
            "person.updated",
            {"person": person_snapshot(person), "changes": changed},
        )
        session.flush()
        # Checklists show people by name and email, and findings name them: keep them current.
        projects = projects_sharing_people(session, [person.id])
        refresh_checklists(session, ctx, person.team_id, projects)
        touch_checklists(session, projects)
    session.flush()
    return person


def delete_person(session: Session, ctx: Context, person: Person) -> None:
    """Remove a person and, with them, their assignments (one event per project left); the
    caller holds their lock. The checklists they were on are regenerated without them before
    the person goes."""
    leave_every_role(session, ctx, person, person_snapshot(person), "person deleted")
    record_event(
        session, ctx, person.team_id, "person.deleted", {"person": person_snapshot(person)}
    )
    session.delete(person)


def leave_every_role(
    session: Session, ctx: Context, person: Person, shown_as: dict[str, Any], reason: str
) -> None:
    """Take a person who goes (deleted or erased) out of every role, each with its
    `assignment.deleted` event showing them as `shown_as`; regenerate the checklists they were
    on without them, and revoke their keys (nobody signs as a person who left)."""
    assignments = list(session.scalars(select(Assignment).where(Assignment.person_id == person.id)))
    for assignment in assignments:
        record_event(
            session,
            ctx,
            person.team_id,
            "assignment.deleted",
            {
                "assignment": {"id": assignment.id, "role": assignment.role_key},
                "person": shown_as,
                "reason": reason,
            },
            project_id=assignment.project_id,
        )
        session.delete(assignment)
    session.flush()
    refresh_checklists(session, ctx, person.team_id, {a.project_id for a in assignments})
    revoke_person_keys(session, ctx, person)
