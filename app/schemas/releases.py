"""Releases: what opening one takes, the go/no-go, and a release as the API answers it."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.schemas.common import NOT_BLANK, enum_field, name_field
from app.vocabulary import ReleaseStatus

MAX_VERSION = 64
# A version names its release in URLs (`/releases/{version}`): letters, digits and `.+_-`.
VERSION = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$",
    error="Letters, digits and . + _ - only, starting with a letter or digit.",
)


def version_field(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(
        validate=[validate.Length(min=1, max=MAX_VERSION), VERSION],
        metadata={"description": "The release's version, unique in the project (`1.4.0`)"},
        **kwargs,
    )


class ModelIn(ma.Schema):
    """The model the release ships: a change of any field reopens the model gates."""

    name = name_field(200, required=True)
    version = ma.fields.String(
        required=True,
        validate=[validate.Length(min=1, max=100), NOT_BLANK],
        metadata={"description": "The model's version or snapshot (`2024-08-06`, `v3.1`)"},
    )
    provider = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(min=1, max=100), NOT_BLANK],
        metadata={"description": "Who serves it (`openai`, `self-hosted`); null: not stated"},
    )


class ReleaseCreate(ma.Schema):
    EXAMPLE = {
        "version": "1.4.0",
        "model": {"name": "gpt-4o", "version": "2024-08-06", "provider": "openai"},
        "notes": "Summaries cite the note lines they come from.",
    }

    version = version_field(required=True)
    model = ma.fields.Nested(ModelIn, required=True)
    notes = ma.fields.String(load_default="", validate=validate.Length(max=5000))


class ReleaseUpdate(ma.Schema):
    """The go/no-go: `shipped` is the one change a release takes."""

    status = ma.fields.String(
        required=True,
        validate=validate.OneOf([ReleaseStatus.SHIPPED.value]),
        metadata={
            "description": "`shipped`: refused (409, `blocking` naming the items) while a "
            "critical release gate is not done with its sign-off, nor validly waived"
        },
    )


class ModelOut(ma.Schema):
    name = ma.fields.String(required=True)
    version = ma.fields.String(required=True)
    provider = ma.fields.String(required=True, allow_none=True)


class ReleaseOut(ma.Schema):
    EXAMPLE = {
        "id": "rel_5k2m9q7x1c8v4b6n3z0w2e4r6",
        **ReleaseCreate.EXAMPLE,
        "status": "shipped",
        "opened_at": "2026-03-02T09:15:27.513204+00:00",
        "opened_by": "api_key:key_3hku48q0dj68huigovjj879pp",
        "shipped_at": "2026-03-09T16:40:02.118734+00:00",
        "shipped_by": "api_key:key_3hku48q0dj68huigovjj879pp",
        "superseded_at": None,
        "superseded_by": None,
    }

    id = ma.fields.String(required=True)
    version = ma.fields.String(required=True)
    model = ma.fields.Nested(ModelOut, required=True)
    notes = ma.fields.String(required=True)
    status = enum_field(
        ReleaseStatus,
        required=True,
        metadata={
            "description": "`open` (one at a time), `shipped` (the go/no-go passed), or "
            "`superseded` (a newer release was opened before it shipped); only `open` changes"
        },
    )
    opened_at = ma.fields.DateTime(required=True)
    opened_by = ma.fields.String(required=True, metadata={"description": "`api_key:<id>`"})
    shipped_at = ma.fields.DateTime(required=True, allow_none=True)
    shipped_by = ma.fields.String(required=True, allow_none=True)
    superseded_at = ma.fields.DateTime(required=True, allow_none=True)
    superseded_by = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The version of the release that superseded it"},
    )


class ReleaseRefOut(ma.Schema):
    """The release a checklist is for: the project's most recently opened one."""

    version = ma.fields.String(required=True)
    model = ma.fields.Nested(ModelOut, required=True)
    status = enum_field(ReleaseStatus, required=True)
    opened_at = ma.fields.DateTime(required=True)
