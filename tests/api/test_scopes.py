"""Scopes: a read key reads, a write key writes, and a 403 says which scope is missing."""

from __future__ import annotations

import pytest
from factories import assert_problem, assign, create_person, create_project, event_count


@pytest.fixture
def reader(make_api):
    return make_api(scopes=("read",))


@pytest.fixture
def writer(make_api):
    return make_api(scopes=("write",))


def test_a_read_only_key_reads_everything(api, reader):
    project = create_project(api)
    person = create_person(api)
    assign(api, project, "data-scientist", person)

    for path in (
        "/v1/catalog",
        "/v1/catalog/roles/data-scientist",
        "/v1/people",
        f"/v1/people/{person['id']}",
        "/v1/projects",
        f"/v1/projects/{project['slug']}",
        f"/v1/projects/{project['slug']}/assignments",
        f"/v1/projects/{project['slug']}/events",
        "/v1/events",
    ):
        assert reader.get(path).status_code == 200, path


def test_a_read_only_key_cannot_change_anything(app, api, reader):
    project = create_project(api)
    person = create_person(api)
    assignment = assign(api, project, "data-scientist", person)
    before = event_count(app)
    writes = [
        ("POST", "/v1/people", {"name": "Eve", "email": "eve@example.com"}),
        ("PATCH", f"/v1/people/{person['id']}", {"name": "Eve"}),
        ("DELETE", f"/v1/people/{person['id']}", None),
        ("POST", "/v1/projects", {"name": "Eve's", "application": "other"}),
        ("PATCH", f"/v1/projects/{project['id']}", {"name": "Eve's"}),
        ("DELETE", f"/v1/projects/{project['id']}", None),
        ("POST", f"/v1/projects/{project['id']}/assignments", {"role": "ux-designer"}),
        ("PUT", f"/v1/projects/{project['id']}/assignments", {"assignments": []}),
        ("DELETE", f"/v1/projects/{project['id']}/assignments/{assignment['id']}", None),
    ]

    for method, path, body in writes:
        problem = assert_problem(reader.request(method, path, json=body), 403)
        assert "'write' scope" in problem["detail"], (method, path)
        assert "it has: read" in problem["detail"]

    assert event_count(app) == before
    assert api.get(f"/v1/projects/{project['id']}/assignments").json["items"] == [assignment]


def test_a_write_key_writes_and_reads(writer):
    project = create_project(writer)
    person = create_person(writer)

    assign(writer, project, "ai-ethicist", person)
    renamed = writer.patch(f"/v1/people/{person['id']}", json={"name": "Renamed"})

    assert renamed.status_code == 200
    assert writer.get(f"/v1/projects/{project['id']}/assignments").json["items"]
    assert writer.delete(f"/v1/projects/{project['id']}").status_code == 200


def test_an_admin_key_may_do_what_a_write_key_may(make_api):
    admin = make_api(scopes=("admin",))

    assert create_person(admin)["id"]
    assert admin.get("/v1/people").status_code == 200
