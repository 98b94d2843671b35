"""Independent sign-off and evidence: critical items are done only when someone who does not own
them signs them off, waivers are approved by such a person, and evidence links show the work."""

from __future__ import annotations

import pytest
from checklist_support import (
    generate,
    in_days,
    item_path,
    items_by_key,
    patch_item,
    read_checklist,
)
from factories import assert_problem, assign, create_person, create_project, events_of
from ticketing_support import (
    create_integration,
    encode,
    github_headers,
    github_issue,
    post_delivery,
)

PIA = "data-privacy.privacy-impact-assessment"
EVIDENCE = {"add": [{"title": "DPIA v1", "url": "https://wiki.example.com/dpia"}]}


@pytest.fixture
def clinic(api):
    """A clinical assistant: Ada (lead Data Scientist), Alan (ML Engineer), Grace (AI Ethicist),
    Pam (Product Manager), Una (UX Designer), and of the governance roles its context requires
    Priya (Privacy Officer) and Erin (Accountable Executive)."""
    project = create_project(
        api, name="Clinic notes", application="healthcare-solutions", traits={"user_facing": True}
    )
    people = {}
    for role, name, extra in (
        ("data-scientist", "Ada Lovelace", {"lead": True}),
        ("machine-learning-engineer", "Alan Turing", {}),
        ("ai-ethicist", "Grace Hopper", {}),
        ("product-manager", "Pam Manager", {}),
        ("ux-designer", "Una Designer", {}),
        ("privacy-officer", "Priya Shah", {}),
        ("accountable-executive", "Erin Walsh", {}),
    ):
        person = create_person(api, name=name)
        assign(api, project, role, person, **extra)
        people[role] = person
    generate(api, project, 201)
    return project, people


def test_a_critical_item_needs_an_independent_sign_off_and_evidence(api, clinic):
    project, _ = clinic
    item = api.get(item_path(project, PIA)).json
    assert item["priority"] == "critical"
    # Personal data calls for the Privacy Officer: the review is theirs alone to sign.
    assert (item["signoff_required"], item["reviewer_roles"]) == (True, ["privacy-officer"])
    assert item["evidence_required"] is True
    assert item["reviewer_role_titles"] == ["Privacy Officer"]
    assert [r["name"] for r in item["reviewers"]] == ["Priya Shah"]

    problem = assert_problem(patch_item(api, project, PIA, {"status": "done"}), 422)

    assert set(problem["errors"]) == {"signed_off_by", "evidence"}
    assert "independent sign-off" in problem["detail"]
    assert (
        "does not own it and holds Privacy Officer on the project"
        in problem["errors"]["signed_off_by"][0]
    )
    assert api.get(item_path(project, PIA)).json["status"] == "open"


@pytest.mark.parametrize(
    ("signer", "message"),
    [
        # Ada owns the assessment (Data Scientist): she cannot sign off her own work.
        ("data-scientist", "Must not be an owner of the item (independence)."),
        # Una owns nothing here, but holds no reviewer role.
        ("ux-designer", "Must hold Privacy Officer on this project."),
        # Grace is independent, but the clinic's context calls for the Privacy Officer: the
        # AI Ethicist listed after it is no fallback here.
        ("ai-ethicist", "Must hold Privacy Officer on this project."),
    ],
)
def test_the_signer_must_not_own_the_item_and_must_hold_a_reviewer_role(
    api, clinic, signer, message
):
    project, people = clinic
    body = {"status": "done", "signed_off_by": people[signer]["id"], "evidence": EVIDENCE}

    problem = assert_problem(patch_item(api, project, PIA, body), 422)

    assert problem["errors"] == {"signed_off_by": [message]}
    assert people[signer]["name"] in problem["detail"]


def test_a_signer_of_another_team_or_no_one_is_refused(api, other_api, clinic):
    """Nobody signs as someone else: Grace's key naming a stranger, or no one, is 403."""
    project, people = clinic
    grace = api.as_person(people["ai-ethicist"]["id"])
    stranger = create_person(other_api, name="Stranger")
    for person_id in (stranger["id"], "per_nobody"):
        body = {"status": "done", "signed_off_by": person_id, "evidence": EVIDENCE}
        problem = assert_problem(grace.patch(item_path(project, PIA), json=body), 403)
        assert problem["type"].endswith(":not-the-signer")
        assert list(problem["errors"]) == ["signed_off_by"]
    assert api.get(item_path(project, PIA)).json["status"] == "open"


def test_signed_off_by_the_privacy_officer_the_item_is_done_and_the_event_says_who(api, clinic):
    project, people = clinic
    grace = people["privacy-officer"]
    body = {"status": "done", "signed_off_by": grace["id"], "evidence": EVIDENCE}

    response = patch_item(api, project, PIA, body)

    assert response.status_code == 200, response.json
    done = response.json
    assert done["status"] == "done"
    assert (done["signed_off_by"], done["signed_off_by_name"]) == (grace["id"], "Priya Shah")
    assert done["signed_off_at"]
    assert done["evidence"] == EVIDENCE["add"]
    (event,) = events_of(
        api, f"/v1/projects/{project['id']}/events", type="checklist.item.status_changed"
    )
    assert event["payload"]["after"] == {
        "status": "done",
        "waiver": None,
        "signed_off_by": grace["id"],
    }
    assert "Sign-off:** signed off by Priya Shah" in event["payload"]["ticket"]["body"]
    markdown = api.get(
        f"/v1/projects/{project['id']}/checklist", query_string={"format": "markdown"}
    ).text
    assert "**Sign-off:** signed off by Priya Shah on " in markdown
    assert "**Evidence:** [DPIA v1](https://wiki.example.com/dpia)" in markdown

    # Reopened, it loses its sign-off; a sign-off goes with done only.
    reopened = patch_item(api, project, PIA, {"status": "in_progress"}).json
    assert (reopened["signed_off_by"], reopened["signed_off_at"]) == (None, None)
    problem = assert_problem(patch_item(api, project, PIA, {"signed_off_by": grace["id"]}), 422)
    assert problem["errors"] == {"signed_off_by": ["Given with a status other than done."]}


def test_evidence_is_added_and_removed_and_a_done_item_keeps_at_least_one(api, clinic):
    project, people = clinic
    more = {"add": [{"title": "Sign-off minutes", "url": "https://wiki.example.com/minutes"}]}
    assert patch_item(api, project, PIA, {"evidence": EVIDENCE}).status_code == 200
    assert patch_item(api, project, PIA, {"evidence": more}).json["evidence"] == [
        *EVIDENCE["add"],
        *more["add"],
    ]
    body = {"status": "done", "signed_off_by": people["privacy-officer"]["id"]}
    assert patch_item(api, project, PIA, body).status_code == 200

    one_gone = patch_item(api, project, PIA, {"evidence": {"remove": [EVIDENCE["add"][0]["url"]]}})

    assert one_gone.json["evidence"] == more["add"]
    problem = assert_problem(
        patch_item(api, project, PIA, {"evidence": {"remove": [more["add"][0]["url"]]}}), 422
    )
    assert set(problem["errors"]) == {"evidence"}
    bad = assert_problem(
        patch_item(api, project, PIA, {"evidence": {"add": [{"title": "x", "url": "ftp://x"}]}}),
        422,
    )
    assert bad["errors"] == {"evidence.add.0.url": ["Not a valid URL."]}


def test_a_waiver_is_approved_by_an_independent_person(api, clinic):
    project, people = clinic
    waiver = {
        "reason": "The records team runs its own DPIA",
        "expires_on": in_days(60),
        "residual_risk": "A gap in the records team's DPIA goes unnoticed",
    }

    missing = assert_problem(patch_item(api, project, PIA, {"waiver": waiver}), 422)
    owner = assert_problem(
        patch_item(
            api,
            project,
            PIA,
            {"waiver": {**waiver, "approved_by": people["product-manager"]["id"]}},
        ),
        422,
    )
    ethicist = assert_problem(
        patch_item(
            api, project, PIA, {"waiver": {**waiver, "approved_by": people["ai-ethicist"]["id"]}}
        ),
        422,
    )
    approved = patch_item(
        api,
        project,
        PIA,
        {"waiver": {**waiver, "approved_by": people["accountable-executive"]["id"]}},
    )

    assert set(missing["errors"]) == {"waiver.approved_by"}
    (needs,) = missing["errors"]["waiver.approved_by"]
    assert "holds Accountable Executive (an accountable role) on the project" in needs
    # Pam owns the assessment as Product Manager: accepting its risk is not hers to do.
    assert owner["errors"] == {
        "waiver.approved_by": ["Must not be an owner of the item (independence)."]
    }
    # A critical item in a regulated domain: the Accountable Executive alone accepts its risk.
    assert ethicist["errors"] == {
        "waiver.approved_by": ["Must hold Accountable Executive on this project."]
    }
    assert approved.status_code == 200, approved.json
    assert approved.json["waiver"]["approved_by"] == people["accountable-executive"]["id"]
    assert approved.json["waiver"]["approver_name"] == "Erin Walsh"


def test_an_item_without_reviewer_roles_is_waived_by_whoever_accepts_risks(api, clinic):
    project, people = clinic
    key = "explainability.trace-model-outputs"  # owned by the engineer
    waiver = {"reason": "No decisions are taken on it yet", "expires_on": in_days(60)}

    engineer = assert_problem(
        patch_item(
            api,
            project,
            key,
            {"waiver": {**waiver, "approved_by": people["machine-learning-engineer"]["id"]}},
        ),
        422,
    )
    designer = assert_problem(
        patch_item(
            api, project, key, {"waiver": {**waiver, "approved_by": people["ux-designer"]["id"]}}
        ),
        422,
    )
    pam = patch_item(
        api, project, key, {"waiver": {**waiver, "approved_by": people["product-manager"]["id"]}}
    )

    assert "independence" in engineer["errors"]["waiver.approved_by"][0]
    assert designer["errors"] == {
        "waiver.approved_by": [
            "Must hold Accountable Executive or Product Manager or AI Ethicist on this project."
        ]
    }
    assert pam.status_code == 200 and pam.json["waiver"]["approver_name"] == "Pam Manager"


def test_a_closed_ticket_cannot_sign_off_the_item_stays_in_progress_saying_why(api, client, clinic):
    project, _ = clinic
    integration = create_integration(api, "github")
    ticket = {"system": "github", "key": "acme/app#12"}
    assert patch_item(api, project, PIA, {"ticket": ticket}).status_code == 200

    body = encode(github_issue("closed"))
    response = post_delivery(client, integration, body, github_headers(integration["secret"], body))

    assert response.status_code == 200, response.json
    item = api.get(item_path(project, PIA)).json
    assert item["status"] == "in_progress"
    (event,) = events_of(
        api, f"/v1/projects/{project['id']}/events", type="checklist.item.status_changed"
    )
    assert event["payload"]["source"] == "github"
    assert event["payload"]["reason"].endswith(
        "; the item is in progress, not done: it needs an independent sign-off by a Privacy "
        "Officer and evidence (at least one link)"
    )


def test_items_nobody_independent_can_sign_off_are_a_finding_for_the_lead(api):
    """Ada is the only privacy officer and ethicist, and owns the assessment as data scientist:
    nobody can sign it off. The finding says so, names the role to staff, and belongs to the
    lead, not to Ada."""
    project = create_project(api, application="healthcare-solutions")
    ada = create_person(api, name="Ada Lovelace")
    alan = create_person(api, name="Alan Turing")
    assign(api, project, "data-scientist", ada)
    assign(api, project, "ai-ethicist", ada)
    assign(api, project, "privacy-officer", ada)
    assign(api, project, "machine-learning-engineer", alan, lead=True)

    items = items_by_key(generate(api, project, 201).json)

    finding = items["staffing.no-independent-reviewer.privacy-officer"]
    assert finding["priority"] == "high"
    assert "Run a privacy impact assessment before collecting data" in finding["detail"]
    assert [o["id"] for o in finding["owners"]] == [alan["id"]]
    separation = items[f"staffing.separation-of-duties.{ada['id']}.data-scientist.ai-ethicist"]
    assert [o["id"] for o in separation["owners"]] == [alan["id"]]
    assert separation["source"]["people"] == [ada["id"]]
    # Nor is Ada a collaboration with herself.
    assert "collaboration.data-scientist.ai-ethicist" not in items
    report = api.get(f"/v1/projects/{project['id']}/staffing").json
    found = {f["key"] for f in report["findings"]}
    assert "staffing.no-independent-reviewer.privacy-officer" in found


def test_a_product_manager_who_is_also_the_ethicist_is_a_separation_finding(api, clinic):
    project, people = clinic
    assign(api, project, "product-manager", people["ai-ethicist"])

    items = items_by_key(read_checklist(api, project))

    key = f"staffing.separation-of-duties.{people['ai-ethicist']['id']}.ai-ethicist.product-manager"
    finding = items[key]
    assert finding["priority"] == "high"
    assert "accepts residual risks" in finding["detail"]
    # Owned by the lead (Ada) and the other product manager (Pam), never by Grace herself.
    assert [o["name"] for o in finding["owners"]] == ["Ada Lovelace", "Pam Manager"]


def test_a_new_signer_of_a_done_item_is_an_update_the_feed_shows(api, clinic):
    project, people = clinic
    grace = people["privacy-officer"]
    body = {"status": "done", "signed_off_by": grace["id"], "evidence": EVIDENCE}
    assert patch_item(api, project, PIA, body).status_code == 200
    second = create_person(api, name="Hedy Lamarr")
    assign(api, project, "privacy-officer", second)

    response = patch_item(api, project, PIA, {"signed_off_by": second["id"]})

    assert response.status_code == 200, response.json
    assert response.json["signed_off_by_name"] == "Hedy Lamarr"
    (event,) = events_of(
        api, f"/v1/projects/{project['id']}/events", type="checklist.item.updated"
    )[:1]
    assert event["payload"]["before"]["signed_off_by"] == grace["id"]
    assert event["payload"]["after"]["signed_off_by"] == second["id"]
