"""Strict routing of reviews (issue 19, point 1): where the project's context calls for the
governance role a review is routed to, that role alone signs it off, and a critical waiver is
the Accountable Executive's alone to approve. The article's roles listed after it stand in only
where the context does not call for it."""

from __future__ import annotations

import pytest
from checklist_support import generate, in_days, item_path, patch_item
from factories import assert_problem, assign, create_person, create_project

REVIEW = "data-privacy.health-data-regulatory-review"
ACCURACY = "confabulation.measure-factual-accuracy"
EVIDENCE = {"add": [{"title": "Review", "url": "https://wiki.example.com/review"}]}
WAIVER = {
    "reason": "The hospital's own review covers these flows",
    "expires_on": in_days(30),
    "residual_risk": "A flow the hospital's review missed goes unreviewed",
}


@pytest.fixture
def clinic(api):
    """Personal health data, classified high: the context requires the Privacy Officer, the
    Domain Expert (a clinician) and the Accountable Executive. Everyone but Erin, the
    Accountable Executive, is staffed first."""
    project = create_project(
        api,
        name="Clinic notes",
        application="healthcare-solutions",
        traits={"handles_personal_data": True, "user_facing": True},
        risk_classification="high",
    )
    people = {}
    for role, name in (
        ("data-scientist", "Ada Lovelace"),
        ("machine-learning-engineer", "Alan Turing"),
        ("ai-ethicist", "Grace Hopper"),
        ("product-manager", "Pam Lee"),
        ("privacy-officer", "Priya Shah"),
        ("domain-expert", "Cleo Park"),
        ("security-lead", "Sam Ortiz"),
    ):
        people[role] = create_person(api, name=name)
        assign(api, project, role, people[role], lead=role == "data-scientist")
    generate(api, project, 201)
    return project, people


def _sign(api, project, key, person):
    return patch_item(
        api, project, key, {"status": "done", "signed_off_by": person["id"], "evidence": EVIDENCE}
    )


def test_the_privacy_gate_is_the_privacy_officers_alone(api, clinic):
    project, people = clinic
    assert api.get(item_path(project, REVIEW)).json["reviewer_roles"] == ["privacy-officer"]

    ethicist = assert_problem(_sign(api, project, REVIEW, people["ai-ethicist"]), 422)

    assert ethicist["errors"] == {"signed_off_by": ["Must hold Privacy Officer on this project."]}
    assert "Grace Hopper cannot sign it off" in ethicist["detail"]
    assert api.get(item_path(project, REVIEW)).json["status"] == "open"
    signed = _sign(api, project, REVIEW, people["privacy-officer"])
    assert signed.status_code == 200, signed.json
    assert signed.json["signed_off_by_name"] == "Priya Shah"


def test_the_accuracy_gate_is_the_clinicians_alone(api, clinic):
    project, people = clinic
    for who in ("ai-ethicist", "product-manager"):
        problem = assert_problem(_sign(api, project, ACCURACY, people[who]), 422)
        assert problem["errors"] == {"signed_off_by": ["Must hold Domain Expert on this project."]}
    assert _sign(api, project, ACCURACY, people["domain-expert"]).status_code == 200


def test_a_critical_waiver_is_the_accountable_executives_alone(api, clinic):
    project, people = clinic
    assert api.get(item_path(project, REVIEW)).json["priority"] == "critical"

    # Nobody holds the role the context requires: no other accountable role stands in.
    for who in ("ai-ethicist", "privacy-officer"):
        body = {"waiver": {**WAIVER, "approved_by": people[who]["id"]}}
        problem = assert_problem(patch_item(api, project, REVIEW, body), 422)
        assert problem["errors"] == {
            "waiver.approved_by": ["Must hold Accountable Executive on this project."]
        }
    needs = assert_problem(patch_item(api, project, REVIEW, {"waiver": WAIVER}), 422)
    assert needs["errors"]["waiver.approved_by"] == [
        "Required: a critical item's waiver is approved by a person who does not own the item "
        "and holds Accountable Executive (an accountable role) on the project (policy)."
    ]
    assert api.get(item_path(project, REVIEW)).json["waiver"] is None

    erin = create_person(api, name="Erin Walsh")
    assign(api, project, "accountable-executive", erin)
    approved = patch_item(api, project, REVIEW, {"waiver": {**WAIVER, "approved_by": erin["id"]}})
    assert approved.status_code == 200, approved.json
    assert approved.json["waiver"]["approver_name"] == "Erin Walsh"


def test_without_a_governance_role_in_the_context_the_article_roles_stand_in(api):
    """A blog writer (public content, not regulated, not classified high) calls for neither a
    domain expert nor an accountable executive: the AI Ethicist signs its accuracy gate and
    the Product Manager may approve a critical waiver."""
    project = create_project(
        api,
        application="content-creation",
        traits={"generates_public_content": True, "user_facing": True},
    )
    people = {}
    for role, name in (
        ("data-scientist", "Ada Lovelace"),
        ("machine-learning-engineer", "Alan Turing"),
        ("ai-ethicist", "Grace Hopper"),
        ("content-curator", "Cora Curator"),
        ("product-manager", "Pam Lee"),
    ):
        people[role] = create_person(api, name=name)
        assign(api, project, role, people[role])
    generate(api, project, 201)

    accuracy = api.get(item_path(project, ACCURACY)).json
    assert accuracy["reviewer_roles"] == ["ai-ethicist"]
    assert _sign(api, project, ACCURACY, people["ai-ethicist"]).status_code == 200
    review = "bias-and-fairness.review-generated-content"
    assert api.get(item_path(project, review)).json["priority"] == "critical"
    body = {"waiver": {**WAIVER, "approved_by": people["product-manager"]["id"]}}
    approved = patch_item(api, project, review, body)
    assert approved.status_code == 200, approved.json
    assert approved.json["waiver"]["approver_name"] == "Pam Lee"
