"""The catalog in the database: loaded from `seed/` by `flask seed`, read back as dataclasses."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any, get_type_hints

from sqlalchemy import delete, event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction

from app.errors import Problem
from app.models import (
    CatalogApplication,
    CatalogChallenge,
    CatalogCollaboration,
    CatalogContextItem,
    CatalogMitigation,
    CatalogPack,
    CatalogResponsibility,
    CatalogRiskRule,
    CatalogRole,
    CatalogTrait,
    CatalogVersion,
    CatalogWaiverPolicy,
)
from app.services.catalog.model import (
    Application,
    Catalog,
    Challenge,
    Collaboration,
    Condition,
    ContextCondition,
    ContextItem,
    Mitigation,
    NeverWaived,
    Pack,
    Passage,
    PriorityRule,
    Responsibility,
    RiskRule,
    Role,
    SourceRef,
    Trait,
    TraitValue,
    WaiverPolicy,
    WaiverRule,
)
from app.services.driver_reads import DriverReads
from app.vocabulary import WaiverApprover

_cache: dict[str, Catalog] = {}
_cache_lock = threading.Lock()


# Each table's columns are its entry's fields, by name; a field's type says how its column
# holds it (JSON for what is not a scalar). One mapping, both ways, from the model's types.
_JSON: dict[Any, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    SourceRef: (SourceRef.as_dict, lambda d: _source(d)),
    Condition: (Condition.as_dict, lambda d: _condition(d)),
    Condition | None: (
        lambda c: c.as_dict() if c is not None else None,
        lambda d: _condition(d) if d else None,
    ),
    tuple[str, ...]: (list, tuple),
    tuple[PriorityRule, ...]: (
        lambda rules: [{"when": r.when.as_dict(), "priority": r.priority} for r in rules],
        lambda rules: tuple(PriorityRule(_condition(r["when"]), r["priority"]) for r in rules),
    ),
    # An application's minimum priorities: {challenge_key: priority}.
    tuple[tuple[str, str], ...]: (dict, lambda d: tuple(sorted(d.items()))),
    ContextCondition: (
        ContextCondition.as_dict,
        lambda d: ContextCondition(
            risk_classifications=frozenset(d.get("risk_classifications", ())),
            jurisdictions_any=frozenset(d.get("jurisdictions_any", ())),
        ),
    ),
    tuple[WaiverRule, ...]: (
        lambda rules: [r.as_dict() for r in rules],
        lambda rules: tuple(
            WaiverRule(**{**r, "approver": WaiverApprover(r["approver"])}) for r in rules
        ),
    ),
    tuple[TraitValue, ...]: (
        lambda entries: [v.as_dict() for v in entries],
        lambda entries: tuple(TraitValue(**v) for v in entries),
    ),
    tuple[NeverWaived, ...]: (
        lambda entries: [n.as_dict() for n in entries],
        lambda entries: tuple(NeverWaived(**n) for n in entries),
    ),
}


def _condition(data: dict[str, Any]) -> Condition:
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


# Each entry of the catalog and the table that stores it.
_TABLES: dict[type, type[Any]] = {
    Role: CatalogRole,
    Responsibility: CatalogResponsibility,
    Collaboration: CatalogCollaboration,
    Challenge: CatalogChallenge,
    Mitigation: CatalogMitigation,
    Application: CatalogApplication,
    ContextItem: CatalogContextItem,
    Trait: CatalogTrait,
    RiskRule: CatalogRiskRule,
    Pack: CatalogPack,
    WaiverPolicy: CatalogWaiverPolicy,
}
# (name, type) of each entry's fields that are columns of its table (its children are not).
_COLUMNS: dict[type, tuple[tuple[str, Any], ...]] = {
    entry: tuple(
        (f.name, get_type_hints(entry)[f.name])
        for f in dataclasses.fields(entry)
        if f.name in inspect(table).columns
    )
    for entry, table in _TABLES.items()
}


def _row(entry: Any) -> dict[str, Any]:
    """The column values of `entry` in its table."""
    values = {}
    for name, hint in _COLUMNS[type(entry)]:
        value = getattr(entry, name)
        values[name] = _JSON[hint][0](value) if hint in _JSON else value
    return values


def _entry(row: Any, entry: type, **children: Any) -> Any:
    """The `entry` a stored `row` holds, with its `children` (read from their own rows)."""
    values = {}
    for name, hint in _COLUMNS[entry]:
        value = getattr(row, name)
        values[name] = _JSON[hint][1](value) if hint in _JSON else value
    return entry(**values, **children)


def _rows(catalog: Catalog) -> dict[type[Any], list[dict[str, Any]]]:
    """Every catalog entry as the column values of its table, parents before children."""
    return {
        CatalogRole: [_row(r) for r in catalog.roles],
        CatalogResponsibility: [_row(r) for role in catalog.roles for r in role.responsibilities],
        CatalogCollaboration: [_row(c) for c in catalog.collaborations],
        CatalogChallenge: [_row(c) for c in catalog.challenges],
        CatalogMitigation: [_row(m) for c in catalog.challenges for m in c.mitigations],
        CatalogApplication: [_row(a) for a in catalog.applications],
        CatalogContextItem: [_row(c) for c in catalog.context_items],
        CatalogTrait: [_row(t) for t in catalog.traits],
        CatalogRiskRule: [_row(r) for r in catalog.risk_rules],
        CatalogPack: [_row(p) for p in catalog.packs],
        CatalogWaiverPolicy: [_row(catalog.waiver_policy)] if catalog.waiver_policy else [],
    }


_LATEST_VERSION = select(CatalogVersion.version).order_by(CatalogVersion.id.desc()).limit(1)


def latest_version(session: Session) -> str | None:
    """The version of the catalog most recently seeded; None before `flask seed`."""
    # On the connection: a Core statement needs none of the ORM session's execution machinery.
    return session.connection().execute(_LATEST_VERSION).scalar()


def latest_version_read(reads: DriverReads) -> Callable[[], str | None]:
    """`latest_version` on the driver (the fast path's, `app.api.fast_reads`): the same
    statement, compiled once for `reads`' engine."""
    statement = reads.compiled(_LATEST_VERSION)

    def latest() -> str | None:
        row = reads.first(statement, {})
        return None if row is None else row[0]

    return latest


def seed_catalog(session: Session, catalog: Catalog) -> bool:
    """Upsert every entry by key and record the version; False when it was loaded already."""
    if latest_version(session) == catalog.version:
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
        version = session.info[_VERSION_IN_TRANSACTION] = latest_version(session)
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
    def ordered(table: Any) -> list[Any]:
        return list(session.scalars(select(table).order_by(table.position, table.key)))

    responsibilities: dict[str, list[Responsibility]] = {}
    for r in ordered(CatalogResponsibility):
        responsibilities.setdefault(r.role_key, []).append(_entry(r, Responsibility))
    mitigations: dict[str, list[Mitigation]] = {}
    for m in ordered(CatalogMitigation):
        mitigations.setdefault(m.challenge_key, []).append(_entry(m, Mitigation))
    return Catalog(
        version,
        roles=tuple(
            _entry(r, Role, responsibilities=tuple(responsibilities.get(r.key, ())))
            for r in ordered(CatalogRole)
        ),
        collaborations=tuple(_entry(c, Collaboration) for c in ordered(CatalogCollaboration)),
        challenges=tuple(
            _entry(c, Challenge, mitigations=tuple(mitigations.get(c.key, ())))
            for c in ordered(CatalogChallenge)
        ),
        applications=tuple(_entry(a, Application) for a in ordered(CatalogApplication)),
        context_items=tuple(_entry(c, ContextItem) for c in ordered(CatalogContextItem)),
        traits=tuple(_entry(t, Trait) for t in ordered(CatalogTrait)),
        risk_rules=tuple(_entry(r, RiskRule) for r in ordered(CatalogRiskRule)),
        packs=tuple(_entry(p, Pack) for p in ordered(CatalogPack)),
        waiver_policy=next((_entry(p, WaiverPolicy) for p in ordered(CatalogWaiverPolicy)), None),
    )
