"""Where the time of the hot endpoints goes: in-process requests (Flask test client) on a
dataset of `bench/make_dataset.py`, profiled with pyinstrument.

Run from the repository root, with pyinstrument in the virtualenv (`.venv/bin/pip install
pyinstrument`; it is not a dependency of the project):

    .venv/bin/python bench/profile_endpoints.py --dataset MANIFEST [--requests 400] \
        [--output profiles.txt]

The application is configured as the server benchmark's gunicorn is (rate limits counted in
Redis with `RATE_LIMIT` out of the way, metrics in a multiprocess directory, JSON request logs
at INFO, written to /dev/null here). For each endpoint: the mean time of a request, the share
of it spent in each part of the request's path (inclusive times, so nested parts overlap: the
view holds the checklist lookup), then pyinstrument's call tree of `--requests` requests.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

# The parts of a request, by the functions that do them (file suffix, function name).
PARTS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "request bookkeeping: request id, body check, access log line",
        (("app/http/request_context.py", "*"),),
    ),
    ("  of which JSON logging (python-json-logger)", (("logging/__init__.py", "handle"),)),
    ("metrics (prometheus_client, multiprocess files)", (("app/http/metrics.py", "*"),)),
    ("v1 before_request: authorize + rate limit", (("app/api/common.py", "_authorize"),)),
    ("  API key lookup (authenticate)", (("app/http/auth.py", "authenticate"),)),
    ("  key.team, scope check", (("app/http/auth.py", "require_scope"),)),
    ("  rate limit (Flask-Limiter, Redis)", (("app/http/rate_limits.py", "limit_v1_request"),)),
    ("rate-limit headers (after request)", (("app/http/rate_limits.py", "rate_limit_headers"),)),
    ("unit of work (_attempt: everything below)", (("app/http/transaction.py", "_attempt"),)),
    ("  idempotency claim/store", (("app/http/idempotency.py", "*"),)),
    (
        "  the view",
        (
            ("app/api/checklists.py", "get"),
            ("app/api/catalog.py", "get"),
        ),
    ),
    (
        "    checklist lookup (project + checklist)",
        (("app/services/checklists.py", "get_checklist"),),
    ),
    ("    catalog read (current_catalog)", (("app/services/catalog.py", "current_catalog"),)),
    (
        "    render (cache hit or miss)",
        (("app/services/checklist_reads.py", "rendered_checklist"),),
    ),
    (
        "    ETag / 304 check",
        (
            ("app/http/formats.py", "not_modified"),
            ("app/services/checklist_reads.py", "checklist_etag"),
        ),
    ),
    ("  marshmallow dump of the answer", (("marshmallow/schema.py", "dump"),)),
    ("  session.commit", (("sqlalchemy/orm/scoping.py", "commit"),)),
    ("webargs parsing (query arguments)", (("webargs/core.py", "_load_location_data"),)),
    ("conditional_get (after request)", (("app/http/etags.py", "conditional_get"),)),
    ("session teardown (rollback/close)", (("sqlalchemy/orm/scoping.py", "remove"),)),
    ("all SQLAlchemy statements", (("sqlalchemy/orm/session.py", "_execute_internal"),)),
    ("  psycopg: round trips to the database", (("psycopg/cursor.py", "execute"),)),
)


def _matches(frame: Any, wanted: Iterable[tuple[str, str]]) -> bool:
    path = (frame.file_path or "").replace("\\", "/")
    for suffix, function in wanted:
        if path.endswith(suffix) and function in ("*", frame.function):
            return True
    return False


def inclusive(root: Any, wanted: tuple[tuple[str, str], ...]) -> float:
    """Time in frames matching `wanted`, each counted once (not again under itself)."""
    total = 0.0
    stack = [root]
    while stack:
        frame = stack.pop()
        if _matches(frame, wanted):
            total += frame.time
            continue
        stack.extend(frame.children)
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True, help="make_dataset.py's manifest")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--output", type=Path, help="write the report here too")
    parser.add_argument("--tree-threshold", type=float, default=0.015, help="hide smaller")
    parser.add_argument("--ratelimit-storage", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args(argv)

    from make_dataset import Dataset

    dataset = Dataset.from_json(args.dataset.read_text())
    metrics_dir = tempfile.mkdtemp(prefix="profile-metrics-")
    # Before anything imports prometheus_client: it picks its multiprocess mode at import.
    os.environ.update(
        DATABASE_URL=dataset.database_url,
        RATE_LIMIT="1000000000 per minute",
        RATELIMIT_STORAGE_URI=args.ratelimit_storage,
        PROMETHEUS_MULTIPROC_DIR=metrics_dir,
        LOG_LEVEL="INFO",
    )
    import logging

    from pyinstrument import Profiler
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.models import Project

    app = create_app()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the process's life
    client = app.test_client()
    auth = {"Authorization": f"Bearer {dataset.token}", "Accept": "application/json"}
    with app.app_context():
        slug = db.session.scalar(
            select(Project.slug)
            .where(
                Project.team_id == dataset.team_id,
                Project.id.not_in(dataset.template_project_ids),
            )
            .order_by(Project.created_at.desc(), Project.id.desc())
            .limit(1)
        )
        db.session.remove()
    checklist = f"/v1/projects/{slug}/checklist"
    etag = client.get(checklist, headers=auth).headers["ETag"]

    endpoints: list[tuple[str, Callable[[], Any], int]] = [
        ("GET /healthz", lambda: client.get("/healthz"), 200),
        ("GET checklist JSON (render cache hit)", lambda: client.get(checklist, headers=auth), 200),
        (
            "GET checklist, If-None-Match (304)",
            lambda: client.get(checklist, headers={**auth, "If-None-Match": etag}),
            304,
        ),
        ("GET /v1/catalog", lambda: client.get("/v1/catalog", headers=auth), 200),
    ]
    report: list[str] = [
        f"dataset: {dataset.counts}",
        f"checklist: {checklist}",
        f"{args.requests} requests per endpoint, in-process (Flask test client)",
        "",
    ]
    for name, call, status in endpoints:
        for _ in range(50):
            response = call()
            assert response.status_code == status, (name, response.status_code)
        started = time.perf_counter()
        for _ in range(args.requests):
            call()
        mean_ms = (time.perf_counter() - started) * 1000 / args.requests
        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(args.requests):
            call()
        profiler.stop()
        session = profiler.last_session
        assert session is not None
        root = session.root_frame()
        assert root is not None
        total = root.time
        report.append(f"## {name}: {mean_ms:.2f} ms a request (unprofiled mean)")
        report.append("")
        for part, wanted in PARTS:
            share = inclusive(root, wanted) / total
            if share >= 0.005:
                report.append(f"  {share * 100:5.1f} %  {part}")
        report.append("")
        report.append(
            profiler.output_text(
                unicode=False,
                color=False,
                processor_options={"filter_threshold": args.tree_threshold},
            )
        )
        report.append("")
    text = "\n".join(report)
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
