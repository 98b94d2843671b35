"""Concurrent writers, on real threads against the real database: no update is lost and no
work is done twice."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from checklist_support import generate, item_path, read_checklist, staffed_project
from factories import assert_problem, create_person, create_project, person_body


def _in_parallel(app, api, requests):
    """Run `(method, path, kwargs)` requests at once, each from its own client."""
    barrier = Barrier(len(requests))

    def send(request):
        method, path, kwargs = request
        client = app.test_client()
        headers = {"Authorization": f"Bearer {api.token}", **kwargs.pop("headers", {})}
        barrier.wait()
        return client.open(path, method=method, headers=headers, **kwargs)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def test_people_marking_different_items_at_once_all_succeed(app, api):
    project, _ = staffed_project(api)
    generate(api, project, 201)
    items = read_checklist(api, project)["items"]
    free = [i for i in items if not i["signoff_required"] and not i["evidence_required"]]
    keys = [item["key"] for item in free][:8]

    responses = _in_parallel(
        app,
        api,
        [("PATCH", item_path(project, key), {"json": {"status": "done"}}) for key in keys],
    )

    assert [r.status_code for r in responses] == [200] * len(keys)
    items = {i["key"]: i for i in read_checklist(api, project)["items"]}
    assert all(items[key]["status"] == "done" for key in keys)


def test_two_writers_holding_the_same_etag_cannot_both_win(app, api):
    person = create_person(api, name="Ada")
    etag = api.get(f"/v1/people/{person['id']}").headers["ETag"]

    responses = _in_parallel(
        app,
        api,
        [
            (
                "PATCH",
                f"/v1/people/{person['id']}",
                {"json": {"name": name}, "headers": {"If-Match": etag}},
            )
            for name in ("Ada Lovelace", "Ada Byron")
        ],
    )

    statuses = Counter(r.status_code for r in responses)
    assert statuses[200] == 1
    assert statuses[412] == 1  # never 409: the loser reads the new version under the lock
    winner = next(r for r in responses if r.status_code == 200)
    assert api.get(f"/v1/people/{person['id']}").json["name"] == winner.json["name"]


def test_a_retried_post_racing_its_first_try_creates_one_person(app, api):
    body = person_body(name="Grace", email="grace@example.com")
    key = {"Idempotency-Key": "create-grace-once"}

    responses = _in_parallel(
        app, api, [("POST", "/v1/people", {"json": body, "headers": dict(key)}) for _ in range(4)]
    )

    # The first does the work; the others wait for its claim, then replay its answer.
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.json["id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    assert len(api.get("/v1/people").json["items"]) == 1


def _staffing_write(kind, project, person):
    path = f"/v1/projects/{project['id']}/assignments"
    if kind == "PUT":
        body = {"assignments": [{"role": "ai-ethicist", "person_id": person["id"]}]}
        return ("PUT", path, {"json": body})
    if kind == "PUT by email":
        inline = {"name": person["name"], "email": person["email"].upper()}
        return ("PUT", path, {"json": {"assignments": [{"role": "ai-ethicist", "person": inline}]}})
    return ("POST", path, {"json": {"role": "ai-ethicist", "person_id": person["id"]}})


@pytest.mark.parametrize(
    ("kind", "field"),
    [("PUT", "assignments.0.person_id"), ("POST", "person_id"), ("PUT by email", None)],
)
def test_a_staffing_write_racing_the_deletion_of_its_person_is_a_404_naming_them(
    app, api, kind, field
):
    """The write read the person before the deletion committed and inserted after it: the
    foreign key failed, a generic 409 "conflicts with existing data" (39 rounds in 40). A
    person given by email is created anew instead (the transaction is retried)."""
    for _ in range(25):
        person = create_person(api)
        project = create_project(api)

        deleted, written = _in_parallel(
            app,
            api,
            [
                ("DELETE", f"/v1/people/{person['id']}", {}),
                _staffing_write(kind, project, person),
            ],
        )

        assert deleted.status_code == 204
        staffing = api.get(f"/v1/projects/{project['id']}/assignments").json["items"]
        if written.status_code == 404 and field is not None:
            body = assert_problem(written, 404)
            assert body["errors"] == {field: [f"No person '{person['id']}' in this team."]}
        elif written.status_code == 409:  # never the generic conflict
            assert assert_problem(written, 409)["type"].endswith(":concurrent-update")
            assert written.headers["Retry-After"]
        elif kind == "PUT by email" and any(a["person"]["id"] != person["id"] for a in staffing):
            # The deletion came first: the write made the person anew.
            assert written.status_code == 200, written.json
            assert [a["person"]["email"] for a in staffing] == [person["email"]]
        else:
            # The write came first: the deletion took the assignment with the person.
            assert written.status_code in (200, 201), written.json
            assert staffing == []
