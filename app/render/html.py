"""HTML renderer: the checklist as one printable page (inline CSS, no script, nothing loaded),
its items by lifecycle phase (or kind, role, person), ending with a sign-off sheet of its gates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import urlsplit

from app.render.html_style import STYLESHEET
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

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_ANCHOR = re.compile(r"[^a-z0-9]+")

# What a status reads as: a waived item is an accepted risk, never done.
STATUS_WORDS: Mapping[str, str] = {
    ItemStatus.OPEN: "Open",
    ItemStatus.IN_PROGRESS: "In progress",
    ItemStatus.DONE: "Done",
    ItemStatus.WAIVED: "Waived (not done: a risk accepted)",
    ItemStatus.OBSOLETE: "Obsolete",
}
# The page loads nothing and runs nothing, whatever a value slipped past escaping would say; a
# link followed from it sends no Referer (the page's own URL may carry a share link's token).
_HEAD = (
    '<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
    '<meta name="referrer" content="no-referrer">\n'
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">\n"
)


def text(value: Any) -> str:
    """A value as HTML text: one line, control characters removed, `<>&"'` escaped."""
    return escape(_CONTROL.sub(" ", "" if value is None else str(value)).strip(), quote=True)


def link(url: Any, label: Any) -> str:
    """An `<a>` to an http(s) URL, else the label as text: no `javascript:` or `data:` link."""
    if not isinstance(url, str) or urlsplit(url).scheme.lower() not in ("http", "https"):
        return text(label)
    return f'<a href="{text(url)}" rel="noreferrer">{text(label)}</a>'


def render_html(doc: Mapping[str, Any], layout: Layout = DEFAULT_LAYOUT) -> str:
    """The checklist as one HTML5 page: its header and context, its items in sections by
    `layout.group_by` (each without its detail when `layout.compact`), the accepted risks,
    then the sign-off sheet."""
    project = doc.get("project") or {}
    title = f"Checklist: {project.get('name') or 'untitled project'}"
    body = [f"<h1>{text(title)}</h1>", *_facts(doc)]
    main = [*_context(doc, 2), *_items(doc, layout, 2)]
    items = doc.get("items") or []
    main += _register(doc, layout)
    main += _risks([(None, item) for item in items])
    main += _sheet([(None, item) for item in items])
    return page(title, body, main)


def _register(doc: Mapping[str, Any], layout: Layout) -> list[str]:
    """The risk register, after the items: a row a risk, its status and what it rests on; in
    the compact layout, one paragraph of each risk and its status."""
    entries = register_lines(doc)
    if not entries:
        return []
    lines = [
        '<section aria-labelledby="risk-register">',
        f'<h2 id="risk-register">{text(REGISTER_TITLE)}</h2>',
        f"<p>{text(REGISTER_INTRO)}</p>",
    ]
    if layout.compact:
        said = [f"{text(e.section)} {text(e.risk)}: {_register_status(e.status)}" for e in entries]
        return [*lines, f'<p class="register">{"; ".join(said)}</p>', "</section>"]
    rows = []
    for entry in entries:
        said = []
        if entry.items:
            said.append("by " + ", ".join(f"<code>{text(key)}</code>" for key in entry.items))
        for key, residual in entry.accepted:
            waived = f"<code>{text(key)}</code> waived"
            said.append(waived + (f"; residual risk: {text(residual)}" if residual else ""))
        if entry.reason:
            said.append(text(entry.reason))
        named = f"{text(entry.section)} {text(entry.risk)}"
        rows.append(_row(named, (_register_status(entry.status), "<br>".join(said))))
    head = ("Risk", "Status", "Items, or why")
    return [*lines, *_table(head, rows), "</section>"]


def _register_status(status: str) -> str:
    """A register status as the page shows it: a gap stands out."""
    return f"<strong>{text(status)}</strong>" if status == "GAP" else text(status)


def render_person_html(
    name: str, docs: Sequence[Mapping[str, Any]], layout: Layout = DEFAULT_LAYOUT
) -> str:
    """What one person owns as one page: a part by project (each a checklist document of that
    project's items), then one sign-off sheet across them."""
    title = f"Checklist items of {name}"
    main: list[str] = []
    for doc in docs:
        project = doc.get("project") or {}
        main += [f"<h2>{text(project.get('name') or 'untitled project')}</h2>", *_facts(doc)]
        main += _items(doc, layout, 3)
    if not docs:
        main.append('<p class="empty">No items.</p>')
    named = [(d.get("project") or {}, item) for d in docs for item in d.get("items") or ()]
    main += _risks([(str(p.get("name") or ""), item) for p, item in named])
    main += _sheet([(str(p.get("name") or ""), item) for p, item in named])
    return page(title, [f"<h1>{text(title)}</h1>"], main)


def page(title: str, header: list[str], main: list[str], style: str = "") -> str:
    """A self-contained HTML5 page: the checklist stylesheet and `style` inline, `header` and
    `main` as its landmarks."""
    return (
        "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en">',
                "<head>",
                _HEAD + f"<title>{text(title)}</title>",
                f"<style>{STYLESHEET}{style}</style>",
                "</head>",
                "<body>",
                "<header>",
                *header,
                "</header>",
                "<main>",
                *main,
                "</main>",
                "</body>",
                "</html>",
            ]
        )
        + "\n"
    )


def _facts(doc: Mapping[str, Any]) -> list[str]:
    """The checklist's header: project, application, traits, revision, release, progress."""
    project = doc.get("project") or {}
    revision = doc.get("revision")
    facts: list[tuple[str, str]] = [
        ("Project", f"<code>{text(project['slug'])}</code>" if project.get("slug") else "preview"),
        ("Application", text(project.get("application") or "other")),
        ("Traits", ", ".join(text(t) for t in project.get("traits") or ()) or "none"),
        ("Model source", text(model_source_of(project))),
        ("Revision", text(revision) if revision is not None else "preview"),
        ("Catalog", f"<code>{text(doc.get('catalog_version') or 'unknown')}</code>"),
    ]
    if doc.get("generated_at"):
        facts.append(("Generated", text(doc["generated_at"])))
    release = release_line(doc)
    if release:
        facts.append(("Release", text(release)))
    selected = selection(doc)
    if selected is None:
        facts.append(("Progress", text(progress(doc.get("summary")))))
    else:
        facts += [
            ("Filtered by", selected.describe(lambda v: f"<code>{text(v)}</code>", text)),
            ("Progress of the shown items", text(progress(selected.shown))),
            ("Progress of the whole checklist", text(progress(selected.whole))),
        ]
    rows = [f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts]
    return ['<dl class="facts">', *rows, "</dl>"]


def _context(doc: Mapping[str, Any], level: int) -> list[str]:
    """The project's context, first of all: what it is for, and what it must not be used for."""
    entries = context_entries(doc)
    if not entries:
        return []
    lines = [f'<section aria-labelledby="context"><h{level} id="context">Context</h{level}>']
    lines.append('<dl class="facts">')
    for label, values in entries:
        shown = "; ".join(text(v) for v in values) or '<span class="empty">not stated</span>'
        lines.append(f"<dt>{text(label)}</dt><dd>{shown}</dd>")
    return [*lines, "</dl>", "</section>"]


def _items(doc: Mapping[str, Any], layout: Layout, level: int) -> list[str]:
    items = doc.get("items") or []
    if not items:
        shown = "No items match the filters." if doc.get("filters") else "No items."
        return [f'<p class="empty">{shown}</p>']
    lines = []
    for section in sections(items, layout.group_by, layout.role_order):
        lines += ["<section>", f"<h{level}>{text(section.title)}</h{level}>"]
        for group, group_items in section.groups.items():
            item_level = level + 1
            if group is not None:
                lines.append(f"<h{level + 1}>{text(group)}</h{level + 1}>")
                item_level = level + 2
            for item in group_items:
                lines += _item(item, layout, item_level)
        lines.append("</section>")
    return lines


def _item(item: Item, layout: Layout, level: int) -> list[str]:
    status = str(item.get("status") or "open")
    names = owner_names(item)
    meta = [
        f'<span class="status">{text(STATUS_WORDS.get(status, status))}</span>',
        f"priority: {text(item.get('priority') or 'medium')}",
        "owners: " + (", ".join(text(n) for n in names) if names else "unassigned"),
        f"key: <code>{text(item.get('key'))}</code>",
    ]
    if layout.group_by != "phase" and item.get("phase"):
        meta.insert(2, f"phase: {text(phase_title(item))}")
    ticket = item.get("ticket")
    label = ticket_label(ticket)
    if ticket and label:
        meta.append(f"ticket: {link(ticket.get('url'), label)}")
    lines = [
        f'<article class="item status-{text(status)}" id="{_anchor(item)}">',
        f"<h{level}>{text(item.get('title') or item.get('key'))}</h{level}>",
        '<ul class="meta">' + "".join(f"<li>{part}</li>" for part in meta) + "</ul>",
    ]
    if status == ItemStatus.WAIVED:
        lines.append(f'<p class="waiver">{_waiver(item.get("waiver"))}</p>')
    elif lapsed(item):
        expired = text(item["waiver"]["expires_on"])
        lines.append(f'<p class="lapsed">The waiver expired on {expired}: open again.</p>')
    if not layout.compact:
        lines += _details(item)
    if item.get("note"):
        lines.append(f'<p><span class="label">Note:</span> {text(item["note"])}</p>')
    return [*lines, "</article>"]


def _details(item: Item) -> list[str]:
    """What an item says beyond its line: the detail, what "done" means, why, where it comes
    from, its sign-off and its evidence."""
    lines = [f"<p>{text(item['detail'])}</p>"] if item.get("detail") else []
    parts: list[tuple[str, str]] = []
    if item.get("done_when"):
        parts.append(("Done when", text(item["done_when"])))
    gate = release_gate(item)
    if gate:
        parts.append(("Release gate", text(gate)))
    because = item.get("because") or ()
    if because:
        parts.append(("Why", "; ".join(text(reason) for reason in because)))
    refs = references(item)
    if refs:
        parts.append(("References", "; ".join(text(ref) for ref in refs)))
    signed = signoff(item)
    if signed:
        parts.append(("Sign-off", text(signed)))
    links = evidence_links(item)
    if links:
        shown = [link(e["url"], e.get("title") or e["url"]) for e in links]
        parts.append(("Evidence", ", ".join(shown)))
    elif item.get("evidence_required") and item.get("status") != ItemStatus.WAIVED:
        parts.append(("Evidence", "required, none yet"))
    return lines + [f'<p><span class="label">{label}:</span> {value}</p>' for label, value in parts]


def _waiver(waiver: Mapping[str, Any] | None) -> str:
    waiver = waiver or {}
    said = [f"Waived: {text(waiver.get('reason') or 'no reason given')}"]
    said.append(text(approver(waiver) or "no approver"))
    expires = waiver.get("expires_on")
    said.append(f"until {text(expires)}" if expires else "no expiry")
    if waiver.get("residual_risk"):
        said.append(f"residual risk: {text(waiver['residual_risk'])}")
    return "; ".join(said)


def _anchor(item: Item) -> str:
    """The item's id in the page: by its key (and project, on a person's page of several)."""
    project = (item.get("project") or {}).get("id")
    name = f"{project}-{item.get('key')}" if project else str(item.get("key") or item.get("id"))
    return "item-" + _ANCHOR.sub("-", name.lower())


def _named(project: str | None, item: Item) -> str:
    """An item as a table's row header: its title and key (and its project, across projects)."""
    shown = f"{text(item.get('title') or item.get('key'))}<br><code>{text(item.get('key'))}</code>"
    return f"{text(project)}: {shown}" if project else shown


def _risks(items: Iterable[tuple[str | None, Item]]) -> list[str]:
    """The accepted risks: every waived item, its reason, approver, day and residual risk."""
    waived = [(p, i) for p, i in items if i.get("status") == ItemStatus.WAIVED]
    if not waived:
        return []
    head = ("Item", "Priority", "Reason", "Approved", "Until", "Residual risk")
    rows = []
    for project, item in waived:
        waiver = item.get("waiver") or {}
        cells = (
            text(item.get("priority")),
            text(waiver.get("reason") or "no reason given"),
            text(approver(waiver) or "no approver"),
            text(waiver.get("expires_on") or "no expiry"),
            text(waiver.get("residual_risk") or "not stated"),
        )
        rows.append(_row(_named(project, item), cells))
    return [
        '<section aria-labelledby="risks"><h2 id="risks">Accepted risks</h2>',
        "<p>Items waived: each is a risk someone accepted, until a day; none is done.</p>",
        *_table(head, rows),
        "</section>",
    ]


def _sheet(items: Iterable[tuple[str | None, Item]]) -> list[str]:
    """The sign-off sheet: every live item that needs a sign-off (or has one), its reviewer
    roles, who signed and when; empty cells to sign by hand where nobody has yet."""
    gates = [
        (project, item)
        for project, item in items
        if (item.get("signoff_required") or item.get("signed_off_by"))
        and item.get("status") != ItemStatus.OBSOLETE
    ]
    lines = [
        '<section class="sheet" aria-labelledby="sign-off-sheet">',
        '<h2 id="sign-off-sheet">Sign-off sheet</h2>',
    ]
    if not gates:
        return [*lines, '<p class="empty">No item needs a sign-off.</p>', "</section>"]
    lines.append(
        "<p>Each item below needs the sign-off of someone who holds one of its reviewer roles "
        "and does not own it. Where nobody has signed in the API, sign and date by hand.</p>"
    )
    head = ("Item", "Status", "Reviewer role", "Signed by", "Date")
    rows = []
    for project, item in gates:
        status = str(item.get("status") or "open")
        roles = item.get("reviewer_role_titles") or item.get("reviewer_roles") or ()
        cells = [text(STATUS_WORDS.get(status, status)), " or ".join(text(r) for r in roles)]
        if item.get("signed_off_by"):
            who = text(item.get("signed_off_by_name") or item["signed_off_by"])
            if not item.get("signed_off_with"):
                who += " (named with a team key)"
            cells += [who, text(str(item.get("signed_off_at") or "")[:10])]
            rows.append(_row(_named(project, item), cells))
        else:
            rows.append(_row(_named(project, item), cells, blanks=2))
    return [*lines, *_table(head, rows), "</section>"]


def _table(head: Sequence[str], rows: list[str]) -> list[str]:
    header = "".join(f'<th scope="col">{text(h)}</th>' for h in head)
    return ["<table>", f"<thead><tr>{header}</tr></thead>", "<tbody>", *rows, "</tbody></table>"]


def _row(named: str, cells: Sequence[str], *, blanks: int = 0) -> str:
    shown = "".join(f"<td>{cell}</td>" for cell in cells)
    shown += '<td class="to-sign"></td>' * blanks
    return f'<tr><th scope="row">{named}</th>{shown}</tr>'
