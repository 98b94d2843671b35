"""A project's context is on record: what it is for and not for, who it affects, where it is
used, its risk as the team classifies it, and the risk the team accepts; the checklist opens
with it, in every format, and the preview takes it too."""

from __future__ import annotations

import pytest
from checklist_support import generate
from factories import assert_problem, create_project, events_of

CONTEXT = {
    "intended_use": "Draft visit summaries for the clinician who dictated them to review.",
    "prohibited_uses": ["Diagnosis", "Summaries sent to patients unreviewed"],
    "affected_people": ["Patients", "Clinicians"],
    "jurisdictions": ["EU", "UK"],
    "risk_classification": "high",
    "risk_tolerance": "Low: no summary leaves the clinic unreviewed.",
}
EMPTY = {
    "intended_use": "",
    "prohibited_uses": [],
    "affected_people": [],
    "jurisdictions": [],
    "risk_classification": "unclassified",
    "risk_tolerance": "",
}


def test_a_project_states_its_context_and_reads_it_back(api):
    project = create_project(api, **CONTEXT)

    assert {name: project[name] for name in CONTEXT} == CONTEXT
    again = api.get(f"/v1/projects/{project['id']}").json
    assert {name: again[name] for name in CONTEXT} == CONTEXT
    (created,) = events_of(api, f"/v1/projects/{project['id']}/events", type="project.created")
    assert {name: created["payload"]["project"][name] for name in CONTEXT} == CONTEXT


def test_a_project_that_says_nothing_is_unclassified_with_an_empty_context(api):
    project = create_project(api)

    assert {name: project[name] for name in EMPTY} == EMPTY


def test_the_checklist_opens_with_the_context_and_follows_its_changes(api):
    project = create_project(api, application="healthcare-solutions", **CONTEXT)
    generate(api, project, 201)
    path = f"/v1/projects/{project['id']}/checklist"
    first = api.get(path)
    assert first.json["context"] == CONTEXT
    markdown = api.get(path + "?format=markdown").text
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings[0] == "## Context"
    assert "- **Prohibited uses:** Diagnosis; Summaries sent to patients unreviewed" in markdown
    assert "- **Risk classification:** high" in markdown
    text = api.get(path + "?format=text").text
    assert "CONTEXT" in text and "Jurisdictions: EU; UK" in text

    changed = api.patch(
        f"/v1/projects/{project['id']}",
        json={"risk_classification": "limited", "jurisdictions": ["EU"]},
    )

    assert changed.status_code == 200, changed.json
    again = api.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200  # the header changed: a new ETag
    assert again.json["context"] == {
        **CONTEXT,
        "risk_classification": "limited",
        "jurisdictions": ["EU"],
    }
    (updated,) = events_of(api, f"/v1/projects/{project['id']}/events", type="project.updated")
    assert updated["payload"]["changes"] == {
        "jurisdictions": [["EU", "UK"], ["EU"]],
        "risk_classification": ["high", "limited"],
    }


def test_the_preview_takes_a_description_and_the_context(api):
    response = api.post(
        "/v1/checklists/preview",
        json={
            "project": {
                "name": "Clinic notes",
                "description": "Summaries of dictated visits.",
                "application": "healthcare-solutions",
                **CONTEXT,
            }
        },
    )

    assert response.status_code == 200, response.json
    assert response.json["context"] == CONTEXT
    bare = api.post("/v1/checklists/preview", json={"project": {"application": "other"}})
    assert bare.json["context"] == EMPTY


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("jurisdictions", ["eu"], "jurisdictions.0"),
        ("jurisdictions", ["EU", "EU"], "jurisdictions"),
        ("jurisdictions", "EU", "jurisdictions"),
        ("risk_classification", "severe", "risk_classification"),
        ("prohibited_uses", ["Diagnosis", "Diagnosis"], "prohibited_uses"),
        ("prohibited_uses", [""], "prohibited_uses.0"),
        ("affected_people", ["x" * 301], "affected_people.0"),
        ("intended_use", "x" * 2001, "intended_use"),
        ("risk_tolerance", None, "risk_tolerance"),
    ],
)
def test_a_bad_context_is_refused_naming_the_field_and_changes_nothing(api, field, value, error):
    project = create_project(api, **CONTEXT)

    created = api.post("/v1/projects", json={"name": "Bad", "application": "other", field: value})
    updated = api.patch(f"/v1/projects/{project['id']}", json={field: value})

    assert error in assert_problem(created, 422)["errors"]
    assert error in assert_problem(updated, 422)["errors"]
    assert api.get(f"/v1/projects/{project['id']}").json[field] == CONTEXT[field]
    names = [p["name"] for p in api.get("/v1/projects").json["items"]]
    assert "Bad" not in names
