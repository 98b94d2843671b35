"""Outgoing webhook endpoints, their delivery log, and redelivery."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from sqlalchemy import Select

from app.api.common import v1_blueprint
from app.extensions import current_session
from app.http.auth import current_team_id
from app.http.etags import check_if_match, etag_header, honours_if_match
from app.http.pagination import paginated
from app.http.transaction import current_context
from app.models import WebhookDelivery, WebhookEndpoint
from app.schemas.webhooks import (
    DeliveryOut,
    DeliveryQuery,
    RecoverOut,
    RecoverRequest,
    SecretOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookUpdate,
)
from app.services.webhooks import endpoints as webhooks

blp = v1_blueprint(
    "webhooks",
    __name__,
    "Outgoing webhooks: endpoints, signing secrets, the delivery log (changes need `admin`)",
    write_scope="admin",
)


def _endpoint(endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    return webhooks.get_endpoint(current_session(), current_team_id(), endpoint_id, lock=lock)


@blp.route("/webhooks")
class WebhooksView(MethodView):
    @paginated(blp, WebhookOut)
    def get(self) -> Select[WebhookEndpoint]:
        """List the team's webhook endpoints, newest first"""
        return webhooks.endpoints_query(current_team_id())

    @blp.arguments(WebhookCreate)
    @blp.response(201, WebhookCreated)
    def post(self, data: dict[str, Any]) -> tuple[WebhookEndpoint, int, dict[str, str]]:
        """Register an endpoint; the answer holds its signing secret, shown only this once"""
        endpoint = webhooks.create_endpoint(
            current_session(), current_context(), current_team_id(), data
        )
        location = url_for(".WebhookView", endpoint_id=endpoint.id)
        headers = {**etag_header(endpoint), "Location": location}
        return endpoint, 201, headers


@blp.route("/webhooks/<string:endpoint_id>")
class WebhookView(MethodView):
    @blp.response(200, WebhookOut)
    def get(self, endpoint_id: str) -> tuple[WebhookEndpoint, int, dict[str, str]]:
        """One endpoint (its secret and header values are never shown)"""
        endpoint = _endpoint(endpoint_id)
        return endpoint, 200, etag_header(endpoint)

    @honours_if_match(blp)
    @blp.arguments(WebhookUpdate)
    @blp.response(200, WebhookOut)
    def patch(
        self, data: dict[str, Any], endpoint_id: str
    ) -> tuple[WebhookEndpoint, int, dict[str, str]]:
        """Change an endpoint: URL, filters, headers, enable or disable (honours If-Match)"""
        endpoint = _endpoint(endpoint_id, lock=True)
        check_if_match(endpoint)
        endpoint = webhooks.update_endpoint(current_session(), current_context(), endpoint, data)
        return endpoint, 200, etag_header(endpoint)

    @honours_if_match(blp)
    @blp.response(204)
    def delete(self, endpoint_id: str) -> None:
        """Remove an endpoint with its deliveries (honours If-Match)"""
        endpoint = _endpoint(endpoint_id, lock=True)
        check_if_match(endpoint)
        webhooks.delete_endpoint(current_session(), current_context(), endpoint)


@blp.route("/webhooks/<string:endpoint_id>/rotate-secret")
class RotateSecretView(MethodView):
    @blp.response(200, SecretOut)
    def post(self, endpoint_id: str) -> dict[str, Any]:
        """A new signing secret, shown once; the old one also signs during the grace period"""
        endpoint = _endpoint(endpoint_id, lock=True)
        secret = webhooks.rotate_secret(current_session(), current_context(), endpoint)
        return {"secret": secret, "previous_secret_expires_at": endpoint.previous_secret_expires_at}


@blp.route("/webhooks/<string:endpoint_id>/ping")
class PingView(MethodView):
    @blp.response(202, DeliveryOut)
    def post(self, endpoint_id: str) -> tuple[WebhookDelivery, int, dict[str, str]]:
        """Queue a signed `webhook.ping` message to this endpoint; follow it in the log"""
        endpoint = _endpoint(endpoint_id)
        delivery = webhooks.ping(current_session(), endpoint)
        return _with_log(delivery), 202, _delivery_location(delivery)


@blp.route("/webhooks/<string:endpoint_id>/deliveries")
class DeliveriesView(MethodView):
    @paginated(blp, DeliveryOut, filters=DeliveryQuery)
    def get(self, args: dict[str, Any], endpoint_id: str) -> Select[WebhookDelivery]:
        """The delivery log, newest first, each delivery with every attempt"""
        return webhooks.deliveries_query(
            _endpoint(endpoint_id), status=args.get("status"), event_type=args.get("event_type")
        )


@blp.route("/webhooks/<string:endpoint_id>/deliveries/<string:delivery_id>")
class DeliveryView(MethodView):
    @blp.response(200, DeliveryOut)
    def get(self, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """One delivery with every attempt"""
        delivery = webhooks.get_delivery(current_session(), _endpoint(endpoint_id), delivery_id)
        return _with_log(delivery)


@blp.route("/webhooks/<string:endpoint_id>/deliveries/<string:delivery_id>/retry")
class RetryDeliveryView(MethodView):
    @blp.response(202, DeliveryOut)
    def post(
        self, endpoint_id: str, delivery_id: str
    ) -> tuple[WebhookDelivery, int, dict[str, str]]:
        """Send a delivery again now, with the same `webhook-id`"""
        endpoint = _endpoint(endpoint_id)
        delivery = webhooks.get_delivery(current_session(), endpoint, delivery_id, lock=True)
        delivery = webhooks.retry_delivery(current_session(), endpoint, delivery)
        return _with_log(delivery), 202, _delivery_location(delivery)


@blp.route("/webhooks/<string:endpoint_id>/recover")
class RecoverView(MethodView):
    @blp.arguments(RecoverRequest)
    @blp.response(202, RecoverOut)
    def post(self, data: dict[str, Any], endpoint_id: str) -> dict[str, int]:
        """Send now every delivery of a time range that failed for good or waits for a retry"""
        endpoint = _endpoint(endpoint_id)
        queued = webhooks.recover(current_session(), endpoint, data["since"], data.get("until"))
        return {"queued": queued}


def _with_log(delivery: WebhookDelivery) -> WebhookDelivery:
    return webhooks.with_attempts(current_session(), delivery)


def _delivery_location(delivery: WebhookDelivery) -> dict[str, str]:
    location = url_for(
        "webhooks.DeliveryView", endpoint_id=delivery.endpoint_id, delivery_id=delivery.id
    )
    return {"Location": location}
