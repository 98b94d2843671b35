"""Share links: made with an expiry and a label; the URL (holding the token) shown once."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.schemas.common import name_field
from app.services.checklists.shares import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS


class ShareCreate(ma.Schema):
    EXAMPLE = {"expires_in_days": 30, "name": "Clinic notes tickets"}

    expires_in_days = ma.fields.Integer(
        strict=True,
        load_default=DEFAULT_EXPIRY_DAYS,
        validate=validate.Range(min=1, max=MAX_EXPIRY_DAYS),
        metadata={"description": f"Days until the link expires (default {DEFAULT_EXPIRY_DAYS})"},
    )
    name = name_field(120, metadata={"description": "A label to tell links apart"})


class ShareOut(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True, allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    expires_at = ma.fields.DateTime(required=True)
    uses = ma.fields.Integer(
        required=True,
        metadata={"description": "How often the link was opened (counted in batches)"},
    )
    last_used_at = ma.fields.DateTime(
        required=True,
        allow_none=True,
        metadata={"description": "Written in batches: up to a minute behind"},
    )
    revoked_at = ma.fields.DateTime(required=True, allow_none=True)


class ShareCreated(ShareOut):
    """The link as made: the only answer that holds its URL."""

    url = ma.fields.String(
        required=True,
        metadata={
            "description": "Opens the project's checklist without an API key, read-only; shown "
            "only this once (only its token's hash is stored)"
        },
    )
