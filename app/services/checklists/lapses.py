"""Waivers that have lapsed, as a read sees them: time changes them, a read never writes.

A waiver given until a date stops holding the day after it. From then on every read shows
its item as it will be once the lapse is recorded (`open`), with the waiver still shown and
marked `expired: true`, so a reader sees why the item is open again. The lapse is recorded,
with its event, by the next write to the checklist or by the delivery worker
(`app.services.checklists.waivers`); a read only computes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from app.vocabulary import ItemStatus


def today() -> date:
    """The day waivers are judged by (UTC)."""
    return datetime.now(UTC).date()


def waiver_lapsed(status: str, waiver: Mapping[str, Any] | None, on: date | None = None) -> bool:
    """Whether an item in `status` with `waiver` is waived by a waiver whose day has passed."""
    if status != ItemStatus.WAIVED or not waiver or not waiver.get("expires_on"):
        return False
    return date.fromisoformat(waiver["expires_on"]) < (on or today())


def as_read(status: str, waiver: Mapping[str, Any] | None) -> tuple[str, dict[str, Any] | None]:
    """The status and waiver a read shows: a lapsed waiver's item is open, its waiver marked
    expired."""
    if waiver_lapsed(status, waiver):
        return ItemStatus.OPEN, {**(waiver or {}), "expired": True}
    return status, dict(waiver) if waiver is not None else None
