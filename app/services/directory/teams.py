"""Teams and their API keys."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import unicodedata
from collections.abc import Iterable

from limits.storage import RedisStorage, storage_from_string
from sqlalchemy import Select, or_, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, lazyload

from app.errors import Conflict, NotFound, ValidationFailed
from app.models import SCOPES, ApiKey, Person, Team, utcnow
from app.services.context import Context
from app.services.events import record_event
from app.services.lookup import one_or_not_found

TOKEN_PREFIX = "sck_"  # noqa: S105 - a label, not a secret
# The key generation, in the rate-limit store (Redis): replaced whenever a key is revoked, so
# that every worker stops trusting the keys it cached (see app/http/auth.py).
KEY_GENERATION = "staffing-checklist:api-key-generation"
_REVOKED = "api_key_revoked_store"

log = logging.getLogger(__name__)


def new_token() -> str:
    """A recognisable, unguessable API key: `sck_` and 256 bits of randomness."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Keys are stored as their SHA-256: a key's 256 random bits need no slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def slugify(text: str, fallback: str, max_length: int = 80) -> str:
    """A URL-friendly form of `text`; for text without Latin letters or digits (`日本`),
    `fallback` and a short hash of the text, so that different names get different slugs."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_length].strip("-")
    if slug:
        return slug
    return f"{fallback}-{hashlib.sha256(text.encode('utf-8', 'replace')).hexdigest()[:8]}"


def create_team(session: Session, ctx: Context, name: str, slug: str | None = None) -> Team:
    name = name.strip()
    if not name or len(name) > 120:
        raise ValidationFailed(
            "A team name has 1 to 120 characters.", errors={"name": ["Bad length."]}
        )
    slug = slug or slugify(name, "team")
    if session.scalar(select(Team.id).where(Team.slug == slug)):
        raise Conflict(f"A team with the slug '{slug}' exists already.")
    team = Team(name=name, slug=slug)
    session.add(team)
    session.flush()
    record_event(
        session, ctx, team.id, "team.created", {"team": {"id": team.id, "name": name, "slug": slug}}
    )
    return team


def find_team(session: Session, id_or_slug: str) -> Team:
    team = session.scalar(select(Team).where(or_(Team.id == id_or_slug, Team.slug == id_or_slug)))
    if team is None:
        raise NotFound(f"No team '{id_or_slug}'.")
    return team


def parse_scopes(raw: str | Iterable[str]) -> list[str]:
    scopes = [s.strip() for s in (raw.split(",") if isinstance(raw, str) else raw) if s.strip()]
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationFailed(
            f"Scopes are a comma-separated subset of {', '.join(SCOPES)}.",
            errors={"scopes": [f"Unknown scope: {s}" for s in unknown] or ["No scope given."]},
        )
    return [s for s in SCOPES if s in scopes]


def create_key(
    session: Session,
    ctx: Context,
    team: Team,
    scopes: Iterable[str],
    name: str = "",
    *,
    person: Person | None = None,
) -> tuple[ApiKey, str]:
    """Create a key, a personal one when `person` (of `team`) is given, and return it with its
    secret, which is not stored and cannot be shown again."""
    if person is not None and person.team_id != team.id:
        raise NotFound(f"No person '{person.id}' in team '{team.slug}'.")
    token = new_token()
    key = ApiKey(
        team_id=team.id,
        name=name or (f"{person.name}'s key" if person is not None else "api key"),
        prefix=token[: len(TOKEN_PREFIX) + 6],
        secret_hash=hash_token(token),
        scopes=",".join(parse_scopes(list(scopes))),
        person_id=person.id if person is not None else None,
    )
    session.add(key)
    session.flush()
    record_event(
        session,
        ctx,
        team.id,
        "api_key.created",
        {
            "api_key": {
                "id": key.id,
                "name": key.name,
                "scopes": key.scopes,
                "prefix": key.prefix,
                "person_id": key.person_id,
            }
        },
    )
    return key, token


def list_keys(session: Session, team: Team) -> list[ApiKey]:
    return list(
        session.scalars(select(ApiKey).where(ApiKey.team_id == team.id).order_by(ApiKey.created_at))
    )


def personal_keys_query(team_id: str, person_id: str) -> Select[ApiKey]:
    """A person's keys, revoked ones included, for a list to page."""
    return select(ApiKey).where(ApiKey.team_id == team_id, ApiKey.person_id == person_id)


def get_personal_key(
    session: Session, team_id: str, person_id: str, key_id: str, *, lock: bool = False
) -> ApiKey:
    """One of a person's keys; with `lock`, locked and read afresh, as a write to it needs."""
    # Without the team's join (a row locked cannot be on the outer side of one).
    stmt = (
        personal_keys_query(team_id, person_id)
        .where(ApiKey.id == key_id)
        .options(lazyload(ApiKey.team))
    )
    key: ApiKey = one_or_not_found(
        session, stmt, f"No API key '{key_id}' of person '{person_id}'.", lock=lock
    )
    return key


def revoke_person_keys(session: Session, ctx: Context, person: Person) -> None:
    """Revoke every live key of `person` (who is leaving the directory): each with its event,
    and every worker stops trusting what it cached of them."""
    live = session.scalars(
        personal_keys_query(person.team_id, person.id).where(ApiKey.revoked_at.is_(None))
    ).all()
    for key in live:
        revoke_key(session, ctx, key.id)


def revoke_key(session: Session, ctx: Context, key_id: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"No API key '{key_id}'.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        record_event(
            session,
            ctx,
            key.team_id,
            "api_key.revoked",
            {"api_key": {"id": key.id, "name": key.name}},
        )
        _new_generation_on_commit(session, ctx.settings.rate_limit_storage_uri)
    session.flush()
    return key


def _new_generation_on_commit(session: Session, storage_uri: str) -> None:
    """When this transaction commits (not before: a worker could cache the key again from
    the database in between), replace the key generation in the shared store."""
    if not sa_event.contains(Session, "after_commit", _announce_revocation):
        sa_event.listen(Session, "after_commit", _announce_revocation)
        sa_event.listen(Session, "after_rollback", _forget_revocation)
    session.info[_REVOKED] = storage_uri


def _announce_revocation(session: Session) -> None:
    storage_uri = session.info.pop(_REVOKED, None)
    if storage_uri is not None:
        new_key_generation(storage_uri)


def _forget_revocation(session: Session) -> None:
    session.info.pop(_REVOKED, None)


def new_key_generation(storage_uri: str) -> bool:
    """Replace the key generation in the rate-limit store at `storage_uri`, if it is Redis;
    True when it was. Failing is logged, not raised: the revocation is committed, and the
    workers' cached keys expire within `API_KEY_CACHE_SECONDS` anyway."""
    if storage_uri.startswith(("memory:", "async+")):
        return False
    try:
        storage = storage_from_string(storage_uri)
        if not isinstance(storage, RedisStorage):
            return False
        # limits types the client as a protocol of only the commands it sends itself.
        client = storage.get_connection()
        try:
            client.set(KEY_GENERATION, secrets.token_hex(8))  # type: ignore[attr-defined]
        finally:
            client.close()  # type: ignore[attr-defined]
    except Exception:
        log.warning(
            "could not tell the workers about a revoked API key: their cached keys expire "
            "within API_KEY_CACHE_SECONDS",
            exc_info=True,
        )
        return False
    return True
