"""Inbound ticketing integrations: their settings and delivery record (`/v1/integrations`, changes
need `admin`), and the URL ticketing systems post to (`/v1/inbound/{id}`, signed, no API key)."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.views import MethodView
from sqlalchemy import Select

from app.api.common import V1Blueprint, v1_blueprint
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.etags import check_if_match, etag_header, honours_if_match
from app.http.pagination import paginated
from app.http.rate_limits import limit_v1_request
from app.http.transaction import current_context
from app.models import InboundDelivery, Integration, TicketSync
from app.schemas.integrations import (
    InboundAnswer,
    InboundDeliveryOut,
    InboundDeliveryQuery,
    InboundQuery,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationOut,
    IntegrationSecretOut,
    IntegrationUpdate,
    RotateRequest,
    TicketSyncOut,
)
from app.services.ticketing import inbound, integrations, tracker_sync

blp = v1_blueprint(
    "integrations",
    __name__,
    "Inbound ticketing integrations: GitHub, Jira, Linear or any Standard Webhooks sender "
    "closes the loop on checklist items (changes need `admin`)",
    write_scope="admin",
)


def _integration(integration_id: str, *, lock: bool = False) -> Integration:
    return integrations.get_integration(
        current_session(), current_team_id(), integration_id, lock=lock
    )


def _out(integration: Integration, **extra: Any) -> dict[str, Any]:
    settings = current_app.config["SETTINGS"]
    computed = {
        "status_map": integrations.status_map(integration),
        "inbound_url": integrations.inbound_url(settings.public_base_url, integration),
        "tickets": integrations.tickets_view(integration, settings),
    }
    stored = {n: getattr(integration, n) for n in IntegrationOut().fields if n not in computed}
    return {**stored, **computed, **extra}


@blp.route("/integrations")
class IntegrationsView(MethodView):
    @paginated(blp, IntegrationOut, present=_out)
    def get(self) -> Select[Integration]:
        """List the team's integrations, newest first"""
        return integrations.integrations_query(current_team_id())

    @blp.arguments(IntegrationCreate)
    @blp.response(201, IntegrationCreated)
    def post(self, data: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Register an integration; the answer holds its secret, shown only this once, and the
        `inbound_url` to paste into the ticketing system"""
        integration, secret = integrations.create_integration(
            current_session(), current_context(), current_team_id(), data
        )
        location = url_for(".IntegrationView", integration_id=integration.id)
        headers = {**etag_header(integration), "Location": location}
        return _out(integration, secret=secret), 201, headers


@blp.route("/integrations/<string:integration_id>")
class IntegrationView(MethodView):
    @blp.response(200, IntegrationOut)
    def get(self, integration_id: str) -> tuple[dict[str, Any], int, dict[str, str]]:
        """One integration (its secret is never shown)"""
        integration = _integration(integration_id)
        return _out(integration), 200, etag_header(integration)

    @honours_if_match(blp)
    @blp.arguments(IntegrationUpdate)
    @blp.response(200, IntegrationOut)
    def patch(
        self, data: dict[str, Any], integration_id: str
    ) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Replace native tickets' settings: the `tickets` fields given, others kept (a new
        `token` for an expired or revoked one, write-only); failed tickets are tried again at
        once (honours If-Match)"""
        integration = _integration(integration_id, lock=True)
        check_if_match(integration)
        integrations.update_tickets(
            current_session(), current_context(), integration, data["tickets"]
        )
        return _out(integration), 200, etag_header(integration)

    @honours_if_match(blp)
    @blp.response(204)
    def delete(self, integration_id: str) -> None:
        """Remove an integration with its delivery record; its URL answers 404 from now on
        (honours If-Match)"""
        integration = _integration(integration_id, lock=True)
        check_if_match(integration)
        integrations.delete_integration(current_session(), current_context(), integration)


@blp.route("/integrations/<string:integration_id>/rotate-secret")
class RotateSecretView(MethodView):
    @blp.arguments(RotateRequest, required=False)
    @blp.response(200, IntegrationSecretOut)
    def post(self, data: dict[str, Any], integration_id: str) -> dict[str, Any]:
        """A new secret (given, e.g. Linear's, or made), shown once; the old one verifies too
        during the grace period"""
        integration = _integration(integration_id, lock=True)
        secret = integrations.rotate_secret(
            current_session(), current_context(), integration, (data or {}).get("secret")
        )
        return {
            "secret": secret,
            "previous_secret_expires_at": integration.previous_secret_expires_at,
        }


@blp.route("/integrations/<string:integration_id>/deliveries")
class DeliveriesView(MethodView):
    @paginated(blp, InboundDeliveryOut, filters=InboundDeliveryQuery)
    def get(self, args: dict[str, Any], integration_id: str) -> Select[InboundDelivery]:
        """What came in and what it did, newest first (`?outcome=` to filter)"""
        return integrations.inbound_deliveries_query(
            _integration(integration_id), args.get("outcome")
        )


@blp.route("/integrations/<string:integration_id>/tickets")
class TicketsView(MethodView):
    @paginated(blp, TicketSyncOut, present=tracker_sync.ticket_sync_view)
    def get(self, integration_id: str) -> Select[TicketSync]:
        """Native tickets: each selected item's ticket, its sync state and last error, newest
        first (an integration without `tickets` has none)"""
        return tracker_sync.tickets_query(_integration(integration_id))


# --------------------------------------------------------------------------- inbound

inbound_blp = V1Blueprint(
    "inbound",
    __name__,
    url_prefix="/v1",
    description="Where ticketing systems post: authenticated by the provider's signature over "
    "the body (or a Jira token), not by an API key",
)


@inbound_blp.before_request
def _limit() -> None:
    # No API key: every delivery counts against the sender's address.
    limit_v1_request(None)


_BODY_DOC = {
    "requestBody": {
        "required": True,
        "description": "The provider's webhook payload, as it sends it",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": {"payload": {"type": "string"}}}
            },
        },
    },
    "security": [],
}


@inbound_blp.route("/inbound/<string:integration_id>")
class InboundView(MethodView):
    @inbound_blp.arguments(InboundQuery, location="query")
    @inbound_blp.doc(**_BODY_DOC)
    @inbound_blp.response(200, InboundAnswer, description="Handled (or a redelivery)")
    @inbound_blp.alt_response(
        202, schema=InboundAnswer, description="Accepted and recorded: nothing to change"
    )
    def post(self, query: dict[str, str], integration_id: str) -> tuple[dict[str, Any], int]:
        """Receive a ticketing system's webhook delivery: 401 unless signed with the
        integration's secret; a redelivery changes nothing"""
        integration = inbound.find_integration(current_session(), integration_id)
        delivery = inbound.InboundRequest(
            body=request.get_data(cache=True),
            headers=request.headers,
            query=query,
            mimetype=request.mimetype,
            request_id=g.get("request_id"),
        )
        record, duplicate = inbound.receive(
            current_session(), current_app.config["SETTINGS"], integration, delivery
        )
        answer = {name: getattr(record, name) for name in InboundDeliveryOut().fields}
        return {**answer, "duplicate": duplicate}, 200 if duplicate else record.status_code


@inbound_blp.record
def _raw_bodies(state: BlueprintSetupState) -> None:
    """The body is read raw by the view, after the signature is checked: the request check
    does not decode it first (nor refuses a form-encoded body, as GitHub may send). Recorded
    after the route, so that it runs once the rule exists."""
    for rule in state.app.url_map.iter_rules():
        if rule.endpoint.startswith(f"{inbound_blp.name}."):
            rule.accepts_any_body = True  # type: ignore[attr-defined]
