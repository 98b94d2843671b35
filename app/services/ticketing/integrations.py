"""Inbound ticketing integrations: registration, secrets and the URL a ticketing system posts to."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from app.errors import ValidationFailed
from app.models import InboundDelivery, Integration, Project, TicketSync, utcnow
from app.services.context import Context
from app.services.events import record_event
from app.services.lookup import one_or_not_found
from app.services.ticketing.payloads import DEFAULT_STATUS_MAPS
from app.services.ticketing.token_box import encrypt_token, key_problem
from app.services.webhooks.signing import SECRET_PREFIX, new_secret
from app.services.webhooks.ssrf import vet_target_url
from app.vocabulary import Provider, TicketSyncState, Verification

if TYPE_CHECKING:
    from app.config import Settings

# Secrets we make for HMAC providers: 32 random bytes, URL-safe (a Jira token goes in a URL).
_SECRET_BYTES = 32


def inbound_url(base_url: str, integration: Integration) -> str:
    """Where the ticketing system posts: absolute, from `PUBLIC_BASE_URL`."""
    return f"{base_url.rstrip('/')}/v1/inbound/{integration.id}"


def status_map(integration: Integration) -> dict[str, str]:
    """The provider's defaults with the integration's overrides."""
    return {**DEFAULT_STATUS_MAPS[integration.provider], **integration.status_map}


# Where each provider's tickets are opened: the `tickets` fields it requires (and only it has).
WHERE_FIELDS = {
    Provider.GITHUB.value: ("repository",),
    Provider.JIRA.value: ("site", "project", "issue_type", "email"),
    Provider.LINEAR.value: ("team",),
}


def tickets_api_url(integration: Integration, settings: Settings) -> str:
    """The API base the worker calls for an integration's tickets."""
    if integration.provider == Provider.JIRA:
        return str((integration.tickets or {}).get("site", "")).rstrip("/")
    if integration.provider == Provider.LINEAR:
        return settings.linear_api_url
    return settings.github_api_url


def tickets_view(integration: Integration, settings: Settings) -> dict[str, Any] | None:
    """An integration's native tickets as answers and events show them: never the token."""
    if integration.tickets is None:
        return None
    return {**integration.tickets, "api_url": tickets_api_url(integration, settings)}


def integration_snapshot(integration: Integration, base_url: str) -> dict[str, Any]:
    """What events say of an integration: never its secrets."""
    return {
        "id": integration.id,
        "provider": integration.provider,
        "name": integration.name,
        "project_id": integration.project_id,
        "verification": integration.verification,
        "status_map": status_map(integration),
        "inbound_url": inbound_url(base_url, integration),
        "tickets": None if integration.tickets is None else dict(integration.tickets),
    }


def integrations_query(team_id: str) -> Select[Integration]:
    """The team's integrations, for a list to page."""
    return select(Integration).where(Integration.team_id == team_id)


def inbound_deliveries_query(
    integration: Integration, outcome: str | None = None
) -> Select[InboundDelivery]:
    """What came in for the integration, for a list to page."""
    stmt = select(InboundDelivery).where(InboundDelivery.integration_id == integration.id)
    if outcome is not None:
        stmt = stmt.where(InboundDelivery.outcome == outcome)
    return stmt


def get_integration(
    session: Session, team_id: str, integration_id: str, *, lock: bool = False
) -> Integration:
    stmt = select(Integration).where(
        Integration.team_id == team_id, Integration.id == integration_id
    )
    integration: Integration = one_or_not_found(
        session, stmt, f"No integration '{integration_id}' in this team.", lock=lock
    )
    return integration


def _check(session: Session, team_id: str, data: Mapping[str, Any], settings: Settings) -> None:
    """Every problem of an integration's settings at once, each naming its field."""
    errors: dict[str, list[str]] = {}
    provider = data["provider"]
    if data.get("verification") == Verification.TOKEN and provider != Provider.JIRA:
        errors["verification"] = [
            "Only Jira integrations may use token verification; the others sign every delivery."
        ]
    overrides = data.get("status_map") or {}
    known = DEFAULT_STATUS_MAPS[provider]
    if provider != Provider.GENERIC:
        for state in overrides:
            if state not in known:
                errors[f"status_map.{state}"] = [
                    f"Not a {provider} state; the states are: {', '.join(known)}."
                ]
    if "secret" in data and (problem := _secret_problem(provider, data["secret"])):
        errors["secret"] = [problem]
    if data.get("project_id") is not None:
        found = session.scalar(
            select(Project.id).where(Project.team_id == team_id, Project.id == data["project_id"])
        )
        if found is None:
            errors["project_id"] = [f"No project '{data['project_id']}' in this team."]
    if data.get("tickets") is not None:
        errors.update(_tickets_problems(provider, data["tickets"], settings))
    if errors:
        raise ValidationFailed("The integration's settings are not valid.", errors=errors)


def _tickets_problems(
    provider: str, tickets: Mapping[str, Any], settings: Settings
) -> dict[str, list[str]]:
    """What is wrong with `tickets` for `provider`, by field: where the tickets go is the
    provider's own fields, each required, and no other provider's."""
    if provider not in WHERE_FIELDS:
        return {
            "tickets": ["Native tickets are opened in GitHub, Jira or Linear, not by `generic`."]
        }
    if problem := key_problem(settings.tickets_encryption_key):
        return {"tickets": [problem]}
    errors: dict[str, list[str]] = {}
    own = WHERE_FIELDS[provider]
    for other, fields in WHERE_FIELDS.items():
        for field in fields:
            if field in own and field not in tickets:
                errors[f"tickets.{field}"] = [f"Required for {provider} tickets."]
            elif field not in own and field in tickets:
                errors[f"tickets.{field}"] = [f"Only {other} tickets have `{field}`."]
    if provider == Provider.JIRA:
        if "site" in tickets:
            try:
                vet_target_url(
                    tickets["site"],
                    allow_private=settings.webhook_allow_private_targets,
                    require_https=settings.webhook_require_https,
                )
            except ValidationFailed as exc:
                errors["tickets.site"] = list((exc.errors or {}).get("url") or [exc.detail])
        spaced = [label for label in tickets.get("labels") or () if " " in label]
        if spaced:
            errors["tickets.labels"] = [f"Jira labels have no spaces: {', '.join(spaced)}."]
    return errors


def _stored_tickets(provider: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The settings kept of valid `tickets` (never the token)."""
    return {
        **{field: given[field] for field in WHERE_FIELDS[provider]},
        "min_priority": given["min_priority"],
        "kinds": sorted(set(given["kinds"])) if given.get("kinds") else None,
        "phases": sorted(set(given["phases"])) if given.get("phases") else None,
        "labels": list(dict.fromkeys(given.get("labels") or ())),
    }


def update_tickets(
    session: Session, ctx: Context, integration: Integration, given: Mapping[str, Any]
) -> Integration:
    """New native tickets' settings: the fields given replace the integration's (a new token an
    expired one); an integration without tickets needs them all. Its tickets that wait for a
    retry are tried again at once, with what was given."""
    settings = ctx.settings
    merged: dict[str, Any] = {**(integration.tickets or {}), **given}
    errors = _tickets_problems(integration.provider, merged, settings)
    if integration.provider in WHERE_FIELDS:
        if "token" not in given and integration.tickets_token is None:
            errors["tickets.token"] = ["Required: the integration has no token yet."]
        if "min_priority" not in merged:
            errors["tickets.min_priority"] = ["Required: the integration has no tickets yet."]
    if errors:
        raise ValidationFailed("The integration's tickets are not valid.", errors=errors)
    integration.tickets = _stored_tickets(integration.provider, merged)
    if "token" in given:
        integration.tickets_token = encrypt_token(settings.tickets_encryption_key, given["token"])
    session.execute(
        update(TicketSync)
        .where(
            TicketSync.integration_id == integration.id, TicketSync.state != TicketSyncState.SYNCED
        )
        .values(next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    record_event(
        session,
        ctx,
        integration.team_id,
        "integration.updated",
        {
            "integration": integration_snapshot(integration, settings.public_base_url),
            "token_replaced": "token" in given,
        },
    )
    session.flush()
    return integration


def _secret_problem(provider: str, secret: str) -> str | None:
    """Why a given secret cannot be used (Standard Webhooks secrets have a format)."""
    if provider != Provider.GENERIC:
        return None
    problem = "A Standard Webhooks secret is `whsec_` and the base64 of 24 to 64 random bytes."
    if not secret.startswith(SECRET_PREFIX):
        return problem
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError:  # binascii.Error
        return problem
    return None if 24 <= len(key) <= 64 else problem


def _new_secret(provider: str) -> str:
    if provider == Provider.GENERIC:
        return new_secret()
    return secrets.token_urlsafe(_SECRET_BYTES)


def create_integration(
    session: Session, ctx: Context, team_id: str, data: Mapping[str, Any]
) -> tuple[Integration, str]:
    """Register an integration; returns it and its secret (given, or made here), which the
    caller shows this once."""
    key = ctx.settings.tickets_encryption_key
    _check(session, team_id, data, ctx.settings)
    secret = data.get("secret") or _new_secret(data["provider"])
    tickets: dict[str, Any] | None = None
    tickets_token: str | None = None
    if data.get("tickets") is not None:
        tickets = _stored_tickets(data["provider"], data["tickets"])
        tickets_token = encrypt_token(key, data["tickets"]["token"])
    integration = Integration(
        team_id=team_id,
        provider=data["provider"],
        name=data["name"],
        project_id=data.get("project_id"),
        status_map=dict(data.get("status_map") or {}),
        verification=data.get("verification", "signature"),
        secret=secret,
        tickets=tickets,
        tickets_token=tickets_token,
    )
    session.add(integration)
    session.flush()
    record_event(
        session,
        ctx,
        team_id,
        "integration.created",
        {"integration": integration_snapshot(integration, ctx.settings.public_base_url)},
    )
    session.flush()
    return integration, secret


def delete_integration(session: Session, ctx: Context, integration: Integration) -> None:
    """Remove an integration with its delivery record; its URL answers 404 from now on."""
    record_event(
        session,
        ctx,
        integration.team_id,
        "integration.deleted",
        {"integration": integration_snapshot(integration, ctx.settings.public_base_url)},
    )
    session.delete(integration)
    session.flush()


def rotate_secret(
    session: Session, ctx: Context, integration: Integration, secret: str | None = None
) -> str:
    """A new secret (given, e.g. the one Linear shows, or made here), returned this once; the
    current one still verifies for the grace period, while the sender is updated."""
    if secret is not None and (problem := _secret_problem(integration.provider, secret)):
        raise ValidationFailed("The secret is not valid.", errors={"secret": [problem]})
    secret = secret or _new_secret(integration.provider)
    integration.previous_secret = integration.secret
    integration.previous_secret_expires_at = utcnow() + timedelta(
        seconds=ctx.settings.webhook_secret_grace_seconds
    )
    integration.secret = secret
    record_event(
        session,
        ctx,
        integration.team_id,
        "integration.secret_rotated",
        {
            "integration": integration_snapshot(integration, ctx.settings.public_base_url),
            "previous_secret_expires_at": integration.previous_secret_expires_at.isoformat(),
        },
    )
    session.flush()
    return secret
