"""The JSON form of checklists and their items, shared by every way of reading them, and
the snapshots that events carry.

The data is gathered here and dumped through the schemas that document it in `/openapi.json`
(`app/schemas/checklists.py`): the JSON answer, the text formats rendered from it and the
items events carry are all that one document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from app.models import Checklist, ChecklistItem, ChecklistItemOwner, Person, Project
from app.models.directory import handles_of
from app.render import DEFAULT_LAYOUT, PHASE_TITLES, Layout, render, signoff
from app.render.markdown import code, escape
from app.schemas.checklists import ChecklistOut, FiltersOut, ItemOut, PersonItemsOut
from app.schemas.compiled import compile_dump
from app.services.catalog.model import Catalog
from app.services.checklists.facts import ProjectFacts, project_traits
from app.services.checklists.lapses import as_read
from app.services.checklists.summary import summarize


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
            person = people[person_id] = {
                "id": person_id,
                "name": name,
                "email": email,
                "handles": handles_of(github, jira, linear),
            }
        owners.setdefault(item_id, []).append(person)
    return owners


def loaded_owners(item: ChecklistItem) -> list[dict[str, Any]]:
    """The owners of an item read with its `owners` relationship (single items)."""
    return [owner_dict(o.person) for o in item.owners]


# The documents are dumped by functions compiled once from their schemas
# (`app.schemas.compiled`): the JSON `Schema.dump` gives, at a fraction of its cost (half of a
# cold read of a hundred items was marshmallow's). Like the schemas, they serve every request
# and thread; the filters are dumped by their schema.
dump_checklist = compile_dump(ChecklistOut())
dump_item = compile_dump(ItemOut())
dump_person_items = compile_dump(PersonItemsOut())
FILTERS_OUT = FiltersOut()


def item_dict(
    item: ChecklistItem | Row[*tuple[Any, ...]],
    owners: list[dict[str, Any]],
    role_titles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An item's data, as `ItemOut` dumps it; `item` is an item or a row of its columns (and
    `signed_off_by_name`)."""
    titles = role_titles or {}
    status, waiver = as_read(item.status, item.waiver)
    return {
        "id": item.id,
        "key": item.key,
        "kind": item.kind,
        "title": item.title,
        "detail": item.detail,
        "phase": item.phase,
        "done_when": item.done_when,
        "roles": list(item.roles),
        "role_titles": [titles.get(r, r) for r in item.roles],
        "owners": owners,
        "priority": item.priority,
        "status": status,
        "note": item.note,
        "waiver": waiver,
        "ticket": item.ticket,
        "signoff_required": item.signoff_required,
        "reviewer_roles": list(item.reviewer_roles),
        "reviewer_role_titles": [titles.get(r, r) for r in item.reviewer_roles],
        "reviewers": list(item.reviewers or ()),
        "signed_off_by": item.signed_off_by,
        "signed_off_by_name": item.signed_off_by_name,
        "signed_off_at": item.signed_off_at,
        "evidence_required": item.evidence_required,
        "evidence": list(item.evidence or ()),
        "because": list(item.because),
        "source": item.source,
        "version": item.version,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def item_document(
    item: ChecklistItem,
    owners: list[dict[str, Any]],
    role_titles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An item's JSON form."""
    return dump_item(item_dict(item, owners, role_titles))


MARKER_PREFIX = "checklist-item: "
"""The last line of every ticket text is this prefix, then `<project slug>/<item key>`: the
inbound webhooks find the item a ticket is about by it."""

TICKET_TITLE_MAX = 250  # under GitHub's 256 and Jira's 255 characters


def marker(project_slug: str, item_key: str) -> str:
    return f"{MARKER_PREFIX}{project_slug}/{item_key}"


def checklist_links(base_url: str, project: Project) -> dict[str, str]:
    """The checklist's absolute URLs: its JSON form, and the Markdown task list."""
    checklist = f"{base_url.rstrip('/')}/v1/projects/{project.slug}/checklist"
    return {"api": checklist, "checklist_markdown": f"{checklist}?format=markdown"}


def item_snapshot(
    item: ChecklistItem,
    owners: list[dict[str, Any]],
    project: Project,
    *,
    role_titles: Mapping[str, str],
    base_url: str,
) -> dict[str, Any]:
    """What an event (and a webhook) says about an item: its JSON form with the roles' titles,
    and absolute links: the item in the API (by ids, which never change, so a ticket can link
    back for good) and the project's checklist in Markdown."""
    snapshot = item_document(item, owners, role_titles)
    snapshot["ticket"] = ticket_link(item.ticket)
    base = base_url.rstrip("/")
    snapshot["links"] = {
        "api": f"{base}/v1/projects/{item.project_id}/checklist/items/{item.id}",
        "checklist_markdown": checklist_links(base, project)["checklist_markdown"],
    }
    return snapshot


def ticket_link(ticket: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A ticket link with all its fields, `url` null when none was given (events always show
    the same keys)."""
    if ticket is None:
        return None
    return {"system": ticket["system"], "key": ticket["key"], "url": ticket.get("url")}


def item_event_data(
    project: Project,
    catalog: Catalog,
    snapshot: dict[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    reason: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """The `data` of every `checklist.item.*` event: the project, the item, a ready ticket
    text, what changed, why when the system or a ticket changed it (`reason`, else null), and
    the ticketing system whose delivery changed it (`source`: `github`, `jira`, `linear`,
    `generic`; null for changes made through the API or by the system)."""
    header = project_header(project, catalog)
    return {
        "project": header,
        "item": snapshot,
        "ticket": ticket_text(header, snapshot),
        "before": _with_ticket_link(before),
        "after": _with_ticket_link(after),
        "reason": reason,
        "source": source,
    }


def _with_ticket_link(fields: Mapping[str, Any]) -> dict[str, Any]:
    shown = dict(fields)
    if "ticket" in shown:
        shown["ticket"] = ticket_link(shown["ticket"])
    return shown


def ticket_text(project: Mapping[str, Any], item: Mapping[str, Any]) -> dict[str, str]:
    """A ticket for an item, ready to post to GitHub, Jira or Linear: a one-line title and a
    Markdown body (detail, what "done" means, phase, priority, why, owners, links) whose last
    line is the marker
    `checklist-item: <project slug>/<item key>`. User-given text (names, notes) is escaped."""
    title = " ".join(f"{project['name']}: {item['title']}".split())
    if len(title) > TICKET_TITLE_MAX:
        title = title[: TICKET_TITLE_MAX - 1].rstrip() + "…"
    roles = ", ".join(escape(t) for t in item.get("role_titles") or ()) or "none"
    facts = [
        f"- **Project:** {escape(project['name'])} ({code(project['slug'])}, "
        f"{escape(project['application'])})",
        f"- **Priority:** {escape(item['priority'])}",
        f"- **Status:** {escape(item['status'])}",
        f"- **Roles:** {roles}",
    ]
    waiver = item.get("waiver")
    if item["status"] == "waived" and waiver:
        facts.append(f"- **Waived:** {escape(waiver.get('reason') or '')}")
    signed = signoff(item)
    if signed:
        facts.append(f"- **Sign-off:** {escape(signed)}")
    if item.get("note"):
        facts.append(f"- **Note:** {escape(item['note'])}")
    owners = [_owner_line(o) for o in item.get("owners") or ()] or [
        "- _Nobody yet: the role is not staffed._"
    ]
    because = [f"- {escape(reason)}" for reason in item.get("because") or ()]
    links = item.get("links") or {}
    link_lines = [
        f"- {label}: {links[name]}"
        for name, label in (("api", "Item in the API"), ("checklist_markdown", "Checklist"))
        if links.get(name)
    ]
    if item.get("phase"):
        facts.insert(2, f"- **Phase:** {escape(PHASE_TITLES.get(item['phase'], item['phase']))}")
    lines = [escape(item["detail"]) if item.get("detail") else escape(item["title"])]
    if item.get("done_when"):
        lines += ["", f"**Done when:** {escape(item['done_when'])}"]
    lines += ["", *facts]
    if because:
        lines += ["", "### Why", "", *because]
    lines += ["", "### Owners", "", *owners]
    if link_lines:
        lines += ["", "### Links", "", *link_lines]
    # Only the last line is a marker: text that would start another one is escaped (`\:`
    # shows as `:` in Markdown).
    lines = [_not_a_marker(line) for line in lines]
    lines += ["", marker(project["slug"], item["key"])]
    return {"title": title, "body": "\n".join(lines)}


def _not_a_marker(line: str) -> str:
    if line.lower().startswith(MARKER_PREFIX.lower()):
        return line[: len(MARKER_PREFIX) - 2] + "\\:" + line[len(MARKER_PREFIX) - 1 :]
    return line


def _owner_line(owner: Mapping[str, Any]) -> str:
    parts = [escape(owner["name"])]
    if owner.get("email"):
        parts.append(f"({escape(owner['email'])})")
    handles = owner.get("handles") or {}
    named = [f"{system} {code(handle)}" for system, handle in sorted(handles.items()) if handle]
    if named:
        parts.append("· " + ", ".join(named))
    return "- " + " ".join(parts)


def project_header(project: Project, catalog: Catalog) -> dict[str, Any]:
    """The project as checklists, events and staffing reports show it: the traits that hold
    (stated, or implied by the application) and which of them are implied."""
    traits, implied = project_traits(catalog, project_facts(project))
    return {
        "id": project.id,
        "name": project.name,
        "slug": project.slug,
        "application": project.application,
        "traits": traits,
        "implied_traits": implied,
    }


def project_facts(project: Project) -> ProjectFacts:
    """The project as the generator sees it: the traits it states it has, and those it states
    it does not have (the others are left to its application)."""
    traits = project.traits
    return ProjectFacts(
        project.application,
        traits=frozenset(t for t, stated in traits.items() if stated),
        declined=frozenset(t for t, stated in traits.items() if stated is False),
    )


def checklist_document(
    catalog: Catalog,
    project: Project,
    checklist: Checklist,
    items: Sequence[ChecklistItem | Row[*tuple[Any, ...]]],
    owners: Mapping[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """The JSON form of a stored checklist: header, summary and every item (`filtered` selects
    items from it)."""
    titles = {role.key: role.title for role in catalog.roles}
    dicts = [item_dict(item, owners.get(item.id, []), titles) for item in items]
    return dump_checklist(
        {
            "project": project_header(project, catalog),
            "checklist_id": checklist.id,
            "revision": checklist.revision,
            "catalog_version": checklist.catalog_version,
            "generated_at": checklist.generated_at,
            "summary": summarize(dicts),
            "filters": {},
            "items": dicts,
        }
    )


def filtered(doc: Mapping[str, Any], filters: Mapping[str, Any]) -> dict[str, Any]:
    """A checklist document with only the items that match `filters` (its summary still
    counts them all)."""
    if not filters:
        return dict(doc)
    return {
        **doc,
        "filters": FILTERS_OUT.dump(filters),
        "items": [item for item in doc["items"] if _matches(item, filters)],
    }


def _matches(item: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    if "kind" in filters and item["kind"] != filters["kind"]:
        return False
    if "phase" in filters and item["phase"] != filters["phase"]:
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
    summary: Mapping[str, Any],
    next_cursor: str | None,
) -> dict[str, Any]:
    """One page of a person's items across projects, each with its project and checklist;
    `summary` counts all of them."""
    titles = {role.key: role.title for role in catalog.roles}
    headers: dict[str, dict[str, Any]] = {}
    items = []
    for project, checklist, item in rows:
        if project.id not in headers:
            headers[project.id] = project_header(project, catalog)
        items.append(
            {
                **item_dict(item, loaded_owners(item), titles),
                "project": headers[project.id],
                "checklist": checklist,
            }
        )
    return dump_person_items(
        {
            "person": owner_dict(person),
            "summary": summary,
            "items": items,
            "next_cursor": next_cursor,
        }
    )


def render_person_document(
    doc: Mapping[str, Any], fmt: str, layout: Layout = DEFAULT_LAYOUT
) -> str:
    """JSON and CSV take the items at once; Markdown and text render project by project."""
    if fmt in ("json", "csv"):
        return render(doc, fmt)
    by_project: dict[str, list[Mapping[str, Any]]] = {}
    for item in doc["items"]:
        by_project.setdefault(item["project"]["id"], []).append(item)
    parts = [
        render(
            {
                "project": items[0]["project"],
                "revision": items[0]["checklist"]["revision"],
                "catalog_version": items[0]["checklist"]["catalog_version"],
                "generated_at": items[0]["checklist"]["generated_at"],
                "summary": summarize(items),
                "items": items,
            },
            fmt,
            layout,
        )
        for items in by_project.values()
    ]
    name = doc["person"]["name"]
    heading = f"# Checklist items of {name}" if fmt == "markdown" else f"Checklist items of {name}"
    return "\n".join([heading, "", *parts]) if parts else heading + "\n\nNo items.\n"
