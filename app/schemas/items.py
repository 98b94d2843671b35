"""Checklist items: the changes a client sends, and the item as the API shows it."""

from __future__ import annotations

import re
from typing import Any, overload

import marshmallow as ma
from marshmallow import validate

from app.models.checklist import PUBLIC_FIELDS
from app.schemas.catalog import SourceOut
from app.schemas.common import SPACE, enum_field
from app.vocabulary import (
    GENAI_RISKS,
    SETTABLE_STATUSES,
    FindingKind,
    ItemKind,
    ItemStatus,
    Phase,
    Priority,
    Repeats,
    TicketSystem,
    values,
)

TICKET_KEY_FORMATS = {
    "github": (
        re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}#[0-9]{1,10}$"),
        "owner/repo#12",
    ),
    "jira": (re.compile(r"^[A-Z][A-Z0-9_]{0,49}-[0-9]{1,10}$"), "PROJ-123"),
    "linear": (re.compile(r"^[A-Z][A-Z0-9]{0,19}-[0-9]{1,10}$"), "ENG-42"),
    # No white space at either end (as JSON Schema's `\s` and Python's together), one line.
    "other": (
        re.compile(f"^[^{SPACE}]([^\\n]{{0,198}}[^{SPACE}])?$"),
        "any key of up to 200 characters",
    ),
}


class Waiver(ma.Schema):
    """A waiver as a person gives it; the waiver policy of the item's priority
    (`GET /v1/policy`) says what it needs, and a rule broken is a 422 naming it."""

    reason = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "Why the item is waived: at least 20 characters (policy)"},
    )
    approved_by = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={
            "description": "The person who accepts the risk: the person of the personal API key "
            "making the request, who may be left out (any other id is 403 `not-the-signer`; a "
            "team key approves nothing). Not an owner of the item, and holding one of its "
            "reviewer roles on the project (Product Manager or AI Ethicist when it has none). "
            "Required for a high item, and for an item that needs a sign-off; for a critical "
            "item, a person holding Product Manager or AI Ethicist (the accountable roles) on "
            "the project (policy)."
        },
    )
    expires_on = ma.fields.Date(
        allow_none=True,
        metadata={
            "description": "Required: the waiver lapses after this day, at most 90 days ahead "
            "for a critical item, 180 for a high one, 365 for medium and low ones (policy)"
        },
    )
    residual_risk = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=2000),
        metadata={
            "description": "The risk accepted by waiving the item: required for high and "
            "critical items, at least 20 characters (policy)"
        },
    )


class WholeRegexp(validate.Regexp):
    """A `Regexp` the whole value must match, as JSON Schema's `pattern` with `^…$` means
    (Python's `$` also matches before a final line break)."""

    regex: re.Pattern[str]  # made from a str pattern, for the string fields

    @overload
    def __call__(self, value: str) -> str: ...
    @overload
    def __call__(self, value: bytes) -> bytes: ...
    def __call__(self, value: str | bytes) -> str | bytes:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


# An http(s) URL with a host, without white space: the same rule as a pattern in the spec.
WEB_URL = WholeRegexp(f"^https?://[^{SPACE}/?#@]+([/?#][^{SPACE}]*)?$", error="Not a valid URL.")


def web_url_field(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(validate=[validate.Length(max=2000), WEB_URL], **kwargs)


class EvidenceLink(ma.Schema):
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    url = web_url_field(required=True)


class EvidenceChange(ma.Schema):
    """Links to add (an existing URL gets the new title) and URLs to remove."""

    add = ma.fields.List(
        ma.fields.Nested(EvidenceLink), load_default=list, validate=validate.Length(max=50)
    )
    remove = ma.fields.List(
        ma.fields.String(validate=validate.Length(max=2000)),
        load_default=list,
        validate=validate.Length(max=50),
    )


class Ticket(ma.Schema):
    system = ma.fields.String(required=True, validate=validate.OneOf(values(TicketSystem)))
    key = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    url = web_url_field(allow_none=True)

    # Documented as one shape per system (see app.http.openapi), each with its key's pattern.
    SHAPES_BY = (
        "system",
        {
            system: {"key": {"pattern": rule.pattern}}
            for system, (rule, _) in TICKET_KEY_FORMATS.items()
        },
    )

    @ma.validates_schema
    def key_as_the_system_writes_it(self, data: dict[str, Any], **_: object) -> None:
        system, key = data.get("system"), data.get("key")
        if system in TICKET_KEY_FORMATS and key is not None:
            pattern, example = TICKET_KEY_FORMATS[system]
            if not pattern.fullmatch(key):
                raise ma.ValidationError(f"A {system} ticket key looks like {example}.", "key")


class ItemUpdate(ma.Schema):
    status = ma.fields.String(
        validate=validate.OneOf(
            [status.value for status in SETTABLE_STATUSES],
            error=f"Must be one of: {', '.join(SETTABLE_STATUSES)} "
            "(obsolete is set by the generator only).",
        )
    )
    note = ma.fields.String(allow_none=True, validate=validate.Length(max=5000))
    waiver = ma.fields.Nested(Waiver, allow_none=True)
    ticket = ma.fields.Nested(Ticket, allow_none=True)
    signed_off_by = ma.fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={
            "description": "With `status: done`: the person who signs the item off, who is the "
            "person of the personal API key making the request and may be left out (any other "
            "id is 403 `not-the-signer`; a team key signs nothing); not one of its owners and "
            "holding one of its `reviewer_roles` on the project (required where "
            "`signoff_required`)"
        },
    )
    evidence = ma.fields.Nested(EvidenceChange)


class OwnerOut(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    email = ma.fields.String(allow_none=True)
    handles = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf(("github", "jira", "linear"))),
        values=ma.fields.String(),
        metadata={"description": "The person's handles in the ticketing systems"},
    )


class ReviewerOut(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class WaiverOut(ma.Schema):
    reason = ma.fields.String(required=True)
    approved_by = ma.fields.String(
        allow_none=True, metadata={"description": "The id of the person who accepted the risk"}
    )
    approver_name = ma.fields.String(allow_none=True)
    approved_with = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The id of the approver's personal API key that recorded the approval "
            "(absent on an approval named with a team key before personal keys)"
        },
    )
    requested_by = ma.fields.String(
        allow_none=True,
        metadata={"description": "Who asked for it, when a ticketing system waived the item"},
    )
    expires_on = ma.fields.String(
        allow_none=True, metadata={"description": "A date (YYYY-MM-DD); the item reopens after it"}
    )
    residual_risk = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The risk accepted by waiving the item (required for high and "
            "critical items by the waiver policy; absent on a waiver given before it)"
        },
    )
    expired = ma.fields.Boolean(
        metadata={
            "description": "Present (true) on a waiver whose day has passed: its item reads as "
            "`open` from that day, and the lapse is recorded with its event by the next write "
            "to the checklist or by the delivery worker, after which the item has no waiver"
        }
    )


class TicketOut(ma.Schema):
    system = enum_field(TicketSystem, required=True)
    key = ma.fields.String(required=True)
    url = ma.fields.String(allow_none=True)


class FulfilledOut(SourceOut):
    """A role's responsibility that a mitigation item stands for."""

    catalog_key = ma.fields.String()
    text = ma.fields.String()


class CollaborationRowOut(SourceOut):
    """A row of the article's collaboration table that an item agrees."""

    catalog_key = ma.fields.String()


class ItemSourceOut(SourceOut):
    """Where an item comes from. Responsibilities carry `catalog_key`, `text` and `nist`;
    mitigations `catalog_key`, `challenge`, `nist`, `genai_risks` and `fulfils`, and the one
    where the collaborating roles agree their hand-offs `collaborations` and `outcomes`;
    context items `catalog_key` and `eu_ai_act`; staffing findings `finding` and `people`.
    `catalog_keys` and `outcomes` are those of the collaboration items of checklists
    generated before that item."""

    catalog_key = ma.fields.String()
    text = ma.fields.String(metadata={"description": "The responsibility's text"})
    catalog_keys = ma.fields.List(ma.fields.String())
    outcomes = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Each role's key outcomes in the collaboration"},
    )
    challenge = ma.fields.String()
    challenge_title = ma.fields.String()
    nist = ma.fields.List(
        ma.fields.String(), metadata={"description": "NIST AI RMF 1.0 subcategories"}
    )
    genai_risks = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(GENAI_RISKS)),
        metadata={"description": "NIST AI 600-1 risks"},
    )
    fulfils = ma.fields.List(ma.fields.Nested(FulfilledOut))
    collaborations = ma.fields.List(
        ma.fields.Nested(CollaborationRowOut),
        metadata={"description": "The rows of the article's collaboration table it agrees"},
    )
    eu_ai_act = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "Articles of the EU AI Act (Regulation (EU) 2024/1689) the item "
            "answers where the project is used in the EU, as `Art. 9` or `Art. 26(6)`"
        },
    )
    finding = enum_field(FindingKind)
    people = ma.fields.List(
        ma.fields.String(), metadata={"description": "The people the finding is about"}
    )


class ItemOut(ma.Schema):
    """A checklist item. Its fields, and their order, are the item's public fields
    (`app.models.checklist.PUBLIC_FIELDS`): each is declared here with its JSON type."""

    class Meta:
        fields = PUBLIC_FIELDS

    id = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "Null in a preview"}
    )
    key = ma.fields.String(required=True)
    kind = enum_field(ItemKind, required=True)
    title = ma.fields.String(required=True)
    detail = ma.fields.String(required=True)
    phase = enum_field(
        Phase, required=True, metadata={"description": "NIST AI RMF lifecycle stage"}
    )
    done_when = ma.fields.String(
        required=True, metadata={"description": 'What "done" means for this item'}
    )
    roles = ma.fields.List(ma.fields.String(), required=True)
    role_titles = ma.fields.List(ma.fields.String(), required=True)
    owners = ma.fields.List(ma.fields.Nested(OwnerOut), required=True)
    priority = enum_field(Priority, required=True)
    status = enum_field(ItemStatus, required=True)
    note = ma.fields.String(required=True, allow_none=True)
    waiver = ma.fields.Nested(WaiverOut, required=True, allow_none=True)
    ticket = ma.fields.Nested(TicketOut, required=True, allow_none=True)
    signoff_required = ma.fields.Boolean(
        required=True, metadata={"description": "Done only with an independent `signed_off_by`"}
    )
    reviewer_roles = ma.fields.List(ma.fields.String(), required=True)
    reviewer_role_titles = ma.fields.List(ma.fields.String(), required=True)
    reviewers = ma.fields.List(
        ma.fields.Nested(ReviewerOut),
        required=True,
        metadata={"description": "Who can sign it off as staffed now"},
    )
    signed_off_by = ma.fields.String(required=True, allow_none=True)
    signed_off_by_name = ma.fields.String(required=True, allow_none=True)
    signed_off_at = ma.fields.DateTime(required=True, allow_none=True)
    signed_off_with = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "The id of the signer's personal API key that recorded the sign-off; "
            "null on a sign-off named with a team key before personal keys (not vouched for)"
        },
    )
    evidence_required = ma.fields.Boolean(
        required=True, metadata={"description": "Done only with at least one evidence link"}
    )
    evidence = ma.fields.List(ma.fields.Nested(EvidenceLink), required=True)
    repeats = enum_field(
        Repeats,
        required=True,
        allow_none=True,
        metadata={
            "description": "A release gate: `per-release` reopens when a release is opened, "
            "`per-model-version` when a release's model differs from the previous release's; "
            "null: not a gate"
        },
    )
    because = ma.fields.List(ma.fields.String(), required=True)
    source = ma.fields.Nested(ItemSourceOut, required=True)
    version = ma.fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "Goes up by at least one with every change of the item (its ETag "
            "changes with it); events carry it, so a receiver can discard an older one. Null "
            "in a preview"
        },
    )
    created_at = ma.fields.DateTime(
        required=True, allow_none=True, metadata={"description": "Null in a preview"}
    )
    updated_at = ma.fields.DateTime(
        required=True, allow_none=True, metadata={"description": "Null in a preview"}
    )
