"""Read-only share links: a link opens its project's checklist without an API key, in every
format, and nothing else (no other project, no write, not after revocation or expiry); its
token is shown once and only its hash is stored; each use is counted and each link has its own
rate limit."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from checklist_support import generate, patch_item
from factories import assert_problem, assign, create_person, create_project, events_of
from flask import Flask
from share_support import SECURITY_HEADERS, expire, link_path, link_token, make_share
from sqlalchemy import select

from app.extensions import db
from app.http.formats import SUFFIXES
from app.http.shares import share_use_log
from app.models import Event, IdempotencyRecord, ShareLink, utcnow
from app.render import FORMATS

KEY = "data-scientist.collect-and-preprocess-data"


def _shares(project: dict[str, Any]) -> str:
    return f"/v1/projects/{project['id']}/checklist/shares"


def _share(api: Any, project: dict[str, Any], **body: Any) -> dict[str, Any]:
    return make_share(api, _shares(project), **body)


@pytest.fixture
def project(api) -> dict[str, Any]:
    created = create_project(api, name="Clinic notes", application="other")
    generate(api, created, 201)
    return created


# --------------------------------------------------------------------------- made, listed, revoked


def test_a_link_is_made_with_its_url_shown_once_and_listed_without_it(app, api, project):
    made = api.post(_shares(project), json={"name": "Jira tickets"})

    assert made.status_code == 201, made.json
    share = made.json
    assert set(share) == {
        "id",
        "url",
        "expires_at",
        "name",
        "created_at",
        "uses",
        "last_used_at",
        "revoked_at",
        "tickets",
    }
    assert share["name"] == "Jira tickets" and share["tickets"] is False
    assert share["uses"] == 0 and share["last_used_at"] is None and share["revoked_at"] is None
    base = app.config["SETTINGS"].public_base_url.rstrip("/")
    assert share["url"].startswith(f"{base}/share/")
    assert len(link_token(share)) >= 43  # 32 random bytes, URL-safe base64
    lifetime = _parse(share["expires_at"]) - _parse(share["created_at"])
    assert lifetime == timedelta(days=30)
    assert made.headers["Location"].endswith(f"{_shares(project)}/{share['id']}")

    listed = api.get(_shares(project))
    read = api.get(f"{_shares(project)}/{share['id']}")
    assert listed.status_code == 200 and read.status_code == 200
    assert [s["id"] for s in listed.json["items"]] == [share["id"]]
    for answer in (listed, read):
        assert link_token(share) not in answer.get_data(as_text=True)
        assert "url" not in json.dumps(answer.json)
    assert read.json == {k: v for k, v in share.items() if k != "url"}


def test_links_are_listed_newest_first_and_paginated(api, project):
    made = [_share(api, project, name=f"link {n}")["id"] for n in range(3)]

    first = api.get(_shares(project), query_string={"limit": 2})
    rest = api.get(_shares(project), query_string={"limit": 2, "cursor": first.json["next_cursor"]})

    assert [s["id"] for s in first.json["items"] + rest.json["items"]] == made[::-1]
    assert rest.json["next_cursor"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires_in_days": 0}, "expires_in_days"),
        ({"expires_in_days": 366}, "expires_in_days"),
        ({"expires_in_days": "30"}, "expires_in_days"),
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"token": "mine"}, "token"),
    ],
)
def test_a_bad_body_is_422_naming_the_field(api, project, body, field):
    problem = assert_problem(api.post(_shares(project), json=body), 422)
    assert field in json.dumps(problem["errors"])


def test_a_link_expires_within_the_days_asked_a_year_at_most(api, project):
    share = _share(api, project, expires_in_days=365)
    assert _parse(share["expires_at"]) - _parse(share["created_at"]) == timedelta(days=365)


def test_only_the_tokens_hash_is_stored_and_no_event_holds_it(app, api, project):
    share = _share(api, project, name="Tracker")
    token = link_token(share)
    api.delete(f"{_shares(project)}/{share['id']}")

    with app.app_context():
        stored = db.session.get(ShareLink, share["id"])
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        rows = [repr(r.__dict__) for r in db.session.scalars(select(ShareLink))]
        events = [json.dumps(e.payload) for e in db.session.scalars(select(Event))]
    assert not any(token in row for row in rows)
    assert not any(token in event for event in events)
    types = [e["type"] for e in events_of(api, type="checklist.share.created")]
    types += [e["type"] for e in events_of(api, type="checklist.share.revoked")]
    assert types == ["checklist.share.created", "checklist.share.revoked"]
    created = events_of(api, type="checklist.share.created")[0]
    assert created["payload"]["share"]["id"] == share["id"]
    assert created["payload"]["project"]["id"] == project["id"]


def test_a_retry_with_the_idempotency_key_does_not_replay_the_url(app, api, project):
    headers = {"Idempotency-Key": "share-1"}

    first = api.post(_shares(project), json={"name": "Tracker"}, headers=headers)
    again = api.post(_shares(project), json={"name": "Tracker"}, headers=headers)

    assert first.status_code == 201
    with app.app_context():
        ((status, body),) = [
            (r.status_code, r.response_body) for r in db.session.scalars(select(IdempotencyRecord))
        ]
    assert status == 201 and body is None
    problem = assert_problem(again, 409)
    assert "shown only once" in problem["detail"]
    assert again.headers["Location"] == first.headers["Location"]
    assert len(api.get(_shares(project)).json["items"]) == 1


def test_revoking_is_idempotent_and_keeps_the_link_listed(api, project):
    share = _share(api, project)
    url = f"{_shares(project)}/{share['id']}"

    assert api.delete(url).status_code == 204
    assert api.delete(url).status_code == 204

    listed = api.get(_shares(project)).json["items"]
    assert listed[0]["revoked_at"] is not None
    assert len(events_of(api, type="checklist.share.revoked")) == 1


def test_making_and_revoking_need_a_write_key(make_api, project, api):
    reader = make_api(scopes=("read",))
    share = _share(api, project)

    assert_problem(reader.post(_shares(project), json={}), 403)
    assert_problem(reader.delete(f"{_shares(project)}/{share['id']}"), 403)
    assert reader.get(_shares(project)).status_code == 200


# --------------------------------------------------------------------------- opening the link


def test_the_link_opens_the_checklist_without_a_key_in_every_format(api, client, project):
    share = _share(api, project)
    path = link_path(share)
    with_key = api.get(f"/v1/projects/{project['id']}/checklist").json

    default = client.get(path)
    assert default.status_code == 200, default.get_data(as_text=True)
    assert default.mimetype == FORMATS["html" if "html" in FORMATS else "markdown"]
    assert "Clinic notes" in default.get_data(as_text=True)
    for name, value in SECURITY_HEADERS.items():
        assert default.headers[name] == value
    for fmt, mimetype in FORMATS.items():
        by_accept = client.get(path, headers={"Accept": mimetype})
        by_query = client.get(path, query_string={"format": fmt})
        for answer in (by_accept, by_query):
            assert answer.status_code == 200, (fmt, answer.get_data(as_text=True))
            assert answer.mimetype == mimetype
            assert answer.headers["Cache-Control"] == "private, no-store"
        if fmt == "json":
            assert by_query.json["items"] == with_key["items"]
    for fmt, suffix in SUFFIXES.items():
        answer = client.get(f"{path}.{suffix}", headers={"Accept": "application/json"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.mimetype == FORMATS[fmt]
    # curl's `*/*` gets the default too; HEAD answers as GET does.
    assert client.get(path, headers={"Accept": "*/*"}).mimetype == default.mimetype
    assert client.head(path).status_code == 200


def test_the_link_shows_the_checklist_as_it_is_now_and_answers_304_to_its_etag(
    api, client, project
):
    share = _share(api, project)
    path = link_path(share)
    before = client.get(path, query_string={"format": "json"})

    patch_item(api, project, KEY, {"status": "in_progress"})

    after = client.get(path, query_string={"format": "json"})
    statuses = {i["key"]: i["status"] for i in after.json["items"]}
    assert statuses[KEY] == "in_progress"
    assert after.headers["ETag"] != before.headers["ETag"]
    unchanged = client.get(
        path, query_string={"format": "json"}, headers={"If-None-Match": after.headers["ETag"]}
    )
    assert unchanged.status_code == 304


def test_the_link_filters_as_the_checklist_does_and_refuses_unknown_parameters(
    api, client, project
):
    path = link_path(_share(api, project))

    filtered = client.get(path, query_string={"format": "json", "status": "done"})
    assert filtered.status_code == 200 and filtered.json["items"] == []
    assert_problem(client.get(path, query_string={"project": "other"}), 422)
    assert_problem(client.get(path, query_string={"format": "pdf"}), 406)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_link_writes_nothing(api, client, project, method):
    share = _share(api, project)
    before = api.get(f"/v1/projects/{project['id']}/checklist").json

    for path in (link_path(share), f"{link_path(share)}.md"):
        answer = client.open(path, method=method, json={"status": "done"})
        assert_problem(answer, 405)
        assert "GET" in answer.headers["Allow"]
    assert api.get(f"/v1/projects/{project['id']}/checklist").json == before
    assert api.get(f"{_shares(project)}/{share['id']}").json["revoked_at"] is None


def test_the_link_opens_nothing_else(api, other_api, client, project):
    share = _share(api, project)
    token = link_token(share)
    other = create_project(api, name="Music", application="music-composition")
    generate(api, other, 201)

    for path in (
        f"/share/{token}/items/{KEY}",
        f"/share/{token}/projects/{other['id']}/checklist",
        f"/share/{token}/../{other['id']}",
        f"/share/{token}.pdf",
        f"/share/{token}.json/x",
        "/share/",
        "/share",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "Clinic notes" not in answer.get_data(as_text=True)
    # The token is no API key, of this team or any.
    for path in (f"/v1/projects/{project['id']}/checklist", f"/v1/projects/{other['id']}"):
        assert_problem(client.get(path, headers={"Authorization": f"Bearer {token}"}), 401)
    # Another team sees neither the link nor the project's links.
    assert_problem(other_api.get(f"{_shares(project)}/{share['id']}"), 404)
    assert_problem(other_api.get(_shares(project)), 404)
    assert_problem(other_api.delete(f"{_shares(project)}/{share['id']}"), 404)
    assert_problem(api.get(f"{_shares(other)}/{share['id']}"), 404)
    assert client.get(link_path(share)).status_code == 200  # all of that left it live


def test_another_teams_link_opens_only_its_own_project(api, other_api, client, project):
    theirs = create_project(other_api, name="Their notes", application="other")
    generate(other_api, theirs, 201)
    their_share = _share(other_api, theirs)
    our_share = _share(api, project)

    ours = client.get(link_path(our_share), query_string={"format": "json"}).json
    their = client.get(link_path(their_share), query_string={"format": "json"}).json

    assert ours["project"]["id"] == project["id"]
    assert their["project"]["id"] == theirs["id"]
    assert [s["id"] for s in api.get(_shares(project)).json["items"]] == [our_share["id"]]


def _problem_alike(answer: Any) -> dict[str, Any]:
    body = assert_problem(answer, 404)
    return {k: v for k, v in body.items() if k not in ("instance", "request_id")}


def test_unknown_revoked_and_expired_links_are_the_same_404(app, api, client, project):
    revoked = _share(api, project)
    expired = _share(api, project)
    assert api.delete(f"{_shares(project)}/{revoked['id']}").status_code == 204
    expire(app, expired)

    answers = [
        client.get(link_path(revoked)),
        client.get(link_path(expired)),
        client.get("/share/" + "A" * 43),
        client.get(f"{link_path(revoked)}.md"),
    ]

    problems = [_problem_alike(a) for a in answers]
    assert all(p == problems[0] for p in problems)
    for answer in answers:
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers[name] == value
    # The expired one is still listed, with the expiry that passed.
    listed = {s["id"]: s for s in api.get(_shares(project)).json["items"]}
    assert _parse(listed[expired["id"]]["expires_at"]) < utcnow()


def test_a_link_to_a_project_without_a_checklist_is_404(api, client):
    bare = create_project(api, name="Not generated", application="other")
    share = _share(api, bare)

    assert_problem(client.get(link_path(share)), 404)


# --------------------------------------------------------------------------- the ticket link


def _item_events(api: Any) -> list[dict[str, Any]]:
    return events_of(api, type="checklist.item.updated")


def test_a_ticket_link_is_written_into_item_events_and_ticket_texts(app, api, client, project):
    plain = _share(api, project, name="For the board")
    patch_item(api, project, KEY, {"note": "Before the ticket link"})
    ticket_link = _share(api, project, name="Jira", tickets=True, expires_in_days=90)
    patch_item(api, project, KEY, {"note": "With the ticket link"})

    after, before = _item_events(api)[:2]
    assert before["payload"]["item"]["links"]["share"] is None
    assert plain["url"] not in json.dumps(before["payload"])
    links = after["payload"]["item"]["links"]
    assert links["share"] == ticket_link["url"]
    assert ticket_link["tickets"] is True
    body = after["payload"]["ticket"]["body"]
    assert f"- Checklist page (opens without an API key): {ticket_link['url']}" in body
    # The link in the ticket opens the checklist for whoever reads the ticket.
    page = client.get(link_path(ticket_link))
    assert page.status_code == 200 and "Clinic notes" in page.get_data(as_text=True)
    # A regeneration's event links to it too.
    assign(api, project, "data-scientist", create_person(api))
    (generated, *_) = events_of(api, type="checklist.generated")
    assert generated["payload"]["links"]["share"] == ticket_link["url"]
    # It is the one token kept: a plain link's is not.
    with app.app_context():
        kept = {s.id: s.token for s in db.session.scalars(select(ShareLink))}
    assert kept == {plain["id"]: None, ticket_link["id"]: link_token(ticket_link)}


def test_the_newest_live_ticket_link_is_used_and_none_once_revoked_or_expired(app, api, project):
    older = _share(api, project, tickets=True)
    newer = _share(api, project, tickets=True)

    patch_item(api, project, KEY, {"note": "Two ticket links"})
    assert _item_events(api)[0]["payload"]["item"]["links"]["share"] == newer["url"]

    assert api.delete(f"{_shares(project)}/{newer['id']}").status_code == 204
    patch_item(api, project, KEY, {"note": "The newer revoked"})
    assert _item_events(api)[0]["payload"]["item"]["links"]["share"] == older["url"]

    expire(app, older)
    patch_item(api, project, KEY, {"note": "The older expired"})
    latest = _item_events(api)[0]["payload"]
    assert latest["item"]["links"]["share"] is None
    assert "Checklist page" not in latest["ticket"]["body"]
    # A revoked ticket link's token is dropped: nothing will write it again.
    with app.app_context():
        assert db.session.get(ShareLink, newer["id"]).token is None
    read = api.get(f"{_shares(project)}/{newer['id']}").json
    assert read["tickets"] is True and read["revoked_at"] is not None


def test_a_ticket_link_is_the_projects_own(api, project):
    other = create_project(api, name="Music", application="music-composition")
    generate(api, other, 201)
    _share(api, project, tickets=True)

    patch_item(api, other, KEY, {"note": "Not the clinic's"})

    assert _item_events(api)[0]["payload"]["project"]["id"] == other["id"]
    assert _item_events(api)[0]["payload"]["item"]["links"]["share"] is None


@pytest.mark.parametrize("tickets", ["yes", 1, None])
def test_tickets_must_be_a_boolean(api, project, tickets):
    problem = assert_problem(api.post(_shares(project), json={"tickets": tickets}), 422)
    assert "tickets" in problem["errors"]


# --------------------------------------------------------------------------- uses and limits


def _uses(app: Flask, share_id: str) -> tuple[int, Any]:
    with app.app_context():
        stored = db.session.get(ShareLink, share_id)
        return stored.uses, stored.last_used_at


def test_uses_are_counted_in_memory_and_written_in_a_batch_outside_the_reads(
    app, api, client, project, count_queries, monkeypatch
):
    share = _share(api, project)
    uses = share_use_log(app)

    with count_queries() as counter:
        for _ in range(3):
            assert client.get(link_path(share)).status_code == 200
    # The reads wrote nothing (the interval has not passed): noted in memory.
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in counter.statements)
    assert _uses(app, share["id"]) == (0, None)
    assert uses.pending_counts()[share["id"]] == 3

    monkeypatch.setattr(uses, "interval", 0)  # as if the interval had passed
    assert client.get(f"{link_path(share)}.txt").status_code == 200

    count, last_used = _uses(app, share["id"])
    assert count == 4
    assert last_used is not None and (utcnow() - last_used).total_seconds() < 60
    assert uses.pending_counts() == {}
    read = api.get(f"{_shares(project)}/{share['id']}").json
    assert read["uses"] == 4 and read["last_used_at"] is not None


def test_a_refused_open_is_not_a_use(app, api, client, project, monkeypatch):
    share = _share(api, project)
    uses = share_use_log(app)
    monkeypatch.setattr(uses, "interval", 0)

    assert client.post(link_path(share)).status_code == 405
    assert client.get(link_path(share), query_string={"format": "pdf"}).status_code == 406
    assert client.get(f"/share/{link_token(share)}/x").status_code == 404

    assert _uses(app, share["id"])[0] == 0


def test_each_link_is_rate_limited_on_its_own(app_with, api, project):
    limited = app_with(share_rate_limit="2 per minute").test_client()
    share = _share(api, project)
    other = _share(api, project)

    answers = [limited.get(link_path(share)) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    problem = assert_problem(answers[-1], 429)
    assert "2 per 1 minute" in problem["detail"]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].headers["Referrer-Policy"] == "no-referrer"
    # Another link, and the API key of the team, have budgets of their own.
    assert limited.get(link_path(other)).status_code == 200
    assert (
        limited.get(_shares(project), headers={"Authorization": f"Bearer {api.token}"}).status_code
        == 200
    )


def test_unknown_links_count_against_the_address(app_with, client):
    limited = app_with(rate_limit="2 per minute").test_client()
    address = {"environ_base": {"REMOTE_ADDR": "198.51.100.7"}}

    answers = [limited.get("/share/" + "B" * 43, **address) for _ in range(3)]

    assert [a.status_code for a in answers] == [404, 404, 429]


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)
