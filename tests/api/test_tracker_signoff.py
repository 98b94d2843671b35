"""Sign-off from the tracker: a delivery the provider signed, from a sender who is a person of
the team by their handle (GitHub login, Jira account id, Linear user id), signs off as that
person under the same independence rules: an eligible reviewer closing the ticket, or, on
GitHub, commenting `/signoff`."""

from __future__ import annotations

from typing import Any

import pytest
from checklist_support import generate, item_path, patch_item
from factories import assign, create_person, create_project, events_of
from ticketing_support import (
    create_integration,
    encode,
    github_headers,
    github_issue,
    jira_headers,
    jira_issue_updated,
    linear_headers,
    linear_issue_update,
    post_delivery,
)

PIA = "data-privacy.privacy-impact-assessment"  # the Privacy Officer signs it
EVIDENCE = {"add": [{"title": "DPIA v1", "url": "https://wiki.example.com/dpia"}]}
JIRA_ACCOUNT = "5b10a2844c20165700ede21g"
LINEAR_USER = "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"
TICKETS = {
    "github": {"system": "github", "key": "acme/app#12"},
    "jira": {"system": "jira", "key": "CLIN-12"},
    "linear": {"system": "linear", "key": "ENG-42"},
}


@pytest.fixture
def clinic(api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Ada is the Data Scientist (she owns the assessment), Grace the AI Ethicist (who may
    sign it off); Grace's handles are the senders of the deliveries below. The assessment
    has its evidence and is linked to a ticket of each provider's."""
    project = create_project(api, name="Clinic notes", application="healthcare-solutions")
    ada = create_person(api, name="Ada Lovelace", handles={"github": "ada-l"})
    grace = create_person(
        api,
        name="Grace Hopper",
        handles={"github": "Grace-H", "jira": JIRA_ACCOUNT, "linear": LINEAR_USER},
    )
    assign(api, project, "data-scientist", ada, lead=True)
    assign(api, project, "ai-ethicist", grace)
    # The clinic's privacy gates are the Privacy Officer's to sign: Grace is that too.
    assign(api, project, "privacy-officer", grace)
    generate(api, project, 201)
    assert patch_item(api, project, PIA, {"evidence": EVIDENCE}).status_code == 200
    return project, ada, grace


def _integration(api, provider: str) -> dict[str, Any]:
    extra = {"secret": "lin_wh_" + "a1b2c3d4" * 6} if provider == "linear" else {}
    return create_integration(api, provider, **extra)


def _link(api, project, provider: str) -> None:
    assert patch_item(api, project, PIA, {"ticket": TICKETS[provider]}).status_code == 200


def _close(client, integration: dict[str, Any], sender: str = "grace-h"):
    """The provider's close of the ticket, sent by Grace (or the GitHub `sender`)."""
    provider, secret = integration["provider"], integration["secret"]
    if provider == "github":
        body = encode(github_issue("closed", sender=sender))
        headers = github_headers(secret, body)
    elif provider == "jira":
        payload = jira_issue_updated("CLIN-12", category="done", status="Done")
        payload["user"]["displayName"] = "Grace Hopper"
        body = encode(payload)
        headers = jira_headers(secret, body)
    else:
        body = encode(linear_issue_update("ENG-42", state_type="completed", state_name="Done"))
        headers = linear_headers(secret, body)
    return post_delivery(client, integration, body, headers)


def _comment(client, integration: dict[str, Any], text: str, author: str, action="created"):
    """A GitHub `issue_comment` event on the linked issue."""
    issue = github_issue("reopened")
    payload = {
        "action": action,
        "issue": issue["issue"],
        "comment": {
            "id": 2200000001,
            "html_url": "https://github.com/acme/app/issues/12#issuecomment-2200000001",
            "user": {"login": author, "id": 1, "type": "User"},
            "body": text,
            "created_at": "2026-03-02T09:15:27Z",
            "author_association": "MEMBER",
        },
        "repository": issue["repository"],
        "sender": {"login": author, "id": 1, "type": "User"},
    }
    body = encode(payload)
    headers = github_headers(integration["secret"], body, event="issue_comment")
    return post_delivery(client, integration, body, headers)


@pytest.mark.parametrize("provider", list(TICKETS))
def test_an_eligible_reviewer_closing_the_ticket_signs_the_item_off(api, client, clinic, provider):
    project, _, grace = clinic
    integration = _integration(api, provider)
    _link(api, project, provider)

    answer = _close(client, integration)

    assert answer.status_code == 200, answer.json
    (entry,) = answer.json["items"]
    assert (entry["status"], entry["held"], entry["signed_off_by"]) == ("done", False, grace["id"])
    item = api.get(item_path(project, PIA)).json
    assert (item["status"], item["signed_off_by"], item["signed_off_with"]) == (
        "done",
        grace["id"],
        integration["id"],
    )
    (event,) = events_of(
        api, f"/v1/projects/{project['id']}/events", type="checklist.item.status_changed"
    )
    assert (event["actor"], event["actor_person_id"]) == (
        f"integration:{integration['id']}",
        grace["id"],
    )
    assert event["payload"]["after"]["signed_off_by"] == grace["id"]
    assert event["payload"]["source"] == provider


def test_an_owner_closing_the_ticket_signs_nothing_and_the_delivery_says_why(api, client, clinic):
    project, _, _ = clinic
    integration = _integration(api, "github")
    _link(api, project, "github")

    answer = _close(client, integration, sender="ada-l")

    (entry,) = answer.json["items"]
    assert (entry["status"], entry["held"], entry["signed_off_by"]) == (
        "in_progress",
        True,
        None,
    )
    assert entry["needs"][0].startswith("Ada Lovelace, who sent it, cannot sign it off: ")
    assert "owns this item" in entry["needs"][0]
    assert entry["needs"][1] == "an independent sign-off by a Privacy Officer"
    assert api.get(item_path(project, PIA)).json["signed_off_by"] is None


def test_a_sender_who_is_nobody_of_the_team_signs_nothing(api, client, clinic):
    project, _, _ = clinic
    integration = _integration(api, "github")
    _link(api, project, "github")

    answer = _close(client, integration, sender="octocat")

    (entry,) = answer.json["items"]
    assert (entry["status"], entry["held"], entry["signed_off_by"]) == (
        "in_progress",
        True,
        None,
    )
    assert entry["needs"] == ["an independent sign-off by a Privacy Officer"]


def test_a_signoff_comment_by_the_reviewer_signs_the_item_off(api, client, clinic):
    project, _, grace = clinic
    integration = _integration(api, "github")
    _link(api, project, "github")

    answer = _comment(client, integration, "/signoff\nRead the DPIA v1; fine.", "GRACE-H")

    assert answer.status_code == 200, answer.json
    assert answer.json["event"] == "issue_comment.created"
    (entry,) = answer.json["items"]
    assert (entry["status"], entry["signed_off_by"]) == ("done", grace["id"])
    item = api.get(item_path(project, PIA)).json
    assert (item["status"], item["signed_off_by_name"]) == ("done", "Grace Hopper")
    assert "signed off in a comment (/signoff) by `GRACE-H`" in answer.json["detail"]


@pytest.mark.parametrize(
    ("text", "author", "action", "why"),
    [
        ("Looks fine to me", "grace-h", "created", "its first line is `/signoff`"),
        ("/signoff", "grace-h", "edited", "its first line is `/signoff`"),
        ("/signoff", "octocat", "created", "whom no person of the team has"),
    ],
)
def test_other_comments_change_nothing(api, client, clinic, text, author, action, why):
    project, _, _ = clinic
    integration = _integration(api, "github")
    _link(api, project, "github")
    before = api.get(item_path(project, PIA)).json

    answer = _comment(client, integration, text, author, action)

    assert answer.status_code == 202, answer.json
    assert answer.json["outcome"] == "ignored"
    assert why in answer.json["detail"]
    assert api.get(item_path(project, PIA)).json == before


def test_a_reviewers_close_without_evidence_is_held_for_the_evidence_alone(api, client, clinic):
    project, _, _ = clinic
    assert patch_item(api, project, PIA, {"evidence": {"remove": [EVIDENCE["add"][0]["url"]]}})
    integration = _integration(api, "github")
    _link(api, project, "github")

    answer = _close(client, integration)

    (entry,) = answer.json["items"]
    assert (entry["status"], entry["needs"]) == ("in_progress", ["evidence (at least one link)"])
    # A sign-off goes with done: none is kept on an item held in progress.
    assert api.get(item_path(project, PIA)).json["signed_off_by"] is None


def test_a_jira_delivery_authenticated_by_a_url_token_signs_nothing(api, client, clinic):
    """The token proves the delivery came through the URL, not that Jira sent it."""
    project, _, _ = clinic
    integration = create_integration(api, "jira", verification="token")
    _link(api, project, "jira")
    payload = jira_issue_updated("CLIN-12", category="done", status="Done")
    path = f"/v1/inbound/{integration['id']}"

    answer = client.post(
        path,
        data=encode(payload),
        headers={"Content-Type": "application/json"},
        query_string={"token": integration["secret"]},
    )

    (entry,) = answer.json["items"]
    assert (entry["status"], entry["signed_off_by"]) == ("in_progress", None)
    assert entry["needs"] == ["an independent sign-off by a Privacy Officer"]
