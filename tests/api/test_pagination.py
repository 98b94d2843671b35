"""Every list pages the same way: one mechanism, its limits from the settings, any keyset order,
whatever the shape or format of the list's answer."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from factories import assert_problem, assign, create_person, create_project
from sqlalchemy import select

from app.extensions import db
from app.http.pagination import SortKey, fetch_page, newest_first, page_query
from app.models import Person, Project, WebhookDelivery, WebhookEndpoint
from app.services.directory.projects import projects_query
from app.services.webhooks.endpoints import deliveries_query

# Every list of the API, a path that reaches it once `project` exists.
LISTS = [
    "/v1/people",
    "/v1/projects",
    "/v1/projects/{project}/assignments",
    "/v1/projects/{project}/events",
    "/v1/events",
    "/v1/webhooks",
    "/v1/integrations",
]


def _limit_parameter(spec: dict, path: str) -> dict:
    (limit,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "limit"]
    return limit


def test_the_page_size_limits_are_settings_that_the_spec_documents(app_with, api):
    small = app_with(default_page_size=2, max_page_size=3)
    client = small.test_client()
    headers = {"Authorization": f"Bearer {api.token}"}
    for _ in range(4):
        create_person(api)

    spec = client.get("/openapi.json").json
    default_page = client.get("/v1/people", headers=headers)
    too_many = client.get("/v1/people?limit=4", headers=headers)

    limit = _limit_parameter(spec, "/v1/people")
    assert limit["schema"]["maximum"] == 3
    assert limit["schema"]["default"] == 2
    assert len(default_page.json["items"]) == 2
    assert default_page.json["next_cursor"]
    assert "limit" in assert_problem(too_many, 422)["errors"]


def test_every_list_documents_the_same_limit_and_cursor(app_with):
    spec = app_with(max_page_size=500).test_client().get("/openapi.json").json

    for path in [
        "/v1/people",
        "/v1/projects",
        "/v1/projects/{project_ref}/assignments",
        "/v1/projects/{project_ref}/events",
        "/v1/events",
        "/v1/webhooks",
        "/v1/webhooks/{endpoint_id}/deliveries",
        "/v1/integrations",
        "/v1/integrations/{integration_id}/deliveries",
    ]:
        names = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert {"limit", "cursor"} <= names, path
        assert _limit_parameter(spec, path)["schema"]["maximum"] == 500
        page = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        ref = page["schema"]["$ref"].rsplit("/", 1)[-1]
        assert set(spec["components"]["schemas"][ref]["properties"]) == {"items", "next_cursor"}


@pytest.mark.parametrize("path", LISTS)
def test_every_list_answers_a_page_with_a_link_to_the_next(api, path):
    project = create_project(api)
    create_project(api)
    for _ in range(2):
        create_person(api)
        # A literal public address: no DNS.
        hook = {"url": "https://93.184.216.34/hooks", "event_types": ["checklist.*"]}
        assert api.post("/v1/webhooks", json=hook).status_code == 201
        integration = {"provider": "github", "name": "acme/app"}
        assert api.post("/v1/integrations", json=integration).status_code == 201
    api.put(
        f"/v1/projects/{project['id']}/assignments",
        json={
            "assignments": [
                {"role": "data-scientist", "person": {"name": "A", "email": "a@example.com"}},
                {"role": "ai-ethicist", "person": {"name": "B", "email": "b@example.com"}},
            ]
        },
    )
    url = path.format(project=project["id"])

    first = api.get(url, query_string={"limit": 1})

    assert first.status_code == 200, first.json
    assert len(first.json["items"]) == 1
    (link,) = re.findall(r'<([^>]+)>; rel="next"', first.headers["Link"])
    second = api.get(link)
    assert second.status_code == 200
    assert second.json["items"][0] != first.json["items"][0]


def test_a_list_may_page_in_an_order_of_its_own(app, api):
    names = ["Carol", "Alan", "Bea", "Alan"]
    for name in names:
        create_person(api, name=name)

    seen: list[tuple[str, str]] = []
    with app.app_context():
        order = (SortKey(Person.name), SortKey(Person.id))
        stmt = select(Person)
        page = fetch_page(stmt, order, 3, None)
        seen += [(p.name, p.id) for p in page.items]
        assert page.next_cursor is not None
        page = fetch_page(stmt, order, 3, page.next_cursor)
        seen += [(p.name, p.id) for p in page.items]
        assert page.next_cursor is None

    assert seen == sorted(seen)
    assert [name for name, _ in seen] == sorted(names)


def _read_before_the_cursor(stmt: Any) -> tuple[str, int]:
    """How the database reads a page (with an index, as at scale): the plan's index condition,
    and the rows it read and dropped by filter (PostgreSQL, which runs it to tell)."""
    connection = db.session.connection()
    compiled = stmt.compile(bind=connection)
    if connection.dialect.name == "sqlite":
        params = tuple(compiled.params[name] for name in compiled.positiontup)
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).all()
        return " ".join(row[-1] for row in rows), 0
    # With a few rows the planner would rather scan and sort; at scale it takes the index.
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_sort = off")
    (plan,) = connection.exec_driver_sql(
        f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}", compiled.params
    ).one()
    explained = json.loads(plan) if isinstance(plan, str) else plan
    nodes, conditions, dropped = [explained[0]["Plan"]], [], 0
    while nodes:
        node = nodes.pop()
        conditions.append(node.get("Index Cond", ""))
        dropped += node.get("Rows Removed by Filter", 0)
        nodes.extend(node.get("Plans", []))
    return " ".join(conditions), dropped


def test_a_deep_page_starts_reading_at_its_cursor(app, api):
    """The index range of a page after a cursor starts at the cursor: a page deep in a long
    list costs what the first does, not a read of every row before it."""
    for number in range(30):
        create_project(api, name=f"Project {number}")

    with app.app_context():
        order, stmt = newest_first(Project), projects_query(api.team_id)
        first = fetch_page(stmt, order, 20, None)
        assert first.next_cursor is not None
        conditions, dropped = _read_before_the_cursor(
            page_query(stmt, order, 20, first.next_cursor)
        )
        db.session.rollback()

    assert "created_at" in conditions, conditions
    assert dropped <= 1, f"{dropped} rows before the cursor were read and dropped"


def test_a_cursor_of_another_order_is_a_422_naming_the_cursor(api):
    create_person(api)

    # `[1, 2]`: a cursor of an order by two numbers, not of the feed's (created_at, id).
    body = assert_problem(api.get("/v1/events?cursor=WzEsMl0"), 422)

    assert body["errors"] == {"cursor": ["Invalid cursor."]}


# Lists whose answer has a shape of its own (`paged`), in every format they answer in.
OWN_SHAPES = [
    "/v1/staffing",
    "/v1/people/{person_id}/checklist-items",
    "/v1/people/{person_id}/checklist-items.md",
    "/v1/people/{person_id}/checklist-items.csv",
    "/v1/people/{person_id}/checklist-items.txt",
    "/v1/people/{person_id}/checklist-items.html",
]


def test_lists_of_their_own_shape_document_the_same_limit_and_cursor(app_with):
    spec = app_with(max_page_size=500).test_client().get("/openapi.json").json

    for path in OWN_SHAPES:
        names = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert {"limit", "cursor"} <= names, path
        assert _limit_parameter(spec, path)["schema"]["maximum"] == 500


def _owner_on_two_projects(api: Any) -> dict:
    ada = create_person(api, name="Ada")
    for name in ("Alpha", "Bravo"):
        project = create_project(api, name=name)
        assign(api, project, "data-scientist", ada, allocation=10)
        assert api.post(f"/v1/projects/{project['id']}/checklist").status_code == 201
    return ada


@pytest.mark.parametrize("path", OWN_SHAPES)
def test_a_list_of_its_own_shape_links_to_its_next_page(api, path):
    ada = _owner_on_two_projects(api)
    url = path.format(person_id=ada["id"])

    first = api.get(url, query_string={"limit": 1})
    (link,) = re.findall(r'<([^>]+)>; rel="next"', first.headers["Link"])
    second = api.get(link)

    assert first.status_code == 200 and second.status_code == 200
    assert "limit=1" in link and "cursor=" in link
    assert second.get_data() != first.get_data()


@pytest.mark.parametrize("path", OWN_SHAPES)
def test_a_cursor_of_another_list_is_a_422_naming_the_cursor_in_every_format(api, path):
    ada = _owner_on_two_projects(api)
    # `[1, 2]`: a cursor of an order by two numbers, neither list's.
    url = path.format(person_id=ada["id"])

    body = assert_problem(api.get(url, query_string={"cursor": "WzEsMl0"}), 422)

    assert body["errors"] == {"cursor": ["Invalid cursor."]}


def test_a_delivery_log_filtered_by_status_reads_its_own_index(app, api):
    """`?status=dead` is read by (endpoint, status, created_at): a page of a rare status does
    not walk the endpoint's whole log (bench/growth_bench.py, docs/operations.md#growth)."""
    endpoint = api.post(
        "/v1/webhooks", json={"url": "https://93.184.216.34/hook", "event_types": ["*"]}
    ).json
    for number in range(5):
        create_project(api, name=f"Delivered {number}")

    with app.app_context():
        stored = db.session.get(WebhookEndpoint, endpoint["id"])
        stmt = deliveries_query(stored, status="dead")
        conditions, dropped = _read_before_the_cursor(
            page_query(stmt, newest_first(WebhookDelivery), 20, None)
        )
        db.session.rollback()

    assert "status" in conditions, conditions
    assert dropped == 0, f"{dropped} deliveries of other statuses were read and dropped"
