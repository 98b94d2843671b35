"""A checklist's summary: how many items there are of each status and kind, and the percent
done."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from app.vocabulary import ItemKind, ItemStatus, values

KINDS: tuple[str, ...] = values(ItemKind)
STATUSES: tuple[str, ...] = values(ItemStatus)


def summarize(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts by status and kind of rendered item dicts, and the percent done.

    Waived and obsolete items do not count toward the percentage: it is done / (total - waived -
    obsolete), 100 when nothing is left to do, 0 for an empty checklist.
    """
    return summary_of(Counter((item.get("status", "open"), item.get("kind")) for item in items))


def summary_of(counts: Mapping[tuple[str, str | None], int]) -> dict[str, Any]:
    """`summarize`'s figures from how many items there are of each (status, kind)."""
    statuses: Counter[str] = Counter()
    kinds: Counter[str | None] = Counter()
    for (status, kind), n in counts.items():
        statuses[status] += n
        kinds[kind] += n
    total = sum(statuses.values())
    remaining = total - statuses["waived"] - statuses["obsolete"]
    if total == 0:
        percent = 0
    elif remaining <= 0:
        percent = 100
    else:
        percent = min(100, max(0, round(100 * statuses["done"] / remaining)))
    return {
        "total": total,
        "by_status": {status: statuses[status] for status in STATUSES},
        "by_kind": {kind: kinds[kind] for kind in KINDS},
        "percent_done": percent,
    }
