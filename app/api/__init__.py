"""The HTTP API: one module per resource, thin views over the services."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from app.api import assignments, catalog, events, operations, people, projects

    for module in (operations, catalog, people, projects, assignments, events):
        api.register_blueprint(module.blp)
