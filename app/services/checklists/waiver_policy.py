"""The waiver policy by item priority (ours, not the article's): what a waiver of a low,
medium, high or critical item needs, which items are never waived, and the check of a
waiver a person gives against it.

The policy is catalog data (`waiver_policy:` in `seed/catalog.yaml`, validated by the
catalog's schema and part of its version): the rules read the policy of the catalog in use.
It applies to a waiver as it is given or changed; a waiver stored before it keeps holding
until it lapses or changes. A ticketing system cannot meet the high and critical rules (an
approver, a residual risk): its waiver of such an item is held
(`checklists.rules.as_far_as_a_system_may`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import Any

from app.errors import Problem
from app.services.catalog.model import Catalog, WaiverPolicy, WaiverRule, priority_rank
from app.vocabulary import WaiverApprover

__all__ = [
    "Approver",
    "WaiverPolicy",
    "WaiverRule",
    "approver_required",
    "policy_document",
    "policy_errors",
    "policy_of",
    "seeded_policy",
]

# Who must approve a waiver (the vocabulary's closed set, under the name the policy uses).
Approver = WaiverApprover


def policy_of(catalog: Catalog) -> WaiverPolicy:
    """The waiver policy of `catalog`; 503 when the catalog in the database has none (loaded
    before policies were catalog data, and not seeded since)."""
    if catalog.waiver_policy is None:
        raise Problem(
            "The catalog has no waiver policy; an operator must run 'flask seed'.",
            status=503,
            title="Catalog not loaded",
            slug="catalog-not-loaded",
        )
    return catalog.waiver_policy


@cache
def seeded_policy() -> WaiverPolicy:
    """The waiver policy of the catalog `flask seed` installs (`seed/`): what
    `/openapi.json` shows as the example of `GET /v1/policy`."""
    from seed.loader import seeded_catalog

    return policy_of(seeded_catalog())


def approver_required(rule: WaiverRule, signoff_required: bool) -> bool:
    return rule.approver != Approver.AS_THE_ITEM_NEEDS or signoff_required


def policy_errors(rule: WaiverRule, waiver: Mapping[str, Any], today: date) -> dict[str, list[str]]:
    """The rules of `rule` that a waiver a person gives breaks, each under its field (empty
    when it keeps them). The approver's presence and independence are checked beside it, by
    `ItemRules.approve_waiver`, which knows the item's roles."""
    errors: dict[str, list[str]] = {}
    if len((waiver.get("reason") or "").strip()) < rule.reason_min_chars:
        errors["waiver.reason"] = [
            f"{rule.waiver_of.capitalize()} gives a reason of at least "
            f"{rule.reason_min_chars} characters (policy)."
        ]
    expires = waiver.get("expires_on")
    if expires is None:
        errors["waiver.expires_on"] = [
            f"Required: {rule.waiver_of} expires within {rule.max_days} days (policy)."
        ]
    elif date.fromisoformat(expires) > rule.latest_expiry(today):
        errors["waiver.expires_on"] = [
            f"{rule.waiver_of.capitalize()} expires within {rule.max_days} days (policy): "
            f"on {rule.latest_expiry(today).isoformat()} at the latest."
        ]
    risk = (waiver.get("residual_risk") or "").strip()
    risk_min = rule.residual_risk_min_chars or 0
    if rule.residual_risk_required and (not risk or len(risk) < risk_min):
        errors["waiver.residual_risk"] = [
            f"Required: {rule.waiver_of} states the residual risk it accepts, in at least "
            f"{risk_min} characters (policy)."
        ]
    return errors


def policy_document(policy: WaiverPolicy) -> dict[str, Any]:
    """The policy as `GET /v1/policy` shows it: the rules, most urgent first, and the items
    never waived."""
    rules = sorted(policy.rules, key=lambda rule: priority_rank(rule.priority), reverse=True)
    return {
        "waivers": [
            {
                "priority": rule.priority,
                "approver": rule.approver,
                "approver_roles": list(policy.approver_roles(rule)),
                "max_days": rule.max_days,
                "expires_on_required": True,
                "reason_min_chars": rule.reason_min_chars,
                "residual_risk_required": rule.residual_risk_required,
                "residual_risk_min_chars": rule.residual_risk_min_chars
                if rule.residual_risk_required
                else None,
            }
            for rule in rules
        ],
        "accountable_roles": list(policy.accountable_roles),
        "never_waived": [entry.as_dict() for entry in policy.never_waived],
    }
