"""Projects: register, read by id or slug, list, change, archive and restore."""

from __future__ import annotations

from factories import assert_problem, create_project, event_count, events_of


def test_a_lead_registers_a_project_and_its_slug_comes_from_the_name(api):
    response = api.post(
        "/v1/projects",
        json={
            "name": "Support Assistant (beta)",
            "description": "Answers customer questions.",
            "application": "content-creation",
            "traits": {"user_facing": True, "handles_personal_data": True},
        },
    )

    assert response.status_code == 201
    project = response.json
    assert project["id"].startswith("prj_")
    assert project["slug"] == "support-assistant-beta"
    assert project["status"] == "active"
    # Traits the request does not state are null: the application decides them.
    assert project["traits"] == {
        "handles_personal_data": True,
        "user_facing": True,
        "generates_public_content": None,
        "regulated_domain": None,
        "uses_third_party_models": None,
        "generates_code": None,
        "reads_untrusted_content": None,
        "states_facts": None,
        "affects_decisions_about_people": None,
        "synthetic_media": None,
        "minors_may_use": None,
        "general_purpose_assistant": None,
        "advertises": None,
        "model_source": None,
    }
    assert response.headers["Location"] == f"/v1/projects/{project['id']}"
    assert api.get(f"/v1/projects/{project['id']}").json == project
    assert api.get("/v1/projects/support-assistant-beta").json == project


def test_a_lead_may_choose_the_slug(api):
    project = create_project(api, name="Support assistant", slug="helpdesk")

    assert project["slug"] == "helpdesk"
    assert api.get("/v1/projects/helpdesk").json["id"] == project["id"]


def test_registering_a_project_records_an_event_in_its_feed(api):
    project = create_project(api, name="Music maker", application="music-composition")

    (event,) = events_of(api, f"/v1/projects/{project['slug']}/events")
    assert event["type"] == "project.created"
    assert event["project_id"] == project["id"]
    assert event["actor"].startswith("api_key:")
    assert event["payload"]["project"]["slug"] == "music-maker"
    assert event["payload"]["project"]["application"] == "music-composition"


def test_two_projects_cannot_share_a_slug(app, api):
    create_project(api, name="Support assistant")
    before = event_count(app)

    response = api.post(
        "/v1/projects", json={"name": "Support Assistant", "application": "content-creation"}
    )

    assert_problem(response, 409)
    assert event_count(app) == before
    assert len(api.get("/v1/projects").json["items"]) == 1


def test_an_unknown_application_is_refused_naming_the_field(app, api):
    before = event_count(app)

    response = api.post("/v1/projects", json={"name": "Game", "application": "video-games"})

    body = assert_problem(response, 422)
    assert "application" in body["errors"]
    assert event_count(app) == before
    assert api.get("/v1/projects").json["items"] == []


def test_a_lead_changes_a_project_and_the_feed_shows_before_and_after(api):
    project = create_project(api, name="Helper", application="content-creation")

    response = api.patch(
        "/v1/projects/helper",
        json={"application": "healthcare-solutions", "traits": {"regulated_domain": True}},
    )

    assert response.status_code == 200
    assert response.json["application"] == "healthcare-solutions"
    assert response.json["traits"]["regulated_domain"] is True
    (event,) = events_of(api, f"/v1/projects/{project['id']}/events", type="project.updated")
    assert event["payload"]["changes"] == {
        "application": ["content-creation", "healthcare-solutions"],
        "regulated_domain": [None, True],
    }


def test_a_project_can_change_its_slug_and_is_then_found_by_the_new_one(api):
    project = create_project(api, name="Helper")

    response = api.patch(f"/v1/projects/{project['id']}", json={"slug": "assistant"})

    assert response.status_code == 200
    assert api.get("/v1/projects/assistant").json["id"] == project["id"]
    assert_problem(api.get("/v1/projects/helper"), 404)


def test_taking_another_projects_slug_is_a_conflict_and_changes_nothing(app, api):
    create_project(api, name="Alpha")
    beta = create_project(api, name="Beta")
    before = event_count(app)

    assert_problem(api.patch("/v1/projects/beta", json={"slug": "alpha"}), 409)

    assert event_count(app) == before
    assert api.get(f"/v1/projects/{beta['id']}").json == beta


def test_an_invalid_change_names_each_bad_field_and_changes_nothing(app, api):
    project = create_project(api, name="Alpha")
    before = event_count(app)

    response = api.patch(
        "/v1/projects/alpha", json={"slug": "Not A Slug", "status": "paused", "colour": "red"}
    )

    body = assert_problem(response, 422)
    assert set(body["errors"]) == {"slug", "status", "colour"}
    assert event_count(app) == before
    assert api.get("/v1/projects/alpha").json == project


def test_archiving_a_project_hides_it_from_the_default_list_but_keeps_it_readable(api):
    kept = create_project(api, name="Kept")
    archived = create_project(api, name="Old one")

    response = api.delete("/v1/projects/old-one")

    assert response.status_code == 200
    assert response.json["status"] == "archived"
    assert [p["id"] for p in api.get("/v1/projects").json["items"]] == [kept["id"]]
    assert api.get(f"/v1/projects/{archived['id']}").json["status"] == "archived"
    assert api.get("/v1/projects/old-one").json["status"] == "archived"


def test_the_list_shows_archived_projects_or_all_when_asked(api):
    active = create_project(api)
    archived = create_project(api)
    api.delete(f"/v1/projects/{archived['id']}")

    only_archived = api.get("/v1/projects?status=archived").json["items"]
    everything = api.get("/v1/projects?status=all").json["items"]

    assert [p["id"] for p in only_archived] == [archived["id"]]
    assert [p["id"] for p in everything] == [archived["id"], active["id"]]
    assert_problem(api.get("/v1/projects?status=deleted"), 422)


def test_archiving_is_recorded_once_and_restoring_brings_the_project_back(api):
    project = create_project(api)

    api.delete(f"/v1/projects/{project['id']}")
    again = api.delete(f"/v1/projects/{project['id']}")
    restored = api.patch(f"/v1/projects/{project['id']}", json={"status": "active"})

    assert again.status_code == 200
    assert restored.json["status"] == "active"
    assert [p["id"] for p in api.get("/v1/projects").json["items"]] == [project["id"]]
    feed = [e["type"] for e in events_of(api, f"/v1/projects/{project['id']}/events")]
    assert feed == ["project.updated", "project.archived", "project.created"]


def test_projects_named_without_latin_letters_get_distinct_slugs(api):
    first = api.post("/v1/projects", json={"name": "日本", "application": "other"})
    second = api.post("/v1/projects", json={"name": "東京", "application": "other"})

    assert first.status_code == second.status_code == 201
    assert first.json["slug"].startswith("project-")
    assert first.json["slug"] != second.json["slug"]
    assert api.get(f"/v1/projects/{second.json['slug']}").json["name"] == "東京"
