"""A checklist's risk register: where it stands on each of the twelve NIST AI 600-1 risks.

Pure, derived when a checklist is read (stored, previewed or as a revision stood) from what
the checklist already holds, with no query of its own: the items' `source.genai_risks` and
statuses, the project's application and traits, and the catalog's `risk_rules`. Each risk gets
exactly one status (`RegisterStatus`), in this order of precedence:

- `addressed`: items address it, at least one of them not waived (their keys);
- `accepted`: items address it and every one is waived (their keys and residual risks);
- `not-applicable`: no item addresses it and the catalog's rule says it does not apply to the
  project (the rule and the facts that fail it);
- `gap`: no item addresses it and it applies: a finding, never silently addressed.

Obsolete items address nothing; a lapsed waiver's item reads as open, so it addresses its
risks again (`checklists.lapses`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.services.catalog.model import Catalog, RiskRule
from app.vocabulary import GENAI_RISKS, ItemStatus, RegisterStatus, genai_risk_section

# Said of a risk the catalog has no rule for (a catalog seeded before the rules existed).
_NO_RULE = "The catalog in force states no rule for this risk, so it counts as applying."


def risk_register(
    catalog: Catalog,
    application: str,
    traits: Iterable[str],
    items: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The twelve risks in the profile's order, each with its status, the keys of the items
    that address it (`items`), the waived ones with their residual risk (`accepted`), and why
    (`reason`) when no item addresses it. `traits` are those that hold for the project (stated
    or implied); `items` are the checklist's items as its JSON shows them."""
    held = frozenset(traits)
    rules = {rule.risk: rule for rule in catalog.risk_rules}
    live: dict[str, list[str]] = {risk: [] for risk in GENAI_RISKS}
    waived: dict[str, list[dict[str, Any]]] = {risk: [] for risk in GENAI_RISKS}
    for item in items:
        status = item.get("status")
        if status == ItemStatus.OBSOLETE:
            continue
        for risk in (item.get("source") or {}).get("genai_risks") or ():
            if risk not in live:
                continue  # a name no longer in the profile's list addresses nothing
            if status == ItemStatus.WAIVED:
                waiver = item.get("waiver") or {}
                waived[risk].append(
                    {"key": item["key"], "residual_risk": waiver.get("residual_risk")}
                )
            else:
                live[risk].append(item["key"])
    return [
        _entry(catalog, risk, rules.get(risk), application, held, live[risk], waived[risk])
        for risk in GENAI_RISKS
    ]


def _entry(
    catalog: Catalog,
    risk: str,
    rule: RiskRule | None,
    application: str,
    traits: frozenset[str],
    live: list[str],
    waived: list[dict[str, Any]],
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "risk": risk,
        "section": genai_risk_section(risk),
        "items": live,
        "accepted": waived,
        "reason": None,
    }
    if live:
        return {**entry, "status": RegisterStatus.ADDRESSED}
    if waived:
        return {**entry, "status": RegisterStatus.ACCEPTED}
    if rule is None:
        return {**entry, "status": RegisterStatus.GAP, "reason": f"{_NO_RULE} {_NOTHING}"}
    if rule.applies_when.always:
        return {**entry, "status": RegisterStatus.GAP, "reason": f"{rule.rule} {_NOTHING}"}
    matches = rule.applies_when.matches(application, traits)
    if matches:
        why = ", ".join(m.replace(":", " ", 1) for m in matches)
        return {
            **entry,
            "status": RegisterStatus.GAP,
            "reason": f"{rule.rule} It applies here ({why}). {_NOTHING}",
        }
    return {
        **entry,
        "status": RegisterStatus.NOT_APPLICABLE,
        "reason": f"{rule.rule} {_not_met(catalog, rule, application)}",
    }


_NOTHING = "No item of this checklist addresses it."


def _not_met(catalog: Catalog, rule: RiskRule, application: str) -> str:
    """The project's facts that fail `rule`: its application and the traits it lacks."""
    facts = []
    if rule.applies_when.applications_any:
        found = catalog.application(application)
        facts.append(f"the application is {found.title if found else application}")
    if rule.applies_when.traits_any:
        lacking = ", ".join(sorted(rule.applies_when.traits_any))
        facts.append(f"none of the traits {lacking} holds (stated or implied)")
    return f"Not the case here: {' and '.join(facts)}."
