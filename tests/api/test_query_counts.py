"""What the hot requests cost in SQL statements: at most a small bound each, and the same
however much data the team holds (more projects, people, items, pages before the cursor).

Each request is made once untimed first (so the once-a-minute `last_used_at` write of the API
key and the first read of the catalog are out of the way), then counted. The bounds are what
each request needs, written down; a change that adds a statement per row (an N+1) or per
request fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from checklist_support import REVISION_RECORDING, generate, read_checklist, staff_key_roles
from factories import create_person, create_project

from app.services.checklists import reads as checklist_reads

Request = Callable[[Any, dict[str, Any]], Any]


def _checklist(api: Any, world: dict[str, Any], **query: Any) -> Any:
    return api.get(f"/v1/projects/{world['project']['id']}/checklist", query_string=query)


def _cold_checklist(api: Any, world: dict[str, Any]) -> Any:
    checklist_reads.render_cache.clear()
    checklist_reads.document_cache.clear()
    return _checklist(api, world)


def _not_modified(api: Any, world: dict[str, Any]) -> Any:
    return api.get(
        f"/v1/projects/{world['project']['id']}/checklist",
        headers={"If-None-Match": world["etag"]},
    )


def _hold_etag(api: Any, world: dict[str, Any]) -> None:
    world["etag"] = _checklist(api, world).headers["ETag"]


def _patch(api: Any, world: dict[str, Any]) -> Any:
    world["flip"] = "open" if world.get("flip") == "in_progress" else "in_progress"
    item = world["item"]
    return api.patch(
        f"/v1/projects/{world['project']['id']}/checklist/items/{item}",
        json={"status": world["flip"]},
    )


def _preview(api: Any, world: dict[str, Any]) -> Any:
    entries = [
        {"role": role, "person_id": person["id"]} for role, person in world["people"].items()
    ]
    return api.post(
        "/v1/checklists/preview",
        json={"project": {"name": "P", "application": "other"}, "assignments": entries},
    )


def _second_page(api: Any, world: dict[str, Any]) -> Any:
    first = api.get("/v1/projects", query_string={"limit": 2})
    return api.get("/v1/projects", query_string={"limit": 2, "cursor": first.json["next_cursor"]})


def _revisions(api: Any, world: dict[str, Any]) -> Any:
    path = f"/v1/projects/{world['project']['id']}/checklist/revisions"
    return api.get(path, query_string={"limit": 2})


def _revision(api: Any, world: dict[str, Any], **query: Any) -> Any:
    path = f"/v1/projects/{world['project']['id']}/checklist/revisions/1"
    return api.get(path, query_string=query)


def _revision_not_modified(api: Any, world: dict[str, Any]) -> Any:
    path = f"/v1/projects/{world['project']['id']}/checklist/revisions/1"
    return api.get(path, headers={"If-None-Match": world["revision_etag"]})


# endpoint -> (the most statements it may take, the request)
REQUESTS: dict[str, tuple[int, Request]] = {
    # key, checklist header; the rendering cached for that state
    "checklist JSON (cached)": (2, lambda api, w: _checklist(api, w)),
    "checklist 304": (2, _not_modified),
    # key, header, project + checklist, items, owners
    "checklist JSON (cold)": (5, _cold_checklist),
    "checklist Markdown (cold)": (
        5,
        lambda api, w: (
            checklist_reads.render_cache.clear(),
            checklist_reads.document_cache.clear(),
            _checklist(api, w, format="markdown"),
        )[-1],
    ),
    "checklist HTML (cold)": (
        5,
        lambda api, w: (
            checklist_reads.render_cache.clear(),
            checklist_reads.document_cache.clear(),
            _checklist(api, w, format="html"),
        )[-1],
    ),
    # key, catalog version
    "catalog": (2, lambda api, w: api.get("/v1/catalog")),
    # key, one page
    "projects, first page": (2, lambda api, w: api.get("/v1/projects", query_string={"limit": 2})),
    "projects, second page": (4, _second_page),
    "people, first page": (2, lambda api, w: api.get("/v1/people", query_string={"limit": 2})),
    # key, catalog version, people by id
    "preview": (3, _preview),
    # key, project + checklist, lock, item and owners, the write, the checklist's state, the
    # project's ticket link (for the event's links), its event and the outbox; the revision
    # recorded at the commit
    "item PATCH": (11 + REVISION_RECORDING, _patch),
    # key, project + checklist, one page of revisions
    "checklist revisions, a page": (3, _revisions),
    # key, checklist header, the revision, its item versions
    "checklist revision JSON": (4, _revision),
    "checklist revision Markdown": (4, lambda api, w: _revision(api, w, format="markdown")),
    "checklist revision HTML": (4, lambda api, w: _revision(api, w, format="html")),
    # key, checklist header (the ETag is known without reading the revision)
    "checklist revision 304": (2, _revision_not_modified),
    # key, catalog version, active projects, allocation totals, their assignments (people
    # joined), the over-allocated, every item's columns
    "dashboard": (7, lambda api, w: api.get("/v1/dashboard")),
    "dashboard page": (7, lambda api, w: api.get("/v1/dashboard", query_string={"format": "html"})),
    # key, person, waivers due, summary, one page of items, their owners, catalog
    "a person's items": (
        7,
        lambda api, w: api.get(
            f"/v1/people/{w['people']['data-scientist']['id']}/checklist-items",
            query_string={"limit": 5},
        ),
    ),
}


def _world(api: Any) -> dict[str, Any]:
    project = create_project(api, name="Measured", application="other")
    people = staff_key_roles(api, project)
    generate(api, project, 201)
    item = read_checklist(api, project, kind="responsibility")["items"][0]["id"]
    return {"project": project, "people": people, "item": item}


def _grow(api: Any, world: dict[str, Any], projects: int) -> None:
    """More of everything: projects sharing the measured project's people, each with its
    checklist, and people of their own; and revisions of the measured checklist."""
    for n in range(projects):
        api.patch(
            f"/v1/projects/{world['project']['id']}/checklist/items/{world['item']}",
            json={"note": f"Revision {n}"},
        )
    for n in range(projects):
        other = create_project(api, name=f"Grown {n}", application="other")
        for role, person in list(world["people"].items())[:2]:
            api.post(
                f"/v1/projects/{other['id']}/assignments",
                json={"role": role, "person_id": person["id"], "allocation": 10},
            )
        create_person(api, name=f"Newcomer {n}")
        generate(api, other, 201)


def _count(api: Any, count_queries: Any, world: dict[str, Any], request: Request) -> list[str]:
    if request is _not_modified:
        _hold_etag(api, world)
    if request is _revision_not_modified:
        world["revision_etag"] = _revision(api, world).headers["ETag"]
    request(api, world)  # warm: key use noted, catalog read
    with count_queries() as counter:
        response = request(api, world)
    assert response.status_code in (200, 304), response.get_data(as_text=True)
    return counter.statements


@pytest.mark.parametrize("endpoint", list(REQUESTS))
def test_a_hot_request_costs_a_bounded_number_of_statements_at_any_size(
    api, count_queries, endpoint
):
    bound, request = REQUESTS[endpoint]
    world = _world(api)

    small = _count(api, count_queries, world, request)
    _grow(api, world, 6)
    large = _count(api, count_queries, world, request)

    assert len(small) <= bound, "\n".join(small)
    assert len(large) == len(small), "\n".join(large)
