"""The activity feed: every change an event, newest first, filtered by type, per project or team."""

from __future__ import annotations

from factories import assert_problem, assign, create_person, create_project, events_of


def test_the_team_feed_tells_the_story_of_a_staffing_newest_first(api):
    project = create_project(api)
    ada = create_person(api)
    assignment = assign(api, project, "data-scientist", ada)
    api.delete(f"/v1/projects/{project['id']}/assignments/{assignment['id']}")
    api.patch(f"/v1/people/{ada['id']}", json={"name": "Ada Lovelace"})
    api.delete(f"/v1/projects/{project['id']}")

    feed = events_of(api)

    assert [e["type"] for e in feed] == [
        "project.archived",
        "person.updated",
        "assignment.deleted",
        "assignment.created",
        "person.created",
        "project.created",
        "api_key.created",
        "team.created",
    ]
    assert {e["actor"] for e in feed[:-2]} == {f"api_key:{_key_id(feed)}"}
    assert {e["actor"] for e in feed[-2:]} == {"cli"}


def _key_id(feed):
    (created,) = [e for e in feed if e["type"] == "api_key.created"]
    return created["payload"]["api_key"]["id"]


def test_a_project_feed_shows_only_that_projects_events(api):
    alpha = create_project(api)
    beta = create_project(api)
    ada = create_person(api)
    assign(api, alpha, "data-scientist", ada)
    assign(api, beta, "ai-ethicist", ada)

    feed = events_of(api, f"/v1/projects/{alpha['slug']}/events")

    assert [e["type"] for e in feed] == ["assignment.created", "project.created"]
    assert {e["project_id"] for e in feed} == {alpha["id"]}


def test_the_feed_filters_by_event_type(api):
    create_person(api)
    create_person(api)
    create_project(api)

    people = events_of(api, type="person.created")

    assert len(people) == 2
    assert {e["type"] for e in people} == {"person.created"}
    assert events_of(api, type="checklist.generated") == []  # a known type, none yet


def test_an_event_carries_the_request_id_of_the_change(api):
    api.post(
        "/v1/people",
        json={"name": "Ada", "email": "ada@example.com"},
        headers={"X-Request-ID": "ticket-42.retry-1"},
    )

    (event,) = events_of(api, type="person.created")
    assert event["request_id"] == "ticket-42.retry-1"
    assert event["id"].startswith("evt_")
    assert event["created_at"]


def test_the_feed_of_a_project_that_does_not_exist_is_not_found(api):
    assert_problem(api.get("/v1/projects/nowhere/events"), 404)


def test_the_feed_cannot_be_written_to(api):
    response = api.post("/v1/events", json={"type": "person.created", "payload": {}})

    assert_problem(response, 405)
