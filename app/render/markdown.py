"""Markdown renderer: a GitHub task list by lifecycle phase (or kind, role, person), each task
with what it asks, when it is done, why it is there and where it comes from."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from app.render.layout import (
    DEFAULT_LAYOUT,
    REGISTER_INTRO,
    REGISTER_TITLE,
    Item,
    Layout,
    approver,
    context_entries,
    evidence_links,
    first,
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

# Characters that mean something in (GitHub-flavoured) Markdown or inline HTML.
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~!()&])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_BACKTICKS = re.compile(r"`+")


def escape(value: Any) -> str:
    """Make user-provided text literal in Markdown: one line, special characters escaped."""
    return _SPECIAL.sub(r"\\\1", _CONTROL.sub(" ", str(value)).strip())


def code(value: Any) -> str:
    """An inline code span that survives backticks inside the value."""
    text = _CONTROL.sub(" ", str(value))
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_markdown(doc: Mapping[str, Any], layout: Layout = DEFAULT_LAYOUT) -> str:
    """The checklist as GitHub-flavoured Markdown: every item is one `- [ ]` / `- [x]` task
    (`- [~]` when waived: an accepted risk is not done),
    followed (unless `layout.compact`) by a nested list of its detail, what "done" means, why
    it is there and its references."""
    lines = _header(doc) + _context(doc)
    items = doc.get("items") or []
    if not items:
        lines += ["", "_No items match the filters._" if doc.get("filters") else "_No items._"]
    for section in sections(items, layout.group_by, layout.role_order):
        lines += ["", f"## {escape(section.title)}"]
        for group, group_items in section.groups.items():
            if group is not None:
                lines += ["", f"### {escape(group)}"]
            lines.append("")
            for item in group_items:
                lines += _item_lines(item, layout)
    lines += _register(doc, layout)
    return "\n".join(lines) + "\n"


def _register(doc: Mapping[str, Any], layout: Layout) -> list[str]:
    """The risk register, after the items: one line a risk, its status and what it rests on
    (the status alone in the compact layout)."""
    entries = register_lines(doc)
    if not entries:
        return []
    lines = ["", f"## {REGISTER_TITLE}", "", REGISTER_INTRO, ""]
    for entry in entries:
        status = "**GAP**" if entry.status == "GAP" else escape(entry.status)
        line = f"- **{escape(entry.section)} {escape(entry.risk)}:** {status}"
        if layout.compact:
            lines.append(line)
            continue
        if entry.items:
            line += " by " + ", ".join(code(key) for key in entry.items)
        for key, residual in entry.accepted:
            line += f"; {code(key)} waived"
            line += f" (residual risk: {escape(residual)})" if residual else ""
        if entry.reason:
            line += f". {escape(entry.reason)}"
        lines.append(line)
    return lines


def _context(doc: Mapping[str, Any]) -> list[str]:
    """The project's context, first of all: what it is for, and what it must not be used for."""
    entries = context_entries(doc)
    if not entries:
        return []
    lines = ["", "## Context", ""]
    for label, values in entries:
        shown = "; ".join(escape(v) for v in values) if values else "_not stated_"
        lines.append(f"- **{label}:** {shown}")
    return lines


def _header(doc: Mapping[str, Any]) -> list[str]:
    project = doc.get("project") or {}
    revision = doc.get("revision")
    traits = ", ".join(escape(t) for t in project.get("traits") or ()) or "none"
    lines = [
        f"# Checklist: {escape(project.get('name') or 'untitled project')}",
        "",
        f"- **Project:** {code(project['slug']) if project.get('slug') else '_preview_'}",
        f"- **Application:** {escape(project.get('application') or 'other')}",
        f"- **Traits:** {traits}",
        f"- **Model source:** {escape(model_source_of(project))}",
        f"- **Revision:** {revision if revision is not None else 'preview'}",
        f"- **Catalog:** {code(doc.get('catalog_version') or 'unknown')}",
    ]
    if doc.get("generated_at"):
        lines.append(f"- **Generated:** {escape(doc['generated_at'])}")
    release = release_line(doc)
    if release:
        lines.append(f"- **Release:** {escape(release)}")
    selected = selection(doc)
    if selected is None:
        lines.append(f"- **Progress:** {progress(doc.get('summary'))}")
        return lines
    return [
        *lines,
        f"- **Filtered by:** {selected.describe(code, escape)}",
        f"- **Progress of the shown items:** {progress(selected.shown)}",
        f"- **Progress of the whole checklist:** {progress(selected.whole)}",
    ]


# A waived item is neither done nor struck out: the risk it carries was accepted, until a day.
_BOXES: dict[str, str] = {
    ItemStatus.DONE: "[x]",
    ItemStatus.WAIVED: "[~]",
    ItemStatus.OBSOLETE: "[x]",
}


def _item_lines(item: Item, layout: Layout) -> list[str]:
    status = item.get("status") or "open"
    title = escape(item.get("title") or item.get("key") or "")
    struck = status == ItemStatus.OBSOLETE
    box = _BOXES.get(status, "[ ]")
    names = owner_names(item)
    parts = [
        f"~~{title}~~" if struck else f"**{title}**",
        ", ".join(escape(n) for n in names) if names else "_unassigned_",
        f"priority: {escape(item.get('priority') or 'medium')}",
    ]
    if layout.group_by != "phase" and item.get("phase"):
        parts.append(f"phase: {escape(phase_title(item))}")
    if status == ItemStatus.IN_PROGRESS:
        parts.append("_in progress_")
    if status == ItemStatus.OBSOLETE:
        parts.append("_obsolete_")
    if status == ItemStatus.WAIVED:
        parts.append(_waiver(item.get("waiver")))
    elif lapsed(item):
        parts.append(f"_waiver expired on {escape(item['waiver']['expires_on'])}_")
    ticket = _ticket(item.get("ticket"))
    if ticket:
        parts.append(f"ticket: {ticket}")
    parts.append(code(item.get("key") or ""))
    lines = [f"- {box} " + " · ".join(parts)]
    if not layout.compact:
        lines += [f"  - {line}" for line in _details(item)]
    if item.get("note"):
        lines.append(f"  - Note: {escape(item['note'])}")
    return lines


def _details(item: Item) -> list[str]:
    """What sits under a task: the detail, what "done" means, why, and the references."""
    lines = []
    if item.get("detail"):
        lines.append(escape(item["detail"]))
    if item.get("done_when"):
        lines.append(f"**Done when:** {escape(item['done_when'])}")
    gate = release_gate(item)
    if gate:
        lines.append(f"**Release gate:** {escape(gate)}")
    because = item.get("because") or ()
    if because:
        lines.append("**Why:** " + "; ".join(escape(reason) for reason in because))
    refs = references(item)
    if refs:
        lines.append("**References:** " + "; ".join(escape(ref) for ref in refs))
    signed = signoff(item)
    if signed:
        lines.append(f"**Sign-off:** {escape(signed)}")
    links = [_link(link) for link in evidence_links(item)]
    if links:
        lines.append("**Evidence:** " + ", ".join(links))
    elif item.get("evidence_required") and item.get("status") != ItemStatus.WAIVED:
        lines.append("**Evidence:** required, none yet")
    return lines


def _link(link: Mapping[str, Any]) -> str:
    url = _safe_url(link.get("url"))
    title = escape(link.get("title") or link.get("url") or "")
    return f"[{title}]({url})" if url else title


def _waiver(waiver: Mapping[str, Any] | None) -> str:
    waiver = waiver or {}
    text = f"waived: {escape(waiver.get('reason') or 'no reason given')}"
    extra = [escape(approver(waiver) or "no approver")]
    extra.append(
        f"until {escape(waiver['expires_on'])}" if waiver.get("expires_on") else "no expiry"
    )
    if waiver.get("residual_risk"):
        extra.append(f"residual risk: {escape(waiver['residual_risk'])}")
    return f"{text} ({', '.join(extra)})"


def _ticket(ticket: Mapping[str, Any] | None) -> str | None:
    label = ticket_label(ticket)
    if ticket is None or label is None:
        return None
    url = _safe_url(first([ticket.get("url")]))
    return f"[{escape(label)}]({url})" if url else escape(label)


def _safe_url(url: Any) -> str | None:
    """An http(s) URL with the characters that would end a Markdown link percent-encoded."""
    if not url or not isinstance(url, str):
        return None
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    return quote(_CONTROL.sub("", url), safe="/:?#[]@!$&'*+,;=%~.-_")
