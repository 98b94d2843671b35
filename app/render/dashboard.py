"""HTML renderer of the team dashboard (its JSON form): a table per active project, and two
inline SVG pictures drawn here (no script, no charting library, nothing loaded): the role
coverage grid and each person's load."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.render.html import STATUS_WORDS, page, text
from app.vocabulary import CoverageState, ItemStatus, Priority

# Each state's fill and the words its legend and tooltips say (the colour never says it alone).
COVERAGE_COLOURS: Mapping[str, tuple[str, str]] = {
    CoverageState.FILLED: ("#1e6b30", "filled"),
    CoverageState.UNFILLED_REQUIRED: ("#b00020", "required, unfilled"),
    CoverageState.OVER_ALLOCATED: ("#c26a00", "held by someone over 100%"),
    CoverageState.NOT_NEEDED: ("#e8e8e8", "not required, unfilled"),
}
STYLE = """
.picture { overflow-x: auto; margin: .5rem 0 1rem; }
.picture svg { display: block; max-width: 100%; height: auto; }
.legend { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; list-style: none; padding: 0; }
.swatch { display: inline-block; width: .9em; height: .9em; margin-right: .35em;
  border: 1px solid #5a5a5a; vertical-align: -.1em; }
section.project { break-inside: avoid-page; }
"""
_CELL_W, _CELL_H, _LABEL_W, _HEAD_H = 34, 24, 230, 130
# How far right a slanted project name (22 characters at most) reaches beyond its column.
_SLANT_W = 120
_BAR_H, _BAR_GAP, _SCALE_W = 20, 8, 420


def render_dashboard_html(doc: Mapping[str, Any]) -> str:
    """The dashboard as one HTML5 page."""
    title = "Team dashboard"
    projects = doc.get("projects") or []
    header = [f"<h1>{text(title)}</h1>", f"<p>Active projects on {text(doc.get('on'))}.</p>"]
    main: list[str] = ['<section aria-labelledby="coverage"><h2 id="coverage">Coverage</h2>']
    main += _coverage(doc.get("coverage") or [], projects)
    main += ["</section>", '<section aria-labelledby="loads"><h2 id="loads">Load</h2>']
    main += _loads(doc.get("people") or [])
    main.append("</section>")
    main.append('<section aria-labelledby="projects"><h2 id="projects">Projects</h2>')
    if not projects:
        main.append('<p class="empty">No active projects.</p>')
    for n, project in enumerate(projects):
        main += _project(project, n)
    main.append("</section>")
    return page(title, header, main, STYLE)


def _project(project: Mapping[str, Any], n: int) -> list[str]:
    heading = f"project-{n}"
    by_status = project.get("by_status") or {}
    by_priority = project.get("by_priority") or {}
    out = [
        f'<section class="project" aria-labelledby="{heading}">',
        f'<h3 id="{heading}">{text(project.get("name"))} <code>{text(project.get("slug"))}</code>'
        "</h3>",
    ]
    if not project.get("has_checklist"):
        out.append('<p class="empty">No checklist generated yet.</p>')
    out += [
        "<table>",
        f"<caption>Items of {text(project.get('name'))}</caption>",
        '<thead><tr><th scope="col">Count</th>',
        *(f'<th scope="col">{text(STATUS_WORDS[s].split(" (")[0])}</th>' for s in ItemStatus),
        *(f'<th scope="col">{text(p.value.title())}</th>' for p in Priority),
        "</tr></thead>",
        '<tbody><tr><th scope="row">Items</th>',
        *(f"<td>{text(by_status.get(s, 0))}</td>" for s in ItemStatus),
        *(f"<td>{text(by_priority.get(p, 0))}</td>" for p in Priority),
        "</tr></tbody>",
        "</table>",
    ]
    out += _gates("Open critical and high gates", project.get("open_gates") or [])
    out += _gates("Gates awaiting a sign-off", project.get("unsigned_gates") or [])
    waivers = project.get("expiring_waivers") or []
    out.append("<h4>Waivers ending within 30 days</h4>")
    if waivers:
        out.append("<ul>")
        out += [
            f"<li><code>{text(w['key'])}</code> {text(w['title'])}: ends on "
            f"{text(w['expires_on'])}</li>"
            for w in waivers
        ]
        out.append("</ul>")
    else:
        out.append('<p class="empty">None.</p>')
    findings = project.get("findings") or []
    out.append("<h4>Staffing findings</h4>")
    if findings:
        out.append("<ul>")
        out += [
            f'<li><span class="label">{text(f["priority"])}</span> {text(f["title"])}</li>'
            for f in findings
        ]
        out.append("</ul>")
    else:
        out.append('<p class="empty">None.</p>')
    out.append("</section>")
    return out


def _gates(title: str, gates: Sequence[Mapping[str, Any]]) -> list[str]:
    out = [f"<h4>{text(title)}</h4>"]
    if not gates:
        return [*out, '<p class="empty">None.</p>']
    out.append("<ul>")
    out += [
        f"<li><code>{text(g['key'])}</code> {text(g['title'])} ({text(g['priority'])}, "
        f"{text(STATUS_WORDS.get(g['status'], g['status']))})</li>"
        for g in gates
    ]
    out.append("</ul>")
    return out


def _coverage(
    rows: Sequence[Mapping[str, Any]], projects: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Roles down, projects across: a coloured cell each, its `<title>` saying it in words."""
    if not projects:
        return ['<p class="empty">No active projects.</p>']
    names = [str(p.get("name") or "") for p in projects]
    # Room on the right for the last project's name, which slants up to the right.
    width = _LABEL_W + _CELL_W * len(projects) + _SLANT_W
    height = _HEAD_H + _CELL_H * len(rows) + 10
    svg = [
        f'<svg class="coverage" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="coverage-title" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="12" font-family="sans-serif">',
        '<title id="coverage-title">Role coverage: roles down, active projects across</title>',
    ]
    for col, name in enumerate(names):
        x = _LABEL_W + col * _CELL_W + _CELL_W // 2
        svg.append(
            f'<text x="{x}" y="{_HEAD_H - 6}" transform="rotate(-50 {x} {_HEAD_H - 6})" '
            f'fill="#1a1a1a">{text(_clip(name, 22))}<title>{text(name)}</title></text>'
        )
    for r, row in enumerate(rows):
        y = _HEAD_H + r * _CELL_H
        svg.append(
            f'<text x="{_LABEL_W - 8}" y="{y + _CELL_H - 8}" text-anchor="end" '
            f'fill="#1a1a1a">{text(_clip(str(row.get("title") or ""), 32))}</text>'
        )
        for col, cell in enumerate(row.get("projects") or []):
            fill, words = COVERAGE_COLOURS.get(cell.get("state"), ("#ffffff", "unknown"))
            holders = ", ".join(str(h) for h in cell.get("holders") or ())
            said = f"{row.get('title')} on {names[col]}: {words}" + (
                f" ({holders})" if holders else ""
            )
            svg.append(
                f'<rect class="cell {text(cell.get("state"))}" x="{_LABEL_W + col * _CELL_W + 1}" '
                f'y="{y + 1}" width="{_CELL_W - 2}" height="{_CELL_H - 2}" fill="{fill}" '
                f'stroke="#5a5a5a"><title>{text(said)}</title></rect>'
            )
    svg.append("</svg>")
    legend = ['<ul class="legend" aria-label="Legend">']
    legend += [
        f'<li><span class="swatch" style="background:{fill}"></span>{text(words)}</li>'
        for fill, words in COVERAGE_COLOURS.values()
    ]
    legend.append("</ul>")
    return ['<div class="picture">', *svg, "</div>", *legend]


def _loads(loads: Sequence[Mapping[str, Any]]) -> list[str]:
    """A horizontal bar per person, their allocation summed across active projects; a line at
    100%."""
    if not loads:
        return ['<p class="empty">Nobody is allocated to an active project.</p>']
    top = max(100, *(int(load.get("total") or 0) for load in loads))
    scale = _SCALE_W / top
    width = _LABEL_W + _SCALE_W + 70
    height = (_BAR_H + _BAR_GAP) * len(loads) + 30
    full = _LABEL_W + round(100 * scale)
    svg = [
        f'<svg class="load" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="load-title" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="12" font-family="sans-serif">',
        '<title id="load-title">Each person\'s allocation across active projects, in percent; '
        "the line is 100%</title>",
    ]
    for n, load in enumerate(loads):
        person = load.get("person") or {}
        total = int(load.get("total") or 0)
        y = 10 + n * (_BAR_H + _BAR_GAP)
        breakdown = ", ".join(
            f"{p['project']} {p['allocation']}%" for p in load.get("projects") or ()
        )
        fill = "#c26a00" if load.get("over_allocated") else "#0b3d91"
        said = f"{person.get('name')}: {total}%" + (f" ({breakdown})" if breakdown else "")
        svg += [
            f'<text x="{_LABEL_W - 8}" y="{y + _BAR_H - 6}" text-anchor="end" fill="#1a1a1a">'
            f"{text(_clip(str(person.get('name') or ''), 32))}</text>",
            f'<rect class="bar" x="{_LABEL_W}" y="{y}" width="{round(total * scale)}" '
            f'height="{_BAR_H}" fill="{fill}"><title>{text(said)}</title></rect>',
            f'<text x="{_LABEL_W + round(total * scale) + 4}" y="{y + _BAR_H - 6}" '
            f'fill="#1a1a1a">{total}%</text>',
        ]
    svg += [
        f'<line class="full" x1="{full}" y1="2" x2="{full}" y2="{height - 16}" '
        'stroke="#1a1a1a" stroke-width="2" stroke-dasharray="4 3"><title>100%</title></line>',
        f'<text x="{full}" y="{height - 4}" text-anchor="middle" fill="#1a1a1a">100%</text>',
        "</svg>",
    ]
    return ['<div class="picture">', *svg, "</div>"]


def _clip(value: str, length: int) -> str:
    return value if len(value) <= length else value[: length - 1] + "…"
