"""Field types shared by the resource schemas."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from typing import Any, Literal, TypedDict, Unpack

import marshmallow as ma
from marshmallow import validate

from app.services.catalog.keys import InCatalog
from app.vocabulary import values

SLUG = validate.Regexp(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$", error="Use lower-case letters, digits and single hyphens."
)
KEY = validate.Regexp(r"^[a-z0-9][a-z0-9.+-]*$", error="Not a catalog key.")


CatalogKind = Literal["roles", "applications", "challenges"]


class FieldOptions(TypedDict, total=False):
    """What a schema may set on a shared field; the field's validators are its own."""

    required: bool
    load_default: object
    attribute: str
    data_key: str
    allow_none: bool


@cache
def seeded_keys(kind: CatalogKind) -> tuple[str, ...]:
    """The keys of one kind of entry in the catalog that `flask seed` installs (`seed/`)."""
    from seed.loader import seeded_catalog

    return tuple(entry.key for entry in getattr(seeded_catalog(), kind))


def catalog_key_field(
    kind: CatalogKind,
    *,
    metadata: Mapping[str, object] | None = None,
    **kwargs: Unpack[FieldOptions],
) -> ma.fields.String:
    """A catalog key: `/openapi.json` lists the seeded catalog's keys as its `enum`.

    Which keys exist is data (an operator may seed another catalog): `InCatalog` checks the
    key against the catalog in force with the other fields, a 422 naming the field and the
    keys there are.
    """
    return ma.fields.String(
        validate=[validate.Length(min=1, max=80), KEY, InCatalog(kind)],
        metadata={"enum": list(seeded_keys(kind)), **(metadata or {})},
        **kwargs,
    )


# White space as Python's `\s` and JavaScript's (JSON Schema's) `\s` together: the two differ
# (Python's holds U+001C-U+001F and U+0085, JavaScript's U+FEFF), so the pattern spells it out
# for `/openapi.json` to mean what the server checks.
SPACE = r"\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NOT_BLANK = validate.Regexp(f"^[{SPACE}]*[^{SPACE}]", error="Blank.")
NO_SPACES = validate.Regexp(f"^[^{SPACE}]+$", error="No spaces.")


class StrictBoolean(ma.fields.Boolean):
    """A JSON `true` or `false`, nothing else: marshmallow's own Boolean also takes 1, "yes",
    "on" and the like, which `/openapi.json` (`type: boolean`) does not allow."""

    def _deserialize(self, value: object, attr: str | None, data: object, **kwargs: object) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def name_field(
    max_length: int = 200,
    *,
    metadata: Mapping[str, object] | None = None,
    **kwargs: Unpack[FieldOptions],
) -> ma.fields.String:
    return ma.fields.String(
        validate=[validate.Length(min=1, max=max_length), NOT_BLANK],
        metadata=dict(metadata or {}),
        **kwargs,
    )


class Handles(ma.Schema):
    """A person's handles in the ticketing systems, used to assign tickets."""

    github = ma.fields.String(
        allow_none=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$",
            error="Not a GitHub username.",
        ),
    )
    jira = ma.fields.String(
        allow_none=True,
        validate=[validate.Length(min=1, max=128), NO_SPACES],
    )
    linear = ma.fields.String(
        allow_none=True,
        validate=[validate.Length(min=1, max=128), NO_SPACES],
    )


def enum_field(enum: type[StrEnum], **kwargs: Any) -> ma.fields.String:
    """A string field that takes (and documents) the values of one `StrEnum`."""
    return ma.fields.String(validate=validate.OneOf(values(enum)), **kwargs)
