"""The project's context drives items: an unclassified project used in the EU is asked to
classify its risk (until it records a classification, when the item goes obsolete); a project
classified prohibited gets one critical item, stop, which no waiver covers; the preview gives
the same; and a change of the context regenerates the checklist, with its event."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from checklist_support import (
    generate,
    generated_events,
    in_days,
    items_by_key,
    patch_item,
    read_checklist,
)
from factories import assert_problem, assign, create_person, create_project, event_count
from ticketing_support import (
    create_integration,
    encode,
    github_headers,
    github_issue,
    post_delivery,
)

CLASSIFY = "context.classify-risk"
STOP = "context.prohibited-use"
# What every project used in the EU gets, whatever its classification but prohibited.
EU_EVERYWHERE = ("context.eu-ai-literacy", "context.eu-generated-content-transparency")


def _project(api, **context: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A project with its accountable roles staffed: Pam (Product Manager) and Grace (AI
    Ethicist), and its checklist generated."""
    project = create_project(api, name="Clinic notes", application="other", **context)
    people = {
        "product-manager": create_person(api, name="Pam Manager"),
        "ai-ethicist": create_person(api, name="Grace Hopper"),
    }
    for role, person in people.items():
        assign(api, project, role, person)
    generate(api, project, 201)
    return project, people


def _context_items(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {key: item for key, item in items_by_key(doc).items() if item["kind"] == "context"}


def _patch_project(api, project, **changes: Any) -> None:
    response = api.patch(f"/v1/projects/{project['id']}", json=changes)
    assert response.status_code == 200, response.json


# --------------------------------------------------------------------------- classify the risk


def test_an_unclassified_project_in_the_eu_is_asked_to_classify_its_risk(api):
    project, people = _project(api, jurisdictions=["EU", "US"])

    doc = read_checklist(api, project)

    # Besides the EU AI Act obligations every EU project has (tests/api/test_eu_ai_act_items.py).
    assert set(_context_items(doc)) == {CLASSIFY, *EU_EVERYWHERE}
    item = _context_items(doc)[CLASSIFY]
    assert (item["kind"], item["priority"], item["phase"]) == ("context", "high", "plan-and-design")
    assert item["roles"] == ["product-manager"]
    assert [o["id"] for o in item["owners"]] == [people["product-manager"]["id"]]
    assert (item["signoff_required"], item["reviewer_roles"]) == (True, ["ai-ethicist"])
    assert [r["id"] for r in item["reviewers"]] == [people["ai-ethicist"]["id"]]
    assert item["because"] == [
        "Project context: risk classification unclassified",
        "Project context: used in EU",
    ]
    assert item["source"]["kind"] == "authored"
    assert item["source"]["catalog_key"] == CLASSIFY
    assert "EU AI Act's risk categories" in item["detail"]
    assert doc["summary"]["by_kind"]["context"] == 3


def test_the_item_shows_in_every_format(api):
    project, _ = _project(api, jurisdictions=["EU"])
    path = f"/v1/projects/{project['id']}/checklist"

    markdown = api.get(path, query_string={"format": "markdown", "group_by": "kind"}).text
    text = api.get(path, query_string={"format": "text"}).text
    rows = list(csv.DictReader(io.StringIO(api.get(path, query_string={"format": "csv"}).text)))

    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings[:2] == ["## Context", "## From the project's context"]
    assert f"`{CLASSIFY}`" in markdown
    assert "Classify the system's risk" in text
    (row,) = [row for row in rows if row["key"] == CLASSIFY]
    assert (row["kind"], row["priority"]) == ("context", "high")


def test_recording_a_classification_makes_the_item_obsolete_by_regeneration(api):
    project, _ = _project(api, jurisdictions=["EU"])
    before = read_checklist(api, project)

    _patch_project(api, project, risk_classification="limited")

    after = read_checklist(api, project)
    assert items_by_key(after)[CLASSIFY]["status"] == "obsolete"
    assert after["revision"] == before["revision"] + 1
    latest = generated_events(api, project)[0]["payload"]
    assert latest["diff"]["obsoleted"] == [CLASSIFY]
    assert latest["checklist"]["revision"] == after["revision"]

    # Unclassified again: the item applies again, as it was.
    _patch_project(api, project, risk_classification="unclassified")
    assert items_by_key(read_checklist(api, project))[CLASSIFY]["status"] == "open"


@pytest.mark.parametrize("jurisdictions", [[], ["US", "UK"]])
def test_a_project_outside_the_eu_gets_no_context_item(api, jurisdictions):
    project, _ = _project(api, jurisdictions=jurisdictions)

    doc = read_checklist(api, project)

    assert _context_items(doc) == {}
    assert doc["summary"]["by_kind"]["context"] == 0


def test_a_project_that_comes_to_the_eu_gets_the_item_with_an_event(api):
    project, _ = _project(api, jurisdictions=["US"])
    revision = read_checklist(api, project)["revision"]

    _patch_project(api, project, jurisdictions=["US", "EU"])

    doc = read_checklist(api, project)
    assert set(_context_items(doc)) == {CLASSIFY, *EU_EVERYWHERE}
    assert doc["revision"] == revision + 1
    added = generated_events(api, project)[0]["payload"]["diff"]["added"]
    assert sorted(added) == sorted([CLASSIFY, *EU_EVERYWHERE])


def test_a_context_change_the_items_do_not_depend_on_regenerates_nothing(api):
    project, _ = _project(api, jurisdictions=["US"])
    before = read_checklist(api, project)
    events = len(generated_events(api, project))

    _patch_project(api, project, intended_use="Draft visit summaries for review.")

    after = read_checklist(api, project)
    # No regeneration (no event, the items as they were); the checklist shows the new context,
    # which is a revision of its own, made by the project's update.
    assert after["revision"] == before["revision"] + 1
    assert after["items"] == before["items"]
    assert after["context"]["intended_use"] == "Draft visit summaries for review."
    assert len(generated_events(api, project)) == events
    made = api.get(f"/v1/projects/{project['id']}/checklist/revisions").json["items"][0]
    assert made["event_types"] == ["project.updated"]


# --------------------------------------------------------------------------- prohibited


def test_a_prohibited_project_gets_one_critical_item_stop(api):
    project, people = _project(api, risk_classification="prohibited", jurisdictions=["EU"])

    doc = read_checklist(api, project)

    (item,) = _context_items(doc).values()
    assert item["key"] == STOP
    assert item["title"] == "Stop: do not build or deploy the system as described"
    assert item["priority"] == "critical"
    assert item["because"][0] == "Project context: risk classification prohibited"
    assert item["because"][1].startswith("Critical because ")
    # The most urgent item of the checklist comes first.
    assert doc["items"][0]["key"] == STOP
    assert [o["id"] for o in item["owners"]] == [people["product-manager"]["id"]]


def test_the_stop_item_cannot_be_waived_naming_the_rule(app, api):
    project, people = _project(api, risk_classification="prohibited")
    api.as_person(people["ai-ethicist"]["id"])  # her key, made (with its event) before counting
    before = items_by_key(read_checklist(api, project))[STOP]
    events = event_count(app)
    waiver = {
        "reason": "The sponsor accepts the risk of building it",
        "expires_on": in_days(30),
        "approved_by": people["ai-ethicist"]["id"],
        "residual_risk": "The system is used as the team itself says it must not be",
    }

    with_waiver = assert_problem(patch_item(api, project, STOP, {"waiver": waiver}), 422)
    status_only = assert_problem(patch_item(api, project, STOP, {"status": "waived"}), 422)

    assert with_waiver["errors"] == {
        "waiver": ["This item is never waived (waiver policy: never_waived)."]
    }
    assert "cannot be waived: the waiver policy never waives it" in with_waiver["detail"]
    assert status_only["errors"] == {
        "status": ["This item is never waived (waiver policy: never_waived)."]
    }
    assert items_by_key(read_checklist(api, project))[STOP] == before
    assert event_count(app) == events


def test_a_ticketing_system_cannot_waive_the_stop_item_either(api, client):
    project, _ = _project(api, risk_classification="prohibited")
    integration = create_integration(api, "github")
    ticket = {"system": "github", "key": "acme/app#12"}
    assert patch_item(api, project, STOP, {"ticket": ticket}).status_code == 200
    body = encode(github_issue("closed", state_reason="not_planned"))

    response = post_delivery(client, integration, body, github_headers(integration["secret"], body))

    assert response.status_code == 200, response.json
    assert response.json["items"][0]["needs"] == [
        "nothing that waives it: the waiver policy never waives it"
    ]
    held = items_by_key(read_checklist(api, project))[STOP]
    assert (held["status"], held["waiver"]) == ("in_progress", None)


def test_the_policy_names_the_items_never_waived(api):
    policy = api.get("/v1/policy").json

    assert policy["accountable_roles"] == [
        "accountable-executive",
        "product-manager",
        "ai-ethicist",
    ]
    (entry,) = policy["never_waived"]
    assert entry["key"] == STOP
    assert "prohibited" in entry["because"]


def test_leaving_prohibited_makes_the_stop_item_obsolete(api):
    project, _ = _project(api, risk_classification="prohibited")

    _patch_project(api, project, risk_classification="minimal")

    doc = read_checklist(api, project)
    assert items_by_key(doc)[STOP]["status"] == "obsolete"
    assert generated_events(api, project)[0]["payload"]["diff"]["obsoleted"] == [STOP]


def test_the_catalog_shows_the_context_items_and_their_conditions(api):
    catalog = api.get("/v1/catalog").json

    items = {item["key"]: item for item in catalog["context_items"]}
    # Then the EU AI Act obligations (tests/api/test_eu_ai_act_items.py).
    assert list(items)[:4] == [CLASSIFY, STOP, *EU_EVERYWHERE]
    assert all(key.startswith("context.eu-") for key in list(items)[2:])
    assert items[CLASSIFY]["applies_when"] == {
        "risk_classifications": ["unclassified"],
        "jurisdictions_any": ["EU"],
    }
    assert items[STOP]["priority"] == "critical"
    assert {item["source"]["kind"] for item in items.values()} == {"authored"}


# --------------------------------------------------------------------------- the preview


def _preview(api, **context: Any) -> dict[str, Any]:
    response = api.post(
        "/v1/checklists/preview",
        json={
            "project": {"name": "Clinic notes", "application": "other", **context},
            "assignments": [
                {"role": "product-manager", "person": {"name": "Pam", "email": "pam@x.org"}},
                {"role": "ai-ethicist", "person": {"name": "Grace", "email": "grace@x.org"}},
            ],
        },
    )
    assert response.status_code == 200, response.json
    return response.json


def test_the_preview_gives_the_context_items_as_a_stored_checklist_does(api):
    eu = _preview(api, jurisdictions=["EU"])
    classified = _preview(api, jurisdictions=["EU"], risk_classification="limited")
    elsewhere = _preview(api, jurisdictions=["US"])
    prohibited = _preview(api, risk_classification="prohibited")

    assert set(_context_items(eu)) == {CLASSIFY, *EU_EVERYWHERE}
    classify = _context_items(eu)[CLASSIFY]
    assert (classify["key"], classify["priority"], classify["status"]) == (CLASSIFY, "high", "open")
    assert eu["summary"]["by_kind"]["context"] == 3
    assert set(_context_items(classified)) == set(EU_EVERYWHERE)
    assert _context_items(elsewhere) == {}
    (stop,) = _context_items(prohibited).values()
    assert (stop["key"], stop["priority"]) == (STOP, "critical")
    assert prohibited["items"][0]["key"] == STOP
    # What a stored checklist of the same project holds.
    project, _ = _project(api, jurisdictions=["EU"])
    stored = _context_items(read_checklist(api, project))[CLASSIFY]
    shared = ("kind", "title", "detail", "done_when", "priority", "because", "source", "roles")
    assert {k: classify[k] for k in shared} == {k: stored[k] for k in shared}
