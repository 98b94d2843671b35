"""Read-only share links over HTTP: the link's token opens its project's checklist, counted
against the link's own rate limit, its use noted in memory and written in batches (as API keys'
last use is, `app.http.key_use`), and answered with headers that keep it out of referrers,
search engines and shared caches."""

from __future__ import annotations

from flask import Flask, Response, g, request
from sqlalchemy import bindparam, case, or_, update

from app.errors import NotFound
from app.extensions import current_session, db
from app.http.connection import begin_request, reconnecting
from app.http.key_use import UseLog
from app.http.rate_limits import limit_share_request, limit_v1_request
from app.models import ShareLink, utcnow
from app.services.shares import SHARE_PATH, LiveShare, find_live_share

_EXTENSION = "share_use_log"
HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Cache-Control": "private, no-store",
}

_USED_AT = bindparam("used_at", type_=ShareLink.last_used_at.type)
_WRITE = (
    update(ShareLink)
    .where(ShareLink.id == bindparam("row_id"))
    .values(
        uses=ShareLink.uses + bindparam("count"),
        # Never back: another process may have written a later use.
        last_used_at=case(
            (
                or_(ShareLink.last_used_at.is_(None), ShareLink.last_used_at < _USED_AT),
                _USED_AT,
            ),
            else_=ShareLink.last_used_at,
        ),
    )
)


def open_share(token: str, target: str = "checklist") -> LiveShare:
    """The live link `token` opens, when it opens `target`, counted against its budget (429 past
    it); 404 for an unknown, revoked or expired token alike, or one to something else, counted
    against the client's address."""
    begin_request()
    share = reconnecting(lambda: find_live_share(current_session(), token, target))
    if share is None:
        limit_v1_request(None)
        raise NotFound("No such link: it may be mistyped, revoked or expired.")
    limit_share_request(share.id)
    return share


def share_used(share: LiveShare) -> None:
    """Count this request as a use of `share` (noted at its teardown, written in a batch)."""
    g.share_used = share.id


def share_use_log(app: Flask) -> UseLog:
    uses: UseLog = app.extensions[_EXTENSION]
    return uses


def init_share_links(app: Flask) -> None:
    """Note each use of a link; write the notes once an interval; add the headers to every
    answer under the links' path (404s and 405s included)."""
    uses = UseLog(app.config["SETTINGS"].key_use_flush_seconds, _WRITE, "share links' uses")
    app.extensions[_EXTENSION] = uses

    @app.after_request
    def _share_headers(response: Response) -> Response:
        if request.path == SHARE_PATH or request.path.startswith(f"{SHARE_PATH}/"):
            response.headers.update(HEADERS)
        return response

    @app.teardown_request
    def _note_and_maybe_write(_error: BaseException | None) -> None:
        share_id = g.get("share_used")
        if share_id is None:
            return
        uses.note(share_id, utcnow())
        uses.write_if_due(db.engine)
