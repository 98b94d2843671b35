"""The activity feed."""

from __future__ import annotations

import marshmallow as ma


class EventOut(ma.Schema):
    id = ma.fields.String()
    type = ma.fields.String()
    project_id = ma.fields.String(allow_none=True)
    actor = ma.fields.String()
    request_id = ma.fields.String(allow_none=True)
    payload = ma.fields.Dict()
    created_at = ma.fields.DateTime()
