"""`Idempotency-Key` on every POST: a retry replays the first response instead of redoing work.

The key is claimed before the work starts (a row with no response yet, committed on its own),
so two concurrent requests with one key cannot both do the work: the second gets 409.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from flask import Response, current_app, g, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.models import IdempotencyRecord, utcnow

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Failures a retry may well not repeat: the key is released so that the retry does the work.
_RETRYABLE = frozenset({409, 412, 429})
_REPLAYED_HEADERS = ("Location", "ETag", "Link")
# A claim with no response after this long belongs to a request that died: it may be taken over.
ABANDONED_AFTER = timedelta(minutes=2)


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


def claim() -> Response | None:
    """Before a POST: claim its key, or answer with the stored response of the first try."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
            errors={HEADER: [f"1 to {MAX_KEY_LENGTH} characters, no control characters."]},
        )
    team_id = g.team.id
    fingerprint = _fingerprint()
    now = utcnow()
    ttl = timedelta(seconds=current_app.config["SETTINGS"].idempotency_ttl_seconds)
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.team_id == team_id, IdempotencyRecord.expires_at < now
        )
    )
    claimed, existing = _claim_or_find(team_id, key, fingerprint, now + ttl)
    if existing is not None and _abandoned(existing, fingerprint, now):
        # The first try died before it answered (its process was killed): this one takes over.
        db.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.id == existing.id, IdempotencyRecord.status_code.is_(None)
            )
        )
        claimed, existing = _claim_or_find(team_id, key, fingerprint, now + ttl)
    if claimed:
        return None
    if existing is None:  # released by the first request in the meantime
        raise Conflict(f"A request with this {HEADER} just finished; retry it.")
    if existing.fingerprint != fingerprint:
        raise ValidationFailed(
            f"This {HEADER} was used with another request; use a new key for a new request.",
            errors={HEADER: ["Already used with a different request body or path."]},
        )
    if existing.status_code is None:
        raise Conflict(f"A request with this {HEADER} is still in progress; retry later.")
    response = current_app.response_class(
        existing.response_body or "",
        status=existing.status_code,
        headers=existing.response_headers or {},
    )
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _claim_or_find(
    team_id: str, key: str, fingerprint: str, expires_at: datetime
) -> tuple[bool, IdempotencyRecord | None]:
    """Claim the key (True), or find the record holding it (None if it just vanished)."""
    record = IdempotencyRecord(
        team_id=team_id, key=key, fingerprint=fingerprint, expires_at=expires_at
    )
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
    else:
        g.idempotency_record = record
        return True, None
    existing = db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.team_id == team_id, IdempotencyRecord.key == key
        )
    )
    return False, existing


def _abandoned(record: IdempotencyRecord, fingerprint: str, now: datetime) -> bool:
    """A claim by this same request that never got its answer, long ago."""
    return (
        record.status_code is None
        and record.fingerprint == fingerprint
        and record.created_at < now - ABANDONED_AFTER
    )


def store(response: Response) -> Response:
    """After a POST that claimed a key: keep its response, or release the key."""
    record: IdempotencyRecord | None = g.pop("idempotency_record", None)
    if record is None:
        return response
    db.session.rollback()  # anything the view left behind is not ours to commit
    record = db.session.merge(record)
    if response.status_code >= 500 or response.status_code in _RETRYABLE:
        db.session.delete(record)
    else:
        record.status_code = response.status_code
        record.response_body = response.get_data(as_text=True)
        headers = {"Content-Type": response.content_type}
        headers.update({h: response.headers[h] for h in _REPLAYED_HEADERS if h in response.headers})
        record.response_headers = headers
    db.session.commit()
    return response
