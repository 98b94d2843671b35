"""The catalog in the database: loaded from `seed/` by `flask seed`, read back as dataclasses."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

import marshmallow as ma
from marshmallow.experimental.context import Context
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session, SessionTransaction

from app.errors import Problem, ValidationFailed
from app.models import (
    CatalogApplication,
    CatalogChallenge,
    CatalogCollaboration,
    CatalogMitigation,
    CatalogResponsibility,
    CatalogRole,
    CatalogVersion,
)
from app.services.catalog.model import (
    Application,
    Catalog,
    Challenge,
    Collaboration,
    Condition,
    Mitigation,
    Passage,
    PriorityRule,
    Responsibility,
    Role,
    SourceRef,
)

_cache: dict[str, Catalog] = {}
_cache_lock = threading.Lock()


def _condition(data: dict[str, Any] | None) -> Condition:
    data = data or {}
    return Condition(
        traits_any=frozenset(data.get("traits_any", ())),
        applications_any=frozenset(data.get("applications_any", ())),
    )


def _source(data: dict[str, Any]) -> SourceRef:
    elaborates = data.get("elaborates")
    return SourceRef(
        kind=data["kind"],
        section=data["section"],
        quote=data.get("quote"),
        elaborates=Passage(**elaborates) if elaborates else None,
    )


def _rows(catalog: Catalog) -> dict[type, list[dict[str, Any]]]:
    """Every catalog entry as the column values of its table."""
    rows: dict[type, list[dict[str, Any]]] = {
        CatalogRole: [],
        CatalogResponsibility: [],
        CatalogCollaboration: [],
        CatalogChallenge: [],
        CatalogMitigation: [],
        CatalogApplication: [],
    }
    for role in catalog.roles:
        rows[CatalogRole].append(
            {
                "key": role.key,
                "position": role.position,
                "source": role.source.as_dict(),
                "title": role.title,
                "summary": role.summary,
                "required": role.required,
                "required_when": role.required_when.as_dict() if role.required_when else None,
                "skills": list(role.skills),
                "article_skills": list(role.article_skills),
            }
        )
        for resp in role.responsibilities:
            rows[CatalogResponsibility].append(
                {
                    "key": resp.key,
                    "position": resp.position,
                    "source": resp.source.as_dict(),
                    "role_key": role.key,
                    "title": resp.title,
                    "text": resp.text,
                    "detail": resp.detail,
                    "done_when": resp.done_when,
                    "phase": resp.phase,
                    "priority": resp.priority,
                    "evidence_required": resp.evidence_required,
                }
            )
    for collab in catalog.collaborations:
        rows[CatalogCollaboration].append(
            {
                "key": collab.key,
                "position": collab.position,
                "source": collab.source.as_dict(),
                "role_key": collab.role_key,
                "collaborates_with": list(collab.collaborates_with),
                "outcomes": list(collab.outcomes),
            }
        )
    for challenge in catalog.challenges:
        rows[CatalogChallenge].append(
            {
                "key": challenge.key,
                "position": challenge.position,
                "source": challenge.source.as_dict(),
                "title": challenge.title,
                "description": challenge.description,
            }
        )
        for mit in challenge.mitigations:
            rows[CatalogMitigation].append(
                {
                    "key": mit.key,
                    "position": mit.position,
                    "source": mit.source.as_dict(),
                    "challenge_key": challenge.key,
                    "title": mit.title,
                    "detail": mit.detail,
                    "done_when": mit.done_when,
                    "phase": mit.phase,
                    "priority_because": mit.priority_because,
                    "fulfils": list(mit.fulfils),
                    "signoff_required": mit.signoff_required,
                    "reviewer_roles": list(mit.reviewer_roles),
                    "evidence_required": mit.evidence_required,
                    "owner_roles": list(mit.owner_roles),
                    "priority": mit.priority,
                    "applies_when": mit.applies_when.as_dict(),
                    "raised_when": [
                        {"when": rule.when.as_dict(), "priority": rule.priority}
                        for rule in mit.raised_when
                    ],
                    "nist": list(mit.nist),
                    "genai_risks": list(mit.genai_risks),
                    "replaces": list(mit.replaces),
                }
            )
    for app_ in catalog.applications:
        rows[CatalogApplication].append(
            {
                "key": app_.key,
                "position": app_.position,
                "source": app_.source.as_dict(),
                "title": app_.title,
                "description": app_.description,
                "requires_roles": list(app_.requires_roles),
                "raises": dict(app_.raises),
                "implies_traits": list(app_.implies_traits),
            }
        )
    return rows


_LATEST_VERSION = select(CatalogVersion.version).order_by(CatalogVersion.id.desc()).limit(1)


def _latest_version(session: Session) -> str | None:
    # On the connection: a Core statement needs none of the ORM session's execution machinery.
    return session.connection().execute(_LATEST_VERSION).scalar()


def seed_catalog(session: Session, catalog: Catalog) -> bool:
    """Upsert every entry by key and record the version; False when it was loaded already."""
    if _latest_version(session) == catalog.version:
        return False
    rows = _rows(catalog)
    # Parents before children on insert; children before parents on delete.
    for model, values in rows.items():
        existing = {row.key: row for row in session.scalars(select(model))}
        for value in values:
            row = existing.get(value["key"])
            if row is None:
                session.add(model(**value))
            else:
                for column, v in value.items():
                    if getattr(row, column) != v:
                        setattr(row, column, v)
        session.flush()
    for model, values in reversed(rows.items()):
        keep = [v["key"] for v in values]
        session.execute(delete(model).where(model.key.not_in(keep)))
    # A version seen before (a rollback to older data) becomes the latest again.
    session.execute(delete(CatalogVersion).where(CatalogVersion.version == catalog.version))
    session.add(CatalogVersion(version=catalog.version))
    session.flush()
    session.info.pop(_VERSION_IN_TRANSACTION, None)
    return True


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


_VERSION_IN_TRANSACTION = "catalog_version"


@event.listens_for(Session, "after_transaction_end")
def _forget_version(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_VERSION_IN_TRANSACTION, None)


def current_catalog(session: Session) -> Catalog:
    """The catalog most recently seeded; built once per version, then served from memory.
    Its version is read once per transaction."""
    version = session.info.get(_VERSION_IN_TRANSACTION)
    if version is None:
        version = session.info[_VERSION_IN_TRANSACTION] = _latest_version(session)
    if version is None:
        raise Problem(
            "The catalog has not been loaded; an operator must run 'flask seed'.",
            status=503,
            title="Catalog not loaded",
            slug="catalog-not-loaded",
        )
    cached = _cache.get(version)
    if cached is not None:
        return cached
    catalog = _read_catalog(session, version)
    with _cache_lock:
        _cache.clear()
        _cache[version] = catalog
    return catalog


def catalog_for(session: Session, version: str) -> Catalog:
    """The catalog a checklist was generated from when it is in memory (no query), else the
    current one."""
    return _cache.get(version) or current_catalog(session)


def _read_catalog(session: Session, version: str) -> Catalog:
    def ordered(model: Any) -> list[Any]:
        return list(session.scalars(select(model).order_by(model.position, model.key)))

    responsibilities: dict[str, list[Responsibility]] = {}
    for r in ordered(CatalogResponsibility):
        responsibilities.setdefault(r.role_key, []).append(
            Responsibility(
                key=r.key,
                role_key=r.role_key,
                title=r.title,
                text=r.text,
                position=r.position,
                source=_source(r.source),
                detail=r.detail,
                done_when=r.done_when,
                phase=r.phase,
                priority=r.priority,
                evidence_required=r.evidence_required,
            )
        )
    mitigations: dict[str, list[Mitigation]] = {}
    for m in ordered(CatalogMitigation):
        mitigations.setdefault(m.challenge_key, []).append(
            Mitigation(
                key=m.key,
                challenge_key=m.challenge_key,
                title=m.title,
                detail=m.detail,
                owner_roles=tuple(m.owner_roles),
                priority=m.priority,
                position=m.position,
                source=_source(m.source),
                done_when=m.done_when,
                phase=m.phase,
                priority_because=m.priority_because,
                fulfils=tuple(m.fulfils),
                signoff_required=m.signoff_required,
                reviewer_roles=tuple(m.reviewer_roles),
                evidence_required=m.evidence_required,
                applies_when=_condition(m.applies_when),
                raised_when=tuple(
                    PriorityRule(_condition(rule["when"]), rule["priority"])
                    for rule in m.raised_when
                ),
                nist=tuple(m.nist),
                genai_risks=tuple(m.genai_risks),
                replaces=tuple(m.replaces),
            )
        )
    roles = tuple(
        Role(
            key=r.key,
            title=r.title,
            summary=r.summary,
            required=r.required,
            position=r.position,
            source=_source(r.source),
            skills=tuple(r.skills),
            article_skills=tuple(r.article_skills),
            responsibilities=tuple(responsibilities.get(r.key, ())),
            required_when=_condition(r.required_when) if r.required_when else None,
        )
        for r in ordered(CatalogRole)
    )
    collaborations = tuple(
        Collaboration(
            c.key,
            c.role_key,
            tuple(c.collaborates_with),
            tuple(c.outcomes),
            c.position,
            _source(c.source),
        )
        for c in ordered(CatalogCollaboration)
    )
    challenges = tuple(
        Challenge(
            c.key,
            c.title,
            c.description,
            c.position,
            _source(c.source),
            tuple(mitigations.get(c.key, ())),
        )
        for c in ordered(CatalogChallenge)
    )
    applications = tuple(
        Application(
            key=a.key,
            title=a.title,
            description=a.description,
            position=a.position,
            source=_source(a.source),
            requires_roles=tuple(a.requires_roles),
            raises=tuple(sorted(a.raises.items())),
            implies_traits=tuple(a.implies_traits),
        )
        for a in ordered(CatalogApplication)
    )
    return Catalog(version, roles, collaborations, challenges, applications)
