"""A team's data as newline-delimited JSON, and back: for an audit, or to move the team to
another instance.

An export is one snapshot of the team, a record a line, each `{"type": …, "data": {…}}` with the
row's columns as stored (ids, versions and revisions included, so that ETags, links and
revisions stay what they were): first an `export` header (the format, the schema's migration,
the catalog version, the team), then the tables of `TABLES` in an order an import can insert
them in, then an `end` line counting the records, so that a file cut short is refused.

What is left out, and why, is `NOT_EXPORTED`: no secret leaves (API keys, webhook endpoints' and
integrations' secrets), nor what is transient or can be made again (idempotency records,
deliveries, share links).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Date, DateTime, Select, Table, insert, select

from app.models import (
    Assignment,
    Checklist,
    ChecklistItem,
    ChecklistItemOwner,
    ChecklistItemVersion,
    ChecklistRevision,
    Erasure,
    Event,
    Integration,
    Person,
    Project,
    Release,
    Team,
    WebhookEndpoint,
    utcnow,
)

FORMAT = 1
BATCH = 1000
MEDIA_TYPE = "application/x-ndjson"


@dataclass(frozen=True)
class Exported:
    """A table of the team's, as one type of record: the columns it leaves out, and those an
    import makes anew (a secret nobody knows, to be rotated)."""

    type: str
    table: Table
    omit: tuple[str, ...] = ()

    def rows(self, team_id: str) -> Select[Any]:
        """The team's rows, in a stable order."""
        columns = [c for c in self.table.c if c.name not in self.omit]
        if "team_id" in self.table.c:
            query = select(*columns).where(self.table.c.team_id == team_id)
        else:  # an item's owners: the team's through their items
            items = ChecklistItem.__table__
            query = (
                select(*columns)
                .join(items, items.c.id == self.table.c.item_id)
                .where(items.c.team_id == team_id)
            )
        return query.order_by(*self.table.primary_key.columns)


_SECRETS = ("secret", "previous_secret", "previous_secret_expires_at")

# Parents before children: the order an import inserts them in.
TABLES: tuple[Exported, ...] = (
    Exported("person", Person.__table__),
    Exported("project", Project.__table__),
    Exported("assignment", Assignment.__table__),
    Exported("release", Release.__table__),
    Exported("checklist", Checklist.__table__),
    Exported("checklist_item", ChecklistItem.__table__),
    Exported("checklist_item_owner", ChecklistItemOwner.__table__),
    Exported("checklist_revision", ChecklistRevision.__table__),
    Exported("checklist_item_version", ChecklistItemVersion.__table__),
    Exported("event", Event.__table__),
    Exported("webhook_endpoint", WebhookEndpoint.__table__, omit=_SECRETS),
    # A tracker's token is encrypted with this instance's key: set the tickets again there.
    Exported("integration", Integration.__table__, omit=(*_SECRETS, "tickets_token")),
    # Who was erased (ids only): erasing them again on the new instance answers the same.
    Exported("erasure", Erasure.__table__),
)
BY_TYPE = {exported.type: exported for exported in TABLES}

NOT_EXPORTED: dict[str, str] = {
    "api_keys": "secrets: make the team's keys again on the new instance",
    "idempotency_records": "stored answers of retried requests, kept a day",
    "checklist_shares": "links whose tokens only their holders have: make them again",
    "webhook_deliveries": "the outbox and its log: the events they carried are exported",
    "webhook_attempts": "the attempts of those deliveries",
    "inbound_deliveries": "the log of tracker deliveries: what they changed is in the events",
    "ticket_syncs": "native tickets' sync state: the items' ticket links are exported",
}


class NotImportable(Exception):
    """The file cannot be imported; nothing was written."""


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), default=_value) + "\n"


def export_lines(
    connection: Connection, team_id: str, *, migration: str | None, catalog_version: str | None
) -> Iterator[str]:
    """The team's export, a line at a time, read on `connection` (in one transaction the
    caller holds, for one snapshot: `app.extensions.snapshot`)."""
    team = connection.execute(select(Team.__table__).where(Team.__table__.c.id == team_id)).one()
    header = {
        "format": FORMAT,
        "exported_at": utcnow(),
        "migration": migration,
        "catalog_version": catalog_version,
        "team": dict(team._mapping),
        "not_exported": NOT_EXPORTED,
    }
    yield _line({"type": "export", "data": header})
    count = 0
    for exported in TABLES:
        result = connection.execution_options(yield_per=BATCH).execute(exported.rows(team_id))
        for row in result:
            count += 1
            yield _line({"type": exported.type, "data": dict(row._mapping)})
    yield _line({"type": "end", "data": {"records": count}})


@dataclass
class Imported:
    """What an import wrote: the team, and the records of each type."""

    team: dict[str, Any]
    counts: dict[str, int]


def import_lines(
    connection: Connection,
    lines: Iterable[str],
    *,
    migration: str | None,
    catalog_version: str | None,
) -> Imported:
    """Insert an export's records on `connection`, in the caller's transaction (which it
    rolls back on any error: nothing is half imported). The team must not exist here, and
    the export must be of this schema's migration and of the catalog loaded here (its
    projects, staffing and checklists name the catalog's applications and roles). Webhook
    endpoints come disabled and, as integrations, with a new secret nobody knows: rotate it
    to read one."""
    records = iter(lines)
    header = _header(next(records, ""), migration, catalog_version)
    team = header["team"]
    teams = Team.__table__
    if connection.execute(
        select(teams.c.id).where((teams.c.id == team["id"]) | (teams.c.slug == team["slug"]))
    ).first():
        raise NotImportable(f"A team '{team['slug']}' (or id {team['id']}) is already here.")
    connection.execute(insert(teams), [_typed(teams, team)])
    counts = {exported.type: 0 for exported in TABLES}
    pending: list[dict[str, Any]] = []
    current: Exported | None = None
    ended = False
    for number, line in enumerate(records, start=2):
        if ended:
            raise NotImportable(f"Line {number}: a record after the end line.")
        record = _record(line, number)
        if record["type"] == "end":
            if (said := record["data"].get("records")) != (held := sum(counts.values())):
                raise NotImportable(
                    f"Line {number}: the end line counts {said} records, the file holds {held}."
                )
            ended = True
            continue
        exported = BY_TYPE.get(record["type"])
        if exported is None:
            raise NotImportable(f"Line {number}: unknown record type '{record['type']}'.")
        if current is not exported:
            if current is not None and TABLES.index(exported) < TABLES.index(current):
                raise NotImportable(f"Line {number}: '{exported.type}' out of order.")
            _flush(connection, current, pending)
            current = exported
        row = _typed(exported.table, record["data"])
        if row.get("team_id", team["id"]) != team["id"]:
            raise NotImportable(f"Line {number}: a record of another team.")
        pending.append(_with_new_secret(exported, row))
        counts[exported.type] += 1
        if len(pending) >= BATCH:
            _flush(connection, current, pending)
    if not ended:
        raise NotImportable("The file ends before its end line: it was cut short.")
    _flush(connection, current, pending)
    return Imported(team, counts)


def _header(line: str, migration: str | None, catalog_version: str | None) -> dict[str, Any]:
    record: dict[str, Any] = _record(line, 1) if line else {"type": None}
    if record["type"] != "export":
        raise NotImportable("Line 1: not an export (its first line is the export header).")
    header: dict[str, Any] = record["data"]
    if header.get("format") != FORMAT:
        raise NotImportable(f"Line 1: export format {header.get('format')}, expected {FORMAT}.")
    team = header.get("team")
    if not (isinstance(team, dict) and all(isinstance(team.get(k), str) for k in ("id", "slug"))):
        raise NotImportable("Line 1: the header names no team (its id and slug).")
    if header.get("migration") != migration:
        raise NotImportable(
            f"Line 1: exported at migration {header.get('migration')}, this database is at "
            f"{migration}: import it into an instance of the same version."
        )
    if header.get("catalog_version") != catalog_version:
        here = catalog_version or "none (run `flask seed` first)"
        raise NotImportable(
            f"Line 1: exported with catalog {header.get('catalog_version')}, this instance's "
            f"catalog is {here}: import it into an instance of the same version."
        )
    return header


def _record(line: str, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError as error:
        raise NotImportable(f"Line {number}: not JSON ({error}).") from error
    if not (
        isinstance(record, dict)
        and isinstance(record.get("type"), str)
        and isinstance(record.get("data"), dict)
    ):
        raise NotImportable(f"Line {number}: not a record ({{'type': …, 'data': {{…}}}}).")
    return record


def _typed(table: Table, data: dict[str, Any]) -> dict[str, Any]:
    """The row as the table stores it: timestamps and days parsed back."""
    unknown = set(data) - set(table.c.keys())
    if unknown:
        raise NotImportable(f"{table.name}: unknown columns {sorted(unknown)}.")
    row = dict(data)
    for column in table.c:
        value = row.get(column.name)
        # The stored type (UTC timestamps are a decorator over DateTime).
        kind = getattr(column.type, "impl_instance", column.type)
        if isinstance(value, str) and isinstance(kind, DateTime | Date):
            try:
                row[column.name] = (
                    datetime.fromisoformat(value)
                    if isinstance(kind, DateTime)
                    else date.fromisoformat(value)
                )
            except ValueError as error:
                raise NotImportable(f"{table.name}.{column.name}: {error}.") from error
    return row


def _with_new_secret(exported: Exported, row: dict[str, Any]) -> dict[str, Any]:
    if "secret" not in exported.omit:
        return row
    row = {**row, "secret": f"whsec_{secrets.token_urlsafe(32)}"}
    if exported.type == "webhook_endpoint" and row.get("enabled"):
        row.update(
            enabled=False,
            disabled_at=utcnow(),
            disabled_reason="Imported: rotate its secret, give the new one to the receiver, "
            "then enable it.",
        )
    return row


def _flush(
    connection: Connection, exported: Exported | None, pending: list[dict[str, Any]]
) -> None:
    if exported is not None and pending:
        connection.execute(insert(exported.table), pending)
    pending.clear()
