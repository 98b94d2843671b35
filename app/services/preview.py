"""The preview: a checklist for a project and staffing given in a request, nothing stored."""

from __future__ import annotations

from typing import Any

from app.catalog import TRAITS, Catalog
from app.config import Settings
from app.services.catalog import check_keys
from app.services.checklist_generator import (
    Member,
    ProjectFacts,
    StaffingEntry,
    generate_checklist,
    summarize,
)
from app.services.checklists import generator_settings
from app.services.teams import slugify


def _member(person: dict[str, Any]) -> Member:
    # People in a preview have no id: the email, else the name, stands for them.
    email = (person.get("email") or "").strip().lower() or None
    ref = email or slugify(person["name"], "person")
    handles = tuple(sorted((k, v) for k, v in (person.get("handles") or {}).items() if v))
    return Member(ref, person["name"].strip(), email, handles)


def preview_document(catalog: Catalog, data: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The checklist document of a project that is not stored: every item `open`."""
    check_keys(
        catalog,
        applications={"project.application": data["project"]["application"]},
        roles={f"staffing.{i}.role": e["role"] for i, e in enumerate(data["staffing"])},
    )
    project = data["project"]
    traits = frozenset(t for t in TRAITS if project.get("traits", {}).get(t))
    entries = [
        StaffingEntry(_member(e["person"]), e["role"], e.get("allocation"), e.get("lead", False))
        for e in data["staffing"]
    ]
    generated = generate_checklist(
        catalog,
        ProjectFacts(project["application"], traits),
        entries,
        settings=generator_settings(settings),
    )
    titles = {role.key: role.title for role in catalog.roles}
    items = [
        {
            "id": None,
            **item.as_dict(),
            "role_titles": [titles.get(r, r) for r in item.roles],
            "status": "open",
            "note": None,
            "waiver": None,
            "ticket": None,
        }
        for item in generated
    ]
    return {
        "project": {
            "id": None,
            "name": project["name"],
            "slug": None,
            "application": project["application"],
            "traits": sorted(traits),
        },
        "checklist_id": None,
        "revision": None,
        "catalog_version": catalog.version,
        "generated_at": None,
        "summary": summarize(items),
        "filters": {},
        "items": items,
    }
