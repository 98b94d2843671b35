"""`Idempotency-Key` on every POST: a retry replays the first response instead of redoing work.

The key is claimed inside the request's own transaction, before the work, and the response is
stored in that same transaction: the claim, the work and the stored answer commit together or
not at all. A concurrent request with the same key waits on the claim (PostgreSQL's unique
index; SQLite's write lock) and then replays the committed answer; a request that failed or
died leaves no claim behind, so its retry simply does the work.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from flask import Response, current_app, g, request
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.errors import Conflict, ValidationFailed
from app.models import IdempotencyRecord, utcnow
from app.models.base import new_id

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_REPLAYED_HEADERS = ("Location", "ETag", "Link")
# `g` flag: the view said its answer holds a secret (`holds_a_secret`).
_WITHHOLD = "idempotency_withhold"
# Expired records are purged a few at a time by the requests that claim keys.
_PURGE_BATCH = 100


def _fingerprint() -> str:
    # The same JSON in another key order or spacing is the same request; the body was decoded
    # (and vetted) once already by the request check.
    if "json_body" in g:
        canonical = json.dumps(g.json_body, sort_keys=True, separators=(",", ":")).encode()
    else:
        canonical = request.get_data(cache=True)
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.full_path.encode(), canonical):
        digest.update(part + b"\0")
    return digest.hexdigest()


def claim(session: Session, team_id: str, ttl: timedelta) -> Response | None:
    """Before a POST's work: claim its key, or answer with the stored response of the first
    try. The claim is part of the caller's transaction."""
    g.pop("idempotency_claim", None)
    g.pop(_WITHHOLD, None)
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
            errors={HEADER: [f"1 to {MAX_KEY_LENGTH} characters, no control characters."]},
        )
    fingerprint = _fingerprint()
    now = utcnow()
    _purge_expired(session, team_id, key, now)
    record_id = new_id(IdempotencyRecord.id_prefix)
    if _insert_claim(session, record_id, team_id, key, fingerprint, now, now + ttl):
        g.idempotency_claim = record_id
        return None
    existing = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.team_id == team_id, IdempotencyRecord.key == key
        )
    )
    if existing is None or existing.status_code is None:
        # Gone between the insert and the read (expired and purged by another request).
        raise Conflict(f"A request with this {HEADER} just changed state; retry it.")
    if existing.fingerprint != fingerprint:
        raise ValidationFailed(
            f"This {HEADER} was used with another request; use a new key for a new request.",
            errors={HEADER: ["Already used with a different request body or path."]},
        )
    if existing.response_body is None:
        # The first answer held a secret shown once: it was not kept, so it is not replayed.
        location = (existing.response_headers or {}).get("Location")
        where = f" ({location})" if location else ""
        raise Conflict(
            f"The first request with this {HEADER} succeeded{where}, and its answer held a "
            "secret that is shown only once and never stored: read the resource, and rotate "
            "its secret if the first answer was lost.",
            headers={"Location": location} if location else None,
        )
    response = current_app.response_class(
        existing.response_body,
        status=existing.status_code,
        headers=existing.response_headers or {},
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _purge_expired(session: Session, team_id: str, key: str, now: datetime) -> None:
    """Drop this key's expired record (so it can be claimed again) and a few other expired
    ones of the team, skipping rows another transaction holds rather than waiting on them.

    A committed record without a response is dropped too: claims commit only with their
    response, so it was left by a request that died under an older version of this service.
    """
    expired = IdempotencyRecord.expires_at < now
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.team_id == team_id,
            IdempotencyRecord.key == key,
            or_(expired, IdempotencyRecord.status_code.is_(None)),
        )
    )
    batch = (
        select(IdempotencyRecord.id)
        .where(IdempotencyRecord.team_id == team_id, expired)
        .limit(_PURGE_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.id.in_(batch))
        .execution_options(synchronize_session=False)
    )


def _insert_claim(
    session: Session,
    record_id: str,
    team_id: str,
    key: str,
    fingerprint: str,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Insert the claim unless the key is held; True when this request now holds it.

    `ON CONFLICT DO NOTHING` rather than catching the unique violation: on PostgreSQL it waits
    for a concurrent holder to finish and never aborts the transaction.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(IdempotencyRecord.__table__)
        .values(
            id=record_id,
            team_id=team_id,
            key=key,
            fingerprint=fingerprint,
            created_at=now,
            expires_at=expires_at,
        )
        .on_conflict_do_nothing(index_elements=["team_id", "key"])
        .returning(IdempotencyRecord.__table__.c.id)
    )
    return session.execute(statement).first() is not None


def store(session: Session, response: Response) -> None:
    """Keep a successful response of a POST that claimed a key, in the same transaction as
    its work (without its body when it holds a secret, `_holds_a_secret`). Failures are not
    kept: the rollback releases the key for a retry."""
    record_id = g.pop("idempotency_claim", None)
    if record_id is None:
        return
    withhold = _holds_a_secret(response)
    headers = {"Content-Type": response.content_type}
    headers.update({h: response.headers[h] for h in _REPLAYED_HEADERS if h in response.headers})
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(
            status_code=response.status_code,
            # No secret is stored: an answer holding one is kept as None (`claim` says why).
            response_body=None if withhold else response.get_data(as_text=True),
            response_headers=headers,
        )
        .execution_options(synchronize_session=False)
    )


def holds_a_secret() -> None:
    """Say that the running request's answer shows a secret under another name than `secret`
    (a share link's `url` holds its token): it is not kept for a replay either."""
    g.setdefault(_WITHHOLD, True)


def _holds_a_secret(response: Response) -> bool:
    """Whether the answer shows a secret (a `secret` member: an endpoint's or integration's,
    created or rotated; or one its view declared, `holds_a_secret`), which is shown once and
    stored nowhere, not even for a replay."""
    if g.pop(_WITHHOLD, False):
        return True
    if not response.is_json:
        return False
    answer = response.get_json(silent=True)
    return isinstance(answer, dict) and "secret" in answer
