"""Serving the Prometheus metrics at `GET /metrics`, and counting every request in them.

With several gunicorn workers, set `PROMETHEUS_MULTIPROC_DIR` to an empty directory shared by
them (`flask dev` does): each worker keeps its numbers in its own memory-mapped file there, and
the worker that answers a scrape gathers all of them. A request only adds to its worker's.
"""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from app.metrics import LATENCY, REQUESTS

# The series a request adds to, by (method, route, status) and (method, route): looked up
# once a process, not through `labels()` (its checks and lock) on every request. Bounded by
# the routes and statuses there are.
_counted: dict[tuple[str, str, int], Any] = {}
_timed: dict[tuple[str, str], Any] = {}


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _finish(response: Response) -> Response:
    if request.path == "/metrics":
        return response
    # The route's rule, not the path: ids must not explode the number of series.
    rule = request.url_rule
    method, status = request.method, response.status_code
    route = rule.rule if rule is not None else "unmatched"
    counter = _counted.get((method, route, status))
    if counter is None:
        counter = _counted[method, route, status] = REQUESTS.labels(method, route, str(status))
    counter.inc()
    started = g.get("metrics_started")
    if started is not None:
        histogram = _timed.get((method, route))
        if histogram is None:
            histogram = _timed[method, route] = LATENCY.labels(method, route)
        histogram.observe(time.perf_counter() - started)
    return response


def metrics() -> Response:
    """The metrics in Prometheus' text format (no authentication: scrape it from inside)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def init_metrics(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.add_url_rule("/metrics", "metrics", metrics)
