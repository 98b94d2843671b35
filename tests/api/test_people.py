"""The team's directory: add, read, list, change and remove people, each change an event."""

from __future__ import annotations

from factories import assert_problem, assign, create_person, create_project, event_count, events_of


def test_a_lead_adds_a_person_and_reads_them_back(api):
    response = api.post(
        "/v1/people",
        json={
            "name": "  Ada Lovelace ",
            "email": "Ada@Example.com",
            "handles": {"github": "ada-l", "jira": "ada", "linear": "ada.l"},
        },
    )

    assert response.status_code == 201
    person = response.json
    assert person["id"].startswith("per_")
    assert person["name"] == "Ada Lovelace"
    assert person["email"] == "ada@example.com"
    assert person["handles"] == {"github": "ada-l", "jira": "ada", "linear": "ada.l"}
    assert response.headers["Location"] == f"/v1/people/{person['id']}"
    assert response.headers["ETag"]

    again = api.get(f"/v1/people/{person['id']}")
    assert again.status_code == 200
    assert again.json == person
    assert again.headers["ETag"] == response.headers["ETag"]


def test_adding_a_person_records_who_did_it_and_what(api):
    person = create_person(api, name="Grace Hopper", email="grace@example.com")

    (event,) = events_of(api, type="person.created")
    assert event["actor"].startswith("api_key:")
    assert event["project_id"] is None
    assert event["request_id"]
    assert event["payload"]["person"] == {
        "id": person["id"],
        "name": "Grace Hopper",
        "email": "grace@example.com",
        "handles": {},
    }


def test_the_directory_lists_people_newest_first(api):
    first = create_person(api)
    second = create_person(api)

    response = api.get("/v1/people")

    assert response.status_code == 200
    assert [p["id"] for p in response.json["items"]] == [second["id"], first["id"]]
    assert response.json["next_cursor"] is None


def test_an_email_is_unique_in_the_team_whatever_its_case(app, api):
    create_person(api, email="ada@example.com")
    before = event_count(app)

    response = api.post("/v1/people", json={"name": "Ada again", "email": "ADA@example.com"})

    assert_problem(response, 409)
    assert event_count(app) == before
    assert len(api.get("/v1/people").json["items"]) == 1


def test_a_lead_renames_a_person_and_the_change_is_recorded(api):
    person = create_person(api, name="Ada", email="ada@example.com")

    response = api.patch(
        f"/v1/people/{person['id']}", json={"name": "Ada Lovelace", "handles": {"github": "ada"}}
    )

    assert response.status_code == 200
    assert response.json["name"] == "Ada Lovelace"
    assert response.json["handles"] == {"github": "ada"}
    assert response.json["email"] == "ada@example.com"
    (event,) = events_of(api, type="person.updated")
    assert event["payload"]["changes"] == {"name": ["Ada", "Ada Lovelace"], "github": [None, "ada"]}
    assert event["payload"]["person"]["name"] == "Ada Lovelace"


def test_a_patch_that_changes_nothing_records_no_event(app, api):
    person = create_person(api, name="Ada")
    before = event_count(app)

    response = api.patch(f"/v1/people/{person['id']}", json={"name": "Ada"})

    assert response.status_code == 200
    assert event_count(app) == before


def test_taking_an_email_already_in_use_is_a_conflict_and_changes_nothing(app, api):
    create_person(api, email="ada@example.com")
    grace = create_person(api, email="grace@example.com")
    before = event_count(app)

    response = api.patch(f"/v1/people/{grace['id']}", json={"email": "ada@example.com"})

    assert_problem(response, 409)
    assert event_count(app) == before
    assert api.get(f"/v1/people/{grace['id']}").json["email"] == "grace@example.com"


def test_an_invalid_change_is_refused_and_changes_nothing(app, api):
    person = create_person(api, name="Ada")
    before = event_count(app)

    response = api.patch(f"/v1/people/{person['id']}", json={"name": "", "email": "not-an-email"})

    body = assert_problem(response, 422)
    assert set(body["errors"]) == {"name", "email"}
    assert event_count(app) == before
    assert api.get(f"/v1/people/{person['id']}").json == person


def test_removing_a_person_takes_them_out_of_every_role(api):
    project = create_project(api)
    ada = create_person(api)
    grace = create_person(api)
    assign(api, project, "data-scientist", ada)
    kept = assign(api, project, "ai-ethicist", grace)

    response = api.delete(f"/v1/people/{ada['id']}")

    assert response.status_code == 204
    assert_problem(api.get(f"/v1/people/{ada['id']}"), 404)
    staffing = api.get(f"/v1/projects/{project['id']}/assignments").json["items"]
    assert [a["id"] for a in staffing] == [kept["id"]]
    (deleted,) = events_of(api, type="person.deleted")
    assert deleted["payload"]["person"]["id"] == ada["id"]
    feed = f"/v1/projects/{project['id']}/events"
    (unassigned,) = events_of(api, feed, type="assignment.deleted")
    assert unassigned["payload"]["reason"] == "person deleted"
    assert unassigned["payload"]["person"]["id"] == ada["id"]


def test_removing_someone_who_is_not_there_is_not_found(app, api):
    before = event_count(app)

    assert_problem(api.delete("/v1/people/per_doesnotexist"), 404)
    assert event_count(app) == before


def test_a_person_is_found_by_email_whatever_its_case(api):
    ada = create_person(api, email="ada@example.com")
    create_person(api, email="grace@example.com")

    found = api.get("/v1/people", query_string={"email": "ADA@Example.COM"})
    nobody = api.get("/v1/people", query_string={"email": "alan@example.com"})

    assert found.status_code == 200
    assert [p["id"] for p in found.json["items"]] == [ada["id"]]
    assert nobody.json == {"items": [], "next_cursor": None}
    listed = api.get("/openapi.json").json["paths"]["/v1/people"]["get"]["parameters"]
    (email,) = [p for p in listed if p["name"] == "email"]
    assert email["in"] == "query" and "casefolded" in email["description"]


def test_an_email_lookup_is_validated_like_an_email(api):
    body = assert_problem(api.get("/v1/people?email=not-an-email"), 422)

    assert list(body["errors"]) == ["email"]


def test_emails_compare_casefolded_so_strasse_is_one_person(api):
    person = create_person(api, name="Anna", email="straße@example.com")

    again = api.post("/v1/people", json={"name": "Anna again", "email": "STRASSE@example.com"})
    found = api.get("/v1/people", query_string={"email": "Strasse@Example.com"})

    assert person["email"] == "strasse@example.com"  # stored in the form it is compared in
    assert_problem(again, 409)
    assert [p["id"] for p in found.json["items"]] == [person["id"]]
    assert len(api.get("/v1/people").json["items"]) == 1


def test_staffing_by_email_finds_the_casefolded_person(api):
    person = create_person(api, name="Anna", email="straße@example.com")
    project = create_project(api)

    response = api.put(
        f"/v1/projects/{project['id']}/assignments",
        json={
            "assignments": [
                {"role": "ai-ethicist", "person": {"name": "A.", "email": "STRASSE@EXAMPLE.COM"}}
            ]
        },
    )

    assert response.status_code == 200, response.json
    assert [a["person"]["id"] for a in response.json["items"]] == [person["id"]]
    assert len(api.get("/v1/people").json["items"]) == 1


def test_a_preview_by_email_finds_the_casefolded_person(api):
    person = create_person(api, name="Anna Schmidt", email="straße@example.com")
    project = {"name": "Draft", "application": "content-creation"}

    response = api.post(
        "/v1/checklists/preview",
        json={
            "project": project,
            "assignments": [
                {"role": "ai-ethicist", "person": {"name": "Other", "email": "STRASSE@example.com"}}
            ],
        },
    )

    assert response.status_code == 200, response.json
    owners = [o for item in response.json["items"] for o in item["owners"]]
    assert owners and {o["id"] for o in owners} == {person["id"]}


def test_an_email_too_long_once_casefolded_is_refused(api):
    email = "ß" * 130 + "@example.com"  # 142 characters, 272 once casefolded

    body = assert_problem(api.post("/v1/people", json={"name": "Long", "email": email}), 422)

    assert list(body["errors"]) == ["email"]
