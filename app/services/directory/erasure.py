"""Erasing a person: they leave the directory, and every stored copy of their name, email and
handles is replaced by their pseudonym, `erased:<person id>`.

The copies are found, not listed: every text and JSON column of every table that holds a
team's data (`scanned_tables`) is searched for the person's name, email and handles, in their
stored forms (as written, and as JSON escapes them), and each value that names them is
rewritten. JSON is walked value by value, and a snapshot of another person (a dict whose `id`
is another `per_…`) is left as it is, so a namesake keeps their name there; free text (a
webhook body as sent, a receiver's answer, a stored idempotent answer) is rewritten wherever
the name stands as a word. The ids stay: who did what is still traceable, to the pseudonym.

What it does to what clients hold (ETags): every rewritten row that has a version gets a new
one (people, projects, items, endpoints, integrations, releases), every checklist that showed
the person changes state (a new ETag, and its cached renderings are never served again), and
a checklist whose kept revisions were rewritten counts it in `redactions`, which every
revision's ETag includes. Each rewritten item version gets the digest of what it now holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Column, String, Table, Text, cast, func, or_, select, update
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import (
    Base,
    Checklist,
    ChecklistItem,
    ChecklistItemOwner,
    Erasure,
    Event,
    Person,
    WebhookAttempt,
    WebhookDelivery,
)
from app.services.checklists.refresh import touch_checklists
from app.services.checklists.revisions import version_digest
from app.services.context import Context
from app.services.directory.people import get_person, leave_every_role
from app.services.events import record_event
from app.services.locks import lock_checklists

PSEUDONYM_PREFIX = "erased:"

# The columns that may hold a copy of a person: free text people write (a name in a note),
# text the service writes about people (a staffing finding's title), and the snapshots it keeps
# (events, deliveries, revisions). Only these are searched and rewritten.
PERSONAL_COLUMNS: Mapping[str, frozenset[str]] = {
    table: frozenset(columns.split())
    for table, columns in {
        "idempotency_records": "response_body",
        "projects": "name description intended_use prohibited_uses affected_people risk_tolerance",
        "api_keys": "name",
        "checklist_shares": "name",
        "events": "payload",
        "integrations": "name",
        "releases": "notes",
        "webhook_endpoints": "description",
        "checklist_items": "title detail done_when because note waiver reviewers evidence",
        "checklist_revisions": "project context release",
        "inbound_deliveries": "sender detail items",
        "webhook_deliveries": "body last_error",
        "checklist_item_versions": "data",
        "ticket_syncs": "last_error",
        "webhook_attempts": "error response_excerpt",
    }.items()
}
# Every other text column of a team's tables holds what the service itself keys, counts or
# checks, never a person: identifiers (keys, slugs, ids, URLs), closed sets (statuses, phases,
# types), versions, secrets and digests. Rewriting one could only corrupt it (an item's `status`
# is not a handle `done`). tests/api/test_erasure.py holds every text column to one side.
STRUCTURAL_COLUMNS: Mapping[str, frozenset[str]] = {
    table: frozenset(columns.split())
    for table, columns in {
        "idempotency_records": "key response_headers fingerprint",
        "projects": "slug model_source status jurisdictions risk_classification",
        "api_keys": "secret_hash prefix scopes",
        "checklist_shares": "target token_hash token",
        "checklists": "catalog_version release_id",
        "events": "type actor actor_person_id request_id",
        "integrations": "provider status_map verification tickets tickets_token secret "
        "previous_secret",
        "releases": "version model_name model_version model_provider status opened_by "
        "shipped_by superseded_by",
        "webhook_endpoints": "url event_types headers disabled_reason secret previous_secret",
        "checklist_items": "key kind phase roles priority source status "
        "status_before_obsolete ticket reviewer_roles signed_off_with repeats",
        "checklist_revisions": "catalog_version summary event_types actor api_key_id person_id",
        "inbound_deliveries": "delivery_id event ticket ticket_state outcome request_id "
        "body_sha256",
        "webhook_deliveries": "message_id event_type status leased_by",
        "checklist_item_versions": "digest",
        "ticket_syncs": (
            "state ticket_key ticket_ref ticket_url remote_state remote_reason leased_by"
        ),
        "webhook_attempts": "",
    }.items()
}
# The directory itself: the erased person's row goes; another person's row is theirs, even
# when they share a name.
_NOT_SCANNED = frozenset({"people", "erasures"})


def pseudonym(person_id: str) -> str:
    """The stable pseudonym of a person: derived from their id, so it names them in every
    record the same way, and nothing else of them."""
    return f"{PSEUDONYM_PREFIX}{person_id}"


# Where a tracker handle stands in a JSON object: a person's `handles`, a tracker's sender.
HANDLE_KEYS = frozenset({"github", "jira", "linear", "login", "accountId", "id", "sender"})
# The columns that are a handle whole (the sender of an inbound delivery).
HANDLE_COLUMNS = frozenset({("inbound_deliveries", "sender")})


@dataclass(frozen=True)
class Redaction:
    """What names a person, and what replaces it.

    A name or an email is found wherever it stands as a word. A handle is often an ordinary
    word too (a GitHub login `done`), so it is found only where it stands as a handle: after
    `@`, in a code span (ticket texts), as the value of a handle key in JSON (and in JSON kept
    as text), or as the whole of a handle column; an item's `status` of `done` is left be."""

    person_id: str
    pseudonym: str
    # Lowercased, every form a column may store them in (as written, and JSON-escaped): what
    # the database is asked for, before the rows are read and rewritten here.
    forms: tuple[str, ...]
    pattern: re.Pattern[str]
    handle_pattern: re.Pattern[str] | None
    handles: frozenset[str]

    @classmethod
    def of(
        cls, person: Person, former: Iterable[str] = (), former_handles: Iterable[str] = ()
    ) -> Redaction:
        """What names `person`: their name, email and handles, and `former` names and emails
        and `former_handles`."""
        words = {t for t in (person.name, person.email, *former) if t.strip()}
        handles = {h for h in (*person.handles.values(), *former_handles) if h and h.strip()}
        forms = {form for term in words | handles for form in _stored_forms(term)}
        return cls(
            person.id,
            pseudonym(person.id),
            tuple(sorted({form.lower() for form in forms})),
            re.compile(rf"(?<!\w)(?:{_alternatives(words)})(?!\w)", re.IGNORECASE),
            _handle_pattern(handles),
            frozenset(h.lower() for h in handles),
        )

    def text(self, value: str, *, whole_handle: bool = False) -> str:
        if whole_handle and value.strip().lower() in self.handles:
            return self.pseudonym
        value = self.pattern.sub(self.pseudonym, value)
        if self.handle_pattern is not None:
            value = self.handle_pattern.sub(
                lambda m: f"{m.group('before')}{self.pseudonym}{m.group('after')}", value
            )
        return value

    def value(self, value: Any, key: str | None = None) -> Any:
        """A JSON value with every string that names the person rewritten, except inside
        another person's snapshot. Keys are the shape the service wrote, never a person."""
        if isinstance(value, str):
            return self.text(value, whole_handle=key in HANDLE_KEYS)
        if isinstance(value, list):
            return [self.value(v, key) for v in value]
        if isinstance(value, dict):
            if _is_other_person(value, self.person_id):
                return value
            handles = key == "handles"
            return {k: self.value(v, "github" if handles else k) for k, v in value.items()}
        return value


def _alternatives(terms: Iterable[str]) -> str:
    forms = {form for term in terms for form in _stored_forms(term)}
    # Longest first: the email goes whole before a name that is a part of it.
    return "|".join(re.escape(form) for form in sorted(forms, key=lambda f: (-len(f), f)))


def _handle_pattern(handles: set[str]) -> re.Pattern[str] | None:
    """A handle where it stands as one: `@handle`, `` `handle` ``, `"login": "handle"`."""
    if not handles:
        return None
    names = _alternatives(handles)
    keys = "|".join(sorted(HANDLE_KEYS))
    return re.compile(
        rf"(?P<before>(?<![\w@])@|`|\\?\"(?:{keys})\\?\"\s*:\s*\\?\")"
        rf"(?:{names})"
        rf"(?P<after>(?![\w-])|`|\\?\")",
        re.IGNORECASE,
    )


def _stored_forms(term: str) -> set[str]:
    """A term as text stores it, and as JSON escapes it (SQLite keeps JSON ASCII-escaped)."""
    escaped = json.dumps(term)[1:-1]
    return {term, escaped}


def _is_other_person(value: dict[str, Any], person_id: str) -> bool:
    ref = value.get("id")
    return isinstance(ref, str) and ref.startswith(f"{Person.id_prefix}_") and ref != person_id


# --------------------------------------------------------------------------- where copies live


@dataclass(frozen=True)
class Scanned:
    """A table searched for a team's copies: its searchable columns, how its rows of a team
    are found, and its version column if it has one (bumped with a rewrite)."""

    table: Table
    columns: tuple[Column[Any], ...]
    version: Any  # a Column, or None


def text_columns(table: Table) -> set[str]:
    """The names of a table's text and JSON columns that are not keys: each is either
    `PERSONAL_COLUMNS` or `STRUCTURAL_COLUMNS`."""
    return {
        column.name
        for column in table.columns
        if isinstance(column.type, String | Text | JSON)
        and not column.primary_key
        and not column.foreign_keys
    }


def _searchable(table: Table) -> tuple[Column[Any], ...]:
    personal = PERSONAL_COLUMNS.get(table.name, frozenset())
    return tuple(column for column in table.columns if column.name in personal)


def _version_columns() -> dict[str, Any]:
    """The column each versioned model's ETag follows, by table."""
    return {
        mapper.class_.__table__.name: mapper.version_id_col
        for mapper in Base.registry.mappers
        if mapper.version_id_col is not None
    }


def scanned_tables() -> list[Scanned]:
    """Every table that may hold a copy of a team's people: those of a team (a `team_id`) and
    the webhook attempts (their delivery's team), each with its searchable columns."""
    versions = _version_columns()
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in _NOT_SCANNED:
            continue
        if "team_id" not in table.c and table is not WebhookAttempt.__table__:
            continue
        columns = _searchable(table)
        if columns:
            found.append(Scanned(table, columns, versions.get(table.name)))
    return found


def _team_rows(scanned: Scanned, team_id: str) -> Any:
    table = scanned.table
    if table is WebhookAttempt.__table__:
        deliveries = select(WebhookDelivery.id).where(WebhookDelivery.team_id == team_id)
        return table.c.delivery_id.in_(deliveries)
    return table.c.team_id == team_id


def _names(column: Column[Any], forms: Iterable[str]) -> Any:
    # Lowercased on both sides; a JSON column is searched as its text.
    as_text = func.lower(cast(column, Text) if isinstance(column.type, JSON) else column)
    return or_(*(as_text.contains(form, autoescape=True) for form in forms))


def _rewritten(redaction: Redaction, scanned: Scanned, row: Any) -> dict[str, Any]:
    """The new values of a row's columns that named the person."""
    values: dict[str, Any] = {}
    for column in scanned.columns:
        before = row._mapping[column.name]
        if before is None:
            continue
        if isinstance(column.type, JSON):
            after = redaction.value(before)
        else:
            whole = (scanned.table.name, column.name) in HANDLE_COLUMNS
            after = redaction.text(before, whole_handle=whole)
            length = getattr(column.type, "length", None)
            if length is not None:
                after = after[:length]
        if after != before:
            values[column.name] = after
    return values


def _rewrite_copies(
    session: Session, redaction: Redaction, team_id: str
) -> tuple[set[str], set[str]]:
    """Rewrite every stored copy in the team's rows; the ids of the checklists with a row
    rewritten, and of those whose kept history (revisions, item versions) was."""
    checklists: set[str] = set()
    history: set[str] = set()
    for scanned in scanned_tables():
        table = scanned.table
        keys = list(table.primary_key.columns)
        stmt = select(*keys, *scanned.columns, *_extra(table)).where(
            _team_rows(scanned, team_id),
            or_(*(_names(column, redaction.forms) for column in scanned.columns)),
        )
        for row in session.execute(stmt).all():
            values = _rewritten(redaction, scanned, row)
            if not values:
                continue
            if scanned.version is not None:
                values[scanned.version.name] = scanned.version + 1
            if table.name == "checklist_item_versions":
                values["digest"] = version_digest(row.position, values.get("data", row.data))
            if "checklist_id" in table.c:
                checklists.add(row.checklist_id)
                if table.name in ("checklist_item_versions", "checklist_revisions"):
                    history.add(row.checklist_id)
            where = [column == row._mapping[column.name] for column in keys]
            session.execute(update(table).where(*where).values(values))
    return checklists, history


def _extra(table: Table) -> Iterator[Column[Any]]:
    """Columns a rewrite needs beside the searched ones: where the row belongs, and what an
    item version's digest is made of."""
    if "checklist_id" in table.c and not table.c.checklist_id.primary_key:
        yield table.c.checklist_id
    if table.name == "checklist_item_versions":
        yield table.c.position


# --------------------------------------------------------------------------- the erasure


def find_erasure(session: Session, team_id: str, person_id: str) -> Erasure | None:
    """The erasure of this team's person, if they were erased."""
    return session.scalar(
        select(Erasure).where(Erasure.team_id == team_id, Erasure.person_id == person_id)
    )


def erase(session: Session, ctx: Context, team_id: str, person_id: str) -> Erasure:
    """Erase the team's person (idempotent: a person erased already gives the same erasure),
    also one deleted before (`DELETE /v1/people/{id}` kept their data in its records); 404 for
    nobody the team has or had."""
    done = find_erasure(session, team_id, person_id)
    if done is not None:
        return done
    try:
        person = get_person(session, team_id, person_id, lock=True)
    except NotFound:
        # Erased by a request that committed while this one waited for the lock?
        done = find_erasure(session, team_id, person_id)
        if done is not None:
            return done
        deleted = deleted_person(session, team_id, person_id=person_id)
        if deleted is None:
            raise
        return erase_deleted(session, ctx, team_id, deleted)
    return erase_person(session, ctx, person)


def deleted_person(
    session: Session, team_id: str, *, person_id: str | None = None, email: str | None = None
) -> Person | None:
    """The team's person as their `person.deleted` event kept them (by id, or by email), not
    in the directory since: who an erasure still has to find. None when there is none."""
    needle = person_id or (email or "").casefold()
    stmt = (
        select(Event.payload)
        .where(
            Event.team_id == team_id,
            Event.type == "person.deleted",
            cast(Event.payload, Text).contains(needle, autoescape=True),
        )
        .order_by(Event.created_at.desc(), Event.id.desc())
    )
    for payload in session.scalars(stmt):
        kept = payload.get("person") or {}
        if (person_id and kept.get("id") == person_id) or (
            email and str(kept.get("email", "")).casefold() == email.casefold()
        ):
            if session.get(Person, kept["id"]) is not None:
                return None  # the id is in the directory again: not a deleted person
            handles = kept.get("handles") or {}
            return Person(
                id=kept["id"],
                team_id=team_id,
                name=str(kept.get("name", "")),
                email=str(kept.get("email", "")),
                **{system: handles.get(system) for system in ("github", "jira", "linear")},
            )
    return None


def erase_deleted(session: Session, ctx: Context, team_id: str, kept: Person) -> Erasure:
    """Erase a person deleted before, from what their deletion kept of them (`kept`, not in
    the session): every stored copy is rewritten, as for a person still there."""
    redaction = Redaction.of(kept, *former_values(session, kept))
    return _erase_copies(session, ctx, team_id, kept.id, redaction, shown_in=set())


def former_values(session: Session, person: Person) -> tuple[set[str], set[str]]:
    """The names and emails, and the handles, a person had before (the `person.updated`
    events of their changes say what they were): their copies are erased too."""
    stmt = select(Event.payload).where(
        Event.team_id == person.team_id,
        Event.type == "person.updated",
        cast(Event.payload, Text).contains(person.id, autoescape=True),
    )
    words: set[str] = set()
    handles: set[str] = set()
    for payload in session.scalars(stmt):
        if payload.get("person", {}).get("id") != person.id:
            continue
        for pair in payload.get("changes", {}).values():
            for value in pair:
                if isinstance(value, str) and value.strip():
                    words.add(value)
                elif isinstance(value, dict):
                    handles.update(h for h in value.values() if isinstance(h, str) and h.strip())
    return words, handles


def erase_person(session: Session, ctx: Context, person: Person) -> Erasure:
    """Remove a person (locked by the caller) and replace every stored copy of their personal
    data by their pseudonym, in the caller's transaction (which it flushes, never commits)."""
    redaction = Redaction.of(person, *former_values(session, person))
    team_id = person.team_id
    name_as = {"id": person.id, "name": redaction.pseudonym, "email": redaction.pseudonym}
    # The items that show them now: signed off by them, or owned by them.
    signed = select(ChecklistItem.id).where(ChecklistItem.signed_off_by == person.id)
    owned = select(ChecklistItemOwner.item_id).where(ChecklistItemOwner.person_id == person.id)
    shown_in = set(
        session.scalars(
            select(ChecklistItem.checklist_id)
            .where(or_(ChecklistItem.id.in_(signed), ChecklistItem.id.in_(owned)))
            .distinct()
        )
    )
    # Out of every role, each with its event naming them by pseudonym.
    leave_every_role(session, ctx, person, {**name_as, "handles": {}}, "person erased")
    # What they signed stays signed off, by nobody the directory knows (as after a deletion);
    # the item's versions and events keep the signer's id, under the pseudonym.
    session.execute(
        update(ChecklistItem)
        .where(ChecklistItem.signed_off_by == person.id)
        .values(signed_off_by=None, version=ChecklistItem.version + 1)
        .execution_options(synchronize_session=False)
    )
    session.delete(person)
    return _erase_copies(session, ctx, team_id, person.id, redaction, shown_in)


def _erase_copies(
    session: Session,
    ctx: Context,
    team_id: str,
    person_id: str,
    redaction: Redaction,
    shown_in: set[str],
) -> Erasure:
    """Record the erasure and its event, then rewrite every copy (this transaction's events
    included) and mark what changed."""
    erasure = Erasure(person_id=person_id, team_id=team_id, actor=ctx.actor)
    session.add(erasure)
    record_event(
        session,
        ctx,
        team_id,
        "person.erased",
        {"person": {"id": person_id, "pseudonym": redaction.pseudonym}},
    )
    session.flush()
    # Now every copy, this transaction's events included (flushed above).
    rewritten, history = _rewrite_copies(session, redaction, team_id)
    _changed(session, team_id, rewritten | shown_in, history)
    # The ORM's copies of rewritten rows (the events the outbox is about to send, above all)
    # are read again from what is now stored.
    session.expire_all()
    return erasure


def _changed(session: Session, team_id: str, checklist_ids: set[str], history: set[str]) -> None:
    """Mark the checklists that showed the person changed (locked, in the one order): their
    ETags and cached renderings go; those whose kept history was rewritten count a redaction."""
    if not checklist_ids:
        return
    projects = session.scalars(
        select(Checklist.project_id).where(Checklist.id.in_(checklist_ids))
    ).all()
    lock_checklists(session, team_id, projects)
    touch_checklists(session, projects)
    if history:
        session.execute(
            update(Checklist)
            .where(Checklist.id.in_(history))
            .values(redactions=Checklist.redactions + 1)
            .execution_options(synchronize_session=False)
        )
