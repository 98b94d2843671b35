"""Rate limits on `/v1`: one budget per API key across every route, counted after
authentication; 429 problem+json with `Retry-After` past it.

The v1 blueprint's before-request hook authenticates the request and then calls
`limit_v1_request` with the key's id, or with None when the request carries no valid key
(missing, malformed, unknown or revoked), which is then counted against the client's
address. Flask-Limiter's own check runs before any blueprint hook, when the key is not yet
known, so it has no default or per-route limits here: the budget is one `shared_limit` with
the fixed scope `v1` on a plain function, which Flask-Limiter checks whenever it is called in
a request. Every `/v1` request costs 1. The counts live in `RATELIMIT_STORAGE_URI` (Redis
shares them between workers and instances); when that storage fails, Flask-Limiter counts in
memory until it answers again. Probes, `/openapi.json` and `/docs` never call it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

V1_SCOPE = "v1"
_EXTENSION = "v1_rate_limit"


def limit_v1_request(api_key_id: str | None) -> None:
    """Count this request against the budget of API key `api_key_id`, or against the
    client's address when None; raises `RateLimitExceeded` (a 429) past the budget."""
    g.rate_limit_identity = (
        f"key:{api_key_id}" if api_key_id else f"addr:{get_remote_address() or 'unknown'}"
    )
    count: Callable[[], None] = current_app.extensions[_EXTENSION]
    count()


def _identity() -> str:
    """Whom the current request counts against, as set by `limit_v1_request`."""
    return str(g.rate_limit_identity)


def init_rate_limits(app: Flask) -> Limiter:
    """A limiter of the app's own: Flask-Limiter keeps its limits and storage on the instance,
    so one shared instance could not serve apps configured differently (tests make several).

    The headers are ours, not the library's: it would send `Retry-After` with every answer and
    stretch the one a 503 gives to its own window.
    """
    limiter = Limiter(_identity, app=app)
    budget = limiter.shared_limit(app.config["SETTINGS"].rate_limit, scope=V1_SCOPE)

    @budget
    def count_v1_request() -> None:
        """Calling this in a request counts one hit against the budget (see the module)."""

    app.extensions[_EXTENSION] = count_v1_request

    @app.after_request
    def rate_limit_headers(response: Response) -> Response:
        current = limiter.current_limit
        if current is None:
            return response
        response.headers["X-RateLimit-Limit"] = str(current.limit.amount)
        response.headers["X-RateLimit-Remaining"] = str(current.remaining)
        response.headers["X-RateLimit-Reset"] = str(int(current.reset_at))
        if response.status_code == 429:
            # From the window's exact end: `reset_at` is rounded up a second past it.
            wait = current.window.reset_time - time.time()
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    return limiter
