"""Tenancy: another team's people, projects, staffing and feed do not exist for a team (404)."""

from __future__ import annotations

import pytest
from factories import (
    assert_problem,
    assign,
    create_person,
    create_project,
    event_count,
    person_body,
)


@pytest.fixture
def team_a(api):
    """Team A's directory and a staffed project, as seen from team A."""
    project = create_project(api, name="Secret plan")
    person = create_person(api, email="ada@a.example")
    assignment = assign(api, project, "data-scientist", person)
    project = api.get(f"/v1/projects/{project['id']}").json  # as staffed
    return {"project": project, "person": person, "assignment": assignment}


def _requests(a):
    person, project, assignment = a["person"], a["project"], a["assignment"]
    staffing = {"assignments": [{"role": "ai-ethicist", "person_id": person["id"]}]}
    for ref in (project["id"], project["slug"]):
        yield "GET", f"/v1/projects/{ref}", None
        yield "PATCH", f"/v1/projects/{ref}", {"name": "Taken over"}
        yield "DELETE", f"/v1/projects/{ref}", None
        yield "GET", f"/v1/projects/{ref}/assignments", None
        yield "POST", f"/v1/projects/{ref}/assignments", staffing["assignments"][0]
        yield "PUT", f"/v1/projects/{ref}/assignments", staffing
        yield "DELETE", f"/v1/projects/{ref}/assignments/{assignment['id']}", None
        yield "GET", f"/v1/projects/{ref}/events", None
    yield "GET", f"/v1/people/{person['id']}", None
    yield "PATCH", f"/v1/people/{person['id']}", {"name": "Taken over"}
    yield "DELETE", f"/v1/people/{person['id']}", None


def test_another_team_gets_404_on_every_read_and_write_of_our_resources(
    app, api, other_api, team_a
):
    before = event_count(app)

    for method, path, body in _requests(team_a):
        response = other_api.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.json)
        assert_problem(response, 404)

    assert event_count(app) == before
    project, person = team_a["project"], team_a["person"]
    assert api.get(f"/v1/projects/{project['id']}").json == project
    assert api.get(f"/v1/people/{person['id']}").json == person
    assert api.get(f"/v1/projects/{project['id']}/assignments").json["items"] == [
        team_a["assignment"]
    ]


def test_another_teams_lists_never_show_our_rows(other_api, team_a):
    own_project = create_project(other_api)
    own_person = create_person(other_api)

    projects = other_api.get("/v1/projects?status=all").json["items"]
    people = other_api.get("/v1/people").json["items"]
    events = other_api.get("/v1/events?limit=200").json["items"]

    assert [p["id"] for p in projects] == [own_project["id"]]
    assert [p["id"] for p in people] == [own_person["id"]]
    assert team_a["project"]["id"] not in {e["project_id"] for e in events}
    assert all("ada@a.example" not in str(e["payload"]) for e in events)


def test_a_team_cannot_staff_its_project_with_our_person(app, other_api, team_a):
    their_project = create_project(other_api)
    before = event_count(app)

    response = other_api.post(
        f"/v1/projects/{their_project['id']}/assignments",
        json={"role": "data-scientist", "person_id": team_a["person"]["id"]},
    )
    replaced = other_api.put(
        f"/v1/projects/{their_project['id']}/assignments",
        json={"assignments": [{"role": "data-scientist", "person_id": team_a["person"]["id"]}]},
    )

    assert_problem(response, 404)
    assert_problem(replaced, 404)
    assert event_count(app) == before
    assert other_api.get(f"/v1/projects/{their_project['id']}/assignments").json["items"] == []


def test_an_inline_person_with_our_email_becomes_their_own_person(api, other_api, team_a):
    their_project = create_project(other_api)

    response = other_api.post(
        f"/v1/projects/{their_project['id']}/assignments",
        json={"role": "data-scientist", "person": person_body(email="ada@a.example")},
    )

    assert response.status_code == 201
    assert response.json["person"]["id"] != team_a["person"]["id"]
    assert [p["id"] for p in api.get("/v1/people").json["items"]] == [team_a["person"]["id"]]


def test_two_teams_may_use_the_same_slug_and_email(api, other_api, team_a):
    twin = create_project(other_api, name="Secret plan")
    person = create_person(other_api, email="ada@a.example")

    assert twin["slug"] == team_a["project"]["slug"]
    assert other_api.get("/v1/projects/secret-plan").json["id"] == twin["id"]
    assert api.get("/v1/projects/secret-plan").json["id"] == team_a["project"]["id"]
    assert person["id"] != team_a["person"]["id"]
