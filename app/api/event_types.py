"""The catalogue of event types: what webhooks can subscribe to, with an example of each."""

from __future__ import annotations

import json
from typing import Any

from flask.views import MethodView

from app.api.common import v1_blueprint
from app.http.etags import make_etag
from app.schemas.event_types import EventTypeList
from app.services.webhooks.event_types import EVENT_TYPES, webhook_body

blp = v1_blueprint("event_types", __name__, "The event types that webhooks can subscribe to")


def _catalogue() -> dict[str, Any]:
    return {
        "items": [
            {
                "type": event_type.name,
                "description": event_type.description,
                "example": webhook_body(event_type),
                "variants": [
                    {"when": when, "example": webhook_body(event_type, data)}
                    for when, data in event_type.variants
                ],
            }
            for event_type in EVENT_TYPES.values()
        ],
        "next_cursor": None,
    }


# The catalogue changes only with the code: built once, and its ETag (the one mechanism's
# digest, of the catalogue as JSON) with it.
_CATALOGUE = _catalogue()
_ETAG = make_etag(json.dumps(_CATALOGUE, sort_keys=True))


@blp.route("/event-types")
class EventTypesView(MethodView):
    @blp.response(200, EventTypeList)
    def get(self) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Every event type, with its description and an example webhook body"""
        return _CATALOGUE, 200, {"ETag": f'"{_ETAG}"'}
