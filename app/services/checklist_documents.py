"""The JSON form of checklists and their items, shared by every way of reading them, and
the snapshots that events carry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import TRAITS, Catalog
from app.models import Checklist, ChecklistItem, ChecklistItemOwner, Person, Project
from app.render import render
from app.services.checklist_generator import (
    summarize,
)


def owner_dict(person: Person) -> dict[str, Any]:
    return {"id": person.id, "name": person.name, "email": person.email, "handles": person.handles}


def load_owners(session: Session, checklist: Checklist) -> dict[str, list[dict[str, Any]]]:
    """item id -> its owners as JSON objects, read as plain rows: one object per person, however
    many items they own."""
    rows = session.execute(
        select(
            ChecklistItemOwner.item_id,
            Person.id,
            Person.name,
            Person.email,
            Person.github,
            Person.jira,
            Person.linear,
        )
        .join(Person, Person.id == ChecklistItemOwner.person_id)
        .join(ChecklistItem, ChecklistItem.id == ChecklistItemOwner.item_id)
        .where(ChecklistItem.checklist_id == checklist.id)
        .order_by(ChecklistItemOwner.item_id, ChecklistItemOwner.position)
    )
    people: dict[str, dict[str, Any]] = {}
    owners: dict[str, list[dict[str, Any]]] = {}
    for item_id, person_id, name, email, github, jira, linear in rows:
        person = people.get(person_id)
        if person is None:
            handles = {"github": github, "jira": jira, "linear": linear}
            person = people[person_id] = {
                "id": person_id,
                "name": name,
                "email": email,
                "handles": {system: h for system, h in handles.items() if h},
            }
        owners.setdefault(item_id, []).append(person)
    return owners


def loaded_owners(item: ChecklistItem) -> list[dict[str, Any]]:
    """The owners of an item read with its `owners` relationship (single items)."""
    return [owner_dict(o.person) for o in item.owners]


def item_dict(
    item: ChecklistItem,
    owners: list[dict[str, Any]],
    role_titles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An item's JSON form."""
    titles = role_titles or {}
    return {
        "id": item.id,
        "key": item.key,
        "kind": item.kind,
        "title": item.title,
        "detail": item.detail,
        "roles": list(item.roles),
        "role_titles": [titles.get(r, r) for r in item.roles],
        "owners": owners,
        "priority": item.priority,
        "status": item.status,
        "note": item.note,
        "waiver": item.waiver,
        "ticket": item.ticket,
        "because": list(item.because),
        "source": item.source,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }


def item_snapshot(
    item: ChecklistItem, owners: list[dict[str, Any]], project: Project | None = None
) -> dict[str, Any]:
    """What an event (and a webhook) says about an item: enough to open a ticket, and the
    item's API URL to link the ticket back."""
    snapshot = item_dict(item, owners)
    snapshot["url"] = f"/v1/projects/{item.project_id}/checklist/items/{item.id}"
    if project is not None:
        snapshot["project"] = project_header(project)
    return snapshot


def project_header(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "slug": project.slug,
        "application": project.application,
        "traits": sorted(t for t in TRAITS if project.traits[t]),
    }


def checklist_document(
    catalog: Catalog,
    project: Project,
    checklist: Checklist,
    items: Sequence[ChecklistItem],
    owners: Mapping[str, list[dict[str, Any]]],
    filters: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON form of a stored checklist: header, summary of all items, the filtered items."""
    titles = {role.key: role.title for role in catalog.roles}
    dicts = [item_dict(item, owners.get(item.id, []), titles) for item in items]
    return {
        "project": project_header(project),
        "checklist_id": checklist.id,
        "revision": checklist.revision,
        "catalog_version": checklist.catalog_version,
        "generated_at": checklist.generated_at.isoformat(),
        "summary": summarize(dicts),
        "filters": dict(filters),
        "items": [d for d in dicts if _matches(d, filters)],
    }


def _matches(item: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    if "kind" in filters and item["kind"] != filters["kind"]:
        return False
    if "status" in filters and item["status"] != filters["status"]:
        return False
    if "role" in filters and filters["role"] not in item["roles"]:
        return False
    return "person_id" not in filters or any(
        o["id"] == filters["person_id"] for o in item["owners"]
    )


def person_document(
    catalog: Catalog,
    person: Person,
    rows: Sequence[tuple[Project, Checklist, ChecklistItem]],
) -> dict[str, Any]:
    """One person's items across projects: a document per project, and all items together."""
    titles = {role.key: role.title for role in catalog.roles}
    by_project: dict[str, tuple[Project, Checklist, list[dict[str, Any]]]] = {}
    for project, checklist, item in rows:
        entry = by_project.setdefault(project.id, (project, checklist, []))
        entry[2].append(
            {**item_dict(item, loaded_owners(item), titles), "project": project_header(project)}
        )
    items = [item for *_, project_items in by_project.values() for item in project_items]
    return {
        "person": owner_dict(person),
        "summary": summarize(items),
        "items": items,
        "next_cursor": None,
        "projects": [
            {
                "project": project_header(project),
                "revision": checklist.revision,
                "catalog_version": checklist.catalog_version,
                "generated_at": checklist.generated_at.isoformat(),
                "summary": summarize(project_items),
                "items": project_items,
            }
            for project, checklist, project_items in by_project.values()
        ],
    }


def render_person_document(doc: Mapping[str, Any], fmt: str) -> str:
    """JSON and CSV take the items at once; Markdown and text render project by project."""
    if fmt in ("json", "csv"):
        return render({k: v for k, v in doc.items() if k != "projects"}, fmt)
    name = doc["person"]["name"]
    parts = [render(project_doc, fmt) for project_doc in doc["projects"]]
    heading = f"# Checklist items of {name}" if fmt == "markdown" else f"Checklist items of {name}"
    return "\n".join([heading, "", *parts]) if parts else heading + "\n\nNo items.\n"
