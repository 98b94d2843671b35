"""The policy as `GET /v1/policy` answers it: what a waiver needs, by item priority."""

from __future__ import annotations

import marshmallow as ma

from app.schemas.common import enum_field
from app.services.checklists.waiver_policy import policy_document, seeded_policy
from app.vocabulary import Priority, WaiverApprover


class WaiverRuleOut(ma.Schema):
    """What a waiver of an item of one priority needs (a broken rule is a 422 naming it)."""

    priority = enum_field(Priority, required=True)
    approver = enum_field(
        WaiverApprover,
        required=True,
        metadata={
            "description": "`as-the-item-needs`: an independent `approved_by` when the item "
            "needs a sign-off; `independent`: always an `approved_by` who does not own the "
            "item and holds one of its reviewer roles (the accountable roles when it has "
            "none); `accountable-role`: always an `approved_by` who does not own the item and "
            "holds one of `approver_roles`"
        },
    )
    approver_roles = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={
            "description": "The roles an approver must hold; empty: the item's reviewer roles"
        },
    )
    max_days = ma.fields.Integer(
        required=True, metadata={"description": "`expires_on` is at most this many days ahead"}
    )
    expires_on_required = ma.fields.Boolean(required=True)
    reason_min_chars = ma.fields.Integer(required=True)
    residual_risk_required = ma.fields.Boolean(required=True)
    residual_risk_min_chars = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "Null when it is not required"}
    )


class NeverWaivedOut(ma.Schema):
    """An item no waiver may cover (a waiver of it is a 422 naming the rule)."""

    key = ma.fields.String(required=True, metadata={"description": "The item's key"})
    because = ma.fields.String(required=True)


class PolicyOut(ma.Schema):
    """The governance policy of the catalog in use (`waiver_policy:` in `seed/catalog.yaml`,
    part of the catalog's version): what a waiver needs, by the priority of its item, most
    urgent first; who accepts risks; and the items never waived. It applies to waivers given
    or changed; waivers given before it hold until they lapse or change."""

    # The policy of the catalog `flask seed` installs.
    EXAMPLE = policy_document(seeded_policy())

    waivers = ma.fields.List(ma.fields.Nested(WaiverRuleOut), required=True)
    accountable_roles = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={
            "description": "The roles that accept risks: they approve the waivers of critical "
            "items, and of items that name no reviewer roles"
        },
    )
    never_waived = ma.fields.List(ma.fields.Nested(NeverWaivedOut), required=True)
