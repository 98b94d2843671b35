"""Factories: build a team's people, projects and staffing through the API, with unique defaults.

Every factory takes the `ApiClient` to act as and keyword overrides of the request body, asserts
that the API accepted the request, and returns the created resource as JSON.
"""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import Event

# The catalog's role keys, in order: part of the public contract (curl users type them).
ROLE_KEYS = [
    "data-scientist",
    "machine-learning-engineer",
    "ai-ethicist",
    "ux-designer",
    "content-curator",
    "ai-researcher",
    "product-manager",
    "privacy-officer",
    "security-lead",
    "domain-expert",
    "accountable-executive",
]
_sequence = itertools.count(1)

PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def person_body(**overrides: Any) -> dict[str, Any]:
    n = next(_sequence)
    return {"name": f"Person {n}", "email": f"person{n}@example.com", **overrides}


def project_body(**overrides: Any) -> dict[str, Any]:
    n = next(_sequence)
    return {"name": f"Project {n}", "application": "content-creation", **overrides}


def create_person(api: Any, **overrides: Any) -> dict[str, Any]:
    response = api.post("/v1/people", json=person_body(**overrides))
    assert response.status_code == 201, response.json
    return response.json


def create_project(api: Any, **overrides: Any) -> dict[str, Any]:
    response = api.post("/v1/projects", json=project_body(**overrides))
    assert response.status_code == 201, response.json
    return response.json


def assign(api: Any, project: dict[str, Any], role: str, person: dict[str, Any], **extra: Any):
    """Put `person` (a created person) in `role` on `project`; returns the assignment."""
    response = api.post(
        f"/v1/projects/{project['id']}/assignments",
        json={"role": role, "person_id": person["id"], **extra},
    )
    assert response.status_code == 201, response.json
    return response.json


def event_count(app: Flask) -> int:
    """Every event stored, of every team: a failed request must leave it unchanged."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Event))


def events_of(api: Any, path: str = "/v1/events", **query: str) -> list[dict[str, Any]]:
    """The events a feed shows (newest first), optionally filtered by `type`."""
    response = api.get(path, query_string={"limit": 200, **query})
    assert response.status_code == 200, response.json
    return response.json["items"]


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem of `status`; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body.keys() >= PROBLEM_FIELDS
    assert body["status"] == status
    assert "Traceback" not in response.get_data(as_text=True)
    return body
