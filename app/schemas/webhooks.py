"""Webhook endpoints, their deliveries and the delivery log."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.models import DELIVERY_STATUSES
from app.schemas.common import StrictBoolean
from app.services.webhooks.attempts import RESERVED_HEADERS

MAX_HEADERS = 10
_HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$"
_HEADER_VALUE = r"^[\x20-\x7e]*$"
REDACTED = "[redacted]"


class HeaderMap(ma.fields.Dict):
    """Static headers sent with every delivery: RFC 9110 names, printable ASCII values, none
    of the headers the service sets itself."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = dict(kwargs.pop("metadata", None) or {})
        # Marshmallow's Dict documents its values only: the names' rule and the count are added.
        metadata.update(propertyNames={"pattern": _HEADER_NAME}, maxProperties=MAX_HEADERS)
        super().__init__(
            # Names are checked below, each error under its own name.
            keys=ma.fields.String(),
            values=ma.fields.String(
                validate=[
                    validate.Length(max=1024),
                    validate.Regexp(_HEADER_VALUE, error="Printable ASCII only (no line breaks)."),
                ]
            ),
            metadata=metadata,
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        headers = super()._deserialize(value, attr, data, **kwargs)
        errors: dict[str, list[str]] = {}
        if len(headers) > MAX_HEADERS:
            raise ma.ValidationError(f"At most {MAX_HEADERS} headers.")
        for name in headers:
            if not re.match(_HEADER_NAME, name):
                errors[name] = ["Not a header name (letters, digits and !#$%&'*+.^_`|~-)."]
            elif name.lower() in RESERVED_HEADERS:
                errors[name] = ["Set by the service for every delivery; cannot be replaced."]
        if {n.lower() for n in headers} != set() and len({n.lower() for n in headers}) < len(
            headers
        ):
            raise ma.ValidationError("A header is given twice (names are case-insensitive).")
        if errors:
            raise ma.ValidationError(errors)
        return headers


def _url(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(
        validate=validate.Length(min=1, max=2048),
        metadata={"description": "Where deliveries are POSTed (http or https)", "format": "uri"},
        **kwargs,
    )


def _event_types(**kwargs: Any) -> ma.fields.List[str]:
    return ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=64)),
        validate=validate.Length(min=1, max=50),
        metadata={
            "description": "Event types or patterns: `checklist.item.status_changed`, "
            "`checklist.*`, `*` (see GET /v1/event-types)"
        },
        **kwargs,
    )


class WebhookCreate(ma.Schema):
    # Required on the fields, so that the description lists them as the server enforces.
    url = _url(required=True)
    event_types = _event_types(required=True)
    project_id = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "Only events of this project"},
    )
    description = ma.fields.String(validate=validate.Length(max=500))
    headers = HeaderMap(metadata={"description": "Sent with every delivery; never shown again"})
    enabled = StrictBoolean()

    class Meta:
        ordered = True


class WebhookUpdate(ma.Schema):
    url = _url()
    event_types = _event_types()
    project_id = ma.fields.String(allow_none=True, validate=validate.Length(max=40))
    description = ma.fields.String(validate=validate.Length(max=500))
    headers = HeaderMap()
    enabled = StrictBoolean(
        metadata={
            "description": "false pauses the endpoint (what it misses is kept dead for "
            "`recover`); true resumes it and clears why it was disabled"
        }
    )


class WebhookOut(ma.Schema):
    id = ma.fields.String()
    url = ma.fields.String()
    description = ma.fields.String()
    event_types = ma.fields.List(ma.fields.String())
    project_id = ma.fields.String(allow_none=True)
    headers = ma.fields.Method(
        "redacted_headers",
        metadata={"description": "The static headers' names; their values are never shown"},
    )
    enabled = ma.fields.Boolean()
    disabled_reason = ma.fields.String(allow_none=True)
    disabled_at = ma.fields.DateTime(allow_none=True)
    failing_since = ma.fields.DateTime(allow_none=True)
    previous_secret_expires_at = ma.fields.DateTime(
        allow_none=True,
        metadata={"description": "Until when the secret before the last rotation also signs"},
    )
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()

    def redacted_headers(self, endpoint: Any) -> dict[str, str]:
        return dict.fromkeys(sorted(endpoint.headers), REDACTED)


class WebhookCreated(WebhookOut):
    """The endpoint as created: the only answer that holds its secret."""

    secret = ma.fields.String(
        metadata={"description": "The signing secret (`whsec_…`), shown only this once"}
    )


class SecretOut(ma.Schema):
    secret = ma.fields.String(metadata={"description": "The new signing secret, shown once"})
    previous_secret_expires_at = ma.fields.DateTime()


class AttemptOut(ma.Schema):
    attempted_at = ma.fields.DateTime()
    status_code = ma.fields.Integer(allow_none=True)
    latency_ms = ma.fields.Integer()
    error = ma.fields.String(allow_none=True)
    response_excerpt = ma.fields.String(
        allow_none=True, metadata={"description": "The first KiB of the receiver's answer"}
    )


class DeliveryOut(ma.Schema):
    id = ma.fields.String()
    endpoint_id = ma.fields.String()
    event_id = ma.fields.String(allow_none=True)
    message_id = ma.fields.String(metadata={"description": "The `webhook-id` header"})
    event_type = ma.fields.String()
    status = ma.fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    attempts = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime(allow_none=True)
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    succeeded_at = ma.fields.DateTime(allow_none=True)
    attempt_log = ma.fields.List(
        ma.fields.Nested(AttemptOut), attribute="attempt_log", data_key="attempt_log"
    )


class DeliveryQuery(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    event_type = ma.fields.String(validate=validate.Length(min=1, max=64))


class RecoverRequest(ma.Schema):
    since = ma.fields.AwareDateTime(
        required=True,
        metadata={
            "description": "Send now what was created from this time and failed for good "
            "(dead) or waits for its next retry (retrying)"
        },
    )
    until = ma.fields.AwareDateTime(metadata={"description": "… up to this time (now if absent)"})


class RecoverOut(ma.Schema):
    queued = ma.fields.Integer(
        metadata={"description": "How many deliveries were queued to be sent now"}
    )
