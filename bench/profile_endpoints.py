"""Where the time of the hot endpoints goes: in-process requests (Flask test client) on a
dataset of `bench/make_dataset.py`, profiled with pyinstrument.

Run from the repository root, with pyinstrument in the virtualenv (`.venv/bin/pip install
pyinstrument`; it is not a dependency of the project):

    .venv/bin/python bench/profile_endpoints.py --dataset MANIFEST [--requests 400] \
        [--write-requests 40] [--output profiles.txt]

Endpoints: `/healthz`, the checklist JSON (render cache hit), its 304, `GET /v1/catalog`, the
preview, the checklist JSON of another project each time (cache miss) and the staffing `PUT`
(each on another project, the current staffing without its last assignment: it changes the
dataset, as the server benchmark's writes do).

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
    (
        "  the connection's checkout (autocommit for a read)",
        (("app/http/connection.py", "begin_request"),),
    ),
    ("  API key lookup (authenticate)", (("app/http/auth.py", "authenticate"),)),
    ("  scope check", (("app/http/auth.py", "require_scope"),)),
    ("  rate limit (Flask-Limiter, Redis)", (("app/http/rate_limits.py", "limit_v1_request"),)),
    ("rate-limit headers (after request)", (("app/http/rate_limits.py", "rate_limit_headers"),)),
    ("unit of work (_attempt: everything below)", (("app/http/transaction.py", "_attempt"),)),
    ("  idempotency claim/store", (("app/http/idempotency.py", "*"),)),
    (
        "  the view",
        (
            ("app/api/checklists.py", "get"),
            ("app/api/catalog.py", "get"),
            ("app/api/checklists.py", "post"),
            ("app/api/assignments.py", "put"),
        ),
    ),
    (
        "    checklist state (the short path's one statement)",
        (("app/services/checklists/reads.py", "checklist_header"),),
    ),
    ("    cached rendering", (("app/services/checklists/reads.py", "cached_rendering"),)),
    (
        "    checklist lookup (project + checklist)",
        (("app/services/checklists/refresh.py", "get_checklist"),),
    ),
    ("    catalog read (current_catalog)", (("app/services/catalog/store.py", "current_catalog"),)),
    (
        "    render (cache hit or miss)",
        (("app/services/checklists/reads.py", "rendered_checklist"),),
    ),
    (
        "    ETag / 304 check",
        (
            ("app/http/etags.py", "not_modified"),
            ("app/http/etags.py", "make_etag"),
        ),
    ),
    ("    load items + owners (rows)", (("app/services/checklists/reads.py", "load_items"),)),
    (
        "    checklist document (gathered and dumped)",
        (("app/services/checklists/documents.py", "checklist_document"),),
    ),
    ("    dump compiled from the schemas (ChecklistOut)", (("app/schemas/compiled.py", "*"),)),
    ("    people lookup (preview)", (("app/services/directory/people.py", "directory_of"),)),
    (
        "    the generator (pure)",
        (("app/services/checklists/generator.py", "generate_checklist"),),
    ),
    (
        "    regenerations (all checklists)",
        (("app/services/checklists/regeneration.py", "regenerate"),),
    ),
    ("    rendering (app.render.render)", (("app/render/__init__.py", "render"),)),
    ("    ORM flush", (("sqlalchemy/orm/session.py", "flush"),)),
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


def _staffing_puts(session: Any, slugs: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """Each project's current staffing without its last assignment: a PUT that changes it."""
    from sqlalchemy import select

    from app.models import Assignment, Project

    made = []
    for slug in slugs:
        rows = session.execute(
            select(Assignment)
            .join(Project, Project.id == Assignment.project_id)
            .where(Project.slug == slug)
            .order_by(Assignment.created_at, Assignment.id)
        ).scalars()
        entries = [
            {"role": a.role_key, "person_id": a.person_id, "lead": a.lead}
            | ({"allocation": a.allocation} if a.allocation is not None else {})
            for a in rows
        ]
        if len(entries) >= 2:
            made.append((f"/v1/projects/{slug}/assignments", {"assignments": entries[:-1]}))
    return made


def _preview_body(session: Any, project_id: str) -> dict[str, Any]:
    """A template project's staffing, people inline (found in the directory by email)."""
    from sqlalchemy import select

    from app.models import Assignment, Person, Project

    project = session.get(Project, project_id)
    rows = session.execute(
        select(Assignment.role_key, Person.name, Person.email, Assignment.allocation)
        .join(Person, Person.id == Assignment.person_id)
        .where(Assignment.project_id == project_id)
        .order_by(Assignment.created_at, Assignment.id)
    )
    return {
        "project": {
            "name": "Preview",
            "application": project.application,
            "traits": project.traits,
        },
        "assignments": [
            {"role": role, "person": {"name": name, "email": email}}
            | ({"allocation": allocation} if allocation is not None else {})
            for role, name, email, allocation in rows
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True, help="make_dataset.py's manifest")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--write-requests", type=int, default=40, help="staffing PUTs")
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
    cold_count = args.requests * 2 + 50
    put_count = args.write_requests * 2 + 5
    with app.app_context():
        # The newest project for the hot reads; the oldest ones for cold reads and writes (the
        # server benchmark uses the newest 5,000).
        slugs = list(
            db.session.scalars(
                select(Project.slug)
                .where(
                    Project.team_id == dataset.team_id,
                    Project.id.not_in(dataset.template_project_ids),
                )
                .order_by(Project.created_at.desc(), Project.id.desc())
            )
        )
        slug = slugs[0]
        cold = iter(slugs[-cold_count:])
        puts = iter(_staffing_puts(db.session, slugs[-cold_count - put_count : -cold_count]))
        preview_body = _preview_body(db.session, dataset.template_project_ids[0])
        db.session.remove()
    checklist = f"/v1/projects/{slug}/checklist"
    etag = client.get(checklist, headers=auth).headers["ETag"]

    def put() -> Any:
        path, body = next(puts)
        return client.put(path, headers=auth, json=body)

    endpoints: list[tuple[str, Callable[[], Any], int]] = [
        ("GET /healthz", lambda: client.get("/healthz"), 200),
        ("GET checklist JSON (render cache hit)", lambda: client.get(checklist, headers=auth), 200),
        (
            "GET checklist, If-None-Match (304)",
            lambda: client.get(checklist, headers={**auth, "If-None-Match": etag}),
            304,
        ),
        ("GET /v1/catalog", lambda: client.get("/v1/catalog", headers=auth), 200),
        (
            "POST /v1/checklists/preview",
            lambda: client.post("/v1/checklists/preview", headers=auth, json=preview_body),
            200,
        ),
        (
            "GET checklist JSON, cold (another project each time: render cache miss)",
            lambda: client.get(f"/v1/projects/{next(cold)}/checklist", headers=auth),
            200,
        ),
        ("PUT staffing (the current one without its last assignment)", put, 200),
    ]
    report: list[str] = [
        f"dataset: {dataset.counts}",
        f"checklist: {checklist}",
        f"{args.requests} requests per endpoint ({args.write_requests} PUTs), in-process "
        "(Flask test client)",
        "",
    ]
    for name, call, status in endpoints:
        count = args.write_requests if name.startswith("PUT") else args.requests
        for _ in range(5 if name.startswith("PUT") else 50):
            response = call()
            assert response.status_code == status, (name, response.status_code)
        started = time.perf_counter()
        for _ in range(count):
            call()
        mean_ms = (time.perf_counter() - started) * 1000 / count
        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(count):
            response = call()
        profiler.stop()
        assert response.status_code == status, (name, response.status_code)
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
