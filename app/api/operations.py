"""Health and readiness probes, without authentication."""

from __future__ import annotations

from flask import Flask, Response, current_app
from flask_smorest import Blueprint

from app.extensions import db
from app.http.problems import problem_response
from app.schemas.operations import HealthOut, ReadyOut
from app.services.migrations import migration_state

blp = Blueprint("operations", __name__, description="Health and readiness probes")


@blp.route("/healthz")
@blp.doc(security=[])
@blp.response(200, HealthOut)
def healthz() -> Response:
    """Process liveness (does not touch the database)"""
    return current_app.response_class(healthy_body(current_app), mimetype="application/json")


def healthy_body(app: Flask) -> bytes:
    """The one answer there is, dumped by its schema once a process: a probe polled every
    second costs its route and nothing else (`app.api.fast_reads` answers it too)."""
    global _healthy
    if _healthy is None:
        _healthy = app.json.dumps(HealthOut().dump({"status": "ok"})).encode() + b"\n"
    return _healthy


_healthy: bytes | None = None


@blp.route("/readyz")
@blp.doc(security=[])
@blp.response(200, ReadyOut)
@blp.alt_response(503, response="SERVICE_UNAVAILABLE", description="Not ready, why, Retry-After")
def readyz() -> Response | tuple[dict[str, object], int]:
    """Readiness: the database answers and its schema is at the latest migration"""
    try:
        # Reading the schema's revision is the round trip that proves the database answers.
        current, head = migration_state(db.engine)
    except Exception as exc:  # any failure to reach the database means "not ready"
        current_app.logger.warning("readiness check failed: %s", exc)
        return _unavailable("The database is unreachable.", {"database": "unreachable"})
    if current != head:
        return _unavailable(
            f"The database schema is at revision {current}, the code expects {head}.",
            {"database": "ok", "migration": current, "head": head},
        )
    return {"status": "ok", "database": "ok", "migration": current, "head": head}, 200


def _unavailable(detail: str, state: dict[str, object]) -> Response:
    return problem_response(
        503,
        "Service unavailable",
        detail,
        slug="not-ready",
        headers={"Retry-After": "5"},
        extensions=state,
    )
