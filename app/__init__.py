"""The staffing checklist API: `create_app()` builds and wires the Flask application."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from app.config import Settings


def create_app(settings: Settings | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application from `settings` (by default read from the environment); the
    Flask config keys in `overrides` win over those derived from the settings."""
    from app import cli
    from app.api import register_blueprints
    from app.config import INSTANCE_DIR
    from app.extensions import api, db, migrate
    from app.http.metrics import init_metrics
    from app.http.openapi import ConventionsPlugin
    from app.http.rate_limits import init_rate_limits
    from app.http.request_context import init_request_context
    from app.services.migrations import MIGRATIONS_DIR

    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.update(settings.flask_config())
    app.config["API_SPEC_OPTIONS"] = {
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key"}
            }
        },
        "security": [{"bearerAuth": []}],
        "info": {"description": "Staff generative-AI projects and get their checklists."},
    }
    if overrides:
        app.config.update(overrides)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    _configure_logging(app.config["SETTINGS"].log_level)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        INSTANCE_DIR.mkdir(exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    api.init_app(app, spec_kwargs={"extra_plugins": [ConventionsPlugin()]})
    init_request_context(app)
    init_rate_limits(app)
    init_metrics(app)
    register_blueprints(api)
    cli.register(app)
    return app


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
