"""Paths the API does not have: every 404 and 405 is problem+json, never an HTML page or an
HTML redirect, over the test client and over a real socket."""

from __future__ import annotations

import httpx
import pytest
from factories import assert_problem

UNKNOWN_PATHS = [
    "/v1/projects/",  # a trailing slash
    "/v1/people/per_x/",
    "/healthz/",
    "/v1//projects",  # a doubled slash: a 404, not a redirect to /v1/projects
    "//v1/projects",
    "/v1/nowhere",
    "/nowhere",
    "/docs/",
    "/v1/projects/%2e%2e/people",
]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_an_unknown_path_is_a_problem_not_a_page(api, path):
    response = api.get(path)

    body = assert_problem(response, 404)
    assert "Location" not in response.headers
    assert body["type"].endswith(":not-found")


def test_a_trailing_slash_says_where_the_resource_is(api):
    body = assert_problem(api.get("/v1/projects/"), 404)

    assert "try /v1/projects" in body["detail"]
    assert "try" not in assert_problem(api.get("/v1/nowhere/"), 404)["detail"]


def test_no_route_ends_with_a_slash_so_none_redirects(app):
    assert not app.url_map.merge_slashes
    assert [rule.rule for rule in app.url_map.iter_rules() if rule.rule.endswith("/")] == []


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/people", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("DELETE", "/healthz", {"GET", "HEAD", "OPTIONS"}),
        ("POST", "/v1/projects/x/staffing", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_a_method_not_allowed_is_a_problem_with_allow(api, method, path, allowed):
    response = api.request(method, path)

    assert_problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) == allowed


def test_over_a_socket_too(served, api):
    headers = {"Authorization": f"Bearer {api.token}", "Accept": "text/html"}
    with httpx.Client(base_url=served, headers=headers) as http:
        for path in ("/v1/projects/", "/v1//projects", "/nowhere"):
            response = http.get(path)
            assert response.status_code == 404, path
            assert response.headers["Content-Type"] == "application/problem+json"
        wrong = http.patch("/v1/people")
        assert wrong.status_code == 405
        assert wrong.headers["Content-Type"] == "application/problem+json"
