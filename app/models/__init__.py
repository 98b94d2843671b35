"""Typed SQLAlchemy models on one declarative base."""

from app.models.base import Base, new_id, utcnow
from app.models.catalog import (
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
from app.models.checklist import (
    ITEM_STATUSES,
    Checklist,
    ChecklistItem,
    ChecklistItemOwner,
    ChecklistItemVersion,
    ChecklistRevision,
)
from app.models.directory import Person
from app.models.erasure import Erasure
from app.models.event import Event
from app.models.idempotency import IdempotencyRecord
from app.models.integrations import (
    INBOUND_OUTCOMES,
    PROVIDERS,
    TICKET_SYNC_STATES,
    VERIFICATIONS,
    InboundDelivery,
    Integration,
    TicketSync,
)
from app.models.project import (
    CONTEXT_FIELDS,
    PROJECT_STATUSES,
    RISK_CLASSIFICATIONS,
    Assignment,
    Project,
)
from app.models.release import RELEASE_STATUSES, Release
from app.models.share import ShareLink
from app.models.team import SCOPES, ApiKey, Team
from app.models.webhooks import (
    DELIVERY_STATUSES,
    DUE_STATUSES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "CONTEXT_FIELDS",
    "DELIVERY_STATUSES",
    "DUE_STATUSES",
    "INBOUND_OUTCOMES",
    "ITEM_STATUSES",
    "PROJECT_STATUSES",
    "PROVIDERS",
    "RELEASE_STATUSES",
    "RISK_CLASSIFICATIONS",
    "SCOPES",
    "TICKET_SYNC_STATES",
    "VERIFICATIONS",
    "ApiKey",
    "Assignment",
    "Base",
    "CatalogApplication",
    "CatalogChallenge",
    "CatalogCollaboration",
    "CatalogContextItem",
    "CatalogMitigation",
    "CatalogPack",
    "CatalogResponsibility",
    "CatalogRiskRule",
    "CatalogRole",
    "CatalogTrait",
    "CatalogVersion",
    "CatalogWaiverPolicy",
    "Checklist",
    "ChecklistItem",
    "ChecklistItemOwner",
    "ChecklistItemVersion",
    "ChecklistRevision",
    "Erasure",
    "Event",
    "IdempotencyRecord",
    "InboundDelivery",
    "Integration",
    "Person",
    "Project",
    "Release",
    "ShareLink",
    "Team",
    "TicketSync",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "new_id",
    "utcnow",
]
