"""The team dashboard as the API answers it (`app.services.staffing.dashboard.Dashboard`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import marshmallow as ma

from app.schemas.checklists import FormatQuery
from app.schemas.common import enum_field
from app.schemas.staffing import AllocationOut, FindingOut, MemberOut
from app.vocabulary import CoverageState, ItemStatus, Priority, values


class DashboardQuery(FormatQuery):
    """Only `json` and `html` are offered: any other format is a 406."""

    format = ma.fields.String(
        metadata={"description": "`json` or `html`; else by `Accept`", "enum": ["json", "html"]}
    )


def _counts(keys: Sequence[str], description: str) -> ma.fields.Dict:
    return ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.OneOf(keys)),
        values=ma.fields.Integer(),
        required=True,
        metadata={"description": description},
    )


class GateOut(ma.Schema):
    key = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    priority = enum_field(Priority, required=True)
    status = enum_field(ItemStatus, required=True, metadata={"description": "As a read shows it"})


class ExpiringWaiverOut(ma.Schema):
    key = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    expires_on = ma.fields.Date(required=True)


class DashboardProjectOut(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    slug = ma.fields.String(required=True)
    has_checklist = ma.fields.Boolean(required=True)
    by_status = _counts(values(ItemStatus), "The checklist's items by status, as a read shows them")
    by_priority = _counts(values(Priority), "The items that are not obsolete, by priority")
    open_gates = ma.fields.List(
        ma.fields.Nested(GateOut),
        required=True,
        metadata={
            "description": "Critical and high items that repeat or need a sign-off and are "
            "neither done, waived nor obsolete; critical first"
        },
    )
    unsigned_gates = ma.fields.List(
        ma.fields.Nested(GateOut),
        required=True,
        metadata={"description": "Items that need a sign-off and have none (waived ones aside)"},
    )
    expiring_waivers = ma.fields.List(
        ma.fields.Nested(ExpiringWaiverOut),
        required=True,
        metadata={"description": "Waivers that end within 30 days, soonest first"},
    )
    findings = ma.fields.List(ma.fields.Nested(FindingOut), required=True)

    @ma.pre_dump
    def flatten(self, entry: Any, **_: Any) -> dict[str, Any]:
        project = entry.project
        return {
            "id": project.id,
            "name": project.name,
            "slug": project.slug,
            "has_checklist": entry.has_checklist,
            "by_status": entry.by_status,
            "by_priority": entry.by_priority,
            "open_gates": entry.open_gates,
            "unsigned_gates": entry.unsigned_gates,
            "expiring_waivers": entry.expiring_waivers,
            "findings": entry.report.findings,
        }


class CoverageCellOut(ma.Schema):
    project_id = ma.fields.String(required=True)
    state = enum_field(CoverageState, required=True)
    holders = ma.fields.List(
        ma.fields.String(), required=True, metadata={"description": "The holders' names"}
    )


class CoverageRowOut(ma.Schema):
    role = ma.fields.String(required=True, attribute="role_key")
    title = ma.fields.String(required=True)
    projects = ma.fields.List(
        ma.fields.Nested(CoverageCellOut),
        required=True,
        attribute="cells",
        metadata={"description": "One cell per active project, in `projects`' order"},
    )


class LoadOut(ma.Schema):
    person = ma.fields.Nested(MemberOut, required=True, attribute="member")
    total = ma.fields.Integer(
        required=True, metadata={"description": "Percent, summed across the active projects"}
    )
    over_allocated = ma.fields.Boolean(required=True, attribute="over")
    projects = ma.fields.List(ma.fields.Nested(AllocationOut), required=True, attribute="breakdown")


class DashboardOut(ma.Schema):
    """The team's active projects (by name) and, across them, role coverage and loads."""

    on = ma.fields.Date(required=True, metadata={"description": "The day it was judged on (UTC)"})
    projects = ma.fields.List(ma.fields.Nested(DashboardProjectOut), required=True)
    coverage = ma.fields.List(ma.fields.Nested(CoverageRowOut), required=True)
    # Not `loads` (nor `load`): a field of that name would hide the Schema's method.
    people = ma.fields.List(
        ma.fields.Nested(LoadOut),
        required=True,
        attribute="loads",
        metadata={"description": "Each person on an active project and their load, heaviest first"},
    )
