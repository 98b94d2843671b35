"""Ticket text for an item, ready to post to GitHub, Jira or Linear, ending in the marker by
which inbound webhooks find the item a ticket is about."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.render import PHASE_TITLES, signoff
from app.render.markdown import code, escape
from app.vocabulary import ItemStatus

MARKER_PREFIX = "checklist-item: "
"""The last line of every ticket text is this prefix, then `<project slug>/<item key>`: the
inbound webhooks find the item a ticket is about by it."""

TICKET_TITLE_MAX = 250  # under GitHub's 256 and Jira's 255 characters

# The item's links a ticket shows, in this order: the share link first, the one a reader of
# the ticket can open without an API key.
_LINKS = (
    ("share", "Checklist page (opens without an API key)"),
    ("api", "Item in the API"),
    ("checklist_markdown", "Checklist (Markdown, with an API key)"),
)


def marker(project_slug: str, item_key: str) -> str:
    return f"{MARKER_PREFIX}{project_slug}/{item_key}"


def ticket_text(project: Mapping[str, Any], item: Mapping[str, Any]) -> dict[str, str]:
    """A ticket for an item, ready to post to GitHub, Jira or Linear: a one-line title and a
    Markdown body (detail, what "done" means, phase, priority, why, owners, links) whose last
    line is the marker
    `checklist-item: <project slug>/<item key>`. User-given text (names, notes) is escaped."""
    title = " ".join(f"{project['name']}: {item['title']}".split())
    if len(title) > TICKET_TITLE_MAX:
        title = title[: TICKET_TITLE_MAX - 1].rstrip() + "…"
    roles = ", ".join(escape(t) for t in item.get("role_titles") or ()) or "none"
    facts = [
        f"- **Project:** {escape(project['name'])} ({code(project['slug'])}, "
        f"{escape(project['application'])})",
        f"- **Priority:** {escape(item['priority'])}",
        f"- **Status:** {escape(item['status'])}",
        f"- **Roles:** {roles}",
    ]
    waiver = item.get("waiver")
    if item["status"] == ItemStatus.WAIVED and waiver:
        facts.append(f"- **Waived:** {escape(waiver.get('reason') or '')}")
    signed = signoff(item)
    if signed:
        facts.append(f"- **Sign-off:** {escape(signed)}")
    if item.get("note"):
        facts.append(f"- **Note:** {escape(item['note'])}")
    owners = [_owner_line(o) for o in item.get("owners") or ()] or [
        "- _Nobody yet: the role is not staffed._"
    ]
    because = [f"- {escape(reason)}" for reason in item.get("because") or ()]
    links = item.get("links") or {}
    link_lines = [f"- {label}: {links[name]}" for name, label in _LINKS if links.get(name)]
    if item.get("phase"):
        facts.insert(2, f"- **Phase:** {escape(PHASE_TITLES.get(item['phase'], item['phase']))}")
    lines = [escape(item["detail"]) if item.get("detail") else escape(item["title"])]
    if item.get("done_when"):
        lines += ["", f"**Done when:** {escape(item['done_when'])}"]
    lines += ["", *facts]
    if because:
        lines += ["", "### Why", "", *because]
    lines += ["", "### Owners", "", *owners]
    if link_lines:
        lines += ["", "### Links", "", *link_lines]
    # Only the last line is a marker: text that would start another one is escaped (`\:`
    # shows as `:` in Markdown).
    lines = [_not_a_marker(line) for line in lines]
    lines += ["", marker(project["slug"], item["key"])]
    return {"title": title, "body": "\n".join(lines)}


def _not_a_marker(line: str) -> str:
    if line.lower().startswith(MARKER_PREFIX.lower()):
        return line[: len(MARKER_PREFIX) - 2] + "\\:" + line[len(MARKER_PREFIX) - 1 :]
    return line


def _owner_line(owner: Mapping[str, Any]) -> str:
    parts = [escape(owner["name"])]
    if owner.get("email"):
        parts.append(f"({escape(owner['email'])})")
    handles = owner.get("handles") or {}
    named = [f"{system} {code(handle)}" for system, handle in sorted(handles.items()) if handle]
    if named:
        parts.append("· " + ", ".join(named))
    return "- " + " ".join(parts)
