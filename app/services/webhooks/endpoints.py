"""Webhook endpoints: registration, secrets, pings, and what happens to their deliveries."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Select, case, or_, select, text, update
from sqlalchemy.orm import Session, selectinload

from app.errors import Conflict, ValidationFailed
from app.models import Project, WebhookDelivery, WebhookEndpoint, new_id, utcnow
from app.models.webhooks import DUE_PREDICATE
from app.services.context import Context
from app.services.events import changes, record_event
from app.services.locks import for_update
from app.services.lookup import one_or_not_found
from app.services.webhooks.event_types import check_pattern
from app.services.webhooks.outbox import message_body, notify_workers
from app.services.webhooks.signing import new_secret
from app.services.webhooks.ssrf import vet_target_url
from app.vocabulary import DeliveryStatus


def endpoint_snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What events say of an endpoint: never its secrets or its header values."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "project_id": endpoint.project_id,
        "enabled": endpoint.enabled,
        "header_names": sorted(endpoint.headers),
    }


# What `webhook.endpoint.updated` shows of a change (header values and timestamps never).
_SHOWN_CHANGES = ("url", "description", "event_types", "project_id", "enabled")


def endpoints_query(team_id: str) -> Select[WebhookEndpoint]:
    """The team's endpoints, for a list to page."""
    return select(WebhookEndpoint).where(WebhookEndpoint.team_id == team_id)


def deliveries_query(
    endpoint: WebhookEndpoint, *, status: str | None = None, event_type: str | None = None
) -> Select[WebhookDelivery]:
    """The endpoint's delivery log, each delivery with its attempts, for a list to page."""
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .options(selectinload(WebhookDelivery.attempt_log))
    )
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if event_type is not None:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    return stmt


def with_attempts(session: Session, delivery: WebhookDelivery) -> WebhookDelivery:
    """The delivery with its attempt log read afresh, as the answer shows it."""
    session.refresh(delivery, ["attempt_log"])
    return delivery


def get_endpoint(
    session: Session, team_id: str, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint:
    stmt = select(WebhookEndpoint).where(
        WebhookEndpoint.team_id == team_id, WebhookEndpoint.id == endpoint_id
    )
    endpoint: WebhookEndpoint = one_or_not_found(
        session, stmt, f"No webhook endpoint '{endpoint_id}' in this team.", lock=lock
    )
    return endpoint


def _check(session: Session, ctx: Context, team_id: str, data: Mapping[str, Any]) -> None:
    """Every problem of an endpoint's settings at once, each naming its field."""
    errors: dict[str, list[str]] = {}
    if "url" in data:
        try:
            vet_target_url(
                data["url"],
                allow_private=ctx.settings.webhook_allow_private_targets,
                require_https=ctx.settings.webhook_require_https,
            )
        except ValidationFailed as problem:
            errors.update(problem.errors or {"url": [problem.detail]})
    for index, pattern in enumerate(data.get("event_types") or []):
        if message := check_pattern(pattern):
            errors[f"event_types.{index}"] = [message]
    if data.get("project_id") is not None:
        found = session.scalar(
            select(Project.id).where(Project.team_id == team_id, Project.id == data["project_id"])
        )
        if found is None:
            errors["project_id"] = [f"No project '{data['project_id']}' in this team."]
    if errors:
        raise ValidationFailed("The webhook endpoint's settings are not valid.", errors=errors)


def create_endpoint(
    session: Session, ctx: Context, team_id: str, data: Mapping[str, Any]
) -> WebhookEndpoint:
    """Register an endpoint with a new signing secret (which the caller shows this once)."""
    _check(session, ctx, team_id, data)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        team_id=team_id,
        url=data["url"],
        description=data.get("description", ""),
        event_types=list(dict.fromkeys(data["event_types"])),
        project_id=data.get("project_id"),
        headers=dict(data.get("headers") or {}),
        secret=secret,
        enabled=data.get("enabled", True),
    )
    session.add(endpoint)
    session.flush()
    record_event(
        session, ctx, team_id, "webhook.endpoint.created", {"endpoint": endpoint_snapshot(endpoint)}
    )
    session.flush()
    return endpoint


def update_endpoint(
    session: Session, ctx: Context, endpoint: WebhookEndpoint, data: Mapping[str, Any]
) -> WebhookEndpoint:
    """Change an endpoint; enabling it again clears why it was disabled."""
    _check(session, ctx, endpoint.team_id, data)
    values = {k: data[k] for k in ("url", "description", "event_types", "project_id") if k in data}
    if "headers" in data:
        values["headers"] = dict(data["headers"])
    if "enabled" in data:
        values["enabled"] = data["enabled"]
        if data["enabled"]:
            values.update(disabled_reason=None, disabled_at=None, failing_since=None)
        elif endpoint.enabled:
            values.update(disabled_reason="Disabled through the API.", disabled_at=utcnow())
    changed = changes(endpoint, values)
    if changed:
        shown = {k: v for k, v in changed.items() if k in _SHOWN_CHANGES}
        if "headers" in changed:
            shown["header_names"] = [sorted(changed["headers"][0]), sorted(changed["headers"][1])]
        record_event(
            session,
            ctx,
            endpoint.team_id,
            "webhook.endpoint.updated",
            {"endpoint": endpoint_snapshot(endpoint), "changes": shown},
        )
    session.flush()
    return endpoint


def delete_endpoint(session: Session, ctx: Context, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint with its deliveries and their log."""
    record_event(
        session,
        ctx,
        endpoint.team_id,
        "webhook.endpoint.deleted",
        {"endpoint": endpoint_snapshot(endpoint)},
    )
    session.delete(endpoint)
    session.flush()


def rotate_secret(session: Session, ctx: Context, endpoint: WebhookEndpoint) -> str:
    """A new signing secret, returned this once; the current one keeps signing beside it for
    the grace period, so receivers can switch without losing a message."""
    now = utcnow()
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + timedelta(
        seconds=ctx.settings.webhook_secret_grace_seconds
    )
    endpoint.secret = secret
    record_event(
        session,
        ctx,
        endpoint.team_id,
        "webhook.endpoint.secret_rotated",
        {
            "endpoint": endpoint_snapshot(endpoint),
            "previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat(),
        },
    )
    session.flush()
    return secret


def _ensure_enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise Conflict(
            f"The endpoint is disabled ({endpoint.disabled_reason}); enable it first "
            '(PATCH with {"enabled": true}).'
        )


def ping(session: Session, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.ping` message to this endpoint alone (not an event of the team)."""
    _ensure_enabled(endpoint)
    now = utcnow()
    message_id = new_id("msg")
    delivery = WebhookDelivery(
        team_id=endpoint.team_id,
        endpoint_id=endpoint.id,
        event_id=None,
        message_id=message_id,
        event_type="webhook.ping",
        body=message_body(
            "webhook.ping",
            now.isoformat(),
            {
                "endpoint": {"id": endpoint.id, "url": endpoint.url},
                "message": "A test message from the staffing checklist API.",
            },
        ),
        status="pending",
        attempts=0,
        next_attempt_at=now,
    )
    session.add(delivery)
    session.flush()
    notify_workers(session)
    return delivery


def get_delivery(
    session: Session, endpoint: WebhookEndpoint, delivery_id: str, *, lock: bool = False
) -> WebhookDelivery:
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.id == delivery_id
    )
    delivery: WebhookDelivery = one_or_not_found(
        session, stmt, f"No delivery '{delivery_id}' of this endpoint.", lock=lock
    )
    return delivery


def retry_delivery(
    session: Session, endpoint: WebhookEndpoint, delivery: WebhookDelivery
) -> WebhookDelivery:
    """Send a delivery again now, with the same `webhook-id`: one more attempt for a dead one,
    the next attempt brought forward for one still retrying."""
    _ensure_enabled(endpoint)
    now = utcnow()
    if delivery.lease_until is not None and delivery.lease_until > now:
        raise Conflict(
            "An attempt of this delivery is under way; see its outcome in the log, then retry.",
            headers={"Retry-After": str(math.ceil((delivery.lease_until - now).total_seconds()))},
        )
    if delivery.status in ("succeeded", "dead"):
        delivery.status = "pending"
    delivery.next_attempt_at = now
    session.flush()
    notify_workers(session)
    return delivery


def recover(
    session: Session, endpoint: WebhookEndpoint, since: datetime, until: datetime | None
) -> int:
    """Send now every delivery of this endpoint created in [since, until) that failed for
    good (`dead`) or waits for its next retry (`retrying`): after a receiver's outage, nothing
    waits out the back-off. An attempt under way (leased) is left to finish."""
    _ensure_enabled(endpoint)
    if until is not None and until <= since:
        raise ValidationFailed(
            "The time range is empty.", errors={"until": ["Must be after `since`."]}
        )
    now = utcnow()
    stmt = (
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status.in_((DeliveryStatus.DEAD, DeliveryStatus.RETRYING)),
            WebhookDelivery.created_at >= since,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
        )
        .values(
            # A retrying delivery keeps its status (its attempts go on counting); a dead one
            # starts again as pending, as a retry by hand does.
            status=case(
                (WebhookDelivery.status == DeliveryStatus.DEAD, DeliveryStatus.PENDING),
                else_=DeliveryStatus.RETRYING,
            ),
            next_attempt_at=now,
            lease_until=None,
            leased_by=None,
        )
        .execution_options(synchronize_session=False)
    )
    if until is not None:
        stmt = stmt.where(WebhookDelivery.created_at < until)
    result = session.execute(stmt)
    assert isinstance(result, CursorResult)  # an UPDATE's result, which counts its rows
    count = result.rowcount
    if count:
        notify_workers(session)
    return count


def disable_endpoint(session: Session, ctx: Context, endpoint_id: str, reason: str) -> None:
    """Stop delivering to an endpoint, say why, and end what it still had due (dead: they
    can be recovered once it is enabled again)."""
    endpoint = session.scalar(
        for_update(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
    )
    if endpoint is None or not endpoint.enabled:
        return
    now = utcnow()
    endpoint.enabled = False
    endpoint.disabled_reason = reason[:500]
    endpoint.disabled_at = now
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, text(DUE_PREDICATE))
        .values(status="dead", next_attempt_at=None, last_error="endpoint disabled")
        .execution_options(synchronize_session=False)
    )
    record_event(
        session,
        ctx,
        endpoint.team_id,
        "webhook.endpoint.disabled",
        {
            "endpoint": endpoint_snapshot(endpoint),
            "reason": endpoint.disabled_reason,
            "disabled_at": now.isoformat(),
        },
    )


def note_endpoint_outcomes(
    session: Session, ctx: Context, outcomes: Mapping[str, str], now: datetime
) -> None:
    """After a round of deliveries, per endpoint: `succeeded` (at least one 2xx), `failed`
    (none), or `gone` (a 410). An endpoint that answers 410, or that has failed without a
    success for `WEBHOOK_DISABLE_AFTER`, is disabled.

    Plain conditional UPDATEs: several workers may report on one endpoint at once, and an
    endpoint only changes when it starts or stops failing.
    """
    limit = timedelta(seconds=ctx.settings.webhook_disable_after_seconds)
    table = WebhookEndpoint.__table__
    for endpoint_id, outcome in sorted(outcomes.items()):
        if outcome == "gone":
            disable_endpoint(
                session,
                ctx,
                endpoint_id,
                "The receiver answered 410 Gone: it no longer wants these webhooks.",
            )
        elif outcome == "succeeded":
            session.execute(
                update(table)
                .where(table.c.id == endpoint_id, table.c.failing_since.is_not(None))
                .values(failing_since=None)
            )
        else:
            session.execute(
                update(table)
                .where(table.c.id == endpoint_id, table.c.failing_since.is_(None))
                .values(failing_since=now)
            )
            since = session.scalar(select(table.c.failing_since).where(table.c.id == endpoint_id))
            if since is not None and now - since >= limit:
                started = since.isoformat(timespec="seconds")
                disable_endpoint(
                    session, ctx, endpoint_id, f"Every delivery has failed since {started}."
                )
