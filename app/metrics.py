"""The Prometheus metrics the service keeps: requests by route and status, their latency, and
the checklist engine's work. `app/http/metrics.py` serves them."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Module level: prometheus_client registers metrics once per process, however many apps.
REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
REGENERATIONS = Counter(
    "checklist_regenerations_total",
    "Checklist regenerations, by whether the content changed",
    ["outcome"],
)
RENDERS = Counter(
    "checklist_renders_total",
    "Checklist renderings asked for, by whether the render cache answered",
    ["cache"],
)
