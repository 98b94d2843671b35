"""The catalogue of event types: what each one means and what its `data` looks like.

Every event the service records (`record_event`) has an entry here, so `GET /v1/event-types`,
`docs/webhooks.md` and webhook subscriptions all speak of the same types. Each type's example
payload is data, in `event_types.yaml` beside this module, of exactly the shape the code produces
(tests generate the real events and compare their keys). Subscription patterns are checked and
matched here too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

EXAMPLES_PATH = Path(__file__).with_name("event_types.yaml")
# The `timestamp` of every example webhook body.
EXAMPLE_TIMESTAMP = "2026-03-02T09:15:27.513204+00:00"


@dataclass(frozen=True)
class EventType:
    """`example` is the `data` of an event of this type (the `payload` of the activity feed).
    `variants` are other shapes the same type takes, each `(when, data)`."""

    name: str
    description: str
    example: Mapping[str, Any]
    variants: tuple[tuple[str, Mapping[str, Any]], ...] = field(default=())


# Every type, in the order the documentation gives them, and what an event of it means.
_DESCRIPTIONS: dict[str, str] = {
    "team.created": "A team was created (by an operator with `flask teams create`).",
    "api_key.created": (
        "An API key was created for the team, or a personal one for a person of it "
        "(`person_id`); the event never holds the secret, only its first characters (`prefix`)."
    ),
    "api_key.revoked": "An API key was revoked: requests with it are refused from now on.",
    "person.created": "A person was added to the team's directory.",
    "person.updated": (
        "A person's name, email or handles changed; `changes` holds `[before, after]` of each "
        "changed field."
    ),
    "person.deleted": "A person was removed from the directory, and with them their assignments.",
    "person.erased": (
        "A person was erased: removed, and their name, email and handles replaced in every "
        "stored record by their `pseudonym` (`erased:<id>`). It holds nothing else of them: "
        "receivers that kept the person's data erase it too, by their id."
    ),
    "project.created": "A project was registered.",
    "project.updated": (
        "A project's name, slug, description, application, traits or status changed; "
        "`changes` holds `[before, after]` of each changed field (a trait the project does not "
        "state is null)."
    ),
    "project.archived": (
        "A project was archived (`DELETE /v1/projects/{p}`); its checklist stays readable."
    ),
    "assignment.created": "A person was put in a role on a project.",
    "assignment.deleted": (
        "A person was taken out of a role on a project, or their assignment went with them "
        "when the person was deleted (then `reason` says so)."
    ),
    "staffing.replaced": (
        "A project's whole staffing was replaced at once (`PUT /v1/projects/{p}/assignments`): "
        "the assignments added, updated (allocation or lead) and removed."
    ),
    "checklist.generated": (
        "A project's checklist was generated or its content changed (staffing, traits, catalog): "
        "the summary of all items and what changed, by item key, with links to the checklist. "
        "`carried_over` lists new items that took the state of an item stored under an old key "
        "(`{key, replaces}`) after a catalog change moved it."
    ),
    "checklist.item.status_changed": (
        "A checklist item's status changed: worked by a person (`signed_off_by` names who "
        "signed off an item that needs an independent sign-off, `item.signed_off_with` the "
        "personal key they signed with), turned back to `open` by the "
        "system when its waiver expired, or following its ticket in a ticketing system (then "
        "`reason` says why, and `source` names the system: `github`, `jira`, `linear`, "
        "`generic`; a ticket closing an item that needs an independent sign-off or evidence "
        "holds it `in_progress`, and `reason` says what it needs). Carries a ready ticket."
    ),
    "checklist.item.ticket_linked": (
        "A ticket was linked to a checklist item, or its link changed or was removed: through "
        "the API, or by a ticketing system (the item found by the marker line in the ticket's "
        "body, its URL taken from a delivery when the link had none, or the ticket deleted or "
        "moved; then `reason` and `source` say so)."
    ),
    "checklist.item.updated": (
        "A checklist item's note or evidence links (or, with its status unchanged, its waiver or "
        "the person who signed it off) changed."
    ),
    "checklist.share.created": (
        "A read-only share link to the project's checklist was made "
        "(`POST /v1/projects/{p}/checklist/shares`): when it expires, and whether it is the "
        "project's ticket link (`tickets`: its URL is written into the project's ticket texts "
        "and item events from now on). The event never holds the link's URL."
    ),
    "checklist.share.revoked": (
        "A share link was revoked (`DELETE /v1/projects/{p}/checklist/shares/{id}`): it opens "
        "nothing from now on."
    ),
    "dashboard.share.created": (
        "A read-only share link to the team dashboard was made (`POST /v1/dashboard/shares`, "
        "admin): when it expires. The event never holds the link's URL."
    ),
    "dashboard.share.revoked": (
        "A share link to the team dashboard was revoked "
        "(`DELETE /v1/dashboard/shares/{id}`): it opens nothing from now on."
    ),
    "release.opened": (
        "A release of a project was opened (`POST /v1/projects/{p}/releases`): the checklist "
        "is for it from now on. `reopened` lists the release gates that reopened for it, each "
        "with its state before (status, waiver, sign-off and the key it was given with, "
        "evidence): every `per-release` gate, and the `per-model-version` ones when "
        "`model_changed` (the model's name, version or provider differs from the `previous` "
        "release's). `superseded` names the open release it replaced, if any. Each reopened "
        "item has its own item event too."
    ),
    "release.shipped": (
        "A release passed its go/no-go and shipped (`PATCH /v1/projects/{p}/releases/{v}`): "
        "`gates` records every release gate of the checklist as it stood (status, sign-off, "
        "waiver expiry)."
    ),
    "integration.created": (
        "An inbound ticketing integration was registered (its secret is never in events); "
        "`inbound_url` is where the ticketing system posts."
    ),
    "integration.updated": (
        "An integration's native tickets' settings were replaced (`PATCH "
        "/v1/integrations/{id}`); `token_replaced` says whether a new tracker token was given "
        "(a token is never in events)."
    ),
    "integration.secret_rotated": (
        "An integration got a new secret; the previous one verifies deliveries beside it until "
        "`previous_secret_expires_at`."
    ),
    "integration.deleted": (
        "An integration was removed with its delivery record; its URL answers 404 from now on."
    ),
    "webhook.endpoint.created": (
        "A webhook endpoint was registered (its secret and header values are never in events)."
    ),
    "webhook.endpoint.updated": (
        "A webhook endpoint's URL, filters, headers or state changed; `changes` gives each "
        "changed field before and after (header names only)."
    ),
    "webhook.endpoint.deleted": "A webhook endpoint was removed with its deliveries.",
    "webhook.endpoint.secret_rotated": (
        "A webhook endpoint got a new signing secret; the previous one signs beside it until "
        "`previous_secret_expires_at`."
    ),
    "webhook.endpoint.disabled": (
        "A webhook endpoint was disabled: it answered 410 Gone, or every delivery failed for "
        "too long. Its due deliveries are dead; nothing is sent to it until it is enabled again."
    ),
    "webhook.ping": (
        "A test message sent to one endpoint on request (`POST /v1/webhooks/{id}/ping`); "
        "not recorded in the activity feed."
    ),
}


def _event_types(path: Path) -> Mapping[str, EventType]:
    """The types with their examples from `path`: one example for each type, none for another."""
    examples = yaml.safe_load(path.read_text(encoding="utf-8"))
    if list(examples) != list(_DESCRIPTIONS):
        raise ValueError(
            f"{path.name} must give an example of each event type, in their order: "
            f"{', '.join(_DESCRIPTIONS)}"
        )
    return MappingProxyType(
        {
            name: EventType(
                name,
                description,
                examples[name]["example"],
                tuple((v["when"], v["data"]) for v in examples[name].get("variants", ())),
            )
            for name, description in _DESCRIPTIONS.items()
        }
    )


EVENT_TYPES: Mapping[str, EventType] = _event_types(EXAMPLES_PATH)


def webhook_body(event_type: EventType, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An example as a webhook delivers it: `{"type", "timestamp", "data"}`."""
    return {
        "type": event_type.name,
        "timestamp": EXAMPLE_TIMESTAMP,
        "data": dict(event_type.example if data is None else data),
    }


# --------------------------------------------------------------------------- patterns

_NAME = r"[a-z0-9_]+(?:\.[a-z0-9_]+)*"
_PATTERN = re.compile(rf"^(?:\*|{_NAME}(?:\.\*)?)$")
MAX_PATTERN_LENGTH = 100


def matches(pattern: str, event_type: str) -> bool:
    """Whether a subscription pattern takes this type: `*` takes every type, `a.b.*` every
    type under `a.b.` (`checklist.*` takes `checklist.generated` and
    `checklist.item.status_changed`), any other pattern only the type of that exact name."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def check_pattern(pattern: str) -> str | None:
    """Why a subscription pattern is refused (malformed, or matching no known type), or None
    when it is fine."""
    if not isinstance(pattern, str) or not pattern:
        return "An event type pattern cannot be empty."
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"An event type pattern has at most {MAX_PATTERN_LENGTH} characters."
    if not _PATTERN.match(pattern):
        return (
            f"'{pattern}' is not an event type pattern: give a type (`checklist.generated`), "
            "a prefix ending in `.*` (`checklist.item.*`) or `*`."
        )
    if not any(matches(pattern, name) for name in EVENT_TYPES):
        return f"'{pattern}' matches no event type; GET /v1/event-types lists them."
    return None
