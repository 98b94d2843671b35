"""The staffing checklist API: `create_app()` builds and wires the Flask application."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.config import Settings

if TYPE_CHECKING:
    from flask import Flask


def create_app(settings: Settings | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application from `settings` (by default read from the environment); the
    Flask config keys in `overrides` win over those derived from the settings."""
    # Imported here, not above: `import app.services…` runs this module first, and the
    # services know nothing of Flask.
    from flask import Flask

    from app import cli
    from app.api import fast_reads, register_blueprints
    from app.config import INSTANCE_DIR
    from app.extensions import api, db, migrate
    from app.http.docs_assets import init_docs_assets
    from app.http.key_use import init_key_use
    from app.http.logs import configure_logging
    from app.http.metrics import init_metrics
    from app.http.openapi import ConventionsPlugin
    from app.http.rate_limits import init_rate_limits
    from app.http.request_context import init_request_context
    from app.http.shares import init_share_links
    from app.services.checklists import revisions as checklist_revisions
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
    configure_logging(app, app.config["SETTINGS"].log_level)
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
    init_key_use(app)
    init_share_links(app)
    init_metrics(app)
    webhook_outbox.install()
    checklist_revisions.install()  # before the outbox's hook: it reads the events
    register_blueprints(api)
    cli.register(app)
    # In front of everything else: the hottest reads answered without Flask's stack.
    fast_reads.install(app)
    return app
