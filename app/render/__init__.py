"""Checklist renderers: pure functions from a checklist's JSON form (a dict) to text formats
and an HTML page."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from app.render import csvfile, html, markdown, text
from app.render.layout import (
    DEFAULT_GROUPING,
    DEFAULT_LAYOUT,
    FORMATS,
    GROUPINGS,
    LAID_OUT,
    PHASE_TITLES,
    Layout,
    signoff,
)

__all__ = [
    "DEFAULT_GROUPING",
    "DEFAULT_LAYOUT",
    "FORMATS",
    "LAID_OUT",
    "PHASE_TITLES",
    "Layout",
    "render",
    "signoff",
]


def render(doc: Mapping[str, Any], fmt: str, layout: Layout = DEFAULT_LAYOUT) -> str:
    """Render a checklist document as `fmt` (one of FORMATS); ValueError for anything else.
    `layout` concerns Markdown, text and HTML only."""
    if layout.group_by not in GROUPINGS:
        raise ValueError(f"unknown grouping {layout.group_by!r} (known: {', '.join(GROUPINGS)})")
    return _renderer(fmt)(doc, layout)


def _renderer(fmt: str) -> Callable[[Mapping[str, Any], Layout], str]:
    renderers: dict[str, Callable[[Mapping[str, Any], Layout], str]] = {
        "json": lambda doc, _: _render_json(doc),
        "markdown": markdown.render_markdown,
        "csv": lambda doc, _: csvfile.render_csv(doc),
        "text": text.render_text,
        "html": html.render_html,
    }
    try:
        return renderers[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})") from None


def _render_json(doc: Mapping[str, Any]) -> str:
    # Compact: with `indent`, `json` falls back to its pure-Python encoder (4 times slower).
    # Pipe it through `jq` (or `python -m json.tool`) to read it in a terminal.
    return _JSON.encode(doc) + "\n"


# A document is a tree of fresh dicts and lists (a dump's): the encoder need not keep the id
# of every container it is inside to refuse a cycle (a tenth of the encoding's time).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
