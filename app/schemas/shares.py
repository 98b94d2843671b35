"""Share links, to a project's checklist or to the team dashboard: made with an expiry and a
label; the URL (holding the token) shown once."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.schemas.common import StrictBoolean, name_field
from app.services.shares import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS


class _ShareTerms(ma.Schema):
    expires_in_days = ma.fields.Integer(
        strict=True,
        load_default=DEFAULT_EXPIRY_DAYS,
        validate=validate.Range(min=1, max=MAX_EXPIRY_DAYS),
        metadata={"description": f"Days until the link expires (default {DEFAULT_EXPIRY_DAYS})"},
    )
    name = name_field(120, metadata={"description": "A label to tell links apart"})


class ShareCreate(_ShareTerms):
    """A link to a project's checklist."""

    EXAMPLE = {"expires_in_days": 90, "name": "Clinic notes tickets", "tickets": True}

    tickets = StrictBoolean(
        load_default=False,
        metadata={
            "description": "Make it the project's ticket link: its URL is written into the "
            "project's ticket texts and item events (`links.share`) while it lives (the newest "
            "such link is used), so that whoever a ticket sends there can read the checklist. "
            "Its token is kept to be written there; any other link's token is never stored"
        },
    )


class DashboardShareCreate(_ShareTerms):
    """A link to the team dashboard."""

    EXAMPLE = {"expires_in_days": 30, "name": "Governance board"}


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
    tickets = ma.fields.Boolean(
        required=True,
        metadata={"description": "Whether it is a project's ticket link (never a dashboard's)"},
    )


class ShareCreated(ShareOut):
    """The link as made: the only answer that holds its URL."""

    url = ma.fields.String(
        required=True,
        metadata={
            "description": "Opens the project's checklist (or the team dashboard) without an "
            "API key, read-only; shown only this once (only its token's hash is stored), but for "
            "a ticket link, which is written into ticket texts and events"
        },
    )
