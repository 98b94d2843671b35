"""Checklists: how they are asked for (filters, format, layout), the checklist and a person's
items as the API answers them, and the preview."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.models.checklist import PUBLIC_FIELDS
from app.schemas.common import catalog_key_field, enum_field, name_field
from app.schemas.items import ItemOut, OwnerOut
from app.schemas.projects import AssignmentCreate, ContextFields, ContextOut, Traits
from app.schemas.releases import ReleaseRefOut
from app.vocabulary import (
    GENAI_RISKS,
    Format,
    Grouping,
    ItemKind,
    ItemStatus,
    ModelSource,
    Phase,
    RegisterStatus,
    values,
)


class FormatQuery(ma.Schema):
    # Not validated here: an unknown format is a 406 (Not Acceptable), as an unknown `Accept`.
    format = ma.fields.String(
        metadata={
            "description": "`json`, `markdown`, `csv`, `text` or `html`; else by `Accept`",
            "enum": values(Format),
        }
    )


class RenderQuery(FormatQuery):
    """How Markdown, text and HTML lay a checklist out (JSON and CSV ignore it)."""

    group_by = ma.fields.String(
        validate=validate.OneOf(values(Grouping)),
        metadata={
            "description": "Markdown, text and HTML: sections by lifecycle `phase` (default), "
            "`kind`, "
            "`role` or `person`"
        },
    )
    compact = ma.fields.Boolean(
        metadata={"description": "Markdown, text and HTML: one line an item, without its detail"}
    )


class ChecklistQuery(RenderQuery):
    role = catalog_key_field("roles")
    status = enum_field(ItemStatus)
    kind = enum_field(ItemKind)
    phase = enum_field(Phase)
    person_id = ma.fields.String(validate=validate.Length(max=40))


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
        metadata={
            "description": "The traits that hold: stated, or implied by the application or "
            "the model source"
        },
    )
    implied_traits = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={
            "description": "Those of `traits` that the application (or the model source) implies"
        },
    )
    model_source = ma.fields.String(
        allow_none=True,
        validate=validate.OneOf(values(ModelSource)),
        metadata={
            "description": "Where the model comes from, as the project states it; null: not "
            "stated (absent from revisions stored before it was a trait)"
        },
    )


class FiltersOut(ma.Schema):
    """The filters the items were selected with."""

    role = ma.fields.String()
    status = enum_field(ItemStatus)
    kind = enum_field(ItemKind)
    phase = enum_field(Phase)
    person_id = ma.fields.String()


class AcceptedRiskOut(ma.Schema):
    """A waived item that addressed a risk, and the residual risk its waiver accepted."""

    key = ma.fields.String(required=True)
    residual_risk = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "As the waiver states it; null where its policy asks none"},
    )


class RiskRegisterEntryOut(ma.Schema):
    """Where the checklist stands on one NIST AI 600-1 risk."""

    risk = ma.fields.String(
        required=True,
        validate=validate.OneOf(GENAI_RISKS),
        metadata={"description": "The risk as NIST AI 600-1 names it"},
    )
    section = ma.fields.String(
        required=True, metadata={"description": "Its subsection of NIST AI 600-1 (`2.1`-`2.12`)"}
    )
    status = enum_field(
        RegisterStatus,
        required=True,
        metadata={
            "description": "`addressed`: items address it (`items`); `accepted`: every item "
            "that addresses it is waived (`accepted`); `not-applicable`: the catalog's rule says "
            "it does not apply to this project (`reason`); `gap`: it applies and no item "
            "addresses it (`reason`), a finding"
        },
    )
    items = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "The keys of the items, not waived, that address it"},
    )
    accepted = ma.fields.List(
        ma.fields.Nested(AcceptedRiskOut),
        required=True,
        metadata={"description": "The waived items that address it, with their residual risk"},
    )
    reason = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Why it does not apply, or why it is a gap: the catalog's rule and "
            "the project's facts (null when items address it)"
        },
    )


class ChecklistOut(ma.Schema):
    project = ma.fields.Nested(ProjectHeaderOut, required=True)
    context = ma.fields.Nested(
        ContextOut,
        required=True,
        metadata={"description": "The project's context as the team states it (its fields)"},
    )
    release = ma.fields.Nested(
        ReleaseRefOut,
        required=True,
        allow_none=True,
        metadata={
            "description": "The release the checklist is for: the project's most recently "
            "opened one; null before the first, and in a preview"
        },
    )
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
    risk_register = ma.fields.List(
        ma.fields.Nested(RiskRegisterEntryOut),
        required=True,
        metadata={
            "description": "The twelve risks of NIST AI 600-1, in its order, each with one "
            "status; of all items, whatever the filters"
        },
    )
    items = ma.fields.List(ma.fields.Nested(ItemOut), required=True)


class RecordedChecklistOut(ChecklistOut):
    """A checklist as it stood at one of its revisions: its `release` as that release stood
    then (null before the first, and in revisions recorded before migration 0015)."""

    recorded_at = ma.fields.DateTime(
        required=True, metadata={"description": "When the revision was recorded (its commit)"}
    )
    event_types = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "The types of the events recorded with the change"},
    )


class RevisionLinksOut(ma.Schema):
    json = ma.fields.String(required=True)
    markdown = ma.fields.String(required=True)
    csv = ma.fields.String(required=True)
    text = ma.fields.String(required=True)
    html = ma.fields.String(required=True)


class ChecklistRevisionOut(ma.Schema):
    """One revision of a checklist: when, what made it, who, its summary and where to read
    it."""

    revision = ma.fields.Integer(required=True)
    recorded_at = ma.fields.DateTime(required=True)
    event_types = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={
            "description": "The types of the events recorded in the transaction that made it "
            "(`checklist.generated`, `checklist.item.status_changed`, ...)"
        },
    )
    actor = ma.fields.String(
        required=True,
        metadata={"description": "Who made it, as events name them: `api_key:<id>`, `system`..."},
    )
    api_key_id = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "The API key that made it"}
    )
    person_id = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "The person who made it, when proven: the person of a personal "
            "key, or a tracker's sender who signed off (null for a team key or the system)"
        },
    )
    release = ma.fields.Nested(
        ReleaseRefOut,
        required=True,
        allow_none=True,
        metadata={
            "description": "The release the checklist was for, as it stood then (`shipped` "
            "in the revision its ship made); null before the first, and in revisions recorded "
            "before migration 0015"
        },
    )
    catalog_version = ma.fields.String(required=True)
    summary = ma.fields.Nested(SummaryOut, required=True)
    links = ma.fields.Nested(
        RevisionLinksOut,
        required=True,
        metadata={"description": "The revision in each format"},
    )


class ChecklistRefOut(ma.Schema):
    """The checklist an item belongs to."""

    id = ma.fields.String(required=True)
    revision = ma.fields.Integer(required=True)
    catalog_version = ma.fields.String(required=True)
    generated_at = ma.fields.DateTime(required=True)


class PersonItemOut(ItemOut):
    class Meta:
        fields = (*PUBLIC_FIELDS, "project", "checklist")

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


class PreviewProject(ContextFields):
    name = name_field(200, load_default="Preview")
    description = ma.fields.String(load_default="", validate=validate.Length(max=5000))
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


# A checklist as the API answers it (four of its items), the example of every checklist answer
# in `/openapi.json`; a test checks that it is what `ChecklistOut` dumps.
CHECKLIST_EXAMPLE: dict[str, Any] = json.loads(
    (Path(__file__).parent / "examples" / "checklist.json").read_text(encoding="utf-8")
)
