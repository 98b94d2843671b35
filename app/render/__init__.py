"""Checklist renderers: pure functions from a checklist's JSON form (a dict) to text formats."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Format name (the `?format=` value) -> the media type it is served as.
FORMATS: Mapping[str, str] = {
    "json": "application/json",
    "markdown": "text/markdown",
    "csv": "text/csv",
    "text": "text/plain",
}

KIND_SECTIONS: tuple[tuple[str, str], ...] = (
    ("responsibility", "Responsibilities"),
    ("collaboration", "Collaborations"),
    ("mitigation", "Mitigations"),
    ("staffing", "Staffing"),
)
OBSOLETE_SECTION = "Obsolete"

Item = Mapping[str, Any]


@dataclass
class Section:
    """A part of a rendered checklist: a title and its items, in groups (`None`: no sub-title)."""

    title: str
    groups: dict[str | None, list[Item]] = field(default_factory=dict)

    def add(self, group: str | None, item: Item) -> None:
        self.groups.setdefault(group, []).append(item)


def render(doc: Mapping[str, Any], fmt: str) -> str:
    """Render a checklist document as `fmt` (one of FORMATS); ValueError for anything else."""
    return _renderer(fmt)(doc)


def _renderer(fmt: str) -> Callable[[Mapping[str, Any]], str]:
    # Imported here: the submodules use this module's helpers.
    from app.render import csvfile, markdown, text

    renderers: dict[str, Callable[[Mapping[str, Any]], str]] = {
        "json": _render_json,
        "markdown": markdown.render_markdown,
        "csv": csvfile.render_csv,
        "text": text.render_text,
    }
    try:
        return renderers[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})") from None


def _render_json(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n"


def sections(items: Sequence[Item]) -> list[Section]:
    """Items by kind (in KIND_SECTIONS order), obsolete items last; item order is kept.

    Responsibilities are grouped by role and mitigations by challenge.
    """
    by_kind = {kind: Section(title) for kind, title in KIND_SECTIONS}
    extra: dict[str, Section] = {}
    obsolete = Section(OBSOLETE_SECTION)
    for item in items:
        kind = str(item.get("kind") or "other")
        if item.get("status") == "obsolete":
            obsolete.add(None, item)
            continue
        section = by_kind.get(kind) or extra.setdefault(kind, Section(kind.title()))
        section.add(_group(item), item)
    result = [*by_kind.values(), *extra.values(), obsolete]
    return [section for section in result if section.groups]


def _group(item: Item) -> str | None:
    if item.get("kind") == "responsibility":
        return first(item.get("role_titles")) or first(item.get("roles")) or None
    if item.get("kind") == "mitigation":
        source = item.get("source") or {}
        return source.get("challenge_title") or source.get("challenge") or None
    return None


def first(values: Sequence[Any] | None) -> Any:
    return values[0] if values else None


def owner_names(item: Item) -> list[str]:
    return [str(owner.get("name") or owner.get("id") or "") for owner in item.get("owners") or ()]


def owner_emails(item: Item) -> list[str]:
    return [str(owner["email"]) for owner in item.get("owners") or () if owner.get("email")]


def progress(summary: Mapping[str, Any] | None) -> str:
    """`40% done (4 of 10 items done, 1 in progress, 5 open, 0 waived, 0 obsolete)`."""
    summary = summary or {}
    counts = summary.get("by_status") or {}
    total = summary.get("total", 0)
    return (
        f"{summary.get('percent_done', 0)}% done ({counts.get('done', 0)} of {total} items done, "
        f"{counts.get('in_progress', 0)} in progress, {counts.get('open', 0)} open, "
        f"{counts.get('waived', 0)} waived, {counts.get('obsolete', 0)} obsolete)"
    )


def ticket_label(ticket: Mapping[str, Any] | None) -> str | None:
    """A ticket link's key, else its URL, else None."""
    if not ticket:
        return None
    return str(ticket.get("key") or ticket.get("url") or "") or None
