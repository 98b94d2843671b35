"""One delivery attempt's rules: what is sent (signed headers), and what its outcome makes of
the delivery (succeeded, retried when, or dead) and of its endpoint.

Pure functions of a leased delivery (`Claimed`) and a `SendResult`: the worker that owns the
transactions (`app/workers/delivery.py`) claims, sends and records with them.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.services.webhooks.outcome import SendResult
from app.services.webhooks.signing import signature_header

if TYPE_CHECKING:
    from app.config import Settings

__all__ = [
    "RESERVED_HEADERS",
    "Claimed",
    "attempt_error",
    "endpoint_outcome",
    "next_state",
    "retry_delay",
    "signed_headers",
    "strongest_outcome",
]

# Headers the service sets itself; an endpoint's static headers cannot replace them.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "transfer-encoding",
        "connection",
    }
)


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to this worker, with what sending it needs."""

    id: str
    endpoint_id: str
    url: str
    headers: dict[str, str]
    signing_secrets: tuple[str, ...]
    message_id: str
    body: bytes
    attempts: int


def signed_headers(delivery: Claimed, timestamp: int | None = None) -> dict[str, str]:
    """The endpoint's headers and the signed `webhook-*` ones, for an attempt made now."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        **delivery.headers,
        "Content-Type": "application/json",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            delivery.signing_secrets, delivery.message_id, timestamp, delivery.body
        ),
    }


def retry_delay(
    settings: Settings, failed_attempts: int, retry_after: float | None
) -> float | None:
    """Seconds before the next attempt after `failed_attempts` failures (None: give up).

    The schedule's step with ±20 % jitter, so that many deliveries failing together do not
    come back together; never sooner than the receiver's `Retry-After`.
    """
    schedule = settings.webhook_retry_schedule
    if failed_attempts > len(schedule):
        return None
    delay = schedule[failed_attempts - 1] * random.uniform(0.8, 1.2)  # noqa: S311
    return max(delay, retry_after or 0.0)


def next_state(
    settings: Settings, delivery: Claimed, result: SendResult, now: datetime
) -> dict[str, Any]:
    """The delivery's columns after this attempt: succeeded, retrying at a time, or dead (the
    schedule is spent, or the receiver answered 410 Gone). The lease is released."""
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": result.status_code,
        "last_error": attempt_error(result),
        "lease_until": None,
        "leased_by": None,
        "updated_at": now,
    }
    if _succeeded(result):
        return {**values, "status": "succeeded", "succeeded_at": now, "next_attempt_at": None}
    gone = result.status_code == 410
    delay = None if gone else retry_delay(settings, attempts, result.retry_after)
    if delay is None:
        return {**values, "status": "dead", "next_attempt_at": None}
    return {**values, "status": "retrying", "next_attempt_at": now + timedelta(seconds=delay)}


def attempt_error(result: SendResult) -> str | None:
    """The error a delivery shows: the sender's, or what a non-2xx answer means."""
    if result.error:
        return result.error[:500]
    code = result.status_code
    if code is None or 200 <= code < 300:
        return None
    if 300 <= code < 400:
        return f"HTTP {code}: redirects are not followed"
    return f"HTTP {code}"


# What a round says of an endpoint: one 410 outweighs successes, one success outweighs failures.
_OUTCOME_RANK = ("failed", "succeeded", "gone")


def endpoint_outcome(result: SendResult) -> str:
    """What one attempt says of its endpoint: `gone` (410), `succeeded` or `failed`."""
    if result.status_code == 410:
        return "gone"
    return "succeeded" if _succeeded(result) else "failed"


def strongest_outcome(a: str, b: str) -> str:
    """Of two outcomes for one endpoint, the one that decides (see `_OUTCOME_RANK`)."""
    return max(a, b, key=_OUTCOME_RANK.index)


def _succeeded(result: SendResult) -> bool:
    return result.status_code is not None and 200 <= result.status_code < 300
