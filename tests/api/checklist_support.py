"""Helpers of the checklist tests: staff a project, generate its checklist, look items up."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from factories import assign, create_person, create_project, events_of
from sqlalchemy import select, update

from app.extensions import db
from app.models import Checklist, ChecklistItem
from app.schemas.checklists import CHECKLIST_EXAMPLE

KEY_ROLES = (
    "data-scientist",
    "machine-learning-engineer",
    "ai-ethicist",
    "ux-designer",
    "content-curator",
)

# The article's fifteen core responsibilities: three for each of the five key roles.
CORE_RESPONSIBILITIES = {
    "data-scientist": (
        "data-scientist.collect-and-preprocess-data",
        "data-scientist.develop-algorithms-and-models",
        "data-scientist.evaluate-model-performance",
    ),
    "machine-learning-engineer": (
        "machine-learning-engineer.build-and-optimize-neural-networks",
        "machine-learning-engineer.train-models",
        "machine-learning-engineer.deploy-models",
    ),
    "ai-ethicist": (
        "ai-ethicist.establish-ethical-guidelines",
        "ai-ethicist.analyze-outputs-for-bias",
        "ai-ethicist.educate-teams",
    ),
    "ux-designer": (
        "ux-designer.design-user-friendly-interactions",
        "ux-designer.conduct-user-research",
        "ux-designer.iterate-designs",
    ),
    "content-curator": (
        "content-curator.review-generated-content",
        "content-curator.provide-model-feedback",
        "content-curator.curate-training-datasets",
    ),
}

# Responsibilities a mitigation asks the same of: where it applies, it is the one item for both
# (the bias evaluation always applies; the review before publication where content is public
# or the application is content creation).
STANDS_FOR = {
    "ai-ethicist.analyze-outputs-for-bias": "bias-and-fairness.evaluate-outputs-for-bias",
    "content-curator.review-generated-content": "bias-and-fairness.review-generated-content",
}


# What recording a transaction's checklist revisions costs at its commit, however many
# checklists and items it changed: the changed checklists (with their last revision's header),
# their items (with their current versions and owners), the item versions closed and written,
# the revisions and the checklists' new revision numbers.
REVISION_RECORDING = 6


def item_for(items: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The item that carries a responsibility: its own, or the mitigation standing for it."""
    return items[key] if key in items else items[STANDS_FOR[key]]


def own_items(keys: Any, items: Mapping[str, Any] | None = None) -> list[str]:
    """The keys among `keys` that are items of their own (in `items`, when given; else those
    no mitigation always stands for)."""
    if items is not None:
        return [k for k in keys if k in items]
    return [k for k in keys if k != "ai-ethicist.analyze-outputs-for-bias"]


# The article's collaboration table as unordered pairs (roles in catalog order).
COLLABORATION_PAIRS = (
    ("data-scientist", "machine-learning-engineer"),
    ("data-scientist", "ai-ethicist"),
    ("machine-learning-engineer", "ux-designer"),
    ("ai-ethicist", "content-curator"),
    ("ux-designer", "content-curator"),
    ("data-scientist", "content-curator"),
)


def staff_key_roles(api: Any, project: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """One new person in each of the five key roles; returns role -> person."""
    people = {}
    for role in KEY_ROLES:
        person = create_person(api, name=f"{role.replace('-', ' ').title()} Person")
        assign(api, project, role, person)
        people[role] = person
    return people


def staffed_project(api: Any, **project: Any) -> tuple[dict[str, Any], dict[str, dict]]:
    """A project (application `other` unless given) with the five key roles filled."""
    created = create_project(api, **{"application": "other", **project})
    return created, staff_key_roles(api, created)


def generate(api: Any, project: Mapping[str, Any], status: int | None = None, **kwargs: Any):
    response = api.post(f"/v1/projects/{project['id']}/checklist", **kwargs)
    if status is not None:
        assert response.status_code == status, response.get_data(as_text=True)
    return response


def read_checklist(api: Any, project: Mapping[str, Any], **query: Any) -> dict[str, Any]:
    response = api.get(f"/v1/projects/{project['id']}/checklist", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def items_by_key(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in doc["items"]}


def item_path(project: Mapping[str, Any], ref: str) -> str:
    return f"/v1/projects/{project['id']}/checklist/items/{ref}"


def in_days(days: int) -> str:
    """The date `days` from today (UTC), as a waiver's `expires_on` takes it."""
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def signer_of(body: Any) -> str | None:
    """Who a PATCH body says signs or approves (`signed_off_by`, `waiver.approved_by`)."""
    if not isinstance(body, Mapping):
        return None
    waiver = body.get("waiver")
    approver = waiver.get("approved_by") if isinstance(waiver, Mapping) else None
    named = body.get("signed_off_by") or approver
    return named if isinstance(named, str) else None


def patch_item(api: Any, project: Mapping[str, Any], ref: str, body: Any, **kwargs: Any):
    """PATCH an item as the person its body names as signer or approver, with their personal
    key (people sign as themselves); with `api`'s key when it names nobody."""
    signer = signer_of(body)
    client = api.as_person(signer) if signer is not None else api
    return client.patch(item_path(project, ref), json=body, **kwargs)


def lapse_waiver(app: Any, project_id: str, key: str) -> str:
    """What the passing of time does to a waiver: its day is now yesterday, and its checklist
    knows a waiver is due (as it would have since the waiver was given). Returns that day."""
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    with app.app_context():
        item = db.session.scalar(
            select(ChecklistItem).where(
                ChecklistItem.project_id == project_id, ChecklistItem.key == key
            )
        )
        item.waiver = {**item.waiver, "expires_on": yesterday}
        db.session.execute(
            update(Checklist)
            .where(Checklist.project_id == project_id)
            .values(next_waiver_expiry=date.fromisoformat(yesterday))
        )
        db.session.commit()
    return yesterday


def owner_ids(item: Mapping[str, Any]) -> list[str]:
    return [owner["id"] for owner in item["owners"]]


def generated_events(api: Any, project: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The project's `checklist.generated` events, newest first."""
    return events_of(api, f"/v1/projects/{project['id']}/events", type="checklist.generated")


def flat_errors(errors: Any) -> set[str]:
    """The dotted names a problem's `errors` object names, and the objects that hold them
    (`assignments.0.person.email` names `assignments.0` too)."""
    names: set[str] = set()
    for name in errors or {}:
        parts = name.split(".")
        names |= {".".join(parts[:depth]) for depth in range(1, len(parts) + 1)}
    return names


def example_as_gathered() -> dict[str, Any]:
    """The spec's checklist example as the services hand it to the dump (datetimes, not
    strings)."""
    data = copy.deepcopy(CHECKLIST_EXAMPLE)
    data["generated_at"] = datetime.fromisoformat(data["generated_at"])
    if data.get("release"):
        data["release"]["opened_at"] = datetime.fromisoformat(data["release"]["opened_at"])
    for item in data["items"]:
        for name in ("created_at", "updated_at", "signed_off_at"):
            if item[name] is not None:
                item[name] = datetime.fromisoformat(item[name])
    return data
