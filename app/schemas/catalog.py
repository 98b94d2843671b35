"""The catalog as the API shows it (dumped from the `app.services.catalog.model` dataclasses)."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.schemas.common import catalog_key_field
from app.services.catalog.model import Catalog
from app.services.catalog.traits import explained
from app.vocabulary import Phase, Priority, Repeats, SourceKind, genai_risk_section


def _one_of(vocabulary: type[StrEnum]) -> validate.OneOf:
    """Documents the field's `enum` (these schemas only dump)."""
    return validate.OneOf([str(member) for member in vocabulary])


def _as_dict(attribute: str) -> ma.fields.Function:
    return ma.fields.Function(
        lambda obj: value.as_dict() if (value := getattr(obj, attribute)) is not None else None
    )


class PassageOut(ma.Schema):
    section = ma.fields.String()
    quote = ma.fields.String()


def _repeats() -> ma.fields.String:
    return ma.fields.String(
        allow_none=True,
        validate=_one_of(Repeats),
        metadata={
            "description": "A release gate: `per-release` (asked again of each release), "
            "`per-model-version` (asked again when a release's model changes); null: not one"
        },
    )


class SourceOut(ma.Schema):
    kind = ma.fields.String(
        validate=_one_of(SourceKind),
        metadata={
            "description": "`article`: the entry's text is the article's, verbatim (`quote`); "
            "`authored`: the text is ours, building on the passage in `elaborates` if any"
        },
    )
    section = ma.fields.String()
    quote = ma.fields.String(allow_none=True)
    elaborates = ma.fields.Nested(PassageOut, allow_none=True)


class ResponsibilityOut(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    text = ma.fields.String(metadata={"description": "As its source gives it"})
    detail = ma.fields.String(metadata={"description": "Our guidance on doing it"})
    done_when = ma.fields.String()
    phase = ma.fields.String(validate=_one_of(Phase))
    priority = ma.fields.String(
        validate=_one_of(Priority),
        metadata={"description": "For a project that requires the role (one lower otherwise)"},
    )
    evidence_required = ma.fields.Boolean()
    repeats = _repeats()
    nist = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "NIST AI RMF 1.0 subcategories it serves, where one fits"},
    )
    source = ma.fields.Nested(SourceOut)


class RoleOut(ma.Schema):
    key = catalog_key_field("roles")
    title = ma.fields.String()
    summary = ma.fields.String()
    required = ma.fields.Boolean()
    required_when = _as_dict("required_when")
    required_when_classified = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Risk classifications that make the role required"},
    )
    nist = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "NIST AI RMF 1.0 subcategories that call for the role"},
    )
    skills = ma.fields.List(ma.fields.String())
    article_skills = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "Empty: the article names skills only for a career in generative AI "
            "as a whole (its FAQ), not for a role, so every skill of `skills` is ours",
            "deprecated": True,
        },
    )
    responsibilities = ma.fields.List(ma.fields.Nested(ResponsibilityOut))
    source = ma.fields.Nested(SourceOut)


class CollaborationOut(ma.Schema):
    key = ma.fields.String()
    role = catalog_key_field("roles", attribute="role_key")
    collaborates_with = ma.fields.List(ma.fields.String())
    outcomes = ma.fields.List(ma.fields.String())
    source = ma.fields.Nested(SourceOut)


class PriorityRuleOut(ma.Schema):
    when = _as_dict("when")
    priority = ma.fields.String(validate=_one_of(Priority))


class MitigationOut(ma.Schema):
    key = ma.fields.String()
    title = ma.fields.String()
    detail = ma.fields.String()
    done_when = ma.fields.String()
    phase = ma.fields.String(validate=_one_of(Phase))
    owner_roles = ma.fields.List(ma.fields.String())
    priority = ma.fields.String(validate=_one_of(Priority))
    priority_because = ma.fields.String(allow_none=True)
    fulfils = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Responsibilities it stands for where it applies (one item)"},
    )
    signoff_required = ma.fields.Boolean()
    reviewer_roles = ma.fields.List(ma.fields.String())
    evidence_required = ma.fields.Boolean()
    applies_when = _as_dict("applies_when")
    raised_when = ma.fields.List(ma.fields.Nested(PriorityRuleOut))
    nist = ma.fields.List(ma.fields.String())
    genai_risks = ma.fields.List(
        ma.fields.String(), metadata={"description": "NIST AI 600-1 risks it addresses"}
    )
    replaces = ma.fields.List(ma.fields.String())
    repeats = _repeats()
    source = ma.fields.Nested(SourceOut)


class ChallengeOut(ma.Schema):
    key = catalog_key_field("challenges")
    title = ma.fields.String()
    description = ma.fields.String()
    mitigations = ma.fields.List(ma.fields.Nested(MitigationOut))
    source = ma.fields.Nested(SourceOut)


class ApplicationOut(ma.Schema):
    key = catalog_key_field("applications")
    title = ma.fields.String()
    description = ma.fields.String()
    requires_roles = ma.fields.List(ma.fields.String())
    raises = ma.fields.Function(lambda app_: dict(app_.raises))
    implies_traits = ma.fields.List(ma.fields.String())
    source = ma.fields.Nested(SourceOut)


class ContextItemOut(ma.Schema):
    """An item a project's stated context asks for (ours), when its condition holds."""

    key = ma.fields.String()
    title = ma.fields.String()
    detail = ma.fields.String()
    done_when = ma.fields.String()
    phase = ma.fields.String(validate=_one_of(Phase))
    owner_roles = ma.fields.List(ma.fields.String())
    priority = ma.fields.String(validate=_one_of(Priority))
    priority_because = ma.fields.String(allow_none=True)
    signoff_required = ma.fields.Boolean()
    reviewer_roles = ma.fields.List(ma.fields.String())
    evidence_required = ma.fields.Boolean()
    applies_when = _as_dict("applies_when")
    eu_ai_act = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "Articles of the EU AI Act (Regulation (EU) 2024/1689) it answers, "
            "as `Art. 9` or `Art. 26(6)`"
        },
    )
    source = ma.fields.Nested(SourceOut)


class TraitRaiseOut(ma.Schema):
    key = ma.fields.String()
    priority = ma.fields.String(validate=_one_of(Priority))


class TraitBringsOut(ma.Schema):
    """What holding a true-or-false trait does, read from the catalog's conditions."""

    requires_roles = ma.fields.List(
        ma.fields.String(), metadata={"description": "Roles it makes required"}
    )
    applies = ma.fields.List(ma.fields.String(), metadata={"description": "Mitigations it applies"})
    raises = ma.fields.List(
        ma.fields.Nested(TraitRaiseOut),
        metadata={"description": "Mitigations it raises, to at least `priority`"},
    )
    implied_by = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Applications whose projects hold it unless they say not"},
    )
    risks = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "NIST AI 600-1 risks whose rule (`risk_rules`) it makes apply to a "
            "project, in the checklist's risk register"
        },
    )
    packs = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Domain packs (`packs`) it makes apply, with all their items"},
    )


class RiskRuleOut(ma.Schema):
    """When one NIST AI 600-1 risk applies to a project: the rule a checklist's risk register
    follows (ours)."""

    key = ma.fields.String()
    risk = ma.fields.String(metadata={"description": "As NIST AI 600-1 names it"})
    section = ma.fields.Function(
        lambda rule: genai_risk_section(rule.risk),
        metadata={"description": "Its subsection of NIST AI 600-1 (`2.1`-`2.12`)"},
    )
    rule = ma.fields.String(metadata={"description": "When it applies, in words"})
    applies_when = ma.fields.Function(
        lambda rule: None if rule.applies_when.always else rule.applies_when.as_dict(),
        metadata={
            "description": "Null: it applies to every project; else it applies when the project "
            "has any of `traits_any` or its application is one of `applications_any`"
        },
    )
    source = ma.fields.Nested(SourceOut)


class PackOut(ma.Schema):
    """A domain pack (ours): the mitigations a field of work brings, and when."""

    key = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String()
    applies_when = ma.fields.Function(
        lambda pack: pack.applies_when.as_dict(),
        metadata={
            "description": "It applies when the project has any of `traits_any` or its "
            "application is one of `applications_any`"
        },
    )
    items = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "Keys of its mitigations (under `challenges`), each applying to "
            "every project the pack applies to"
        },
    )
    source = ma.fields.Nested(SourceOut)


class TraitValueOut(ma.Schema):
    key = ma.fields.String()
    definition = ma.fields.String()
    implies_traits = ma.fields.List(ma.fields.String())
    applies = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Items that assume training, asked of this value's projects"},
    )


class TraitOut(ma.Schema):
    """A trait a project states (`traits` of a project), defined in our words."""

    key = ma.fields.String()
    title = ma.fields.String()
    definition = ma.fields.String()
    values = ma.fields.List(
        ma.fields.Nested(TraitValueOut),
        metadata={"description": "The values it takes (`model_source`); empty: true or false"},
    )
    brings = ma.fields.Nested(
        TraitBringsOut, allow_none=True, metadata={"description": "Null for a trait with values"}
    )
    source = ma.fields.Nested(SourceOut)


class CatalogOut(ma.Schema):
    version = ma.fields.String()
    roles = ma.fields.List(ma.fields.Nested(RoleOut))
    collaborations = ma.fields.List(ma.fields.Nested(CollaborationOut))
    challenges = ma.fields.List(ma.fields.Nested(ChallengeOut))
    applications = ma.fields.List(ma.fields.Nested(ApplicationOut))
    context_items = ma.fields.List(
        ma.fields.Nested(ContextItemOut),
        metadata={
            "description": "What a project's context asks (`applies_when`: its "
            "`risk_classification` is one of `risk_classifications`, when given, and it is "
            "used in any of `jurisdictions_any`, when given)"
        },
    )
    traits = ma.fields.List(
        ma.fields.Nested(TraitOut),
        metadata={"description": "Every trait a project states: its definition, what it brings"},
    )
    risk_rules = ma.fields.List(
        ma.fields.Nested(RiskRuleOut),
        metadata={
            "description": "When each of the twelve NIST AI 600-1 risks applies, in the "
            "profile's order: the rules of every checklist's `risk_register`"
        },
    )
    packs = ma.fields.List(
        ma.fields.Nested(PackOut),
        metadata={
            "description": "Domain packs: the mitigations each field of work (clinical, code, "
            "synthetic media, advertising) brings, and when"
        },
    )

    @ma.pre_dump
    def _explain_traits(self, catalog: Catalog, **kwargs: Any) -> dict[str, Any]:
        """The catalog's entries, its traits with what each brings (read from the rest)."""
        return {
            **{f.name: getattr(catalog, f.name) for f in dataclasses.fields(catalog)},
            "traits": [explained(catalog, trait) for trait in catalog.traits],
        }
