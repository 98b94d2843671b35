"""The `checklist.item.*` events of one checklist's items, made the one way every writer makes
them: the item's snapshot (its JSON form, role titles, absolute links) and a ready ticket text,
from the checklist's catalog and the project read once for all the items a change touches."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session

from app.models import Checklist, ChecklistItem, Project
from app.services.catalog.store import catalog_for
from app.services.checklists.documents import item_event_data, item_snapshot
from app.services.context import Context
from app.services.events import record_event
from app.services.shares import ticket_share_url


class ItemEvents:
    """Records the events of items of `checklist` (of `project`) in the session."""

    def __init__(
        self, session: Session, ctx: Context, project: Project, checklist: Checklist
    ) -> None:
        self.session = session
        self.ctx = ctx
        self.project = project
        self.catalog = catalog_for(session, checklist.catalog_version)
        self.titles = {role.key: role.title for role in self.catalog.roles}

    def snapshot(self, item: ChecklistItem, owners: list[dict[str, Any]]) -> dict[str, Any]:
        """What the events say of the item as it is now (written: its version is the new one)."""
        return item_snapshot(
            item,
            owners,
            self.project,
            role_titles=self.titles,
            base_url=self.ctx.settings.public_base_url,
            share_url=self.share_url,
        )

    @cached_property
    def share_url(self) -> str | None:
        """The project's ticket link, read once for all the items of the change."""
        base_url = self.ctx.settings.public_base_url
        return ticket_share_url(self.session, base_url, self.project.id)

    def record(
        self,
        item: ChecklistItem,
        type_: str,
        snapshot: dict[str, Any],
        before: Mapping[str, Any],
        fields: tuple[str, ...],
        *,
        reason: str | None = None,
        source: str | None = None,
        actor: str | None = None,
    ) -> None:
        """One event of `type_`: `fields` as they were (`before`) and are (`snapshot`), why
        (`reason`), the ticketing system that changed it (`source`), and who when not the
        context's actor (`actor`: the system, for a lapse)."""
        data = item_event_data(
            self.project,
            self.catalog,
            snapshot,
            before={f: before[f] for f in fields},
            after={f: snapshot[f] for f in fields},
            reason=reason,
            source=source,
        )
        record_event(
            self.session,
            self.ctx,
            item.team_id,
            type_,
            data,
            project_id=item.project_id,
            actor=actor,
        )
