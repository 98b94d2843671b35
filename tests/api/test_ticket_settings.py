"""Native tickets' settings on an integration: GitHub's, Jira's and Linear's each of their own;
validated field by field;
the token is write-only, stored encrypted, and never in an answer or an event."""

from __future__ import annotations

import pytest
from factories import assert_problem, events_of
from sqlalchemy import text

from app.extensions import db
from app.models import Integration
from app.services.ticketing.token_box import decrypt_token

TOKEN = "github_pat_11AAAAAAA0secretvalue_abcdefghijklmnop"
TICKETS = {
    "repository": "acme/app",
    "token": TOKEN,
    "min_priority": "high",
    "kinds": ["responsibility", "mitigation"],
    "labels": ["checklist", "ai governance"],
}


def test_a_github_integration_takes_tickets_and_never_shows_the_token(api, app):
    response = api.post(
        "/v1/integrations", json={"provider": "github", "name": "acme/app", "tickets": TICKETS}
    )

    assert response.status_code == 201, response.json
    created = response.json
    assert created["tickets"] == {
        "repository": "acme/app",
        "min_priority": "high",
        "kinds": ["mitigation", "responsibility"],
        "phases": None,
        "labels": ["checklist", "ai governance"],
        "api_url": app.config["SETTINGS"].github_api_url,
    }
    assert TOKEN not in response.get_data(as_text=True)
    read = api.get(f"/v1/integrations/{created['id']}")
    assert read.json["tickets"] == created["tickets"]
    assert TOKEN not in read.get_data(as_text=True)
    assert TOKEN not in api.get("/v1/integrations").get_data(as_text=True)
    assert TOKEN not in str(events_of(api, type="integration.created"))
    with app.app_context():
        stored = db.session.get(Integration, created["id"])
        assert stored is not None and stored.tickets_token is not None
        assert TOKEN not in stored.tickets_token
        assert TOKEN not in str(stored.tickets)
        key = app.config["SETTINGS"].tickets_encryption_key
        assert decrypt_token(key, stored.tickets_token) == TOKEN
        db.session.rollback()


def test_an_integration_without_tickets_shows_none(api):
    created = api.post("/v1/integrations", json={"provider": "github", "name": "x"}).json

    assert created["tickets"] is None


@pytest.mark.parametrize(
    ("tickets", "field"),
    [
        ({**TICKETS, "repository": "acme"}, "tickets.repository"),
        ({**TICKETS, "repository": "acme/app/extra"}, "tickets.repository"),
        ({**TICKETS, "token": ""}, "tickets.token"),
        ({**TICKETS, "token": "has space"}, "tickets.token"),
        ({k: v for k, v in TICKETS.items() if k != "token"}, "tickets.token"),
        ({**TICKETS, "min_priority": "urgent"}, "tickets.min_priority"),
        ({k: v for k, v in TICKETS.items() if k != "min_priority"}, "tickets.min_priority"),
        ({**TICKETS, "kinds": ["chore"]}, "tickets.kinds"),
        ({**TICKETS, "phases": []}, "tickets.phases"),
        ({**TICKETS, "labels": ["a,b"]}, "tickets.labels"),
        ({**TICKETS, "surprise": 1}, "tickets.surprise"),
    ],
)
def test_bad_tickets_are_refused_naming_the_field(api, app, tickets, field):
    response = api.post(
        "/v1/integrations", json={"provider": "github", "name": "x", "tickets": tickets}
    )

    problem = assert_problem(response, 422)
    flat = _flatten(problem["errors"])
    assert any(name.startswith(field) for name in flat), problem
    assert TOKEN not in response.get_data(as_text=True)
    assert api.get("/v1/integrations").json["items"] == []


JIRA_TOKEN = "ATATT3xFfGF0settings_jira_api_token_value"
JIRA = {
    "site": "https://93.184.216.34",  # a literal public address: no DNS
    "project": "CLIN",
    "issue_type": "Task",
    "email": "bot@example.com",
    "token": JIRA_TOKEN,
    "min_priority": "high",
    "labels": ["checklist"],
}
LINEAR_TOKEN = "lin_api_settings_linear_key_value_0123"
LINEAR = {
    "team": "8c3f2a9e-1b4d-4e6f-9a7b-2c5d8e1f3a6b",
    "token": LINEAR_TOKEN,
    "min_priority": "high",
    "labels": ["ai governance"],
}


@pytest.mark.parametrize(
    ("provider", "tickets", "token", "api_url"),
    [
        ("jira", JIRA, JIRA_TOKEN, "https://93.184.216.34"),
        ("linear", LINEAR, LINEAR_TOKEN, None),
    ],
)
def test_jira_and_linear_integrations_take_tickets_of_their_own(
    api, app, provider, tickets, token, api_url
):
    response = api.post(
        "/v1/integrations", json={"provider": provider, "name": "x", "tickets": tickets}
    )

    assert response.status_code == 201, response.json
    shown = response.json["tickets"]
    assert shown == {
        **{k: v for k, v in tickets.items() if k != "token"},
        "kinds": None,
        "phases": None,
        "api_url": api_url or app.config["SETTINGS"].linear_api_url,
    }
    assert token not in response.get_data(as_text=True)
    assert token not in api.get(f"/v1/integrations/{response.json['id']}").get_data(as_text=True)
    assert token not in str(events_of(api, type="integration.created"))
    with app.app_context():
        stored = db.session.get(Integration, response.json["id"])
        assert stored is not None and stored.tickets_token is not None
        assert token not in stored.tickets_token
        key = app.config["SETTINGS"].tickets_encryption_key
        assert decrypt_token(key, stored.tickets_token) == token
        db.session.rollback()


@pytest.mark.parametrize(
    ("provider", "tickets", "field"),
    [
        # Another provider's `where`, or its own missing: each field named.
        ("jira", TICKETS, "tickets.repository"),
        ("jira", TICKETS, "tickets.site"),
        ("linear", TICKETS, "tickets.team"),
        ("github", JIRA, "tickets.site"),
        ("github", {**LINEAR}, "tickets.repository"),
        ("jira", {k: v for k, v in JIRA.items() if k != "email"}, "tickets.email"),
        ("jira", {**JIRA, "project": "clin"}, "tickets.project"),
        ("jira", {**JIRA, "site": "ftp://acme.example"}, "tickets.site"),
        # The webhooks' SSRF rules: no private address.
        ("jira", {**JIRA, "site": "http://127.0.0.1:9"}, "tickets.site"),
        ("jira", {**JIRA, "labels": ["ai governance"]}, "tickets.labels"),
        ("linear", {**LINEAR, "team": "ENG"}, "tickets.team"),
        ("generic", LINEAR, "tickets"),
    ],
)
def test_tickets_of_the_wrong_shape_are_refused_naming_the_field(api, provider, tickets, field):
    response = api.post(
        "/v1/integrations", json={"provider": provider, "name": "x", "tickets": tickets}
    )

    problem = assert_problem(response, 422)
    assert field in _flatten(problem["errors"]), problem
    assert tickets["token"] not in response.get_data(as_text=True)


def test_without_an_encryption_key_tickets_cannot_be_configured(api, app_with):
    keyless = app_with(tickets_encryption_key=None)
    client = keyless.test_client()
    headers = {"Authorization": f"Bearer {api.token}"}
    response = client.post(
        "/v1/integrations",
        json={"provider": "github", "name": "x", "tickets": TICKETS},
        headers=headers,
    )

    problem = assert_problem(response, 422)
    assert "TICKETS_ENCRYPTION_KEY" in problem["errors"]["tickets"][0]
    with keyless.app_context():
        assert db.session.execute(text("SELECT count(*) FROM integrations")).scalar() == 0


def _flatten(errors: object, prefix: str = "") -> set[str]:
    if isinstance(errors, dict):
        found: set[str] = set()
        for key, value in errors.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            found |= {name} | _flatten(value, name)
        return found
    return set()


def test_an_integration_s_tickets_are_listed_for_its_team_only(api, other_api):
    created = api.post(
        "/v1/integrations", json={"provider": "github", "name": "x", "tickets": TICKETS}
    ).json

    listed = api.get(f"/v1/integrations/{created['id']}/tickets")
    assert listed.status_code == 200, listed.json
    assert listed.json == {"items": [], "next_cursor": None}
    assert_problem(other_api.get(f"/v1/integrations/{created['id']}/tickets"), 404)
    assert_problem(api.get("/v1/integrations/int_nope/tickets"), 404)


NEW_TOKEN = "github_pat_11BBBBBBB0replacement_token_value_xyz"


def test_an_expired_token_is_replaced_and_never_shown(api, app):
    created = api.post(
        "/v1/integrations", json={"provider": "github", "name": "x", "tickets": TICKETS}
    )
    etag = created.headers["ETag"]

    response = api.patch(
        f"/v1/integrations/{created.json['id']}",
        json={"tickets": {"token": NEW_TOKEN}},
        headers={"If-Match": etag},
    )

    assert response.status_code == 200, response.json
    assert response.json["tickets"] == created.json["tickets"]
    assert response.headers["ETag"] != etag
    assert NEW_TOKEN not in response.get_data(as_text=True)
    updated = events_of(api, type="integration.updated")
    assert len(updated) == 1 and updated[0]["payload"]["token_replaced"] is True
    assert NEW_TOKEN not in str(updated) and TOKEN not in str(updated)
    with app.app_context():
        stored = db.session.get(Integration, created.json["id"])
        assert stored is not None and stored.tickets_token is not None
        key = app.config["SETTINGS"].tickets_encryption_key
        assert decrypt_token(key, stored.tickets_token) == NEW_TOKEN
        db.session.rollback()
    # The ETag it was given is stale now.
    stale = api.patch(
        f"/v1/integrations/{created.json['id']}",
        json={"tickets": {"token": TOKEN}},
        headers={"If-Match": etag},
    )
    assert_problem(stale, 412)


def test_tickets_fields_are_replaced_one_by_one(api):
    created = api.post(
        "/v1/integrations", json={"provider": "jira", "name": "x", "tickets": JIRA}
    ).json

    response = api.patch(
        f"/v1/integrations/{created['id']}",
        json={"tickets": {"project": "OPS", "min_priority": "critical"}},
    )

    assert response.status_code == 200, response.json
    assert response.json["tickets"] == {
        **created["tickets"],
        "project": "OPS",
        "min_priority": "critical",
    }


def test_an_integration_without_tickets_gets_them_whole_or_not_at_all(api):
    created = api.post("/v1/integrations", json={"provider": "linear", "name": "x"}).json

    partial = api.patch(f"/v1/integrations/{created['id']}", json={"tickets": {"token": "k"}})
    problem = assert_problem(partial, 422)
    assert {"tickets.team", "tickets.min_priority"} <= _flatten(problem["errors"]), problem
    assert api.get(f"/v1/integrations/{created['id']}").json["tickets"] is None

    whole = api.patch(f"/v1/integrations/{created['id']}", json={"tickets": LINEAR})
    assert whole.status_code == 200, whole.json
    assert whole.json["tickets"]["team"] == LINEAR["team"]


@pytest.mark.parametrize(
    ("provider", "tickets", "field"),
    [
        ("generic", {"token": "abc"}, "tickets"),
        ("github", {"site": "https://93.184.216.34"}, "tickets.site"),
        ("github", {"repository": "nope"}, "tickets.repository"),
        ("github", {}, None),
    ],
)
def test_bad_replacements_are_refused_naming_the_field(api, provider, tickets, field):
    body = {"provider": provider, "name": "x"}
    if provider == "github":
        body["tickets"] = TICKETS
    created = api.post("/v1/integrations", json=body).json

    response = api.patch(f"/v1/integrations/{created['id']}", json={"tickets": tickets})

    if field is None:  # nothing to replace: the same settings, answered as they are
        assert response.status_code == 200, response.json
        return
    problem = assert_problem(response, 422)
    assert field in _flatten(problem["errors"]), problem


def test_another_team_s_integration_cannot_be_patched(api, other_api):
    created = api.post(
        "/v1/integrations", json={"provider": "github", "name": "x", "tickets": TICKETS}
    ).json

    response = other_api.patch(
        f"/v1/integrations/{created['id']}", json={"tickets": {"token": NEW_TOKEN}}
    )

    assert_problem(response, 404)
