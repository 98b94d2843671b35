"""Checklist renderers: pure functions from a checklist's JSON form (a dict) to text formats
and an HTML page."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import orjson

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
    # Compact; pipe it through `jq` (or `python -m json.tool`) to read it in a terminal.
    # orjson writes the bytes `_JSON` writes for a document (strings, integers, booleans,
    # null: the compiled dumps refuse a float field), twelve times faster: a checklist of 64
    # items in 0.07 ms, not 0.86 ms, the largest part of a preview. What it refuses (a key
    # not a string, an integer beyond 64 bits, a lone surrogate, and what `json` refuses too:
    # a date, a dataclass) goes to `_JSON`, which writes it, or refuses it, as before.
    try:
        return orjson.dumps(doc, option=_ORJSON_OPTIONS).decode()
    except TypeError:
        return _JSON.encode(doc) + "\n"


_ORJSON_OPTIONS = (
    orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


# A document is a tree of fresh dicts and lists (a dump's): the encoder need not keep the id
# of every container it is inside to refuse a cycle (a tenth of the encoding's time).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
