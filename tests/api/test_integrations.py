"""The integrations API: register a ticketing system, get its secret once and the URL to paste,
rotate, list what came in, remove it; admin changes, other teams see nothing."""

from __future__ import annotations

import pytest
from factories import assert_problem, create_project, events_of
from ticketing_support import create_integration, encode, github_headers, post_delivery

from app.services.ticketing.payloads import DEFAULT_STATUS_MAPS


def test_creating_an_integration_shows_its_secret_once_and_the_url_to_paste(api, app):
    response = api.post("/v1/integrations", json={"provider": "github", "name": "acme/app"})

    assert response.status_code == 201, response.json
    created = response.json
    base = app.config["SETTINGS"].public_base_url
    assert created["inbound_url"] == f"{base}/v1/inbound/{created['id']}"
    assert len(created["secret"]) >= 32
    assert created["verification"] == "signature"
    assert created["status_map"] == DEFAULT_STATUS_MAPS["github"]
    assert response.headers["Location"] == f"/v1/integrations/{created['id']}"
    read = api.get(f"/v1/integrations/{created['id']}")
    assert read.status_code == 200
    assert "secret" not in read.json
    assert read.json["inbound_url"] == created["inbound_url"]
    assert read.headers["ETag"]
    listed = api.get("/v1/integrations").json["items"]
    assert [i["id"] for i in listed] == [created["id"]]
    assert "secret" not in listed[0]
    event = events_of(api, type="integration.created")[0]
    assert created["secret"] not in str(event)


def test_overrides_are_merged_over_the_provider_defaults(api):
    created = create_integration(api, "jira", status_map={"indeterminate": "ignore"})

    assert created["status_map"] == {"new": "open", "indeterminate": "ignore", "done": "done"}


def test_a_given_secret_is_kept_as_linear_makes_its_own(api):
    created = create_integration(api, "linear", secret="lin_wh_0123456789abcdefABCDEF")

    assert created["secret"] == "lin_wh_0123456789abcdefABCDEF"


def test_generic_integrations_get_a_standard_webhooks_secret(api):
    created = create_integration(api, "generic")

    assert created["secret"].startswith("whsec_")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"provider": "gitlab", "name": "x"}, {"provider"}),
        ({"name": "x"}, {"provider"}),
        ({"provider": "github"}, {"name"}),
        ({"provider": "github", "name": "x", "verification": "token"}, {"verification"}),
        (
            {"provider": "github", "name": "x", "status_map": {"merged": "done"}},
            {"status_map.merged"},
        ),
        ({"provider": "jira", "name": "x", "status_map": {"done": "closed"}}, {"status_map.done"}),
        ({"provider": "generic", "name": "x", "secret": "not-a-standard-secret"}, {"secret"}),
        ({"provider": "github", "name": "x", "secret": "short"}, {"secret"}),
        ({"provider": "github", "name": "x", "project_id": "prj_nope"}, {"project_id"}),
        ({"provider": "github", "name": "x", "colour": "red"}, {"colour"}),
    ],
)
def test_invalid_settings_are_422_naming_the_field(api, body, fields):
    problem = assert_problem(api.post("/v1/integrations", json=body), 422)

    assert fields <= set(problem["errors"]), problem


def test_changes_need_the_admin_scope_and_reads_need_read(make_api):
    admin = make_api()
    writer = make_api(scopes=("read", "write"))
    created = create_integration(admin, "github")

    assert_problem(writer.post("/v1/integrations", json={"provider": "github", "name": "x"}), 403)
    assert_problem(writer.delete(f"/v1/integrations/{created['id']}"), 403)
    assert_problem(writer.post(f"/v1/integrations/{created['id']}/rotate-secret"), 403)
    assert writer.get(f"/v1/integrations/{created['id']}").status_code == 200
    assert writer.get(f"/v1/integrations/{created['id']}/deliveries").status_code == 200


def test_another_teams_integrations_do_not_exist(api, other_api):
    created = create_integration(api, "github")

    assert_problem(other_api.get(f"/v1/integrations/{created['id']}"), 404)
    assert_problem(other_api.get(f"/v1/integrations/{created['id']}/deliveries"), 404)
    assert_problem(other_api.delete(f"/v1/integrations/{created['id']}"), 404)
    assert_problem(other_api.post(f"/v1/integrations/{created['id']}/rotate-secret"), 404)
    assert other_api.get("/v1/integrations").json["items"] == []


def test_rotating_gives_a_new_secret_once_or_takes_the_one_given(api):
    created = create_integration(api, "linear")

    made = api.post(f"/v1/integrations/{created['id']}/rotate-secret")
    given = api.post(
        f"/v1/integrations/{created['id']}/rotate-secret",
        json={"secret": "lin_wh_from_linear_settings_page"},
    )

    assert made.status_code == 200, made.json
    assert made.json["secret"] not in (created["secret"], None)
    assert made.json["previous_secret_expires_at"]
    assert given.json["secret"] == "lin_wh_from_linear_settings_page"
    assert "secret" not in api.get(f"/v1/integrations/{created['id']}").json
    assert events_of(api, type="integration.secret_rotated")


def test_deleting_removes_the_integration_and_its_record(api, client):
    created = create_integration(api, "github")
    body = encode({"zen": "hello"})
    post_delivery(client, created, body, github_headers(created["secret"], body, event="ping"))
    etag = api.get(f"/v1/integrations/{created['id']}").headers["ETag"]

    stale = api.delete(f"/v1/integrations/{created['id']}", headers={"If-Match": '"stale"'})
    response = api.delete(f"/v1/integrations/{created['id']}", headers={"If-Match": etag})

    assert_problem(stale, 412)
    assert response.status_code == 204
    assert_problem(api.get(f"/v1/integrations/{created['id']}"), 404)
    assert events_of(api, type="integration.deleted")


def test_an_integration_may_be_scoped_to_a_project(api):
    project = create_project(api)
    created = create_integration(api, "github", project_id=project["id"])

    assert api.get(f"/v1/integrations/{created['id']}").json["project_id"] == project["id"]


def test_the_delivery_record_is_paginated_and_filtered_by_outcome(api, client):
    created = create_integration(api, "github")
    for n in range(3):
        body = encode({"zen": f"ping {n}"})
        post_delivery(client, created, body, github_headers(created["secret"], body, event="ping"))
    body = encode({"ref": "refs/heads/main"})
    post_delivery(client, created, body, github_headers(created["secret"], body, event="push"))
    path = f"/v1/integrations/{created['id']}/deliveries"

    first = api.get(path, query_string={"limit": 2})
    second = api.get(path, query_string={"limit": 2, "cursor": first.json["next_cursor"]})
    ignored = api.get(path, query_string={"outcome": "ignored"})

    assert [d["outcome"] for d in first.json["items"]] == ["ignored", "ping"]
    assert [d["outcome"] for d in second.json["items"]] == ["ping", "ping"]
    assert second.json["next_cursor"] is None
    assert [d["event"] for d in ignored.json["items"]] == ["push"]
    assert first.headers["Link"]


def test_integrations_are_documented_in_the_openapi_description(client):
    spec = client.get("/openapi.json").json

    assert {"get", "post"} <= spec["paths"]["/v1/integrations"].keys()
    inbound = spec["paths"]["/v1/inbound/{integration_id}"]["post"]
    assert inbound["security"] == []
    assert {"200", "202", "400", "401", "404", "413"} <= inbound["responses"].keys()
