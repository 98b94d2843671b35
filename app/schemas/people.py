"""People in the team's directory."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.schemas.common import Handles, name_field


class PersonCreate(ma.Schema):
    EXAMPLE = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "handles": {"github": "ada-l", "jira": "ada.lovelace"},
    }

    name = name_field(120, required=True)
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    handles = ma.fields.Nested(Handles, load_default=dict)


class PersonUpdate(ma.Schema):
    name = name_field(120)
    email = ma.fields.Email(validate=validate.Length(max=254))
    handles = ma.fields.Nested(Handles)


class PersonOut(ma.Schema):
    EXAMPLE = {
        "id": "per_akmfggcfcihdzlh4rc95babog",
        **PersonCreate.EXAMPLE,
        "created_at": "2026-03-02T09:16:02.118734+00:00",
        "updated_at": "2026-03-02T09:16:02.118734+00:00",
    }

    id = ma.fields.String()
    name = ma.fields.String()
    email = ma.fields.String()
    handles = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class PersonBrief(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    email = ma.fields.String()
    handles = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
