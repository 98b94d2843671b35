"""The catalogue of event types: what each one means and what its `data` looks like.

Every event the service records (`record_event`) has an entry here, with an example payload of
exactly the shape the code produces (tests generate the real events and compare their keys), so
`GET /v1/event-types`, `docs/webhooks.md` and webhook subscriptions all speak of the same types.
Subscription patterns are checked and matched here too.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from app.services.checklists.documents import ticket_text


@dataclass(frozen=True)
class EventType:
    """`example` is the `data` of an event of this type (the `payload` of the activity feed).
    `variants` are other shapes the same type takes, each `(when, data)`."""

    name: str
    description: str
    example: Mapping[str, Any]
    variants: tuple[tuple[str, Mapping[str, Any]], ...] = field(default=())


# --------------------------------------------------------------------------- example values
# One team's story: the healthcare project "Clinic notes", staffed with Ada Lovelace (Data
# Scientist, lead), Alan Turing (Machine Learning Engineer) and Grace Hopper (AI Ethicist).

EXAMPLE_TIMESTAMP = "2026-03-02T09:15:27.513204+00:00"
_BASE = "https://checklists.example.com"
_TEAM = {"id": "team_koa6o4sq2aitvhvqp4dgnt1ur", "name": "Clinic AI", "slug": "clinic-ai"}
_PROJECT_ID = "prj_ryiokfuiblzgk53t5pbsabx9x"
_CHECKLIST_ID = "chk_bmpv2ww71qtflpmv6fihcqh98"
_ITEM_ID = "itm_w80woh83mgnto92qqbr8qwbsw"
_CATALOG_VERSION = "sha256:03a659355f0897c7131560826baf5283e99fbe161e45c00d8e8855a35b5dd2ab"

_ENDPOINT = {
    "id": "whk_tv94krebipov3i54yd5zomg23",
    "url": "https://tickets.example.com/hooks/checklists",
    "event_types": ["checklist.*"],
    "project_id": _PROJECT_ID,
    "enabled": True,
    "header_names": ["X-Automation-Webhook-Token"],
}
_ADA = {
    "id": "per_u6s2pzn9vh2kr8zl75i6lixmq",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "handles": {"github": "ada-l", "jira": "ada.lovelace"},
}
_ALAN = {
    "id": "per_uikdjcmvfk7r988ae9gdxwws2",
    "name": "Alan Turing",
    "email": "alan@example.com",
    "handles": {},
}
_GRACE = {
    "id": "per_65utij28nuwj8wkh7zgupfmeu",
    "name": "Grace Hopper",
    "email": "grace@example.com",
    "handles": {"github": "grace-h", "linear": "grace"},
}

# The project as its own events show it (every trait as stated: true, false, or null when the
# project does not say), and as checklist events show it (the traits that hold, and which of
# them only because the application implies them).
_PROJECT = {
    "id": _PROJECT_ID,
    "name": "Clinic notes",
    "slug": "clinic-notes",
    "application": "healthcare-solutions",
    "traits": {
        "handles_personal_data": True,
        "user_facing": True,
        "generates_public_content": False,
        "regulated_domain": None,
        "uses_third_party_models": None,
    },
    "status": "active",
}
_PROJECT_HEADER = {
    "id": _PROJECT_ID,
    "name": "Clinic notes",
    "slug": "clinic-notes",
    "application": "healthcare-solutions",
    "traits": ["handles_personal_data", "regulated_domain", "user_facing"],
    "implied_traits": ["regulated_domain"],
}


def _assignment(id_: str, role: str, person: Mapping[str, Any], allocation: int | None, lead: bool):
    return {"id": id_, "role": role, "person": person, "allocation": allocation, "lead": lead}


_ADA_DS = _assignment("asg_vx45lkqw3iec6gh8k82u7n10g", "data-scientist", _ADA, 50, True)
_ALAN_MLE = _assignment(
    "asg_fmdv5uufjuqtzkbzcphmsx9vw", "machine-learning-engineer", _ALAN, 80, False
)
_GRACE_ETHICIST = _assignment("asg_d3y4w8n9k04xrxsycjd5oalcn", "ai-ethicist", _GRACE, None, False)
_ALAN_RESEARCHER = _assignment("asg_k7h2s9d4m1x6q3w8z5b0n2p7r", "ai-researcher", _ALAN, 20, False)

_CHECKLIST_URL = f"{_BASE}/v1/projects/clinic-notes/checklist"
_TICKET = {"system": "jira", "key": "CLIN-12", "url": "https://jira.example.com/browse/CLIN-12"}
_ITEM_KEY = "data-scientist.collect-and-preprocess-data"


def _item(
    status: str, note: str | None, ticket: Mapping[str, Any] | None, version: int
) -> dict[str, Any]:
    return {
        "id": _ITEM_ID,
        "key": _ITEM_KEY,
        "kind": "responsibility",
        "title": "Collect and preprocess data",
        "detail": (
            "Gather the training and evaluation data from the sources the project has approved, "
            "and script every cleaning and preprocessing step so that the datasets can be rebuilt."
        ),
        "phase": "collect-and-process-data",
        "done_when": (
            "Each dataset the model uses is versioned and can be rebuilt from its sources by "
            "running the preprocessing scripts."
        ),
        "roles": ["data-scientist"],
        "role_titles": ["Data Scientist"],
        "owners": [_ADA],
        "priority": "medium",
        "status": status,
        "note": note,
        "waiver": None,
        "ticket": ticket,
        "signoff_required": False,
        "reviewer_roles": [],
        "reviewer_role_titles": [],
        "reviewers": [],
        "signed_off_by": None,
        "signed_off_by_name": None,
        "signed_off_at": None,
        "evidence_required": False,
        "evidence": [],
        "because": [
            f"Catalog responsibility {_ITEM_KEY} of Data Scientist",
            "Data Scientist is required on every project",
        ],
        "source": {
            "kind": "article",
            "section": "Key Roles in Generative AI / 1. Data Scientist",
            "quote": "Collecting and preprocessing data from various sources.",
            "elaborates": None,
            "catalog_key": _ITEM_KEY,
            "text": "Collecting and preprocessing data from various sources.",
        },
        "version": version,
        "created_at": "2026-03-01T16:02:11.204518+00:00",
        "updated_at": "2026-03-02T09:15:27.498311+00:00",
        "links": {
            "api": f"{_BASE}/v1/projects/{_PROJECT_ID}/checklist/items/{_ITEM_ID}",
            "checklist_markdown": f"{_CHECKLIST_URL}?format=markdown",
        },
    }


def _item_event(
    item: dict[str, Any],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    reason: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    return {
        "project": _PROJECT_HEADER,
        "item": item,
        "ticket": ticket_text(_PROJECT_HEADER, item),
        "before": dict(before),
        "after": dict(after),
        "reason": reason,
        "source": source,
    }


_INTEGRATION = {
    "id": "int_q2k8w5n1x7c4v9b3m6z0l8j2h",
    "provider": "github",
    "name": "acme/clinic-notes issues",
    "project_id": _PROJECT_ID,
    "verification": "signature",
    "status_map": {
        "completed": "done",
        "not_planned": "waived",
        "duplicate": "waived",
        "reopened": "open",
    },
    "inbound_url": f"{_BASE}/v1/inbound/int_q2k8w5n1x7c4v9b3m6z0l8j2h",
}
_GITHUB_TICKET = {
    "system": "github",
    "key": "acme/clinic-notes#12",
    "url": "https://github.com/acme/clinic-notes/issues/12",
}
_GITHUB_CLOSED = "GitHub issue acme/clinic-notes#12 was closed as completed by ada-l"


_SUMMARY = {
    "total": 47,
    "by_status": {"open": 41, "in_progress": 1, "done": 3, "waived": 1, "obsolete": 1},
    "by_kind": {"responsibility": 17, "collaboration": 3, "mitigation": 23, "staffing": 4},
    "percent_done": 7,
}

# --------------------------------------------------------------------------- the catalogue

_ALL = (
    EventType(
        "team.created",
        "A team was created (by an operator with `flask teams create`).",
        {"team": _TEAM},
    ),
    EventType(
        "api_key.created",
        "An API key was created for the team; the event never holds the secret, only its "
        "first characters (`prefix`).",
        {
            "api_key": {
                "id": "key_3hku48q0dj68huigovjj879pp",
                "name": "jira-sync",
                "scopes": "read,write",
                "prefix": "sck_n2mHaG",
            }
        },
    ),
    EventType(
        "api_key.revoked",
        "An API key was revoked: requests with it are refused from now on.",
        {"api_key": {"id": "key_3hku48q0dj68huigovjj879pp", "name": "jira-sync"}},
    ),
    EventType(
        "person.created",
        "A person was added to the team's directory.",
        {"person": _ADA},
    ),
    EventType(
        "person.updated",
        "A person's name, email or handles changed; `changes` holds `[before, after]` of each "
        "changed field.",
        {
            "person": _ADA,
            "changes": {"email": ["ada.lovelace@example.com", "ada@example.com"]},
        },
    ),
    EventType(
        "person.deleted",
        "A person was removed from the directory, and with them their assignments.",
        {"person": _GRACE},
    ),
    EventType(
        "project.created",
        "A project was registered.",
        {"project": _PROJECT},
    ),
    EventType(
        "project.updated",
        "A project's name, slug, description, application, traits or status changed; "
        "`changes` holds `[before, after]` of each changed field (a trait the project does not "
        "state is null).",
        {"project": _PROJECT, "changes": {"user_facing": [None, True]}},
    ),
    EventType(
        "project.archived",
        "A project was archived (`DELETE /v1/projects/{p}`); its checklist stays readable.",
        {"project": {**_PROJECT, "status": "archived"}},
    ),
    EventType(
        "assignment.created",
        "A person was put in a role on a project.",
        {"assignment": _ADA_DS},
    ),
    EventType(
        "assignment.deleted",
        "A person was taken out of a role on a project, or their assignment went with them "
        "when the person was deleted (then `reason` says so).",
        {"assignment": _ALAN_MLE},
        variants=(
            (
                "when the person was deleted",
                {
                    "assignment": {"id": _GRACE_ETHICIST["id"], "role": "ai-ethicist"},
                    "person": _GRACE,
                    "reason": "person deleted",
                },
            ),
        ),
    ),
    EventType(
        "staffing.replaced",
        "A project's whole staffing was replaced at once (`PUT /v1/projects/{p}/assignments`): "
        "the assignments added, updated (allocation or lead) and removed.",
        {
            "project": {"id": _PROJECT_ID, "slug": "clinic-notes"},
            "added": [_GRACE_ETHICIST, _ALAN_RESEARCHER],
            "updated": [{**_ADA_DS, "allocation": 70}],
            "removed": [_ALAN_MLE],
        },
    ),
    EventType(
        "checklist.generated",
        "A project's checklist was generated or its content changed (staffing, traits, catalog): "
        "the summary of all items and what changed, by item key, with links to the checklist. "
        "`carried_over` lists new items that took the state of an item stored under an old key "
        "(`{key, replaces}`) after a catalog change moved it.",
        {
            "project": _PROJECT_HEADER,
            "checklist": {
                "id": _CHECKLIST_ID,
                "revision": 4,
                "catalog_version": _CATALOG_VERSION,
            },
            "summary": _SUMMARY,
            # After a staffing PUT: Grace Hopper joins as AI Ethicist, Alan Turing moves from
            # Machine Learning Engineer to AI Researcher, Ada Lovelace goes from 50 to 70%.
            "diff": {
                "added": [
                    "ai-researcher.explore-new-algorithms",
                    "ai-researcher.publish-findings",
                    "ai-researcher.advance-theoretical-foundations",
                ],
                "obsoleted": ["staffing.unfilled.ai-ethicist"],
                "restored": ["staffing.unfilled.machine-learning-engineer"],
                "changed": [f"staffing.over-allocated.{_ADA['id']}"],
                "owners_changed": [
                    {
                        "key": "collaboration.data-scientist.ai-ethicist",
                        "before": [_ADA["id"]],
                        "after": [_ADA["id"], _GRACE["id"]],
                    },
                    {
                        "key": "ai-ethicist.establish-ethical-guidelines",
                        "before": [],
                        "after": [_GRACE["id"]],
                    },
                    {
                        "key": "machine-learning-engineer.train-models",
                        "before": [_ALAN["id"]],
                        "after": [],
                    },
                ],
                "carried_over": [],
            },
            "links": {
                "api": _CHECKLIST_URL,
                "checklist_markdown": f"{_CHECKLIST_URL}?format=markdown",
            },
        },
    ),
    EventType(
        "checklist.item.status_changed",
        "A checklist item's status changed: worked by a person (`signed_off_by` names who "
        "signed off an item that needs an independent sign-off), turned back to `open` by the "
        "system when its waiver expired, or following its ticket in a ticketing system (then "
        "`reason` says why, and `source` names the system: `github`, `jira`, `linear`, "
        "`generic`; a ticket closing an item that needs an independent sign-off or evidence "
        "holds it `in_progress`, and `reason` says what it needs). Carries a ready ticket.",
        _item_event(
            _item("done", "Sources listed in the DPIA", _TICKET, version=7),
            before={"status": "in_progress", "waiver": None, "signed_off_by": None},
            after={"status": "done", "waiver": None, "signed_off_by": None},
        ),
        variants=(
            (
                "when its ticket was closed in GitHub",
                _item_event(
                    _item("done", None, _GITHUB_TICKET, version=5),
                    before={"status": "in_progress", "waiver": None, "signed_off_by": None},
                    after={"status": "done", "waiver": None, "signed_off_by": None},
                    reason=_GITHUB_CLOSED,
                    source="github",
                ),
            ),
            (
                "when its ticket was closed but the item needs evidence",
                _item_event(
                    {
                        **_item("in_progress", None, _GITHUB_TICKET, version=2),
                        "evidence_required": True,
                    },
                    before={"status": "open", "waiver": None, "signed_off_by": None},
                    after={"status": "in_progress", "waiver": None, "signed_off_by": None},
                    reason=f"{_GITHUB_CLOSED}; the item is in progress, not done: it needs "
                    "evidence (at least one link)",
                    source="github",
                ),
            ),
        ),
    ),
    EventType(
        "checklist.item.ticket_linked",
        "A ticket was linked to a checklist item, or its link changed or was removed: through "
        "the API, or by a ticketing system (the item found by the marker line in the ticket's "
        "body, its URL taken from a delivery when the link had none, or the ticket deleted or "
        "moved; then `reason` and `source` say so).",
        _item_event(
            _item("in_progress", None, _TICKET, version=4),
            before={"ticket": None},
            after={"ticket": _TICKET},
        ),
    ),
    EventType(
        "checklist.item.updated",
        "A checklist item's note or evidence links (or, with its status unchanged, its waiver or "
        "the person who signed it off) changed.",
        _item_event(
            _item("in_progress", "Waiting for the export from the records system", None, 3),
            before={"note": None, "waiver": None, "evidence": [], "signed_off_by": None},
            after={
                "note": "Waiting for the export from the records system",
                "waiver": None,
                "evidence": [],
                "signed_off_by": None,
            },
        ),
    ),
    EventType(
        "integration.created",
        "An inbound ticketing integration was registered (its secret is never in events); "
        "`inbound_url` is where the ticketing system posts.",
        {"integration": _INTEGRATION},
    ),
    EventType(
        "integration.secret_rotated",
        "An integration got a new secret; the previous one verifies deliveries beside it until "
        "`previous_secret_expires_at`.",
        {"integration": _INTEGRATION, "previous_secret_expires_at": EXAMPLE_TIMESTAMP},
    ),
    EventType(
        "integration.deleted",
        "An integration was removed with its delivery record; its URL answers 404 from now on.",
        {"integration": _INTEGRATION},
    ),
    EventType(
        "webhook.endpoint.created",
        "A webhook endpoint was registered (its secret and header values are never in events).",
        {"endpoint": _ENDPOINT},
    ),
    EventType(
        "webhook.endpoint.updated",
        "A webhook endpoint's URL, filters, headers or state changed; `changes` gives each "
        "changed field before and after (header names only).",
        {
            "endpoint": _ENDPOINT,
            "changes": {"event_types": [["checklist.*"], ["checklist.item.*"]]},
        },
    ),
    EventType(
        "webhook.endpoint.deleted",
        "A webhook endpoint was removed with its deliveries.",
        {"endpoint": _ENDPOINT},
    ),
    EventType(
        "webhook.endpoint.secret_rotated",
        "A webhook endpoint got a new signing secret; the previous one signs beside it until "
        "`previous_secret_expires_at`.",
        {"endpoint": _ENDPOINT, "previous_secret_expires_at": EXAMPLE_TIMESTAMP},
    ),
    EventType(
        "webhook.endpoint.disabled",
        "A webhook endpoint was disabled: it answered 410 Gone, or every delivery failed for "
        "too long. Its due deliveries are dead; nothing is sent to it until it is enabled again.",
        {
            "endpoint": {**_ENDPOINT, "enabled": False},
            "reason": "Every delivery has failed since 2026-02-25T09:15:27+00:00.",
            "disabled_at": EXAMPLE_TIMESTAMP,
        },
    ),
    EventType(
        "webhook.ping",
        "A test message sent to one endpoint on request (`POST /v1/webhooks/{id}/ping`); "
        "not recorded in the activity feed.",
        {
            "endpoint": {"id": _ENDPOINT["id"], "url": _ENDPOINT["url"]},
            "message": "A test message from the staffing checklist API.",
        },
    ),
)

EVENT_TYPES: Mapping[str, EventType] = MappingProxyType({t.name: t for t in _ALL})


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


# --------------------------------------------------------------------------- documentation


def markdown() -> str:
    """The "Event types" section of `docs/webhooks.md`, made from this catalogue (print it
    with `python -m app.services.webhooks.event_types`; a test keeps the document equal to it)."""
    paragraphs = [
        "`GET /v1/event-types` lists the same types with the same examples. A subscription names "
        "types exactly (`checklist.generated`), by a prefix ending in `.*` (`checklist.*` takes "
        "`checklist.generated` and every `checklist.item.*` type), or all of them with `*`; a "
        "pattern that matches no type is refused. Each example is a webhook body: `type`, "
        "`timestamp` and `data`, which is the event's `payload` in the activity feed "
        "(`GET /v1/events`). Keys are always present, with `null` when there is no value; only "
        "the keys of `changes` (the fields that changed), `handles` (the systems a person has a "
        "handle in) and an item's `source` (by kind) vary. Links are absolute, built from "
        "`PUBLIC_BASE_URL`.",
        "",
        "Item events (`checklist.item.*`) carry what a ticket needs: the `project`; the `item` "
        "with its roles' titles, owners (names, emails, handles), priority, status, ticket link, "
        "`because` and `links` (`api`: the item in the API, by ids that never change; "
        "`checklist_markdown`: the project's checklist as a task list); and `ticket`, a ready "
        "`title` and Markdown `body` whose last line is "
        "`checklist-item: <project slug>/<item key>`, which is how an inbound ticket event finds "
        "its item again. `reason` says why when the system or a ticket changed the item, and "
        "`source` names the ticketing system whose delivery changed it (null otherwise; see "
        "[ticketing.md](ticketing.md)). The `item`'s `version`, and the `checklist`'s "
        "`revision` in `checklist.generated`, tell a newer event from an older one "
        "([Order](#order)).",
    ]
    lines = ["## Event types"]
    for paragraph in filter(None, paragraphs):
        lines += ["", _wrap(paragraph)]
    for event_type in EVENT_TYPES.values():
        lines += ["", f"### `{event_type.name}`", "", _wrap(event_type.description), ""]
        lines += _json_block(webhook_body(event_type))
        for when, data in event_type.variants:
            lines += ["", f"The same type {when}:", ""]
            lines += _json_block(webhook_body(event_type, data))
    return "\n".join(lines) + "\n"


def _wrap(text: str) -> str:
    return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)


def _json_block(value: Any) -> list[str]:
    return ["```json", json.dumps(value, indent=2, ensure_ascii=False), "```"]


if __name__ == "__main__":
    print(markdown(), end="")
