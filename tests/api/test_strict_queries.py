"""Strict query strings: every operation refuses a parameter it does not take, naming it."""

from __future__ import annotations

import re

from checklist_support import generate, staffed_project
from factories import assert_problem, create_person, create_project

# Probes for load balancers and monitors, which may add parameters of their own (a cache
# buster, a scrape config's `params`): they answer the same whatever the query says.
OPERATIONAL_PATHS = {"/healthz", "/readyz"}


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield method.upper(), path, operation


def test_every_operation_refuses_an_unknown_query_parameter_by_name(app, api):
    spec = api.get("/openapi.json").json
    operations = [op for op in _operations(spec) if op[1] not in OPERATIONAL_PATHS]
    assert len(operations) > 40
    assert {path for _, path, _ in _operations(spec)} >= OPERATIONAL_PATHS

    # A share link's path needs a live token: any other is a 404 before anything is read of
    # the request (as a `/v1` request without a valid key is a 401).
    project = create_project(api)
    token = api.post(f"/v1/projects/{project['id']}/checklist/shares", json={}).json["url"]
    dashboard_token = api.post("/v1/dashboard/shares", json={}).json["url"]
    tokens = {"/share/": token, "/share/dashboard/": dashboard_token}

    refused = []
    for method, path, operation in operations:
        # Any value of a path parameter, of its type (an integer's route takes digits only).
        integers = {
            p["name"]
            for p in spec["paths"][path].get("parameters", [])
            if p["in"] == "path" and p["schema"].get("type") == "integer"
        }
        prefix = "/share/dashboard/" if path.startswith("/share/dashboard/") else "/share/"
        values = {"token": tokens[prefix].rsplit("/", 1)[-1]}
        url = re.sub(
            r"\{([^}]+)\}",
            lambda m, ints=integers, given=values: "1" if m[1] in ints else given.get(m[1], "x"),
            path,
        )
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert "fliter" not in declared
        response = api.request(method, url, query_string={"fliter": "open"}, json={})
        body = assert_problem(response, 422)
        assert body["errors"]["fliter"] == ["Unknown query parameter."], (method, path)
        assert set(body["errors"]) == {"fliter"}, (method, path, body)
        refused.append((method, path))
    assert len(refused) == len(operations)


def test_an_operation_taking_no_query_says_so_even_for_a_parameter_it_has_elsewhere(api):
    person = create_person(api)

    body = assert_problem(api.get(f"/v1/people/{person['id']}?format=csv"), 422)

    assert body["errors"] == {"format": ["Unknown query parameter."]}
    assert "format" in body["detail"]


def test_a_list_takes_its_own_parameters_and_names_only_the_unknown_one(api):
    create_project(api)

    assert api.get("/v1/projects?status=all&limit=5").status_code == 200
    body = assert_problem(api.get("/v1/projects?status=all&limit=5&sort=name"), 422)

    assert body["errors"] == {"sort": ["Unknown query parameter."]}


def test_a_single_valued_parameter_given_twice_is_refused(api):
    project, _ = staffed_project(api)
    generate(api, project, 201)
    path = f"/v1/projects/{project['id']}/checklist"

    twice = assert_problem(api.get(f"{path}?status=open&status=done"), 422)
    limit = assert_problem(api.get("/v1/people?limit=1&limit=2"), 422)

    assert twice["errors"] == {"status": ["Given more than once; this parameter takes one value."]}
    assert list(limit["errors"]) == ["limit"]


def test_the_checklist_formats_and_filters_are_still_taken(api):
    project, _ = staffed_project(api)
    generate(api, project, 201)
    path = f"/v1/projects/{project['id']}/checklist"

    markdown = api.get(f"{path}?format=markdown&status=open&group_by=kind&compact=true")
    head = api.request("HEAD", f"{path}?format=csv")

    assert markdown.status_code == 200
    assert markdown.mimetype == "text/markdown"
    assert head.status_code == 200
    assert api.request("HEAD", f"{path}?formt=csv").status_code == 422  # a HEAD has no body


def test_a_write_with_an_unknown_parameter_changes_nothing(api):
    person = create_person(api, name="Ada")

    response = api.patch(f"/v1/people/{person['id']}?dry_run=1", json={"name": "Ada Lovelace"})

    assert_problem(response, 422)
    assert api.get(f"/v1/people/{person['id']}").json["name"] == "Ada"


def test_authentication_comes_before_the_query_check(client):
    response = client.get("/v1/people?fliter=x")

    assert_problem(response, 401)


def test_the_operational_probes_ignore_a_query_string(client):
    assert client.get("/healthz?cachebust=1").status_code == 200


def test_a_request_without_a_query_gets_what_its_schema_loads_from_nothing_without_webargs(
    app, api, monkeypatch
):
    """The hot reads carry no query string: what a query schema loads from nothing is kept
    after the first such request (`CheckedJsonParser`), a copy each time; a query still goes
    through webargs, and a schema whose empty load could differ is never kept."""
    import marshmallow as ma
    from webargs.flaskparser import FlaskParser

    from app.api import common

    project, _ = staffed_project(api)
    generate(api, project, 201)
    path = f"/v1/projects/{project['id']}/checklist"
    parsed: list[str] = []
    parse = FlaskParser.parse

    def counted(self: FlaskParser, argmap: object, *args: object, **kwargs: object) -> object:
        parsed.append(str(kwargs.get("location")))
        return parse(self, argmap, *args, **kwargs)

    monkeypatch.setattr(FlaskParser, "parse", counted)
    monkeypatch.setattr(common, "_EMPTY_QUERIES", {})

    first, second = api.get(path), api.get(path)
    markdown = api.get(f"{path}?format=markdown")
    third = api.get(path)

    assert [r.status_code for r in (first, second, markdown, third)] == [200] * 4
    assert first.mimetype == third.mimetype == "application/json"
    assert markdown.mimetype == "text/markdown"
    assert first.data == second.data == third.data
    assert parsed == ["query", "query"]  # the first empty query, and the Markdown's
    (kept,) = common._EMPTY_QUERIES.values()
    assert kept == {}  # nothing given, nothing loaded: the view's defaults apply

    class Dated(ma.Schema):
        day = ma.fields.String(load_default=lambda: "today")

    class Hooked(ma.Schema):
        @ma.post_load
        def stamp(self, data: dict[str, object], **_: object) -> dict[str, object]:
            return data

    assert not common._loads_nothing_the_same(Dated(), {"day": "today"})
    assert not common._loads_nothing_the_same(Hooked(), {})
    assert not common._loads_nothing_the_same(ma.Schema(), {"roles": []})
    assert common._loads_nothing_the_same(ma.Schema(), {"compact": False})
