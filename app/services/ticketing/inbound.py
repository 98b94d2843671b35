"""Inbound deliveries: a ticketing system tells us a ticket changed, and the items linked to it
follow, as ordinary item changes (ETag, events with `source`, outgoing webhooks).

A delivery is verified (`ticketing.signatures`) before its body is read (`ticketing.payloads`),
then recorded once per provider delivery id: a redelivery finds its record and changes
nothing. Its items are those linked to the ticket (`owner/repo#12`, `PROJ-123`, `ENG-42`) in
the integration's team (and project, if it has one), or, when none is, the item named by the
marker line `checklist-item: <project slug>/<item key>` in the ticket's body, which is then
linked to the ticket. Checklists are locked before their items change, like any item write.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.config import Settings
from app.errors import NotFound
from app.models import (
    Checklist,
    ChecklistItem,
    InboundDelivery,
    Integration,
    Person,
    Project,
    utcnow,
)
from app.services.checklists.items import update_item
from app.services.checklists.rules import ItemRules, system_needs
from app.services.checklists.tickets import MARKER_PREFIX
from app.services.checklists.waivers import expire_due_waivers
from app.services.context import Context
from app.services.locks import lock_checklists
from app.services.ticketing.integrations import status_map
from app.services.ticketing.payloads import PROVIDER_NAMES, HeaderLookup, TicketNews, read
from app.services.ticketing.signatures import check_linear_timestamp, verify
from app.services.ticketing.tracker_sync import note_inbound
from app.vocabulary import ItemStatus, Provider

# The provider's id of a delivery, the same on its redeliveries.
DELIVERY_ID_HEADERS = {
    "github": "X-GitHub-Delivery",
    "jira": "X-Atlassian-Webhook-Identifier",
    "linear": "Linear-Delivery",
    "generic": "webhook-id",
}
# One ticket may be linked to several items; a delivery changes at most this many.
MAX_ITEMS_PER_TICKET = 50
_DELIVERY_ID = re.compile(r"[\x21-\x7e]{1,200}")
_MARKER = re.compile(
    rf"^[ \t]*{re.escape(MARKER_PREFIX.strip())}[ \t]*"
    r"([a-z0-9]+(?:-[a-z0-9]+)*)/([A-Za-z0-9._+-]{1,200})[ \t]*\r?$",
    re.MULTILINE,
)
_STATUS_CODES = {"applied": 200, "unchanged": 200, "ping": 200, "ignored": 202, "no_item": 202}


@dataclass(frozen=True)
class InboundRequest:
    """What the HTTP layer hands over of a delivery: raw body, headers, query, media type."""

    body: bytes
    headers: HeaderLookup
    query: Mapping[str, str]
    mimetype: str
    request_id: str | None


def find_integration(session: Session, integration_id: str) -> Integration:
    """The integration a delivery is posted to, of whichever team: 404 when there is none."""
    integration = session.get(Integration, integration_id) if len(integration_id) <= 40 else None
    if integration is None:
        raise NotFound(f"No integration '{integration_id[:60]}'.")
    return integration


def receive(
    session: Session,
    settings: Settings,
    integration: Integration,
    request: InboundRequest,
) -> tuple[InboundDelivery, bool]:
    """Verify, read, record and act on one delivery; returns its record and whether it is a
    redelivery (then nothing else happened)."""
    now = utcnow()
    verify(integration, request.headers, request.query, request.body, now)
    news = read(integration.provider, request.headers, request.mimetype, request.body)
    if integration.provider == Provider.LINEAR:
        check_linear_timestamp(news.sent_at, settings.linear_timestamp_tolerance_seconds)
    delivery_id = _delivery_id(integration.provider, request.headers, request.body)
    existing = session.scalar(
        select(InboundDelivery).where(
            InboundDelivery.integration_id == integration.id,
            InboundDelivery.delivery_id == delivery_id,
        )
    )
    if existing is not None:
        return existing, True
    record = InboundDelivery(
        team_id=integration.team_id,
        integration_id=integration.id,
        delivery_id=delivery_id,
        event=news.event,
        ticket=news.ticket,
        ticket_state=news.state_label,
        sender=news.sender,
        outcome="ignored",
        detail="",
        items=[],
        status_code=202,
        request_id=request.request_id,
        body_sha256=hashlib.sha256(request.body).hexdigest(),
        body_bytes=len(request.body),
        created_at=now,
    )
    # Claims the delivery id: a concurrent redelivery waits on this row, then finds it.
    session.add(record)
    session.flush()
    ctx = Context(
        actor=f"integration:{integration.id}", request_id=request.request_id, settings=settings
    )
    result = _act(session, ctx, integration, news)
    record.outcome = result.outcome
    # The column holds 500 characters; `items` holds every item's fate whatever is cut here.
    record.detail = result.detail if len(result.detail) <= 500 else result.detail[:499] + "…"
    record.items = result.items
    record.status_code = _STATUS_CODES[result.outcome]
    session.flush()
    return record, False


@dataclass
class _Result:
    outcome: str
    detail: str
    items: list[dict[str, Any]] = field(default_factory=list)


def _delivery_id(provider: str, headers: HeaderLookup, body: bytes) -> str:
    """The provider's delivery id; a digest of the body when it sends none (an identical body
    is then the same delivery)."""
    given = (headers.get(DELIVERY_ID_HEADERS[provider]) or "").strip()
    if _DELIVERY_ID.fullmatch(given):
        return given
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _act(session: Session, ctx: Context, integration: Integration, news: TicketNews) -> _Result:
    name = PROVIDER_NAMES[integration.provider]
    if news.action == "ping":
        return _Result("ping", news.note or "A test delivery: the signature is right.")
    if news.action == "ignore" or news.ticket is None:
        return _Result("ignored", news.note or "Nothing to do.")
    signer = _signer(session, integration, news)
    if news.action == "signoff" and signer is None:
        who = f"`{news.sender_handle}`" if news.sender_handle else "its sender"
        return _Result(
            "ignored",
            f"A sign-off by {who}, whom no person of the team has as their "
            f"{PROVIDER_NAMES[integration.provider]} handle: nobody signs.",
        )
    target: str | None = ItemStatus.DONE if news.action == "signoff" else None
    if news.action == "status":
        target = status_map(integration).get(news.state or "")
        if target is None or target == "ignore":
            how = "is mapped to `ignore`" if target else "is not mapped to an item status"
            return _Result(
                "ignored",
                f"{name} state `{news.state}` {how} (the integration's status_map).",
            )
    reason = _reason(integration.provider, news)
    targets = _linked_items(session, ctx, integration, news.ticket)
    by_marker = False
    if not targets and news.action == "status":
        targets, problem = _marked_item(session, ctx, integration, news)
        by_marker = bool(targets)
        if problem:
            return _Result("no_item", problem)
    if not targets:
        ticket = f"{news.ticket['system']} ticket {news.ticket['key']}"
        detail = f"No item is linked to {ticket}"
        if news.action == "status":
            detail += ", and its body has no `checklist-item:` line naming one"
        return _Result("no_item", detail + ".")
    ask = _Ask(integration.provider, news, target, reason, by_marker, signer, integration.id)
    applied = [_follow(session, ctx, ask, *found) for found in targets]
    outcome = "applied" if any(entry["changes"] for entry in applied) else "unchanged"
    return _Result(outcome, f"{reason}: {_what_became(applied, ask)}.", applied)


@dataclass(frozen=True)
class _Ask:
    """What a delivery asks of each item it concerns: the status the ticket's state maps to
    (None when the ticket is gone), and why, in the activity feed's words."""

    provider: str
    news: TicketNews
    status: str | None
    reason: str
    by_marker: bool
    # The person the tracker's sender is (by their handle), who signs off what needs it.
    signer: Person | None = None
    integration_id: str | None = None


def _follow(
    session: Session,
    ctx: Context,
    ask: _Ask,
    project: Project,
    checklist: Checklist,
    item: ChecklistItem,
) -> dict[str, Any]:
    """One item follows the ticket as far as a ticketing system may: what became of it."""
    ticket = ask.news.ticket
    assert ticket is not None
    data: dict[str, Any] = {}
    if ask.news.action == "unlink":
        data = {"ticket": None}
    elif ask.status == ItemStatus.WAIVED:
        data = {
            "status": "waived",
            "waiver": {
                "reason": ask.reason,
                "approved_by": _approver(PROVIDER_NAMES[ask.provider], ask.news),
                "expires_on": None,
            },
        }
    else:
        data = {"status": ask.status}
    if ask.by_marker:
        data["ticket"] = ticket
    elif data.get("status") and item.ticket and not item.ticket.get("url") and ticket["url"]:
        # The tracker's own URL of the ticket fills a link that has none; a URL a person gave
        # stays (Linear's URLs, for one, change with the title).
        data["ticket"] = {**item.ticket, "url": ticket["url"]}
    if item.status in (ItemStatus.OBSOLETE, ask.status):
        # Obsolete, or already so (a waiver given by a person keeps its own reason).
        data.pop("status", None)
        data.pop("waiver", None)
    needs: list[str] = []
    if data.get("status") == ItemStatus.DONE and ask.signer is not None and item.signoff_required:
        refused = ItemRules(session, checklist, project, item).refusal(ask.signer.id)
        if refused is None:
            # The sender signs as the person they are, proven by the provider's signature.
            data["signed_off_by"] = ask.signer.id
            ctx = replace(ctx, person_id=ask.signer.id, signed_with=ask.integration_id)
        else:
            needs.append(f"{ask.signer.name}, who sent it, cannot sign it off: {refused}")
    if "status" in data:
        needs += system_needs(
            session, project, checklist, item, data["status"], data.get("signed_off_by")
        )
    before = {"status": item.status, "ticket": item.ticket}
    if data:
        update_item(
            session, ctx, project, checklist, item, data, source=ask.provider, reason=ask.reason
        )
    after = {"status": item.status, "ticket": item.ticket}
    if data:
        # The tracker made this change: native tickets do not send it back.
        note_inbound(session, item, ticket, ask.news.state)
    return {
        "id": item.id,
        "key": item.key,
        "project_id": item.project_id,
        "project": project.slug,
        "status": item.status,
        "held": bool(needs),
        "needs": needs,
        "signed_off_by": item.signed_off_by if "signed_off_by" in data else None,
        "changes": {f: [before[f], after[f]] for f in before if before[f] != after[f]},
    }


def _what_became(applied: list[dict[str, Any]], ask: _Ask) -> str:
    """The items' fate in words: how many are now what the ticket asks, each one held with
    what it still needs, how many were already so or obsolete."""
    if ask.status is None:
        return f"{len(applied)} item(s) unlinked"
    moved = Counter(e["status"] for e in applied if "status" in e["changes"] and not e["held"])
    how = "linked by the marker line and " if ask.by_marker else ""
    parts = [f"{count} item(s) {how}now {status}" for status, count in moved.items()]
    parts += [
        f"{e['project']}/{e['key']} is {e['status'].replace('_', ' ')}, not {ask.status}: "
        f"it needs {' and '.join(e['needs'])}"
        for e in applied
        if e["held"]
    ]
    left = Counter(
        "obsolete" if e["status"] == ItemStatus.OBSOLETE else "already"
        for e in applied
        if "status" not in e["changes"] and not e["held"]
    )
    if left["already"]:
        parts.append(f"{left['already']} item(s) already {ask.status}")
    if left["obsolete"]:
        parts.append(f"{left['obsolete']} obsolete item(s) left as they are")
    urls = sum(1 for e in applied if "ticket" in e["changes"] and not ask.by_marker)
    if urls:
        parts.append(f"the ticket's URL recorded on {urls} item(s)")
    return "; ".join(parts)


def _reason(provider: str, news: TicketNews) -> str:
    """Why the item changed, in the words the activity feed shows."""
    assert news.ticket is not None
    key = news.ticket["key"]
    # A sender known by their handle (GitHub's login) is written as a handle is, in a code
    # span (an erasure finds it there); a display name (Jira, Linear) as it is.
    sender = f"`{news.sender}`" if provider == Provider.GITHUB else news.sender
    by = f" by {sender}" if news.sender else ""
    if provider == Provider.GENERIC:
        subject = f"Ticket {key} ({news.ticket['system']})"
    else:
        subject = f"{PROVIDER_NAMES[provider]} issue {key}"
    if news.action == "unlink":
        return f"{subject} was {news.note or 'removed'}{by}; the item is no longer linked to it"
    if provider == Provider.GITHUB:
        text = f"{subject} was {news.state_label}{by}"
    else:
        text = f"{subject} moved to {news.state_label}{by}"
    return f"{text} ({news.reason})" if news.reason else text


def _signer(session: Session, integration: Integration, news: TicketNews) -> Person | None:
    """The person of the team whose handle for the provider is the sender's (a GitHub login
    compared case-insensitively). None for a generic system, which vouches for no one, and
    for a delivery authenticated by a URL token (`verification: token`) rather than the
    provider's signature: a token that leaks in a log must not sign for anyone."""
    handle = news.sender_handle
    if (
        handle is None
        or integration.provider == Provider.GENERIC
        or integration.verification != "signature"
    ):
        return None
    column = {
        Provider.GITHUB: func.lower(Person.github),
        Provider.JIRA: Person.jira,
        Provider.LINEAR: Person.linear,
    }[Provider(integration.provider)]
    wanted = handle.lower() if integration.provider == Provider.GITHUB else handle
    return session.scalar(
        select(Person)
        .where(Person.team_id == integration.team_id, column == wanted)
        .order_by(Person.id)
        .limit(1)
    )


def _approver(name: str, news: TicketNews) -> str:
    return f"{news.sender} ({name})"[:200] if news.sender else name


def _items_query(integration: Integration, ticket: Mapping[str, Any]) -> Any:
    system = ChecklistItem.ticket["system"].as_string()
    key = ChecklistItem.ticket["key"].as_string()
    stmt = select(ChecklistItem).where(
        ChecklistItem.team_id == integration.team_id,
        system == ticket["system"],
        # GitHub owners and repositories are case-insensitive; Jira and Linear keys are upper.
        func.lower(key) == ticket["key"].lower(),
    )
    if integration.project_id is not None:
        stmt = stmt.where(ChecklistItem.project_id == integration.project_id)
    return stmt.order_by(ChecklistItem.id).limit(MAX_ITEMS_PER_TICKET)


_Target = tuple[Project, Any, ChecklistItem]


def _linked_items(
    session: Session, ctx: Context, integration: Integration, ticket: Mapping[str, Any]
) -> list[_Target]:
    """The items linked to the ticket, read again under their checklists' locks."""
    found = session.scalars(_items_query(integration, ticket)).all()
    if not found:
        return []
    locked = lock_checklists(session, integration.team_id, {i.project_id for i in found})
    checklists = {checklist.id: (project, checklist) for project, checklist in locked}
    expire_due_waivers(session, ctx, [c for _, c in locked])
    items = session.scalars(
        _items_query(integration, ticket)
        .where(ChecklistItem.checklist_id.in_(checklists))
        .options(selectinload(ChecklistItem.owners))
        .execution_options(populate_existing=True)
    ).all()
    return [(*checklists[item.checklist_id], item) for item in items]


def _marked_item(
    session: Session, ctx: Context, integration: Integration, news: TicketNews
) -> tuple[list[_Target], str | None]:
    """The item the ticket body's last marker line names, when it is linked to no ticket."""
    markers = list(_MARKER.finditer(news.body or ""))
    if not markers:
        return [], None
    slug, key = markers[-1].group(1), markers[-1].group(2)
    stmt = select(Project.id).where(Project.team_id == integration.team_id, Project.slug == slug)
    if integration.project_id is not None:
        stmt = stmt.where(Project.id == integration.project_id)
    project_id = session.scalar(stmt)
    if project_id is None:
        scope = " within the integration's project" if integration.project_id else ""
        return [], f"The ticket's marker names project `{slug}`, which is not in this team{scope}."
    locked = lock_checklists(session, integration.team_id, [project_id])
    if not locked:
        return [], f"The ticket's marker names project `{slug}`, which has no checklist."
    project, checklist = locked[0]
    expire_due_waivers(session, ctx, [checklist])
    item = session.scalar(
        select(ChecklistItem)
        .where(ChecklistItem.checklist_id == checklist.id, ChecklistItem.key == key)
        .options(selectinload(ChecklistItem.owners))
        .execution_options(populate_existing=True)
    )
    if item is None:
        return [], f"The ticket's marker names item `{slug}/{key}`, which does not exist."
    if item.ticket is not None:
        linked = f"{item.ticket.get('system')} {item.ticket.get('key')}"
        return [], f"The ticket's marker names `{slug}/{key}`, which is linked to {linked}."
    return [(project, checklist, item)], None
