"""The independence rules of a checklist item: who may sign it off or approve its waiver
(under the waiver policy of its priority), what it needs to be done, and what a ticketing
system cannot give it alone (then its change is held, and says what the item needs)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import ValidationFailed
from app.models import Assignment, Checklist, ChecklistItem, ChecklistItemOwner, Person, Project
from app.services.catalog.model import WaiverPolicy
from app.services.catalog.store import catalog_for
from app.services.checklists.facts import required_roles, stated_facts
from app.services.checklists.lapses import today
from app.services.checklists.waiver_policy import (
    Approver,
    WaiverRule,
    approver_required,
    policy_errors,
    policy_of,
)
from app.services.context import Context
from app.vocabulary import ItemStatus


def as_far_as_a_system_may(
    rules: ItemRules,
    item: ChecklistItem,
    status: str,
    waiver: dict[str, Any] | None,
    evidence: list[dict[str, Any]],
    signed_off_by: str | None,
    reason: str | None,
) -> tuple[str, dict[str, Any] | None, str | None]:
    """A ticketing system closing or waiving an item that needs an independent person (a
    sign-off, an approver) or evidence does what it can: the item is held in progress (or in
    the status it has), and the reason says what it still needs. A waiver it may give (of a
    medium or low item needing no approver) expires as late as the policy allows: the
    system's reason, which names the ticket, its state and who moved it, stands as its
    reason."""
    needs: list[str] = []
    if status == ItemStatus.DONE and item.status != ItemStatus.DONE:
        needs = rules.missing_for_done(signed_off_by, evidence)
    elif status == ItemStatus.WAIVED and waiver != item.waiver:
        needs = rules.waiver_needs()
        if not needs and waiver is not None and waiver.get("expires_on") is None:
            latest = rules.rule.latest_expiry(today())
            waiver = {**waiver, "expires_on": latest.isoformat()}
    if not needs:
        return status, waiver, reason
    held = held_status(item)
    wait = f"the item is {held.replace('_', ' ')}, not {status}: it needs {' and '.join(needs)}"
    return held, item.waiver, f"{reason}; {wait}" if reason else wait


def held_status(item: ChecklistItem) -> str:
    """The status an item keeps when a ticketing system cannot close or waive it alone."""
    return (
        item.status
        if item.status in (ItemStatus.IN_PROGRESS, ItemStatus.DONE, ItemStatus.WAIVED)
        else ItemStatus.IN_PROGRESS
    )


def system_needs(
    session: Session,
    project: Project,
    checklist: Checklist,
    item: ChecklistItem,
    status: str,
    signed_off_by: str | None = None,
) -> list[str]:
    """What a ticketing system cannot give `item` to make it `status` (an independent
    sign-off, unless its sender gives it as `signed_off_by`; evidence; an independent
    approver of its waiver), in words; empty when its change goes through. `update_item`
    holds such a change by the same rule."""
    rules = ItemRules(session, checklist, project, item)
    if status == ItemStatus.DONE and item.status != ItemStatus.DONE:
        # An item that is not done has no sign-off (leaving done clears it).
        return rules.missing_for_done(signed_off_by, item.evidence or [])
    if status == ItemStatus.WAIVED and item.status != ItemStatus.WAIVED:
        return rules.waiver_needs()
    return []


class ItemRules:
    """The independence rules of one item: who may sign it off or approve its waiver, and
    what it needs to be done. Messages name the rule and the roles."""

    def __init__(
        self, session: Session, checklist: Checklist, project: Project, item: ChecklistItem
    ) -> None:
        self.session = session
        self.project = project
        self.item = item
        catalog = catalog_for(session, checklist.catalog_version)
        self.titles = {r.key: r.title for r in catalog.roles}
        self.catalog = catalog

    @property
    def policy(self) -> WaiverPolicy:
        """The waiver policy of the catalog in use (read when a waiver is at stake)."""
        return policy_of(self.catalog)

    @property
    def rule(self) -> WaiverRule:
        """The waiver policy's rule of the item's priority."""
        return self.policy.rule_for(self.item.priority)

    @property
    def accountable_roles(self) -> tuple[str, ...]:
        """Who accepts risks: they approve the waiver of an item that names no reviewer."""
        return self.policy.accountable_roles

    @property
    def reviewer_roles(self) -> tuple[str, ...]:
        """Who may sign the item off on this project: its reviewer roles, routed as the
        generator routes them (an item generated before routing is held to it too)."""
        return self._routed(self.item.reviewer_roles)

    def _routed(self, roles: Sequence[str]) -> tuple[str, ...]:
        return self.catalog.route(roles, self._playing)

    @cached_property
    def _playing(self) -> frozenset[str]:
        """The roles the project has: those its context requires, and those it staffs."""
        project = self.project
        facts = stated_facts(
            project.application,
            project.traits,
            project.risk_classification,
            project.jurisdictions,
        )
        staffed = self.session.scalars(
            select(Assignment.role_key).where(Assignment.project_id == project.id).distinct()
        )
        return frozenset(required_roles(self.catalog, facts)) | frozenset(staffed)

    def _policy_approvers(self, rule: WaiverRule) -> tuple[str, ...]:
        """The roles the policy asks of the approver under `rule` (a critical item's: the
        accountable roles), routed for this project: the Accountable Executive alone where
        the project's context requires one or it is staffed (`Catalog.route`); empty: the
        item's reviewer roles."""
        return self._routed(self.policy.approver_roles(rule))

    def _names(self, roles: Sequence[str]) -> str:
        return " or ".join(self.titles.get(r, r) for r in roles)

    def _someone(self, roles: Sequence[str]) -> str:
        """`an AI Ethicist or Product Manager`: who may act, with the article of the first."""
        names = self._names(roles)
        return f"{'an' if names[:1] in ('A', 'E', 'I', 'O') else 'a'} {names}"

    def missing_for_done(self, signed_off_by: str | None, evidence: list[Any]) -> list[str]:
        """What the item lacks to be done, in the words a held delivery and its event use."""
        missing = []
        if self.item.signoff_required and signed_off_by is None:
            missing.append(f"an independent sign-off by {self._someone(self.reviewer_roles)}")
        if self.item.evidence_required and not evidence:
            missing.append("evidence (at least one link)")
        return missing

    def _approver_roles(self, rule: WaiverRule) -> Sequence[str]:
        return self._policy_approvers(rule) or self.reviewer_roles or self.accountable_roles

    def check_waivable(self, field_name: str) -> None:
        """422 when the waiver policy never lets this item be waived, naming the rule."""
        because = self.policy.never_waived_because(self.item.key)
        if because is not None:
            raise ValidationFailed(
                f"This item cannot be waived: the waiver policy never waives it, because {because}",
                errors={field_name: ["This item is never waived (waiver policy: never_waived)."]},
            )

    def waiver_needs(self) -> list[str]:
        """What a ticketing system cannot give a waiver of this item, in words (empty when it
        may waive it): an approver, and for high and critical items the residual risk and
        an expiry a person states; nothing can waive an item the policy never waives."""
        if self.policy.never_waived_because(self.item.key) is not None:
            return ["nothing that waives it: the waiver policy never waives it"]
        rule = self.rule
        if not approver_required(rule, self.item.signoff_required):
            return []
        who = self._someone(self._approver_roles(rule))
        needs = [f"an independent approval of its waiver by {who}"]
        if rule.residual_risk_required:
            needs.append(
                f"the residual risk it accepts and an expiry within {rule.max_days} days "
                f"(the waiver policy of {rule.priority} items)"
            )
        return needs

    def check_done(
        self, signed_off_by: str | None, links: list[Any], *, signoff: bool, evidence: bool
    ) -> None:
        errors: dict[str, list[str]] = {}
        if signoff and self.item.signoff_required and signed_off_by is None:
            errors["signed_off_by"] = [
                "Required: this item is done only with the sign-off of a person of the team "
                "who does not own it and holds "
                + self._names(self.reviewer_roles)
                + " on the project (independent sign-off), made with their personal API key."
            ]
        if evidence and self.item.evidence_required and not links:
            errors["evidence"] = [
                "Required: this item is done only with at least one evidence link "
                '(`"evidence": {"add": [{"title": ..., "url": ...}]}`).'
            ]
        if errors:
            rules = " and ".join(
                {"signed_off_by": "an independent sign-off", "evidence": "evidence"}[f]
                for f in errors
            )
            raise ValidationFailed(f"This item can be done only with {rules}.", errors=errors)

    def check_independent(
        self, field_name: str, person_id: str, act: str, roles: Sequence[str] = ()
    ) -> Person:
        """The person exists in the team, does not own the item, and holds one of the roles
        that may `act`: `roles` when given, else the item's reviewer roles (for a waiver of
        an item without any, the roles that accept risks)."""
        roles = list(roles) or list(self.reviewer_roles) or list(self.accountable_roles)
        person = self.session.get(Person, person_id)
        if person is None or person.team_id != self.project.team_id:
            raise ValidationFailed(
                f"No person '{person_id}' in this team.",
                errors={field_name: ["No such person in this team."]},
            )
        owners = set(
            self.session.scalars(
                select(ChecklistItemOwner.person_id).where(
                    ChecklistItemOwner.item_id == self.item.id
                )
            )
        )
        if person.id in owners:
            raise ValidationFailed(
                f"{person.name} owns this item and cannot {act}: the rule is independence, "
                "someone who does not own the item must.",
                errors={field_name: ["Must not be an owner of the item (independence)."]},
            )
        held = set(
            self.session.scalars(
                select(Assignment.role_key).where(
                    Assignment.project_id == self.project.id, Assignment.person_id == person.id
                )
            )
        )
        if not held & set(roles):
            holds = self._names(sorted(held)) if held else "no role"
            raise ValidationFailed(
                f"{person.name} cannot {act}: it takes someone who holds {self._names(roles)} "
                f"on this project, and {person.name} holds {holds}.",
                errors={
                    field_name: [f"Must hold {self._names(roles)} on this project."],
                },
            )
        return person

    def refusal(self, person_id: str) -> str | None:
        """Why the person may not sign the item off (the independence rule they break, in a
        sentence), or None when they may."""
        try:
            self.check_independent("signed_off_by", person_id, "sign it off")
        except ValidationFailed as refused:
            return refused.detail
        return None

    def approve_waiver(
        self, waiver: dict[str, Any], ctx: Context, *, by_system: bool
    ) -> dict[str, Any]:
        """A new or changed waiver, with its approver's name and the key they approved with,
        once it keeps the waiver policy of the item's priority (a person's; a ticketing
        system's was held or completed by `as_far_as_a_system_may`) and its approver is
        independent; 422 naming each broken rule otherwise. An approver the policy needs and
        the waiver leaves out is the person the caller is (none, for a team key)."""
        rule = self.rule
        approver = waiver.get("approved_by")
        needed = approver_required(rule, self.item.signoff_required)
        if approver is None and not by_system and needed:
            approver = ctx.person_id
        if not by_system:
            errors = policy_errors(rule, waiver, today())
            if approver is None and needed:
                errors["waiver.approved_by"] = [self._approver_rule(rule)]
            if errors:
                raise ValidationFailed(
                    f"This waiver breaks the waiver policy of {rule.priority} items: "
                    + " ".join(message for messages in errors.values() for message in messages),
                    errors=errors,
                )
        if approver is None:
            return waiver
        person = self.check_independent(
            "waiver.approved_by", approver, "approve its waiver", self._policy_approvers(rule)
        )
        return {
            **waiver,
            "approved_by": person.id,
            "approver_name": person.name,
            "approved_with": ctx.signed_with,
        }

    def _approver_rule(self, rule: WaiverRule) -> str:
        roles = self._names(self._approver_roles(rule))
        if rule.approver == Approver.AS_THE_ITEM_NEEDS:
            # The independence rule of an item that needs a sign-off, as it always was.
            return (
                "Required: the approval of a person who does not own the item and holds "
                f"{roles} on the project, made with their personal API key."
            )
        accountable = " (an accountable role)" if self._policy_approvers(rule) else ""
        return (
            f"Required: {rule.waiver_of} is approved by a person who does not own the item "
            f"and holds {roles}{accountable} on the project (policy)."
        )
