"""Bearer API keys: who the caller is (a team, and for a personal key a person of it) and what
it may do (scopes).

A key is looked up by the SHA-256 of the secret the request carries: one Core statement of the
five columns a request needs (built once, here), no ORM object and no `Team`. What it finds
may be kept in a per-process cache for `API_KEY_CACHE_SECONDS`, but only where the rate-limit
storage is shared (Redis), because that is how a revocation reaches every worker at once:
`revoke_key` replaces the key generation in that store when its transaction commits, the
request's rate-limit hit reads the generation in the same round trip (see
`app.http.rate_limits`), and a cached key is used only when it was looked up under the
generation that hit saw. Otherwise (memory storage, the store down, a generation changed)
every request looks its key up in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app, g, request
from sqlalchemy import bindparam, select

from app.errors import Forbidden, Unauthorized
from app.extensions import db
from app.http.connection import begin_request, reconnecting
from app.models import ApiKey
from app.services.directory.teams import hash_token
from app.services.lru import LRUCache

# The methods that read: they need the blueprint's read scope, every other its write scope.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Keys kept per process at most; the least recently used goes first.
KEY_CACHE_SIZE = 4096
_EXTENSION = "api_key_cache"

_keys = ApiKey.__table__
# Looking the key up by its hash is a constant-time comparison in effect: the database
# compares digests, never the secret, so timing reveals nothing about valid keys.
_LOOKUP = select(
    _keys.c.id, _keys.c.team_id, _keys.c.scopes, _keys.c.revoked_at, _keys.c.person_id
).where(_keys.c.secret_hash == bindparam("secret_hash"))


@dataclass(frozen=True, slots=True)
class VerifiedKey:
    """What a request needs of its API key."""

    id: str
    team_id: str
    scopes: frozenset[str]
    revoked_at: datetime | None
    # The person a personal key acts as (who signs and approves); None for a team key.
    person_id: str | None = None

    def allows(self, scope: str) -> bool:
        """`admin` implies `write`, which implies `read`: the one statement of that rule."""
        if "admin" in self.scopes:
            return True
        if "write" in self.scopes:
            return scope in {"read", "write"}
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class _Entry:
    key: VerifiedKey
    # The key generation read before the key was: the entry is good while it is current.
    generation: str | None


class KeyCache:
    """Verified keys by secret hash, for `ttl` seconds, at most `size` of them (LRU)."""

    def __init__(self, ttl: float, size: int = KEY_CACHE_SIZE) -> None:
        self.ttl = ttl
        self.enabled = ttl > 0
        # The last generation any request of this process saw, to tag what is looked up next.
        self.generation: str | None = None
        self._entries: LRUCache[str, _Entry] = LRUCache(size, ttl)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        return self._entries.size

    @size.setter
    def size(self, size: int) -> None:
        self._entries.size = size

    def get(self, secret_hash: str) -> _Entry | None:
        return self._entries.get(secret_hash) if self.enabled else None

    def put(self, secret_hash: str, key: VerifiedKey, generation: str | None) -> None:
        if self.enabled and generation is not None:
            self._entries.put(secret_hash, _Entry(key, generation))

    def discard(self, secret_hash: str) -> None:
        self._entries.discard(secret_hash)

    def saw(self, generation: str | None) -> None:
        if generation is not None:
            self.generation = generation


def init_key_cache(app: Flask, shared_store: bool) -> KeyCache:
    """The app's key cache: on only with a shared store to hear revocations from."""
    ttl = app.config["SETTINGS"].api_key_cache_seconds if shared_store else 0
    cache = KeyCache(ttl)
    app.extensions[_EXTENSION] = cache
    return cache


def key_cache() -> KeyCache:
    return key_cache_of(current_app)


def key_cache_of(app: Flask) -> KeyCache:
    cache: KeyCache = app.extensions[_EXTENSION]
    return cache


def _secret_hash() -> str:
    return secret_hash_of(request.headers.get("Authorization", ""))


def secret_hash_of(header: str) -> str:
    """The hash of the key an `Authorization` header carries; 401 for a missing or malformed
    header."""
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized("Send an API key: 'Authorization: Bearer <key>'.")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <key>'.")
    return hash_token(token.strip())


def _valid(key: VerifiedKey | None) -> VerifiedKey:
    if key is None or key.revoked_at is not None:
        raise Unauthorized("The API key is unknown or revoked.")
    return key


def _look_up(secret_hash: str) -> VerifiedKey | None:
    begin_request()  # the request's first read, unless it read before
    row = reconnecting(
        lambda: db.session.connection().execute(_LOOKUP, {"secret_hash": secret_hash}).first()
    )
    if row is None:
        return None
    return VerifiedKey(
        id=row.id,
        team_id=row.team_id,
        scopes=frozenset(s for s in row.scopes.split(",") if s),
        revoked_at=row.revoked_at,
        person_id=row.person_id,
    )


def authenticate() -> VerifiedKey:
    """The request's key, from the cache or the database; 401 if unknown or revoked.

    A key from the cache is provisional until `confirm` has seen the store's generation.
    """
    secret_hash = _secret_hash()
    g.api_key_hash = secret_hash
    cache = key_cache()
    entry = cache.get(secret_hash)
    if entry is not None:
        g.api_key_generation = entry.generation
        return _valid(entry.key)
    # Tagged with the generation seen before the lookup: a revocation committed after the
    # lookup changes the generation after that, so the entry will not be used again.
    generation = cache.generation
    key = _look_up(secret_hash)
    g.api_key_generation = None  # read now: nothing to confirm
    if key is not None:
        cache.put(secret_hash, key, generation)
    return _valid(key)


def confirm(key: VerifiedKey, generation: str | None) -> VerifiedKey:
    """`key` if it was read from the database in this request or cached under `generation`,
    the store's current one; otherwise the key as the database has it now (401 if revoked)."""
    cache = key_cache()
    cache.saw(generation)
    cached_under = g.pop("api_key_generation", None)
    if cached_under is None or cached_under == generation:
        return key
    secret_hash = g.api_key_hash
    cache.discard(secret_hash)
    fresh = _look_up(secret_hash)
    if fresh is not None:
        cache.put(secret_hash, fresh, generation)
    return _valid(fresh)


def require_scope(key: VerifiedKey, scope: str) -> None:
    if not key.allows(scope):
        raise Forbidden(
            f"This API key lacks the '{scope}' scope; it has: {', '.join(sorted(key.scopes))}."
        )


def authorize(key: VerifiedKey, write_scope: str = "write", read_scope: str = "read") -> None:
    """Make `key` (authenticated and confirmed) the request's, and check the scope its
    method needs: `read_scope` to read, `write_scope` to write."""
    g.api_key_id = key.id
    g.api_key_person_id = key.person_id
    g.team_id = key.team_id
    require_scope(key, read_scope if request.method in READ_METHODS else write_scope)


def current_team_id() -> str:
    """The id of the team the request's API key belongs to."""
    return str(g.team_id)
