"""Read seed/catalog.yaml once, validate it with the catalog's schemas, and version it."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from app.services.catalog.model import Catalog
from app.services.catalog.schema import CatalogError, load_sections

SEED_DIR = Path(__file__).resolve().parent
DEFAULT_PATH = SEED_DIR / "catalog.yaml"
ARTICLE_PATH = SEED_DIR / "source" / "article.txt"

__all__ = [
    "ARTICLE_PATH",
    "DEFAULT_PATH",
    "CatalogError",
    "content_hash",
    "load_catalog",
    "seeded_catalog",
]


def load_catalog(path: Path | None = None) -> Catalog:
    """Parse, validate and build the catalog; `version` is a hash of the parsed data."""
    path = Path(path) if path is not None else DEFAULT_PATH
    data = _parse(path)
    sections = load_sections(data, ARTICLE_PATH.read_text(encoding="utf-8"))
    return Catalog(version=content_hash(data), **sections)


@cache
def seeded_catalog() -> Catalog:
    """The catalog `flask seed` installs, parsed and validated once a process: what
    `/openapi.json` documents of it (its keys, its waiver policy) reads this one copy. `flask
    seed` itself reads the file afresh (`load_catalog`)."""
    return load_catalog()


def content_hash(data: Any) -> str:
    """`sha256:<hex>` of the canonical JSON form of parsed catalog data."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _parse(path: Path) -> Any:
    """The file's data, parsed once: its node tree is checked for duplicate keys, then built."""
    loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
    try:
        node = loader.get_single_node()
        _reject_duplicate_keys(node, "catalog")
        return None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path.name}: invalid YAML: {exc}") from exc
    finally:
        loader.dispose()


def _reject_duplicate_keys(node: yaml.Node | None, where: str) -> None:
    """PyYAML silently keeps the last of duplicate keys; refuse them instead."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise CatalogError(f"{where}: duplicate key {key!r} (line {line})")
            seen.add(key)
            _reject_duplicate_keys(value_node, f"{where}.{key}")
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicate_keys(item, f"{where}[{index}]")
