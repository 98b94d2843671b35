"""The independence rules of a checklist item: who may sign it off or approve its waiver,
what it needs to be done, and what a ticketing system cannot give it alone (then its change is
held, and says what the item needs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import ValidationFailed
from app.models import Assignment, Checklist, ChecklistItem, ChecklistItemOwner, Person, Project
from app.services.catalog.store import catalog_for
from app.vocabulary import ItemStatus

# Who may approve the waiver of an item that names no reviewer roles: those who accept risks.
WAIVER_APPROVER_ROLES: tuple[str, ...] = ("product-manager", "ai-ethicist")


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
    the status it has), and the reason says what it still needs."""
    needs: list[str] = []
    if status == ItemStatus.DONE and item.status != ItemStatus.DONE:
        needs = rules.missing_for_done(signed_off_by, evidence)
    elif status == ItemStatus.WAIVED and waiver != item.waiver and item.signoff_required:
        needs = [rules.waiver_approval()]
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
    session: Session, project: Project, checklist: Checklist, item: ChecklistItem, status: str
) -> list[str]:
    """What a ticketing system cannot give `item` to make it `status` (an independent
    sign-off, evidence, an independent approver of its waiver), in words; empty when its
    change goes through. `update_item` holds such a change by the same rule."""
    rules = ItemRules(session, checklist, project, item)
    if status == ItemStatus.DONE and item.status != ItemStatus.DONE:
        # An item that is not done has no sign-off (leaving done clears it).
        return rules.missing_for_done(None, item.evidence or [])
    if status == ItemStatus.WAIVED and item.status != ItemStatus.WAIVED and item.signoff_required:
        return [rules.waiver_approval()]
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
            missing.append(f"an independent sign-off by {self._someone(self.item.reviewer_roles)}")
        if self.item.evidence_required and not evidence:
            missing.append("evidence (at least one link)")
        return missing

    def waiver_approval(self) -> str:
        return f"an independent approval of its waiver by {self._someone(self.item.reviewer_roles)}"

    def check_done(
        self, signed_off_by: str | None, links: list[Any], *, signoff: bool, evidence: bool
    ) -> None:
        errors: dict[str, list[str]] = {}
        if signoff and self.item.signoff_required and signed_off_by is None:
            errors["signed_off_by"] = [
                "Required: this item is done only with the sign-off of a person of the team "
                "who does not own it and holds "
                + self._names(self.item.reviewer_roles)
                + " on the project (independent sign-off)."
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

    def check_independent(self, field_name: str, person_id: str, act: str) -> Person:
        """The person exists in the team, does not own the item, and holds one of the roles
        that may `act` (the item's reviewer roles; for a waiver of an item without any, the
        roles that accept risks)."""
        roles = list(self.item.reviewer_roles) or list(WAIVER_APPROVER_ROLES)
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

    def approve_waiver(self, waiver: dict[str, Any], *, by_system: bool) -> dict[str, Any]:
        approver = waiver.get("approved_by")
        if approver is None:
            if self.item.signoff_required and not by_system:
                raise ValidationFailed(
                    "Waiving this item accepts a risk that needs an independent approver.",
                    errors={
                        "waiver.approved_by": [
                            "Required: the id of a person who does not own the item and holds "
                            + self._names(self.item.reviewer_roles)
                            + " on the project."
                        ]
                    },
                )
            return waiver
        person = self.check_independent("waiver.approved_by", approver, "approve its waiver")
        return {**waiver, "approved_by": person.id, "approver_name": person.name}
