"""Serving the Prometheus metrics at `GET /metrics`, and counting every request in them.

With several gunicorn workers, set `PROMETHEUS_MULTIPROC_DIR` to an empty directory shared by
them (`flask dev` does): each worker writes its numbers there and any worker answers for all.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from app.metrics import LATENCY, REQUESTS


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _finish(response: Response) -> Response:
    if request.path == "/metrics":
        return response
    # The route's rule, not the path: ids must not explode the number of series.
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    started = g.get("metrics_started")
    if started is not None:
        LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
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
