"""The preview: a checklist for a project and staffing given in a request, nothing stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import ValidationFailed
from app.models.checklist import PUBLIC_FIELDS, new_item_state
from app.models.project import EMPTY_CONTEXT
from app.services.catalog.keys import check_keys
from app.services.catalog.model import Catalog
from app.services.checklists.facts import stated_facts
from app.services.checklists.generator import (
    Member,
    StaffingEntry,
    generate_checklist,
    project_traits,
)
from app.services.checklists.refresh import generator_settings, member_of
from app.services.checklists.register import risk_register
from app.services.checklists.summary import summarize
from app.services.directory.emails import normalize_email
from app.services.directory.people import directory_of


def _staffing(
    session: Session, team_id: str, entries: Sequence[dict[str, Any]]
) -> list[StaffingEntry]:
    """The staffing PUT's rules, nothing written: people by `person_id`, or inline, found in
    the directory by email (else standing for themselves, their email as their id); unknown
    ids and a person given the same role twice are refused, naming each entry."""
    by_id, by_email = directory_of(session, team_id, entries)
    errors: dict[str, list[str]] = {}
    staffing: list[StaffingEntry] = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(entries):
        if "person_id" in entry:
            person = by_id.get(entry["person_id"])
            if person is None:
                errors[f"assignments.{index}.person_id"] = ["No such person in this team."]
                continue
            member = member_of(person)
        else:
            inline = entry["person"]
            email = normalize_email(inline["email"])
            found = by_email.get(email)
            handles = tuple(sorted((k, v) for k, v in (inline.get("handles") or {}).items() if v))
            member = (
                member_of(found) if found else Member(email, inline["name"].strip(), email, handles)
            )
        if (member.ref, entry["role"]) in seen:
            errors[f"assignments.{index}"] = ["Duplicate person and role."]
            continue
        seen.add((member.ref, entry["role"]))
        staffing.append(
            StaffingEntry(member, entry["role"], entry.get("allocation"), entry.get("lead", False))
        )
    if errors:
        raise ValidationFailed("Some assignments cannot be previewed.", errors=errors)
    return staffing


def preview_document(
    session: Session, team_id: str, catalog: Catalog, data: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    """The checklist document of a project that is not stored: every item `open`."""
    check_keys(
        catalog,
        applications={"project.application": data["project"]["application"]},
        roles={f"assignments.{i}.role": e["role"] for i, e in enumerate(data["assignments"])},
    )
    entries = _staffing(session, team_id, data["assignments"])
    return checklist_preview(catalog, data["project"], entries, settings)


def checklist_preview(
    catalog: Catalog,
    project: dict[str, Any],
    entries: Sequence[StaffingEntry],
    settings: Settings,
) -> dict[str, Any]:
    """The document of a project and staffing already checked: a pure function, as the
    generator is."""
    stated = project.get("traits", {})
    context = {**EMPTY_CONTEXT, **{k: project[k] for k in EMPTY_CONTEXT if k in project}}
    facts = stated_facts(
        project["application"], stated, context["risk_classification"], context["jurisdictions"]
    )
    traits, implied = project_traits(catalog, facts)
    generated = generate_checklist(catalog, facts, entries, settings=generator_settings(settings))
    titles = {role.key: role.title for role in catalog.roles}
    # Every public field, null where a stored item has what a preview has not (ids, versions).
    blank = dict.fromkeys(PUBLIC_FIELDS)
    items = [
        {
            # Every public field, a new item's state, and what the generator gave.
            **blank,
            **new_item_state(),
            **item.as_dict(),
            "role_titles": [titles.get(r, r) for r in item.roles],
            "reviewer_role_titles": [titles.get(r, r) for r in item.reviewer_roles],
        }
        for item in generated
    ]
    return {
        "project": {
            "id": None,
            "name": project["name"],
            "slug": None,
            "application": project["application"],
            "traits": traits,
            "implied_traits": implied,
            "model_source": facts.model_source,
        },
        "context": context,
        "release": None,
        "checklist_id": None,
        "revision": None,
        "catalog_version": catalog.version,
        "generated_at": None,
        "summary": summarize(items),
        "filters": {},
        "risk_register": risk_register(catalog, project["application"], traits, items),
        "items": items,
    }
