"""The catalogue of event types, as `GET /v1/event-types` answers it."""

from __future__ import annotations

import marshmallow as ma


class WebhookBodyOut(ma.Schema):
    """An event as a webhook delivers it."""

    type = ma.fields.String(metadata={"description": "The event type"})
    timestamp = ma.fields.String(
        metadata={"description": "When the event happened (ISO 8601)", "format": "date-time"}
    )
    data = ma.fields.Dict(
        metadata={"description": "The event's payload, as the activity feed shows it"}
    )


class EventVariantOut(ma.Schema):
    when = ma.fields.String(metadata={"description": "When the event takes this other shape"})
    example = ma.fields.Nested(WebhookBodyOut)


class EventTypeOut(ma.Schema):
    type = ma.fields.String(
        metadata={"description": "The name to subscribe to (or a prefix ending in `.*`, or `*`)"}
    )
    description = ma.fields.String()
    example = ma.fields.Nested(
        WebhookBodyOut, metadata={"description": "An event of this type, as a webhook body"}
    )
    variants = ma.fields.List(
        ma.fields.Nested(EventVariantOut),
        metadata={"description": "Other shapes the same type takes, and when (usually none)"},
    )


class EventTypeList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EventTypeOut))
    next_cursor = ma.fields.String(
        allow_none=True, metadata={"description": "Always null: the catalogue is one page"}
    )
