"""People sign as themselves: a personal API key belongs to a person, and a sign-off or a
waiver's approval made with it is recorded as theirs, with the key; a team key signs nothing,
and nobody signs as someone else."""

from __future__ import annotations

import pytest
from checklist_support import generate, in_days, item_path
from factories import (
    assert_problem,
    assign,
    create_person,
    create_project,
    event_count,
    events_of,
)
from sqlalchemy import update

from app.extensions import db
from app.models import Checklist, ChecklistItem

PIA = "data-privacy.privacy-impact-assessment"  # critical, AI Ethicist signs off, evidence
EVIDENCE = {"add": [{"title": "DPIA v1", "url": "https://wiki.example.com/dpia"}]}
HIGH = "data-privacy.minimize-and-pseudonymize"  # high, no reviewer roles

RISK = "Identifiers left in the notes could reach the training data"


@pytest.fixture
def clinic(api):
    """Ada (lead Data Scientist), Alan (ML Engineer), Grace (AI Ethicist), Pam (Product
    Manager) and Una (UX Designer) on a clinical assistant; Grace is its Privacy Officer."""
    project = create_project(
        api, name="Clinic notes", application="healthcare-solutions", traits={"user_facing": True}
    )
    people = {}
    for role, name, email, extra in (
        ("data-scientist", "Ada Lovelace", "ada@example.com", {"lead": True}),
        ("machine-learning-engineer", "Alan Turing", "alan@example.com", {}),
        ("ai-ethicist", "Grace Hopper", "grace@example.com", {}),
        ("product-manager", "Pam Manager", "pam@example.com", {}),
        ("ux-designer", "Una Designer", "una@example.com", {}),
    ):
        person = create_person(api, name=name, email=email)
        assign(api, project, role, person, **extra)
        people[role] = person
    # Grace is its Privacy Officer too: the clinic's privacy gates are that role's to sign.
    assign(api, project, "privacy-officer", people["ai-ethicist"])
    generate(api, project, 201)
    return project, people


def _keys_path(person):
    return f"/v1/people/{person['id']}/keys"


def test_an_admin_makes_a_personal_key_shown_once(api, clinic):
    _, people = clinic
    grace = people["ai-ethicist"]

    created = api.post(_keys_path(grace), json={"name": "Grace's laptop"})

    assert created.status_code == 201, created.json
    key = created.json
    assert key["secret"].startswith("sck_")
    assert (key["name"], key["scopes"], key["person_id"]) == (
        "Grace's laptop",
        ["read", "write"],
        grace["id"],
    )
    assert created.headers["Location"].endswith(f"{_keys_path(grace)}/{key['id']}")
    listed = api.get(_keys_path(grace)).json["items"]
    assert [k["id"] for k in listed] == [key["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in api.get(f"{_keys_path(grace)}/{key['id']}").json
    (event,) = [
        e
        for e in events_of(api, type="api_key.created")
        if e["payload"]["api_key"]["id"] == key["id"]
    ]
    assert event["payload"]["api_key"]["person_id"] == grace["id"]
    assert key["secret"] not in str(event)
    # The key works, as Grace, for what its scopes allow.
    as_grace = {"Authorization": f"Bearer {key['secret']}"}
    assert api.client.get("/v1/people", headers=as_grace).status_code == 200


def test_only_an_admin_makes_keys_and_only_for_a_person_of_the_team(
    api, other_api, make_api, clinic
):
    _, people = clinic
    writer = make_api(scopes=("read", "write"))
    stranger = create_person(other_api, name="Stranger")

    problem = assert_problem(writer.post(_keys_path(people["ai-ethicist"]), json={}), 403)
    assert "'admin' scope" in problem["detail"]
    assert_problem(api.post(_keys_path(stranger), json={}), 404)
    bad = assert_problem(
        api.post(_keys_path(people["ai-ethicist"]), json={"scopes": ["root"]}), 422
    )
    assert list(bad["errors"]) == ["scopes.0"]
    assert api.get(_keys_path(people["ai-ethicist"])).json["items"] == []


def test_a_sign_off_with_a_personal_key_is_the_persons_with_the_key(api, clinic):
    project, people = clinic
    grace = people["ai-ethicist"]
    as_grace = api.as_person(grace["id"])
    (key,) = api.get(_keys_path(grace)).json["items"]

    # `signed_off_by` left out: the key's person signs.
    answer = as_grace.patch(item_path(project, PIA), json={"status": "done", "evidence": EVIDENCE})

    assert answer.status_code == 200, answer.json
    item = answer.json
    assert (item["status"], item["signed_off_by"], item["signed_off_by_name"]) == (
        "done",
        grace["id"],
        "Grace Hopper",
    )
    assert item["signed_off_with"] == key["id"]
    (event,) = events_of(
        api, f"/v1/projects/{project['id']}/events", type="checklist.item.status_changed"
    )
    assert (event["actor"], event["actor_person_id"]) == (f"api_key:{key['id']}", grace["id"])
    assert event["payload"]["item"]["signed_off_with"] == key["id"]


def test_naming_oneself_is_the_same_as_leaving_it_out(api, clinic):
    project, people = clinic
    grace = people["ai-ethicist"]
    body = {"status": "done", "signed_off_by": grace["id"], "evidence": EVIDENCE}

    answer = api.as_person(grace["id"]).patch(item_path(project, PIA), json=body)

    assert (answer.status_code, answer.json["signed_off_by"]) == (200, grace["id"])


def test_a_team_key_signs_nothing(app, api, clinic):
    project, people = clinic
    before, events = api.get(item_path(project, PIA)).json, event_count(app)

    body = {"status": "done", "signed_off_by": people["ai-ethicist"]["id"], "evidence": EVIDENCE}
    named = assert_problem(api.patch(item_path(project, PIA), json=body), 403)
    # Left out, nobody signs: the item's rule asks for a sign-off.
    unsigned = assert_problem(
        api.patch(item_path(project, PIA), json={"status": "done", "evidence": EVIDENCE}), 422
    )

    assert named["type"].endswith(":personal-key-required")
    assert named["errors"] == {
        "signed_off_by": ["Needs the personal API key of the person who signs."]
    }
    assert "A team key signs nothing" in named["detail"]
    assert "personal API key" in unsigned["errors"]["signed_off_by"][0]
    assert api.get(item_path(project, PIA)).json == before
    assert event_count(app) == events


def test_nobody_signs_as_someone_else(app, api, clinic):
    project, people = clinic
    as_pam = api.as_person(people["product-manager"]["id"])
    events = event_count(app)
    body = {"status": "done", "signed_off_by": people["ai-ethicist"]["id"], "evidence": EVIDENCE}

    problem = assert_problem(as_pam.patch(item_path(project, PIA), json=body), 403)

    assert problem["type"].endswith(":not-the-signer")
    assert problem["errors"] == {
        "signed_off_by": [
            f"Must be {people['product-manager']['id']}, the person of the API key, or left out."
        ]
    }
    assert api.get(item_path(project, PIA)).json["status"] == "open"
    assert event_count(app) == events


def test_the_independence_rules_hold_for_the_keys_person(api, clinic):
    """Ada owns the assessment: her key cannot sign it off; Una holds no reviewer role."""
    project, people = clinic
    body = {"status": "done", "evidence": EVIDENCE}

    ada = assert_problem(
        api.as_person(people["data-scientist"]["id"]).patch(item_path(project, PIA), json=body),
        422,
    )
    una = assert_problem(
        api.as_person(people["ux-designer"]["id"]).patch(item_path(project, PIA), json=body),
        422,
    )

    assert ada["errors"] == {"signed_off_by": ["Must not be an owner of the item (independence)."]}
    assert una["errors"] == {"signed_off_by": ["Must hold Privacy Officer on this project."]}


def test_a_waiver_is_approved_by_the_keys_person(api, clinic):
    project, people = clinic
    pam = people["product-manager"]
    as_pam = api.as_person(pam["id"])
    (key,) = api.get(_keys_path(pam)).json["items"]
    waiver = {"reason": "No notes are used for training yet", "expires_on": in_days(60)}

    team = assert_problem(
        api.patch(
            item_path(project, HIGH),
            json={"waiver": {**waiver, "residual_risk": RISK, "approved_by": pam["id"]}},
        ),
        403,
    )
    other = assert_problem(
        as_pam.patch(
            item_path(project, HIGH),
            json={
                "waiver": {
                    **waiver,
                    "residual_risk": RISK,
                    "approved_by": people["ai-ethicist"]["id"],
                }
            },
        ),
        403,
    )
    answer = as_pam.patch(
        item_path(project, HIGH), json={"waiver": {**waiver, "residual_risk": RISK}}
    )

    assert team["type"].endswith(":personal-key-required")
    assert list(team["errors"]) == ["waiver.approved_by"]
    assert other["type"].endswith(":not-the-signer")
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "waived"
    assert (
        answer.json["waiver"]["approved_by"],
        answer.json["waiver"]["approver_name"],
        answer.json["waiver"]["approved_with"],
    ) == (pam["id"], "Pam Manager", key["id"])


def test_a_waiver_that_needs_no_approver_is_given_with_a_team_key(api, clinic):
    """A medium item that needs no sign-off: the policy asks a reason and an expiry only."""
    project, _ = clinic
    medium = "data-scientist.collect-and-preprocess-data"
    waiver = {"reason": "The data comes from the vendor's audited set", "expires_on": in_days(300)}

    answer = api.patch(item_path(project, medium), json={"waiver": waiver})

    assert answer.status_code == 200, answer.json
    assert (answer.json["status"], answer.json["waiver"]["approved_by"]) == ("waived", None)


def test_a_revoked_personal_key_and_the_keys_of_a_removed_person_stop_working(api, clinic):
    _, people = clinic
    grace, alan = people["ai-ethicist"], people["machine-learning-engineer"]
    as_grace, as_alan = api.as_person(grace["id"]), api.as_person(alan["id"])
    (grace_key,) = api.get(_keys_path(grace)).json["items"]
    assert as_grace.get("/v1/people").status_code == 200

    etag = api.get(f"{_keys_path(grace)}/{grace_key['id']}").headers["ETag"]
    assert (
        api.delete(f"{_keys_path(grace)}/{grace_key['id']}", headers={"If-Match": etag})
    ).status_code == 204
    # Revoked, it is another key than the one read: the same If-Match is refused.
    stale = api.delete(f"{_keys_path(grace)}/{grace_key['id']}", headers={"If-Match": etag})
    assert_problem(stale, 412)
    assert api.delete(f"/v1/people/{alan['id']}").status_code == 204

    assert_problem(as_grace.get("/v1/people"), 401)
    assert_problem(as_alan.get("/v1/people"), 401)
    assert api.get(f"{_keys_path(grace)}/{grace_key['id']}").json["revoked_at"]
    revoked = [e["payload"]["api_key"]["id"] for e in events_of(api, type="api_key.revoked")]
    assert grace_key["id"] in revoked and len(revoked) == 2


def test_the_cli_makes_a_personal_key_that_signs(api, runner, clinic):
    project, people = clinic

    result = runner.invoke(
        args=["keys", "create", "team-a", "--person", "GRACE@example.com", "--name", "grace"]
    )

    assert result.exit_code == 0, result.output
    assert f"person: {people['ai-ethicist']['id']} (Grace Hopper)" in result.output
    token = result.output.strip().splitlines()[-1]
    answer = api.client.patch(
        item_path(project, PIA),
        json={"status": "done", "evidence": EVIDENCE},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (answer.status_code, answer.json["signed_off_by"]) == (
        200,
        people["ai-ethicist"]["id"],
    )
    unknown = runner.invoke(args=["keys", "create", "team-a", "--person", "nobody@example.com"])
    assert unknown.exit_code != 0
    assert "No person with the email 'nobody@example.com'" in unknown.output


def test_a_sign_off_from_before_personal_keys_says_a_team_key_named_it(app, api, clinic):
    """What migration 0011 leaves: a sign-off with no key shows as named, not vouched for."""
    project, people = clinic
    grace = people["ai-ethicist"]
    body = {"status": "done", "evidence": EVIDENCE}
    assert api.as_person(grace["id"]).patch(item_path(project, PIA), json=body).status_code == 200
    path = f"/v1/projects/{project['id']}/checklist"
    signed = api.get(path, query_string={"format": "markdown"}).text

    with app.app_context():
        db.session.execute(
            update(ChecklistItem).where(ChecklistItem.key == PIA).values(signed_off_with=None)
        )
        db.session.execute(update(Checklist).values(state=Checklist.state + 1))
        db.session.commit()
    named = api.get(path, query_string={"format": "markdown"}).text

    assert "**Sign-off:** signed off by Grace Hopper on " in signed
    assert "named with a team key" not in signed
    assert r"Grace Hopper on 2" in named and r"\(named with a team key\)" in named
    assert api.get(item_path(project, PIA)).json["signed_off_with"] is None
