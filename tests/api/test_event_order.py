"""Events arrive out of order; each carries what tells a newer one from an older one: an item's
`version` (up with every change of the item, the one the change left), a checklist's
`revision`. The receiver of docs/webhooks.md drops the stale ones."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from checklist_support import (
    generate,
    item_path,
    items_by_key,
    lapse_waiver,
    patch_item,
    read_checklist,
)
from factories import assign, create_person, create_project, events_of
from sqlalchemy import select
from ticketing_support import (
    create_integration,
    encode,
    github_headers,
    github_issue,
    post_delivery,
)

from app.extensions import db
from app.models import WebhookDelivery

KEY = "data-scientist.collect-and-preprocess-data"
TRAIN = "machine-learning-engineer.train-models"  # a required role's, nobody in it yet
EXPLAIN = "explainability.explain-outputs"  # more pressing for health care
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


@pytest.fixture
def project(api) -> dict[str, Any]:
    """Ada is the Data Scientist; nobody is the Machine Learning Engineer yet."""
    created = create_project(api, name="Clinic notes", application="other")
    assign(api, created, "data-scientist", create_person(api, name="Ada Lovelace"))
    generate(api, created, 201)
    return created


def item(api, project, key: str = KEY) -> Any:
    response = api.get(item_path(project, key))
    assert response.status_code == 200, response.json
    return response


def item_events(api, project) -> list[dict[str, Any]]:
    """The project's item events, newest first."""
    events = events_of(api, f"/v1/projects/{project['id']}/events")
    return [e for e in events if e["type"].startswith("checklist.item.")]


def test_each_change_raises_the_version_and_its_events_carry_the_one_it_left(api, project):
    first = item(api, project)

    started = patch_item(api, project, KEY, {"status": "in_progress"})
    both = patch_item(
        api, project, KEY, {"note": "Sources listed", "ticket": {"system": "jira", "key": "C-1"}}
    )

    assert started.json["version"] == first.json["version"] + 1
    assert both.json["version"] == started.json["version"] + 1
    assert started.headers["ETag"] != first.headers["ETag"]
    newest, sibling, oldest = item_events(api, project)
    assert oldest["payload"]["item"]["version"] == started.json["version"]
    # One change, two events (the ticket linked, the note updated): the same version.
    assert {newest["type"], sibling["type"]} == {
        "checklist.item.ticket_linked",
        "checklist.item.updated",
    }
    assert newest["payload"]["item"]["version"] == both.json["version"]
    assert sibling["payload"]["item"]["version"] == both.json["version"]
    assert item(api, project).json["version"] == both.json["version"]


def test_a_tickets_delivery_raises_the_version_and_the_webhook_carries_it(
    app, api, client, project
):
    endpoint = api.post(
        "/v1/webhooks",
        json={"url": "https://93.184.216.34/hooks", "event_types": ["checklist.item.*"]},
    )
    assert endpoint.status_code == 201, endpoint.json
    integration = create_integration(api, "github")
    linked = patch_item(api, project, KEY, {"ticket": {"system": "github", "key": "acme/app#12"}})
    body = encode(github_issue("closed"))

    response = post_delivery(client, integration, body, github_headers(integration["secret"], body))

    assert response.json["outcome"] == "applied", response.json
    now = item(api, project).json
    assert now["status"] == "done"
    assert now["version"] == linked.json["version"] + 1
    with app.app_context():
        sent = db.session.scalars(
            select(WebhookDelivery.body).where(
                WebhookDelivery.endpoint_id == endpoint.json["id"],
                WebhookDelivery.event_type == "checklist.item.status_changed",
            )
        ).all()
    (closed,) = [json.loads(body)["data"] for body in sent]
    assert closed["source"] == "github"
    assert closed["item"]["version"] == now["version"]


def test_an_expired_waiver_raises_the_version_its_event_carries(app, api, project):
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    patch_item(
        api,
        project,
        KEY,
        {"waiver": {"reason": "Until the external audit", "expires_on": tomorrow}},
    )
    lapse_waiver(app, project["id"], KEY)
    waived = item(api, project).json["version"]  # a read records nothing
    result = app.test_cli_runner().invoke(args=["webhooks", "worker", "--once"])
    assert result.exit_code == 0, result.output

    reopened = item(api, project).json

    assert reopened["status"] == "open"
    assert reopened["version"] == waived + 1
    event = item_events(api, project)[0]
    assert event["payload"]["reason"].startswith("waiver expired")
    assert event["payload"]["item"]["version"] == reopened["version"]


def test_new_owners_from_a_staffing_change_are_a_new_version_and_etag(api, project):
    """Regeneration gives the training item its owner: a client holding the old ETag must not
    be told (304) that its copy, without the owner, is current."""
    before = item(api, project, TRAIN)
    assert before.json["owners"] == []

    alan = create_person(api, name="Alan Turing")
    assign(api, project, "machine-learning-engineer", alan)
    again = api.get(item_path(project, TRAIN), headers={"If-None-Match": before.headers["ETag"]})

    assert again.status_code == 200
    assert [o["id"] for o in again.json["owners"]] == [alan["id"]]
    assert again.json["version"] > before.json["version"]


def test_a_regeneration_that_changes_an_items_content_raises_its_version(api, project):
    before = item(api, project, EXPLAIN).json

    patch = api.patch(f"/v1/projects/{project['id']}", json={"application": "healthcare-solutions"})
    assert patch.status_code == 200, patch.json
    after = item(api, project, EXPLAIN).json

    assert after["priority"] != before["priority"]
    assert after["version"] > before["version"]


def test_every_way_of_reading_items_shows_their_version(api, project):
    patch_item(api, project, KEY, {"status": "in_progress"})
    one = item(api, project).json
    ada = one["owners"][0]

    listed = items_by_key(read_checklist(api, project))[KEY]
    owned = api.get(f"/v1/people/{ada['id']}/checklist-items").json["items"]
    preview = api.post(
        "/v1/checklists/preview",
        json={"project": {"name": "Draft", "application": "other"}, "assignments": []},
    )

    assert listed["version"] == one["version"] == 2
    assert {i["key"]: i["version"] for i in owned}[KEY] == one["version"]
    assert preview.status_code == 200, preview.json
    assert {i["version"] for i in preview.json["items"]} == {None}


def test_checklist_generated_carries_a_revision_that_grows(api, project):
    assign(api, project, "ai-ethicist", create_person(api, name="Grace Hopper"))
    assign(api, project, "product-manager", create_person(api, name="Pam Manager"))

    revisions = [
        e["payload"]["checklist"]["revision"]
        for e in events_of(api, f"/v1/projects/{project['id']}/events", type="checklist.generated")
    ]

    assert revisions == [3, 2, 1]
    assert read_checklist(api, project)["revision"] == 3


def _documented_receiver() -> dict[str, Any]:
    """The receiver of the `## Order` section of docs/webhooks.md, with `update_ticket` noting
    what it was given."""
    section = DOCS.read_text().split("\n## Order\n", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)\n```", section, re.DOTALL)
    updated: list[dict[str, Any]] = []
    namespace: dict[str, Any] = {"update_ticket": updated.append, "updated": updated}
    exec(compile(code, "docs/webhooks.md#order", "exec"), namespace)  # noqa: S102 - our own doc
    return namespace


def test_the_documented_receiver_drops_what_arrives_late(api, project):
    patch_item(api, project, KEY, {"status": "in_progress"})
    patch_item(
        api, project, KEY, {"note": "Sources listed", "ticket": {"system": "jira", "key": "C-1"}}
    )
    patch_item(api, project, KEY, {"status": "done"})
    receiver = _documented_receiver()
    newest_first = item_events(api, project)

    applied = [receiver["on_item_event"](e["payload"]) for e in newest_first]

    # The newest is applied; every older one arrives late and is dropped.
    assert applied == [True, False, False, False]
    assert [i["status"] for i in receiver["updated"]] == ["done"]
    in_order = [receiver["on_item_event"](e["payload"]) for e in reversed(newest_first)]
    assert in_order == [False, False, False, True]  # only the newest is not older
