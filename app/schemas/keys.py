"""API keys: a person's personal keys, shown with their secret only when created."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.models import SCOPES
from app.schemas.common import name_field


class PersonalKeyCreate(ma.Schema):
    EXAMPLE = {"name": "Grace's laptop", "scopes": ["read", "write"]}

    name = name_field(
        120, metadata={"description": "A label to tell keys apart (default: the person's name)"}
    )
    scopes = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(SCOPES)),
        load_default=lambda: ["read", "write"],
        validate=validate.Length(min=1, max=len(SCOPES)),
        metadata={"description": "What the key may do: `read`, `write` (implies read), `admin`"},
    )


class KeyOut(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    prefix = ma.fields.String(
        required=True, metadata={"description": "The key's first characters, safe to show"}
    )
    scopes = ma.fields.List(ma.fields.String(), required=True, attribute="scope_list")
    person_id = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The person the key acts as (who signs with it)"},
    )
    created_at = ma.fields.DateTime(required=True)
    last_used_at = ma.fields.DateTime(
        required=True,
        allow_none=True,
        metadata={"description": "Written in batches: up to a minute behind"},
    )
    revoked_at = ma.fields.DateTime(required=True, allow_none=True)


class KeyCreated(KeyOut):
    """The key as created: the only answer that holds its secret."""

    secret = ma.fields.String(
        required=True,
        metadata={"description": "The key (`sck_…`), shown only this once: send it as a Bearer"},
    )
