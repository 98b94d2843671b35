"""The JSON form of checklists and their items, shared by every way of reading them, and
the snapshots that events carry (with the ticket text of `checklists.tickets`).

The data is gathered here and dumped through the schemas that document it in `/openapi.json`
(`app/schemas/checklists.py`, `app/schemas/items.py`): the JSON answer, the text formats
rendered from it and the items events carry are all that one document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from app.models import Checklist, ChecklistItem, ChecklistItemOwner, Person, Project, Release
from app.models.checklist import PUBLIC_COLUMNS
from app.models.directory import PERSON_COLUMNS, handles_of
from app.render import DEFAULT_LAYOUT, Layout, render
from app.render.html import render_person_html
from app.schemas.checklists import ChecklistOut, FiltersOut, PersonItemsOut
from app.schemas.compiled import compile_dump
from app.schemas.items import ItemOut
from app.services.catalog.model import Catalog
from app.services.checklists.facts import ProjectFacts, project_traits, stated_facts
from app.services.checklists.lapses import as_read
from app.services.checklists.register import risk_register
from app.services.checklists.summary import summarize
from app.services.checklists.tickets import ticket_text


def owner_dict(person: Person) -> dict[str, Any]:
    return {"id": person.id, "name": person.name, "email": person.email, "handles": person.handles}


def load_owners(session: Session, checklist: Checklist) -> dict[str, list[dict[str, Any]]]:
    """item id -> its owners as JSON objects, read as plain rows: one object per person, however
    many items they own."""
    rows = session.execute(
        select(
            ChecklistItemOwner.item_id,
            *PERSON_COLUMNS,
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


# An item's columns as its JSON shows them, read at once from an item or a row.
_read_columns = attrgetter(*PUBLIC_COLUMNS)


def item_dict(
    item: ChecklistItem | Row[*tuple[Any, ...]],
    owners: list[dict[str, Any]],
    role_titles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An item's data, as `ItemOut` dumps it: its public columns (`PUBLIC_COLUMNS`) and what is
    computed beside them; `item` is an item or a row of its columns (and `signed_off_by_name`).
    The dump copies every list and object: the values are handed over as they are read."""
    titles = role_titles or {}
    data = dict(zip(PUBLIC_COLUMNS, _read_columns(item), strict=True))
    # A waiver whose day has passed reads as lapsed (`checklists.lapses`), until it is recorded.
    data["status"], data["waiver"] = as_read(item.status, item.waiver)
    data["role_titles"] = [titles.get(r, r) for r in item.roles]
    data["owners"] = owners
    data["reviewer_role_titles"] = [titles.get(r, r) for r in item.reviewer_roles]
    data["signed_off_by_name"] = item.signed_off_by_name
    return data


def item_document(
    item: ChecklistItem,
    owners: list[dict[str, Any]],
    role_titles: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An item's JSON form."""
    return dump_item(item_dict(item, owners, role_titles))


def checklist_links(
    base_url: str, project: Project, share_url: str | None = None
) -> dict[str, str | None]:
    """The checklist's absolute URLs: its JSON form, the Markdown task list, and the page that
    opens with no API key (`share`: the project's ticket link, null without one)."""
    checklist = f"{base_url.rstrip('/')}/v1/projects/{project.slug}/checklist"
    return {
        "api": checklist,
        "checklist_markdown": f"{checklist}?format=markdown",
        "share": share_url,
    }


def item_snapshot(
    item: ChecklistItem,
    owners: list[dict[str, Any]],
    project: Project,
    *,
    role_titles: Mapping[str, str],
    base_url: str,
    share_url: str | None = None,
) -> dict[str, Any]:
    """What an event (and a webhook) says about an item: its JSON form with the roles' titles,
    and absolute links: the item in the API (by ids, which never change, so a ticket can link
    back for good), the project's checklist in Markdown, and its page through the project's
    ticket link (`share`, null without one), which opens with no API key."""
    snapshot = item_document(item, owners, role_titles)
    snapshot["ticket"] = ticket_link(item.ticket)
    base = base_url.rstrip("/")
    snapshot["links"] = {
        **checklist_links(base, project, share_url),
        "api": f"{base}/v1/projects/{item.project_id}/checklist/items/{item.id}",
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
        "model_source": project.model_source,
    }


def project_facts(project: Project) -> ProjectFacts:
    """The project as the generator sees it: the traits it states it has, and those it states
    it does not have (the others are left to its application), its risk classification and
    where it is used."""
    return stated_facts(
        project.application, project.traits, project.risk_classification, project.jurisdictions
    )


def checklist_document(
    catalog: Catalog,
    project: Project,
    checklist: Checklist,
    items: Sequence[ChecklistItem | Row[*tuple[Any, ...]]],
    owners: Mapping[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """The JSON form of a stored checklist: header, summary, risk register and every item
    (`filtered` selects items from it; the summary and the register are of them all)."""
    titles = {role.key: role.title for role in catalog.roles}
    dicts = [item_dict(item, owners.get(item.id, []), titles) for item in items]
    header = project_header(project, catalog)
    return dump_checklist(
        {
            "project": header,
            "context": project.context,
            "release": release_ref(checklist.release),
            "checklist_id": checklist.id,
            "revision": checklist.revision,
            "catalog_version": checklist.catalog_version,
            "generated_at": checklist.generated_at,
            "summary": summarize(dicts),
            "filters": {},
            "risk_register": risk_register(catalog, header["application"], header["traits"], dicts),
            "items": dicts,
        }
    )


def release_ref(release: Release | None) -> dict[str, Any] | None:
    """The release a checklist is for, as it shows it."""
    if release is None:
        return None
    return {
        "version": release.version,
        "model": release.model,
        "status": release.status,
        "opened_at": release.opened_at,
    }


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
    """JSON and CSV take the items at once; Markdown and text render project by project, and
    HTML makes one page of the projects' parts."""
    if fmt in ("json", "csv"):
        return render(doc, fmt)
    by_project: dict[str, list[Mapping[str, Any]]] = {}
    for item in doc["items"]:
        by_project.setdefault(item["project"]["id"], []).append(item)
    docs = [
        {
            "project": items[0]["project"],
            "revision": items[0]["checklist"]["revision"],
            "catalog_version": items[0]["checklist"]["catalog_version"],
            "generated_at": items[0]["checklist"]["generated_at"],
            "summary": summarize(items),
            "items": items,
        }
        for items in by_project.values()
    ]
    name = doc["person"]["name"]
    if fmt == "html":
        return render_person_html(name, docs, layout)
    parts = [render(part, fmt, layout) for part in docs]
    heading = f"# Checklist items of {name}" if fmt == "markdown" else f"Checklist items of {name}"
    return "\n".join([heading, "", *parts]) if parts else heading + "\n\nNo items.\n"
