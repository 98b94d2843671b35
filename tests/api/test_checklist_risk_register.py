"""The risk register through the API: every checklist answer carries the twelve NIST AI 600-1
risks, a waiver turns a risk into an accepted one (and changes the checklist's ETag and its
renderings), a trait brings the control a risk needs, and revisions and previews show it."""

from __future__ import annotations

import csv
import io

from checklist_support import (
    generate,
    in_days,
    item_path,
    patch_item,
    read_checklist,
    staffed_project,
)

from app.vocabulary import GENAI_RISKS

INFERENCE_ENERGY = "technical-complexity.report-inference-energy"
TRAINING_ENERGY = "technical-complexity.report-training-energy"
CBRN_TEST = "harmful-content.test-cbrn-misuse"
CBRN, ENVIRONMENT = GENAI_RISKS[0], GENAI_RISKS[4]
RESIDUAL = "The month's energy use stays unknown until the provider reports it"


def _register(doc):
    return {entry["risk"]: entry for entry in doc["risk_register"]}


def _hosted(api):
    """A project on a hosted model (it trains nothing), the key roles staffed, generated."""
    project, people = staffed_project(api, traits={"model_source": "hosted-third-party"})
    generate(api, project, 201)
    return project, people


def test_every_checklist_answer_has_the_twelve_risks_each_with_one_status(api):
    project, _ = _hosted(api)

    doc = read_checklist(api, project)

    assert [e["risk"] for e in doc["risk_register"]] == list(GENAI_RISKS)
    register = _register(doc)
    # Environmental impacts: inference only, since a hosted model is not trained here.
    assert register[ENVIRONMENT] == {
        "risk": ENVIRONMENT,
        "section": "2.5",
        "status": "addressed",
        "items": [INFERENCE_ENERGY],
        "accepted": [],
        "reason": None,
    }
    assert TRAINING_ENERGY not in {i["key"] for i in doc["items"]}
    assert register[CBRN]["status"] == "not-applicable"
    assert "general_purpose_assistant" in register[CBRN]["reason"]
    # Every key the register names is an item of the checklist that addresses that risk.
    items = {i["key"]: i for i in doc["items"]}
    for entry in doc["risk_register"]:
        for key in entry["items"]:
            assert entry["risk"] in items[key]["source"]["genai_risks"], (entry["risk"], key)
    # Filters select items; the register, as the summary, is of them all.
    filtered = read_checklist(api, project, kind="collaboration")
    assert filtered["risk_register"] == doc["risk_register"]


def test_waiving_the_only_item_of_a_risk_makes_it_accepted_and_changes_the_etag(api):
    project, people = _hosted(api)
    path = f"/v1/projects/{project['id']}/checklist"
    before = api.get(path)
    markdown_before = api.get(path, query_string={"format": "markdown"})

    waived = patch_item(
        api,
        project,
        INFERENCE_ENERGY,
        {
            "waiver": {
                "reason": "The provider reports no energy figures yet",
                "approved_by": people["ai-ethicist"]["id"],
                "expires_on": in_days(90),
                "residual_risk": RESIDUAL,
            }
        },
    )
    assert waived.status_code == 200, waived.json

    after = api.get(path)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert _register(after.json)[ENVIRONMENT] == {
        "risk": ENVIRONMENT,
        "section": "2.5",
        "status": "accepted",
        "items": [],
        "accepted": [{"key": INFERENCE_ENERGY, "residual_risk": RESIDUAL}],
        "reason": None,
    }
    markdown = api.get(path, query_string={"format": "markdown"})
    assert markdown.headers["ETag"] != markdown_before.headers["ETag"]
    line = next(ln for ln in markdown.text.splitlines() if ln.startswith("- **2.5 "))
    assert line.startswith("- **2.5 Environmental Impacts:** accepted; `" + INFERENCE_ENERGY)
    assert "residual risk: The month's energy use stays unknown" in line
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(api.get(f"{path}.csv").text))}
    assert rows[INFERENCE_ENERGY]["genai_risks"] == "Environmental Impacts (accepted)"

    reopened = api.patch(item_path(project, INFERENCE_ENERGY), json={"status": "open"})
    assert reopened.status_code == 200, reopened.json
    assert _register(read_checklist(api, project))[ENVIRONMENT]["status"] == "addressed"


def test_a_general_purpose_assistant_gets_the_cbrn_test_and_its_register_says_so(api):
    project, _ = _hosted(api)
    changed = api.patch(
        f"/v1/projects/{project['id']}", json={"traits": {"general_purpose_assistant": True}}
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["traits"]["general_purpose_assistant"] is True

    generate(api, project, 200)
    doc = read_checklist(api, project)

    assert "general_purpose_assistant" in doc["project"]["traits"]
    cbrn = _register(doc)[CBRN]
    assert cbrn["status"] == "addressed" and cbrn["items"] == [CBRN_TEST]
    test = next(i for i in doc["items"] if i["key"] == CBRN_TEST)
    assert test["priority"] == "high" and test["evidence_required"]
    assert test["signoff_required"]


def test_a_revision_and_a_preview_carry_their_register(api):
    project, _ = _hosted(api)
    current = read_checklist(api, project)

    revision = api.get(f"/v1/projects/{project['id']}/checklist/revisions/1")
    previewed = api.post(
        "/v1/checklists/preview",
        json={"project": {"application": "music-composition", "traits": {"user_facing": True}}},
    )

    assert revision.status_code == 200, revision.json
    assert revision.json["risk_register"] == current["risk_register"]
    assert previewed.status_code == 200, previewed.json
    register = _register(previewed.json)
    assert register["Confabulation"]["status"] == "addressed"  # warning users: user-facing
    assert register[CBRN]["status"] == "not-applicable"
    assert [e["risk"] for e in previewed.json["risk_register"]] == list(GENAI_RISKS)
