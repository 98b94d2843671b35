"""Regenerating stored checklists in batches: items read as rows, compared with what the generator
gives (`regeneration_diff`), and the difference written with one statement per kind of change for
all the checklists (`regeneration_writes`).

Each checklist keeps its items' state by key (see `app.services.checklists.refresh`). A checklist
can be regenerated whole, or within a scope: the keys whose content may have changed, where every
other item can only have moved (the over-allocation findings of the people whose allocation on
another project changed). A scoped regeneration reads the other items' position and status only;
when the stored checklist is not what its inputs give outside the scope (another catalog version,
a waiver due, an item missing), it is regenerated whole instead, so either way it ends up exactly
as a whole regeneration leaves it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.metrics import REGENERATIONS
from app.models import ChecklistItem
from app.services.catalog.model import Catalog
from app.services.checklists.documents import load_owners, project_facts
from app.services.checklists.generator import GeneratorSettings, generate_checklist
from app.services.checklists.regeneration_diff import (
    RegenerationDiff,
    StoredItem,
    Target,
    compare,
    read_items,
)
from app.services.checklists.regeneration_writes import carry_state, write_checklists, write_items
from app.services.checklists.waivers import expire_waivers, waivers_due
from app.services.context import Context
from app.services.staffing.reads import active_allocations, elsewhere_of, staffing_of
from app.vocabulary import ItemStatus


def regenerate(
    session: Session,
    ctx: Context,
    catalog: Catalog,
    settings: GeneratorSettings,
    targets: Sequence[Target],
) -> None:
    """Regenerate these checklists (their locks held) in one pass: a handful of reads for all of
    them, then one write per kind of change."""
    targets = [_whole_if_stale(session, ctx, catalog, t) for t in targets]
    if not targets:
        return
    staffing = staffing_of(session, [t.project.id for t in targets])
    allocations = active_allocations(
        session, {e.member.ref for entries in staffing.values() for e in entries}
    )
    generated = {
        t.project.id: generate_checklist(
            catalog,
            project_facts(t.project),
            staffing.get(t.project.id, []),
            allocation_elsewhere=elsewhere_of(allocations, t.project.id),
            settings=settings,
        )
        for t in targets
    }
    diffs: dict[str, tuple[Target, RegenerationDiff, dict[str, StoredItem]]] = {}
    pending = list(targets)
    while pending:
        stored, owner_ids = read_items(session, pending)
        retry = []
        for target in pending:
            items = stored.get(target.checklist.id, {})
            diff = compare(target, generated[target.project.id], items, owner_ids)
            if diff is None:
                # Not what its inputs give outside the scope: regenerate it whole.
                retry.append(Target(target.project, target.checklist, target.created))
            else:
                diffs[target.project.id] = (target, diff, items)
        pending = retry
    carry_state(session, [diff for _, diff, _ in diffs.values()])
    written = []
    for target, diff, items in diffs.values():
        if target.created or diff or target.checklist.catalog_version != catalog.version:
            written.append((target, diff, items))
            REGENERATIONS.labels("changed").inc()
        else:
            REGENERATIONS.labels("unchanged").inc()
    write_items(session, [diff for _, diff, _ in written])
    write_checklists(session, ctx, catalog, written)


def _whole_if_stale(session: Session, ctx: Context, catalog: Catalog, target: Target) -> Target:
    """The target, whole when a scope cannot hold: another catalog version, or waivers due
    (reopened here first, as a whole regeneration does, through the items' workflow)."""
    checklist = target.checklist
    if waivers_due(checklist):
        items = list(
            session.scalars(
                select(ChecklistItem)
                .where(
                    ChecklistItem.checklist_id == checklist.id,
                    ChecklistItem.status == ItemStatus.WAIVED,
                )
                .execution_options(populate_existing=True)
            )
        )
        expire_waivers(session, ctx, checklist, items, load_owners(session, checklist))
        session.flush()
        return Target(target.project, checklist, target.created)
    if target.scope is not None and checklist.catalog_version != catalog.version:
        return Target(target.project, checklist, target.created)
    return target
