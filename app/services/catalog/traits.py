"""What each trait a project states brings, read from the catalog's own conditions: the roles
it requires, the items it applies and raises, the applications that imply it, and for
`model_source` what each value implies and applies."""

from __future__ import annotations

from typing import Any

from app.services.catalog.model import Catalog, Condition, Trait
from app.vocabulary import THIRD_PARTY_SOURCES, TRAINING_SOURCES


def _names(condition: Condition | None, trait: str) -> bool:
    return condition is not None and trait in condition.traits_any


def brings(catalog: Catalog, trait: str) -> dict[str, Any]:
    """What holding the boolean `trait` does to a project's checklist."""
    mitigations = [m for c in catalog.challenges for m in c.mitigations]
    return {
        "requires_roles": [r.key for r in catalog.roles if _names(r.required_when, trait)],
        "applies": [m.key for m in mitigations if _names(m.applies_when, trait)],
        "raises": [
            {"key": m.key, "priority": rule.priority}
            for m in mitigations
            for rule in m.raised_when
            if _names(rule.when, trait)
        ],
        "implied_by": [a.key for a in catalog.applications if trait in a.implies_traits],
        "risks": [r.risk for r in catalog.risk_rules if _names(r.applies_when, trait)],
        "packs": [p.key for p in catalog.packs if _names(p.applies_when, trait)],
    }


def training_items(catalog: Catalog) -> list[str]:
    """The keys of the responsibilities and mitigations that assume training."""
    return [
        *(r.key for role in catalog.roles for r in role.responsibilities if r.assumes_training),
        *(m.key for c in catalog.challenges for m in c.mitigations if m.assumes_training),
    ]


def explained(catalog: Catalog, trait: Trait) -> dict[str, Any]:
    """A trait as `GET /v1/catalog` lists it: its definition and what it brings."""
    entry: dict[str, Any] = {
        "key": trait.key,
        "title": trait.title,
        "definition": trait.definition,
        "source": trait.source,
        "values": [],
        "brings": brings(catalog, trait.key) if not trait.values else None,
    }
    if trait.values:
        trained = training_items(catalog)
        entry["values"] = [
            {
                "key": value.key,
                "definition": value.definition,
                "implies_traits": (
                    ["uses_third_party_models"] if value.key in THIRD_PARTY_SOURCES else []
                ),
                "applies": trained if value.key in TRAINING_SOURCES else [],
            }
            for value in trait.values
        ]
    return entry
