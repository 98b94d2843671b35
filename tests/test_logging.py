"""Logs a machine can trust: one JSON object a line, one access line a request, nothing forged.

Whatever a client puts in a path or a header is a JSON string value in the line: it cannot end
the line, add one, or set a field. No line holds an API key's secret.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import g
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.http.logs import log_handler
from app.models import ApiKey

ROOT = Path(__file__).resolve().parents[1]
ACCESS_FIELDS = {
    "time",
    "level",
    "logger",
    "message",
    "request_id",
    "team_id",
    "api_key_id",
    "method",
    "route",
    "path",
    "status",
    "latency_ms",
}


class Captured:
    """What the application's log handler wrote, from the test's start."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def lines(self) -> list[str]:
        # splitlines: also the separators a log shipper may split on (\r, \x1e, U+2028, ...).
        return self.buffer.getvalue().splitlines()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def access(self) -> list[dict[str, Any]]:
        return [record for record in self.records() if record["logger"] == "app.access"]


@pytest.fixture
def logs(app) -> Iterator[Captured]:
    captured = Captured()
    handler = log_handler(captured.buffer)
    root = logging.getLogger()
    access = logging.getLogger("app.access")
    level = access.level
    access.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        access.setLevel(level)


def _key_id(app, token: str) -> str:
    with app.app_context():
        keys = db.session.scalars(select(ApiKey)).all()
    (key,) = [key for key in keys if token.startswith(key.prefix)]
    return key.id


def test_a_request_is_one_json_line_with_its_fields(app, api, logs):
    response = api.get("/v1/people/per_nobody")

    (line,) = logs.lines()
    record = json.loads(line)
    assert record.keys() == ACCESS_FIELDS
    assert record["level"] == "INFO"
    assert record["logger"] == "app.access"
    assert record["request_id"] == response.headers["X-Request-ID"]
    assert record["team_id"] == api.team_id
    assert record["api_key_id"] == _key_id(app, api.token)
    assert record["method"] == "GET"
    assert record["route"] == "/v1/people/<string:person_id>"
    assert record["path"] == "/v1/people/per_nobody"
    assert record["status"] == 404
    assert isinstance(record["latency_ms"], float)
    assert record["latency_ms"] >= 0
    assert record["message"] == "GET /v1/people/<string:person_id> 404"


def test_every_request_gets_its_line(api, logs):
    api.post("/v1/people", json={"name": "Ada", "email": "ada@example.com"})
    api.get("/v1/people")
    api.get("/healthz")

    assert [(r["method"], r["route"], r["status"]) for r in logs.access()] == [
        ("POST", "/v1/people", 201),
        ("GET", "/v1/people", 200),
        ("GET", "/healthz", 200),
    ]


def test_a_request_refused_before_authentication_has_no_team_or_key(client, logs):
    response = client.get("/v1/people", headers={"Authorization": "Bearer sck_not-a-key"})

    (record,) = logs.records()
    assert response.status_code == 401
    assert record["status"] == 401
    assert record["team_id"] is None
    assert record["api_key_id"] is None


def test_an_unmatched_path_has_no_route_and_its_path_escaped(client, logs):
    client.get("/nowhere%0Aat all")

    (record,) = logs.records()
    assert record["route"] is None
    assert record["path"] == "/nowhere\nat all"
    assert record["status"] == 404


FORGERIES = [
    "%0A2026-01-01 00:00:00,000 ERROR app.errors: forged",
    '%0A{"level": "ERROR", "logger": "app.errors", "message": "forged"}',
    "%0D%0Aforged",
    "%0Dforged",
    '", "status": 200, "level": "ERROR", "team_id": "team_forged", "x": "',
    '"}%0A{"level": "ERROR',
    "\\",
    "%E2%80%A8forged",  # U+2028 LINE SEPARATOR
    "%1Eforged",  # RECORD SEPARATOR
    "%C2%85forged",  # NEXT LINE
    "%00forged",
]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_path_cannot_add_a_line_or_a_field(client, logs, forgery):
    response = client.get(f"/v1/people{forgery}")

    (line,) = logs.lines()
    record = json.loads(line)
    assert record.keys() == ACCESS_FIELDS
    assert record["level"] == "INFO"
    assert record["status"] == response.status_code != 200
    assert record["team_id"] is None
    assert record["path"].startswith("/v1/people")
    assert record["path"] == response.request.path


@pytest.mark.parametrize(
    "request_id",
    [
        "abc\n2026-01-01 00:00:00,000 ERROR app.errors: forged",
        'abc", "level": "ERROR',
        'abc\r\n{"level": "ERROR"}',
        "abc\n",  # a trailing newline passed a `^...$` check
        "abc\u2028forged",
    ],
)
def test_a_request_id_header_cannot_add_a_line_or_a_field(client, logs, request_id):
    # Raw in the environ: the test client's header check would refuse it before the app.
    response = client.get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": request_id})

    (line,) = logs.lines()
    record = json.loads(line)
    assert record.keys() == ACCESS_FIELDS
    assert record["level"] == "INFO"
    # Not a valid request id: replaced by one of ours, which the response carries.
    assert record["request_id"] == response.headers["X-Request-ID"]
    assert record["request_id"].isalnum()


def test_a_valid_request_id_is_kept(client, logs):
    response = client.get("/healthz", headers={"X-Request-ID": "trace-1.2:3_4"})

    (record,) = logs.records()
    assert record["request_id"] == response.headers["X-Request-ID"] == "trace-1.2:3_4"


def test_no_line_holds_an_api_key_secret(app, api, client, logs):
    created = api.post("/v1/people", json={"name": "Ada", "email": "ada@example.com"})
    api.get("/v1/people/per_nobody")
    api.post("/v1/people", json={"name": ""})
    client.get("/v1/people", headers={"Authorization": f"Bearer {api.token}x"})
    client.get("/v1/people", headers={"Authorization": "Basic " + api.token})

    output = logs.buffer.getvalue()
    assert created.status_code == 201
    assert len(logs.access()) == 5
    secret = api.token.removeprefix("sck_")
    assert api.token not in output
    assert secret not in output
    assert "Bearer" not in output
    assert "Authorization" not in output


def test_any_line_of_the_app_is_json_with_the_request_id(app, logs):
    with app.test_request_context("/"):
        g.request_id = "req-1"
        logging.getLogger("app.errors").error('boom\nERROR forged "line"')
        try:
            raise RuntimeError("failed\nERROR forged")
        except RuntimeError:
            logging.getLogger("app.errors").exception("unhandled error")

    first, second = logs.records()
    assert first["level"] == "ERROR"
    assert first["message"] == 'boom\nERROR forged "line"'
    assert first["request_id"] == "req-1"
    assert second["message"] == "unhandled error"
    assert "RuntimeError: failed\nERROR forged" in second["exc_info"]
    assert second["request_id"] == "req-1"


def test_the_app_logs_through_one_json_handler(app):
    again = create_app(app.config["SETTINGS"], {"TESTING": True})

    ours = [h for h in logging.getLogger().handlers if h.get_name() == "app"]
    assert len(ours) == 1
    assert type(ours[0].formatter).__name__ == "JsonFormatter"
    assert not again.logger.handlers  # Flask's text handler is off: lines go to ours


def test_a_process_of_the_app_writes_only_json_lines(tmp_path):
    """The configuration as served: everything the process logs on stderr is JSON lines."""
    script = textwrap.dedent(
        """
        from app import create_app
        app = create_app()
        client = app.test_client()
        client.get("/v1/people%0A2026-01-01 00:00:00,000 ERROR app.errors: forged")
        client.get("/healthz", headers={"Authorization": "Bearer sck_secret-in-a-header"})
        app.logger.error("through Flask's logger")
        """
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "LOG_LEVEL": "INFO",
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]
    access = [r for r in records if r["logger"] == "app.access"]
    assert [(r["route"], r["status"], r["level"]) for r in access] == [
        (None, 404, "INFO"),
        ("/healthz", 200, "INFO"),
    ]
    assert access[0]["path"] == "/v1/people\n2026-01-01 00:00:00,000 ERROR app.errors: forged"
    assert [r["message"] for r in records if r["level"] == "ERROR"] == ["through Flask's logger"]
    assert "sck_secret-in-a-header" not in result.stderr


def test_records_keep_the_process_that_gunicorns_own_lines_print(app):
    """The app's logging set-up leaves the process and thread on every record: gunicorn logs
    `[%(process)d]` in the same workers, and a record without it breaks its lines."""
    record = logging.getLogger("gunicorn.error").makeRecord(
        "gunicorn.error", logging.INFO, __file__, 1, "Worker exiting", (), None
    )

    assert isinstance(record.process, int) and isinstance(record.thread, int)
    assert logging.Formatter("[%(process)d] %(message)s").format(record).endswith("exiting")
