"""Serving the Prometheus metrics at `GET /metrics`, and counting every request in them.

With several gunicorn workers, set `PROMETHEUS_MULTIPROC_DIR` to an empty directory shared by
them (`flask dev` does): each worker keeps its numbers in its own memory-mapped file there, and
the worker that answers a scrape gathers all of them. A request only adds to its worker's.
Each table's retention backlog is read from the database (at most every
`BACKLOG_SECONDS` per process), not counted: any worker answers it alike.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from app.extensions import db
from app.metrics import LATENCY, REQUESTS
from app.models import utcnow
from app.services.retention import backlogs

log = logging.getLogger(__name__)

# How long a process answers the backlog it last counted: counting reads the tables' indexes,
# which a scrape every few seconds need not do each time.
BACKLOG_SECONDS = 30.0

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
    count_request(
        request.method,
        rule.rule if rule is not None else "unmatched",
        response.status_code,
        g.get("metrics_started"),
    )
    return response


def count_request(method: str, route: str, status: int, started: float | None) -> None:
    """Count one answered request and its latency since `started` (also by
    `app.api.fast_reads`)."""
    counter = _counted.get((method, route, status))
    if counter is None:
        counter = _counted[method, route, status] = REQUESTS.labels(method, route, str(status))
    counter.inc()
    if started is not None:
        histogram = _timed.get((method, route))
        if histogram is None:
            histogram = _timed[method, route] = LATENCY.labels(method, route)
        histogram.observe(time.perf_counter() - started)


class BacklogCollector(Collector):
    """`retention_backlog_rows{table}`: the rows of each pruned table past their retention,
    waiting for the worker's pruning (0 for a table kept forever); nothing when the database
    cannot be read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counted: tuple[float, dict[str, int]] | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self._counts()
        if counts is None:
            return
        family = GaugeMetricFamily(
            "retention_backlog_rows",
            "Rows past their table's retention, not yet pruned",
            labels=["table"],
        )
        for table, rows in counts.items():
            family.add_metric([table], rows)
        yield family

    def _counts(self) -> dict[str, int] | None:
        with self._lock:
            if self._counted is not None and time.monotonic() - self._counted[0] < BACKLOG_SECONDS:
                return self._counted[1]
            try:
                with db.engine.connect() as connection:
                    counts = backlogs(connection, current_app.config["SETTINGS"], utcnow())
            except Exception:  # the metrics of the process still answer without the database
                log.exception("retention backlog not counted")
                return None
            self._counted = (time.monotonic(), counts)
            return counts


def metrics() -> Response:
    """The metrics in Prometheus' text format (no authentication: scrape it from inside)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    body += generate_latest(current_app.extensions["backlog_registry"])
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def init_metrics(app: Flask) -> None:
    # Per app (its database): a registry of its own, never the process-wide one.
    backlog_registry = CollectorRegistry()
    backlog_registry.register(BacklogCollector())
    app.extensions["backlog_registry"] = backlog_registry
    app.before_request(_start)
    app.after_request(_finish)
    app.add_url_rule("/metrics", "metrics", metrics)
