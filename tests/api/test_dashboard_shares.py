"""Read-only share links to the team dashboard: an admin makes one; it opens that team's
dashboard (its page by default, JSON by `Accept`) without an API key and nothing else: not a
project's checklist, not another team's dashboard, no write, not after revocation or expiry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from checklist_support import generate
from factories import assert_problem, assign, create_person, create_project, events_of
from html_support import parse
from share_support import SECURITY_HEADERS, expire, link_path, link_token, make_share
from sqlalchemy import select

from app.extensions import db
from app.http.shares import share_use_log
from app.models import Event, ShareLink

SHARES = "/v1/dashboard/shares"


def _share(api: Any, **body: Any) -> dict[str, Any]:
    return make_share(api, SHARES, **body)


@pytest.fixture
def clinic(api) -> dict[str, Any]:
    project = create_project(api, name="Clinic notes", application="healthcare-solutions")
    assign(api, project, "data-scientist", create_person(api, name="Sue Shared"), allocation=80)
    generate(api, project, 201)
    return project


def test_an_admin_makes_a_link_that_opens_the_dashboard_page_without_a_key(
    app, api, client, clinic
):
    made = api.post(SHARES, json={"name": "Governance board"})

    assert made.status_code == 201, made.json
    share = made.json
    base = app.config["SETTINGS"].public_base_url.rstrip("/")
    assert share["url"].startswith(f"{base}/share/dashboard/")
    assert share["tickets"] is False and share["name"] == "Governance board"
    assert made.headers["Location"].endswith(f"{SHARES}/{share['id']}")
    page = client.get(link_path(share))
    assert page.status_code == 200, page.get_data(as_text=True)
    assert page.mimetype == "text/html"
    for name, value in SECURITY_HEADERS.items():
        assert page.headers[name] == value
    root, _ = parse(page.get_data(as_text=True))
    main = root.find("main")
    assert "Clinic notes" in main.text
    assert len(main.find_all("svg")) == 2  # the coverage and load pictures
    # JSON by Accept or format, the same numbers the API gives a key holder.
    with_key = api.get("/v1/dashboard").json
    for answer in (
        client.get(link_path(share), headers={"Accept": "application/json"}),
        client.get(link_path(share), query_string={"format": "json"}),
    ):
        assert answer.status_code == 200 and answer.mimetype == "application/json"
        assert answer.json["projects"] == with_key["projects"]
    assert_problem(client.get(link_path(share), headers={"Accept": "text/markdown"}), 406)
    # Listed and read without its URL.
    listed = api.get(SHARES).json["items"]
    assert [s["id"] for s in listed] == [share["id"]]
    read = api.get(f"{SHARES}/{share['id']}").json
    assert read == {k: v for k, v in share.items() if k != "url"}
    assert link_token(share) not in json.dumps(listed) + json.dumps(read)


def test_making_and_revoking_need_an_admin_key(make_api, api):
    writer = make_api(scopes=("read", "write"))
    share = _share(api)

    assert_problem(writer.post(SHARES, json={}), 403)
    assert_problem(writer.delete(f"{SHARES}/{share['id']}"), 403)
    assert writer.get(SHARES).status_code == 200
    assert [s["id"] for s in writer.get(SHARES).json["items"]] == [share["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"expires_in_days": 366}, "expires_in_days"),
        ({"tickets": True}, "tickets"),
        ({"name": ""}, "name"),
    ],
)
def test_a_bad_body_is_422_naming_the_field(api, body, field):
    problem = assert_problem(api.post(SHARES, json=body), 422)
    assert field in json.dumps(problem["errors"])
    assert api.get(SHARES).json["items"] == []


def test_the_link_opens_only_its_own_teams_dashboard(api, other_api, client, clinic):
    theirs = create_project(other_api, name="Their notes", application="other")
    their_share = _share(other_api)
    our_share = _share(api)

    ours = client.get(link_path(our_share), query_string={"format": "json"}).json
    their = client.get(link_path(their_share), query_string={"format": "json"}).json

    assert [p["id"] for p in ours["projects"]] == [clinic["id"]]
    assert [p["id"] for p in their["projects"]] == [theirs["id"]]
    # Each team sees only its own links.
    assert [s["id"] for s in api.get(SHARES).json["items"]] == [our_share["id"]]
    assert_problem(other_api.get(f"{SHARES}/{our_share['id']}"), 404)
    assert_problem(other_api.delete(f"{SHARES}/{our_share['id']}"), 404)
    assert client.get(link_path(our_share)).status_code == 200


def test_the_link_opens_nothing_else(api, client, clinic):
    share = _share(api)
    token = link_token(share)
    checklist_share = api.post(f"/v1/projects/{clinic['id']}/checklist/shares", json={}).json
    checklist_token = link_token(checklist_share)

    for path in (
        f"/share/{token}",  # a dashboard token is no checklist link
        f"/share/{token}.md",
        f"/share/dashboard/{checklist_token}",  # nor a checklist token a dashboard link
        f"/share/dashboard/{token}/projects",
        f"/share/dashboard/{token}.json",
        "/share/dashboard/",
        "/share/dashboard",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "Clinic notes" not in answer.get_data(as_text=True)
        assert answer.headers["Referrer-Policy"] == "no-referrer"
    # The token is no API key.
    for path in ("/v1/dashboard", SHARES, f"/v1/projects/{clinic['id']}/checklist"):
        assert_problem(client.get(path, headers={"Authorization": f"Bearer {token}"}), 401)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_link_writes_nothing(api, client, clinic, method):
    share = _share(api)

    answer = client.open(link_path(share), method=method, json={"name": "x"})

    assert_problem(answer, 405)
    assert "GET" in answer.headers["Allow"]
    assert api.get(f"{SHARES}/{share['id']}").json["revoked_at"] is None


def test_revoked_and_expired_links_are_the_same_404_as_an_unknown_one(app, api, client):
    revoked = _share(api)
    expired = _share(api)
    etag = api.get(f"{SHARES}/{revoked['id']}").headers["ETag"]
    stale = api.delete(f"{SHARES}/{revoked['id']}", headers={"If-Match": '"stale"'})
    assert_problem(stale, 412)
    assert api.delete(f"{SHARES}/{revoked['id']}", headers={"If-Match": etag}).status_code == 204
    assert api.delete(f"{SHARES}/{revoked['id']}").status_code == 204  # idempotent
    expire(app, expired)

    problems = [
        assert_problem(client.get(path), 404)
        for path in (link_path(revoked), link_path(expired), "/share/dashboard/" + "C" * 43)
    ]

    details = {(p["title"], p["detail"]) for p in problems}
    assert len(details) == 1
    assert len(events_of(api, type="dashboard.share.revoked")) == 1


def test_events_say_who_made_and_revoked_it_never_itslink_token(app, api):
    share = _share(api, name="Board")
    api.delete(f"{SHARES}/{share['id']}")

    created = events_of(api, type="dashboard.share.created")
    revoked = events_of(api, type="dashboard.share.revoked")
    assert [e["payload"]["share"]["id"] for e in created + revoked] == [share["id"]] * 2
    assert "project" not in created[0]["payload"]
    with app.app_context():
        stored = db.session.get(ShareLink, share["id"])
        assert stored.target == "dashboard" and stored.project_id is None
        assert stored.token is None
        payloads = [json.dumps(e.payload) for e in db.session.scalars(select(Event))]
    assert not any(link_token(share) in p for p in payloads)


def test_uses_are_counted_and_each_link_is_rate_limited(app, app_with, api, monkeypatch):
    share = _share(api)
    limited = app_with(share_rate_limit="2 per minute")
    monkeypatch.setattr(share_use_log(limited), "interval", 0)
    visitor = limited.test_client()

    answers = [visitor.get(link_path(share)) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    read = api.get(f"{SHARES}/{share['id']}").json
    assert read["uses"] == 2 and read["last_used_at"] is not None
