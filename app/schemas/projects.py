"""Projects and their staffing."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.models import PROJECT_STATUSES
from app.schemas.common import SLUG, StrictBoolean, catalog_key_field, name_field
from app.schemas.people import PersonBrief, PersonCreate


def _trait() -> ma.fields.Boolean:
    return StrictBoolean(
        allow_none=True,
        metadata={
            "description": "true or false as the project states it; null (or left out): "
            "not stated, the application's `implies_traits` decide"
        },
    )


class Traits(ma.Schema):
    handles_personal_data = _trait()
    user_facing = _trait()
    generates_public_content = _trait()
    regulated_domain = _trait()
    uses_third_party_models = _trait()


_CLINIC_NOTES = {
    "name": "Clinic notes",
    "description": "Drafts visit summaries from clinicians' dictation for them to review.",
    "application": "healthcare-solutions",
    "traits": {"handles_personal_data": True, "user_facing": True},
}


class ProjectCreate(ma.Schema):
    EXAMPLE = _CLINIC_NOTES

    name = name_field(200, required=True)
    slug = ma.fields.String(validate=[validate.Length(min=1, max=80), SLUG])
    description = ma.fields.String(load_default="", validate=validate.Length(max=5000))
    application = catalog_key_field("applications", required=True)
    traits = ma.fields.Nested(Traits, load_default=dict)


class ProjectUpdate(ma.Schema):
    name = name_field(200)
    slug = ma.fields.String(validate=[validate.Length(min=1, max=80), SLUG])
    description = ma.fields.String(validate=validate.Length(max=5000))
    application = catalog_key_field("applications")
    traits = ma.fields.Nested(Traits)
    status = ma.fields.String(validate=validate.OneOf(PROJECT_STATUSES))


class ProjectOut(ma.Schema):
    EXAMPLE = {
        "id": "prj_47xxeghqzr5pqex629yve9840",
        **_CLINIC_NOTES,
        "slug": "clinic-notes",
        "traits": {
            "handles_personal_data": True,
            "user_facing": True,
            "generates_public_content": None,
            "regulated_domain": None,
            "uses_third_party_models": None,
        },
        "status": "active",
        "created_at": "2026-03-02T09:15:27.513204+00:00",
        "updated_at": "2026-03-02T09:15:27.513204+00:00",
    }

    id = ma.fields.String()
    name = ma.fields.String()
    slug = ma.fields.String()
    description = ma.fields.String()
    application = catalog_key_field("applications")
    traits = ma.fields.Nested(
        Traits, metadata={"description": "Each trait as stated; null when the project does not say"}
    )
    status = ma.fields.String(validate=validate.OneOf(PROJECT_STATUSES))
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ProjectListArgs(ma.Schema):
    status = ma.fields.String(
        validate=validate.OneOf((*PROJECT_STATUSES, "all")),
        metadata={"description": "`active` (default), `archived` or `all`"},
    )


class InlinePerson(PersonCreate):
    """A person given inline: found by email in the directory, or created."""


class AssignmentCreate(ma.Schema):
    """A person in a role: `person_id` of someone in the directory, or an inline `person`."""

    # Documented as two shapes, one with each (see app.http.openapi), as `exactly_one_person`
    # checks.
    EXACTLY_ONE_OF = ("person_id", "person")

    role = catalog_key_field("roles", required=True)
    person_id = ma.fields.String(validate=validate.Length(max=40))
    person = ma.fields.Nested(InlinePerson)
    allocation = ma.fields.Integer(
        strict=True,  # 1.5 is refused, not stored as 1 (booleans are refused by any Integer)
        allow_none=True,
        validate=validate.Range(min=0, max=100),
        metadata={"description": "Percent of the person's time on this project"},
    )
    lead = StrictBoolean(load_default=False)

    @ma.validates_schema
    def exactly_one_person(self, data: dict[str, object], **_: object) -> None:
        if ("person_id" in data) == ("person" in data):
            raise ma.ValidationError(
                "Give either person_id or an inline person, not both or neither.", "person_id"
            )


class StaffingReplace(ma.Schema):
    EXAMPLE = {
        "assignments": [
            {
                "role": "data-scientist",
                "person": {"name": "Ada Lovelace", "email": "ada@example.com"},
                "allocation": 50,
                "lead": True,
            },
            {
                "role": "machine-learning-engineer",
                "person": {
                    "name": "Alan Turing",
                    "email": "alan@example.com",
                    "handles": {"github": "aturing"},
                },
            },
            {
                "role": "ai-ethicist",
                "person": {"name": "Grace Hopper", "email": "grace@example.com"},
                "allocation": 20,
            },
        ]
    }

    assignments = ma.fields.List(
        ma.fields.Nested(AssignmentCreate),
        required=True,
        validate=validate.Length(max=1000),
    )


class AssignmentOut(ma.Schema):
    EXAMPLE = {
        "id": "asg_1q2w3e4r5t6y7u8i9o0pazsxd",
        "project_id": "prj_47xxeghqzr5pqex629yve9840",
        "role": "data-scientist",
        "person": {
            "id": "per_akmfggcfcihdzlh4rc95babog",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "handles": {},
        },
        "allocation": 50,
        "lead": True,
        "created_at": "2026-03-02T09:16:02.118734+00:00",
    }

    id = ma.fields.String()
    project_id = ma.fields.String()
    role = catalog_key_field("roles", attribute="role_key")
    person = ma.fields.Nested(PersonBrief)
    allocation = ma.fields.Integer(allow_none=True)
    lead = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
