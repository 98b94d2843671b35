"""The HTTP API: one module per resource, thin views over the services."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from app.api import (
        assignments,
        catalog,
        checklists,
        dashboard,
        erasure,
        event_types,
        events,
        export,
        integrations,
        keys,
        operations,
        people,
        policy,
        projects,
        releases,
        shares,
        staffing,
        webhooks,
    )
    from app.schemas.integrations import TICKETS_BY_PROVIDER

    for module in (
        operations,
        catalog,
        people,
        erasure,
        keys,
        projects,
        assignments,
        staffing,
        dashboard,
        checklists,
        shares,
        releases,
        events,
        event_types,
        webhooks,
        integrations,
        policy,
        export,
    ):
        api.register_blueprint(module.blp)
    api.register_blueprint(checklists.preview_blp)
    api.register_blueprint(integrations.inbound_blp)
    api.register_blueprint(shares.dashboard_blp)
    api.register_blueprint(shares.share_blp)
    api.register_blueprint(shares.dashboard_share_blp)
    # Each provider's native tickets, which its shape of `IntegrationCreate` refers to.
    for schema in TICKETS_BY_PROVIDER.values():
        api.spec.components.schema(schema.__name__, schema=schema)
