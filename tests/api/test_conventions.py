"""The conventions of every endpoint: idempotent retries, ETags, cursor pages, request ids and
a constant number of SQL statements per list."""

from __future__ import annotations

import re

import pytest
from factories import (
    assert_problem,
    assign,
    create_person,
    create_project,
    event_count,
    events_of,
    person_body,
)
from sqlalchemy import delete, select

from app.extensions import db
from app.models import IdempotencyRecord, Person

# --------------------------------------------------------------------------- idempotency


def test_a_retried_post_replays_the_first_response_and_does_the_work_once(api):
    body = person_body(name="Ada")
    headers = {"Idempotency-Key": "add-ada-1"}

    first = api.post("/v1/people", json=body, headers=headers)
    retry = api.post("/v1/people", json=body, headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.json == first.json
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(api.get("/v1/people").json["items"]) == 1
    assert len(events_of(api, type="person.created")) == 1


def test_a_retry_with_the_keys_in_another_order_is_the_same_request(api):
    headers = {"Idempotency-Key": "project-1"}
    first = api.post(
        "/v1/projects", json={"name": "Alpha", "application": "other"}, headers=headers
    )

    retry = api.post(
        "/v1/projects", json={"application": "other", "name": "Alpha"}, headers=headers
    )

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json == first.json


def test_the_same_key_with_another_body_is_refused(app, api):
    headers = {"Idempotency-Key": "add-someone"}
    api.post("/v1/people", json=person_body(name="Ada"), headers=headers)
    before = event_count(app)

    response = api.post("/v1/people", json=person_body(name="Grace"), headers=headers)

    assert "Idempotency-Key" in assert_problem(response, 422)["errors"]
    assert event_count(app) == before
    assert [p["name"] for p in api.get("/v1/people").json["items"]] == ["Ada"]


def test_a_failed_conflict_is_not_stored_so_a_retry_does_the_work(api):
    ada = create_person(api, email="ada@example.com")
    headers = {"Idempotency-Key": "add-grace"}
    body = person_body(email="ada@example.com")

    assert_problem(api.post("/v1/people", json=body, headers=headers), 409)
    api.delete(f"/v1/people/{ada['id']}")
    retry = api.post("/v1/people", json=body, headers=headers)

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers


def test_a_retry_takes_over_an_empty_claim_a_dead_request_left(app, api):
    """Claims commit only with their response; one without (left by a request that died
    under an earlier version, which committed claims on their own) is taken over at once."""
    body = person_body(name="Ada")
    first = api.post("/v1/people", json=body, headers={"Idempotency-Key": "add-ada-dead"})
    with app.app_context():
        record = db.session.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.key == "add-ada-dead")
        )
        db.session.execute(delete(Person).where(Person.id == first.json["id"]))
        record.status_code = record.response_body = record.response_headers = None
        db.session.commit()

    retry = api.post("/v1/people", json=body, headers={"Idempotency-Key": "add-ada-dead"})

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    assert [p["name"] for p in api.get("/v1/people").json["items"]] == ["Ada"]


def test_a_failed_post_leaves_no_claim_behind(app, api):
    """The claim is part of the request's transaction: a failure rolls it back with the work."""
    headers = {"Idempotency-Key": "bad-person"}

    assert_problem(api.post("/v1/people", json={"name": "Ada"}, headers=headers), 422)

    with app.app_context():
        assert db.session.scalar(select(IdempotencyRecord.id)) is None


def test_idempotency_keys_belong_to_one_team(api, other_api):
    headers = {"Idempotency-Key": "shared-key"}

    ours = api.post("/v1/people", json=person_body(), headers=headers)
    theirs = other_api.post("/v1/people", json=person_body(), headers=headers)

    assert ours.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json["id"] != ours.json["id"]
    assert len(other_api.get("/v1/people").json["items"]) == 1


@pytest.mark.parametrize("key", ["k" * 256, "", "tab\there"])
def test_an_idempotency_key_that_is_too_long_empty_or_has_control_characters_is_refused(
    app, api, key
):
    before = event_count(app)

    response = api.post("/v1/people", json=person_body(), headers={"Idempotency-Key": key})

    assert "Idempotency-Key" in assert_problem(response, 422)["errors"]
    assert event_count(app) == before


def test_a_key_of_255_characters_is_fine(api):
    response = api.post("/v1/people", json=person_body(), headers={"Idempotency-Key": "k" * 255})

    assert response.status_code == 201


# --------------------------------------------------------------------------- ETags


def test_a_client_that_holds_the_current_etag_gets_304(api):
    person = create_person(api)
    etag = api.get(f"/v1/people/{person['id']}").headers["ETag"]

    response = api.get(f"/v1/people/{person['id']}", headers={"If-None-Match": etag})

    assert response.status_code == 304
    assert response.get_data() == b""


def test_the_etag_changes_with_every_write(api):
    project = create_project(api)
    path = f"/v1/projects/{project['id']}"
    before = api.get(path).headers["ETag"]

    api.patch(path, json={"description": "Now with a description"})
    after = api.get(path, headers={"If-None-Match": before})

    assert after.status_code == 200
    assert after.headers["ETag"] != before


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_write_based_on_a_stale_read_is_refused_and_changes_nothing(app, api, method):
    person = create_person(api, name="Ada")
    path = f"/v1/people/{person['id']}"
    stale = api.get(path).headers["ETag"]
    current = api.patch(path, json={"name": "Ada Lovelace"}).json
    before = event_count(app)

    response = api.request(method, path, json={"name": "Lost"}, headers={"If-Match": stale})

    assert_problem(response, 412)
    assert event_count(app) == before
    assert api.get(path).json == current


def test_archiving_a_project_honours_if_match_too(api):
    project = create_project(api)
    path = f"/v1/projects/{project['id']}"
    stale = api.get(path).headers["ETag"]
    api.patch(path, json={"name": "Renamed"})

    assert_problem(api.delete(path, headers={"If-Match": stale}), 412)
    assert api.get(path).json["status"] == "active"


def test_a_write_with_the_current_etag_succeeds(api):
    person = create_person(api)
    path = f"/v1/people/{person['id']}"
    etag = api.get(path).headers["ETag"]

    response = api.patch(path, json={"name": "Fresh"}, headers={"If-Match": etag})

    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert api.delete(path, headers={"If-Match": response.headers["ETag"]}).status_code == 204


# --------------------------------------------------------------------------- pagination


def _walk(api, path, limit):
    """Follow `next_cursor` from the first page to the last; returns the pages."""
    pages = [api.get(path, query_string={"limit": limit})]
    while pages[-1].json["next_cursor"]:
        cursor = pages[-1].json["next_cursor"]
        pages.append(api.get(path, query_string={"limit": limit, "cursor": cursor}))
    return pages


def test_seven_people_come_in_pages_of_three_without_duplicates_or_gaps(api):
    created = [create_person(api)["id"] for _ in range(7)]

    pages = _walk(api, "/v1/people", 3)

    assert [len(p.json["items"]) for p in pages] == [3, 3, 1]
    seen = [person["id"] for page in pages for person in page.json["items"]]
    assert seen == list(reversed(created))
    assert pages[-1].json["next_cursor"] is None
    assert "Link" not in pages[-1].headers


def test_the_link_header_points_at_the_next_page(api):
    for _ in range(4):
        create_project(api)

    first = api.get("/v1/projects?limit=3&status=all")
    (url,) = re.findall(r'<([^>]+)>; rel="next"', first.headers["Link"])
    second = api.get(url)

    assert f"cursor={first.json['next_cursor']}" in url
    assert "status=all" in url
    assert len(second.json["items"]) == 1
    assert second.json["items"][0]["id"] not in {p["id"] for p in first.json["items"]}


def test_an_event_feed_pages_like_any_list(api):
    for _ in range(5):
        create_person(api)

    pages = _walk(api, "/v1/events", 2)

    ids = [e["id"] for page in pages for e in page.json["items"]]
    assert len(ids) == len(set(ids)) == 7  # the team, its key and five people


def test_a_garbage_cursor_is_a_422_naming_the_cursor(api):
    body = assert_problem(api.get("/v1/people?cursor=not-a-cursor"), 422)

    assert "cursor" in body["errors"]


@pytest.mark.parametrize("limit", ["0", "201", "-1", "many", "99999999999999999999999"])
def test_a_limit_out_of_range_is_a_422_naming_the_limit(api, limit):
    body = assert_problem(api.get(f"/v1/people?limit={limit}"), 422)

    assert "limit" in body["errors"]


# --------------------------------------------------------------------------- request ids


def test_a_request_id_sent_by_the_client_is_echoed(api):
    response = api.get("/v1/people", headers={"X-Request-ID": "lb-7f3a.1"})

    assert response.headers["X-Request-ID"] == "lb-7f3a.1"


def test_a_request_id_is_made_when_none_is_sent_or_it_is_unusable(client, api):
    generated = client.get("/healthz").headers["X-Request-ID"]
    replaced = api.get("/v1/people", headers={"X-Request-ID": "bad id with spaces"})

    assert re.fullmatch(r"[0-9a-f]{24}", generated)
    assert replaced.headers["X-Request-ID"] != "bad id with spaces"
    assert replaced.headers["X-Request-ID"]


def test_every_response_carries_a_request_id_even_a_problem(client):
    response = client.get("/v1/people")

    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == response.json["request_id"]


# --------------------------------------------------------------------------- query counts


def _statements_to_list(api, count_queries, path):
    with count_queries() as counter:
        response = api.get(path, query_string={"limit": 200})
    assert response.status_code == 200
    return counter.count


def test_listing_people_costs_the_same_number_of_statements_for_3_or_30(api, count_queries):
    for _ in range(3):
        create_person(api)
    few = _statements_to_list(api, count_queries, "/v1/people")
    for _ in range(27):
        create_person(api)

    assert _statements_to_list(api, count_queries, "/v1/people") == few


def test_listing_projects_costs_the_same_number_of_statements_for_3_or_30(api, count_queries):
    for _ in range(3):
        create_project(api)
    few = _statements_to_list(api, count_queries, "/v1/projects")
    for _ in range(27):
        create_project(api)

    assert _statements_to_list(api, count_queries, "/v1/projects") == few


def test_listing_staffing_costs_the_same_number_of_statements_for_3_or_30(api, count_queries):
    project = create_project(api)
    path = f"/v1/projects/{project['id']}/assignments"
    for _ in range(3):
        assign(api, project, "data-scientist", create_person(api))
    few = _statements_to_list(api, count_queries, path)
    for _ in range(27):
        assign(api, project, "ux-designer", create_person(api))

    assert _statements_to_list(api, count_queries, path) == few
