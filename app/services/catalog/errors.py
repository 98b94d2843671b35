"""The catalog's validation errors: marshmallow's messages as lines that name their path."""

from __future__ import annotations

from typing import Any

from marshmallow import fields
from marshmallow.exceptions import SCHEMA

UNKNOWN_FIELD = "unknown field"
MISSING_FIELD = fields.Field.default_error_messages["required"]


class CatalogError(ValueError):
    """The catalog data is malformed or inconsistent; the message names each entry and field."""


def error_lines(errors: Any, raw: Any, label: str, *, prefix: str, in_entry: bool) -> list[str]:
    """marshmallow's error messages as `path: message` lines.

    An entry of a list is named by its key when its key is sound (`roles[data-scientist]`),
    else by its position (`roles[1].key: duplicate key ...`); an entry inside another one is
    named by its position too while fields are missing or unknown. `prefix` starts the path
    of the node's fields (the root's fields are named alone: `applications`).
    """
    if not isinstance(errors, dict):
        return [f"{label}: {message}" for message in errors]
    lines: list[str] = []
    for what, marker in (("unknown", UNKNOWN_FIELD), ("missing", MISSING_FIELD)):
        names = [str(name) for name, messages in errors.items() if messages == [marker]]
        if names:
            lines.append(f"{label}: {what} field(s) {', '.join(names)}")
    for name, messages in errors.items():
        if messages in ([UNKNOWN_FIELD], [MISSING_FIELD]):
            continue
        if name == SCHEMA:
            lines += [f"{label}: {message}" for message in messages]
        elif isinstance(name, int):
            entry = raw[name] if isinstance(raw, list) and name < len(raw) else None
            named = f"{label}[{_entry_name(entry, messages, name, in_entry)}]"
            lines += error_lines(messages, entry, named, prefix=f"{named}.", in_entry=True)
        else:
            value = raw.get(name) if isinstance(raw, dict) else None
            lines += error_lines(
                messages, value, f"{prefix}{name}", prefix=f"{prefix}{name}.", in_entry=in_entry
            )
    return lines


def _entry_name(entry: Any, errors: Any, index: int, in_entry: bool) -> str | int:
    key = entry.get("key") if isinstance(entry, dict) else None
    if not isinstance(key, str) or (isinstance(errors, dict) and "key" in errors):
        return index
    incomplete = isinstance(errors, dict) and any(
        messages in ([UNKNOWN_FIELD], [MISSING_FIELD]) for messages in errors.values()
    )
    return index if in_entry and incomplete else key
