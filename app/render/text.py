"""Plain-text renderer: readable in a 100-column terminal, no colours, no control characters."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from typing import Any

from app.render.layout import (
    DEFAULT_LAYOUT,
    REGISTER_INTRO,
    REGISTER_TITLE,
    Item,
    Layout,
    approver,
    context_entries,
    evidence_links,
    lapsed,
    model_source_of,
    owner_names,
    phase_title,
    progress,
    references,
    register_lines,
    release_gate,
    release_line,
    sections,
    selection,
    signoff,
    ticket_label,
)
from app.vocabulary import ItemStatus

WIDTH = 100
MARKERS: Mapping[str, str] = {
    "open": "[ ]",
    "in_progress": "[~]",
    "done": "[x]",
    "waived": "[-]",
    "obsolete": "[/]",
}
LEGEND = "Legend: [ ] open  [~] in progress  [x] done  [-] waived  [/] obsolete"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_ITEM_INDENT = " " * 6
_DETAIL_INDENT = " " * 8


def clean(value: Any) -> str:
    """One line of text with control characters (terminal escapes, newlines) removed."""
    return _CONTROL.sub(" ", "" if value is None else str(value)).strip()


def render_text(doc: Mapping[str, Any], layout: Layout = DEFAULT_LAYOUT) -> str:
    """The checklist as plain text, sections underlined, details wrapped at 100 columns;
    `layout.compact` gives one line an item."""
    lines = _header(doc) + _context(doc)
    items = doc.get("items") or []
    if not items:
        lines += ["", "No items match the filters." if doc.get("filters") else "No items."]
    for section in sections(items, layout.group_by, layout.role_order):
        title = section.title.upper()
        lines += ["", title, "=" * len(title)]
        for group, group_items in section.groups.items():
            if group is not None:
                group_title = clean(group)
                lines += ["", f"  {group_title}", "  " + "-" * len(group_title)]
            if layout.compact:
                lines.append("")
            render_item = _compact_line if layout.compact else _item_lines
            for item in group_items:
                lines += render_item(item, layout)
    lines += _register(doc, layout)
    return "\n".join(lines) + "\n"


def _register(doc: Mapping[str, Any], layout: Layout) -> list[str]:
    """The risk register, after the items: a risk, its status, and what it rests on (the
    status alone in the compact layout)."""
    entries = register_lines(doc)
    if not entries:
        return []
    title = REGISTER_TITLE.upper()
    lines = ["", title, "=" * len(title), *_wrap(REGISTER_INTRO)]
    if layout.compact:
        lines.append("")
    for entry in entries:
        head = _wrap(f"{entry.section} {clean(entry.risk)}: {entry.status}", "  ", "    ")
        if layout.compact:
            lines += head
            continue
        lines += ["", *head]
        if entry.items:
            lines += _wrap("by: " + ", ".join(clean(k) for k in entry.items), "    ", "      ")
        for key, residual in entry.accepted:
            said = f"waived: {clean(key)}" + (
                f"; residual risk: {clean(residual)}" if residual else ""
            )
            lines += _wrap(said, "    ", "      ")
        if entry.reason:
            lines += _wrap(clean(entry.reason), "    ", "    ")
    return lines


def _wrap(text: str, first: str = "", rest: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    ) or [first.rstrip()]


def _context(doc: Mapping[str, Any]) -> list[str]:
    """The project's context, first of all: what it is for, and what it must not be used for."""
    entries = context_entries(doc)
    if not entries:
        return []
    lines = ["", "CONTEXT", "======="]
    for label, values in entries:
        shown = "; ".join(clean(v) for v in values) if values else "(not stated)"
        lines += _wrap(f"{label}: {shown}", "  ", "    ")
    return lines


def _header(doc: Mapping[str, Any]) -> list[str]:
    project = doc.get("project") or {}
    revision = doc.get("revision")
    traits = ", ".join(clean(t) for t in project.get("traits") or ()) or "none"
    lines = _wrap(f"CHECKLIST: {clean(project.get('name') or 'untitled project')}")
    lines += _wrap(
        f"Project: {clean(project.get('slug')) or '(preview)'} | "
        f"Application: {clean(project.get('application') or 'other')} | Traits: {traits} | "
        f"Model source: {clean(model_source_of(project))}",
        rest="  ",
    )
    generated = f" | Generated: {clean(doc['generated_at'])}" if doc.get("generated_at") else ""
    lines += _wrap(
        f"Revision: {revision if revision is not None else 'preview'} | "
        f"Catalog: {clean(doc.get('catalog_version') or 'unknown')}{generated}",
        rest="  ",
    )
    release = release_line(doc)
    if release:
        lines += _wrap(f"Release: {clean(release)}", rest="  ")
    selected = selection(doc)
    if selected is None:
        return [*lines, f"Progress: {progress(doc.get('summary'))}", LEGEND]
    lines += _wrap(f"Filtered by: {selected.describe(clean, clean)}", rest="  ")
    lines += _wrap(f"Progress of the shown items: {progress(selected.shown)}", rest="  ")
    lines += _wrap(f"Progress of the whole checklist: {progress(selected.whole)}", rest="  ")
    return [*lines, LEGEND]


def _compact_line(item: Item, layout: Layout) -> list[str]:
    status = item.get("status") or "open"
    marker = MARKERS.get(status, "[?]")
    title = clean(item.get("title") or item.get("key"))
    parts = [
        f"{title} ({clean(item.get('priority') or 'medium')})",
        ", ".join(clean(n) for n in owner_names(item)) or "unassigned",
        clean(item.get("key")),
    ]
    if layout.group_by != "phase" and item.get("phase"):
        parts.insert(2, clean(phase_title(item)))
    if status == ItemStatus.WAIVED:
        parts.append(_waiver(item.get("waiver")))
    return _wrap(" | ".join(parts), f"  {marker} ", _ITEM_INDENT)


def _item_lines(item: Item, layout: Layout) -> list[str]:
    status = item.get("status") or "open"
    marker = MARKERS.get(status, "[?]")
    title = clean(item.get("title") or item.get("key"))
    suffix = f" ({clean(item.get('priority') or 'medium')}"
    suffix += ", in progress)" if status == ItemStatus.IN_PROGRESS else ")"
    lines = ["", *_wrap(title + suffix, f"  {marker} ", _ITEM_INDENT)]
    if layout.group_by != "phase" and item.get("phase"):
        lines.append(f"{_ITEM_INDENT}phase: {clean(phase_title(item))}")
    names = [clean(n) for n in owner_names(item)]
    lines.append(f"{_ITEM_INDENT}key: {clean(item.get('key'))}")
    lines += _wrap("owners: " + (", ".join(names) or "unassigned"), _ITEM_INDENT, _DETAIL_INDENT)
    if status == ItemStatus.WAIVED:
        lines += _wrap(_waiver(item.get("waiver")), _ITEM_INDENT, _DETAIL_INDENT)
    elif lapsed(item):
        lines.append(f"{_ITEM_INDENT}waiver expired on {clean(item['waiver']['expires_on'])}")
    ticket = _ticket(item.get("ticket"))
    if ticket:
        lines.append(f"{_ITEM_INDENT}ticket: {ticket}")
    if item.get("note"):
        lines += _wrap(f"note: {clean(item['note'])}", _ITEM_INDENT, _DETAIL_INDENT)
    if item.get("detail"):
        lines += _wrap(clean(item["detail"]), _ITEM_INDENT, _ITEM_INDENT)
    if item.get("done_when"):
        lines += _wrap(f"done when: {clean(item['done_when'])}", _ITEM_INDENT, _DETAIL_INDENT)
    gate = release_gate(item)
    if gate:
        lines.append(f"{_ITEM_INDENT}release gate: {clean(gate)}")
    because = item.get("because") or ()
    if because:
        text = "why: " + "; ".join(clean(reason) for reason in because)
        lines += _wrap(text, _ITEM_INDENT, _DETAIL_INDENT)
    for ref in references(item):
        lines += _wrap(f"ref: {clean(ref)}", _ITEM_INDENT, _DETAIL_INDENT)
    signed = signoff(item)
    if signed:
        lines += _wrap(f"sign-off: {clean(signed)}", _ITEM_INDENT, _DETAIL_INDENT)
    for link in evidence_links(item):
        text = f"evidence: {clean(link.get('title'))} <{clean(link['url'])}>"
        lines += _wrap(text, _ITEM_INDENT, _DETAIL_INDENT)
    if item.get("evidence_required") and not evidence_links(item) and status != ItemStatus.WAIVED:
        lines.append(f"{_ITEM_INDENT}evidence: required, none yet")
    return lines


def _waiver(waiver: Mapping[str, Any] | None) -> str:
    waiver = waiver or {}
    text = f"waived: {clean(waiver.get('reason')) or 'no reason given'}"
    text += f"; {clean(approver(waiver) or 'no approver')}"
    expires = waiver.get("expires_on")
    text += f"; until {clean(expires)}" if expires else "; no expiry"
    if waiver.get("residual_risk"):
        text += f"; residual risk: {clean(waiver['residual_risk'])}"
    return text


def _ticket(ticket: Mapping[str, Any] | None) -> str | None:
    label = ticket_label(ticket)
    if ticket is None or label is None:
        return None
    url = clean(ticket.get("url"))
    return f"{clean(label)} <{url}>" if url and url != label else clean(label)
