"""A page's HTML as a tree to assert on (stdlib only): elements, their attributes and text, with
every element closed in order, or the parse fails."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The element's text, its runs of whitespace made one space."""
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    def iter(self) -> list[Element]:
        found = [self]
        for child in self.children:
            if isinstance(child, Element):
                found += child.iter()
        return found

    def find_all(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.iter()
            if e.tag == tag
            and all(attr_has(e, name.rstrip("_"), value) for name, value in attrs.items())
        ]

    def find(self, tag: str, **attrs: str) -> Element:
        [found] = self.find_all(tag, **attrs)
        return found


def attr_has(element: Element, name: str, value: str) -> bool:
    """Whether the attribute is `value`, or a `class` holds it among its names."""
    given = element.attrs.get(name)
    if given is None:
        return False
    return value in given.split() if name == "class" else given == value


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document")
        self.stack = [self.root]
        self.doctype: str | None = None

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        open_tag = self.stack.pop().tag
        assert open_tag == tag, f"</{tag}> closes <{open_tag}>"

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> tuple[Element, str | None]:
    """The page's tree and its doctype; an element left open or closed out of order fails."""
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], [e.tag for e in builder.stack]
    return builder.root, builder.doctype


def headings(root: Element) -> list[tuple[int, str]]:
    """Every heading as (level, text), in document order."""
    return [(int(e.tag[1]), e.text) for e in root.iter() if re.fullmatch(r"h[1-6]", e.tag)]


def table_rows(table: Element) -> list[list[str]]:
    """A table's body rows as the text of their cells (the row header first)."""
    rows = table.find("tbody").find_all("tr")
    return [[c.text for c in row.iter()[1:] if c.tag in ("th", "td")] for row in rows]
