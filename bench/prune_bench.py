"""Benchmark: pruning what is past retention, and what requests feel while it runs.

Run from the repository root:

    .venv/bin/python bench/prune_bench.py [--deliveries 100000] [--backends sqlite,postgresql]
                                          [--probe-seconds 5]

For each database (a temporary SQLite file; a throwaway PostgreSQL database on 127.0.0.1:5432,
dropped at the end) it:

1. migrates and seeds, and makes a team with a webhook endpoint, a GitHub integration and a
   staffed project with its checklist, through the service's own code;
2. stores a backlog past retention in bulk: N finished webhook deliveries 40 days old with two
   attempts each, N events as old (each the event of its delivery), N/2 inbound deliveries as
   old; and as many recent deliveries, events and inbound deliveries, which stay;
3. serves the app with gunicorn (two workers) and probes it from one client thread, in turn:
   the delivery log (`GET /v1/webhooks/{id}/deliveries`), the checklist
   (`GET /v1/projects/{p}/checklist`) and a write (`POST /v1/people`, an event and a delivery),
   for `--probe-seconds` while nothing else runs, then while `flask prune` runs (with
   `EVENT_RETENTION_DAYS=30`, so the events go too) in a process of its own;
4. prints the rows pruned a second, by table and in all, and the requests' latency
   (p50, p95, p99, max) before and during the pruning; and, before the probes, what one
   `GET /metrics` costs while it counts the backlog, and what erasing a person costs with all
   those rows stored (the erasure searches every row of the team).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from make_dataset import create_database, drop_database, fast_id  # noqa: E402
from server_bench import ServerOptions, gunicorn, http  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Settings  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import (  # noqa: E402
    Event,
    InboundDelivery,
    Integration,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from app.services.context import Context  # noqa: E402
from app.services.directory import teams  # noqa: E402

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/prune_bench_{pid}"
CHUNK = 5000


@dataclasses.dataclass
class Site:
    database_url: str
    token: str
    endpoint_id: str
    project_id: str


def build_site(database_url: str) -> tuple[Site, Any]:
    """Migrate, seed, and make the team, its key, endpoint, integration and project."""
    from flask_migrate import upgrade

    from app.services.catalog.store import seed_catalog
    from app.services.migrations import MIGRATIONS_DIR
    from seed.loader import load_catalog

    settings = dataclasses.replace(
        Settings.from_env(),
        database_url=database_url,
        rate_limit="1000000000 per minute",
        webhook_allow_private_targets=True,
    )
    app = create_app(settings, {"TESTING": True})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        seed_catalog(db.session, load_catalog())
        team = teams.create_team(db.session, Context("cli", settings=settings), "Prune bench")
        _, token = teams.create_key(
            db.session, Context("cli", settings=settings), team, ("read", "write", "admin"), "b"
        )
        db.session.commit()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    endpoint = client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["person.*"]},
        headers=auth,
    ).json
    client.post("/v1/integrations", json={"provider": "github", "name": "acme/app"}, headers=auth)
    project = client.post(
        "/v1/projects",
        json={"name": "Clinic notes", "application": "healthcare-solutions"},
        headers=auth,
    ).json
    client.put(
        f"/v1/projects/{project['id']}/assignments",
        json={
            "assignments": [
                {"role": role, "person": {"name": name, "email": f"{name.lower()}@example.com"}}
                for role, name in (
                    ("data-scientist", "Ada"),
                    ("machine-learning-engineer", "Alan"),
                    ("ai-ethicist", "Grace"),
                )
            ]
        },
        headers=auth,
    )
    client.post(f"/v1/projects/{project['id']}/checklist", headers=auth)
    return Site(database_url, token, endpoint["id"], project["id"]), app


def fill(app: Any, site: Site, deliveries: int) -> dict[str, int]:
    """The backlog (old) and as much that stays (recent), in bulk; the old rows by table."""
    rng = random.Random(22)
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, site.endpoint_id)
        assert endpoint is not None
        team_id = endpoint.team_id
        integration_id = db.session.scalar(
            select(Integration.id).where(Integration.team_id == team_id)
        )
        body = '{"type":"person.created","timestamp":"2026-01-01T00:00:00+00:00","data":{}}'
        for age_days in (40, 1):
            at = utcnow() - timedelta(days=age_days)
            for start in range(0, deliveries, CHUNK):
                count = min(CHUNK, deliveries - start)
                events = [
                    {
                        "id": fast_id("evt", rng),
                        "team_id": team_id,
                        "project_id": None,
                        "type": "person.created",
                        "actor": "system",
                        "actor_person_id": None,
                        "request_id": None,
                        "payload": {"person": {"id": fast_id("per", rng)}},
                        "created_at": at,
                    }
                    for _ in range(count)
                ]
                sent = [
                    {
                        "id": fast_id("dlv", rng),
                        "team_id": team_id,
                        "endpoint_id": site.endpoint_id,
                        "event_id": event["id"],
                        "message_id": event["id"],
                        "event_type": "person.created",
                        "body": body,
                        "status": "succeeded",
                        "attempts": 2,
                        "last_status_code": 204,
                        "created_at": at,
                        "updated_at": at,
                        "succeeded_at": at,
                    }
                    for event in events
                ]
                attempts = [
                    {
                        "id": fast_id("att", rng),
                        "delivery_id": delivery["id"],
                        "attempted_at": at,
                        "status_code": status,
                        "latency_ms": 12,
                        "error": None,
                        "response_excerpt": "",
                    }
                    for delivery in sent
                    for status in (500, 204)
                ]
                inbound = [
                    {
                        "id": fast_id("ind", rng),
                        "team_id": team_id,
                        "integration_id": integration_id,
                        "delivery_id": fast_id("gh", rng),
                        "event": "ping",
                        "ticket": None,
                        "ticket_state": None,
                        "sender": None,
                        "outcome": "ping",
                        "detail": "ping",
                        "items": [],
                        "status_code": 200,
                        "request_id": None,
                        "body_sha256": "0" * 64,
                        "body_bytes": 100,
                        "created_at": at,
                    }
                    for _ in range(count // 2)
                ]
                db.session.execute(insert(Event.__table__), events)
                db.session.execute(insert(WebhookDelivery.__table__), sent)
                db.session.execute(insert(WebhookAttempt.__table__), attempts)
                db.session.execute(insert(InboundDelivery.__table__), inbound)
                db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    return {
        "webhook_deliveries": deliveries,
        "webhook_attempts": 2 * deliveries,
        "inbound_deliveries": sum(
            min(CHUNK, deliveries - s) // 2 for s in range(0, deliveries, CHUNK)
        ),
        "events": deliveries,
    }


@dataclasses.dataclass
class Probe:
    latencies: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    errors: int = 0


_WRITES = iter(range(10**9))


def probe(base: str, site: Site, stop: threading.Event) -> Probe:
    """Requests in turn, one at a time, until `stop`; each one's latency by kind."""
    found = Probe({"list": [], "checklist": [], "write": []})
    while not stop.is_set():
        n = next(_WRITES)
        for kind, method, path, body in (
            ("list", "GET", f"/v1/webhooks/{site.endpoint_id}/deliveries?limit=50", None),
            ("checklist", "GET", f"/v1/projects/{site.project_id}/checklist", None),
            ("write", "POST", "/v1/people", f'{{"name": "P {n}", "email": "p{n}@x.org"}}'),
        ):
            started = time.perf_counter()
            status = http(base, method, path, token=site.token, body=body)[0]
            found.latencies[kind].append((time.perf_counter() - started) * 1000)
            if status >= 400:
                found.errors += 1
    return found


def during(base: str, site: Site, action: Any) -> tuple[Probe, Any]:
    stop = threading.Event()
    result: dict[str, Probe] = {}
    thread = threading.Thread(target=lambda: result.setdefault("p", probe(base, site, stop)))
    thread.start()
    try:
        value = action()
    finally:
        stop.set()
        thread.join()
    return result["p"], value


def timed_extras(base: str, site: Site) -> None:
    """What the backlog costs a scrape of /metrics (counted afresh: the first of each process),
    and what an erasure costs on this much stored data (it searches every row of the team)."""
    started = time.perf_counter()
    status, _, body = http(base, "GET", "/metrics")
    scrape = (time.perf_counter() - started) * 1000
    backlog = [line for line in body.decode().splitlines() if line.startswith("retention_backlog")]
    print(f"  GET /metrics counting the backlog: {scrape:.0f} ms ({status}; {'; '.join(backlog)})")
    person = json.loads(
        http(
            base,
            "POST",
            "/v1/people",
            token=site.token,
            body='{"name": "Eve Erasmus", "email": "eve.erasmus@example.com"}',
        )[2]
    )
    started = time.perf_counter()
    status = http(base, "POST", f"/v1/people/{person['id']}/erase", token=site.token)[0]
    erase = (time.perf_counter() - started) * 1000
    print(f"  POST /v1/people/{{id}}/erase on it all: {erase:.0f} ms ({status})")


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    q = (
        statistics.quantiles(ordered, n=100, method="inclusive")
        if len(ordered) > 1
        else [ordered[0]] * 99
    )
    return f"{q[49]:6.1f} {q[94]:6.1f} {q[98]:6.1f} {ordered[-1]:7.1f}  (n={len(ordered)})"


def run_backend(name: str, database_url: str, args: argparse.Namespace, workdir: Path) -> None:
    print(f"\n## {name}")
    site, app = build_site(database_url)
    started = time.perf_counter()
    old = fill(app, site, args.deliveries)
    print(
        f"  filled {sum(old.values()) * 2:,} rows in {time.perf_counter() - started:.1f} s "
        f"(half past retention: {', '.join(f'{t} {n:,}' for t, n in old.items())})"
    )
    with app.app_context():
        db.engine.dispose()
    options = ServerOptions(2, "sync", 1, "WARNING", "memory://")
    with gunicorn(database_url, options, workdir) as (base, _pid):
        timed_extras(base, site)
        idle, _ = during(base, site, lambda: time.sleep(args.probe_seconds))
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "EVENT_RETENTION_DAYS": "30",
            "LOG_LEVEL": "WARNING",
        }

        def pruning() -> tuple[float, str, str]:
            began = time.perf_counter()
            done = subprocess.run(  # noqa: S603 - our interpreter, our arguments
                [sys.executable, "-m", "flask", "prune", *args.prune_args.split()],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            return time.perf_counter() - began, done.stdout, done.stderr

        busy, (wall, output, said) = during(base, site, pruning)
    pruned = sum(old.values())
    # The command's own time (its last line says it), without the interpreter's start.
    seconds = float(said.strip().splitlines()[-1].split(" in ")[1].split()[0])
    print(
        f"  flask prune: {seconds:.1f} s ({wall:.1f} s with the process start), "
        f"{pruned / seconds:,.0f} rows/s in all, attempts included "
        f"({', '.join(line.strip() for line in output.splitlines())}; "
        f"webhook_attempts: {old['webhook_attempts']} with their deliveries)"
    )
    print("  latency ms            p50    p95    p99     max")
    for kind in ("list", "checklist", "write"):
        print(f"  {kind:9} idle      {percentiles(idle.latencies[kind])}")
        print(f"  {kind:9} pruning   {percentiles(busy.latencies[kind])}")
    print(f"  errors: idle {idle.errors}, pruning {busy.errors}")


@contextmanager
def postgres() -> Iterator[str]:
    url = POSTGRES.format(pid=os.getpid())
    create_database(url)
    try:
        yield url
    finally:
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--probe-seconds", type=float, default=5.0)
    parser.add_argument(
        "--prune-args", default="", help="Options for `flask prune` (`--batch 100 --pause 0`)."
    )
    args = parser.parse_args()
    print(
        f"# prune bench: {platform.python_version()}, {os.cpu_count()} cores, "
        f"{args.deliveries:,} deliveries past retention"
    )
    with tempfile.TemporaryDirectory(prefix="prune-bench-") as tmp:
        workdir = Path(tmp)
        for name in args.backends.split(","):
            if name == "sqlite":
                run_backend(name, f"sqlite:///{workdir / 'prune.db'}", args, workdir)
            else:
                with postgres() as url:
                    run_backend(name, url, args, workdir)


if __name__ == "__main__":
    main()
