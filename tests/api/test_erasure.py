"""Erasing a person through the API: an admin's act, within the team, answered the same when
repeated; a namesake in another snapshot keeps their name. (The search of every table after a
real history is tests/webhooks/test_erasure.py.)"""

from __future__ import annotations

import json

from factories import assert_problem, assign, create_person, create_project, events_of
from sqlalchemy import select

from app.extensions import db
from app.models import Event, IdempotencyRecord


def _erase(api, person):
    return api.post(f"/v1/people/{person['id']}/erase")


def test_only_an_admin_erases(make_api):
    admin = make_api()
    writer = make_api(scopes=("read", "write"))
    person = create_person(admin)

    assert_problem(_erase(writer, person), 403)
    assert admin.get(f"/v1/people/{person['id']}").status_code == 200


def test_a_person_of_another_team_is_not_found(api, other_api):
    person = create_person(api)

    assert_problem(_erase(other_api, person), 404)
    assert_problem(other_api.post("/v1/people/per_doesnotexist/erase"), 404)
    assert api.get(f"/v1/people/{person['id']}").status_code == 200


def test_erasing_twice_answers_the_same_and_records_one_event(api):
    person = create_person(api, name="Eve Example", email="eve@example.com")

    first = _erase(api, person)
    again = _erase(api, person)

    assert first.status_code == again.status_code == 200
    assert first.json == again.json
    assert first.json["pseudonym"] == f"erased:{person['id']}"
    [event] = events_of(api, type="person.erased")
    assert event["payload"] == {
        "person": {"id": person["id"], "pseudonym": first.json["pseudonym"]}
    }
    assert_problem(api.get(f"/v1/people/{person['id']}"), 404)


def test_a_namesake_keeps_their_name_and_the_erased_is_pseudonymised(api):
    project = create_project(api)
    eve = create_person(api, name="Eve Example", email="eve@example.com")
    namesake = create_person(api, name="Eve Example", email="eve.other@example.com")
    assign(api, project, "data-scientist", eve)
    assign(api, project, "ai-ethicist", namesake)

    assert _erase(api, eve).status_code == 200

    assert api.get(f"/v1/people/{namesake['id']}").json["name"] == "Eve Example"
    created = {e["payload"]["person"]["id"]: e for e in events_of(api, type="person.created")}
    assert created[namesake["id"]]["payload"]["person"]["name"] == "Eve Example"
    assert created[eve["id"]]["payload"]["person"] == {
        "id": eve["id"],
        "name": f"erased:{eve['id']}",
        "email": f"erased:{eve['id']}",
        "handles": {},
    }
    [gone] = events_of(api, type="assignment.deleted")
    assert gone["payload"]["reason"] == "person erased"
    assert gone["payload"]["person"]["name"] == f"erased:{eve['id']}"


def test_a_name_beyond_ascii_is_found_as_json_escapes_it_too(app, api):
    """Flask's answers (kept for an `Idempotency-Key`) escape what is not ASCII; the erasure
    finds the name in that form as well as in the events' JSON."""
    name = "Zoë Ñúñez-Ørsted"
    person = api.post(
        "/v1/people",
        json={"name": name, "email": "zoe@example.com"},
        headers={"Idempotency-Key": "add-zoe"},
    ).json

    assert _erase(api, person).status_code == 200

    with app.app_context():
        stored = db.session.scalars(select(IdempotencyRecord.response_body)).all()
        payloads = [json.dumps(p) for p in db.session.scalars(select(Event.payload))]
    escaped = json.dumps(name)[1:-1]
    assert escaped != name
    for text in [*stored, *payloads]:
        assert name not in text and escaped not in text, text
    assert any(f"erased:{person['id']}" in text for text in stored)


def test_every_text_column_is_either_searched_or_said_to_hold_no_person():
    """A new text column must be placed: searched and rewritten (it may hold a person), or
    structural (a key, a status, a digest), which an erasure must never rewrite."""
    from app.models import Base
    from app.services.directory.erasure import (
        PERSONAL_COLUMNS,
        STRUCTURAL_COLUMNS,
        text_columns,
    )

    team_tables = [
        t
        for t in Base.metadata.sorted_tables
        if ("team_id" in t.c or t.name == "webhook_attempts")
        and t.name not in ("people", "erasures")
    ]
    for table in team_tables:
        personal = PERSONAL_COLUMNS.get(table.name, frozenset())
        structural = STRUCTURAL_COLUMNS.get(table.name, frozenset())
        assert personal.isdisjoint(structural), table.name
        assert personal | structural == text_columns(table), table.name


def test_a_handle_that_is_also_a_status_or_a_key_word_erases_nothing_structural(api):
    """A person whose handles are words the service uses itself (`done`, a status; `privacy`,
    part of item keys) is erased without rewriting a status, a key or a phase."""
    project = create_project(api, name="Clinic notes", application="healthcare-solutions")
    person = create_person(
        api, name="Dana Done", email="dana@example.com", handles={"github": "done"}
    )
    other = create_person(api, name="Pat Privacy", handles={"github": "privacy"})
    assign(api, project, "data-scientist", person)
    assign(api, project, "ai-ethicist", other)
    assert api.post(f"/v1/projects/{project['id']}/checklist").status_code == 201
    key = "data-scientist.collect-and-preprocess-data"
    done = api.patch(f"/v1/projects/{project['id']}/checklist/items/{key}", json={"status": "done"})
    assert done.status_code == 200, done.json
    before = api.get(f"/v1/projects/{project['id']}/checklist").json

    assert _erase(api, person).status_code == 200
    assert _erase(api, other).status_code == 200

    after = api.get(f"/v1/projects/{project['id']}/checklist").json
    assert {i["key"] for i in after["items"]} >= {
        i["key"] for i in before["items"] if i["kind"] != "staffing"
    }
    assert any(k.startswith("data-privacy.") for k in (i["key"] for i in after["items"]))
    assert {i["key"]: i["status"] for i in after["items"]}[key] == "done"
    payloads = [e["payload"] for e in events_of(api, type="checklist.item.status_changed")]
    assert payloads and all(p["after"]["status"] == "done" for p in payloads)


def test_a_name_beyond_ascii_in_other_letters_case_is_found_in_free_text(app, api):
    """A description that writes the name in capitals is found and rewritten on SQLite too,
    whose own lower() folds ASCII only."""
    name = "Zoë Ñúñez-Ørsted"
    person = create_person(api, name=name, email="zoe@example.com")
    project = create_project(
        api, name="Shouting", description=f"Owned by {name.upper()} until March."
    )

    assert _erase(api, person).status_code == 200

    description = api.get(f"/v1/projects/{project['id']}").json["description"]
    assert description == f"Owned by erased:{person['id']} until March."


def test_a_person_deleted_before_is_erased_from_what_their_deletion_kept(app, api, runner):
    """`DELETE /v1/people/{id}` keeps the person in its events (the deletion's own included):
    an erasure finds them by id, and `flask people erase` by email."""
    project = create_project(api)
    gone = create_person(api, name="Gwen Gone", email="gwen@example.com")
    also_gone = create_person(api, name="Hal Hence", email="hal@example.com")
    for person, role in ((gone, "data-scientist"), (also_gone, "ai-ethicist")):
        assign(api, project, role, person)
        assert api.delete(f"/v1/people/{person['id']}").status_code == 204
    before = json.dumps(events_of(api))
    assert "Gwen Gone" in before and "hal@example.com" in before

    erased = _erase(api, gone)
    result = runner.invoke(args=["people", "erase", api.team_id, "HAL@example.com"])

    assert erased.status_code == 200, erased.json
    assert erased.json["pseudonym"] == f"erased:{gone['id']}"
    assert result.exit_code == 0, result.output
    assert f"erased: {also_gone['id']}" in result.output
    after = json.dumps(events_of(api))
    for term in ("Gwen Gone", "gwen@example.com", "Hal Hence", "hal@example.com"):
        assert term not in after
    assert len(events_of(api, type="person.erased")) == 2
    assert _erase(api, gone).json == erased.json  # again: the same
    assert_problem(api.post("/v1/people/per_neverthere0000000000000000/erase"), 404)
