"""Every failure a client can cause is an RFC 9457 problem that says what to fix, never a 500."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from factories import (
    assert_problem,
    create_person,
    create_project,
    event_count,
    events_of,
    person_body,
)
from flask import Flask

from app import create_app
from app.config import Settings
from app.extensions import db

CLOSED_PORT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/none"


@contextmanager
def _app_with(database_url: str, **settings: object) -> Iterator[Flask]:
    """A second application with other settings, its connections closed afterwards."""
    config = dataclasses.replace(Settings.from_env(), database_url=database_url, **settings)
    other = create_app(config, {"TESTING": True})
    yield other
    with other.app_context():
        db.engine.dispose()


def test_a_body_that_is_not_json_is_a_400(api):
    response = api.post(
        "/v1/people", data='{"name": "Ada", "email":', content_type="application/json"
    )

    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]


def test_a_request_without_a_key_is_a_401_that_says_how_to_authenticate(client):
    response = client.get("/v1/people")

    body = assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in body["detail"]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer sck_not-a-real-key", "Basic YWRhOnNlY3JldA==", "Bearer ", "sck_without-scheme"],
)
def test_a_bad_key_is_a_401(client, api, authorization):
    response = client.get("/v1/people", headers={"Authorization": authorization})

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_is_a_401(api, runner):
    (created,) = events_of(api, type="api_key.created")
    assert api.get("/v1/people").status_code == 200

    runner.invoke(args=["keys", "revoke", created["payload"]["api_key"]["id"]])

    body = assert_problem(api.get("/v1/people"), 401)
    assert "revoked" in body["detail"]
    assert api.get("/v1/people").headers["WWW-Authenticate"].startswith("Bearer")


def test_a_read_only_key_that_writes_is_a_403(make_api):
    reader = make_api(scopes=("read",))

    body = assert_problem(reader.post("/v1/people", json=person_body()), 403)

    assert "write" in body["detail"]


def test_something_that_does_not_exist_is_a_404(api):
    assert_problem(api.get("/v1/people/per_nobody"), 404)
    assert_problem(api.get("/v1/projects/no-such-project"), 404)
    assert_problem(api.get("/v1/no-such-resource"), 404)


def test_a_method_a_resource_does_not_have_is_a_405_listing_those_it_has(api):
    project = create_project(api)

    response = api.put(f"/v1/projects/{project['id']}", json={"name": "x"})

    assert_problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}


def test_a_duplicate_is_a_409(api):
    create_person(api, email="ada@example.com")

    body = assert_problem(api.post("/v1/people", json=person_body(email="ada@example.com")), 409)

    assert "ada@example.com" in body["detail"]


def test_a_stale_if_match_is_a_412(api):
    person = create_person(api)
    stale = api.get(f"/v1/people/{person['id']}").headers["ETag"]
    api.patch(f"/v1/people/{person['id']}", json={"name": "Renamed"})

    response = api.patch(
        f"/v1/people/{person['id']}", json={"name": "Lost update"}, headers={"If-Match": stale}
    )

    assert_problem(response, 412)


def test_a_body_over_the_limit_is_a_413(api):
    huge = {"name": "Ada", "email": "ada@example.com", "notes": "x" * 300_000}

    body = assert_problem(api.post("/v1/people", json=huge), 413)

    assert str(256 * 1024) in body["detail"]


def test_the_body_limit_is_a_setting(app, api):
    with _app_with(app.config["SQLALCHEMY_DATABASE_URI"], max_body_bytes=100) as small:
        response = small.test_client().post(
            "/v1/people",
            json=person_body(name="n" * 100),
            headers={"Authorization": f"Bearer {api.token}"},
        )

    body = assert_problem(response, 413)
    assert "100 bytes" in body["detail"]


def test_a_form_encoded_body_is_a_415(api):
    response = api.post("/v1/people", data={"name": "Ada", "email": "ada@example.com"})

    body = assert_problem(response, 415)
    assert "application/json" in body["detail"]


def test_a_validation_failure_is_a_422_naming_each_bad_field_and_unknown_ones(app, api):
    before = event_count(app)

    response = api.post(
        "/v1/people",
        json={"name": "", "email": "not-an-email", "handles": {"github": "-bad-"}, "age": 36},
    )

    body = assert_problem(response, 422)
    assert set(body["errors"]) == {"name", "email", "handles.github", "age"}
    assert body["errors"]["age"] == ["Unknown field."]
    assert event_count(app) == before


def test_a_missing_required_field_is_named(api):
    body = assert_problem(api.post("/v1/projects", json={"name": "Helper"}), 422)

    assert body["errors"] == {"application": ["Missing data for required field."]}


@pytest.mark.parametrize("path", ["/v1/people", "/readyz"])
def test_a_database_that_is_down_is_a_503_without_a_stack_trace(path):
    with _app_with(CLOSED_PORT_DATABASE) as down:
        response = down.test_client().get(path, headers={"Authorization": "Bearer sck_any"})

    body = assert_problem(response, 503)
    # The database's own advice, not stretched to the rate limiter's window.
    assert response.headers["Retry-After"] == "5"
    assert "psycopg" not in response.get_data(as_text=True)
    assert "database" in body["detail"].lower()


def test_a_write_while_the_database_is_down_is_a_503():
    with _app_with(CLOSED_PORT_DATABASE) as down:
        response = down.test_client().post(
            "/v1/people", json=person_body(), headers={"Authorization": "Bearer sck_any"}
        )

    assert_problem(response, 503)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("[1, 2, 3]", 422),
        ('"Ada Lovelace"', 422),
        ("null", 422),
        ("42", 422),
        ("1e999999", 422),
        ("9" * 5000, 400),
        ('{"name": "Ada", "email": "ada@example.com", "handles": ' + "9" * 5000 + "}", 400),
        ("[" * 100_000 + "]" * 100_000, 400),
        ('{"name": "Ada", "email": "ada@example.com"', 400),
        (b"\xff\xfe", 400),
        ("", 422),
    ],
)
def test_garbage_bodies_are_refused_cleanly(app, api, body, status):
    before = event_count(app)

    response = api.post("/v1/people", data=body, content_type="application/json")

    assert_problem(response, status)
    assert event_count(app) == before


@pytest.mark.parametrize(
    "person",
    [
        {"name": 12, "email": "ada@example.com"},
        {"name": ["Ada"], "email": "ada@example.com"},
        {"name": {"first": "Ada"}, "email": "ada@example.com"},
        {"name": "Ada", "email": None},
        {"name": "Ada", "email": "ada@example.com", "handles": "ada"},
        {"name": "Ada", "email": "ada@example.com", "handles": {"github": 10**40}},
        {"name": "n" * 121, "email": "ada@example.com"},
        {"name": "Ada", "email": "a" * 300 + "@example.com"},
        {"name": "Ada\x00Lovelace", "email": "ada@example.com"},
        {"name": "Ada", "email": "ada@example.com", "handles": {"jira": "ada\x00"}},
        {"name": "Ada", "email": "ada\x00@example.com"},
        {"name": "Ada \ud800", "email": "ada@example.com"},
        {"name": "Ada", "email": "ada@example.com", "handles": {"github": "\udfff"}},
    ],
)
def test_wrong_types_overlong_and_nul_strings_are_422s(app, api, person):
    before = event_count(app)

    body = assert_problem(api.post("/v1/people", json=person), 422)

    assert {name.split(".")[0] for name in body["errors"]} <= set(person)
    assert event_count(app) == before
    assert api.get("/v1/people").json["items"] == []


@pytest.mark.parametrize(
    "assignment",
    [
        {"role": "data-scientist", "person_id": "per_x", "allocation": 10**30},
        {"role": "data-scientist", "person_id": "per_x", "allocation": -1},
        {"role": "data-scientist", "person_id": "per_x", "allocation": "half"},
        {"role": "data-scientist", "person_id": "per_x", "lead": "maybe"},
        {"role": 7, "person_id": "per_x"},
        {"role": "data-scientist", "person_id": "per_x\x00"},
        {"role": "data-scientist", "person": {"name": "Ada\x00", "email": "a@example.com"}},
    ],
)
def test_bad_assignments_are_422s(api, assignment):
    project = create_project(api)

    response = api.post(f"/v1/projects/{project['id']}/assignments", json=assignment)

    assert_problem(response, 422)


def test_unicode_is_welcome_everywhere(api):
    person = create_person(api, name="Zoë Ōtsuka 日本 🚀", handles={"jira": "zoë"})
    project = create_project(api, name="Ünïcode 🚀", description="説明")

    assert api.get(f"/v1/people/{person['id']}").json["name"] == "Zoë Ōtsuka 日本 🚀"
    assert api.get(f"/v1/projects/{project['id']}").json["description"] == "説明"
    assert project["slug"] == "unicode"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/people/per_%00x",
        "/v1/projects/a%00b",
        "/v1/projects/a%00b/assignments",
        "/v1/events?type=person.created%00",
        "/v1/people?cursor=%00",
        "/v1/catalog/roles/" + "x" * 5000,
        "/v1/people/" + "x" * 5000,
    ],
)
def test_odd_urls_are_client_errors(api, path):
    response = api.get(path)

    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)


@pytest.mark.parametrize(
    "cursor",
    [
        "bm90IGpzb24",  # "not json"
        "WzEsMiwzXQ",  # [1,2,3]
        "WyJ4IiwieSJd",  # ["x","y"]
        "WyIyMDIwLTAxLTAxVDAwOjAwOjAwIiwicGVyX3giXQ",  # a naive timestamp
        "WyI5OTk5LTEyLTMxVDIzOjU5OjU5LTE0OjAwIiwicGVyX3giXQ",  # past year 9999 in UTC
        "WyIyMDIwLTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwieFx1MDAwMCJd",  # an id holding a NUL
    ],
)
def test_a_forged_cursor_is_a_422_naming_the_cursor(api, cursor):
    body = assert_problem(api.get(f"/v1/people?cursor={cursor}"), 422)

    assert "cursor" in body["errors"]


def test_a_problem_carries_the_request_id(api):
    response = api.get("/v1/people/per_nobody", headers={"X-Request-ID": "trace-7"})

    assert assert_problem(response, 404)["request_id"] == "trace-7"


@pytest.mark.parametrize(
    ("method", "path", "status", "slug"),
    [
        ("GET", "/v1/nowhere", 404, "not-found"),
        ("GET", "/v1/people/per_nobody", 404, "not-found"),
        ("PUT", "/v1/people", 405, "method-not-allowed"),
        ("GET", "/nowhere-at-all", 404, "not-found"),
    ],
)
def test_every_problem_has_a_type_of_its_own(api, method, path, status, slug):
    body = assert_problem(api.request(method, path), status)

    assert body["type"] == f"urn:problem-type:staffing-checklist:{slug}"


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/events?type=nope", "type"),
        ("/v1/projects/{project}/events?type=nope", "type"),
        ("/v1/projects/{project}/checklist?role=wizard", "role"),
        ("/v1/projects/{project}/checklist?kind=wizard", "kind"),
        ("/v1/projects/{project}/checklist?status=wizard", "status"),
    ],
)
def test_an_unknown_filter_value_is_422_naming_the_parameter(api, path, parameter):
    project = create_project(api)
    api.post(f"/v1/projects/{project['id']}/checklist")

    response = api.get(path.format(project=project["id"]))

    assert parameter in assert_problem(response, 422)["errors"]


# --------------------------------------------------------------------------- one shape, at once


def _is_flat(errors: dict) -> bool:
    """The documented shape: each field's dotted path to a list of messages."""
    return all(
        isinstance(name, str) and isinstance(messages, list) and messages
        for name, messages in errors.items()
    ) and all(isinstance(m, str) for messages in errors.values() for m in messages)


def test_three_mistakes_are_one_422_naming_all_three(app, api):
    project = create_project(api)
    before = event_count(app)

    response = api.post(
        f"/v1/projects/{project['id']}/assignments",
        json={"role": "wizard", "person": {"name": "Merlin"}, "allocation": 150},
    )

    errors = assert_problem(response, 422)["errors"]
    assert set(errors) == {"role", "person.email", "allocation"}
    assert errors["role"][0].startswith("Must be one of: ")
    assert "data-scientist" in errors["role"][0]
    assert errors["person.email"] == ["Missing data for required field."]
    assert event_count(app) == before


def test_a_staffing_put_names_every_bad_entry_at_once(api):
    project = create_project(api)
    ada = create_person(api)

    response = api.put(
        f"/v1/projects/{project['id']}/assignments",
        json={
            "assignments": [
                {"role": "wizard", "person_id": ada["id"]},
                {"role": "data-scientist", "person": {"name": "No email"}},
                {"role": "sorcerer", "person_id": ada["id"], "lead": "maybe"},
            ]
        },
    )

    errors = assert_problem(response, 422)["errors"]
    assert set(errors) == {
        "assignments.0.role",
        "assignments.1.person.email",
        "assignments.2.role",
        "assignments.2.lead",
    }


def test_a_project_with_an_unknown_application_and_a_bad_trait_is_one_422(api):
    response = api.post(
        "/v1/projects",
        json={"name": "", "application": "time-travel", "traits": {"user_facing": "often"}},
    )

    errors = assert_problem(response, 422)["errors"]
    assert set(errors) == {"name", "application", "traits.user_facing"}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        # a query parameter
        ("GET", "/v1/events?type=nope", {}, "type"),
        ("GET", "/v1/people?limit=0", {}, "limit"),
        # a body field
        ("POST", "/v1/people", {"json": {"name": "Ada", "email": "x"}}, "email"),
        # a field of an item of a list in the body
        (
            "PUT",
            "/v1/projects/{project}/assignments",
            {"json": {"assignments": [{"role": "data-scientist", "person_id": "p", "lead": 3}]}},
            "assignments.0.lead",
        ),
        # a header
        ("POST", "/v1/people", {"json": {}, "headers": {"Idempotency-Key": "x" * 300}}, None),
        # a body that is not an object
        ("POST", "/v1/people", {"json": [1, 2]}, "_body"),
        # a check made by a service, not by the schema
        (
            "POST",
            "/v1/webhooks/{webhook}/recover",
            {"json": {"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"}},
            "until",
        ),
    ],
)
def test_every_422_names_fields_by_dotted_path(api, method, path, kwargs, field):
    project = create_project(api)
    hook = {"url": "https://93.184.216.34/hooks", "event_types": ["checklist.*"]}
    webhook = api.post("/v1/webhooks", json=hook).json

    url = path.format(project=project["id"], webhook=webhook["id"])
    body = assert_problem(api.request(method, url, **kwargs), 422)

    assert body["type"].endswith(":validation-error")
    assert _is_flat(body["errors"]), body["errors"]
    assert (field or "Idempotency-Key") in body["errors"]


def test_the_errors_shape_is_documented(client):
    schema = client.get("/openapi.json").json["components"]["schemas"]["Problem"]

    errors = schema["properties"]["errors"]
    assert errors["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    assert "dotted path" in errors["description"]
