"""Checklists, their items, staffing reports and the preview."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, overload

import marshmallow as ma
from marshmallow import validate

from app.schemas.catalog import SourceOut
from app.schemas.common import SPACE, catalog_key_field, name_field
from app.schemas.projects import AssignmentCreate, Traits
from app.vocabulary import (
    GENAI_RISKS,
    SETTABLE_STATUSES,
    FindingKind,
    Format,
    Grouping,
    ItemKind,
    ItemStatus,
    Phase,
    Priority,
    TicketSystem,
    values,
)


def enum_field(enum: type[StrEnum], **kwargs: Any) -> ma.fields.String:
    """A string field that takes (and documents) the values of one `StrEnum`."""
    return ma.fields.String(validate=validate.OneOf(values(enum)), **kwargs)


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


class FormatQuery(ma.Schema):
    # Not validated here: an unknown format is a 406 (Not Acceptable), as an unknown `Accept`.
    format = ma.fields.String(
        metadata={
            "description": "`json`, `markdown`, `csv` or `text`; else by `Accept`",
            "enum": values(Format),
        }
    )


class RenderQuery(FormatQuery):
    """How Markdown and text lay a checklist out (JSON and CSV ignore it)."""

    group_by = ma.fields.String(
        validate=validate.OneOf(values(Grouping)),
        metadata={
            "description": "Markdown and text: sections by lifecycle `phase` (default), `kind`, "
            "`role` or `person`"
        },
    )
    compact = ma.fields.Boolean(
        metadata={"description": "Markdown and text: one line an item, without its detail"}
    )


class ChecklistQuery(RenderQuery):
    role = catalog_key_field("roles")
    status = enum_field(ItemStatus)
    kind = enum_field(ItemKind)
    phase = enum_field(Phase)
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
            "description": "With `status: done`: the id of the person who signs the item off, "
            "not one of its owners and holding one of its `reviewer_roles` on the project "
            "(required where `signoff_required`)"
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
    requested_by = ma.fields.String(
        allow_none=True,
        metadata={"description": "Who asked for it, when a ticketing system waived the item"},
    )
    expires_on = ma.fields.String(
        allow_none=True, metadata={"description": "A date (YYYY-MM-DD); the item reopens after it"}
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


class ItemSourceOut(SourceOut):
    """Where an item comes from. Responsibilities carry `catalog_key` and `text`;
    collaborations `catalog_keys` and `outcomes`; mitigations `catalog_key`, `challenge`,
    `nist`, `genai_risks` and `fulfils`; staffing findings `finding` and `people`."""

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
    finding = enum_field(FindingKind)
    people = ma.fields.List(
        ma.fields.String(), metadata={"description": "The people the finding is about"}
    )


class ItemOut(ma.Schema):
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
    evidence_required = ma.fields.Boolean(
        required=True, metadata={"description": "Done only with at least one evidence link"}
    )
    evidence = ma.fields.List(ma.fields.Nested(EvidenceLink), required=True)
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


class SummaryOut(ma.Schema):
    total = ma.fields.Integer(required=True)
    by_status = ma.fields.Dict(
        keys=enum_field(ItemStatus), values=ma.fields.Integer(), required=True
    )
    by_kind = ma.fields.Dict(keys=enum_field(ItemKind), values=ma.fields.Integer(), required=True)
    percent_done = ma.fields.Integer(
        required=True,
        metadata={"description": "done / (total - waived - obsolete), 100 when nothing is left"},
    )


class ProjectHeaderOut(ma.Schema):
    id = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "Null in a preview"}
    )
    name = ma.fields.String(required=True)
    slug = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "Null in a preview"}
    )
    application = ma.fields.String(required=True)
    traits = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "The traits that hold: stated, or implied by the application"},
    )
    implied_traits = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Those of `traits` that the application implies"},
    )


class FiltersOut(ma.Schema):
    """The filters the items were selected with."""

    role = ma.fields.String()
    status = enum_field(ItemStatus)
    kind = enum_field(ItemKind)
    phase = enum_field(Phase)
    person_id = ma.fields.String()


class ChecklistOut(ma.Schema):
    project = ma.fields.Nested(ProjectHeaderOut, required=True)
    checklist_id = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "Null in a preview"}
    )
    revision = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "Null in a preview"}
    )
    catalog_version = ma.fields.String(required=True)
    generated_at = ma.fields.DateTime(
        required=True, allow_none=True, metadata={"description": "Null in a preview"}
    )
    summary = ma.fields.Nested(
        SummaryOut, required=True, metadata={"description": "Of all items, whatever the filters"}
    )
    filters = ma.fields.Nested(FiltersOut, required=True)
    items = ma.fields.List(ma.fields.Nested(ItemOut), required=True)


class ChecklistRefOut(ma.Schema):
    """The checklist an item belongs to."""

    id = ma.fields.String(required=True)
    revision = ma.fields.Integer(required=True)
    catalog_version = ma.fields.String(required=True)
    generated_at = ma.fields.DateTime(required=True)


class PersonItemOut(ItemOut):
    project = ma.fields.Nested(ProjectHeaderOut, required=True)
    checklist = ma.fields.Nested(ChecklistRefOut, required=True)


class PersonItemsOut(ma.Schema):
    """One page of what a person owns across the team's projects."""

    person = ma.fields.Nested(OwnerOut, required=True)
    summary = ma.fields.Nested(
        SummaryOut, required=True, metadata={"description": "Of all the person's items"}
    )
    items = ma.fields.List(ma.fields.Nested(PersonItemOut), required=True)
    next_cursor = ma.fields.String(required=True, allow_none=True)


class PreviewProject(ma.Schema):
    name = name_field(200, load_default="Preview")
    application = catalog_key_field("applications", required=True)
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


class MemberOut(OwnerOut):
    """A person as the staffing engine holds them (`checklists.facts.Member`), shown as an
    owner is."""

    @ma.pre_dump
    def as_owner(self, member: Any, **_: Any) -> dict[str, Any]:
        return member.as_owner()


class HolderOut(OwnerOut):
    """A person holding a role on the project (a `StaffingEntry`)."""

    allocation = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "Percent of their time"}
    )
    lead = ma.fields.Boolean(required=True)

    @ma.pre_dump
    def as_holder(self, entry: Any, **_: Any) -> dict[str, Any]:
        return {**entry.member.as_owner(), "allocation": entry.allocation, "lead": entry.lead}


class RoleCoverageOut(ma.Schema):
    role = ma.fields.String(required=True, attribute="role_key")
    title = ma.fields.String(required=True)
    required = ma.fields.Boolean(required=True)
    required_because = ma.fields.List(ma.fields.String(), required=True)
    holders = ma.fields.List(ma.fields.Nested(HolderOut), required=True)


class FindingOut(ma.Schema):
    key = ma.fields.String(required=True)
    kind = enum_field(FindingKind, required=True)
    title = ma.fields.String(required=True)
    detail = ma.fields.String(required=True)
    done_when = ma.fields.String(required=True)
    roles = ma.fields.List(ma.fields.String(), required=True)
    people = ma.fields.List(
        ma.fields.Nested(MemberOut),
        required=True,
        metadata={"description": "The people the finding is about"},
    )
    priority = enum_field(Priority, required=True)
    because = ma.fields.List(ma.fields.String(), required=True)


class StaffingReportOut(ma.Schema):
    project = ma.fields.Nested(ProjectHeaderOut, required=True)
    roles = ma.fields.List(ma.fields.Nested(RoleCoverageOut), required=True)
    findings = ma.fields.List(ma.fields.Nested(FindingOut), required=True)


class AllocationOut(ma.Schema):
    """One project of an over-allocated person's breakdown (a `(slug, percent)` pair)."""

    project = ma.fields.String(required=True, metadata={"description": "The project's slug"})
    allocation = ma.fields.Integer(required=True, metadata={"description": "Percent"})

    @ma.pre_dump
    def from_pair(self, pair: tuple[str, int], **_: Any) -> dict[str, Any]:
        slug, percent = pair
        return {"project": slug, "allocation": percent}


class OverAllocationOut(ma.Schema):
    person = ma.fields.Nested(MemberOut, required=True, attribute="member")
    total = ma.fields.Integer(required=True, metadata={"description": "Percent, over 100"})
    projects = ma.fields.List(ma.fields.Nested(AllocationOut), required=True, attribute="breakdown")


class TeamStaffingOut(ma.Schema):
    """A page of the team's active projects, and the team's over-allocated people."""

    projects = ma.fields.List(ma.fields.Nested(StaffingReportOut), required=True)
    over_allocated = ma.fields.List(
        ma.fields.Nested(OverAllocationOut),
        required=True,
        metadata={"description": "Across all the team's active projects, on every page"},
    )
    next_cursor = ma.fields.String(required=True, allow_none=True)


# A checklist as the API answers it (four of its items), the example of every checklist answer
# in `/openapi.json`; a test checks that it is what `ChecklistOut` dumps.
CHECKLIST_EXAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).parent / "examples" / "checklist.json").read_text(encoding="utf-8")
)
