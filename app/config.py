"""Every setting, read from the environment in one place, with its default."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def normalize_database_url(url: str) -> str:
    """Map the spellings operators use for PostgreSQL onto the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise RuntimeError(f"{name} must be 1/true/yes/on or 0/false/no/off, got {raw!r}")


def _schedule(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    """Seconds between attempts, comma-separated: `5,300,1800`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        steps = tuple(int(part) for part in raw.split(","))
    except ValueError as exc:
        raise RuntimeError(f"{name} must be comma-separated seconds, got {raw!r}") from exc
    if not steps or any(step < 0 for step in steps):
        raise RuntimeError(f"{name} must be comma-separated non-negative seconds, got {raw!r}")
    return steps


def _days(name: str, default: int | None) -> int | None:
    """A retention in days: a positive integer, or unset (`default`; None keeps forever)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        days = int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a number of days, got {raw!r}") from exc
    if days < 1:
        raise RuntimeError(f"{name} must be at least 1 day, got {raw!r}")
    return days


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a number, got {raw!r}") from exc
    if not math.isfinite(value):
        raise RuntimeError(f"{name} must be a finite number, got {raw!r}")
    return value


def _base_url(name: str, default: str) -> str:
    """An absolute http(s) URL without its trailing slash, for building links."""
    raw = (os.environ.get(name) or default).strip().rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RuntimeError(f"{name} must be an absolute http(s) URL, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    """The service's settings; `docs/configuration.md` lists them for operators."""

    database_url: str
    max_body_bytes: int
    default_page_size: int
    max_page_size: int
    idempotency_ttl_seconds: int
    max_roles_per_person: int
    rate_limit: str
    rate_limit_storage_uri: str
    log_level: str
    # Outgoing webhooks: SSRF policy and timeouts (app/services/webhooks/ssrf.py, sender.py).
    webhook_allow_private_targets: bool
    webhook_require_https: bool
    webhook_connect_timeout: float
    webhook_timeout: float
    # Outgoing webhooks: delivery (app/workers/delivery.py).
    webhook_retry_schedule: tuple[int, ...]
    webhook_disable_after_seconds: int
    webhook_secret_grace_seconds: int
    webhook_worker_concurrency: int
    webhook_endpoint_concurrency: int
    webhook_lease_seconds: int
    webhook_poll_seconds: float
    # Where clients reach the service: the absolute links in events and webhooks start here.
    public_base_url: str
    # Inbound Linear deliveries: how far `webhookTimestamp` may be from now (replays refused).
    linear_timestamp_tolerance_seconds: int = 60
    # How long a worker may trust an API key it looked up (only with a Redis rate-limit store,
    # through which revocations reach every worker at once; 0: look every key up each time).
    api_key_cache_seconds: float = 5.0
    # How often a process writes the last use of the API keys it served (outside any
    # request's transaction, in one batch): `last_used_at` is this late at most.
    key_use_flush_seconds: float = 60.0
    # Proxies (load balancers) in front of the service whose X-Forwarded-For / -Proto it
    # believes; 0: the connection's own address is the client's.
    trusted_proxy_hops: int = 0
    # Each read-only share link's own budget (`/share/{token}`), whoever opens it.
    share_rate_limit: str = "60 per minute"
    # The fast path in front of Flask for the hottest reads (`app/api/fast_reads.py`); off,
    # Flask answers every request.
    fast_reads: bool = True
    # Retention (`app/services/retention.py`): finished webhook deliveries (with their
    # attempts) and inbound deliveries older than this many days are pruned; events only when
    # set (None: kept forever).
    webhook_delivery_retention_days: int | None = 30
    inbound_delivery_retention_days: int | None = 30
    event_retention_days: int | None = None
    # Native tickets (app/services/ticketing/tracker_sync.py): the Fernet key the trackers'
    # tokens are encrypted with at rest (none: tickets cannot be configured), GitHub's REST
    # API base (GitHub Enterprise: `https://HOST/api/v3`) and Linear's GraphQL endpoint (Jira's
    # base is each integration's site).
    tickets_encryption_key: str | None = None
    github_api_url: str = "https://api.github.com"
    linear_api_url: str = "https://api.linear.app/graphql"

    @classmethod
    def from_env(cls) -> Settings:
        default_db = f"sqlite:///{INSTANCE_DIR / 'staffing.db'}"
        return cls(
            database_url=normalize_database_url(os.environ.get("DATABASE_URL") or default_db),
            max_body_bytes=_int("MAX_BODY_BYTES", 256 * 1024),
            default_page_size=_int("PAGE_SIZE_DEFAULT", 50),
            max_page_size=_int("PAGE_SIZE_MAX", 200),
            idempotency_ttl_seconds=_int("IDEMPOTENCY_TTL_SECONDS", 24 * 3600),
            max_roles_per_person=_int("MAX_ROLES_PER_PERSON", 2),
            rate_limit=os.environ.get("RATE_LIMIT", "600 per minute"),
            rate_limit_storage_uri=os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
            log_level=os.environ.get("LOG_LEVEL", "INFO").upper(),
            webhook_allow_private_targets=_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False),
            webhook_require_https=_bool("WEBHOOK_REQUIRE_HTTPS", False),
            webhook_connect_timeout=_float("WEBHOOK_CONNECT_TIMEOUT", 5.0),
            webhook_timeout=_float("WEBHOOK_TIMEOUT", 15.0),
            webhook_retry_schedule=_schedule(
                "WEBHOOK_RETRY_SCHEDULE", (5, 300, 1800, 7200, 18000, 36000, 36000)
            ),
            webhook_disable_after_seconds=_int("WEBHOOK_DISABLE_AFTER_SECONDS", 5 * 24 * 3600),
            webhook_secret_grace_seconds=_int("WEBHOOK_SECRET_GRACE_SECONDS", 24 * 3600),
            webhook_worker_concurrency=_int("WEBHOOK_WORKER_CONCURRENCY", 32),
            webhook_endpoint_concurrency=_int("WEBHOOK_ENDPOINT_CONCURRENCY", 8),
            webhook_lease_seconds=_int("WEBHOOK_LEASE_SECONDS", 75),
            webhook_poll_seconds=_float("WEBHOOK_POLL_SECONDS", 0.25),
            public_base_url=_base_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
            linear_timestamp_tolerance_seconds=_int("LINEAR_TIMESTAMP_TOLERANCE_SECONDS", 60),
            api_key_cache_seconds=max(0.0, _float("API_KEY_CACHE_SECONDS", 5.0)),
            key_use_flush_seconds=max(0.0, _float("KEY_USE_FLUSH_SECONDS", 60.0)),
            trusted_proxy_hops=max(0, _int("TRUSTED_PROXY_HOPS", 0)),
            share_rate_limit=os.environ.get("SHARE_RATE_LIMIT", "60 per minute"),
            fast_reads=_bool("FAST_READS", True),
            webhook_delivery_retention_days=_days("WEBHOOK_DELIVERY_RETENTION_DAYS", 30),
            inbound_delivery_retention_days=_days("INBOUND_DELIVERY_RETENTION_DAYS", 30),
            event_retention_days=_days("EVENT_RETENTION_DAYS", None),
            tickets_encryption_key=os.environ.get("TICKETS_ENCRYPTION_KEY") or None,
            github_api_url=_base_url("GITHUB_API_URL", "https://api.github.com"),
            linear_api_url=_base_url("LINEAR_API_URL", "https://api.linear.app/graphql"),
        )

    def flask_config(self) -> dict[str, Any]:
        """The Flask and extension settings derived from ours."""
        # No `pool_pre_ping`: a round trip on every request. A connection found closed is
        # replaced and the request's step run again (`app.http.connection`).
        engine_options: dict[str, Any] = {}
        if self.database_url.startswith("sqlite"):
            # Wait for the writer lock rather than failing at once when the worker writes.
            engine_options = {"connect_args": {"timeout": 15}}
        return {
            "SETTINGS": self,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "MAX_CONTENT_LENGTH": self.max_body_bytes,
            "RATELIMIT_STORAGE_URI": self.rate_limit_storage_uri,
            "FAST_READS": self.fast_reads,
            # A storage outage must not take the API down: count in memory meanwhile.
            "RATELIMIT_SWALLOW_ERRORS": True,
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            "API_TITLE": "Staffing checklist API",
            "API_VERSION": "v1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/",
            "OPENAPI_JSON_PATH": "openapi.json",
            "OPENAPI_SWAGGER_UI_PATH": "/docs",
            "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",
        }
