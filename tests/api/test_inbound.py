"""Ticketing systems close the loop: deliveries of GitHub, Jira, Linear and a Standard Webhooks
sender, signed their way, posted to the inbound URL, move the linked items, once."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
from checklist_support import in_days, item_path, patch_item
from factories import assert_problem, event_count, events_of
from sqlalchemy import select
from ticketing_support import (
    create_integration,
    encode,
    generic_headers,
    github_headers,
    github_issue,
    github_ping,
    hex_hmac,
    jira_headers,
    jira_issue_updated,
    linear_headers,
    linear_issue_update,
    post_delivery,
    project_with_checklist,
)

from app.extensions import db
from app.models import WebhookDelivery

KEY = "data-scientist.collect-and-preprocess-data"
OTHER_KEY = "data-scientist.evaluate-model-performance"


@pytest.fixture
def project(api) -> dict[str, Any]:
    return project_with_checklist(api, name="Clinic notes", slug="clinic-notes")


def link(api, project, ticket: dict[str, Any], key: str = KEY) -> dict[str, Any]:
    response = patch_item(api, project, key, {"ticket": ticket})
    assert response.status_code == 200, response.json
    return response.json


def item(api, project, key: str = KEY) -> Any:
    response = api.get(item_path(project, key))
    assert response.status_code == 200, response.json
    return response


def github_delivery(client, integration, payload, **headers: Any):
    body = encode(payload)
    sent = github_headers(integration["secret"], body, **headers)
    return post_delivery(client, integration, body, sent)


# --------------------------------------------------------------------------- GitHub


def test_a_github_issue_closed_as_completed_marks_its_item_done(api, client, project):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})
    etag = item(api, project).headers["ETag"]

    response = github_delivery(client, integration, github_issue("closed"))

    assert response.status_code == 200, response.json
    assert response.json["outcome"] == "applied"
    assert response.json["duplicate"] is False
    assert response.json["items"][0]["changes"] == {
        "status": ["open", "done"],
        "ticket": [
            {"system": "github", "key": "acme/app#12"},
            {
                "system": "github",
                "key": "acme/app#12",
                "url": "https://github.com/acme/app/issues/12",
            },
        ],
    }
    assert response.json["detail"] == (
        "GitHub issue acme/app#12 was closed as completed by `octocat`: 1 item(s) now done; the "
        "ticket's URL recorded on 1 item(s)."
    )
    now = item(api, project)
    assert now.json["status"] == "done"
    assert now.headers["ETag"] != etag
    event = events_of(api, type="checklist.item.status_changed")[0]
    assert event["actor"] == f"integration:{integration['id']}"
    assert event["payload"]["source"] == "github"
    assert (
        event["payload"]["reason"]
        == "GitHub issue acme/app#12 was closed as completed by `octocat`"
    )
    assert event["payload"]["after"]["status"] == "done"
    assert event["request_id"] == response.json["request_id"]


def test_an_older_github_payload_without_state_reason_means_completed(api, client, project):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})

    response = github_delivery(client, integration, github_issue("closed", legacy=True))

    assert response.status_code == 200, response.json
    assert item(api, project).json["status"] == "done"


def test_closed_as_not_planned_waives_the_item_saying_so(api, client, project):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})

    response = github_delivery(
        client, integration, github_issue("closed", state_reason="not_planned")
    )

    assert response.status_code == 200, response.json
    waived = item(api, project).json
    assert waived["status"] == "waived"
    assert waived["waiver"]["reason"] == (
        "GitHub issue acme/app#12 was closed as not planned by `octocat`"
    )
    # A ticketing system asks for the waiver; it cannot approve it as a person would.
    assert waived["waiver"]["requested_by"] == "octocat (GitHub)"
    assert waived["waiver"]["approved_by"] is None


def test_a_reopened_issue_reopens_its_item(api, client, project):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})
    github_delivery(client, integration, github_issue("closed", state_reason="not_planned"))

    response = github_delivery(client, integration, github_issue("reopened"))

    assert response.status_code == 200, response.json
    reopened = item(api, project).json
    assert reopened["status"] == "open"
    assert reopened["waiver"] is None


def test_keys_match_whatever_the_case_github_writes_the_repository_in(api, client, project):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "Acme/App#12"})

    github_delivery(client, integration, github_issue("closed", repo="acme/app"))

    assert item(api, project).json["status"] == "done"


def test_every_item_linked_to_the_ticket_follows_it(api, client, project):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})
    link(api, project, {"system": "github", "key": "acme/app#12"}, key=OTHER_KEY)

    response = github_delivery(client, integration, github_issue("closed"))

    assert {i["key"] for i in response.json["items"]} == {KEY, OTHER_KEY}
    assert item(api, project, KEY).json["status"] == "done"
    assert item(api, project, OTHER_KEY).json["status"] == "done"


@pytest.mark.parametrize("action", ["deleted", "transferred"])
def test_a_deleted_or_transferred_issue_unlinks_its_item_with_an_event(
    api, client, project, action
):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})

    response = github_delivery(client, integration, github_issue(action))

    assert response.status_code == 200, response.json
    unlinked = item(api, project).json
    assert unlinked["ticket"] is None
    assert unlinked["status"] == "open"
    event = events_of(api, type="checklist.item.ticket_linked")[0]
    assert event["payload"]["after"]["ticket"] is None
    assert event["payload"]["source"] == "github"
    assert action in event["payload"]["reason"]


def test_an_unlinked_ticket_finds_its_item_by_the_marker_line_and_links_it(api, client, project):
    integration = create_integration(api, "github")
    text = f"Collect the data.\n\nchecklist-item: clinic-notes/{KEY}"

    response = github_delivery(client, integration, github_issue("closed", body=text))

    assert response.status_code == 200, response.json
    assert response.json["items"][0]["changes"]["ticket"][1]["key"] == "acme/app#12"
    now = item(api, project).json
    assert now["status"] == "done"
    assert now["ticket"] == {
        "system": "github",
        "key": "acme/app#12",
        "url": "https://github.com/acme/app/issues/12",
    }
    types = [e["type"] for e in events_of(api)[:2]]
    assert set(types) == {"checklist.item.status_changed", "checklist.item.ticket_linked"}


def test_the_marker_of_our_own_ticket_text_is_found(api, client, project):
    """The ticket text of an item event, posted as the issue body as a bridge would."""
    integration = create_integration(api, "github")
    patch_item(api, project, KEY, {"status": "in_progress"})
    text = events_of(api, type="checklist.item.status_changed")[0]["payload"]["ticket"]["body"]

    github_delivery(client, integration, github_issue("closed", body=text))

    assert item(api, project).json["status"] == "done"


def test_a_marker_does_not_steal_an_item_linked_to_another_ticket(api, client, project):
    integration = create_integration(api, "github")
    link(api, project, {"system": "jira", "key": "CLIN-1"})
    text = f"checklist-item: clinic-notes/{KEY}"

    response = github_delivery(client, integration, github_issue("closed", body=text))

    assert response.status_code == 202
    assert response.json["outcome"] == "no_item"
    assert "linked to jira CLIN-1" in response.json["detail"]
    assert item(api, project).json["status"] == "open"


def test_a_ticket_linked_to_no_item_is_accepted_and_recorded(api, client, project, app):
    integration = create_integration(api, "github")
    before = event_count(app)

    response = github_delivery(client, integration, github_issue("closed", number=999))

    assert response.status_code == 202
    assert response.json["outcome"] == "no_item"
    assert event_count(app) == before
    listed = api.get(f"/v1/integrations/{integration['id']}/deliveries").json["items"]
    assert [d["id"] for d in listed] == [response.json["id"]]
    assert listed[0]["ticket"]["key"] == "acme/app#999"


def test_events_we_do_not_handle_are_accepted_and_recorded(api, client, project):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})

    labeled = github_delivery(client, integration, github_issue("labeled"))
    pushed = github_delivery(client, integration, {"ref": "refs/heads/main"}, event="push")

    assert (labeled.status_code, labeled.json["outcome"]) == (202, "ignored")
    assert (pushed.status_code, pushed.json["event"]) == (202, "push")
    assert item(api, project).json["status"] == "open"


def test_github_ping_is_answered(api, client):
    integration = create_integration(api, "github")

    response = github_delivery(client, integration, github_ping(), event="ping")

    assert response.status_code == 200
    assert response.json["outcome"] == "ping"


def test_a_redelivery_changes_nothing_and_is_answered_200(api, client, project, app):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})
    body = encode(github_issue("closed"))
    headers = github_headers(integration["secret"], body, delivery="72d3162e-cc78-11e3-81ab")
    first = post_delivery(client, integration, body, headers)
    patch_item(api, project, KEY, {"status": "in_progress"})  # someone reopens it meanwhile
    events = event_count(app)

    again = post_delivery(client, integration, body, headers)

    assert again.status_code == 200
    assert again.json["duplicate"] is True
    assert again.json["id"] == first.json["id"]
    assert event_count(app) == events
    assert item(api, project).json["status"] == "in_progress"
    assert len(api.get(f"/v1/integrations/{integration['id']}/deliveries").json["items"]) == 1


def test_github_form_encoded_deliveries_are_read_too(api, client, project):
    """GitHub's default content type is application/x-www-form-urlencoded: `payload=<json>`."""
    from urllib.parse import urlencode

    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})
    body = urlencode({"payload": json.dumps(github_issue("closed"))}).encode()
    headers = {
        **github_headers(integration["secret"], body),
        "Content-Type": "application/x-www-form-urlencoded",
    }

    response = post_delivery(client, integration, body, headers)

    assert response.status_code == 200, response.json
    assert item(api, project).json["status"] == "done"


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "sha256=" + "0" * 64,
        "sha256=zz",
        "sha1=" + "0" * 40,
        "sha256=" + "é" * 64,
        "",
    ],
    ids=["missing", "wrong", "malformed", "sha1", "non-ascii", "empty"],
)
def test_a_bad_or_missing_signature_is_401_and_changes_nothing(
    api, client, project, app, signature
):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})
    body = encode(github_issue("closed"))
    headers = github_headers(integration["secret"], body)
    headers.pop("X-Hub-Signature-256")
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    events = event_count(app)

    response = post_delivery(client, integration, body, headers)

    problem = assert_problem(response, 401)
    assert "X-Hub-Signature-256" in problem["detail"]
    assert response.headers["WWW-Authenticate"]
    assert event_count(app) == events
    assert item(api, project).json["status"] == "open"
    assert api.get(f"/v1/integrations/{integration['id']}/deliveries").json["items"] == []


def test_a_body_changed_after_signing_is_refused(api, client):
    integration = create_integration(api, "github")
    body = encode(github_issue("closed"))
    headers = github_headers(integration["secret"], body)

    response = post_delivery(
        client, integration, body.replace(b'"number": 12', b'"number": 13'), headers
    )

    assert_problem(response, 401)


def test_the_signature_is_checked_before_the_body_is_read(api, client):
    """Garbage that is not signed is a 401, not a 400: nothing unauthenticated is parsed."""
    integration = create_integration(api, "github")

    response = post_delivery(
        client, integration, b"{not json", {"Content-Type": "application/json"}
    )

    assert_problem(response, 401)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b"\xff\xfe", b'{"action": NaN}'],
    ids=["syntax", "not-an-object", "not-utf8", "nan"],
)
def test_a_signed_malformed_body_is_400(api, client, body):
    integration = create_integration(api, "github")

    response = post_delivery(client, integration, body, github_headers(integration["secret"], body))

    assert_problem(response, 400)


def test_a_signed_issues_event_without_its_issue_is_400(api, client):
    integration = create_integration(api, "github")
    payload = github_issue("closed")
    del payload["issue"]["number"]

    response = github_delivery(client, integration, payload)

    assert_problem(response, 400)


def test_another_teams_integration_id_is_refused_401_and_touches_nothing(
    api, other_api, client, project, app
):
    """Team B posts to team A's integration, signing with its own secret: 401."""
    theirs = create_integration(api, "github")
    mine = create_integration(other_api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})
    body = encode(github_issue("closed"))
    events = event_count(app)

    response = post_delivery(client, theirs, body, github_headers(mine["secret"], body))

    assert_problem(response, 401)
    assert event_count(app) == events
    assert item(api, project).json["status"] == "open"


def test_an_unknown_integration_id_is_404(api, client):
    body = encode(github_issue("closed"))
    headers = github_headers("whatever-secret-value", body)

    response = client.post("/v1/inbound/int_nosuchintegration", data=body, headers=headers)

    assert_problem(response, 404)


def test_a_deleted_integration_answers_404(api, client):
    integration = create_integration(api, "github")
    api.delete(f"/v1/integrations/{integration['id']}")

    response = github_delivery(client, integration, github_issue("closed"))

    assert_problem(response, 404)


def test_inbound_deliveries_need_no_api_key_and_ignore_one(api, client, project):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})
    body = encode(github_issue("closed"))
    headers = {**github_headers(integration["secret"], body), "Authorization": "Bearer nonsense"}

    response = post_delivery(client, integration, body, headers)

    assert response.status_code == 200, response.json
    assert response.json["outcome"] == "applied"
    assert item(api, project).json["status"] == "done"


def test_a_body_over_the_limit_is_413(api, client, app):
    integration = create_integration(api, "github")
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = b'{"pad": "' + b"x" * limit + b'"}'

    response = post_delivery(client, integration, body, github_headers(integration["secret"], body))

    assert_problem(response, 413)


def test_an_integration_scoped_to_a_project_leaves_other_projects_alone(api, client, project):
    other = project_with_checklist(api, name="Other")
    integration = create_integration(api, "github", project_id=other["id"])
    link(api, project, {"system": "github", "key": "acme/app#12"})

    response = github_delivery(client, integration, github_issue("closed"))

    assert (response.status_code, response.json["outcome"]) == (202, "no_item")
    assert item(api, project).json["status"] == "open"
    # The other project's own item of that key is not linked to the ticket: untouched too.
    assert item(api, other).json["status"] == "open"


def test_a_state_mapped_to_ignore_changes_nothing(api, client, project):
    integration = create_integration(api, "github", status_map={"not_planned": "ignore"})
    link(api, project, {"system": "github", "key": "acme/app#12"})

    response = github_delivery(
        client, integration, github_issue("closed", state_reason="not_planned")
    )

    assert (response.status_code, response.json["outcome"]) == (202, "ignored")
    assert item(api, project).json["status"] == "open"


# --------------------------------------------------------------------------- the outbox


def test_the_inbound_change_fires_the_outgoing_webhook(api, client, project, app):
    endpoint = api.post(
        "/v1/webhooks",
        json={"url": "https://93.184.216.34/hooks", "event_types": ["checklist.item.*"]},
    )
    assert endpoint.status_code == 201, endpoint.json
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})

    github_delivery(client, integration, github_issue("closed"))

    with app.app_context():
        deliveries = db.session.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.endpoint_id == endpoint.json["id"],
                WebhookDelivery.event_type == "checklist.item.status_changed",
            )
        ).all()
    assert len(deliveries) == 1
    sent = json.loads(deliveries[0].body)
    assert sent["data"]["source"] == "github"
    assert sent["data"]["after"]["status"] == "done"
    assert sent["data"]["item"]["key"] == KEY


# --------------------------------------------------------------------------- Jira


def jira_delivery(client, integration, payload, identifier: str | None = None):
    body = encode(payload)
    headers = jira_headers(integration["secret"], body, identifier)
    return post_delivery(client, integration, body, headers)


@pytest.mark.parametrize(
    ("category", "status", "expected"),
    [
        ("done", "Shipped to prod", "done"),
        ("indeterminate", "In Review", "in_progress"),
        ("new", "Backlog", "open"),
    ],
)
def test_jira_maps_by_status_category_never_by_status_name(
    api, client, project, category, status, expected
):
    integration = create_integration(api, "jira")
    link(api, project, {"system": "jira", "key": "CLIN-12"})
    waiver = {"reason": "Waived for the inbound test", "expires_on": in_days(30)}
    assert patch_item(api, project, KEY, {"status": "waived", "waiver": waiver}).status_code == 200

    response = jira_delivery(
        client, integration, jira_issue_updated("CLIN-12", category=category, status=status)
    )

    assert response.status_code == 200, response.json
    assert f": 1 item(s) now {expected}; the ticket's URL recorded" in response.json["detail"]
    assert item(api, project).json["status"] == expected
    event = events_of(api, type="checklist.item.status_changed")[0]
    assert event["payload"]["source"] == "jira"
    assert f"moved to {status} ({category})" in event["payload"]["reason"]


def test_a_jira_update_without_a_status_change_is_ignored(api, client, project):
    integration = create_integration(api, "jira")
    link(api, project, {"system": "jira", "key": "CLIN-12"})

    response = jira_delivery(
        client,
        integration,
        jira_issue_updated("CLIN-12", category="done", status="Done", status_changed=False),
    )

    assert (response.status_code, response.json["outcome"]) == (202, "ignored")
    assert item(api, project).json["status"] == "open"


def test_a_jira_issue_finds_its_item_by_the_marker_in_an_atlassian_document(api, client, project):
    integration = create_integration(api, "jira")
    description = {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Collect the data."}]},
            {
                "type": "paragraph",
                "content": [{"type": "text", "text": f"checklist-item: clinic-notes/{KEY}"}],
            },
        ],
    }

    response = jira_delivery(
        client,
        integration,
        jira_issue_updated("CLIN-12", category="done", status="Done", description=description),
    )

    assert response.status_code == 200, response.json
    now = item(api, project).json
    assert now["status"] == "done"
    assert now["ticket"]["url"] == "https://acme.atlassian.net/browse/CLIN-12"


def test_jira_redeliveries_are_recognised_by_their_identifier(api, client, project, app):
    integration = create_integration(api, "jira")
    link(api, project, {"system": "jira", "key": "CLIN-12"})
    payload = jira_issue_updated("CLIN-12", category="done", status="Done")
    jira_delivery(client, integration, payload, identifier="8b3f1c2d")
    patch_item(api, project, KEY, {"status": "open"})

    again = jira_delivery(client, integration, payload, identifier="8b3f1c2d")

    assert (again.status_code, again.json["duplicate"]) == (200, True)
    assert item(api, project).json["status"] == "open"


def test_jira_token_verification_takes_the_secret_in_the_url(api, client, project):
    integration = create_integration(api, "jira", verification="token")
    link(api, project, {"system": "jira", "key": "CLIN-12"})
    body = encode(jira_issue_updated("CLIN-12", category="done", status="Done"))
    headers = {"Content-Type": "application/json"}
    path = f"/v1/inbound/{integration['id']}"

    refused = client.post(path, data=body, headers=headers, query_string={"token": "nope"})
    missing = client.post(path, data=body, headers=headers)
    accepted = client.post(
        path, data=body, headers=headers, query_string={"token": integration["secret"]}
    )

    assert_problem(refused, 401)
    assert_problem(missing, 401)
    assert accepted.status_code == 200, accepted.json
    assert item(api, project).json["status"] == "done"


def test_a_signing_jira_integration_refuses_a_token(api, client):
    integration = create_integration(api, "jira")
    body = encode(jira_issue_updated("CLIN-12", category="done", status="Done"))

    response = client.post(
        f"/v1/inbound/{integration['id']}",
        data=body,
        headers={"Content-Type": "application/json"},
        query_string={"token": integration["secret"]},
    )

    assert_problem(response, 401)


# --------------------------------------------------------------------------- Linear


def linear_delivery(client, integration, payload, delivery: str | None = None):
    body = encode(payload)
    return post_delivery(
        client, integration, body, linear_headers(integration["secret"], body, delivery)
    )


@pytest.mark.parametrize(
    ("state_type", "name", "expected"),
    [
        ("completed", "Done", "done"),
        ("canceled", "Canceled", "waived"),
        ("started", "In Progress", "in_progress"),
        ("backlog", "Backlog", "open"),
    ],
)
def test_linear_maps_by_state_type(api, client, project, state_type, name, expected):
    integration = create_integration(api, "linear", secret="lin_wh_" + "a1b2c3d4" * 6)
    link(api, project, {"system": "linear", "key": "ENG-42"})
    if expected == "open":
        patch_item(api, project, KEY, {"status": "in_progress"})

    response = linear_delivery(
        client, integration, linear_issue_update("ENG-42", state_type=state_type, state_name=name)
    )

    assert response.status_code == 200, response.json
    now = item(api, project).json
    assert now["status"] == expected
    if expected == "waived":
        assert now["waiver"]["reason"] == (
            "Linear issue ENG-42 moved to Canceled (canceled) by Grace Hopper"
        )


def test_a_stale_linear_timestamp_is_refused(api, client, project):
    integration = create_integration(api, "linear")
    link(api, project, {"system": "linear", "key": "ENG-42"})
    an_hour_ago = int((time.time() - 3600) * 1000)
    payload = linear_issue_update(
        "ENG-42", state_type="completed", state_name="Done", timestamp_ms=an_hour_ago
    )

    response = linear_delivery(client, integration, payload)

    problem = assert_problem(response, 401)
    assert "webhookTimestamp" in problem["detail"]
    assert item(api, project).json["status"] == "open"


def test_a_linear_update_without_a_state_change_is_ignored(api, client, project):
    integration = create_integration(api, "linear")
    link(api, project, {"system": "linear", "key": "ENG-42"})

    response = linear_delivery(
        client,
        integration,
        linear_issue_update(
            "ENG-42", state_type="completed", state_name="Done", state_changed=False
        ),
    )

    assert (response.status_code, response.json["outcome"]) == (202, "ignored")
    assert item(api, project).json["status"] == "open"


def test_linear_redeliveries_are_recognised(api, client, project, app):
    integration = create_integration(api, "linear")
    link(api, project, {"system": "linear", "key": "ENG-42"})
    payload = linear_issue_update("ENG-42", state_type="completed", state_name="Done")
    first = linear_delivery(client, integration, payload, delivery="d7a1")
    patch_item(api, project, KEY, {"status": "open"})  # someone reopens it meanwhile
    events = event_count(app)

    again = linear_delivery(client, integration, payload, delivery="d7a1")

    assert (again.status_code, again.json["duplicate"]) == (200, True)
    assert again.json["id"] == first.json["id"]
    assert item(api, project).json["status"] == "open"
    assert event_count(app) == events


def test_a_bad_linear_signature_is_401(api, client):
    integration = create_integration(api, "linear")
    body = encode(linear_issue_update("ENG-42", state_type="completed", state_name="Done"))
    headers = linear_headers("some-other-secret-value", body)

    assert_problem(post_delivery(client, integration, body, headers), 401)


# --------------------------------------------------------------------------- generic


def test_a_standard_webhooks_delivery_sets_the_status(api, client, project):
    integration = create_integration(api, "generic")
    link(api, project, {"system": "other", "key": "OPS-7"})
    body = encode({"ticket": {"system": "other", "key": "OPS-7", "status": "in_progress"}})

    response = post_delivery(
        client, integration, body, generic_headers(integration["secret"], body)
    )

    assert response.status_code == 200, response.json
    assert (
        response.json["detail"]
        == "Ticket OPS-7 (other) moved to in_progress: 1 item(s) now in_progress."
    )
    assert item(api, project).json["status"] == "in_progress"
    event = events_of(api, type="checklist.item.status_changed")[0]["payload"]
    assert (event["source"], event["reason"]) == (
        "generic",
        "Ticket OPS-7 (other) moved to in_progress",
    )


def test_generic_status_overrides_map_the_senders_words(api, client, project):
    integration = create_integration(api, "generic", status_map={"resolved": "done"})
    link(api, project, {"system": "other", "key": "OPS-7"})
    body = encode({"ticket": {"system": "other", "key": "OPS-7", "status": "resolved"}})

    response = post_delivery(
        client, integration, body, generic_headers(integration["secret"], body)
    )

    assert response.status_code == 200, response.json
    assert item(api, project).json["status"] == "done"


@pytest.mark.parametrize(
    "headers",
    [
        {"webhook-signature": "v1,garbage"},
        {"webhook-signature": "not-even-versioned"},
        {"webhook-timestamp": "soon"},
        {"webhook-timestamp": str(int(time.time()) - 3600)},
        {"webhook-id": ""},
    ],
    ids=["bad-signature", "malformed-signature", "malformed-timestamp", "stale", "no-id"],
)
def test_bad_standard_webhooks_headers_are_401(api, client, headers):
    integration = create_integration(api, "generic")
    body = encode({"ticket": {"system": "other", "key": "OPS-7", "status": "done"}})
    sent = {**generic_headers(integration["secret"], body), **headers}

    assert_problem(post_delivery(client, integration, body, sent), 401)


def test_a_generic_body_without_a_ticket_is_400(api, client):
    integration = create_integration(api, "generic")
    body = encode({"type": "ticket.updated", "data": {}})

    response = post_delivery(
        client, integration, body, generic_headers(integration["secret"], body)
    )

    assert_problem(response, 400)


# --------------------------------------------------------------------------- rotation


def test_after_a_rotation_both_secrets_verify_during_the_grace_period(api, client, project):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})
    rotated = api.post(f"/v1/integrations/{integration['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.json
    body = encode(github_issue("closed"))

    old = post_delivery(client, integration, body, github_headers(integration["secret"], body))
    new = post_delivery(
        client,
        integration,
        body,
        {
            **github_headers(integration["secret"], body),
            "X-Hub-Signature-256": "sha256=" + hex_hmac(rotated.json["secret"], body),
        },
    )

    assert old.status_code == 200, old.json
    assert new.status_code == 200, new.json
    # Two deliveries (each its own id): the first closes the item, the second finds it so.
    assert old.json["detail"].endswith(
        ": 1 item(s) now done; the ticket's URL recorded on 1 item(s)."
    )
    assert new.json["outcome"] == "unchanged"
    assert new.json["detail"].endswith(": 1 item(s) already done.")
    assert item(api, project).json["status"] == "done"


# --------------------------------------------------------------------------- at once


def _at_once(app, deliveries):
    """POST `(path, body, headers)` deliveries together, each from its own client and thread."""
    barrier = Barrier(len(deliveries))

    def send(delivery):
        path, body, headers = delivery
        client = app.test_client()
        barrier.wait()
        return client.post(path, data=body, headers=headers)

    with ThreadPoolExecutor(len(deliveries)) as pool:
        return list(pool.map(send, deliveries))


def test_a_delivery_and_its_redeliveries_racing_change_the_item_once(app, api, project):
    integration = create_integration(api, "github")
    link(api, project, {"system": "github", "key": "acme/app#12"})
    body = encode(github_issue("closed"))
    headers = github_headers(integration["secret"], body, delivery="raced-delivery")
    path = f"/v1/inbound/{integration['id']}"

    responses = _at_once(app, [(path, body, headers)] * 4)

    assert [r.status_code for r in responses] == [200] * 4, [r.json for r in responses]
    assert sum(r.json["duplicate"] is False for r in responses) == 1
    assert len({r.json["id"] for r in responses}) == 1
    assert len(events_of(api, type="checklist.item.status_changed")) == 1
    assert item(api, project).json["status"] == "done"


def test_deliveries_of_several_tickets_at_once_all_apply(app, api, project):
    integration = create_integration(api, "github")
    keys = [KEY, OTHER_KEY, "data-scientist.develop-algorithms-and-models"]
    for number, key in enumerate(keys, start=1):
        link(api, project, {"system": "github", "key": f"acme/app#{number}"}, key=key)
    path = f"/v1/inbound/{integration['id']}"
    deliveries = []
    for number in range(1, len(keys) + 1):
        body = encode(github_issue("closed", number=number))
        deliveries.append((path, body, github_headers(integration["secret"], body)))

    responses = _at_once(app, deliveries)

    assert [r.status_code for r in responses] == [200] * len(keys)
    assert all(item(api, project, key).json["status"] == "done" for key in keys)
