"""The checklist page's stylesheet, inlined in every page: dark text on a light background, and
print rules for a clean A4 or Letter document (the sign-off sheet on a page of its own)."""

from __future__ import annotations

# No web font and no url(): the page loads nothing. Colours keep a contrast of at least 7:1
# against their background (WCAG AAA for body text).
STYLESHEET = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body {
  margin: 0 auto; max-width: 60rem; padding: 1.5rem 1.25rem 3rem;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial,
    sans-serif;
  color: #1a1a1a; background: #ffffff;
}
h1 { font-size: 1.75rem; margin: 0 0 .75rem; }
h2 { font-size: 1.35rem; margin: 2rem 0 .75rem; padding-bottom: .25rem;
  border-bottom: 2px solid #1a1a1a; }
h3 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
h4, h5 { font-size: 1rem; margin: 0 0 .35rem; }
a { color: #0b3d91; }
code { font: .9em/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.item { border: 1px solid #8a8a8a; border-left-width: 6px; border-radius: 4px;
  padding: .6rem .8rem; margin: 0 0 .75rem; }
.item.status-done { border-left-color: #1e6b30; }
.item.status-waived { border-left-color: #8a4b00; background: #fff8ec; }
.item.status-in_progress { border-left-color: #0b3d91; }
.item.status-obsolete { border-left-color: #8a8a8a; background: #f3f3f3; }
.item.status-obsolete h3, .item.status-obsolete h4, .item.status-obsolete h5 {
  text-decoration: line-through; }
.item h3, .item h4, .item h5 { font-size: 1.05rem; margin: 0 0 .25rem; }
.item p, .item ul { margin: .3rem 0; }
.meta { display: flex; flex-wrap: wrap; gap: .2rem 1.25rem; margin: .2rem 0; padding: 0;
  list-style: none; color: #333333; }
.status { font-weight: 700; }
.waiver, .lapsed { border: 1px solid #8a4b00; background: #fff1d6; color: #1a1a1a;
  padding: .35rem .5rem; border-radius: 3px; }
.label { font-weight: 600; }
.empty { color: #4a4a4a; font-style: italic; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { border: 1px solid #5a5a5a; padding: .35rem .5rem; text-align: left;
  vertical-align: top; }
thead th { background: #e8e8e8; }
tbody th { font-weight: 400; }
td.to-sign { min-width: 8rem; height: 2.5rem; }
@page { margin: 16mm 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; line-height: 1.35; }
  h2 { margin-top: 1.2rem; }
  .item { padding: .35rem .6rem; margin-bottom: .5rem; }
  .item p, .item ul { margin: .15rem 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  h3, h4 { break-after: avoid; page-break-after: avoid; }
  .item, tr, dl.facts { break-inside: avoid; page-break-inside: avoid; }
  .item { background: none; }
  .sheet { break-before: page; page-break-before: always; }
  thead { display: table-header-group; }
  a { color: #1a1a1a; text-decoration: underline; }
  a[href]::after { content: " <" attr(href) ">"; font-size: 85%; overflow-wrap: anywhere; }
}
"""
