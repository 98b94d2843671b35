"""Inbound ticketing integrations and the record of their deliveries."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.models import (
    INBOUND_OUTCOMES,
    ITEM_STATUSES,
    PROVIDERS,
    TICKET_SYNC_STATES,
    VERIFICATIONS,
)
from app.schemas.common import name_field
from app.services.ticketing.payloads import DEFAULT_STATUS_MAPS, MAP_TARGETS
from app.vocabulary import PHASES, PRIORITIES, ItemKind, Provider, values

_SECRET = ma.fields.String(
    validate=[
        validate.Length(min=16, max=200),
        validate.Regexp(r"^[\x21-\x7e]+$", error="Printable ASCII characters, no spaces."),
    ],
    metadata={
        "description": "The shared secret, when the ticketing system makes it (Linear does); "
        "made for you when absent. `whsec_…` for `generic`"
    },
)


# A Standard Webhooks secret (`generic`): `whsec_` and the base64 of 24 to 64 bytes, that is
# 8 to 21 whole groups of four characters, or 9 to 22 groups whose last is padded.
_B64 = "[A-Za-z0-9+/]"
_STANDARD_WEBHOOKS_SECRET = (
    f"^whsec_(?:(?:{_B64}{{4}}){{8,21}}"
    f"|(?:{_B64}{{4}}){{8,20}}{_B64}{{3}}="
    f"|(?:{_B64}{{4}}){{8,21}}{_B64}{{2}}==)$"
)


class _TicketsCommon(ma.Schema):
    """What native tickets take whatever the tracker: the token, and which items."""

    token = ma.fields.String(
        required=True,
        load_only=True,
        validate=[
            validate.Length(min=1, max=255),
            validate.Regexp(r"^[\x21-\x7e]+$", error="Printable ASCII characters, no spaces."),
        ],
        metadata={
            "description": "GitHub: a token that may read and write the repository's issues "
            "(fine-grained: `Issues: read and write`; classic: `repo`); Jira: the account's "
            "API token; Linear: a personal API key. Write-only: stored encrypted, never shown"
        },
    )
    min_priority = ma.fields.String(
        required=True,
        validate=validate.OneOf(PRIORITIES),
        metadata={"description": "Items of this priority and above get a ticket"},
    )
    kinds = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(values(ItemKind))),
        validate=validate.Length(min=1, max=10),
        metadata={"description": "Only items of these kinds (all kinds when absent)"},
    )
    phases = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(PHASES)),
        validate=validate.Length(min=1, max=10),
        metadata={"description": "Only items of these phases (all phases when absent)"},
    )
    labels = ma.fields.List(
        ma.fields.String(
            validate=[
                validate.Length(min=1, max=50),
                validate.Regexp(
                    r"^[^\x00-\x1f\x7f,]*[^\x00-\x20\x7f,][^\x00-\x1f\x7f,]*$",
                    error="A label: no commas or control characters, not blank.",
                ),
            ]
        ),
        validate=validate.Length(max=10),
        metadata={
            "description": "Labels every ticket gets (Jira's labels have no spaces; Linear's "
            "are found by name in the workspace and the team)"
        },
    )

    class Meta:
        ordered = True


class GithubTicketsIn(_TicketsCommon):
    """Native tickets in GitHub: issues in one repository."""

    repository = ma.fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$",
            error="A GitHub repository, `owner/repo`.",
        ),
        metadata={"description": "GitHub (required): the repository issues are opened in"},
    )


class JiraTicketsIn(_TicketsCommon):
    """Native tickets in Jira Cloud: issues of one type in one project of a site."""

    site = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "Jira (required): the site's URL, `https://acme.atlassian.net`; the "
            "worker calls its REST API there (the webhooks' SSRF rules apply)",
            "format": "uri",
        },
    )
    project = ma.fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Z][A-Z0-9_]{1,9}$", error="A Jira project key: `CLIN` (2 to 10 capitals)."
        ),
        metadata={"description": "Jira (required): the key of the project issues are opened in"},
    )
    issue_type = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=60),
        metadata={"description": "Jira (required): the issue type's name, `Task`"},
    )
    email = ma.fields.String(
        required=True,
        validate=[validate.Length(max=254), validate.Email()],
        metadata={
            "description": "Jira (required): the email of the Atlassian account whose API "
            "token `token` is",
            "format": "email",
        },
    )
    labels = ma.fields.List(
        ma.fields.String(
            validate=[
                validate.Length(min=1, max=50),
                validate.Regexp(
                    r"^[^\x00-\x20\x7f,]+$",
                    error="A Jira label: no spaces, commas or control characters.",
                ),
            ]
        ),
        validate=validate.Length(max=10),
        metadata={"description": "Labels every issue gets (Jira's labels have no spaces)"},
    )


class LinearTicketsIn(_TicketsCommon):
    """Native tickets in Linear: issues of one team."""

    team = ma.fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
            error="A Linear team id (a UUID).",
        ),
        metadata={"description": "Linear (required): the id of the team issues are opened in"},
    )


# The `tickets` each provider takes (`generic` takes none).
TICKETS_BY_PROVIDER: dict[str, type[ma.Schema]] = {
    Provider.GITHUB.value: GithubTicketsIn,
    Provider.JIRA.value: JiraTicketsIn,
    Provider.LINEAR.value: LinearTicketsIn,
}


class TicketsUpdate(_TicketsCommon):
    """New native tickets' settings for an integration: the fields given replace the ones it has
    (a new `token` replaces an expired or revoked one); an integration without tickets needs
    them all, as when it is created. The fields of `where` are its provider's."""

    repository = ma.fields.String(
        validate=validate.Regexp(
            r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$",
            error="A GitHub repository, `owner/repo`.",
        ),
        metadata={"description": "GitHub (required): the repository issues are opened in"},
    )
    site = ma.fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "Jira (required): the site's URL, `https://acme.atlassian.net`; the "
            "worker calls its REST API there (the webhooks' SSRF rules apply)",
            "format": "uri",
        },
    )
    project = ma.fields.String(
        validate=validate.Regexp(
            r"^[A-Z][A-Z0-9_]{1,9}$", error="A Jira project key: `CLIN` (2 to 10 capitals)."
        ),
        metadata={"description": "Jira (required): the key of the project issues are opened in"},
    )
    issue_type = ma.fields.String(
        validate=validate.Length(min=1, max=60),
        metadata={"description": "Jira (required): the issue type's name, `Task`"},
    )
    email = ma.fields.String(
        validate=[validate.Length(max=254), validate.Email()],
        metadata={
            "description": "Jira (required): the email of the Atlassian account whose API "
            "token `token` is",
            "format": "email",
        },
    )
    team = ma.fields.String(
        validate=validate.Regexp(
            r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
            error="A Linear team id (a UUID).",
        ),
        metadata={"description": "Linear (required): the id of the team issues are opened in"},
    )
    token = ma.fields.String(
        load_only=True,
        validate=[
            validate.Length(min=1, max=255),
            validate.Regexp(r"^[\x21-\x7e]+$", error="Printable ASCII characters, no spaces."),
        ],
        metadata={"description": "A new token for the tracker. Write-only: stored encrypted"},
    )
    min_priority = ma.fields.String(
        validate=validate.OneOf(PRIORITIES),
        metadata={"description": "Items of this priority and above get a ticket"},
    )


class IntegrationUpdate(ma.Schema):
    tickets = ma.fields.Nested(
        TicketsUpdate,
        required=True,
        metadata={
            "description": "Native tickets' settings to replace (GitHub, Jira, Linear): the "
            "fields given, others kept"
        },
    )

    class Meta:
        ordered = True


class TicketsOut(ma.Schema):
    """An integration's native tickets, without the token."""

    repository = ma.fields.String(metadata={"description": "GitHub"})
    site = ma.fields.String(metadata={"description": "Jira"})
    project = ma.fields.String(metadata={"description": "Jira"})
    issue_type = ma.fields.String(metadata={"description": "Jira"})
    email = ma.fields.String(metadata={"description": "Jira"})
    team = ma.fields.String(metadata={"description": "Linear"})
    min_priority = ma.fields.String(validate=validate.OneOf(PRIORITIES))
    kinds = ma.fields.List(ma.fields.String(), allow_none=True)
    phases = ma.fields.List(ma.fields.String(), allow_none=True)
    labels = ma.fields.List(ma.fields.String())
    api_url = ma.fields.String(
        metadata={
            "description": "The tracker's API base the worker calls (`GITHUB_API_URL`, the "
            "Jira site, `LINEAR_API_URL`)"
        }
    )


def _provider_rules(provider: str) -> dict[str, dict[str, object] | None]:
    """What an integration of `provider` may hold, beyond the fields' own rules: its states in
    `status_map` (any state for `generic`), token verification for Jira only, and the
    secret's format for `generic` (app.services.ticketing.integrations checks the same)."""
    # A title per provider names the map's model in a generated client.
    rules: dict[str, dict[str, object] | None] = {
        "status_map": {"title": f"{provider.capitalize()}StatusMap"}
    }
    if provider in TICKETS_BY_PROVIDER:
        # The provider's own fields of where its tickets go (components registered by
        # app.api.register_blueprints).
        component = TICKETS_BY_PROVIDER[provider].__name__
        rules["tickets"] = {
            "type": "object",
            "allOf": [{"$ref": f"#/components/schemas/{component}"}],
        }
    else:
        # Native tickets are opened in GitHub, Jira and Linear: a generic system has none.
        rules["tickets"] = None
    if provider != Provider.GENERIC:
        assert rules["status_map"] is not None
        rules["status_map"].update(
            properties={
                state: {"type": "string", "enum": list(MAP_TARGETS)}
                for state in DEFAULT_STATUS_MAPS[provider]
            },
            additionalProperties=False,
        )
    if provider != Provider.JIRA:
        rules["verification"] = {"enum": ["signature"]}
    if provider == Provider.GENERIC:
        rules["secret"] = {"pattern": _STANDARD_WEBHOOKS_SECRET}
    return rules


class IntegrationCreate(ma.Schema):
    # Documented as one shape per provider (see app.http.openapi).
    SHAPES_BY = ("provider", {provider: _provider_rules(provider) for provider in PROVIDERS})

    provider = ma.fields.String(required=True, validate=validate.OneOf(PROVIDERS))
    name = name_field(120, required=True)
    project_id = ma.fields.String(
        allow_none=True,
        validate=validate.Length(max=40),
        metadata={"description": "Only items of this project follow the tickets"},
    )
    status_map = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Length(min=1, max=64)),
        values=ma.fields.String(validate=validate.OneOf(MAP_TARGETS)),
        validate=validate.Length(max=20),
        metadata={
            "maxProperties": 20,
            "description": "Provider states mapped to item statuses (or `ignore`), over the "
            "defaults: GitHub close reasons and `reopened`, Jira status categories, Linear "
            "state types; for `generic`, any status string",
        },
    )
    verification = ma.fields.String(
        validate=validate.OneOf(VERIFICATIONS),
        metadata={
            "description": "`signature` (default); `token` for Jira setups that cannot sign: "
            "the secret is then sent as `?token=` in the URL"
        },
    )
    secret = _SECRET
    # Loaded by the provider's own schema (`TICKETS_BY_PROVIDER`), documented in its shape.
    tickets = ma.fields.Dict(
        metadata={
            "description": "GitHub, Jira and Linear: open, update and close a ticket for each "
            "matching item (docs/ticketing.md, Native tickets), with the provider's own "
            "fields of where"
        },
    )

    @ma.validates_schema(skip_on_field_errors=True)
    def _tickets_of_the_provider(self, data: dict[str, Any], **_: Any) -> None:
        """`tickets` as the provider takes them (a generic integration takes none: the
        service refuses them, naming `tickets`)."""
        schema = TICKETS_BY_PROVIDER.get(data.get("provider", ""))
        if data.get("tickets") is None or schema is None:
            return
        try:
            data["tickets"] = schema().load(data["tickets"])
        except ma.ValidationError as exc:
            raise ma.ValidationError({"tickets": exc.messages}) from None

    class Meta:
        ordered = True


class IntegrationOut(ma.Schema):
    id = ma.fields.String()
    provider = ma.fields.String(validate=validate.OneOf(PROVIDERS))
    name = ma.fields.String()
    project_id = ma.fields.String(allow_none=True)
    status_map = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "The defaults with this integration's overrides"},
    )
    verification = ma.fields.String(validate=validate.OneOf(VERIFICATIONS))
    tickets = ma.fields.Nested(
        TicketsOut,
        allow_none=True,
        metadata={"description": "Native tickets, when the integration opens them (no token)"},
    )
    inbound_url = ma.fields.String(
        metadata={"description": "Where the ticketing system posts its webhooks", "format": "uri"}
    )
    previous_secret_expires_at = ma.fields.DateTime(
        allow_none=True,
        metadata={"description": "Until when the secret before the last rotation verifies too"},
    )
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class IntegrationCreated(IntegrationOut):
    """The integration as created: the only answer that holds its secret."""

    secret = ma.fields.String(metadata={"description": "The shared secret, shown only this once"})


class RotateRequest(ma.Schema):
    secret = _SECRET


class IntegrationSecretOut(ma.Schema):
    secret = ma.fields.String(metadata={"description": "The new secret, shown once"})
    previous_secret_expires_at = ma.fields.DateTime()


class InboundItemOut(ma.Schema):
    """What became of one item a delivery concerns."""

    id = ma.fields.String()
    key = ma.fields.String()
    project_id = ma.fields.String()
    # Records made before these fields were kept show the defaults.
    project = ma.fields.String(
        allow_none=True, dump_default=None, metadata={"description": "The project's slug"}
    )
    status = ma.fields.String(
        validate=validate.OneOf(ITEM_STATUSES),
        metadata={"description": "The item's status after the delivery"},
    )
    held = ma.fields.Boolean(
        dump_default=False,
        metadata={
            "description": "The ticket asks for a status a ticketing system cannot give this "
            "item alone (`done` without an independent sign-off or evidence, `waived` without "
            "an independent approver): the item stays in `status` (`in_progress` at least), "
            "and `needs` says what it waits for"
        },
    )
    needs = ma.fields.List(
        ma.fields.String(),
        dump_default=list,
        metadata={
            "description": "What a held item still needs, in words: `an independent sign-off "
            "by an AI Ethicist`, `evidence (at least one link)`; empty when not held"
        },
    )
    signed_off_by = ma.fields.String(
        allow_none=True,
        dump_default=None,
        metadata={
            "description": "The person who signed the item off by this delivery: its sender, "
            "by their handle, closing the ticket or commenting `/signoff`"
        },
    )
    changes = ma.fields.Dict(
        metadata={"description": "`{field: [before, after]}` of `status` and `ticket`"}
    )


class InboundDeliveryOut(ma.Schema):
    id = ma.fields.String()
    integration_id = ma.fields.String()
    delivery_id = ma.fields.String(
        metadata={"description": "The provider's delivery id (or `sha256:` of the body)"}
    )
    event = ma.fields.String(metadata={"description": "`issues.closed`, `jira:issue_updated`…"})
    ticket = ma.fields.Dict(allow_none=True)
    ticket_state = ma.fields.String(allow_none=True)
    sender = ma.fields.String(allow_none=True)
    outcome = ma.fields.String(validate=validate.OneOf(INBOUND_OUTCOMES))
    detail = ma.fields.String(
        metadata={
            "description": "What the delivery did, in words: what each item became, and what "
            "a held item still needs"
        }
    )
    items = ma.fields.List(
        ma.fields.Nested(InboundItemOut),
        metadata={"description": "Each item the ticket concerns, and what became of it"},
    )
    status_code = ma.fields.Integer(metadata={"description": "What the sender was answered"})
    request_id = ma.fields.String(allow_none=True)
    body_sha256 = ma.fields.String()
    body_bytes = ma.fields.Integer()
    created_at = ma.fields.DateTime()


class InboundAnswer(InboundDeliveryOut):
    duplicate = ma.fields.Boolean(
        metadata={"description": "A redelivery: the first delivery's record, nothing done again"}
    )


class InboundQuery(ma.Schema):
    token = ma.fields.String(
        metadata={
            "description": "The integration's secret, for a Jira integration verified by "
            "`token` (others are signed and take no query parameter)"
        }
    )


class InboundDeliveryQuery(ma.Schema):
    outcome = ma.fields.String(validate=validate.OneOf(INBOUND_OUTCOMES))


class TicketSyncOut(ma.Schema):
    """One item's ticket in the integration's tracker, and how its sync goes."""

    id = ma.fields.String()
    item_id = ma.fields.String()
    item_key = ma.fields.String()
    project_id = ma.fields.String()
    state = ma.fields.String(
        validate=validate.OneOf(TICKET_SYNC_STATES),
        metadata={
            "description": "`pending` (to be opened), `creating` (being opened, or its opening "
            "failed and is retried), `synced` (the ticket shows the item), `retrying` (an "
            "update failed and is retried)"
        },
    )
    ticket = ma.fields.Dict(
        allow_none=True,
        metadata={
            "description": "The ticket: `system`, `key` (`owner/repo#12`, `CLIN-7`, `ENG-42`) "
            "and `url`"
        },
    )
    ticket_state = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The ticket's state as last sent or received: `open`, "
            "`closed as completed`, `closed as not planned`"
        },
    )
    attempts = ma.fields.Integer(metadata={"description": "Failed attempts since the last success"})
    last_error = ma.fields.String(
        allow_none=True,
        metadata={"description": "Why the last attempt failed (null after a success)"},
    )
    next_attempt_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "When a failed sync is tried again"}
    )
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
