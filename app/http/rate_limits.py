"""Rate limits per API key on every `/v1` route: 429 problem+json with `Retry-After`."""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def rate_limit_key() -> str:
    """Whom a request counts against: its API key (hashed; no database needed, and unknown
    keys are limited too, which slows guessing), else its address."""
    authorization = request.headers.get("Authorization")
    if authorization:
        return "key:" + hashlib.sha256(authorization.encode()).hexdigest()[:32]
    return "addr:" + (get_remote_address() or "unknown")


def not_limited() -> bool:
    """Probes, the API description and its viewer are never limited."""
    return not request.path.startswith("/v1/")


def init_rate_limits(app: Flask) -> Limiter:
    """A limiter of the app's own: Flask-Limiter keeps its limits and storage on the instance,
    so one shared instance could not serve apps configured differently (tests make several).

    The headers are ours, not the library's: it would send `Retry-After` with every answer and
    stretch the one a 503 gives to its own window.
    """
    limiter = Limiter(rate_limit_key, app=app, default_limits_exempt_when=not_limited)

    @app.after_request
    def rate_limit_headers(response: Response) -> Response:
        current = limiter.current_limit
        if current is None:
            return response
        response.headers["X-RateLimit-Limit"] = str(current.limit.amount)
        response.headers["X-RateLimit-Remaining"] = str(current.remaining)
        response.headers["X-RateLimit-Reset"] = str(int(current.reset_at))
        if response.status_code == 429:
            response.headers["Retry-After"] = str(max(1, math.ceil(current.reset_at - time.time())))
        return response

    return limiter
