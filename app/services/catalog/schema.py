"""Marshmallow schemas that validate the catalog's YAML and load it as the catalog's model.

What is checked against other parts of the catalog (a role named by a mitigation, the article a
quote is taken from) is read from the load's `Context`: `load_sections` sets it from the raw
data, so every problem is found in one pass and a key named before it is defined is no problem.
"""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate, validates_schema
from marshmallow.experimental.context import Context

from app.services.catalog.errors import UNKNOWN_FIELD, CatalogError, error_lines
from app.services.catalog.model import (
    Application,
    Challenge,
    Collaboration,
    Condition,
    ContextCondition,
    ContextItem,
    Mitigation,
    NeverWaived,
    Pack,
    Passage,
    PriorityRule,
    Responsibility,
    RiskRule,
    Role,
    SourceRef,
    Trait,
    TraitValue,
    WaiverPolicy,
    WaiverRule,
    priority_rank,
)
from app.services.catalog.validators import (
    CONTEXT_PREFIX,
    NON_EMPTY,
    PRIORITY,
    SECTIONS,
    SLUG,
    Flag,
    Names,
    Text,
    context,
    defined,
    each_matches,
    handover_errors,
    key_errors,
    known,
    names,
    phase_field,
    priority_field,
    raw_keys,
    repeats_field,
    slug_key,
    texts,
    verbatim,
)
from app.vocabulary import (
    GENAI_RISKS,
    PRIORITIES,
    TRAIT_FIELDS,
    TRAITS,
    ModelSource,
    RiskClassification,
    SourceKind,
    WaiverApprover,
    values,
)

__all__ = ["CatalogError", "CatalogSchema", "load_sections"]


class _Strict(ma.Schema):
    """Every field named, none unknown; `post_load` gives the model's keyword arguments."""

    error_messages = {"unknown": UNKNOWN_FIELD, "type": "expected a mapping"}


def _frozen(data: dict[str, Any]) -> dict[str, Any]:
    """The model is immutable: lists become tuples."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


def nist_field() -> fields.List[Any]:
    """NIST AI RMF 1.0 subcategories, written as the Core writes them (`MEASURE 2.10`)."""
    return fields.List(
        fields.String(),
        load_default=list,
        validate=each_matches(r"(GOVERN|MAP|MEASURE|MANAGE) \d+\.\d+", "like 'MEASURE 2.10'"),
    )


# An article of the EU AI Act, or one paragraph (and point) of it, as the Regulation numbers
# them: `Art. 9`, `Art. 26(6)`, `Art. 50(2)`. tests/seed checks each article exists.
EU_AI_ACT_REFERENCE = r"Art\. [1-9]\d{0,2}(\([1-9]\d?\)(\([a-z]\))?)?"


def eu_ai_act_field() -> fields.List[Any]:
    """References to the EU AI Act (Regulation (EU) 2024/1689), each once."""
    return fields.List(
        fields.String(),
        load_default=list,
        validate=[
            each_matches(EU_AI_ACT_REFERENCE, "like 'Art. 9' or 'Art. 26(6)'"),
            _distinct,
        ],
    )


def _distinct(given: list[str]) -> None:
    twice = sorted({g for g in given if given.count(g) > 1})
    if twice:
        raise ma.ValidationError(f"given more than once: {', '.join(twice)}")


class PassageSchema(_Strict):
    section = Text(required=True)
    quote = Text(verbatim, required=True)

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Passage:
        return Passage(**data)


class SourceSchema(_Strict):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(
            tuple(SourceKind), error="expected 'article' or 'authored', got {input!r}"
        ),
    )
    section = Text(required=True)
    quote = Text(verbatim)
    elaborates = fields.Nested(PassageSchema)

    @validates_schema(pass_original=True)
    def _kind_rules(self, data: dict[str, Any], original: dict[str, Any], **kwargs: Any) -> None:
        if data["kind"] == SourceKind.AUTHORED and "quote" in original:
            raise ma.ValidationError(
                "authored sources carry no quote (name the passage they build on in `elaborates`)",
                "quote",
            )
        if data["kind"] == SourceKind.ARTICLE and "elaborates" in original:
            raise ma.ValidationError("only authored sources elaborate a passage", "elaborates")
        if data["kind"] == SourceKind.ARTICLE and "quote" not in original:
            raise ma.ValidationError("missing (required for kind 'article')", "quote")

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> SourceRef:
        return SourceRef(**{**data, "kind": SourceKind(data["kind"])})


class _ClaimsText(_Strict):
    """An entry whose text (`text_field`) is the article's own when its source says so."""

    text_field = ""
    source = fields.Nested(SourceSchema, required=True)

    @validates_schema
    def _text_is_verbatim(self, data: dict[str, Any], **kwargs: Any) -> None:
        text = data[self.text_field]
        if data["source"].kind == SourceKind.ARTICLE and text not in context()["article"]:
            raise ma.ValidationError(
                {
                    "source": {
                        "kind": [
                            "'article' claims the entry's text is the article's, but it is "
                            f"not verbatim: {text!r} (mark it 'authored' with `elaborates`)"
                        ]
                    }
                }
            )


class _Parent(_ClaimsText):
    """An entry whose `children` are keyed `<its key>.<slug>`, each key once."""

    children = ""

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _child_keys(self, data: Any, original: Any, **kwargs: Any) -> None:
        if not isinstance(original, dict):
            return  # named as not a mapping already
        parent = original.get("key")
        found = key_errors(original.get(self.children), parent if isinstance(parent, str) else None)
        if found:
            raise ma.ValidationError({self.children: found})


class ConditionSchema(_Strict):
    traits_any = names(TRAITS, "trait")
    applications_any = names("applications", "application")

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("traits_any") and not data.get("applications_any"):
            raise ma.ValidationError("empty condition (omit it to mean 'always')")

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Condition:
        return Condition(**{k: frozenset(v) for k, v in data.items()})


class SkillsSchema(_Strict):
    """A role's skills, ours. The article names skills only for a career in generative AI as
    a whole (its FAQ), never for one role: crediting them to a role would put words in its
    mouth, so `article` is refused."""

    article = fields.List(fields.Raw(), load_default=list)
    authored = texts(load_default=list)

    @ma.validates("article")
    def _none_from_the_article(self, value: list[Any], **kwargs: Any) -> None:
        if value:
            raise ma.ValidationError(
                "the article names no skills for a role (its FAQ names those of a career in "
                "generative AI as a whole): list the role's skills under `authored`"
            )

    @validates_schema
    def _some_distinct(self, data: dict[str, Any], **kwargs: Any) -> None:
        every = data["authored"]
        if not every:
            raise ma.ValidationError("must not be empty")
        if len(set(every)) != len(every):
            raise ma.ValidationError(f"duplicate skill in {every}")


class ResponsibilitySchema(_ClaimsText):
    text_field = "text"
    key = Text(required=True)
    title = Text(required=True)
    text = Text(required=True)
    detail = Text(required=True)
    done_when = Text(required=True)
    phase = phase_field()
    priority = priority_field(load_default="medium")
    evidence_required = Flag(load_default=False)
    repeats = repeats_field()
    assumes_training = Flag(load_default=False)
    nist = nist_field()


class RoleSchema(_Parent):
    text_field = "summary"
    children = "responsibilities"
    key = Text(slug_key, required=True)
    title = Text(required=True)
    summary = Text(required=True)
    required = Flag(required=True)
    skills = fields.Nested(SkillsSchema, required=True)
    required_when = fields.Nested(ConditionSchema, load_default=None, allow_none=True)
    required_when_classified = names(
        values(RiskClassification), "risk classification", load_default=list
    )
    nist = nist_field()
    responsibilities = fields.List(
        fields.Nested(ResponsibilitySchema), required=True, validate=NON_EMPTY
    )

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        skills = data.pop("skills")
        data["responsibilities"] = [
            Responsibility(role_key=data["key"], position=position, **_frozen(r))
            for position, r in enumerate(data["responsibilities"])
        ]
        data["article_skills"] = []
        data["skills"] = skills["authored"]
        return _frozen(data)


class CollaborationSchema(_Strict):
    key = Text(slug_key, required=True)
    role_key = fields.String(data_key="role", required=True, validate=known("roles", "role"))
    collaborates_with = names("roles", "role", required=True)
    outcomes = texts(required=True, validate=NON_EMPTY)
    source = fields.Nested(SourceSchema, required=True)

    @validates_schema
    def _others(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data["collaborates_with"] or data["role_key"] in data["collaborates_with"]:
            raise ma.ValidationError(
                f"needs other roles than {data['role_key']!r}", "collaborates_with"
            )

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return _frozen(data)


class PriorityRuleSchema(_Strict):
    when = fields.Nested(ConditionSchema, required=True)
    priority = priority_field(required=True)

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> PriorityRule:
        return PriorityRule(**data)


class MitigationSchema(_Strict):
    key = Text(required=True)
    title = Text(required=True)
    detail = Text(required=True)
    done_when = Text(required=True)
    phase = phase_field()
    owner_roles = names("roles", "role", non_empty=True, required=True)
    priority = priority_field(required=True)
    source = fields.Nested(SourceSchema, required=True)
    applies_when = fields.Nested(ConditionSchema, load_default=Condition)
    raised_when = fields.List(fields.Nested(PriorityRuleSchema), load_default=list)
    nist = nist_field()
    genai_risks = names(GENAI_RISKS, "NIST AI 600-1 risk", load_default=list)
    replaces = fields.List(
        fields.String(),
        load_default=list,
        validate=each_matches(rf"{SLUG}\.{SLUG}", "an item key"),
    )
    fulfils = names("responsibilities", "responsibility", hint=False, load_default=list)
    priority_because = Text(load_default=None)
    signoff_required = Flag(load_default=False)
    reviewer_roles = names("roles", "role", load_default=list)
    evidence_required = Flag(load_default=False)
    repeats = repeats_field()
    assumes_training = Flag(load_default=False)
    agrees_collaborations = Flag(load_default=False)

    @validates_schema
    def _priorities_and_signoff(self, data: dict[str, Any], **kwargs: Any) -> None:
        priority, rules = data["priority"], data["raised_when"]
        errors: dict[str, Any] = {}
        if data["priority_because"] is None and priority == "critical":
            errors["priority_because"] = ["required when the priority is critical"]
        low = {
            index: {"priority": [f"{rule.priority!r} does not raise {priority!r}"]}
            for index, rule in enumerate(rules)
            if priority_rank(rule.priority) <= priority_rank(priority)
        }
        if low:
            errors["raised_when"] = low
        errors.update(_signoff_errors(data, "mitigation", (r.priority for r in rules)))
        if data["agrees_collaborations"] and (
            not data["applies_when"].always or data["assumes_training"]
        ):
            # The collaboration table's pairs are agreed here: on every checklist.
            errors["agrees_collaborations"] = ["only a mitigation that always applies"]
        if errors:
            raise ma.ValidationError(errors)


def _signoff_errors(data: dict[str, Any], what: str, raised: Any = ()) -> dict[str, list[str]]:
    """An entry that can be critical needs a sign-off, by someone in a role that does not own
    it; reviewer roles go with a sign-off."""
    errors: dict[str, list[str]] = {}
    signoff, reviewers = data["signoff_required"], data["reviewer_roles"]
    if "critical" in (data["priority"], *raised) and not signoff:
        errors["signoff_required"] = [f"a {what} that can be critical needs a sign-off"]
    if signoff and not set(reviewers) - set(data["owner_roles"]):
        errors["reviewer_roles"] = [
            "needs a role besides the owner roles, so that someone who does not own the "
            "item can sign it off"
        ]
    if reviewers and not signoff:
        errors["reviewer_roles"] = ["given without signoff_required"]
    return errors


class ChallengeSchema(_Parent):
    text_field = "description"
    children = "mitigations"
    key = Text(slug_key, required=True)
    title = Text(required=True)
    description = Text(required=True)
    mitigations = fields.List(fields.Nested(MitigationSchema), required=True, validate=NON_EMPTY)

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["mitigations"] = [
            Mitigation(challenge_key=data["key"], position=position, **_frozen(m))
            for position, m in enumerate(data["mitigations"])
        ]
        return _frozen(data)


class ApplicationSchema(_ClaimsText):
    text_field = "description"
    key = Text(slug_key, required=True)
    title = Text(required=True)
    description = Text(required=True)
    requires_roles = names("roles", "role", load_default=list)
    raises = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        load_default=dict,
        error_messages={"invalid": "expected a mapping of challenge key to priority"},
    )
    implies_traits = names(TRAITS, "trait", load_default=list)

    @ma.validates("raises")
    def _raises(self, raises: dict[str, str], **kwargs: Any) -> None:
        """Minimum priorities of known challenges: an unknown one is named on `raises`, an
        unknown priority on its challenge (`raises.data-privacy`)."""
        unknown = [c for c in raises if c not in context()["challenges"]]
        if unknown:
            raise ma.ValidationError([f"unknown challenge {c!r}" for c in unknown])
        errors: dict[str, Any] = {}
        for challenge, priority in raises.items():
            try:
                PRIORITY(priority)
            except ma.ValidationError as error:
                errors[challenge] = error.messages
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["raises"] = tuple(sorted(data["raises"].items()))
        return _frozen(data)


class _OursOnly(SourceSchema):
    """The source of text that is ours alone: `authored`, building on no passage."""

    @validates_schema
    def _authored(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["kind"] != SourceKind.AUTHORED:
            raise ma.ValidationError("must be 'authored': the text is ours", "kind")


class ContextConditionSchema(_Strict):
    risk_classifications = names(values(RiskClassification), "risk classification")
    jurisdictions_any = fields.List(
        fields.String(),
        validate=each_matches(r"[A-Z]{2}", "a jurisdiction like 'EU' or 'US'"),
    )

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("risk_classifications") and not data.get("jurisdictions_any"):
            raise ma.ValidationError("empty condition (a context item needs one)")

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> ContextCondition:
        return ContextCondition(**{k: frozenset(v) for k, v in data.items()})


class ContextItemSchema(_Strict):
    """An item the project's context asks for (`context.<slug>`), in our words."""

    key = Text(required=True)
    title = Text(required=True)
    detail = Text(required=True)
    done_when = Text(required=True)
    phase = phase_field()
    owner_roles = names("roles", "role", non_empty=True, required=True)
    priority = priority_field(required=True)
    priority_because = Text(load_default=None)
    source = fields.Nested(_OursOnly, required=True)
    applies_when = fields.Nested(ContextConditionSchema, required=True)
    signoff_required = Flag(load_default=False)
    reviewer_roles = names("roles", "role", load_default=list)
    evidence_required = Flag(load_default=False)
    eu_ai_act = eu_ai_act_field()

    @validates_schema
    def _priority_and_signoff(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = _signoff_errors(data, "context item")
        if data["priority_because"] is None and data["priority"] == "critical":
            errors["priority_because"] = ["required when the priority is critical"]
        if errors:
            raise ma.ValidationError(errors)


class TraitValueSchema(_Strict):
    key = Text(required=True)
    definition = Text(required=True)

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> TraitValue:
        return TraitValue(**data)


# The values a trait with values takes, as the projects' schema and the engine know them.
_TRAIT_VALUES: dict[str, tuple[str, ...]] = {"model_source": values(ModelSource)}


class TraitSchema(_Strict):
    """A trait a project states, defined in our words: every trait the projects' schema
    knows, once, in its order; `values` for a trait that has values, each defined."""

    key = fields.String(required=True, validate=validate.OneOf(TRAIT_FIELDS))
    title = Text(required=True)
    definition = Text(required=True)
    values = fields.List(fields.Nested(TraitValueSchema), load_default=list)
    source = fields.Nested(_OursOnly, required=True)

    @validates_schema
    def _values(self, data: dict[str, Any], **kwargs: Any) -> None:
        expected = _TRAIT_VALUES.get(data["key"], ())
        given = tuple(v.key for v in data["values"])
        if given != expected:
            want = ", ".join(expected) if expected else "none (a true-or-false trait)"
            raise ma.ValidationError(f"expected the values {want}, in order", "values")

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return _frozen(data)


def risk_key(risk: str) -> str:
    """The key of a NIST AI 600-1 risk's rule: its name as a slug (`human-ai-configuration`)."""
    return re.sub(r"[^a-z0-9]+", "-", risk.lower()).strip("-")


class RiskRuleSchema(_Strict):
    """When one NIST AI 600-1 risk applies: always, or when `applies_when` holds; `rule` says
    so in words. Ours."""

    risk = fields.String(
        required=True, validate=validate.OneOf(GENAI_RISKS, error="not a NIST AI 600-1 risk")
    )
    rule = Text(required=True)
    applies_when = fields.Nested(ConditionSchema, load_default=Condition)
    source = fields.Nested(_OursOnly, required=True)

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {"key": risk_key(data["risk"]), **_frozen(data)}


class PackSchema(_Strict):
    """A domain pack: when it applies and the mitigations it names (ours). That each item
    applies wherever the pack does is checked with the challenges (`CatalogSchema`)."""

    key = Text(slug_key, required=True)
    title = Text(required=True)
    description = Text(required=True)
    applies_when = fields.Nested(ConditionSchema, required=True)
    items = names("mitigations", "mitigation", hint=False, non_empty=True, required=True)
    source = fields.Nested(_OursOnly, required=True)

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return _frozen(data)


def pack_errors(packs: list[dict[str, Any]], challenges: list[dict[str, Any]]) -> dict[int, Any]:
    """Errors, by pack position, of items that do not apply to every project the pack applies
    to (their condition does not hold wherever the pack's does, or they assume training), and
    of items named by an earlier pack."""
    mitigations = {m.key: m for c in challenges for m in c["mitigations"]}
    named: dict[str, str] = {}
    errors: dict[int, Any] = {}
    for index, pack in enumerate(packs):
        condition: Condition = pack["applies_when"]
        problems = []
        for key in pack["items"]:
            item = mitigations.get(key)
            if item is None:
                continue  # named as unknown already
            own = item.applies_when
            covers = own.always or (
                condition.traits_any <= own.traits_any
                and condition.applications_any <= own.applications_any
            )
            if not covers:
                problems.append(f"{key!r} does not apply wherever the pack applies")
            if item.assumes_training:
                problems.append(f"{key!r} assumes training: not every project of the pack gets it")
            if key in named:
                problems.append(f"{key!r} is in the pack {named[key]!r} already")
            named.setdefault(key, pack["key"])
        if problems:
            errors[index] = {"items": problems}
    return errors


def _count(minimum: int) -> fields.Integer:
    return fields.Integer(
        strict=True, validate=validate.Range(min=minimum, error=f"must be at least {minimum}")
    )


class WaiverRuleSchema(_Strict):
    priority = priority_field(required=True)
    approver = fields.String(
        required=True, validate=validate.OneOf(values(WaiverApprover), error="unknown approver")
    )
    max_days = _count(1)
    reason_min_chars = _count(0)
    residual_risk_required = Flag(required=True)
    residual_risk_min_chars = _count(1)

    @validates_schema
    def _risk(self, data: dict[str, Any], **kwargs: Any) -> None:
        for name in ("max_days", "reason_min_chars"):
            if name not in data:
                raise ma.ValidationError(fields.Field.default_error_messages["required"], name)
        if data["residual_risk_required"] != ("residual_risk_min_chars" in data):
            raise ma.ValidationError(
                "given when, and only when, residual_risk_required is true",
                "residual_risk_min_chars",
            )

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> WaiverRule:
        return WaiverRule(**{**data, "approver": WaiverApprover(data["approver"])})


_ITEM_KEY = Names("items", "item key", hint=False)


class NeverWaivedSchema(_Strict):
    key = fields.String(required=True, validate=lambda key: _ITEM_KEY([key]))
    because = Text(required=True)

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> NeverWaived:
        return NeverWaived(**data)


class WaiverPolicySchema(_Strict):
    """The waiver policy: one rule per priority, the accountable roles, the items never
    waived. Ours."""

    source = fields.Nested(_OursOnly, required=True)
    accountable_roles = names("roles", "role", non_empty=True, required=True)
    rules = fields.List(fields.Nested(WaiverRuleSchema), required=True)
    never_waived = fields.List(fields.Nested(NeverWaivedSchema), load_default=list)

    @validates_schema
    def _every_priority_once(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [rule.priority for rule in data["rules"]]
        missing = [p for p in PRIORITIES if p not in given]
        twice = sorted({p for p in given if given.count(p) > 1})
        problems = [f"no rule for priority {p!r}" for p in missing]
        problems += [f"more than one rule for priority {p!r}" for p in twice]
        if problems:
            raise ma.ValidationError(problems, "rules")

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> WaiverPolicy:
        return WaiverPolicy(**_frozen(data))


# The model each section's entries are, given their position in the section.
_MODELS: dict[str, type] = {
    "roles": Role,
    "collaborations": Collaboration,
    "challenges": Challenge,
    "applications": Application,
    "context_items": ContextItem,
    "traits": Trait,
    "risk_rules": RiskRule,
    "packs": Pack,
}


class CatalogSchema(_Strict):
    roles = fields.List(fields.Nested(RoleSchema), required=True, validate=NON_EMPTY)
    collaborations = fields.List(
        fields.Nested(CollaborationSchema), required=True, validate=NON_EMPTY
    )
    challenges = fields.List(fields.Nested(ChallengeSchema), required=True, validate=NON_EMPTY)
    applications = fields.List(fields.Nested(ApplicationSchema), required=True, validate=NON_EMPTY)
    context_items = fields.List(fields.Nested(ContextItemSchema), load_default=list)
    traits = fields.List(fields.Nested(TraitSchema), required=True)
    # Optional: without it every risk counts as applying (the seed catalog has all twelve).
    risk_rules = fields.List(fields.Nested(RiskRuleSchema), load_default=list)
    packs = fields.List(fields.Nested(PackSchema), load_default=list)
    waiver_policy = fields.Nested(WaiverPolicySchema, required=True)

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _every_risk_once(self, data: Any, original: Any, **kwargs: Any) -> None:
        # On the raw data, as the traits: the profile's order is checked whatever else is wrong.
        raw = original.get("risk_rules") if isinstance(original, dict) else None
        if not isinstance(raw, list):
            return
        given = tuple(entry.get("risk") if isinstance(entry, dict) else None for entry in raw)
        if given != GENAI_RISKS:
            raise ma.ValidationError(
                "expected every NIST AI 600-1 risk once, in the profile's order: "
                + ", ".join(GENAI_RISKS),
                "risk_rules",
            )

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _every_trait_once(self, data: Any, original: Any, **kwargs: Any) -> None:
        # On the raw data: the order is checked even where an entry has other problems.
        raw = original.get("traits") if isinstance(original, dict) else None
        if not isinstance(raw, list):
            return  # missing or not a list: named as such already
        given = tuple(key for _, key in raw_keys(raw))
        if given != TRAIT_FIELDS:
            raise ma.ValidationError(
                f"expected every trait once, in this order: {', '.join(TRAIT_FIELDS)}",
                "traits",
            )

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _unique_keys(self, data: Any, original: Any, **kwargs: Any) -> None:
        # On the raw data: a key is checked even where its entry has other problems.
        if not isinstance(original, dict):
            return
        errors = {s: found for s in SECTIONS if (found := key_errors(original.get(s)))}
        # Context items are keyed `context.<slug>`, as a role's responsibilities are by it.
        context = key_errors(original.get("context_items"), CONTEXT_PREFIX)
        if context:
            errors["context_items"] = context
        packs = key_errors(original.get("packs"))
        if packs:
            errors["packs"] = packs
        if errors:
            raise ma.ValidationError(errors)

    @validates_schema
    def _replaced_and_fulfilled(self, data: dict[str, Any], **kwargs: Any) -> None:
        """An old key hands its item's state to one entry, and is no longer a key of the
        catalog; a responsibility is fulfilled by one mitigation at most."""
        errors = handover_errors(data["challenges"])
        if errors:
            raise ma.ValidationError({"challenges": errors})
        agreeing = [
            m.key for c in data["challenges"] for m in c["mitigations"] if m.agrees_collaborations
        ]
        if len(agreeing) > 1:
            raise ma.ValidationError(
                {"challenges": [f"one mitigation agrees the collaborations, not {agreeing}"]}
            )

    @validates_schema
    def _packs_apply_with_their_items(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors = pack_errors(data["packs"], data["challenges"])
        if errors:
            raise ma.ValidationError({"packs": errors})

    @ma.post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {
            **{
                section: tuple(
                    model(position=position, **_frozen(entry))
                    for position, entry in enumerate(data[section])
                )
                for section, model in _MODELS.items()
            },
            "waiver_policy": data["waiver_policy"],
        }


def load_sections(data: Any, article: str) -> dict[str, Any]:
    """The catalog's sections as the model's entries (`Catalog` without its version).

    Raises `CatalogError` naming every problem, one a line, each by its path in the file.
    """
    with Context(defined(data, article)):
        try:
            return CatalogSchema().load(data)
        except ma.ValidationError as error:
            lines = error_lines(error.messages, data, "catalog", prefix="", in_entry=False)
            raise CatalogError("\n".join(lines)) from None
