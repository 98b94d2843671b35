"""Read-only share links to a project's checklist: made, listed, revoked, and found by token.

A link's token (256 random bits) is in the URL given once, when the link is made; only its
SHA-256 is stored, as for API keys. So the URL cannot be rebuilt afterwards: events and ticket
texts keep linking to the checklist in the API, never to a share link.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from app.models import ChecklistShare, Project, utcnow
from app.services.catalog.store import current_catalog
from app.services.checklists.documents import project_header
from app.services.context import Context
from app.services.directory.teams import hash_token
from app.services.events import record_event
from app.services.lookup import one_or_not_found

DEFAULT_EXPIRY_DAYS = 30
MAX_EXPIRY_DAYS = 365
# Where a link opens, under `PUBLIC_BASE_URL`.
SHARE_PATH = "/share"


def share_url(base_url: str, token: str) -> str:
    """The link's absolute URL (the only place its token is ever written)."""
    return f"{base_url.rstrip('/')}{SHARE_PATH}/{token}"


def share_snapshot(share: ChecklistShare) -> dict[str, Any]:
    """A link as events show it: never its token nor its URL."""
    return {
        "id": share.id,
        "name": share.name,
        "created_at": share.created_at.isoformat(),
        "expires_at": share.expires_at.isoformat(),
        "revoked_at": share.revoked_at.isoformat() if share.revoked_at else None,
    }


def create_share(
    session: Session,
    ctx: Context,
    project: Project,
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    name: str | None = None,
) -> tuple[ChecklistShare, str]:
    """A new link to `project`'s checklist and its token, which is not stored and cannot be
    shown again."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    share = ChecklistShare(
        team_id=project.team_id,
        project_id=project.id,
        name=name,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
        uses=0,
    )
    session.add(share)
    session.flush()
    _record(session, ctx, project, share, "checklist.share.created")
    return share, token


def shares_query(project: Project) -> Select[ChecklistShare]:
    """The project's links, revoked and expired ones included, for a list to page."""
    return select(ChecklistShare).where(
        ChecklistShare.team_id == project.team_id, ChecklistShare.project_id == project.id
    )


def get_share(
    session: Session, project: Project, share_id: str, *, lock: bool = False
) -> ChecklistShare:
    """One of the project's links; with `lock`, locked and read afresh for a change."""
    share: ChecklistShare = one_or_not_found(
        session,
        shares_query(project).where(ChecklistShare.id == share_id),
        f"No share link '{share_id}' of project '{project.slug}'.",
        lock=lock,
    )
    return share


def revoke_share(
    session: Session, ctx: Context, project: Project, share: ChecklistShare
) -> ChecklistShare:
    """Revoke the link: it opens nothing from now on. Revoking it again changes nothing."""
    if share.revoked_at is None:
        share.revoked_at = utcnow()
        session.flush()
        _record(session, ctx, project, share, "checklist.share.revoked")
    return share


def _record(
    session: Session, ctx: Context, project: Project, share: ChecklistShare, type_: str
) -> None:
    record_event(
        session,
        ctx,
        project.team_id,
        type_,
        {
            "project": project_header(project, current_catalog(session)),
            "share": share_snapshot(share),
        },
        project_id=project.id,
    )


class LiveShare(NamedTuple):
    """What opening a link needs of it: whose checklist it opens."""

    id: str
    team_id: str
    project_id: str


_shares = ChecklistShare.__table__
# By the token's hash, as API keys are: the database compares digests, never the token.
_LIVE = select(_shares.c.id, _shares.c.team_id, _shares.c.project_id).where(
    _shares.c.token_hash == bindparam("token_hash"),
    _shares.c.revoked_at.is_(None),
    _shares.c.expires_at > bindparam("now", type_=ChecklistShare.expires_at.type),
)


def find_live_share(session: Session, token: str, now: datetime | None = None) -> LiveShare | None:
    """The link `token` opens, when it is neither revoked nor expired; None otherwise (and
    for an unknown token: the caller cannot tell which)."""
    row = (
        session.connection()
        .execute(_LIVE, {"token_hash": hash_token(token), "now": now or utcnow()})
        .first()
    )
    return None if row is None else LiveShare(row.id, row.team_id, row.project_id)
