"""Rate limits on `/v1`: one budget per API key across every route, counted after
authentication; 429 problem+json with `Retry-After` past it.

The v1 blueprint's before-request hook authenticates the request and then calls
`limit_v1_request` with the key's id, or with None when the request carries no valid key
(missing, malformed, unknown or revoked), which is then counted against the client's
address. Flask-Limiter's own check would run before any blueprint hook, when the key is not
yet known, so it is taken off the app (a request that counts nothing, as a probe, checks no
limit), and so are its after-request and teardown hooks, which have nothing to do here (see
`init_rate_limits`): the budget is one `shared_limit` with the fixed scope `v1` on a
plain function, which Flask-Limiter checks whenever it is called in a request. Every `/v1`
request costs 1. The counts live in `RATELIMIT_STORAGE_URI` (Redis shares them between
workers and instances); when that storage fails, Flask-Limiter counts in memory until it
answers again. Probes, `/openapi.json` and `/docs` never call it.

The hit is made directly (`DirectBudget`): Flask-Limiter's layers around it (the request's
endpoint, its limits resolved from its manager, each limit's exemptions, scope and cost, the
context it records for its own headers) find the same one limit on every request, and cost
about as much as the round trip to Redis. The library's path is still taken whenever its
state says the direct one would not do what it does (disabled, the storage down and counted in
memory, a hit that fails); what the direct path relies on is checked at start-up (`_require`).

One round trip to Redis per request: the fixed-window strategy's hit is a Lua script that
increments the window's counter (the key `limits` itself uses), sets its expiry when new, and
returns the count, the time left in the window and the API key generation (see
`app.http.auth`); the headers are written from that answer, not from a second
`get_window_stats` call.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import RateLimitItem
from limits.storage import MemoryStorage, RedisClusterStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter
from redis import Redis
from redis.commands.core import Script
from redis.connection import Connection, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError

from app.http.auth import init_key_cache
from app.services.directory.teams import KEY_GENERATION

V1_SCOPE = "v1"
SHARE_SCOPE = "share"
_EXTENSION = "v1_rate_limit"
# The name the rate limit's own Redis connections give themselves (`CLIENT SETNAME`).
HIT_CONNECTION_NAME = "staffing-rate-limit"
_SHARE_EXTENSION = "share_rate_limit"

# KEYS: the window's counter, the key generation. ARGV: the window in seconds, the cost, and a
# new generation, set when there is none (a Redis that was flushed or never revoked a key).
_HIT_SCRIPT = """
local current = redis.call("incrby", KEYS[1], ARGV[2])
if current == tonumber(ARGV[2]) then
    redis.call("expire", KEYS[1], ARGV[1])
end
local left = redis.call("pttl", KEYS[1])
local generation = redis.call("get", KEYS[2])
if not generation then
    generation = ARGV[3]
    redis.call("set", KEYS[2], generation)
end
return {current, left, generation}
"""


@dataclass(frozen=True, slots=True)
class Window:
    """What one hit learnt: the budget, what is left of it, when the window ends (epoch
    seconds) and the key generation read with it (None: no shared store answered)."""

    limit: int
    remaining: int
    reset: float
    generation: str | None


class OneTripFixedWindow(FixedWindowRateLimiter):
    """Flask-Limiter's fixed-window strategy, but a hit also learns the window's state (and,
    on Redis, the key generation) in the same call, and keeps it on `g` for the headers.

    On Redis, each thread sends its hits on a connection of its own (`_HitConnection`), made
    as the storage's pool makes its connections: the pool's checkout and return, and the
    client's layers around a command, cost as much again as the round trip. Anything else
    goes through the storage's client as before."""

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage)
        self._script = None
        self._hits: _HitConnection | None = None
        # A cluster would refuse a script over two keys of different slots.
        if isinstance(storage, RedisStorage) and not isinstance(storage, RedisClusterStorage):
            client = cast(Redis, storage.get_connection())
            self._script = client.register_script(_HIT_SCRIPT.encode())
            # A connection of a sentinel's pool is made by its pool: those hits use the pool.
            if type(client.connection_pool) is ConnectionPool:
                self._hits = _HitConnection(client.connection_pool, self._script)

    @property
    def shares_generation(self) -> bool:
        return self._script is not None

    def current_generation(self) -> str | None:
        """The key generation in the shared store now (made if there is none); None without
        a shared store, or when it does not answer (the first hit then reads it)."""
        if self._script is None:
            return None
        assert isinstance(self.storage, RedisStorage)
        try:
            connection = self.storage.get_connection()
            # As the hit script does: a store that never had one gets one. (limits types the
            # client as a protocol of only the commands it sends itself.)
            connection.set(KEY_GENERATION, secrets.token_hex(8), nx=True)  # type: ignore[attr-defined]
            value = connection.get(KEY_GENERATION)
        except (RedisError, OSError):  # the store does not answer: the first hit reads it
            return None
        return value.decode() if isinstance(value, bytes) else value

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        counted = self.counted(item, *identifiers, cost=cost)
        if counted is None:
            return super().hit(item, *identifiers, cost=cost)
        allowed, g.v1_window = counted
        return allowed

    def counted(
        self, item: RateLimitItem, *identifiers: str, cost: int = 1
    ) -> tuple[bool, Window] | None:
        """Hit `item` in Redis or in memory: whether the hit is within the budget, and the
        window it left; None for another storage (`hit` then takes the library's)."""
        key = item.key_for(*identifiers)
        expiry = item.get_expiry()
        if self._script is not None:
            assert isinstance(self.storage, RedisStorage)
            keys = (self.storage.prefixed_key(key), KEY_GENERATION)
            args = (expiry, cost, secrets.token_hex(8))
            if self._hits is not None:
                count, left_ms, generation = self._hits.run(keys, args)
            else:
                count, left_ms, generation = self._script(list(keys), list(args))
            now = time.time()
            reset = now + max(int(left_ms), 0) / 1000
            seen = generation.decode() if isinstance(generation, bytes) else str(generation)
        elif isinstance(self.storage, MemoryStorage):  # in the process: nothing to save
            count = self.storage.incr(key, expiry, amount=cost)
            reset, seen = self.storage.get_expiry(key), None
        else:
            return None
        count = int(count)
        return count <= item.amount, Window(item.amount, max(0, item.amount - count), reset, seen)


class _HitConnection:
    """The hit script run on a Redis connection of the calling thread's own (one a thread,
    made again after a fork or a failure), with the storage pool's connection class and
    settings (server, database, credentials, TLS, timeouts).

    A connection found closed (the server dropped it while idle) is replaced and the hit sent
    once more, as the client's default retry would; any other failure (a timeout: the hit
    may have counted) is raised, and the connection closed so that the next hit starts on a
    fresh one. A server that no longer
    has the script (restarted, or `SCRIPT FLUSH`) ran nothing: the hit goes through the
    client's script object, which loads it again."""

    def __init__(self, pool: ConnectionPool, script: Script) -> None:
        self._pool = pool
        self._script = script
        self._local = threading.local()

    def run(self, keys: tuple[str, str], args: tuple[int, int, str]) -> Any:
        connection, fresh = self._connection()
        try:
            return self._send(connection, keys, args)
        except NoScriptError:
            return self._script(list(keys), list(args))
        except RedisConnectionError:
            self._drop(connection)
            if fresh:
                raise
            connection, _ = self._connection()
            try:
                return self._send(connection, keys, args)
            except BaseException:
                self._drop(connection)
                raise
        except BaseException:
            self._drop(connection)
            raise

    def _send(
        self, connection: Connection, keys: tuple[str, str], args: tuple[int, int, str]
    ) -> Any:
        connection.send_command("EVALSHA", self._script.sha, len(keys), *keys, *args)
        return connection.read_response()

    def _connection(self) -> tuple[Connection, bool]:
        """The thread's connection, and whether it was made just now."""
        local = self._local
        connection: Connection | None = getattr(local, "connection", None)
        if connection is not None and local.pid == os.getpid():
            return connection, False
        # Named, so that an operator tells these apart in `CLIENT LIST` (unless the URL names
        # the service's connections already).
        settings = {"client_name": HIT_CONNECTION_NAME, **self._pool.connection_kwargs}
        if settings["client_name"] is None:
            settings["client_name"] = HIT_CONNECTION_NAME
        connection = self._pool.connection_class(**settings)
        connection.connect()
        local.connection, local.pid = connection, os.getpid()
        return connection, True

    def _drop(self, connection: Connection) -> None:
        connection.disconnect()
        self._local.connection = None


def limit_v1_request(api_key_id: str | None) -> str | None:
    """Count this request against the budget of API key `api_key_id`, or against the
    client's address when None; raises `RateLimitExceeded` (a 429) past the budget.

    Returns the key generation the shared store holds (None without one)."""
    identity = f"key:{api_key_id}" if api_key_id else f"addr:{get_remote_address() or 'unknown'}"
    _count(_EXTENSION, identity)
    return seen_generation()


def limit_share_request(share_id: str) -> None:
    """Count this request against the budget of share link `share_id` (`SHARE_RATE_LIMIT`,
    whoever opens it); raises `RateLimitExceeded` (a 429) past it."""
    _count(_SHARE_EXTENSION, f"share:{share_id}")


class DirectBudget:
    """One shared limit of ours, hit without Flask-Limiter's per-request layers: the same key
    (`LIMITER/[prefix/]identity/scope/amount/1/unit`), the same strategy, the same
    `RateLimitExceeded` (its limit, so the same 429 problem), the same log line past it.

    `usable()` says when the library would do just that: it is enabled and set up, counts in
    its storage (not in memory after a failure: its own path checks when the storage is back)
    and uses our strategy. A hit that raises goes to the library's path, which counts the
    request again and falls back to memory as it always did.
    """

    def __init__(self, limiter: Limiter, limit: Any, strategy: OneTripFixedWindow) -> None:
        (runtime,) = list(limit)  # one rate (`RATE_LIMIT` and `SHARE_RATE_LIMIT` are one each)
        # What `Limiter.__evaluate_limits` would do differently for another limit, and what it
        # would add: none of it is used here, and a change would make this path wrong.
        _require(
            runtime.shared and not runtime.per_method and runtime.methods is None,
            "the budget is one shared limit for every method",
        )
        _require(
            runtime.exempt_when is None and runtime.deduct_when is None,
            "the budget has no exemption and no deduction",
        )
        _require(
            runtime.on_breach is None and not runtime.meta_limits and runtime.cost == 1,
            "the budget has no breach callback, no meta limit, and costs 1",
        )
        _require(isinstance(runtime.scope, str) and bool(runtime.scope), "the scope is fixed")
        manager = limiter.limit_manager
        _require(
            not manager._default_limits and not manager._application_limits,
            "no default or application limits",
        )
        _require(
            not limiter._meta_limits and limiter._on_breach is None,
            "no meta limits and no breach callback on the limiter",
        )
        _require(not limiter._request_filters, "no request filters")
        self.limiter = limiter
        self.runtime = runtime
        self.strategy = strategy
        self.prefix = (limiter._key_prefix,) if limiter._key_prefix else ()

    def usable(self) -> bool:
        limiter = self.limiter
        return (
            limiter.enabled
            and limiter.initialized
            and not limiter._storage_dead
            and limiter._limiter is self.strategy
        )

    def count(self, identity: str) -> None:
        """Hit the budget once; `RateLimitExceeded` past it; any failure of the storage raised."""
        if not self.strategy.hit(self.runtime.limit, *self.prefix, identity, self.runtime.scope):
            self.refuse(identity)

    def counted(self, identity: str) -> tuple[bool, Window]:
        """Hit the budget once in the shared store, outside any request context (the fast
        path, `app.api.fast_reads`): whether within it, and the window; failures raised."""
        counted = self.strategy.counted(
            self.runtime.limit, *self.prefix, identity, self.runtime.scope
        )
        if counted is None:
            raise RuntimeError("only a Redis or memory storage counts directly")
        return counted

    def refuse(self, identity: str) -> None:
        """The request past the budget: the library's log line, then its 429."""
        self.limiter.logger.info(
            "ratelimit %s (%s) exceeded at endpoint: %s",
            self.runtime.limit,
            identity,
            self.runtime.scope,
        )
        raise RateLimitExceeded(self.runtime)


# The WSGI environ's key under which the fast path (`app.api.fast_reads`) hands a request it
# has already counted to Flask: the request's first count in `_count` takes that hit instead of
# hitting the budget again (the environ is the server's: a client cannot set this key).
PRECOUNTED = "staffing.v1_precounted"


@dataclass(frozen=True, slots=True)
class Precounted:
    """A v1 hit made before Flask: whom it counted, and what it found (None: the direct hit
    failed, and the library's path counts the request, as after a failed direct hit)."""

    identity: str
    counted: tuple[bool, Window] | None


def _count(budget: str, identity: str) -> None:
    g.rate_limit_identity = identity
    g.pop("v1_window", None)
    direct: DirectBudget = current_app.extensions[f"{budget}_direct"]
    pre: Precounted | None = request.environ.pop(PRECOUNTED, None)
    if pre is not None and budget == _EXTENSION and pre.identity == identity:
        # Counted once already, by the fast path: what it found stands for this hit.
        if pre.counted is not None:
            allowed, g.v1_window = pre.counted
            if not allowed:
                direct.refuse(identity)
            return
    elif direct.usable():
        try:
            direct.count(identity)
            return
        except RateLimitExceeded:
            raise
        except Exception:  # as the library does: its path falls back to memory
            g.pop("v1_window", None)
    count: Callable[[], None] = current_app.extensions[budget]
    count()


def seen_generation() -> str | None:
    """The key generation the request's last hit read from the shared store, if any."""
    window = g.get("v1_window")
    return window.generation if window is not None else None


def _identity() -> str:
    """Whom the current request counts against, as set by `limit_v1_request`."""
    return str(g.rate_limit_identity)


def _drop_idle_hooks(app: Flask, limiter: Limiter) -> None:
    """Take Flask-Limiter's after-request and teardown hooks off the app: here they only cost.

    After each request the library deducts the limits declared with `deduct_when` (ours have
    none) and writes its headers when `RATELIMIT_HEADERS_ENABLED` (off: the headers are ours,
    `rate_limit_headers`); at teardown it clears its per-request state, which lives on the
    request's context and goes with it. Each made that state on every request, probes
    included, to find nothing to do.
    """
    _require(not limiter._headers_enabled, "Flask-Limiter's headers are off (ours are written)")
    inject = Limiter._Limiter__inject_headers  # type: ignore[attr-defined]
    hooks = app.after_request_funcs[None]
    ours = [h for h in hooks if isinstance(h, partial) and (h.func, h.args) == (inject, (limiter,))]
    _require(len(ours) == 1, "Flask-Limiter adds its headers in an after-request hook")
    hooks.remove(ours[0])
    app.teardown_request_funcs[None].remove(limiter._Limiter__release_context)  # type: ignore[attr-defined]


def _require(holds: bool, what: str) -> None:
    """A start-up check of what the direct path relies on in Flask-Limiter (an `assert`
    would be gone under `python -O`): the app refuses to start rather than count wrong."""
    if not holds:
        raise RuntimeError(f"the rate limit's direct path relies on this, which is not so: {what}")


def window_headers(window: Window, status: int) -> list[tuple[str, str]]:
    """The rate-limit headers of an answer with `status` after a hit that left `window`."""
    headers = [
        ("X-RateLimit-Limit", str(window.limit)),
        ("X-RateLimit-Remaining", str(window.remaining)),
        # As Flask-Limiter's `reset_at`: a second past the window's end, rounded down.
        ("X-RateLimit-Reset", str(int(window.reset + 1))),
    ]
    if status == 429:
        headers.append(("Retry-After", str(max(1, math.ceil(window.reset - time.time())))))
    return headers


def init_rate_limits(app: Flask) -> Limiter:
    """A limiter of the app's own: Flask-Limiter keeps its limits and storage on the instance,
    so one shared instance could not serve apps configured differently (tests make several).

    The headers are ours, not the library's: it would send `Retry-After` with every answer and
    stretch the one a 503 gives to its own window.
    """
    limiter = Limiter(_identity, app=app)
    # Flask-Limiter 4 checks every request before its view and has no switch for it; with no
    # default or route limits that check finds nothing, after a pass through its layers on
    # every request, probes included. Only `limit_v1_request` and `limit_share_request` count.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    _drop_idle_hooks(app, limiter)
    # Flask-Limiter builds its strategy from a name; ours is that strategy with the one-trip
    # hit. The fallback (memory, while the storage is down) keeps the library's own.
    strategy = OneTripFixedWindow(limiter.storage)
    limiter._limiter = strategy
    _require(limiter.limiter is strategy, "Flask-Limiter keeps its strategy in `_limiter`")
    cache = init_key_cache(app, shared_store=strategy.shares_generation)
    # Seen before any lookup, so a worker caches keys from its first request (a revocation
    # after this read replaces the generation, and entries tagged with this one are not used).
    cache.saw(strategy.current_generation())
    budget = limiter.shared_limit(app.config["SETTINGS"].rate_limit, scope=V1_SCOPE)

    @budget
    def count_v1_request() -> None:
        """Calling this in a request counts one hit against the budget (see the module)."""

    app.extensions[_EXTENSION] = count_v1_request
    app.extensions[f"{_EXTENSION}_direct"] = DirectBudget(limiter, budget, strategy)

    share_budget = limiter.shared_limit(app.config["SETTINGS"].share_rate_limit, scope=SHARE_SCOPE)

    @share_budget
    def count_share_request() -> None:
        """Calling this in a request counts one hit against a share link's budget."""

    app.extensions[_SHARE_EXTENSION] = count_share_request
    app.extensions[f"{_SHARE_EXTENSION}_direct"] = DirectBudget(limiter, share_budget, strategy)

    @app.after_request
    def rate_limit_headers(response: Response) -> Response:
        window: Window | None = g.get("v1_window")
        if window is None:
            # Counted by the library's fallback strategy (in memory): asking it is cheap.
            current = limiter.current_limit
            if current is None:
                return response
            window = Window(
                current.limit.amount, current.remaining, current.window.reset_time, None
            )
        for name, value in window_headers(window, response.status_code):
            response.headers[name] = value
        return response

    return limiter
