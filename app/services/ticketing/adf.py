"""Markdown to the Atlassian Document Format (ADF), the rich text Jira Cloud's REST API v3 takes
for an issue's description.

The Markdown is parsed by markdown-it-py (CommonMark); its tokens are mapped to ADF nodes:
paragraphs, headings, bullet and ordered lists, code blocks, hard breaks, and the `strong`,
`em`, `code` and `link` marks (bare `http(s)` URLs in text become links too). Anything else is
kept as its text. A ticket text's marker line is a paragraph of its own, whose text is the
marker: what the inbound side (`payloads.jira_text`) and the syncer's look-up read back.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["markdown_to_adf"]

_PARSER = MarkdownIt("commonmark")
_URL = re.compile(r"https?://[^\s<>()]+[^\s<>().,;:!?]")
# Block tokens that open a node, and the ADF node each opens.
_BLOCKS = {
    "paragraph_open": "paragraph",
    "heading_open": "heading",
    "bullet_list_open": "bulletList",
    "ordered_list_open": "orderedList",
    "list_item_open": "listItem",
    "blockquote_open": "blockquote",
}
_MARKS = {"strong_open": "strong", "em_open": "em", "s_open": "strike"}


def markdown_to_adf(markdown: str) -> dict[str, Any]:
    """An ADF document (version 1) showing `markdown`."""
    doc: dict[str, Any] = {"type": "doc", "version": 1, "content": []}
    stack = [doc]
    for token in _PARSER.parse(markdown):
        if token.type in _BLOCKS:
            node: dict[str, Any] = {"type": _BLOCKS[token.type], "content": []}
            if token.type == "heading_open":
                node["attrs"] = {"level": int(token.tag[1])}
            stack[-1]["content"].append(node)
            stack.append(node)
        elif token.type.endswith("_close") and token.type.replace("_close", "_open") in _BLOCKS:
            closed = stack.pop()
            if not closed["content"] and closed["type"] in ("paragraph", "heading"):
                closed.pop("content")
        elif token.type == "inline":
            stack[-1]["content"].extend(_inline(token.children or []))
        elif token.type in ("fence", "code_block"):
            text = token.content.rstrip("\n")
            block: dict[str, Any] = {"type": "codeBlock"}
            if text:
                block["content"] = [{"type": "text", "text": text}]
            stack[-1]["content"].append(block)
        elif token.type == "hr":
            stack[-1]["content"].append({"type": "rule"})
    return doc


def _inline(tokens: list[Token]) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    for token in tokens:
        if token.type in _MARKS:
            marks.append({"type": _MARKS[token.type]})
        elif token.type == "link_open":
            marks.append({"type": "link", "attrs": {"href": str(token.attrs.get("href", ""))}})
        elif token.type.endswith("_close") and marks:
            marks.pop()
        elif token.type == "code_inline":
            nodes.append(_text(token.content, [*marks, {"type": "code"}]))
        elif token.type in ("softbreak", "hardbreak"):
            nodes.append({"type": "hardBreak"})
        elif token.type in ("text", "html_inline") and token.content:
            nodes.extend(_linked(token.content, marks))
    return nodes


def _linked(text: str, marks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Text, with its bare URLs as links (unless it is in a link already)."""
    if any(mark["type"] == "link" for mark in marks):
        return [_text(text, marks)]
    nodes = []
    at = 0
    for found in _URL.finditer(text):
        if found.start() > at:
            nodes.append(_text(text[at : found.start()], marks))
        link = {"type": "link", "attrs": {"href": found.group()}}
        nodes.append(_text(found.group(), [*marks, link]))
        at = found.end()
    if at < len(text):
        nodes.append(_text(text[at:], marks))
    return nodes


def _text(text: str, marks: list[dict[str, Any]]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    if marks:
        # `code` goes with no other mark but `link` in ADF.
        if any(mark["type"] == "code" for mark in marks):
            marks = [m for m in marks if m["type"] in ("code", "link")]
        node["marks"] = [dict(mark) for mark in marks]
    return node
