"""Read-only share links, to a project's checklist or to the team dashboard: made, listed,
revoked, and found by token.

A link's token (256 random bits) is in the URL given once, when the link is made; only its
SHA-256 is stored, as for API keys, so the URL cannot be rebuilt afterwards. The exception is a
project's ticket link (`tickets`): it is made to be written into the project's ticket texts and
events, which every reader of a ticket or a webhook sees, so its token is kept to write it
there again; the newest live one is used (`ticket_share_url`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from app.models import Project, ShareLink, utcnow
from app.services.catalog.store import current_catalog
from app.services.checklists.documents import project_header
from app.services.context import Context
from app.services.directory.teams import hash_token
from app.services.events import record_event
from app.services.lookup import one_or_not_found

DEFAULT_EXPIRY_DAYS = 30
MAX_EXPIRY_DAYS = 365
# Where a link opens, under `PUBLIC_BASE_URL`: a checklist's at `/share/{token}`, a dashboard's
# at `/share/dashboard/{token}`.
SHARE_PATH = "/share"
DASHBOARD_SHARE_PATH = f"{SHARE_PATH}/dashboard"


def share_url(base_url: str, token: str, target: str = "checklist") -> str:
    """The link's absolute URL (the only place its token is written, but for a ticket link's)."""
    path = DASHBOARD_SHARE_PATH if target == "dashboard" else SHARE_PATH
    return f"{base_url.rstrip('/')}{path}/{token}"


def share_snapshot(share: ShareLink) -> dict[str, Any]:
    """A link as events show it: never its token nor its URL."""
    return {
        "id": share.id,
        "name": share.name,
        "tickets": share.tickets,
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
    *,
    tickets: bool = False,
) -> tuple[ShareLink, str]:
    """A new link to `project`'s checklist and its token, which is not stored and cannot be
    shown again, unless the link is the project's ticket link (`tickets`)."""
    share, token = _new_share(project.team_id, project.id, expires_in_days, name, tickets)
    session.add(share)
    session.flush()
    _record(session, ctx, project, share, "checklist.share.created")
    return share, token


def create_dashboard_share(
    session: Session,
    ctx: Context,
    team_id: str,
    expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    name: str | None = None,
) -> tuple[ShareLink, str]:
    """A new link to the team's dashboard and its token, which is not stored."""
    share, token = _new_share(team_id, None, expires_in_days, name, tickets=False)
    session.add(share)
    session.flush()
    _record(session, ctx, None, share, "dashboard.share.created")
    return share, token


def _new_share(
    team_id: str, project_id: str | None, expires_in_days: int, name: str | None, tickets: bool
) -> tuple[ShareLink, str]:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    share = ShareLink(
        team_id=team_id,
        target="dashboard" if project_id is None else "checklist",
        project_id=project_id,
        name=name,
        token_hash=hash_token(token),
        tickets=tickets,
        token=token if tickets else None,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
        uses=0,
    )
    return share, token


def shares_query(project: Project) -> Select[ShareLink]:
    """The project's links, revoked and expired ones included, for a list to page."""
    return select(ShareLink).where(
        ShareLink.team_id == project.team_id, ShareLink.project_id == project.id
    )


def dashboard_shares_query(team_id: str) -> Select[ShareLink]:
    """The team's dashboard links, revoked and expired ones included, for a list to page."""
    return select(ShareLink).where(ShareLink.team_id == team_id, ShareLink.target == "dashboard")


def get_share(
    session: Session, project: Project, share_id: str, *, lock: bool = False
) -> ShareLink:
    """One of the project's links; with `lock`, locked and read afresh for a change."""
    return _one(session, shares_query(project), share_id, f"of project '{project.slug}'", lock)


def get_dashboard_share(
    session: Session, team_id: str, share_id: str, *, lock: bool = False
) -> ShareLink:
    """One of the team's dashboard links; with `lock`, locked and read afresh for a change."""
    return _one(session, dashboard_shares_query(team_id), share_id, "to the dashboard", lock)


def _one(
    session: Session, query: Select[ShareLink], share_id: str, whose: str, lock: bool
) -> ShareLink:
    share: ShareLink = one_or_not_found(
        session,
        query.where(ShareLink.id == share_id),
        f"No share link '{share_id}' {whose}.",
        lock=lock,
    )
    return share


def revoke_share(
    session: Session, ctx: Context, project: Project | None, share: ShareLink
) -> ShareLink:
    """Revoke the link (of `project`'s checklist, or of the dashboard when `project` is None):
    it opens nothing from now on. Revoking it again changes nothing. A ticket link's kept token
    is dropped: nothing will write it again."""
    if share.revoked_at is None:
        share.revoked_at = utcnow()
        share.token = None
        session.flush()
        type_ = "dashboard.share.revoked" if project is None else "checklist.share.revoked"
        _record(session, ctx, project, share, type_)
    return share


def ticket_share_url(session: Session, base_url: str, project_id: str) -> str | None:
    """The URL of the project's ticket link (its newest live one), or None without one."""
    return ticket_share_urls(session, base_url, [project_id]).get(project_id)


def ticket_share_urls(
    session: Session, base_url: str, project_ids: Sequence[str]
) -> dict[str, str]:
    """The URLs of the projects' ticket links (each one's newest live one), by project id; a
    project without one is not in it. One statement for them all."""
    if not project_ids:
        return {}
    rows = session.execute(
        select(ShareLink.project_id, ShareLink.token)
        .where(
            ShareLink.project_id.in_(set(project_ids)),
            ShareLink.tickets.is_(True),
            ShareLink.revoked_at.is_(None),
            ShareLink.expires_at > utcnow(),
        )
        .order_by(ShareLink.created_at, ShareLink.id)
    )
    # Oldest first: a project's newest link is the last written.
    return {row.project_id: share_url(base_url, row.token) for row in rows}


def _record(
    session: Session, ctx: Context, project: Project | None, share: ShareLink, type_: str
) -> None:
    data: dict[str, Any] = {"share": share_snapshot(share)}
    if project is not None:
        data = {"project": project_header(project, current_catalog(session)), **data}
    team_id = share.team_id
    record_event(session, ctx, team_id, type_, data, project_id=share.project_id)


class LiveShare(NamedTuple):
    """What opening a link needs of it: whose checklist (or dashboard) it opens."""

    id: str
    team_id: str
    # None for a dashboard link.
    project_id: str | None


_shares = ShareLink.__table__
# By the token's hash, as API keys are: the database compares digests, never the token.
_LIVE = select(_shares.c.id, _shares.c.team_id, _shares.c.project_id).where(
    _shares.c.token_hash == bindparam("token_hash"),
    _shares.c.target == bindparam("target"),
    _shares.c.revoked_at.is_(None),
    _shares.c.expires_at > bindparam("now", type_=ShareLink.expires_at.type),
)


def find_live_share(
    session: Session, token: str, target: str = "checklist", now: datetime | None = None
) -> LiveShare | None:
    """The link `token` opens, when it opens `target` and is neither revoked nor expired; None
    otherwise (and for an unknown token: the caller cannot tell which)."""
    params = {"token_hash": hash_token(token), "target": target, "now": now or utcnow()}
    row = session.connection().execute(_LIVE, params).first()
    return None if row is None else LiveShare(row.id, row.team_id, row.project_id)
