"""The activity feed."""

from __future__ import annotations

import marshmallow as ma


class EventOut(ma.Schema):
    id = ma.fields.String()
    type = ma.fields.String()
    project_id = ma.fields.String(allow_none=True)
    actor = ma.fields.String(
        metadata={"description": "Who: `api_key:<id>`, `integration:<id>`, `cli` or `system`"}
    )
    actor_person_id = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The person the actor is, when proven: the person of the personal "
            "API key, or the tracker user an authenticated delivery maps to"
        },
    )
    request_id = ma.fields.String(allow_none=True)
    payload = ma.fields.Dict()
    created_at = ma.fields.DateTime()
