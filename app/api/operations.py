"""Health and readiness probes, without authentication."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import text

from app.extensions import db
from app.services.migrations import migration_state

blp = Blueprint("operations", __name__, description="Health and readiness probes")


@blp.route("/healthz")
@blp.doc(security=[])
def healthz() -> dict[str, str]:
    """Process liveness (does not touch the database)"""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.doc(security=[])
def readyz() -> tuple[dict[str, object], int]:
    """Readiness: the database answers and its schema is at the latest migration"""
    try:
        db.session.execute(text("SELECT 1"))
        current, head = migration_state(db.engine)
    except Exception as exc:  # any failure to reach the database means "not ready"
        current_app.logger.warning("readiness check failed: %s", exc)
        db.session.rollback()
        return {"status": "unavailable", "database": "unreachable"}, 503
    ready = current == head
    body = {
        "status": "ok" if ready else "unavailable",
        "database": "ok",
        "migration": current,
        "head": head,
    }
    return body, 200 if ready else 503
