"""Catalog keys in requests: checked against the catalog in force, by schemas and services."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Literal

import marshmallow as ma
from marshmallow.experimental.context import Context

from app.errors import ValidationFailed
from app.services.catalog.model import Catalog


def check_keys(
    catalog: Catalog,
    *,
    applications: Mapping[str, str] | None = None,
    roles: Mapping[str, str] | None = None,
) -> None:
    """Refuse, naming every field, values that are not keys of the catalog.

    `applications` and `roles` map a field's name in the request (`project.application`,
    `assignments.3.role`) to the key it holds. Schemas cannot check these: the catalog is data.
    """
    errors: dict[str, list[str]] = {}
    unknown: list[str] = []
    for known, given in ((catalog.application_keys, applications), (catalog.role_keys, roles)):
        for field_name, key in (given or {}).items():
            if key not in known:
                errors[field_name] = [f"Must be one of: {', '.join(known)}."]
                unknown.append(f"'{key}'")
    if errors:
        raise ValidationFailed(f"Not in the catalog: {', '.join(unknown)}.", errors=errors)


KeyKind = Literal["roles", "applications", "challenges"]


def _keys(catalog: Catalog, kind: KeyKind) -> tuple[str, ...]:
    return tuple(entry.key for entry in getattr(catalog, kind))


@contextmanager
def validating_against(catalog: Callable[[], Catalog]) -> Iterator[None]:
    """Schemas loaded inside check catalog keys (`InCatalog`) against `catalog()`, called
    once, when a key is first checked: a request without keys reads no catalog."""
    loaded: list[Catalog] = []

    def once() -> Catalog:
        if not loaded:
            loaded.append(catalog())
        return loaded[0]

    with Context({"catalog": once}):
        yield


class InCatalog(ma.validate.Validator):
    """A key of the catalog in force, checked with the request's other fields, so one 422
    names every problem.

    Schemas do not read the database: the catalog is the one the caller of `load` set with
    `validating_against` (the API's arguments parser does). Loaded without one, the field is
    checked by shape only; the services check keys again (`check_keys`) in the transaction.
    """

    def __init__(self, kind: KeyKind) -> None:
        self.kind = kind

    def __call__(self, value: str) -> str:
        context = Context.get(None)
        if not isinstance(context, dict) or "catalog" not in context:
            return value
        known = _keys(context["catalog"](), self.kind)
        if value not in known:
            raise ma.ValidationError(f"Must be one of: {', '.join(known)}.")
        return value
