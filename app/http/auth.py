"""Bearer API keys: who the caller is (a team) and what it may do (scopes)."""

from __future__ import annotations

from datetime import timedelta

from flask import g, request
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.errors import Forbidden, Unauthorized
from app.extensions import db
from app.models import ApiKey, Team, utcnow
from app.services.teams import hash_token

# How stale `last_used_at` may get before a request writes it again.
LAST_USED_RESOLUTION = timedelta(minutes=1)
SCOPE_BY_METHOD = {"GET": "read", "HEAD": "read", "OPTIONS": "read"}


def authenticate() -> ApiKey:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise Unauthorized("Send an API key: 'Authorization: Bearer <key>'.")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <key>'.")
    # Looking the key up by its hash is a constant-time comparison in effect: the database
    # compares digests, never the secret, so timing reveals nothing about valid keys.
    key = db.session.scalar(select(ApiKey).where(ApiKey.secret_hash == hash_token(token.strip())))
    if key is None or key.revoked_at is not None:
        raise Unauthorized("The API key is unknown or revoked.")
    return key


def note_key_use(session: Session, key_id: str) -> None:
    """Bring the key's `last_used_at` up to date, at most once a `LAST_USED_RESOLUTION`.

    Part of the request's transaction, written just before it commits; a row another request
    is updating right now is skipped rather than waited on (it is being brought up to date).
    """
    now = utcnow()
    stale = (
        select(ApiKey.id)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
        )
        .with_for_update(skip_locked=True)
    )
    session.execute(
        update(ApiKey)
        .where(ApiKey.id.in_(stale))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def require_scope(key: ApiKey, scope: str) -> None:
    if not key.allows(scope):
        raise Forbidden(
            f"This API key lacks the '{scope}' scope; it has: {', '.join(sorted(key.scope_set))}."
        )


def authorize(write_scope: str = "write") -> None:
    """Authenticate the request and check the scope its method needs."""
    key = authenticate()
    g.api_key = key
    g.api_key_id = key.id
    g.team = key.team
    g.team_id = key.team_id
    used = key.last_used_at
    g.key_use_stale = used is None or utcnow() - used > LAST_USED_RESOLUTION
    require_scope(key, SCOPE_BY_METHOD.get(request.method, write_scope))


def current_team_id() -> str:
    """The id of the team the request's API key belongs to."""
    return str(g.team_id)


def current_team() -> Team:
    return g.team
