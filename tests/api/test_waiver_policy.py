"""The waiver policy by priority: each rule refused with its message (nothing changed), each
rule met accepted, the policy readable at `GET /v1/policy`, a waived item shown as waived,
a ticketing system's waiver of a high item held, and waivers given before the policy kept."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from checklist_support import generate, in_days, item_path, patch_item, signer_of
from factories import assert_problem, assign, create_person, create_project, event_count, events_of
from sqlalchemy import select
from ticketing_support import (
    create_integration,
    encode,
    github_headers,
    github_issue,
    post_delivery,
)

from app.extensions import db
from app.models import ChecklistItem
from app.services.checklists.waiver_policy import seeded_policy
from app.vocabulary import PRIORITIES

MEDIUM = "data-scientist.collect-and-preprocess-data"  # owned by Ada, needs no sign-off
HIGH = "data-privacy.minimize-and-pseudonymize"  # owned by Ada and Alan, no reviewer roles
CRITICAL = "data-privacy.privacy-impact-assessment"  # owned by Ada and Pam, Grace may review
RISK = "Identifiers left in the notes reach the training data"
# Who accepts the risk of an item that names no reviewer: any accountable role.
ACCOUNTABLE = "Accountable Executive or Product Manager or AI Ethicist"
# Who accepts a critical item's risk: the clinic is a regulated domain, which calls for the
# Accountable Executive, the one accountable role then.
EXECUTIVE = "Accountable Executive"


@pytest.fixture
def clinic(api) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A clinical assistant, every key role staffed: Ada (Data Scientist), Alan (ML
    Engineer), Grace (AI Ethicist), Pam (Product Manager), Una (UX Designer)."""
    project = create_project(
        api, name="Clinic notes", application="healthcare-solutions", traits={"user_facing": True}
    )
    people = {}
    for role, name in (
        ("data-scientist", "Ada Lovelace"),
        ("machine-learning-engineer", "Alan Turing"),
        ("ai-ethicist", "Grace Hopper"),
        ("product-manager", "Pam Manager"),
        ("ux-designer", "Una Designer"),
        # The clinic is a regulated domain: its critical waivers are the Accountable
        # Executive's alone to approve.
        ("accountable-executive", "Erin Walsh"),
    ):
        people[role] = create_person(api, name=name)
        assign(api, project, role, people[role])
    generate(api, project, 201)
    return project, people


def _item(api, project, key: str) -> dict[str, Any]:
    response = api.get(item_path(project, key))
    assert response.status_code == 200, response.json
    return response.json


def _priorities(api, project) -> dict[str, str]:
    return {key: _item(api, project, key)["priority"] for key in (MEDIUM, HIGH, CRITICAL)}


def test_the_fixture_items_have_the_priorities_the_tests_name(api, clinic):
    project, _ = clinic
    assert _priorities(api, project) == {MEDIUM: "medium", HIGH: "high", CRITICAL: "critical"}


# --------------------------------------------------------------------------- the policy


def test_the_policy_is_readable_with_an_etag(api):
    response = api.get("/v1/policy")

    assert response.status_code == 200, response.json
    rules = {rule["priority"]: rule for rule in response.json["waivers"]}
    assert [rule["priority"] for rule in response.json["waivers"]] == [
        "critical",
        "high",
        "medium",
        "low",
    ]
    assert rules["critical"] == {
        "priority": "critical",
        "approver": "accountable-role",
        "approver_roles": ["accountable-executive", "product-manager", "ai-ethicist"],
        "max_days": 90,
        "expires_on_required": True,
        "reason_min_chars": 20,
        "residual_risk_required": True,
        "residual_risk_min_chars": 20,
    }
    assert (rules["high"]["approver"], rules["high"]["approver_roles"]) == ("independent", [])
    assert rules["high"]["max_days"] == 180 and rules["high"]["residual_risk_required"]
    for low in ("medium", "low"):
        assert rules[low]["approver"] == "as-the-item-needs"
        assert rules[low]["max_days"] == 365
        assert rules[low]["reason_min_chars"] == 20
        assert rules[low]["residual_risk_required"] is False
        assert rules[low]["residual_risk_min_chars"] is None
    etag = response.headers["ETag"]
    again = api.get("/v1/policy", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag


def test_the_policy_needs_a_key(client):
    assert_problem(client.get("/v1/policy"), 401)


def test_the_policy_is_described_in_openapi(client):
    spec = client.get("/openapi.json").json
    operation = spec["paths"]["/v1/policy"]["get"]
    assert "PolicyOut" in str(operation["responses"]["200"])
    waiver = spec["components"]["schemas"]["Waiver"]["properties"]
    assert "residual_risk" in waiver
    assert "residual_risk" in spec["components"]["schemas"]["WaiverOut"]["properties"]


# --------------------------------------------------------------------------- rules refused


def _refused(app, api, project, key: str, waiver: dict[str, Any]) -> dict[str, list[str]]:
    """The waiver is a 422 problem, and neither the item nor the events changed."""
    signer = signer_of({"waiver": waiver})
    if signer is not None:
        api.as_person(signer)  # the approver's key, made (with its event) before counting
    before = _item(api, project, key)
    events = event_count(app)
    problem = assert_problem(patch_item(api, project, key, {"waiver": waiver}), 422)
    assert _item(api, project, key) == before
    assert event_count(app) == events
    return problem["errors"]


def test_a_short_reason_is_refused_by_the_policy(app, api, clinic):
    project, _ = clinic

    errors = _refused(app, api, project, MEDIUM, {"reason": "x", "expires_on": in_days(30)})

    assert errors == {
        "waiver.reason": [
            "A medium item's waiver gives a reason of at least 20 characters (policy)."
        ]
    }


def test_a_waiver_without_expiry_is_refused_by_the_policy(app, api, clinic):
    project, _ = clinic

    errors = _refused(app, api, project, MEDIUM, {"reason": "The vendor cleans the data"})

    assert errors == {
        "waiver.expires_on": ["Required: a medium item's waiver expires within 365 days (policy)."]
    }


@pytest.mark.parametrize(
    ("key", "days", "message"),
    [
        (MEDIUM, 366, "A medium item's waiver expires within 365 days (policy)"),
        (HIGH, 181, "A high item's waiver expires within 180 days (policy)"),
        (CRITICAL, 91, "A critical item's waiver expires within 90 days (policy)"),
    ],
)
def test_an_expiry_beyond_the_priority_limit_is_refused(app, api, clinic, key, days, message):
    project, people = clinic
    waiver = {
        "reason": "Covered by the vendor's own audit",
        "expires_on": in_days(days),
        "approved_by": people["ai-ethicist"]["id"],
        "residual_risk": RISK,
    }

    errors = _refused(app, api, project, key, waiver)

    latest = in_days(days - 1)
    assert errors == {"waiver.expires_on": [f"{message}: on {latest} at the latest."]}


def test_a_high_item_without_approver_or_residual_risk_is_refused_naming_both(app, api, clinic):
    project, _ = clinic
    waiver = {"reason": "No notes are used for training yet", "expires_on": in_days(30)}

    errors = _refused(app, api, project, HIGH, waiver)

    assert errors == {
        "waiver.approved_by": [
            "Required: a high item's waiver is approved by a person who does not own the item "
            f"and holds {ACCOUNTABLE} on the project (policy)."
        ],
        "waiver.residual_risk": [
            "Required: a high item's waiver states the residual risk it accepts, in at least "
            "20 characters (policy)."
        ],
    }


def test_a_high_items_approver_is_independent(app, api, clinic):
    project, people = clinic
    base = {"reason": "No notes are used for training yet", "expires_on": in_days(30)}
    base["residual_risk"] = RISK

    owner = _refused(
        app, api, project, HIGH, {**base, "approved_by": people["machine-learning-engineer"]["id"]}
    )
    designer = _refused(
        app, api, project, HIGH, {**base, "approved_by": people["ux-designer"]["id"]}
    )

    assert owner == {"waiver.approved_by": ["Must not be an owner of the item (independence)."]}
    assert designer == {"waiver.approved_by": [f"Must hold {ACCOUNTABLE} on this project."]}


def test_a_critical_item_is_waived_only_by_an_accountable_role(app, api, clinic):
    project, people = clinic
    waiver = {
        "reason": "The records team runs its own DPIA",
        "expires_on": in_days(30),
        "residual_risk": "A gap in the records team's DPIA goes unnoticed",
    }

    missing = _refused(app, api, project, CRITICAL, waiver)
    designer = _refused(
        app, api, project, CRITICAL, {**waiver, "approved_by": people["ux-designer"]["id"]}
    )
    owner = _refused(
        app, api, project, CRITICAL, {**waiver, "approved_by": people["product-manager"]["id"]}
    )
    # Grace owns nothing here and holds an accountable role, but the clinic's context calls
    # for the Accountable Executive.
    ethicist = _refused(
        app, api, project, CRITICAL, {**waiver, "approved_by": people["ai-ethicist"]["id"]}
    )

    assert missing == {
        "waiver.approved_by": [
            "Required: a critical item's waiver is approved by a person who does not own the "
            f"item and holds {EXECUTIVE} (an accountable role) on the project (policy)."
        ]
    }
    assert designer == {"waiver.approved_by": [f"Must hold {EXECUTIVE} on this project."]}
    assert owner == {"waiver.approved_by": ["Must not be an owner of the item (independence)."]}
    assert ethicist == {"waiver.approved_by": [f"Must hold {EXECUTIVE} on this project."]}


# --------------------------------------------------------------------------- rules met


def test_a_medium_item_is_waived_with_a_reason_and_an_expiry_a_year_ahead(api, clinic):
    project, _ = clinic
    waiver = {"reason": "The vendor cleans the data", "expires_on": in_days(365)}

    response = patch_item(api, project, MEDIUM, {"waiver": waiver})

    assert response.status_code == 200, response.json
    assert response.json["status"] == "waived"
    assert response.json["waiver"]["expires_on"] == in_days(365)
    assert response.json["waiver"]["residual_risk"] is None


def test_a_high_item_is_waived_with_an_independent_approver_and_its_residual_risk(api, clinic):
    project, people = clinic
    pam = people["product-manager"]
    waiver = {
        "reason": "No notes are used for training yet",
        "expires_on": in_days(180),
        "approved_by": pam["id"],
        "residual_risk": RISK,
    }

    response = patch_item(api, project, HIGH, {"waiver": waiver})

    assert response.status_code == 200, response.json
    assert response.json["waiver"] == {
        "reason": "No notes are used for training yet",
        "approved_by": pam["id"],
        "approver_name": "Pam Manager",
        "requested_by": None,
        "expires_on": in_days(180),
        "residual_risk": RISK,
        "approved_with": response.json["waiver"]["approved_with"],
    }
    # Pam approved with her own key, the one the client made for her.
    (key,) = api.get(f"/v1/people/{pam['id']}/keys").json["items"]
    assert response.json["waiver"]["approved_with"] == key["id"]
    assert _item(api, project, HIGH) == response.json
    (event,) = events_of(
        api, f"/v1/projects/{project['id']}/events", type="checklist.item.status_changed"
    )
    assert event["payload"]["after"]["waiver"]["residual_risk"] == RISK
    assert event["payload"]["item"]["waiver"]["residual_risk"] == RISK


def test_a_critical_item_is_waived_by_the_accountable_executive_for_90_days(api, clinic):
    project, people = clinic
    waiver = {
        "reason": "The records team runs its own DPIA",
        "expires_on": in_days(90),
        "approved_by": people["accountable-executive"]["id"],
        "residual_risk": "A gap in the records team's DPIA goes unnoticed",
    }

    response = patch_item(api, project, CRITICAL, {"waiver": waiver})

    assert response.status_code == 200, response.json
    assert response.json["status"] == "waived"
    assert response.json["waiver"]["approver_name"] == "Erin Walsh"


def test_a_waived_item_shows_as_waived_in_markdown_text_and_csv(api, clinic):
    project, people = clinic
    waiver = {
        "reason": "No notes are used for training yet",
        "expires_on": in_days(100),
        "approved_by": people["product-manager"]["id"],
        "residual_risk": RISK,
    }
    assert patch_item(api, project, HIGH, {"waiver": waiver}).status_code == 200
    path = f"/v1/projects/{project['id']}/checklist"

    markdown = api.get(path, query_string={"format": "markdown"}).get_data(as_text=True)
    compact = api.get(path, query_string={"format": "markdown", "compact": "true"})
    text = api.get(path, query_string={"format": "text"}).get_data(as_text=True)
    rows = csv.DictReader(io.StringIO(api.get(path, query_string={"format": "csv"}).text))

    # The task's line; the risk register, after the tasks, names the waived item too.
    (line,) = [ln for ln in markdown.splitlines() if f"`{HIGH}`" in ln and ln.startswith("- [")]
    assert line.startswith("- [~] **")
    (privacy,) = [ln for ln in markdown.splitlines() if ln.startswith("- **2.4 Data Privacy:**")]
    assert f"`{HIGH}` waived (residual risk: {RISK})" in privacy
    assert (
        f"waived: No notes are used for training yet (approved by Pam Manager, until "
        f"{in_days(100)}, residual risk: {RISK})"
    ) in line
    (compact_line,) = [
        line
        for line in compact.get_data(as_text=True).splitlines()
        if f"`{HIGH}`" in line and line.startswith("- [")
    ]
    assert compact_line.startswith("- [~] ") and f"until {in_days(100)}" in compact_line
    assert f"approved by Pam Manager; until {in_days(100)}; residual risk: {RISK}" in " ".join(
        text.split()
    )
    (row,) = [row for row in rows if row["key"] == HIGH]
    assert (row["status"], row["waiver_residual_risk"]) == ("waived", RISK)
    assert row["waiver_expires_on"] == in_days(100)


# --------------------------------------------------------------------------- before the policy


def test_a_waiver_given_before_the_policy_keeps_holding(app, api, clinic):
    """The policy applies to waivers given or changed: a stored one stays valid."""
    project, _ = clinic
    with app.app_context():
        item = db.session.scalar(
            select(ChecklistItem).where(
                ChecklistItem.project_id == project["id"], ChecklistItem.key == HIGH
            )
        )
        item.status = "waived"
        item.waiver = {"reason": "x", "approved_by": None, "expires_on": None}
        db.session.commit()

    noted = patch_item(api, project, HIGH, {"note": "Reviewed at the audit"})
    again = patch_item(api, project, HIGH, {"status": "waived"})

    assert noted.status_code == 200, noted.json
    assert (noted.json["status"], noted.json["waiver"]["reason"]) == ("waived", "x")
    assert again.status_code == 200, again.json
    markdown = api.get(f"/v1/projects/{project['id']}/checklist?format=markdown").text
    assert "waived: x (no approver, no expiry)" in markdown


# --------------------------------------------------------------------------- ticketing


def _close_as_not_planned(api, client, project, key: str) -> Any:
    integration = create_integration(api, "github")
    ticket = {"system": "github", "key": "acme/app#12"}
    assert patch_item(api, project, key, {"ticket": ticket}).status_code == 200
    body = encode(github_issue("closed", state_reason="not_planned"))
    return post_delivery(client, integration, body, github_headers(integration["secret"], body))


def test_a_ticketing_systems_waiver_of_a_high_item_is_held_saying_what_it_needs(
    api, client, clinic
):
    project, _ = clinic

    response = _close_as_not_planned(api, client, project, HIGH)

    assert response.status_code == 200, response.json
    needs = [
        f"an independent approval of its waiver by an {ACCOUNTABLE}",
        "the residual risk it accepts and an expiry within 180 days "
        "(the waiver policy of high items)",
    ]
    assert response.json["items"][0]["needs"] == needs
    assert (
        f"is in progress, not waived: it needs {' and '.join(needs)}" in (response.json["detail"])
    )
    held = _item(api, project, HIGH)
    assert (held["status"], held["waiver"]) == ("in_progress", None)


def test_a_ticketing_systems_waiver_of_a_medium_item_expires_a_year_ahead(api, client, clinic):
    project, _ = clinic

    response = _close_as_not_planned(api, client, project, MEDIUM)

    assert response.status_code == 200, response.json
    assert response.json["items"][0]["needs"] == []
    waived = _item(api, project, MEDIUM)
    assert waived["status"] == "waived"
    assert waived["waiver"]["expires_on"] == in_days(365)
    assert waived["waiver"]["requested_by"] == "octocat (GitHub)"
    assert len(waived["waiver"]["reason"]) >= 20


def test_every_priority_has_a_waiver_rule():
    assert {rule.priority for rule in seeded_policy().rules} == set(PRIORITIES)
