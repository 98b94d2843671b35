"""Projects and their staffing."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.models import PROJECT_STATUSES, RISK_CLASSIFICATIONS
from app.schemas.common import SLUG, StrictBoolean, catalog_key_field, name_field
from app.schemas.people import PersonBrief, PersonCreate
from app.services.checklists.facts import model_source_disagreement
from app.vocabulary import ModelSource, values


def _trait() -> ma.fields.Boolean:
    return StrictBoolean(
        allow_none=True,
        metadata={
            "description": "true or false as the project states it; null (or left out): "
            "not stated, the application's `implies_traits` decide"
        },
    )


class Traits(ma.Schema):
    """The traits a project states; each is defined in `GET /v1/catalog` (`traits`)."""

    handles_personal_data = _trait()
    user_facing = _trait()
    generates_public_content = _trait()
    regulated_domain = _trait()
    uses_third_party_models = _trait()
    generates_code = _trait()
    reads_untrusted_content = _trait()
    states_facts = _trait()
    affects_decisions_about_people = _trait()
    synthetic_media = _trait()
    minors_may_use = _trait()
    general_purpose_assistant = _trait()
    advertises = _trait()
    model_source = ma.fields.String(
        allow_none=True,
        validate=validate.OneOf(values(ModelSource)),
        metadata={
            "description": "Where the model comes from; null (or left out): not stated. "
            "`hosted-third-party` and `fine-tuned` imply `uses_third_party_models`, "
            "`trained-in-house` its absence: stating both, they must agree (else 422 on "
            "`traits.uses_third_party_models`); work that "
            "assumes training is asked only of `fine-tuned` and `trained-in-house` models "
            "(and of a project that does not say)"
        },
    )

    @ma.validates_schema
    def _model_source_agrees(self, data: dict[str, object], **_: object) -> None:
        """`uses_third_party_models` follows from `model_source`: stated both, they agree."""
        problem = model_source_disagreement(data)
        if problem:
            raise ma.ValidationError(problem, "uses_third_party_models")


def _statements(what: str) -> ma.fields.List[str]:
    """A list of short statements, each given once."""
    return ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=300)),
        validate=[validate.Length(max=30), _distinct],
        metadata={"description": what, "uniqueItems": True},
    )


def _distinct(values: list[str]) -> None:
    if len(set(values)) != len(values):
        raise ma.ValidationError("Each entry once.")


# A jurisdiction: an ISO 3166-1 alpha-2 code (`US`, `UK` as commonly written for GB) or `EU`.
JURISDICTION = validate.Regexp(r"^[A-Z]{2}$", error="Two capital letters: EU, US, UK, DE, …")


class ContextFields(ma.Schema):
    """The project's context, as the team states it: what the checklist opens with."""

    intended_use = ma.fields.String(
        validate=validate.Length(max=2000),
        metadata={"description": "What the system is for, in the team's words"},
    )
    prohibited_uses = _statements("Uses the system must not be put to")
    affected_people = _statements("Who the system's outputs affect (patients, applicants, …)")
    jurisdictions = ma.fields.List(
        ma.fields.String(validate=JURISDICTION),
        validate=[validate.Length(max=30), _distinct],
        metadata={
            "description": "Where it is used: `EU`, or ISO 3166-1 alpha-2 country codes",
            "uniqueItems": True,
        },
    )
    risk_classification = ma.fields.String(
        validate=validate.OneOf(RISK_CLASSIFICATIONS),
        metadata={
            "description": "The risk tier as the team classifies it (the EU AI Act's tiers); "
            "`unclassified` until it does"
        },
    )
    risk_tolerance = ma.fields.String(
        validate=validate.Length(max=2000),
        metadata={"description": "How much residual risk the team accepts, in its words"},
    )


class ContextOut(ma.Schema):
    """The project's context as the checklist opens with it (every field, as stated)."""

    intended_use = ma.fields.String(required=True)
    prohibited_uses = ma.fields.List(ma.fields.String(), required=True)
    affected_people = ma.fields.List(ma.fields.String(), required=True)
    jurisdictions = ma.fields.List(ma.fields.String(), required=True)
    risk_classification = ma.fields.String(
        required=True, validate=validate.OneOf(RISK_CLASSIFICATIONS)
    )
    risk_tolerance = ma.fields.String(required=True)


_CLINIC_NOTES = {
    "name": "Clinic notes",
    "description": "Drafts visit summaries from clinicians' dictation for them to review.",
    "application": "healthcare-solutions",
    "traits": {
        "handles_personal_data": True,
        "user_facing": True,
        "states_facts": True,
        "affects_decisions_about_people": True,
        "model_source": "hosted-third-party",
    },
    "intended_use": "Draft visit summaries for the clinician who dictated them to review.",
    "prohibited_uses": ["Diagnosis", "Sending summaries to patients unreviewed"],
    "affected_people": ["Patients", "Clinicians"],
    "jurisdictions": ["EU"],
    "risk_classification": "unclassified",
    "risk_tolerance": "Low: no summary leaves the clinic unreviewed.",
}


class ProjectCreate(ContextFields):
    EXAMPLE = _CLINIC_NOTES

    name = name_field(200, required=True)
    slug = ma.fields.String(validate=[validate.Length(min=1, max=80), SLUG])
    description = ma.fields.String(load_default="", validate=validate.Length(max=5000))
    application = catalog_key_field("applications", required=True)
    traits = ma.fields.Nested(Traits, load_default=dict)


class ProjectUpdate(ContextFields):
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
            "generates_code": None,
            "reads_untrusted_content": None,
            "states_facts": True,
            "affects_decisions_about_people": True,
            "synthetic_media": None,
            "minors_may_use": None,
            "general_purpose_assistant": None,
            "advertises": None,
            "model_source": "hosted-third-party",
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
    intended_use = ma.fields.String()
    prohibited_uses = ma.fields.List(ma.fields.String())
    affected_people = ma.fields.List(ma.fields.String())
    jurisdictions = ma.fields.List(ma.fields.String())
    risk_classification = ma.fields.String(validate=validate.OneOf(RISK_CLASSIFICATIONS))
    risk_tolerance = ma.fields.String()
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
