"""Staffing reports: role coverage and findings of a project, and the team's over-allocated
people."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.schemas.checklists import ProjectHeaderOut
from app.schemas.common import enum_field
from app.schemas.items import OwnerOut
from app.vocabulary import FindingKind, Priority


class MemberOut(OwnerOut):
    """A person as the staffing engine holds them (`checklists.facts.Member`), shown as an
    owner is."""

    @ma.pre_dump
    def as_owner(self, member: Any, **_: Any) -> dict[str, Any]:
        return member.as_owner()


class HolderOut(OwnerOut):
    """A person holding a role on the project (a `StaffingEntry`)."""

    allocation = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "Percent of their time"}
    )
    lead = ma.fields.Boolean(required=True)

    @ma.pre_dump
    def as_holder(self, entry: Any, **_: Any) -> dict[str, Any]:
        return {**entry.member.as_owner(), "allocation": entry.allocation, "lead": entry.lead}


class RoleCoverageOut(ma.Schema):
    role = ma.fields.String(required=True, attribute="role_key")
    title = ma.fields.String(required=True)
    required = ma.fields.Boolean(required=True)
    required_because = ma.fields.List(ma.fields.String(), required=True)
    holders = ma.fields.List(ma.fields.Nested(HolderOut), required=True)


class FindingOut(ma.Schema):
    key = ma.fields.String(required=True)
    kind = enum_field(FindingKind, required=True)
    title = ma.fields.String(required=True)
    detail = ma.fields.String(required=True)
    done_when = ma.fields.String(required=True)
    roles = ma.fields.List(ma.fields.String(), required=True)
    people = ma.fields.List(
        ma.fields.Nested(MemberOut),
        required=True,
        metadata={"description": "The people the finding is about"},
    )
    priority = enum_field(Priority, required=True)
    because = ma.fields.List(ma.fields.String(), required=True)


class StaffingReportOut(ma.Schema):
    project = ma.fields.Nested(ProjectHeaderOut, required=True)
    roles = ma.fields.List(ma.fields.Nested(RoleCoverageOut), required=True)
    findings = ma.fields.List(ma.fields.Nested(FindingOut), required=True)


class AllocationOut(ma.Schema):
    """One project of an over-allocated person's breakdown (a `(slug, percent)` pair)."""

    project = ma.fields.String(required=True, metadata={"description": "The project's slug"})
    allocation = ma.fields.Integer(required=True, metadata={"description": "Percent"})

    @ma.pre_dump
    def from_pair(self, pair: tuple[str, int], **_: Any) -> dict[str, Any]:
        slug, percent = pair
        return {"project": slug, "allocation": percent}


class OverAllocationOut(ma.Schema):
    person = ma.fields.Nested(MemberOut, required=True, attribute="member")
    total = ma.fields.Integer(required=True, metadata={"description": "Percent, over 100"})
    projects = ma.fields.List(ma.fields.Nested(AllocationOut), required=True, attribute="breakdown")


class TeamStaffingOut(ma.Schema):
    """A page of the team's active projects, and the team's over-allocated people."""

    projects = ma.fields.List(ma.fields.Nested(StaffingReportOut), required=True)
    over_allocated = ma.fields.List(
        ma.fields.Nested(OverAllocationOut),
        required=True,
        metadata={"description": "Across all the team's active projects, on every page"},
    )
    next_cursor = ma.fields.String(required=True, allow_none=True)
