"""The application factory, the probes, the OpenAPI description and database URL spellings."""

from __future__ import annotations

import dataclasses

import pytest

from app import create_app
from app.config import Settings, normalize_database_url

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/none"


@pytest.fixture(scope="module")
def spec():
    settings = dataclasses.replace(Settings.from_env(), database_url=UNREACHABLE)
    return create_app(settings, {"TESTING": True}).test_client().get("/openapi.json").json


def test_create_app_builds_an_app_from_settings():
    settings = dataclasses.replace(Settings.from_env(), database_url=UNREACHABLE)

    app = create_app(settings, {"TESTING": True, "MAX_CONTENT_LENGTH": 1234})

    assert app.testing
    assert app.config["SETTINGS"] is settings
    assert app.config["SQLALCHEMY_DATABASE_URI"] == UNREACHABLE
    assert app.config["MAX_CONTENT_LENGTH"] == 1234


def test_healthz_answers_without_a_database():
    settings = dataclasses.replace(Settings.from_env(), database_url=UNREACHABLE)

    response = create_app(settings, {"TESTING": True}).test_client().get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_openapi_documents_every_v1_operation_with_bearer_auth(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    operations = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert {
        ("GET", "/v1/catalog"),
        ("GET", "/v1/catalog/roles/{key}"),
        ("GET", "/v1/people"),
        ("POST", "/v1/people"),
        ("GET", "/v1/people/{person_id}"),
        ("PATCH", "/v1/people/{person_id}"),
        ("DELETE", "/v1/people/{person_id}"),
        ("GET", "/v1/projects"),
        ("POST", "/v1/projects"),
        ("GET", "/v1/projects/{project_ref}"),
        ("PATCH", "/v1/projects/{project_ref}"),
        ("DELETE", "/v1/projects/{project_ref}"),
        ("GET", "/v1/projects/{project_ref}/assignments"),
        ("POST", "/v1/projects/{project_ref}/assignments"),
        ("PUT", "/v1/projects/{project_ref}/assignments"),
        ("DELETE", "/v1/projects/{project_ref}/assignments/{assignment_id}"),
        ("GET", "/v1/projects/{project_ref}/events"),
        ("GET", "/v1/events"),
    } <= operations
    for path, item in spec["paths"].items():
        if path.startswith("/v1/inbound/"):
            # Ticketing systems sign their deliveries instead: no bearer token there.
            assert item["post"]["security"] == [], path
        elif path.startswith("/v1/"):
            for method, operation in item.items():
                if method != "parameters":
                    assert operation.get("security") != [], (method, path)


def test_openapi_describes_errors_as_problem_json(spec):
    default = spec["components"]["responses"]["DEFAULT_ERROR"]

    assert "application/problem+json" in default["content"]
    assert {"type", "title", "status", "detail", "errors"} <= set(
        spec["components"]["schemas"]["Problem"]["properties"]
    )
    post_people = spec["paths"]["/v1/people"]["post"]["responses"]
    assert post_people["422"]["$ref"].endswith("UNPROCESSABLE_ENTITY")
    unprocessable = spec["components"]["responses"]["UNPROCESSABLE_ENTITY"]
    assert "application/problem+json" in unprocessable["content"]


def test_the_probes_need_no_credentials(spec):
    for path in ("/healthz", "/readyz"):
        assert spec["paths"][path]["get"]["security"] == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/staffing", "postgresql+psycopg://u:p@db:5432/staffing"),
        ("postgresql://u:p@db/staffing", "postgresql+psycopg://u:p@db/staffing"),
        ("postgresql+psycopg://u@db/staffing", "postgresql+psycopg://u@db/staffing"),
        ("sqlite:///instance/staffing.db", "sqlite:///instance/staffing.db"),
    ],
)
def test_database_url_spellings_map_to_psycopg(given, expected):
    assert normalize_database_url(given) == expected


def test_database_url_from_the_environment_is_normalized(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/staffing")

    assert Settings.from_env().database_url == "postgresql+psycopg://u@db/staffing"


def test_the_openapi_description_documents_the_shared_headers_and_errors(client):
    spec = client.get("/openapi.json").json
    operations = {
        (method, path): operation
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }

    for (method, path), operation in operations.items():
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert "X-Request-ID" in headers, (method, path)
        assert {"401", "403", "429", "503"} <= operation["responses"].keys(), (method, path)
        if method == "post":
            assert "Idempotency-Key" in headers, path
        if method in {"patch", "put", "delete"}:
            assert "If-Match" in headers and "412" in operation["responses"], path
        if "{" in path:
            assert "404" in operation["responses"], (method, path)
    unauthorized = spec["components"]["responses"]["UNAUTHORIZED"]
    assert "application/problem+json" in unauthorized["content"]


def test_the_served_app_freezes_what_start_up_built_and_collects_in_larger_steps(tmp_path):
    """`wsgi.py` (gunicorn's and `flask`'s entry) leaves its process's collector tuned: its
    start-up objects frozen, the youngest generation collected at `YOUNG_THRESHOLD`."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from app.serving import YOUNG_THRESHOLD

    root = Path(__file__).resolve().parent.parent
    probe = "import gc, wsgi; print(gc.get_freeze_count(), *gc.get_threshold())"
    done = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", probe],
        cwd=root,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}"},
        capture_output=True,
        text=True,
        check=True,
    )
    frozen, young, middle, oldest = map(int, done.stdout.split()[-4:])

    assert frozen > 10_000  # the application's modules, schemas and mappers
    assert (young, middle, oldest) == (YOUNG_THRESHOLD, 10, 10)
