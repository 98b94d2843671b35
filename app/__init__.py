"""The staffing checklist API: `create_app()` builds and wires the Flask application."""

from __future__ import annotations

import logging
from typing import IO, Any

from flask import Flask, g, has_request_context

from app.config import Settings

_LOG_HANDLER_NAME = "app"


def create_app(settings: Settings | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application from `settings` (by default read from the environment); the
    Flask config keys in `overrides` win over those derived from the settings."""
    from app import cli
    from app.api import register_blueprints
    from app.config import INSTANCE_DIR
    from app.extensions import api, db, migrate
    from app.http.docs_assets import init_docs_assets
    from app.http.metrics import init_metrics
    from app.http.openapi import ConventionsPlugin
    from app.http.rate_limits import init_rate_limits
    from app.http.request_context import init_request_context
    from app.services.migrations import MIGRATIONS_DIR
    from app.services.webhooks import outbox as webhook_outbox

    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    # `/v1//projects` is a 404 like any unknown path, not a redirect (an HTML page) to
    # `/v1/projects`; no rule ends with a slash, so `strict_slashes` never redirects either.
    app.url_map.merge_slashes = False
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
    _configure_logging(app, app.config["SETTINGS"].log_level)
    if hops := app.config["SETTINGS"].trusted_proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind a load balancer the connection comes from it: the client's address (which
        # requests without a key are rate-limited by, and logs show) is the one it forwards.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        INSTANCE_DIR.mkdir(exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    api.init_app(app, spec_kwargs={"extra_plugins": [ConventionsPlugin()]})
    init_request_context(app)
    init_docs_assets(app)
    init_rate_limits(app)
    init_metrics(app)
    webhook_outbox.install()
    register_blueprints(api)
    cli.register(app)
    return app


def log_handler(stream: IO[str] | None = None) -> logging.Handler:
    """The handler every log line of the process goes through: one JSON object a line.

    `time`, `level`, `logger` and `message`, then the record's extra fields (the access
    line's request, see `app.http.request_context`), and `request_id` on any line logged
    while a request is served. Values are JSON strings, escaped: whatever a client puts in a
    path or a header cannot end a line or add a field. Written to `stream` (stderr).
    """
    from pythonjsonlogger.json import JsonFormatter

    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_ensure_ascii=True,  # U+2028 and the like escaped too: no line splitter splits
        )
    )
    handler.addFilter(_with_request_id)
    return handler


def _with_request_id(record: logging.LogRecord) -> bool:
    if not hasattr(record, "request_id") and has_request_context():
        record.request_id = g.get("request_id")
    return True


def _configure_logging(app: Flask, level: str) -> None:
    """Send every log record to one JSON handler on the root logger, at `level`.

    Building several applications in one process (the tests do) replaces the handler rather
    than adding another; Flask's own text handler on `app.logger` is taken off.
    """
    from flask.logging import default_handler

    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _LOG_HANDLER_NAME]:
        root.removeHandler(handler)
    handler = log_handler()
    handler.set_name(_LOG_HANDLER_NAME)
    root.addHandler(handler)
    root.setLevel(level)
    app.logger.removeHandler(default_handler)
