"""A delivery says what became of each item, for every provider: done, or held in progress with
what it still needs (an independent sign-off, evidence, an approver), in its answer, in its
record and in the activity feed; and the ticket's URL it carried is kept on the item's link."""

from __future__ import annotations

from typing import Any

import pytest
from checklist_support import generate, item_path, patch_item
from factories import assign, create_person, create_project, events_of
from ticketing_support import (
    create_integration,
    encode,
    generic_headers,
    github_headers,
    github_issue,
    jira_headers,
    jira_issue_updated,
    linear_headers,
    linear_issue_update,
    post_delivery,
)

from app.extensions import db
from app.models import InboundDelivery

PIA = "data-privacy.privacy-impact-assessment"  # the Privacy Officer signs it
THREAT_MODEL = "information-security.threat-model"  # evidence only
PLAIN = "data-scientist.collect-and-preprocess-data"  # neither
EVIDENCE = {"add": [{"title": "DPIA v1", "url": "https://wiki.example.com/dpia"}]}
SIGN_OFF = "an independent sign-off by a Privacy Officer"
NEEDS_EVIDENCE = "evidence (at least one link)"

# Per provider: the ticket an item is linked to, the URL its close delivery carries, and how
# the activity feed's reason starts.
TICKETS = {
    "github": (
        {"system": "github", "key": "acme/app#12"},
        "https://github.com/acme/app/issues/12",
        "GitHub issue acme/app#12 was closed as completed by `octocat`",
    ),
    "jira": (
        {"system": "jira", "key": "CLIN-12"},
        "https://acme.atlassian.net/browse/CLIN-12",
        "Jira issue CLIN-12 moved to Done (done) by Ada Lovelace",
    ),
    "linear": (
        {"system": "linear", "key": "ENG-42"},
        "https://linear.app/acme/issue/ENG-42/collect-and-preprocess-data",
        "Linear issue ENG-42 moved to Done (completed) by Grace Hopper",
    ),
    "generic": (
        {"system": "other", "key": "OPS-7"},
        "https://ops.example.com/OPS-7",
        "Ticket OPS-7 (other) moved to done by Ada",
    ),
}


@pytest.fixture
def clinic(api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A clinical project: Ada is its Data Scientist, Grace its AI Ethicist and Privacy Officer
    (who may sign off the privacy impact assessment, which she does not own)."""
    project = create_project(api, name="Clinic notes", application="healthcare-solutions")
    ada = create_person(api, name="Ada Lovelace")
    grace = create_person(api, name="Grace Hopper")
    assign(api, project, "data-scientist", ada, lead=True)
    assign(api, project, "ai-ethicist", grace)
    assign(api, project, "privacy-officer", grace)
    generate(api, project, 201)
    return project, grace


def close(client, integration: dict[str, Any], state: str = "done", delivery: str | None = None):
    """The ticket the provider's integration follows is closed (or `state` for generic), as
    the provider would post it."""
    provider = integration["provider"]
    secret = integration["secret"]
    if provider == "github":
        body = encode(github_issue("closed"))
        headers = github_headers(secret, body, delivery=delivery)
    elif provider == "jira":
        body = encode(jira_issue_updated("CLIN-12", category="done", status="Done"))
        headers = jira_headers(secret, body, delivery)
    elif provider == "linear":
        body = encode(linear_issue_update("ENG-42", state_type="completed", state_name="Done"))
        headers = linear_headers(secret, body, delivery)
    else:
        ticket = {**TICKETS["generic"][0], "status": state, "changed_by": "Ada"}
        body = encode({"ticket": {**ticket, "url": TICKETS["generic"][1]}})
        headers = generic_headers(secret, body, delivery)
    return post_delivery(client, integration, body, headers)


def integration_for(api, provider: str) -> dict[str, Any]:
    extra = {"secret": "lin_wh_" + "a1b2c3d4" * 6} if provider == "linear" else {}
    return create_integration(api, provider, **extra)


def link(api, project, key: str, ticket: dict[str, Any]) -> None:
    response = patch_item(api, project, key, {"ticket": ticket})
    assert response.status_code == 200, response.json


def item(api, project, key: str) -> dict[str, Any]:
    response = api.get(item_path(project, key))
    assert response.status_code == 200, response.json
    return response.json


def recorded(api, integration: dict[str, Any]) -> dict[str, Any]:
    """The newest delivery in the integration's record."""
    response = api.get(f"/v1/integrations/{integration['id']}/deliveries")
    assert response.status_code == 200, response.json
    return response.json["items"][0]


@pytest.mark.parametrize("provider", list(TICKETS))
def test_a_close_holds_an_item_that_needs_a_sign_off_and_evidence_and_says_so(
    api, client, clinic, provider
):
    project, _ = clinic
    ticket, url, reason = TICKETS[provider]
    integration = integration_for(api, provider)
    link(api, project, PIA, ticket)
    before = item(api, project, PIA)

    response = close(client, integration)

    assert response.status_code == 200, response.json
    answer = response.json
    assert answer["outcome"] == "applied"
    assert answer["items"] == [
        {
            "id": before["id"],
            "key": PIA,
            "project_id": project["id"],
            "project": project["slug"],
            "status": "in_progress",
            "held": True,
            "needs": [SIGN_OFF, NEEDS_EVIDENCE],
            "signed_off_by": None,
            "changes": {
                "status": ["open", "in_progress"],
                "ticket": [before["ticket"], {**ticket, "url": url}],
            },
        }
    ]
    assert answer["detail"] == (
        f"{reason}: clinic-notes/{PIA} is in progress, not done: it needs {SIGN_OFF} and "
        f"{NEEDS_EVIDENCE}; the ticket's URL recorded on 1 item(s)."
    )
    now = item(api, project, PIA)
    assert (now["status"], now["signed_off_by"], now["ticket"]["url"]) == ("in_progress", None, url)
    record = recorded(api, integration)
    assert (record["id"], record["items"], record["detail"]) == (
        answer["id"],
        answer["items"],
        answer["detail"],
    )
    (event,) = events_of(api, type="checklist.item.status_changed")
    assert event["payload"]["source"] == provider
    assert event["payload"]["after"]["status"] == "in_progress"
    assert event["payload"]["reason"] == (
        f"{reason}; the item is in progress, not done: it needs {SIGN_OFF} and {NEEDS_EVIDENCE}"
    )
    assert event["request_id"] == answer["request_id"]


def test_a_held_item_is_finished_by_its_sign_off_and_evidence(api, client, clinic):
    """What docs/ticketing.md says to do once the ticket is closed: the reviewer signs off."""
    project, grace = clinic
    integration = integration_for(api, "github")
    link(api, project, PIA, TICKETS["github"][0])
    close(client, integration)

    response = patch_item(
        api, project, PIA, {"status": "done", "signed_off_by": grace["id"], "evidence": EVIDENCE}
    )

    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["signed_off_by_name"]) == (
        "done",
        "Grace Hopper",
    )
    assert item(api, project, PIA) == response.json


def test_a_second_close_of_a_held_item_says_it_is_still_held_not_already_done(api, client, clinic):
    project, _ = clinic
    integration = integration_for(api, "github")
    link(api, project, PIA, TICKETS["github"][0])
    close(client, integration)
    events = len(events_of(api))

    again = close(client, integration)  # a new delivery id: another close, not a redelivery

    assert again.status_code == 200, again.json
    assert (again.json["outcome"], again.json["duplicate"]) == ("unchanged", False)
    assert "already" not in again.json["detail"]
    assert (
        f"clinic-notes/{PIA} is in progress, not done: it needs {SIGN_OFF}"
        in (again.json["detail"])
    )
    (entry,) = again.json["items"]
    assert (entry["status"], entry["held"], entry["changes"]) == ("in_progress", True, {})
    assert item(api, project, PIA)["status"] == "in_progress"
    assert len(events_of(api)) == events


def test_an_item_that_needs_only_evidence_is_held_until_it_has_some(api, client, clinic):
    project, _ = clinic
    integration = integration_for(api, "generic")
    link(api, project, THREAT_MODEL, TICKETS["generic"][0])

    held = close(client, integration)
    patch_item(api, project, THREAT_MODEL, {"evidence": EVIDENCE})
    done = close(client, integration)

    assert held.json["items"][0]["needs"] == [NEEDS_EVIDENCE]
    assert (
        "is in progress, not done: it needs evidence (at least one link)" in (held.json["detail"])
    )
    assert done.status_code == 200, done.json
    (entry,) = done.json["items"]
    assert (entry["status"], entry["held"], entry["needs"]) == ("done", False, [])
    assert entry["changes"] == {"status": ["in_progress", "done"]}
    assert done.json["detail"] == "Ticket OPS-7 (other) moved to done by Ada: 1 item(s) now done."
    assert item(api, project, THREAT_MODEL)["status"] == "done"


def test_an_item_with_its_evidence_needs_only_the_sign_off(api, client, clinic):
    project, _ = clinic
    integration = integration_for(api, "jira")
    link(api, project, PIA, TICKETS["jira"][0])
    patch_item(api, project, PIA, {"evidence": EVIDENCE})

    response = close(client, integration)

    assert response.json["items"][0]["needs"] == [SIGN_OFF]
    assert response.json["detail"].startswith(
        f"{TICKETS['jira'][2]}: clinic-notes/{PIA} is in progress, not done: it needs {SIGN_OFF};"
    )
    assert item(api, project, PIA)["status"] == "in_progress"


def test_a_close_as_not_planned_cannot_waive_an_item_that_needs_an_approver(api, client, clinic):
    project, _ = clinic
    integration = integration_for(api, "github")
    link(api, project, PIA, TICKETS["github"][0])
    body = encode(github_issue("closed", state_reason="not_planned"))

    response = post_delivery(client, integration, body, github_headers(integration["secret"], body))

    # A critical item's waiver (policy): an accountable approver (the Accountable Executive,
    # whom the clinic's regulated domain calls for), a residual risk, an expiry.
    approval = "an independent approval of its waiver by an Accountable Executive"
    policy = (
        "the residual risk it accepts and an expiry within 90 days "
        "(the waiver policy of critical items)"
    )
    assert response.json["items"][0]["needs"] == [approval, policy]
    assert (
        f"is in progress, not waived: it needs {approval} and {policy}" in (response.json["detail"])
    )
    now = item(api, project, PIA)
    assert (now["status"], now["waiver"]) == ("in_progress", None)


@pytest.mark.parametrize("provider", list(TICKETS))
def test_a_close_marks_an_item_without_such_needs_done_and_keeps_the_tickets_url(
    api, client, clinic, provider
):
    project, _ = clinic
    ticket, url, reason = TICKETS[provider]
    integration = integration_for(api, provider)
    link(api, project, PLAIN, ticket)

    response = close(client, integration)

    assert response.status_code == 200, response.json
    (entry,) = response.json["items"]
    assert (entry["status"], entry["held"], entry["needs"]) == ("done", False, [])
    assert entry["changes"]["status"] == ["open", "done"]
    assert response.json["detail"] == (
        f"{reason}: 1 item(s) now done; the ticket's URL recorded on 1 item(s)."
    )
    now = item(api, project, PLAIN)
    assert now["status"] == "done"
    assert now["ticket"] == {**ticket, "url": url}
    linked = events_of(api, type="checklist.item.ticket_linked")[0]["payload"]
    assert (linked["before"]["ticket"]["url"], linked["after"]["ticket"]["url"]) == (None, url)
    assert linked["source"] == provider


def test_a_url_a_person_gave_the_link_is_kept(api, client, clinic):
    """The link's URL is the person's choice; only a link without one takes the tracker's."""
    project, _ = clinic
    integration = integration_for(api, "github")
    mine = {**TICKETS["github"][0], "url": "https://github.com/acme/app/issues/12#triage"}
    link(api, project, PLAIN, mine)

    response = close(client, integration)

    assert response.json["items"][0]["changes"] == {"status": ["open", "done"]}
    assert response.json["detail"].endswith(": 1 item(s) now done.")
    assert item(api, project, PLAIN)["ticket"] == mine


def test_an_item_already_done_gets_the_url_and_is_said_to_be_already_so(api, client, clinic):
    project, _ = clinic
    integration = integration_for(api, "github")
    link(api, project, PLAIN, TICKETS["github"][0])
    patch_item(api, project, PLAIN, {"status": "done"})

    response = close(client, integration)

    assert response.json["outcome"] == "applied"
    assert response.json["detail"].endswith(
        ": 1 item(s) already done; the ticket's URL recorded on 1 item(s)."
    )
    assert item(api, project, PLAIN)["ticket"]["url"] == TICKETS["github"][1]


def test_items_of_one_ticket_each_say_what_became_of_them(api, client, clinic):
    project, _ = clinic
    integration = integration_for(api, "github")
    mine = {**TICKETS["github"][0], "url": "https://github.com/acme/app/issues/12"}
    for key in (PLAIN, PIA):
        link(api, project, key, mine)

    response = close(client, integration)

    by_key = {entry["key"]: entry for entry in response.json["items"]}
    assert (by_key[PLAIN]["status"], by_key[PLAIN]["held"]) == ("done", False)
    assert (by_key[PIA]["status"], by_key[PIA]["held"]) == ("in_progress", True)
    assert [item(api, project, key)["status"] for key in (PLAIN, PIA)] == ["done", "in_progress"]
    assert response.json["detail"] == (
        f"{TICKETS['github'][2]}: 1 item(s) now done; clinic-notes/{PIA} is in progress, not "
        f"done: it needs {SIGN_OFF} and {NEEDS_EVIDENCE}."
    )


def test_a_deleted_ticket_says_its_items_are_unlinked(api, client, clinic):
    project, _ = clinic
    integration = integration_for(api, "github")
    link(api, project, PLAIN, TICKETS["github"][0])
    body = encode(github_issue("deleted"))

    response = post_delivery(client, integration, body, github_headers(integration["secret"], body))

    assert response.json["detail"] == (
        "GitHub issue acme/app#12 was deleted by `octocat`; the item is no longer linked to it: "
        "1 item(s) unlinked."
    )
    assert response.json["items"][0]["held"] is False
    assert item(api, project, PLAIN)["ticket"] is None


def test_records_kept_before_items_said_what_became_of_them_read_with_defaults(app, api, clinic):
    integration = integration_for(api, "github")
    with app.app_context():
        db.session.add(
            InboundDelivery(
                team_id=api.team_id,
                integration_id=integration["id"],
                delivery_id="old-delivery",
                event="issues.closed",
                ticket=TICKETS["github"][0],
                ticket_state="closed as completed",
                sender="octocat",
                outcome="applied",
                detail="GitHub issue acme/app#12 was closed as completed: 1 item(s) changed.",
                items=[
                    {
                        "id": "itm_old",
                        "key": PLAIN,
                        "project_id": "prj_old",
                        "status": "done",
                        "changes": {"status": ["open", "done"]},
                    }
                ],
                status_code=200,
                body_sha256="0" * 64,
                body_bytes=10,
            )
        )
        db.session.commit()

    (entry,) = recorded(api, integration)["items"]

    assert (entry["project"], entry["held"], entry["needs"]) == (None, False, [])


def test_the_description_documents_what_became_of_each_item(client):
    schemas = client.get("/openapi.json").json["components"]["schemas"]

    fields = schemas["InboundItemOut"]["properties"]

    assert {"project", "status", "held", "needs", "changes"} <= fields.keys()
    assert fields["needs"]["type"] == "array"
    assert "in_progress" in fields["status"]["enum"]


def test_a_long_detail_is_cut_but_every_item_is_listed(api, client, clinic):
    project, _ = clinic
    integration = integration_for(api, "github")
    doc = api.get(f"/v1/projects/{project['id']}/checklist").json
    waiting = [i["key"] for i in doc["items"] if i["signoff_required"] or i["evidence_required"]]
    for key in waiting:
        link(api, project, key, TICKETS["github"][0])

    response = close(client, integration)

    assert len(waiting) >= 5
    assert {e["key"] for e in response.json["items"] if e["held"]} == set(waiting)
    assert len(response.json["detail"]) == 500
    assert response.json["detail"].endswith("…")
    assert recorded(api, integration)["detail"] == response.json["detail"]
