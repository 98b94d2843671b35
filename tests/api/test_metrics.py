"""Prometheus metrics: what the service counts, in-process and across gunicorn workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from checklist_support import generate, read_checklist, staffed_project
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_are_counted_by_route_not_by_path(client, api):
    route = {"method": "GET", "route": "/v1/people/<string:person_id>", "status": "404"}
    before = _sample("http_requests_total", **route)

    api.get("/v1/people/per_nobody")
    api.get("/v1/people/per_someone_else")
    body = client.get("/metrics")

    assert body.status_code == 200
    assert body.content_type.startswith("text/plain")
    assert _sample("http_requests_total", **route) == before + 2
    assert "http_request_duration_seconds_bucket" in body.get_data(as_text=True)


def test_regenerations_and_render_cache_hits_are_counted(api):
    project, _ = staffed_project(api)
    changed = _sample("checklist_regenerations_total", outcome="changed")
    unchanged = _sample("checklist_regenerations_total", outcome="unchanged")
    hits = _sample("checklist_renders_total", cache="hit")
    misses = _sample("checklist_renders_total", cache="miss")

    generate(api, project, 201)
    generate(api, project, 200)
    read_checklist(api, project, format="text")
    read_checklist(api, project, format="text")

    assert _sample("checklist_regenerations_total", outcome="changed") == changed + 1
    assert _sample("checklist_regenerations_total", outcome="unchanged") == unchanged + 1
    # Rendered: the first POST's JSON and the first text read; served from the cache: the
    # unchanged regeneration's JSON and the second text read.
    assert _sample("checklist_renders_total", cache="miss") == misses + 2
    assert _sample("checklist_renders_total", cache="hit") == hits + 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own server
        return response.read().decode()


def test_gunicorn_workers_report_their_requests_together(app, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            # Waiting on another route: a probe that timed out under load but was answered
            # later would otherwise add to the count below.
            try:
                _get(f"{base}/readyz")
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        for _ in range(20):
            _get(f"{base}/healthz")

        # Whichever worker answers, it reports all twenty.
        for _ in range(4):
            metrics = _get(f"{base}/metrics")
            line = next(
                line
                for line in metrics.splitlines()
                if line.startswith("http_requests_total")
                and 'route="/healthz"' in line
                and 'status="200"' in line
            )
            assert float(line.rsplit(" ", 1)[1]) == 20.0
    finally:
        server.terminate()
        server.wait(timeout=20)
