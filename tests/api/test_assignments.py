"""Staffing: people in roles on a project, one at a time or replaced all at once."""

from __future__ import annotations

import pytest
from factories import (
    assert_problem,
    assign,
    create_person,
    create_project,
    event_count,
    events_of,
)


def _staffing(api, project):
    return api.get(f"/v1/projects/{project['id']}/assignments").json["items"]


def _people(api):
    return api.get("/v1/people").json["items"]


# An allocation is a whole percent: a fraction is refused rather than cut to an integer, and
# so are a whole number written as a float, a boolean and a numeric string.
NOT_WHOLE_PERCENTS = [1.5, 100.7, 0.1, 50.0, True, False, "50"]


def test_a_lead_puts_a_person_of_the_directory_in_a_role(api):
    project = create_project(api)
    ada = create_person(api, name="Ada")

    response = api.post(
        f"/v1/projects/{project['slug']}/assignments",
        json={"role": "data-scientist", "person_id": ada["id"], "allocation": 50, "lead": True},
    )

    assert response.status_code == 201
    assignment = response.json
    assert assignment["id"].startswith("asg_")
    assert assignment["project_id"] == project["id"]
    assert assignment["role"] == "data-scientist"
    assert assignment["person"]["id"] == ada["id"]
    assert (assignment["allocation"], assignment["lead"]) == (50, True)
    assert response.headers["Location"].endswith(f"/assignments/{assignment['id']}")
    assert _staffing(api, project) == [assignment]


def test_staffing_a_project_records_an_assignment_event_in_its_feed(api):
    project = create_project(api)
    ada = create_person(api)

    assignment = assign(api, project, "ai-ethicist", ada, allocation=20)

    (event,) = events_of(api, f"/v1/projects/{project['id']}/events", type="assignment.created")
    assert event["actor"].startswith("api_key:")
    assert event["payload"]["assignment"]["id"] == assignment["id"]
    assert event["payload"]["assignment"]["role"] == "ai-ethicist"
    assert event["payload"]["assignment"]["allocation"] == 20
    assert event["payload"]["assignment"]["person"]["id"] == ada["id"]


def test_an_inline_person_is_created_when_their_email_is_new(api):
    project = create_project(api)

    response = api.post(
        f"/v1/projects/{project['id']}/assignments",
        json={"role": "ux-designer", "person": {"name": "Grace", "email": "grace@example.com"}},
    )

    assert response.status_code == 201
    (grace,) = _people(api)
    assert (grace["name"], grace["email"]) == ("Grace", "grace@example.com")
    assert response.json["person"]["id"] == grace["id"]
    assert [e["payload"]["person"]["id"] for e in events_of(api, type="person.created")] == [
        grace["id"]
    ]


def test_an_inline_person_is_found_by_email_instead_of_created_twice(app, api):
    project = create_project(api)
    ada = create_person(api, name="Ada Lovelace", email="ada@example.com")

    response = api.post(
        f"/v1/projects/{project['id']}/assignments",
        json={"role": "data-scientist", "person": {"name": "A. L.", "email": "ADA@example.com"}},
    )

    assert response.status_code == 201
    assert response.json["person"]["id"] == ada["id"]
    assert [p["id"] for p in _people(api)] == [ada["id"]]
    assert len(events_of(api, type="person.created")) == 1


def test_a_person_may_hold_two_roles_but_never_the_same_role_twice(app, api):
    project = create_project(api)
    ada = create_person(api)
    assign(api, project, "data-scientist", ada)
    assign(api, project, "machine-learning-engineer", ada)
    before = event_count(app)

    response = api.post(
        f"/v1/projects/{project['id']}/assignments",
        json={"role": "data-scientist", "person_id": ada["id"]},
    )

    assert_problem(response, 409)
    assert event_count(app) == before
    assert sorted(a["role"] for a in _staffing(api, project)) == [
        "data-scientist",
        "machine-learning-engineer",
    ]


def test_an_unknown_role_or_a_missing_person_is_refused_and_nobody_is_created(app, api):
    project = create_project(api)
    before = event_count(app)

    unknown_role = api.post(
        f"/v1/projects/{project['id']}/assignments",
        json={"role": "wizard", "person": {"name": "Merlin", "email": "merlin@example.com"}},
    )
    no_person = api.post(
        f"/v1/projects/{project['id']}/assignments", json={"role": "data-scientist"}
    )

    assert "role" in assert_problem(unknown_role, 422)["errors"]
    assert "person_id" in assert_problem(no_person, 422)["errors"]
    assert event_count(app) == before
    assert _people(api) == []


def test_a_lead_takes_a_person_out_of_a_role(api):
    project = create_project(api)
    ada = create_person(api)
    assignment = assign(api, project, "data-scientist", ada)

    response = api.delete(f"/v1/projects/{project['id']}/assignments/{assignment['id']}")

    assert response.status_code == 204
    assert _staffing(api, project) == []
    (event,) = events_of(api, f"/v1/projects/{project['id']}/events", type="assignment.deleted")
    assert event["payload"]["assignment"]["id"] == assignment["id"]
    assert_problem(api.delete(f"/v1/projects/{project['id']}/assignments/{assignment['id']}"), 404)


def test_replacing_the_staffing_keeps_unchanged_assignments_and_their_ids(api):
    project = create_project(api)
    ada, grace, alan = create_person(api), create_person(api), create_person(api)
    kept = assign(api, project, "data-scientist", ada, allocation=50)
    changed = assign(api, project, "machine-learning-engineer", grace, allocation=40)
    dropped = assign(api, project, "ux-designer", alan)

    response = api.put(
        f"/v1/projects/{project['id']}/assignments",
        json={
            "assignments": [
                {"role": "data-scientist", "person_id": ada["id"], "allocation": 50},
                {"role": "machine-learning-engineer", "person_id": grace["id"], "allocation": 80},
                {"role": "ai-ethicist", "person": {"name": "Joy", "email": "joy@example.com"}},
            ]
        },
    )

    assert response.status_code == 200
    assert response.json["next_cursor"] is None
    by_role = {a["role"]: a for a in _staffing(api, project)}
    assert set(by_role) == {"data-scientist", "machine-learning-engineer", "ai-ethicist"}
    assert by_role["data-scientist"]["id"] == kept["id"]
    assert by_role["machine-learning-engineer"]["id"] == changed["id"]
    assert by_role["machine-learning-engineer"]["allocation"] == 80
    assert by_role["ai-ethicist"]["person"]["email"] == "joy@example.com"
    (event,) = events_of(api, f"/v1/projects/{project['id']}/events", type="staffing.replaced")
    payload = event["payload"]
    assert [a["role"] for a in payload["added"]] == ["ai-ethicist"]
    assert [a["id"] for a in payload["updated"]] == [changed["id"]]
    assert [a["id"] for a in payload["removed"]] == [dropped["id"]]


def test_putting_the_same_staffing_again_changes_and_records_nothing(app, api):
    project = create_project(api)
    ada = create_person(api)
    path = f"/v1/projects/{project['id']}/assignments"
    staffing = {"assignments": [{"role": "data-scientist", "person_id": ada["id"], "lead": True}]}
    first = api.put(path, json=staffing)
    etag = api.get(f"/v1/projects/{project['id']}").headers["ETag"]
    before = event_count(app)

    again = api.put(path, json=staffing, headers={"If-Match": etag})

    assert again.status_code == 200
    assert [a["id"] for a in again.json["items"]] == [a["id"] for a in first.json["items"]]
    assert event_count(app) == before
    assert api.get(f"/v1/projects/{project['id']}").headers["ETag"] == etag


def test_replacing_the_staffing_with_nothing_empties_it(api):
    project = create_project(api)
    assign(api, project, "data-scientist", create_person(api))

    response = api.put(f"/v1/projects/{project['id']}/assignments", json={"assignments": []})

    assert response.status_code == 200
    assert response.json["items"] == []
    assert _staffing(api, project) == []


def test_a_failed_replacement_changes_nothing_at_all(app, api):
    project = create_project(api)
    ada = create_person(api)
    before_staffing = [assign(api, project, "data-scientist", ada)]
    before_events = event_count(app)

    response = api.put(
        f"/v1/projects/{project['id']}/assignments",
        json={
            "assignments": [
                {"role": "ai-ethicist", "person": {"name": "New", "email": "new@example.com"}},
                {"role": "ux-designer", "person_id": "per_nobodyhere"},
            ]
        },
    )

    assert_problem(response, 404)
    assert event_count(app) == before_events
    assert _staffing(api, project) == before_staffing
    assert [p["id"] for p in _people(api)] == [ada["id"]]


def test_a_replacement_giving_one_person_the_same_role_twice_is_refused(app, api):
    project = create_project(api)
    ada = create_person(api)
    before = event_count(app)

    response = api.put(
        f"/v1/projects/{project['id']}/assignments",
        json={
            "assignments": [
                {"role": "data-scientist", "person_id": ada["id"]},
                {"role": "data-scientist", "person": {"name": "Ada", "email": ada["email"]}},
            ]
        },
    )

    assert "assignments.1" in assert_problem(response, 422)["errors"]
    assert event_count(app) == before
    assert _staffing(api, project) == []


def test_a_replacement_naming_an_unknown_role_points_at_the_entry(app, api):
    project = create_project(api)
    before = event_count(app)

    response = api.put(
        f"/v1/projects/{project['id']}/assignments",
        json={"assignments": [{"role": "wizard", "person_id": "per_x"}]},
    )

    assert "assignments.0.role" in assert_problem(response, 422)["errors"]
    assert event_count(app) == before


def test_a_staffing_replacement_based_on_a_stale_read_is_refused(api):
    project = create_project(api)
    etag = api.get(f"/v1/projects/{project['id']}").headers["ETag"]
    ada, grace = create_person(api), create_person(api)
    first = {"assignments": [{"role": "data-scientist", "person_id": ada["id"]}]}
    second = {"assignments": [{"role": "ai-ethicist", "person_id": grace["id"]}]}
    path = f"/v1/projects/{project['id']}/assignments"

    assert api.put(path, json=first, headers={"If-Match": etag}).status_code == 200
    response = api.put(path, json=second, headers={"If-Match": etag})

    assert_problem(response, 412)
    assert [a["person"]["id"] for a in _staffing(api, project)] == [ada["id"]]


def test_a_staffing_replacement_with_a_stale_project_etag_is_refused(app, api):
    project = create_project(api, name="Alpha")
    ada = create_person(api)
    stale = api.get("/v1/projects/alpha").headers["ETag"]
    api.patch("/v1/projects/alpha", json={"description": "changed"})
    before = event_count(app)

    response = api.put(
        "/v1/projects/alpha/assignments",
        json={"assignments": [{"role": "data-scientist", "person_id": ada["id"]}]},
        headers={"If-Match": stale},
    )

    assert_problem(response, 412)
    assert event_count(app) == before
    assert _staffing(api, project) == []


@pytest.mark.parametrize("allocation", NOT_WHOLE_PERCENTS)
def test_an_allocation_that_is_not_a_whole_number_is_refused_and_changes_nothing(
    app, api, allocation
):
    project = create_project(api)
    ada, grace = create_person(api), create_person(api)
    before_staffing = [assign(api, project, "data-scientist", ada, allocation=50)]
    before_events = event_count(app)

    response = api.post(
        f"/v1/projects/{project['id']}/assignments",
        json={"role": "ai-ethicist", "person_id": grace["id"], "allocation": allocation},
    )

    assert assert_problem(response, 422)["errors"] == {"allocation": ["Not a valid integer."]}
    assert event_count(app) == before_events
    assert _staffing(api, project) == before_staffing


@pytest.mark.parametrize("allocation", NOT_WHOLE_PERCENTS)
def test_a_replacement_with_an_allocation_that_is_not_a_whole_number_changes_nothing(
    app, api, allocation
):
    project = create_project(api)
    ada, grace = create_person(api), create_person(api)
    before_staffing = [assign(api, project, "data-scientist", ada, allocation=50)]
    before_events = event_count(app)

    response = api.put(
        f"/v1/projects/{project['id']}/assignments",
        json={
            "assignments": [
                {"role": "data-scientist", "person_id": ada["id"], "allocation": 60},
                {"role": "ai-ethicist", "person_id": grace["id"], "allocation": allocation},
            ]
        },
    )

    body = assert_problem(response, 422)
    assert body["errors"] == {"assignments.1.allocation": ["Not a valid integer."]}
    assert event_count(app) == before_events
    assert _staffing(api, project) == before_staffing
    assert before_staffing[0]["allocation"] == 50


def test_whole_allocations_at_the_bounds_and_none_are_accepted(api):
    project = create_project(api)
    ada, grace, alan = create_person(api), create_person(api), create_person(api)

    response = api.put(
        f"/v1/projects/{project['id']}/assignments",
        json={
            "assignments": [
                {"role": "data-scientist", "person_id": ada["id"], "allocation": 0},
                {"role": "ai-ethicist", "person_id": grace["id"], "allocation": 100},
                {"role": "ux-designer", "person_id": alan["id"], "allocation": None},
            ]
        },
    )

    assert response.status_code == 200, response.json
    allocations = {a["role"]: a["allocation"] for a in _staffing(api, project)}
    assert allocations == {"data-scientist": 0, "ai-ethicist": 100, "ux-designer": None}


@pytest.mark.parametrize("limit", ["1.5", "true"])
def test_a_page_size_that_is_not_a_whole_number_is_a_422_naming_the_limit(api, limit):
    project = create_project(api)

    response = api.get(f"/v1/projects/{project['id']}/assignments", query_string={"limit": limit})

    assert assert_problem(response, 422)["errors"] == {"limit": ["Not a valid integer."]}
