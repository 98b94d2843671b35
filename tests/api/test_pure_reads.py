"""Reads write nothing: every GET the contract documents, over a team with all there is to
read (a lapsed waiver among it), leaves every row of the database as it was."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from checklist_support import generate, item_path, lapse_waiver, patch_item, staffed_project
from factories import create_person
from flask import Flask
from sqlalchemy import select
from ticketing_support import create_integration, encode, github_headers, github_ping, post_delivery

from app.extensions import db
from app.models import Base

KEY = "data-scientist.collect-and-preprocess-data"
PUBLIC_URL = "https://93.184.216.34/hooks/checklists"  # a literal public address: no DNS


def snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    with app.app_context(), db.engine.connect() as connection:
        rows = {}
        for table in Base.metadata.sorted_tables:
            found = connection.execute(select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(row) for row in found]
        return rows


@pytest.fixture
def team(app, api, client) -> dict[str, str]:
    """A team with something behind every GET: projects sharing a person, a checklist with a
    lapsed waiver and a share link, a webhook endpoint with deliveries, an integration with a
    delivery."""
    endpoint = api.post("/v1/webhooks", json={"url": PUBLIC_URL, "event_types": ["*"]}).json
    project, people = staffed_project(api)
    other, _ = staffed_project(api, name="Second project")
    shared = next(iter(people.values()))
    api.post(
        f"/v1/projects/{other['id']}/assignments",
        json={"person_id": shared["id"], "role": "product-manager", "allocation_percent": 10},
    )
    generate(api, project, 201)
    generate(api, other, 201)
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    waived = patch_item(
        api, project, KEY, {"waiver": {"reason": "Waived until the audit", "expires_on": tomorrow}}
    )
    assert waived.status_code == 200, waived.json
    lapse_waiver(app, project["id"], KEY)
    release = {"version": "1.0.0", "model": {"name": "gpt-4o", "version": "2024-08-06"}}
    assert api.post(f"/v1/projects/{project['id']}/releases", json=release).status_code == 201
    create_person(api, name="Nobody Assigned")
    integration = create_integration(api, "github")
    body = encode(github_ping())
    ping = post_delivery(
        client, integration, body, github_headers(integration["secret"], body, event="ping")
    )
    assert ping.status_code in (200, 202), ping.json
    personal = api.post(f"/v1/people/{shared['id']}/keys", json={"name": "laptop"})
    assert personal.status_code == 201, personal.json
    share = api.post(f"/v1/projects/{project['id']}/checklist/shares", json={"name": "Tracker"})
    assert share.status_code == 201, share.json
    deliveries = api.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json["items"]
    assignment = api.get(f"/v1/projects/{project['id']}/assignments").json["items"][0]
    return {
        "project_ref": project["id"],
        "item_ref": KEY,
        "person_id": shared["id"],
        "key": "ai-ethicist",
        "endpoint_id": endpoint["id"],
        "delivery_id": deliveries[0]["id"],
        "integration_id": integration["id"],
        "assignment_id": assignment["id"],
        "key_id": personal.json["id"],
        "slug": project["slug"],
        "revision": "2",
        "version": "1.0.0",
        "share_id": share.json["id"],
        # A share link is read without a key: its use is noted in memory, never in the read.
        "token": share.json["url"].rsplit("/", 1)[-1],
    }


def _get_paths(app: Flask) -> list[str]:
    spec = app.test_client().get("/openapi.json").json
    return [path for path, operations in spec["paths"].items() if "get" in operations]


# Variants that take other code paths: formats, filters, layouts, conditional reads.
_VARIANTS = (
    "?format=markdown",
    "?format=csv",
    "?format=text&group_by=role&compact=true",
    "?status=open&role=data-scientist",
    "?limit=1",
)


def test_every_get_leaves_the_database_as_it_was(app, api, team):
    paths = _get_paths(app)
    assert len(paths) >= 25, paths
    before = snapshot(app)

    answered = []
    for template in paths:
        names = re.findall(r"{(\w+)}", template)
        missing = [name for name in names if name not in team]
        assert not missing, f"{template}: no value for {missing}; add one to the team"
        path = template.format(**team)
        for suffix in ("", *_VARIANTS):
            first = api.get(path + suffix)
            assert first.status_code < 500, (path + suffix, first.data[:300])
            answered.append(first.status_code)
            if etag := first.headers.get("ETag"):
                again = api.get(path + suffix, headers={"If-None-Match": etag})
                assert again.status_code == 304, path + suffix
        assert api.request("HEAD", path).status_code < 500
    # By the project's slug too, and the documents around the API.
    for path in (f"/v1/projects/{team['slug']}/checklist", "/openapi.json", "/metrics"):
        assert api.get(path).status_code == 200, path
    assert answered.count(200) >= len(paths)

    assert snapshot(app) == before


def test_the_snapshot_sees_a_write(app, api, team):
    """The comparison is not blind: one PATCH shows in it."""
    before = snapshot(app)

    patch_item(api, {"id": team["project_ref"]}, "ai-ethicist.educate-teams", {"note": "seen"})

    after = snapshot(app)
    assert after != before
    assert after["checklist_items"] != before["checklist_items"]
    assert item_path({"id": team["project_ref"]}, KEY)
