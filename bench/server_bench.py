"""The service under gunicorn, driven by wrk, beside a floor app under the same gunicorn:
requests per second and latency per endpoint, each hot row against the floor's, with the
targets of issue 21 and their verdicts (PASS/FAIL).

Run from the repository root (needs `wrk`: `apt-get install wrk`):

    .venv/bin/python bench/server_bench.py [--database sqlite|postgresql|both] [--scale 1.0] \
        [--duration 10] [--trials 1] [--connections 16] [--workers 2] [--worker-class sync] \
        [--keep DIR] [--only ROWS] [--memory N] [--preview-requests 200]

For each database it makes a dataset with `bench/make_dataset.py` (PostgreSQL: a database of
its own on 127.0.0.1:5432, dropped at the end; SQLite: a file in a temporary directory), starts
`gunicorn --workers 2 wsgi:app` on it as the README's production section does (rate limits in
Redis with `RATE_LIMIT` raised out of the way, Prometheus metrics shared in a directory, JSON
request logs at INFO to a file), and beside it `bench/floor_app.py` under the same gunicorn
options: bare Flask doing only what an authenticated conditional GET must (the bearer key from
a dict, counted; one row by primary key through the driver; the ETag compared; 304 or the
service's own bytes of the checklist). wrk then runs against one endpoint at a time: a warm-up,
then `--duration` seconds at `--connections` connections; `--trials N` runs the rows N times in
turn and keeps each row's best (on a shared machine the closest to what the code costs).
`--keep DIR` keeps the datasets (and reuses them on the next run with the same scale);
`--dataset MANIFEST` uses a PostgreSQL dataset made by `make_dataset.py --manifest`.

The rows, each of the service's right after the floor's it is compared with:

- bare Flask's `/healthz`, then the service's (target: at least 0.8 of bare Flask's req/s);
- the floor's 304, then the checklist's with the JSON's `If-None-Match` (at least 0.6);
- the floor's 200, then the checklist of one project (about 100 items) as JSON (at least 0.6,
  and a p99 at most 2x the floor's), as Markdown and `GET /v1/catalog` (at least 0.5 of the
  floor's 200);
- the project list's first page and the page after 9,000 projects (or 90 % of them at a
  smaller scale; the deep page costs at most 1.5x the first), cursor made as the service does;
- `POST /v1/checklists/preview` with a template project's staffing (people found by email);
- a cold checklist read: the JSON checklists of 1,000 other projects in turn, more than the
  render cache of a worker holds;
- the staffing `PUT` and the item `PATCH`, spread over 1,000 projects each (different projects
  for the warm-up): each thread of wrk takes its share of the projects in turn; a `PUT` sends
  the project's current staffing without its last assignment (the next visit puts it back),
  a `PATCH` sets an open item (one needing no evidence or sign-off) to `done` (the next visit
  to `open`), so every write changes something, and no two connections write to the same
  project at the same time (they can still meet on the people two projects share).

Then, in a process of its own configured as the server, `--preview-requests` previews of the
clinic example of docs/checklists.md (`tests/api/checklist_scenarios.py`) through the Flask
test client: the median, against the target of 5 ms.

Every status the service answered is read from its own `/metrics` before and after each run;
the floor keeps no metrics, and its rows are checked by the bytes wrk read (each answer the
size a probe measured: a 200 among 304s would not add up). A row whose answers were not all
the expected status is flagged.

`--only ROWS` runs only the rows whose names start with one of ROWS (comma-separated, e.g.
`--only "checklist 304,GET /v1/catalog"`), and the floor rows they are compared with.

`--memory N` then sends N more requests of the hot reads, whatever `--only` chose: the checklist
JSON, Markdown and 304, the catalog and the two project pages, shared out between wrk's threads
as the rows' requests are, each thread cycling through its share. It prints the resident memory
(`VmRSS`) of each gunicorn worker after a warm-up and every tenth of the way (a worker whose
memory grows with the requests it served leaks), and the statuses the server answered to them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from make_dataset import (  # noqa: E402
    Dataset,
    Sizes,
    create_database,
    drop_database,
    make_dataset,
)
from sqlalchemy import create_engine, func, select  # noqa: E402

from app.config import normalize_database_url  # noqa: E402
from app.http.pagination import encode_cursor  # noqa: E402
from app.models import Assignment, Checklist, ChecklistItem, Person, Project  # noqa: E402

POSTGRES_ADMIN = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
DEEP_OFFSET = 9000
POOL = 1000
CHECKLIST_ROUTE = "/v1/projects/<string:project_ref>/checklist"


# --------------------------------------------------------------------------- scenarios


@dataclass
class Request:
    method: str
    path: str
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Scenario:
    name: str
    route: str  # the metrics' route label
    method: str
    expect: int
    # Each entry: the requests sent on successive visits to it (one, or alternating variants).
    entries: list[list[Request]]
    warmup_entries: list[list[Request]] | None = None
    # The targets: "rps>=0.6" (req/s over the `versus` row's), "p99<=2" (p99 over the
    # `versus` row's), "healthz>=0.3" (req/s over the service's /healthz), "deep<=1.5".
    targets: tuple[str, ...] = ()
    versus: str = ""  # the name of the row this one is compared with
    server: str = "product"  # or "floor": the bare Flask app of bench/floor_app.py
    # The floor keeps no metrics: its answers are checked by the bytes wrk read (one answer's
    # size each, `answer_bytes`, as a probe measured it).
    answer_bytes: int = 0


@dataclass
class Result:
    scenario: Scenario
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    socket_errors: int
    non_2xx_3xx: int
    statuses: Counter[int]
    load: float  # the 1-minute load average when the row started
    bytes_read: int = 0
    # The server's workers' CPU time per request (user + system): what the request costs
    # them, whatever else the machine runs meanwhile (wrk's own CPU is not in it).
    cpu_us: float = 0.0


def lua_string(text: str) -> str:
    out = []
    for byte in text.encode():
        if 32 <= byte < 127 and byte not in (34, 92):
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def wrk_script(entries: Sequence[Sequence[Request]], token: str, threads: int) -> str:
    """A wrk script: requests prebuilt per thread, each thread visiting its share of the
    entries in turn, the next variant of an entry on each visit; a JSON summary at the end."""
    lines = ["local src = {"]
    for variants in entries:
        parts = []
        for r in variants:
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if r.body is not None:
                headers["Content-Type"] = "application/json"
            headers.update(r.headers)
            hdr = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
            body = lua_string(r.body) if r.body is not None else "nil"
            parts.append(f"{{{lua_string(r.method)}, {lua_string(r.path)}, {{{hdr}}}, {body}}}")
        lines.append("  {" + ", ".join(parts) + "},")
    lines.append("}")
    lines.append(
        f"""
local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

local mine = {{}}
local k = 0
function init(args)
  local me = tid or 0
  for i = me + 1, #src, {threads} do mine[#mine + 1] = src[i] end
  if #mine == 0 then mine = src end
  for i, variants in ipairs(mine) do
    local built = {{}}
    for j, r in ipairs(variants) do built[j] = wrk.format(r[1], r[2], r[3], r[4]) end
    mine[i] = built
  end
end

function request()
  local n = #mine
  local entry = mine[k % n + 1]
  local variant = math.floor(k / n) % #entry + 1
  k = k + 1
  return entry[variant]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50": %d, "p99": %d, "bytes": %d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), summary.bytes))
end
"""
    )
    return "\n".join(lines)


def run_wrk(
    base_url: str,
    script: Path,
    seconds: float,
    connections: int,
    threads: int,
) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        base_url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    for line in done.stdout.splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line[len("WRKJSON ") :])
    raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(
    base: str, method: str, path: str, token: str | None = None, body: str | None = None, **h: str
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept": "application/json", **h}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        base + path, method=method, headers=headers, data=body.encode() if body else None
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def raw_answer(base: str, path: str, token: str, headers: dict[str, str]) -> tuple[int, int]:
    """The status and the size in bytes (head and body) of the answer to a GET as wrk sends
    it, read off the socket: what one answer of a floor row weighs."""
    host_port = base.removeprefix("http://")
    host, port = host_port.split(":")
    lines = [f"GET {path} HTTP/1.1", f"Host: {host_port}", f"Authorization: Bearer {token}"]
    lines += ["Accept: application/json", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while chunk := sock.recv(1 << 16):
            data += chunk
    return int(data.split(b" ", 2)[1]), len(data)


@dataclass
class ServerOptions:
    workers: int
    worker_class: str
    threads: int
    log_level: str
    ratelimit_storage: str


@contextmanager
def gunicorn(
    options: ServerOptions,
    workdir: Path,
    *,
    app: str = "wsgi:app",
    cwd: Path = ROOT,
    env: dict[str, str],
    ready: str = "/readyz",
    extra: Sequence[str] = (),
) -> Iterator[tuple[str, int]]:
    """A gunicorn serving `app` (run from `cwd`, with `env` added to ours) with the benchmark's
    options and the arguments `extra`: its base URL and its master's pid, once `ready`
    answers 200."""
    port = free_port()
    log_path = workdir / f"gunicorn-{port}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(options.workers),
        "--worker-class",
        options.worker_class,
        "--bind",
        f"127.0.0.1:{port}",
    ]
    if options.threads > 1:
        command += ["--threads", str(options.threads)]
    command += [*extra, app]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            command,
            cwd=cwd,
            env={**os.environ, **env, "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
            try:
                if http(base, "GET", ready)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn not ready:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        print(f"  gunicorn: {' '.join(command[1:])} (pid {process.pid}, log {log_path})")
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def product_env(database_url: str, options: ServerOptions, workdir: Path) -> dict[str, str]:
    """The service's environment as the README's production section sets it (rate limits in
    Redis, raised out of the way; metrics shared in a directory; JSON request logs)."""
    metrics = Path(tempfile.mkdtemp(prefix="metrics-", dir=workdir))
    return {
        "DATABASE_URL": database_url,
        "RATE_LIMIT": "1000000000 per minute",
        "RATELIMIT_STORAGE_URI": options.ratelimit_storage,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "LOG_LEVEL": options.log_level,
    }


@dataclass
class Floor:
    """What the floor app serves: the service's own bytes of the hot checklist, its ETag."""

    checklist_id: str
    body_file: Path
    body_size: int

    def env(self, database_url: str, token: str) -> dict[str, str]:
        return {
            "FLOOR_DATABASE_URL": database_url,
            "FLOOR_TOKEN": token,
            "FLOOR_CHECKLIST_ID": self.checklist_id,
            "FLOOR_BODY": str(self.body_file),
        }


def prepare_floor(dataset: Dataset, product: str, workdir: Path) -> Floor:
    """The hot checklist's id and the service's JSON bytes of it, for the floor to serve."""
    hot, _ = hot_project(dataset)
    engine = create_engine(normalize_database_url(dataset.database_url))
    with engine.connect() as conn:
        checklist_id = conn.scalar(select(Checklist.id).where(Checklist.project_id == hot.id))
    engine.dispose()
    status, _, body = http(product, "GET", f"/v1/projects/{hot.slug}/checklist", dataset.token)
    assert status == 200, (status, body[:300])
    body_file = workdir / "floor-body.json"
    body_file.write_bytes(body)
    return Floor(str(checklist_id), body_file, len(body))


_SAMPLE = re.compile(r"^http_requests_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def request_counts(base: str) -> Counter[tuple[str, str, int]]:
    """(method, route, status) -> requests answered, from the server's `/metrics`."""
    _, _, body = http(base, "GET", "/metrics")
    counts: Counter[tuple[str, str, int]] = Counter()
    for line in body.decode().splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = dict(_LABEL.findall(match["labels"]))
            key = (labels["method"], labels["route"], int(labels["status"]))
            counts[key] += int(float(match["value"]))
    return counts


# --------------------------------------------------------------------------- the dataset's targets


def _projects(conn: Any, dataset: Dataset) -> tuple[list[Any], list[Any]]:
    """The benchmark team's active projects, newest first, and those of them not templates."""
    templates = set(dataset.template_project_ids)
    ordered = conn.execute(
        select(Project.id, Project.slug)
        .where(Project.team_id == dataset.team_id, Project.status == "active")
        .order_by(Project.created_at.desc(), Project.id.desc())
    ).all()
    return ordered, [row for row in ordered if row.id not in templates]


def hot_project(dataset: Dataset) -> tuple[Any, list[Any]]:
    """The project whose checklist the hot rows read (id, slug)."""
    engine = create_engine(normalize_database_url(dataset.database_url))
    with engine.connect() as conn:
        ordered, candidates = _projects(conn, dataset)
    engine.dispose()
    return candidates[0], ordered


def scenarios(dataset: Dataset, base: str, floor: str) -> list[Scenario]:
    """The rows of the table, their requests chosen from the dataset as it is now: each of
    the service's hot rows right after the floor's row it is compared with (`floor` is the
    floor app's base URL)."""
    engine = create_engine(normalize_database_url(dataset.database_url))
    team = dataset.team_id
    with engine.connect() as conn:
        ordered, candidates = _projects(conn, dataset)
        pool = min(POOL, (len(candidates) - 1) // 5)
        hot = candidates[0]
        blocks = [candidates[1 + i * pool : 1 + (i + 1) * pool] for i in range(5)]
        cold, put_warm, put_run, patch_warm, patch_run = blocks

        # Past 9,000 projects; at a smaller scale, past 90 % of them.
        offset = DEEP_OFFSET if len(ordered) > DEEP_OFFSET + 50 else int(len(ordered) * 0.9)
        deep_row = conn.execute(
            select(Project.created_at, Project.id)
            .where(Project.team_id == team, Project.status == "active")
            .order_by(Project.created_at.desc(), Project.id.desc())
            .offset(offset - 1)
            .limit(1)
        ).one()
        deep_cursor = encode_cursor(deep_row.created_at, deep_row.id)

        def staffing_puts(rows: Sequence[Any]) -> list[list[Request]]:
            ids = [r.id for r in rows]
            by_project: dict[str, list[dict[str, Any]]] = {}
            for a in conn.execute(
                select(Assignment)
                .where(Assignment.project_id.in_(ids))
                .order_by(Assignment.created_at, Assignment.id)
            ):
                entry = {"role": a.role_key, "person_id": a.person_id, "lead": a.lead}
                if a.allocation is not None:
                    entry["allocation"] = a.allocation
                by_project.setdefault(a.project_id, []).append(entry)
            made = []
            for project_id in ids:
                current = by_project.get(project_id, [])
                if len(current) < 2:
                    continue
                path = f"/v1/projects/{project_id}/assignments"
                made.append(
                    [
                        Request("PUT", path, json.dumps({"assignments": current[:-1]})),
                        Request("PUT", path, json.dumps({"assignments": current})),
                    ]
                )
            return made

        def item_patches(rows: Sequence[Any]) -> list[list[Request]]:
            ids = [r.id for r in rows]
            chosen: dict[str, str] = {}
            for project_id, item_id in conn.execute(
                select(ChecklistItem.project_id, ChecklistItem.id)
                .where(
                    ChecklistItem.project_id.in_(ids),
                    ChecklistItem.status == "open",
                    ChecklistItem.kind == "responsibility",
                    # Done without evidence or a sign-off: every PATCH is valid.
                    ChecklistItem.evidence_required.is_(False),
                    ChecklistItem.signoff_required.is_(False),
                )
                .order_by(ChecklistItem.project_id, ChecklistItem.position)
            ):
                chosen.setdefault(project_id, item_id)
            return [
                [
                    Request("PATCH", path, json.dumps({"status": "done"})),
                    Request("PATCH", path, json.dumps({"status": "open"})),
                ]
                for project_id, item_id in chosen.items()
                for path in [f"/v1/projects/{project_id}/checklist/items/{item_id}"]
            ]

        template = dataset.template_project_ids[0]
        template_project = conn.execute(select(Project).where(Project.id == template)).one()
        preview_staffing = [
            {
                "role": role,
                "person": {"name": name, "email": email},
                **({"allocation": allocation} if allocation is not None else {}),
            }
            for role, name, email, allocation in conn.execute(
                select(Assignment.role_key, Person.name, Person.email, Assignment.allocation)
                .join(Person, Person.id == Assignment.person_id)
                .where(Assignment.project_id == template)
                .order_by(Assignment.created_at, Assignment.id)
            )
        ]
        traits = {
            t: getattr(template_project, t)
            for t in (
                "handles_personal_data",
                "user_facing",
                "generates_public_content",
                "regulated_domain",
            )
        }
        preview_body = json.dumps(
            {
                "project": {
                    "name": "Preview of a new project",
                    "application": template_project.application,
                    "traits": traits,
                },
                "assignments": preview_staffing,
            }
        )
        put_run_entries, put_warm_entries = staffing_puts(put_run), staffing_puts(put_warm)
        patch_run_entries, patch_warm_entries = item_patches(patch_run), item_patches(patch_warm)
        items_hot = conn.scalar(
            select(func.count())
            .select_from(ChecklistItem)
            .where(ChecklistItem.project_id == hot.id)
        )
    engine.dispose()

    checklist = f"/v1/projects/{hot.slug}/checklist"
    status, headers, body = http(base, "GET", checklist, dataset.token)
    assert status == 200, (status, body[:300])
    etag = headers["ETag"]
    print(
        f"  hot checklist {hot.slug}: {items_hot} items, {len(body):,} bytes of JSON; "
        f"deep page after {offset:,} of {len(ordered):,} projects; "
        f"{len(put_run_entries)} projects for PUT, {len(patch_run_entries)} for PATCH"
    )

    def one(method: str, path: str, body: str | None = None, **headers: str) -> list[list[Request]]:
        return [[Request(method, path, body, headers)]]

    floor_etag = http(floor, "GET", "/checklist", dataset.token)[1]["ETag"]

    def on_floor(name: str, path: str, expect: int, **headers: str) -> Scenario:
        status, size = raw_answer(floor, path, dataset.token, headers)
        assert status == expect, (name, status)
        requests = one("GET", path, **headers)
        return Scenario(name, path, "GET", expect, requests, server="floor", answer_bytes=size)

    return [
        on_floor("bare Flask /healthz", "/healthz", 200),
        Scenario(
            "/healthz",
            "/healthz",
            "GET",
            200,
            one("GET", "/healthz"),
            targets=("rps>=0.8",),
            versus="bare Flask /healthz",
        ),
        on_floor("floor 304", "/checklist", 304, **{"If-None-Match": floor_etag}),
        Scenario(
            "checklist 304",
            CHECKLIST_ROUTE,
            "GET",
            304,
            one("GET", checklist, **{"If-None-Match": etag}),
            targets=("rps>=0.6",),
            versus="floor 304",
        ),
        on_floor("floor 200", "/checklist", 200),
        Scenario(
            "checklist JSON",
            CHECKLIST_ROUTE,
            "GET",
            200,
            one("GET", checklist),
            targets=("rps>=0.6", "p99<=2"),
            versus="floor 200",
        ),
        Scenario(
            "checklist Markdown",
            CHECKLIST_ROUTE,
            "GET",
            200,
            one("GET", f"{checklist}?format=markdown"),
            targets=("rps>=0.5",),
            versus="floor 200",
        ),
        Scenario(
            "GET /v1/catalog",
            "/v1/catalog",
            "GET",
            200,
            one("GET", "/v1/catalog"),
            targets=("rps>=0.5",),
            versus="floor 200",
        ),
        Scenario("projects, first page", "/v1/projects", "GET", 200, one("GET", "/v1/projects")),
        Scenario(
            f"projects, page after {offset:,}",
            "/v1/projects",
            "GET",
            200,
            one("GET", f"/v1/projects?cursor={deep_cursor}"),
            targets=("deep<=1.5",),
        ),
        Scenario(
            "POST /v1/checklists/preview",
            "/v1/checklists/preview",
            "POST",
            200,
            one("POST", "/v1/checklists/preview", preview_body),
            targets=("healthz>=0.3",),
        ),
        Scenario(
            f"checklist JSON, {len(cold):,} projects (cold)",
            CHECKLIST_ROUTE,
            "GET",
            200,
            [[Request("GET", f"/v1/projects/{r.slug}/checklist")] for r in cold],
        ),
        Scenario(
            "staffing PUT",
            "/v1/projects/<string:project_ref>/assignments",
            "PUT",
            200,
            put_run_entries,
            warmup_entries=put_warm_entries,
        ),
        Scenario(
            "item PATCH",
            "/v1/projects/<string:project_ref>/checklist/items/<string:item_ref>",
            "PATCH",
            200,
            patch_run_entries,
            warmup_entries=patch_warm_entries,
        ),
    ]


# --------------------------------------------------------------------------- memory


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's children: its workers."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time process `pid` has used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


# The hot reads: the cold checklists and the preview would make 100,000 requests take an hour
# (the caches they fill are bounded: 256 renderings and 64 documents a worker).
MEMORY_MIX = (
    "checklist JSON",
    "checklist Markdown",
    "checklist 304",
    "GET /v1/catalog",
    "projects",
)


def memory_run(
    base: str,
    master: int,
    dataset: Dataset,
    items: list[Scenario],
    total: int,
    options: RunOptions,
    workdir: Path,
) -> tuple[list[tuple[int, list[float]]], Counter[int]]:
    """Send `total` requests of the read mix to the gunicorn whose master is `master`;
    (requests so far, each worker's RSS in MiB) after the warm-up and every tenth of the way,
    and the statuses the server answered to the mix."""
    chosen = [
        scenario
        for scenario in items
        if scenario.name.startswith(MEMORY_MIX) and "(cold)" not in scenario.name
    ]
    mixed = [entry for scenario in chosen for entry in scenario.entries]
    routes = {(scenario.method, scenario.route) for scenario in chosen}
    script = workdir / "memory.lua"
    script.write_text(wrk_script(mixed, dataset.token, options.wrk_threads))
    run_wrk(base, script, max(options.warmup, 3), options.connections, options.wrk_threads)
    before = request_counts(base)
    samples = [(0, [rss_mib(pid) for pid in worker_pids(master)])]
    done, step = 0, max(1, total // 10)
    rate = 0.0
    while done < total:
        seconds = min(30.0, (step / rate) if rate else 5.0)
        out = run_wrk(base, script, seconds, options.connections, options.wrk_threads)
        rate = out["requests"] / (out["duration_us"] / 1e6)
        done += out["requests"]
        if done // step > samples[-1][0] // step or done >= total:
            samples.append((done, [rss_mib(pid) for pid in worker_pids(master)]))
            rss = ", ".join(f"{value:.1f}" for value in samples[-1][1])
            print(f"    {done:>9,} requests: workers' RSS {rss} MiB ({rate:.0f} req/s)", flush=True)
    statuses: Counter[int] = Counter()
    for (method, route, status), n in (request_counts(base) - before).items():
        if (method, route) in routes:
            statuses[status] += n
    return samples, statuses


def print_memory(
    title: str,
    samples: list[tuple[int, list[float]]],
    statuses: Counter[int],
    markdown: list[str],
) -> None:
    first, last = samples[0][1], samples[-1][1]
    lines = [
        f"### Memory: {title}",
        "",
        "| requests served | "
        + " | ".join(f"worker {n + 1} RSS MiB" for n in range(len(first)))
        + " |",
        "| ---: |" + " ---: |" * len(first),
        *(
            f"| {done:,} | " + " | ".join(f"{value:.1f}" for value in rss) + " |"
            for done, rss in samples
        ),
        "",
        "Growth from the warm-up to the end: "
        + ", ".join(f"{b - a:+.1f} MiB" for a, b in zip(first, last, strict=False))
        + ".",
        "",
        "Statuses answered: "
        + ", ".join(f"{status}: {n:,}" for status, n in sorted(statuses.items()))
        + ("" if set(statuses) <= {200, 304} else " (**not all 200 or 304**)")
        + ".",
        "",
    ]
    print("\n".join(lines))
    markdown.extend(lines)


# --------------------------------------------------------------------------- a run


@dataclass
class RunOptions:
    duration: float
    warmup: float
    connections: int
    wrk_threads: int
    trials: int = 1


def run_scenarios(
    bases: dict[str, str],
    masters: dict[str, int],
    dataset: Dataset,
    items: list[Scenario],
    options: RunOptions,
    workdir: Path,
) -> list[Result]:
    """Run the rows in turn `options.trials` times, each against its server (`bases`:
    "product" and "floor" base URLs); each row's best trial (its highest req/s: on a shared
    machine the closest to what the code costs), with the answers of all its trials."""
    best: dict[str, Result] = {}
    answered: dict[str, Counter[int]] = {}
    for trial in range(options.trials):
        if options.trials > 1:
            print(f"  trial {trial + 1} of {options.trials}")
        for result in _run_once(bases, masters, dataset, items, options, workdir, warm=trial == 0):
            name = result.scenario.name
            answered[name] = answered.get(name, Counter()) + result.statuses
            if name not in best or result.rps > best[name].rps:
                best[name] = result
    for name, result in best.items():
        result.statuses = answered[name]
    return [best[scenario.name] for scenario in items]


def _run_once(
    bases: dict[str, str],
    masters: dict[str, int],
    dataset: Dataset,
    items: list[Scenario],
    options: RunOptions,
    workdir: Path,
    *,
    warm: bool,
) -> list[Result]:
    results = []
    for scenario in items:
        base = bases[scenario.server]
        script = workdir / f"{secrets.token_hex(4)}.lua"
        if options.warmup > 0 and warm:
            script.write_text(
                wrk_script(
                    scenario.warmup_entries or scenario.entries, dataset.token, options.wrk_threads
                )
            )
            run_wrk(base, script, options.warmup, options.connections, options.wrk_threads)
        script.write_text(wrk_script(scenario.entries, dataset.token, options.wrk_threads))
        load = os.getloadavg()[0]
        before = request_counts(base) if scenario.server == "product" else Counter()
        pids = worker_pids(masters[scenario.server])
        cpu_before = sum(cpu_seconds(pid) for pid in pids)
        out = run_wrk(base, script, options.duration, options.connections, options.wrk_threads)
        cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
        statuses: Counter[int] = Counter()
        if scenario.server == "product":
            for (method, route, status), n in (request_counts(base) - before).items():
                if method == scenario.method and route == scenario.route:
                    statuses[status] += n
        elif _all_answers_weigh(out, scenario.answer_bytes, options.connections):
            statuses[scenario.expect] = out["requests"]
        else:
            statuses[0] = out["requests"]  # not all the expected answer: flagged below
        seconds = out["duration_us"] / 1e6
        result = Result(
            scenario,
            rps=out["requests"] / seconds,
            p50_ms=out["p50"] / 1000,
            p99_ms=out["p99"] / 1000,
            requests=out["requests"],
            socket_errors=out["connect"] + out["read"] + out["write"] + out["timeout"],
            non_2xx_3xx=out["status"],
            statuses=statuses,
            load=load,
            bytes_read=out["bytes"],
            cpu_us=cpu / max(out["requests"], 1) * 1e6,
        )
        results.append(result)
        print(
            f"    {scenario.name:<36} {result.rps:8.1f} req/s  p50 {result.p50_ms:7.1f} ms  "
            f"p99 {result.p99_ms:7.1f} ms  {dict(statuses)}",
            flush=True,
        )
    return results


def _all_answers_weigh(out: dict[str, Any], size: int, connections: int) -> bool:
    """Whether the bytes wrk read are its requests' answers, each `size` bytes (the probe's
    answer), give or take the answers in flight when it stopped: a 200 among 304s, or a 304
    among 200s beyond those, would not add up."""
    expected = out["requests"] * size
    return out["status"] == 0 and abs(out["bytes"] - expected) <= connections * size


def verdicts(results: list[Result]) -> list[tuple[Result, str, str, str, str]]:
    """Each result with its ratio (req/s) and p99 ratio to the row it is compared with, its
    targets and their verdicts (PASS/FAIL)."""
    by_name = {r.scenario.name: r for r in results}
    health = by_name.get("/healthz")
    first = next((r for r in results if r.scenario.name == "projects, first page"), None)
    rows = []
    for r in results:
        versus = by_name.get(r.scenario.versus)
        ratio = f"{r.rps / versus.rps:.2f}" if versus else ""
        p99 = f"{r.p99_ms / versus.p99_ms:.1f}x" if versus else ""
        targets, outcomes = [], []
        for kind in r.scenario.targets:
            if kind.startswith("rps>=") and versus is not None:
                need = float(kind[5:])
                targets.append(f"req/s >= {need:g} x {versus.scenario.name}")
                outcomes.append(r.rps / versus.rps >= need)
            elif kind.startswith("p99<=") and versus is not None:
                need = float(kind[5:])
                targets.append(f"p99 <= {need:g} x {versus.scenario.name}'s")
                outcomes.append(r.p99_ms / versus.p99_ms <= need)
            elif kind.startswith("healthz>=") and health is not None:
                need = float(kind[9:])
                ratio = f"{r.rps / health.rps:.2f} of /healthz"
                targets.append(f"req/s >= {need:g} x /healthz (issue 11)")
                outcomes.append(r.rps / health.rps >= need)
            elif kind == "deep<=1.5" and first is not None:
                cost = first.rps / r.rps
                ratio = f"{cost:.2f}x first page's cost"
                targets.append("cost <= 1.5 x first page")
                outcomes.append(cost <= 1.5)
        expected = r.statuses.get(r.scenario.expect, 0)
        bad = sum(r.statuses.values()) - expected
        verdict = " / ".join("PASS" if ok else "FAIL" for ok in outcomes) or "-"
        if bad or r.socket_errors or not expected:
            verdict += f" [{bad} unexpected answers, {r.socket_errors} socket errors]"
        rows.append((r, ratio, p99, "; ".join(targets) or "-", verdict))
    return rows


def print_table(title: str, results: list[Result], markdown: list[str]) -> None:
    """The table: req/s, latency, the ratios to the row compared with (req/s, p99), the
    workers' CPU per request and its ratio (the compared row's CPU over this one's: what the
    req/s ratio would be on a machine where the workers had the cores to themselves), the
    targets and verdicts (on req/s and p99, as the issue states them)."""
    rows = verdicts(results)
    by_name = {r.scenario.name: r for r in results}
    print(f"\n{title}")
    header = (
        f"{'row':<34} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} {'p99 r':>6} "
        f"{'cpu µs':>7} {'cpu r':>6}  {'target':<44} verdict"
    )
    print(header)
    print("-" * len(header))
    markdown += [
        f"**{title}**",
        "",
        "| row | req/s | p50 ms | p99 ms | ratio | p99 ratio | worker CPU µs a request | "
        "CPU ratio | target | verdict | answers | load |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | ---: |",
    ]
    for r, ratio, p99, target, verdict in rows:
        short = ratio if len(ratio) <= 6 else ""
        versus = by_name.get(r.scenario.versus)
        cpu_ratio = f"{versus.cpu_us / r.cpu_us:.2f}" if versus and r.cpu_us else ""
        print(
            f"{r.scenario.name:<34} {r.rps:8.1f} {r.p50_ms:7.1f} {r.p99_ms:7.1f} "
            f"{short:>6} {p99:>6} {r.cpu_us:7.0f} {cpu_ratio:>6}  {target:<44} {verdict}"
            + ("" if short else f"  {ratio}")
        )
        answers = ", ".join(f"{n} x {s or 'other'}" for s, n in sorted(r.statuses.items()))
        markdown.append(
            f"| {r.scenario.name} | {r.rps:.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {ratio} | "
            f"{p99} | {r.cpu_us:.0f} | {cpu_ratio} | {target} | {verdict} | {answers} | "
            f"{r.load:.1f} |"
        )
    markdown.append("")


# --------------------------------------------------------------------------- datasets


@contextmanager
def dataset_for(kind: str, scale: float, keep: Path | None, workdir: Path) -> Iterator[Dataset]:
    manifest = keep / f"{kind}-{scale:g}.json" if keep else None
    if manifest is not None and manifest.exists():
        print(f"  reusing the dataset of {manifest}")
        yield Dataset.from_json(manifest.read_text())
        return
    if kind == "postgresql":
        name = f"bench_{kind}_{str(scale).replace('.', '_')}_{secrets.token_hex(3)}"
        admin = POSTGRES_ADMIN.rsplit("/", 1)[0]
        url = f"{admin}/{name}"
        create_database(url)
    else:
        folder = keep or workdir
        url = f"sqlite:///{folder / f'bench-{scale:g}-{secrets.token_hex(3)}.db'}"
    try:
        started = time.perf_counter()
        dataset = make_dataset(url, Sizes.scaled(scale), log=lambda line: print(f"  {line}"))
        print(
            f"  dataset on {kind}: {dataset.counts} in {time.perf_counter() - started:.0f} s "
            f"({dataset.seconds})"
        )
        if manifest is not None:
            manifest.write_text(dataset.to_json() + "\n")
        yield dataset
    finally:
        if manifest is None and kind == "postgresql":
            drop_database(url)


def machine() -> str:
    from importlib.metadata import version

    pg = "?"
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            pg = row[0] if row else "?"
    except Exception as error:
        pg = f"unreachable ({error})"
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)  # noqa: S607
    git = subprocess.run(  # noqa: S603 - fixed arguments
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    source = git.stdout.strip() if git.returncode == 0 else f"{ROOT} (not a git checkout)"
    return (
        f"source {source}; {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, PostgreSQL {pg}, SQLite "
        f"{__import__('sqlite3').sqlite_version}, gunicorn {version('gunicorn')}, "
        f"{(wrk.stdout or wrk.stderr).splitlines()[0].split(' [')[0]}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 10,000 projects")
    parser.add_argument("--duration", type=float, default=10, help="seconds measured per row")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per row")
    parser.add_argument(
        "--trials", type=int, default=1, help="run the rows this many times, keep each's best"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--log-level", default="INFO", help="the service's LOG_LEVEL")
    parser.add_argument(
        "--ratelimit-storage", default=REDIS_URL, help="RATELIMIT_STORAGE_URI (memory://, redis)"
    )
    parser.add_argument("--keep", type=Path, help="keep the datasets here, and reuse them")
    parser.add_argument("--dataset", type=Path, help="a manifest of make_dataset.py to use")
    parser.add_argument("--markdown", type=Path, help="also write the tables here, in Markdown")
    parser.add_argument(
        "--memory", type=int, default=0, help="then N requests of the read mix, workers' RSS"
    )
    parser.add_argument(
        "--only", help="only the rows whose names start with one of these (comma-separated)"
    )
    parser.add_argument(
        "--preview-requests",
        type=int,
        default=200,
        help="in-process previews of the clinic example timed (0: none)",
    )
    parser.add_argument("--time-preview", help=argparse.SUPPRESS)  # the in-process child
    args = parser.parse_args(argv)
    if args.time_preview:
        time_preview(Dataset.from_json(Path(args.time_preview).read_text()), args.preview_requests)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    server = ServerOptions(
        args.workers, args.worker_class, args.threads, args.log_level, args.ratelimit_storage
    )
    run = RunOptions(args.duration, args.warmup, args.connections, args.wrk_threads, args.trials)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    described = machine()
    command = " ".join([".venv/bin/python bench/server_bench.py", *(argv or sys.argv[1:])])
    markdown = [f"`{command}`", "", f"Machine: {described}.", ""]
    print(described)
    with tempfile.TemporaryDirectory(prefix="server-bench-") as tmp:
        workdir = Path(tmp)
        for kind in kinds:
            print(f"\n== {kind}")
            if args.dataset and kind == "postgresql":
                datasets: Any = _given(args.dataset)
            else:
                datasets = dataset_for(kind, args.scale, args.keep, workdir)
            with datasets as dataset:
                env = product_env(dataset.database_url, server, workdir)
                with gunicorn(server, workdir, env=env) as (base, master):
                    floor_answer = prepare_floor(dataset, base, workdir)
                    floor_env = floor_answer.env(dataset.database_url, dataset.token)
                    with gunicorn(
                        server,
                        workdir,
                        app="floor_app:app",
                        cwd=ROOT / "bench",
                        env=floor_env,
                        ready="/healthz",
                    ) as (floor, floor_master):
                        items = scenarios(dataset, base, floor)
                        chosen = items
                        if args.only:
                            prefixes = tuple(p.strip() for p in args.only.split(","))
                            wanted = {i.versus for i in items if i.name.startswith(prefixes)}
                            chosen = [
                                i for i in items if i.name.startswith(prefixes) or i.name in wanted
                            ]
                        bases = {"product": base, "floor": floor}
                        masters = {"product": master, "floor": floor_master}
                        results = run_scenarios(bases, masters, dataset, chosen, run, workdir)
                    memory = (
                        memory_run(base, master, dataset, items, args.memory, run, workdir)
                        if args.memory
                        else None
                    )
                preview = (
                    preview_in_process(dataset, env, workdir, args.preview_requests)
                    if args.preview_requests
                    else None
                )
            counts = dataset.counts
            title = (
                f"{kind}: gunicorn --workers {args.workers} --worker-class {args.worker_class}"
                + (f" --threads {args.threads}" if args.threads > 1 else "")
                + f", wrk {args.connections} connections, {args.duration:g} s per row; "
                f"{counts['projects']:,} projects, {counts['people']:,} people, "
                f"{counts['checklist_items']:,} checklist items"
            )
            print_table(title, results, markdown)
            if preview is not None:
                print_preview(preview, markdown)
            if memory is not None:
                print_memory(title, *memory, markdown)
    if args.markdown:
        args.markdown.write_text("\n".join(markdown) + "\n")
        print(f"\nMarkdown tables: {args.markdown}")


PREVIEW_TARGET_MS = 5.0


def preview_in_process(
    dataset: Dataset, env: dict[str, str], workdir: Path, requests: int
) -> dict[str, float]:
    """Time the clinic example's preview in-process, in a process of its own configured as
    the server is (prometheus_client picks its mode at import)."""
    manifest = workdir / "preview-dataset.json"
    manifest.write_text(dataset.to_json())
    env = {**env, "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="metrics-", dir=workdir)}
    done = subprocess.run(  # noqa: S603 - our interpreter, our arguments
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--time-preview",
            str(manifest),
            "--preview-requests",
            str(requests),
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("PREVIEWJSON "):
            return dict(json.loads(line[len("PREVIEWJSON ") :]))
    raise RuntimeError(f"preview timing failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")


def time_preview(dataset: Dataset, requests: int) -> None:
    """The child of `preview_in_process`: `POST /v1/checklists/preview` of the clinic example
    of docs/checklists.md (tests/api/checklist_scenarios.py) through the Flask test client, on
    the app of `wsgi.py` (gunicorn's)."""
    import importlib.util
    import logging
    import statistics

    spec = importlib.util.spec_from_file_location(
        "checklist_scenarios", ROOT / "tests" / "api" / "checklist_scenarios.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    body = module.SCENARIOS["clinical-assistant"]
    # The app as gunicorn loads it: `wsgi.py`, with what it sets for a serving process.
    served = importlib.util.spec_from_file_location("wsgi", ROOT / "wsgi.py")
    assert served is not None and served.loader is not None
    wsgi = importlib.util.module_from_spec(served)
    served.loader.exec_module(wsgi)
    app = wsgi.app
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the process's life
    client = app.test_client()
    headers = {"Authorization": f"Bearer {dataset.token}", "Accept": "application/json"}
    times, cpu = [], []
    for n in range(requests + 20):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.post("/v1/checklists/preview", json=body, headers=headers)
        elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        if n >= 20:  # the first ones warm the caches up
            times.append(elapsed * 1000)
            cpu.append(elapsed_cpu * 1000)
    times.sort()
    figures = {
        "requests": float(len(times)),
        "median_ms": statistics.median(times),
        "p90_ms": times[int(len(times) * 0.9)],
        # The process's own CPU time (Redis and PostgreSQL work elsewhere): on a loaded
        # machine, the wall clock also counts the time the process waited for a core.
        "median_cpu_ms": statistics.median(cpu),
        "items": float(len(response.get_json()["items"])),
    }
    print("PREVIEWJSON " + json.dumps(figures))


def print_preview(figures: dict[str, float], markdown: list[str]) -> None:
    ok = figures["median_ms"] <= PREVIEW_TARGET_MS
    line = (
        f"Preview of the clinic example in-process ({figures['items']:.0f} items, "
        f"{figures['requests']:.0f} requests): median {figures['median_ms']:.2f} ms, "
        f"p90 {figures['p90_ms']:.2f} ms, median CPU {figures['median_cpu_ms']:.2f} ms; "
        f"target median <= {PREVIEW_TARGET_MS:g} ms: " + ("PASS" if ok else "FAIL")
    )
    print(line)
    markdown += [line, ""]


@contextmanager
def _given(manifest: Path) -> Iterator[Dataset]:
    yield Dataset.from_json(manifest.read_text())


if __name__ == "__main__":
    main()
