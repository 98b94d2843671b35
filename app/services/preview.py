"""The preview: a checklist for a project and staffing given in a request, nothing stored."""

from __future__ import annotations

from typing import Any

from app.catalog import TRAITS, Catalog
from app.errors import ValidationFailed
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


def _check_keys(catalog: Catalog, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if data["project"]["application"] not in catalog.application_keys:
        errors["project.application"] = [f"Must be one of: {', '.join(catalog.application_keys)}."]
    for index, entry in enumerate(data["staffing"]):
        if entry["role"] not in catalog.role_keys:
            errors[f"staffing.{index}.role"] = [f"Must be one of: {', '.join(catalog.role_keys)}."]
    if errors:
        raise ValidationFailed("The preview names unknown catalog keys.", errors=errors)


def preview_document(catalog: Catalog, data: dict[str, Any]) -> dict[str, Any]:
    """The checklist document of a project that is not stored: every item `open`."""
    _check_keys(catalog, data)
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
        settings=generator_settings(),
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
