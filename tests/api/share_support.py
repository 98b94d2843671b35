"""What the share-link tests share: making a link, the path and token of its URL, and the
headers every answer under `/share/` carries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import update

from app.extensions import db
from app.models import ShareLink, utcnow

SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Cache-Control": "private, no-store",
}


def make_share(api: Any, shares_path: str, **body: Any) -> dict[str, Any]:
    """A link made by POSTing `body` to `shares_path`: its answer, URL included."""
    response = api.post(shares_path, json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.json)


def link_path(share: dict[str, Any]) -> str:
    """The link's path, as the test client opens it (the URL is absolute)."""
    return urlsplit(share["url"]).path


def link_token(share: dict[str, Any]) -> str:
    return link_path(share).rsplit("/", 1)[-1]


def expire(app: Flask, share: dict[str, Any]) -> None:
    """Make the link's expiry a second ago, as time would."""
    with app.app_context():
        db.session.execute(
            update(ShareLink)
            .where(ShareLink.id == share["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
