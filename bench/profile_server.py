"""Where a request's time goes under gunicorn: the service as `bench/server_bench.py` runs it
(`gunicorn --workers 2 --worker-class sync wsgi:app`, Redis rate limits, multiprocess metrics,
the JSON access log at INFO to a file), with cProfile in each worker
(`bench/profile_gunicorn.py`), driven by wrk; the shares of a request's time (wall time, or
the worker's CPU time with `--clock cpu`), per endpoint, on SQLite and PostgreSQL.

Run from the repository root (needs `wrk`):

    .venv/bin/python bench/profile_server.py [--database sqlite|postgresql|both] \
        [--scale 0.02] [--duration 5] [--warmup 2] [--keep DIR] [--only ROWS] [--top 25] \
        [--clock wall|cpu] [--output FILE]

For each endpoint (the checklist's 304, its JSON 200, `/healthz`) it starts a gunicorn of its
own with the profiling config, warms it up with wrk (each worker turns its profiler on after
`PROFILE_SKIP` requests), runs wrk for `--duration` seconds, stops gunicorn (each worker writes
its statistics as it exits), and merges the workers' statistics. 100 % is the time of the
sync worker's `accept` (one connection, one request: gunicorn's sync worker does not keep
connections alive): accepting, parsing, the application, writing the answer, closing.

It prints, per endpoint, the time of a request in the profile (cProfile slows Python calls, so
the absolute figure is above the unprofiled one: read the shares), the shares of the parts
named in `PARTS` (inclusive; nested parts overlap), then the `--top` functions by cumulative
share. The datasets are `bench/make_dataset.py`'s, as `server_bench.py --keep DIR` makes and
reuses them.
"""

from __future__ import annotations

import argparse
import os
import pstats
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from server_bench import (  # noqa: E402
    REDIS_URL,
    Request,
    ServerOptions,
    dataset_for,
    gunicorn,
    hot_project,
    http,
    machine,
    product_env,
    run_wrk,
    worker_pids,
    wrk_script,
)

# The parts of a request worth naming: (label, file the function is in, its name). Shares are
# inclusive (a part's callees count in it), so nested parts overlap.
PARTS: tuple[tuple[str, str, str], ...] = (
    ("gunicorn: parse the request", "gunicorn/http/parser.py", "__next__"),
    ("gunicorn: write the answer", "gunicorn/http/wsgi.py", "write"),
    ("gunicorn: close the connection", "gunicorn/util.py", "close"),
    ("the WSGI app (Flask)", "flask/app.py", "wsgi_app"),
    ("  request context push", "flask/ctx.py", "push"),
    ("  request context pop (teardowns)", "flask/ctx.py", "pop"),
    ("    flask-sqlalchemy teardown", "flask_sqlalchemy/extension.py", "_teardown_session"),
    ("    key use noted", "app/http/key_use.py", "_note_and_maybe_write"),
    ("    Flask-Limiter teardown", "flask_limiter/_extension.py", "__release_context"),
    ("  before-request hooks", "flask/app.py", "preprocess_request"),
    ("    request id, body checks", "app/http/request_context.py", "_start"),
    ("    v1: connection, key, budget", "app/api/common.py", "_authorize"),
    ("      key authenticated", "app/http/auth.py", "authenticate"),
    ("      rate limit counted", "app/http/rate_limits.py", "limit_v1_request"),
    ("        the hit (Redis round trip)", "app/http/rate_limits.py", "hit"),
    ("        Flask-Limiter's layers (its path)", "flask_limiter/_limits.py", "__inner"),
    ("  the view", "flask/app.py", "dispatch_request"),
    ("    strict query", "app/http/strict_query.py", "check"),
    ("    unit of work", "app/http/transaction.py", "run"),
    ("    the query parsed (webargs, or kept)", "app/api/common.py", "parse"),
    ("      webargs: the query parsed", "webargs/core.py", "parse"),
    ("    checklist state read", "app/services/checklists/reads.py", "checklist_header"),
    ("    session rolled back", "sqlalchemy/orm/session.py", "rollback"),
    ("  after-request hooks", "flask/app.py", "process_response"),
    ("    access log line", "app/http/request_context.py", "_finish"),
    ("      logging: the record made and handled", "logging/__init__.py", "_log"),
    ("      python-json-logger format", "pythonjsonlogger/core.py", "format"),
    ("    metrics", "app/http/metrics.py", "_finish"),
    ("    Flask-Limiter headers", "flask_limiter/_extension.py", "__inject_headers"),
    ("    rate-limit headers", "app/http/rate_limits.py", "rate_limit_headers"),
    ("    conditional GET", "app/http/etags.py", "conditional_get"),
    ("  the answer started (headers)", "werkzeug/wrappers/response.py", "__call__"),
    ("the request's connection begun (first read)", "app/http/connection.py", "begin_request"),
    ("SQLAlchemy: connection checkout", "sqlalchemy/pool/base.py", "_checkout"),
    ("SQLAlchemy: connection returned", "sqlalchemy/pool/base.py", "_finalize_fairy"),
)
_ACCEPT = ("gunicorn/workers/sync.py", "accept")


@dataclass
class Endpoint:
    name: str
    request: Request


def endpoints(base: str, token: str, slug: str) -> list[Endpoint]:
    checklist = f"/v1/projects/{slug}/checklist"
    status, headers, _ = http(base, "GET", checklist, token)
    assert status == 200, status
    etag = headers["ETag"]
    return [
        Endpoint("checklist 304", Request("GET", checklist, None, {"If-None-Match": etag})),
        Endpoint("checklist JSON 200", Request("GET", checklist)),
        Endpoint("/healthz", Request("GET", "/healthz")),
    ]


def _find(stats: pstats.Stats, path: str, function: str) -> tuple[int, float] | None:
    """(calls, cumulative seconds) of the function `function` in a file ending in `path`,
    summed over its definitions there (a name defined twice in a file: both)."""
    calls, total, found = 0, 0.0, False
    for (filename, _line, name), (_cc, nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if name == function and filename.endswith(path):
            calls, total, found = calls + nc, total + ct, True
    return (calls, total) if found else None


def _label(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    for marker in ("site-packages/", "/lib/python3", str(ROOT) + "/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    if filename.startswith(".") and "/" in filename:  # `/lib/python3.11/x.py` -> `x.py`
        filename = filename.split("/", 1)[1]
    return f"{name} ({filename}:{line})" if line else name


def report(stats: pstats.Stats, top: int) -> list[str]:
    accept = _find(stats, *_ACCEPT)
    if accept is None or accept[0] == 0:
        return ["  (no request profiled)"]
    requests, whole = accept
    lines = [
        f"  {requests:,} requests profiled, {whole / requests * 1e6:,.0f} µs each in the profile "
        "(cProfile's own cost included)",
        "",
        f"  {'part':<44} {'share':>6} {'µs':>7} {'calls/req':>9}",
    ]
    for label, path, function in PARTS:
        found = _find(stats, path, function)
        if found is None or found[1] == 0:
            continue
        calls, seconds = found
        lines.append(
            f"  {label:<44} {seconds / whole:6.1%} {seconds / requests * 1e6:7.0f} "
            f"{calls / requests:9.2f}"
        )
    lines += ["", f"  top {top} by cumulative share (at most 99 %: the worker's loop left out)"]
    ranked = sorted(
        (
            (ct, key, nc)
            for key, (_cc, nc, _tt, ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
            if ct / whole <= 0.99 and key[2] not in ("<built-in method builtins.exec>",)
        ),
        key=lambda row: -row[0],
    )
    for ct, key, nc in ranked[:top]:
        lines.append(f"  {ct / whole:6.1%} {nc / requests:6.2f}/req  {_label(key)}")
    return lines


def profile_endpoint(
    endpoint: Endpoint,
    options: ServerOptions,
    env: dict[str, str],
    token: str,
    workdir: Path,
    duration: float,
    warmup: float,
    connections: int,
    skip: int,
    clock: str,
) -> tuple[pstats.Stats | None, float]:
    """Profile `endpoint` under a gunicorn of its own: the merged statistics of its workers
    and wrk's req/s (under the profiler)."""
    out = Path(tempfile.mkdtemp(prefix="profile-", dir=workdir))
    profiled_env = {
        **env,
        "PROFILE_DIR": str(out),
        "PROFILE_SKIP": str(skip),
        "PROFILE_CLOCK": clock,
    }
    config = ["--config", str(ROOT / "bench" / "profile_gunicorn.py")]
    script = workdir / "profile.lua"
    script.write_text(wrk_script([[endpoint.request]], token, 2))
    with gunicorn(options, workdir, env=profiled_env, extra=config) as (base, master):
        run_wrk(base, script, warmup, connections, 2)
        done = run_wrk(base, script, duration, connections, 2)
        pids = worker_pids(master)
        os.kill(master, signal.SIGTERM)  # the workers write their profiles as they exit
        for pid in pids:
            _wait_gone(pid)
    files = sorted(str(p) for p in out.glob("worker-*.prof"))
    rps = done["requests"] / (done["duration_us"] / 1e6)
    if not files:
        return None, rps
    return pstats.Stats(*files), rps


def _wait_gone(pid: int, seconds: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=0.02, help="1 = 10,000 projects")
    parser.add_argument("--duration", type=float, default=5, help="seconds profiled per endpoint")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip", type=int, default=300, help="requests a worker serves unprofiled")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall", help="what the profiler measures"
    )
    parser.add_argument("--keep", type=Path, help="keep the datasets here, and reuse them")
    parser.add_argument("--only", help="only the endpoints whose names start with one of these")
    parser.add_argument("--output", type=Path, help="also write the report here")
    parser.add_argument(
        "--save", type=Path, help="keep each endpoint's merged statistics here (pstats files)"
    )
    args = parser.parse_args(argv)
    options = ServerOptions(args.workers, "sync", 1, "INFO", REDIS_URL)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    lines = [f"Machine: {machine()}."]
    print(lines[0], flush=True)
    with tempfile.TemporaryDirectory(prefix="profile-server-") as tmp:
        workdir = Path(tmp)
        for kind in kinds:
            with dataset_for(kind, args.scale, args.keep, workdir) as dataset:
                env = product_env(dataset.database_url, options, workdir)
                hot, _ = hot_project(dataset)
                with gunicorn(options, workdir, env=env) as (base, _master):
                    chosen = endpoints(base, dataset.token, hot.slug)
                if args.only:
                    prefixes = tuple(p.strip() for p in args.only.split(","))
                    chosen = [e for e in chosen if e.name.startswith(prefixes)]
                for endpoint in chosen:
                    stats, rps = profile_endpoint(
                        endpoint,
                        options,
                        env,
                        dataset.token,
                        workdir,
                        args.duration,
                        args.warmup,
                        args.connections,
                        args.skip,
                        args.clock,
                    )
                    if stats is not None and args.save:
                        args.save.mkdir(parents=True, exist_ok=True)
                        slug = "".join(c if c.isalnum() else "-" for c in endpoint.name).strip("-")
                        stats.dump_stats(str(args.save / f"{kind}-{slug}-{args.clock}.prof"))
                    block = [
                        "",
                        f"== {kind}: {endpoint.name}, {args.clock} clock ({rps:,.0f} req/s "
                        f"under the profiler, load average {os.getloadavg()[0]:.1f})",
                        *(report(stats, args.top) if stats else ["  (no profile written)"]),
                    ]
                    print("\n".join(block), flush=True)
                    lines += block
    if args.output:
        args.output.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
