"""What the health and readiness probes answer."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate


class HealthOut(ma.Schema):
    status = ma.fields.String(
        validate=validate.OneOf(["ok"]), metadata={"description": "Always `ok`: the process runs"}
    )


class ReadyOut(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(["ok"]))
    database = ma.fields.String(
        validate=validate.OneOf(["ok"]), metadata={"description": "The database answered"}
    )
    migration = ma.fields.String(
        metadata={"description": "The revision the database schema is at", "example": "0006"}
    )
    head = ma.fields.String(
        metadata={"description": "The latest revision the code knows (equal when ready)"}
    )
