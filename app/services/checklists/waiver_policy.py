"""The waiver policy by item priority (ours, not the article's): what a waiver of a low,
medium, high or critical item needs, and the check of a waiver a person gives against it.

The policy applies to a waiver as it is given or changed; a waiver stored before it keeps
holding until it lapses or changes. A ticketing system cannot meet the high and critical
rules (an approver, a residual risk): its waiver of such an item is held
(`checklists.rules.as_far_as_a_system_may`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from app.vocabulary import Priority

# Who may accept the risk of waiving a critical item. Issue 19 is to name a governance role
# for it; until then, the roles that accept risks on the team.
ACCOUNTABLE_ROLES: tuple[str, ...] = ("product-manager", "ai-ethicist")


class Approver(StrEnum):
    """Who must approve a waiver."""

    # An independent approver when the item needs an independent sign-off (the rule of
    # `checklists.rules`), none otherwise.
    AS_THE_ITEM_NEEDS = "as-the-item-needs"
    # Always an independent approver: not an owner, holding a reviewer role of the item (an
    # accountable role when it has none).
    INDEPENDENT = "independent"
    # Always an independent approver holding an accountable role (`ACCOUNTABLE_ROLES`).
    ACCOUNTABLE_ROLE = "accountable-role"


@dataclass(frozen=True)
class WaiverRule:
    """What a waiver of an item of `priority` needs."""

    priority: str
    approver: Approver
    max_days: int  # the waiver expires (`expires_on` required) at most this many days ahead
    reason_min_chars: int
    residual_risk_required: bool
    residual_risk_min_chars: int

    @property
    def approver_roles(self) -> tuple[str, ...]:
        """The roles the approver must hold; empty: the item's reviewer roles."""
        return ACCOUNTABLE_ROLES if self.approver == Approver.ACCOUNTABLE_ROLE else ()

    @property
    def waiver_of(self) -> str:
        """`a high item's waiver`: how the policy's messages name what they rule."""
        article = "an" if self.priority[:1] in "aeiou" else "a"
        return f"{article} {self.priority} item's waiver"

    def latest_expiry(self, today: date) -> date:
        return today + timedelta(days=self.max_days)


# The defaults, beside the catalog's priorities. Every waiver expires: a risk accepted is
# revisited, sooner the higher it is.
MIN_TEXT = 20


def _rule(priority: Priority, approver: Approver, max_days: int, *, risk: bool) -> WaiverRule:
    return WaiverRule(priority, approver, max_days, MIN_TEXT, risk, MIN_TEXT)


WAIVER_POLICY: Mapping[str, WaiverRule] = {
    rule.priority: rule
    for rule in (
        _rule(Priority.CRITICAL, Approver.ACCOUNTABLE_ROLE, 90, risk=True),
        _rule(Priority.HIGH, Approver.INDEPENDENT, 180, risk=True),
        _rule(Priority.MEDIUM, Approver.AS_THE_ITEM_NEEDS, 365, risk=False),
        _rule(Priority.LOW, Approver.AS_THE_ITEM_NEEDS, 365, risk=False),
    )
}


def rule_for(priority: str) -> WaiverRule:
    """The rule of an item's priority (an unknown one is held to the strictest)."""
    return WAIVER_POLICY.get(priority, WAIVER_POLICY[Priority.CRITICAL])


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
    if rule.residual_risk_required and len(risk) < rule.residual_risk_min_chars:
        errors["waiver.residual_risk"] = [
            f"Required: {rule.waiver_of} states the residual risk it accepts, in at least "
            f"{rule.residual_risk_min_chars} characters (policy)."
        ]
    return errors


def policy_document() -> dict[str, Any]:
    """The policy as `GET /v1/policy` shows it."""
    return {
        "waivers": [
            {
                "priority": rule.priority,
                "approver": rule.approver,
                "approver_roles": list(rule.approver_roles),
                "max_days": rule.max_days,
                "expires_on_required": True,
                "reason_min_chars": rule.reason_min_chars,
                "residual_risk_required": rule.residual_risk_required,
                "residual_risk_min_chars": rule.residual_risk_min_chars
                if rule.residual_risk_required
                else None,
            }
            for rule in sorted(WAIVER_POLICY.values(), key=_rank, reverse=True)
        ]
    }


def _rank(rule: WaiverRule) -> int:
    return list(Priority).index(Priority(rule.priority))
