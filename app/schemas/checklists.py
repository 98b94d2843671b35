"""Checklists, their items, staffing reports and the preview."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.catalog import PHASES
from app.models import ITEM_STATUSES
from app.render import GROUPINGS
from app.schemas.common import KEY, name_field
from app.schemas.projects import AssignmentCreate, Traits
from app.services.checklist_generator import KINDS

SETTABLE_STATUSES = ("open", "in_progress", "done", "waived")
TICKET_SYSTEMS = ("github", "jira", "linear", "other")
TICKET_KEY_FORMATS = {
    "github": (
        re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}#[0-9]{1,10}$"),
        "owner/repo#12",
    ),
    "jira": (re.compile(r"^[A-Z][A-Z0-9_]{0,49}-[0-9]{1,10}$"), "PROJ-123"),
    "linear": (re.compile(r"^[A-Z][A-Z0-9]{0,19}-[0-9]{1,10}$"), "ENG-42"),
    "other": (re.compile(r"^\S(.{0,198}\S)?$"), "any key of up to 200 characters"),
}


class FormatQuery(ma.Schema):
    format = ma.fields.String(
        metadata={"description": "`json`, `markdown`, `csv` or `text`; else by `Accept`"}
    )


class RenderQuery(FormatQuery):
    """How Markdown and text lay a checklist out (JSON and CSV ignore it)."""

    group_by = ma.fields.String(
        validate=validate.OneOf(GROUPINGS),
        metadata={
            "description": "Markdown and text: sections by lifecycle `phase` (default), `kind`, "
            "`role` or `person`"
        },
    )
    compact = ma.fields.Boolean(
        metadata={"description": "Markdown and text: one line an item, without its detail"}
    )


class ChecklistQuery(RenderQuery):
    role = ma.fields.String(validate=[validate.Length(max=80), KEY])
    status = ma.fields.String(validate=validate.OneOf(ITEM_STATUSES))
    kind = ma.fields.String(validate=validate.OneOf(KINDS))
    phase = ma.fields.String(validate=validate.OneOf(PHASES))
    person_id = ma.fields.String(validate=validate.Length(max=40))


class Waiver(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))
    approved_by = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={
            "description": "The id of the person who accepts the risk: not an owner of the item, "
            "and holding one of its reviewer roles on the project (Product Manager or AI "
            "Ethicist when it has none). Required when the item needs a sign-off."
        },
    )
    expires_on = ma.fields.Date(allow_none=True)


class EvidenceLink(ma.Schema):
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    url = ma.fields.Url(
        required=True, schemes={"http", "https"}, validate=validate.Length(max=2000)
    )


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
    system = ma.fields.String(required=True, validate=validate.OneOf(TICKET_SYSTEMS))
    key = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    url = ma.fields.Url(
        allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=2000)
    )

    @ma.validates_schema
    def key_as_the_system_writes_it(self, data: dict, **_: object) -> None:
        system, key = data.get("system"), data.get("key")
        if system in TICKET_KEY_FORMATS and key is not None:
            pattern, example = TICKET_KEY_FORMATS[system]
            if not pattern.match(key):
                raise ma.ValidationError(f"A {system} ticket key looks like {example}.", "key")


class ItemUpdate(ma.Schema):
    status = ma.fields.String(
        validate=validate.OneOf(
            SETTABLE_STATUSES,
            error="Must be one of: open, in_progress, done, waived "
            "(obsolete is set by the generator only).",
        )
    )
    note = ma.fields.String(allow_none=True, validate=validate.Length(max=5000))
    waiver = ma.fields.Nested(Waiver, allow_none=True)
    ticket = ma.fields.Nested(Ticket, allow_none=True)
    signed_off_by = ma.fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={
            "description": "With `status: done`: the id of the person who signs the item off, "
            "not one of its owners and holding one of its `reviewer_roles` on the project "
            "(required where `signoff_required`)"
        },
    )
    evidence = ma.fields.Nested(EvidenceChange)


class OwnerOut(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    handles = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


class ItemOut(ma.Schema):
    id = ma.fields.String()
    key = ma.fields.String()
    kind = ma.fields.String()
    title = ma.fields.String()
    detail = ma.fields.String()
    phase = ma.fields.String(
        metadata={"description": "NIST AI RMF lifecycle stage, one of " + ", ".join(PHASES)}
    )
    done_when = ma.fields.String(metadata={"description": 'What "done" means for this item'})
    roles = ma.fields.List(ma.fields.String())
    role_titles = ma.fields.List(ma.fields.String())
    owners = ma.fields.List(ma.fields.Nested(OwnerOut))
    priority = ma.fields.String()
    status = ma.fields.String()
    note = ma.fields.String(allow_none=True)
    waiver = ma.fields.Dict(allow_none=True)
    ticket = ma.fields.Dict(allow_none=True)
    signoff_required = ma.fields.Boolean(
        metadata={"description": "Done only with an independent `signed_off_by`"}
    )
    reviewer_roles = ma.fields.List(ma.fields.String())
    reviewer_role_titles = ma.fields.List(ma.fields.String())
    reviewers = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "Who can sign it off as staffed now: `{id, name}` of each"},
    )
    signed_off_by = ma.fields.String(allow_none=True)
    signed_off_by_name = ma.fields.String(allow_none=True)
    signed_off_at = ma.fields.String(allow_none=True)
    evidence_required = ma.fields.Boolean(
        metadata={"description": "Done only with at least one evidence link"}
    )
    evidence = ma.fields.List(ma.fields.Nested(EvidenceLink))
    because = ma.fields.List(ma.fields.String())
    source = ma.fields.Dict()
    created_at = ma.fields.String()
    updated_at = ma.fields.String()


class SummaryOut(ma.Schema):
    total = ma.fields.Integer()
    by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    by_kind = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    percent_done = ma.fields.Integer()


class ChecklistOut(ma.Schema):
    project = ma.fields.Dict()
    checklist_id = ma.fields.String(allow_none=True)
    revision = ma.fields.Integer(allow_none=True)
    catalog_version = ma.fields.String()
    generated_at = ma.fields.String(allow_none=True)
    summary = ma.fields.Nested(SummaryOut)
    filters = ma.fields.Dict()
    items = ma.fields.List(ma.fields.Nested(ItemOut))


class PreviewProject(ma.Schema):
    name = name_field(200, load_default="Preview")
    application = ma.fields.String(required=True, validate=[validate.Length(max=40), KEY])
    traits = ma.fields.Nested(Traits, load_default=dict)


class PreviewRequest(ma.Schema):
    """A project and its staffing: `assignments` has the staffing PUT's shape and rules."""

    project = ma.fields.Nested(PreviewProject, required=True)
    assignments = ma.fields.List(
        ma.fields.Nested(AssignmentCreate),
        load_default=list,
        validate=validate.Length(max=1000),
        metadata={
            "description": "As in PUT /v1/projects/{p}/assignments (`staffing` is "
            "accepted as its former name)"
        },
    )

    @ma.pre_load
    def former_name(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and "staffing" in data:
            if "assignments" in data:
                raise ma.ValidationError(
                    "Give `assignments` (or its former name `staffing`), not both.", "staffing"
                )
            data = {**data, "assignments": data["staffing"]}
            del data["staffing"]
        return data


class RoleCoverageOut(ma.Schema):
    role = ma.fields.String(attribute="role_key")
    title = ma.fields.String()
    required = ma.fields.Boolean()
    required_because = ma.fields.List(ma.fields.String())
    holders = ma.fields.Function(
        lambda coverage: [
            {**h.member.as_owner(), "allocation": h.allocation, "lead": h.lead}
            for h in coverage.holders
        ]
    )


class FindingOut(ma.Schema):
    key = ma.fields.String()
    kind = ma.fields.String()
    title = ma.fields.String()
    detail = ma.fields.String()
    done_when = ma.fields.String()
    roles = ma.fields.List(ma.fields.String())
    people = ma.fields.Function(lambda f: [m.as_owner() for m in f.people])
    priority = ma.fields.String()
    because = ma.fields.List(ma.fields.String())


class StaffingReportOut(ma.Schema):
    project = ma.fields.Dict()
    roles = ma.fields.List(ma.fields.Nested(RoleCoverageOut))
    findings = ma.fields.List(ma.fields.Nested(FindingOut))


class OverAllocationOut(ma.Schema):
    person = ma.fields.Function(lambda o: o.member.as_owner())
    total = ma.fields.Integer()
    projects = ma.fields.Function(
        lambda o: [{"project": slug, "allocation": pct} for slug, pct in o.breakdown]
    )


class TeamStaffingOut(ma.Schema):
    projects = ma.fields.List(ma.fields.Nested(StaffingReportOut))
    over_allocated = ma.fields.List(ma.fields.Nested(OverAllocationOut))
