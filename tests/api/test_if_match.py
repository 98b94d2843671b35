"""Every operation whose description documents a 412 enforces `If-Match`: walked from
/openapi.json, each is sent an ETag its resource had before it changed, answers 412 and changes
nothing; the current ETag goes through."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from checklist_support import generate, item_path, patch_item, staffed_project
from factories import assert_problem, assign, create_person, create_project
from flask import Flask
from flask_smorest import Blueprint

from app import create_app
from app.config import Settings
from app.http.etags import check_if_match, honours_if_match


def _documented_412() -> list[tuple[str, str]]:
    """(method, path) of every operation of the description that documents a 412."""
    settings = dataclasses.replace(Settings.from_env(), database_url="sqlite://")
    spec = create_app(settings, {"TESTING": True}).test_client().get("/openapi.json").json
    return sorted(
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "412" in operation.get("responses", {})
    )


DOCUMENTED = _documented_412()


@dataclasses.dataclass
class Write:
    """A write to try on a resource: its URL and body, an ETag the resource had before it
    changed, and how to read back what the write would change."""

    url: str
    body: dict[str, Any] | None
    stale: str
    current: Callable[[], str]
    state: Callable[[], Any]


def _read(api: Any, url: str) -> Any:
    response = api.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _etag(api: Any, url: str) -> Callable[[], str]:
    return lambda: api.get(url).headers["ETag"]


def _person(api: Any, body: dict[str, Any] | None) -> Write:
    created = api.post("/v1/people", json={"name": "Ada", "email": "ada@example.com"})
    url = f"/v1/people/{created.json['id']}"
    assert api.patch(url, json={"name": "Ada Lovelace"}).status_code == 200
    return Write(url, body, created.headers["ETag"], _etag(api, url), lambda: _read(api, url))


def _project(api: Any, body: dict[str, Any] | None) -> Write:
    created = api.post("/v1/projects", json={"name": "Clinic notes", "application": "other"})
    url = f"/v1/projects/{created.json['id']}"
    assert api.patch(url, json={"description": "Notes for clinicians"}).status_code == 200
    return Write(url, body, created.headers["ETag"], _etag(api, url), lambda: _read(api, url))


def _staffing(api: Any, *, one: bool) -> Write:
    """The staffing is guarded by the project's ETag: adding a person makes the one read
    before stale."""
    project = create_project(api)
    project_url = f"/v1/projects/{project['id']}"
    stale = api.get(project_url).headers["ETag"]
    assignment = assign(api, project, "data-scientist", create_person(api))
    staffing_url = f"{project_url}/assignments"
    url = f"{staffing_url}/{assignment['id']}" if one else staffing_url
    body = None if one else {"assignments": []}
    return Write(url, body, stale, _etag(api, project_url), lambda: _read(api, staffing_url))


def _item(api: Any) -> Write:
    project, _ = staffed_project(api)
    generate(api, project, 201)
    key = "data-scientist.collect-and-preprocess-data"
    url = item_path(project, key)
    stale = api.get(url).headers["ETag"]
    assert patch_item(api, project, key, {"note": "Started"}).status_code == 200
    return Write(url, {"status": "done"}, stale, _etag(api, url), lambda: _read(api, url))


def _webhook(api: Any, body: dict[str, Any] | None) -> Write:
    created = api.post(
        "/v1/webhooks",
        json={"url": "https://93.184.216.34/hooks", "event_types": ["checklist.*"]},
    )
    assert created.status_code == 201, created.json
    url = f"/v1/webhooks/{created.json['id']}"
    assert api.patch(url, json={"description": "Checklist changes"}).status_code == 200
    return Write(url, body, created.headers["ETag"], _etag(api, url), lambda: _read(api, url))


def _integration(api: Any) -> Write:
    created = api.post("/v1/integrations", json={"provider": "github", "name": "acme/app"})
    assert created.status_code == 201, created.json
    url = f"/v1/integrations/{created.json['id']}"
    assert api.post(f"{url}/rotate-secret").status_code == 200
    return Write(url, None, created.headers["ETag"], _etag(api, url), lambda: _read(api, url))


def _integration_tickets(api: Any) -> Write:
    """An integration's tickets, replaced in part (a new token): after a rotation its first
    ETag is stale."""
    tickets = {"repository": "acme/app", "token": "ghp_if_match_token_0001", "min_priority": "high"}
    created = api.post(
        "/v1/integrations", json={"provider": "github", "name": "acme/app", "tickets": tickets}
    )
    assert created.status_code == 201, created.json
    url = f"/v1/integrations/{created.json['id']}"
    assert api.post(f"{url}/rotate-secret").status_code == 200
    body = {"tickets": {"token": "ghp_if_match_token_0002"}}
    return Write(url, body, created.headers["ETag"], _etag(api, url), lambda: _read(api, url))


def _personal_key(api: Any) -> Write:
    """A key changes only by being revoked; an ETag of another key is not this one's."""
    person = create_person(api)
    keys = f"/v1/people/{person['id']}/keys"
    other = api.post(keys, json={"name": "old laptop"})
    created = api.post(keys, json={"name": "laptop"})
    assert created.status_code == 201, created.json
    url = f"{keys}/{created.json['id']}"
    return Write(url, None, other.headers["ETag"], _etag(api, url), lambda: _read(api, url))


def _release(api: Any) -> Write:
    """A release's ETag changes with its project's checklist: the go/no-go the client saw."""
    project = create_project(api, application="other")
    generate(api, project, 201)
    url = f"/v1/projects/{project['id']}/releases/1.0.0"
    model = {"name": "gpt-4o", "version": "2024-08-06"}
    opened = api.post(
        f"/v1/projects/{project['id']}/releases", json={"version": "1.0.0", "model": model}
    )
    assert opened.status_code == 201, opened.json
    key = "data-scientist.collect-and-preprocess-data"
    assert patch_item(api, project, key, {"note": "Started"}).status_code == 200
    return Write(
        url, {"status": "shipped"}, opened.headers["ETag"], _etag(api, url), lambda: _read(api, url)
    )


def _share(api: Any) -> Write:
    """A share link changes only by being revoked; an ETag of another link is not this one's."""
    project = create_project(api, application="other")
    shares = f"/v1/projects/{project['id']}/checklist/shares"
    other = api.post(shares, json={"name": "old tracker"})
    created = api.post(shares, json={"name": "tracker"})
    assert created.status_code == 201, created.json
    url = f"{shares}/{created.json['id']}"
    return Write(url, None, other.headers["ETag"], _etag(api, url), lambda: _read(api, url))


def _dashboard_share(api: Any) -> Write:
    other = api.post("/v1/dashboard/shares", json={"name": "old board"})
    created = api.post("/v1/dashboard/shares", json={"name": "board"})
    assert created.status_code == 201, created.json
    url = f"/v1/dashboard/shares/{created.json['id']}"
    return Write(url, None, other.headers["ETag"], _etag(api, url), lambda: _read(api, url))


# How to make each operation's resource, and the write to try on it.
WRITES: dict[tuple[str, str], Callable[[Any], Write]] = {
    ("PATCH", "/v1/people/{person_id}"): lambda api: _person(api, {"name": "Lost update"}),
    ("DELETE", "/v1/people/{person_id}"): lambda api: _person(api, None),
    ("PATCH", "/v1/projects/{project_ref}"): lambda api: _project(api, {"name": "Lost update"}),
    ("DELETE", "/v1/projects/{project_ref}"): lambda api: _project(api, None),
    ("PUT", "/v1/projects/{project_ref}/assignments"): lambda api: _staffing(api, one=False),
    ("DELETE", "/v1/projects/{project_ref}/assignments/{assignment_id}"): lambda api: _staffing(
        api, one=True
    ),
    ("PATCH", "/v1/projects/{project_ref}/checklist/items/{item_ref}"): _item,
    ("PATCH", "/v1/webhooks/{endpoint_id}"): lambda api: _webhook(api, {"enabled": False}),
    ("DELETE", "/v1/webhooks/{endpoint_id}"): lambda api: _webhook(api, None),
    ("DELETE", "/v1/integrations/{integration_id}"): _integration,
    ("PATCH", "/v1/integrations/{integration_id}"): _integration_tickets,
    ("PATCH", "/v1/projects/{project_ref}/releases/{version}"): _release,
    ("DELETE", "/v1/people/{person_id}/keys/{key_id}"): _personal_key,
    ("DELETE", "/v1/projects/{project_ref}/checklist/shares/{share_id}"): _share,
    ("DELETE", "/v1/dashboard/shares/{share_id}"): _dashboard_share,
}


def test_the_description_documents_412_on_the_writes_known_to_honour_if_match():
    # Not empty, and each known one is there: a walk over nothing would prove nothing.
    assert set(WRITES) <= set(DOCUMENTED)


@pytest.mark.parametrize(("method", "path"), DOCUMENTED, ids=[" ".join(o) for o in DOCUMENTED])
def test_a_stale_if_match_is_412_and_changes_nothing(api, method, path):
    assert (method, path) in WRITES, f"{method} {path} documents a 412: add how to make it here"
    write = WRITES[(method, path)](api)
    before = write.state()
    current = write.current()
    assert current != write.stale

    response = api.request(method, write.url, json=write.body, headers={"If-Match": write.stale})

    problem = assert_problem(response, 412)
    assert "If-Match" in problem["detail"]
    assert write.state() == before
    assert write.current() == current
    # The ETag read now goes through: the 412 was for the stale one.
    applied = api.request(method, write.url, json=write.body, headers={"If-Match": current})
    assert applied.status_code in (200, 204), applied.get_data(as_text=True)


@dataclasses.dataclass
class _Row:
    id: str = "row_1"
    version: int = 1


def test_a_view_cannot_honour_if_match_without_checking_it_nor_check_it_unannounced():
    blueprint = Blueprint("rows", __name__)

    @honours_if_match(blueprint)
    def forgets() -> str:
        return "changed"

    def unannounced() -> str:
        check_if_match(_Row())
        return "changed"

    @honours_if_match(blueprint)
    def checks() -> str:
        check_if_match(_Row())
        return "changed"

    with Flask(__name__).test_request_context(method="DELETE", headers={"If-Match": '"x"'}):
        with pytest.raises(RuntimeError, match="never checked"):
            forgets()
        with pytest.raises(RuntimeError, match="not declared"):
            unannounced()
    with Flask(__name__).test_request_context(method="DELETE"):
        assert checks() == "changed"
    assert "412" in {str(status) for status in checks._apidoc["response"]["responses"]}
