"""The catalogue of event types: the endpoint, subscription patterns, and examples that are
exactly the shape of the events the service really records, documented in docs/webhooks.md."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from checklist_support import generate, patch_item, read_checklist
from factories import assert_problem, assign, create_person, create_project, events_of
from sqlalchemy import select
from ticketing_support import (
    create_integration,
    encode,
    github_headers,
    github_issue,
    post_delivery,
)

from app.cli import event_types_markdown
from app.extensions import db
from app.models import Checklist, ChecklistItem, Team
from app.services.checklists.documents import ticket_text
from app.services.context import Context
from app.services.directory import teams
from app.services.webhooks.event_types import EVENT_TYPES, check_pattern, matches

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"

# Emitted by the webhook machinery, not by a change a client makes: no HTTP request here
# produces them. Whoever makes them emitted adds them to the story below.
NOT_RECORDED_BY_THE_API = {"webhook.endpoint.disabled", "webhook.ping"}

# Objects whose keys depend on the case rather than on the type: the fields a person or
# project update changed, the handles a person has, the source of an item (by kind).
OPEN_OBJECTS = {"changes", "handles", "source"}


# --------------------------------------------------------------------------- the endpoint


def test_the_catalogue_lists_every_type_with_a_description_and_a_webhook_body(api):
    response = api.get("/v1/event-types")

    assert response.status_code == 200, response.json
    items = response.json["items"]
    assert [i["type"] for i in items] == list(EVENT_TYPES)
    assert response.json["next_cursor"] is None
    for item in items:
        assert item["description"].strip().endswith(".")
        example = item["example"]
        assert example.keys() == {"type", "timestamp", "data"}
        assert example["type"] == item["type"]
        assert datetime.fromisoformat(example["timestamp"]).tzinfo is not None
        assert example["data"] == EVENT_TYPES[item["type"]].example
    assert {i["type"] for i in items} >= {
        "checklist.generated",
        "checklist.item.status_changed",
        "webhook.endpoint.disabled",
        "webhook.ping",
    }


def test_the_catalogue_needs_only_a_read_key_and_answers_304_to_its_etag(make_api):
    reader = make_api(scopes=("read",))

    first = reader.get("/v1/event-types")
    again = reader.get("/v1/event-types", headers={"If-None-Match": first.headers["ETag"]})

    assert first.status_code == 200
    assert again.status_code == 304


def test_the_catalogue_needs_a_key(client):
    assert_problem(client.get("/v1/event-types"), 401)


def test_the_catalogue_is_documented_in_the_openapi_description(client):
    spec = client.get("/openapi.json").json

    operation = spec["paths"]["/v1/event-types"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/EventTypeList")
    assert {"items", "next_cursor"} <= spec["components"]["schemas"]["EventTypeList"][
        "properties"
    ].keys()


# --------------------------------------------------------------------------- patterns


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("checklist.generated", "checklist.generated", True),
        ("checklist.generated", "checklist.item.status_changed", False),
        ("*", "team.created", True),
        ("*", "webhook.ping", True),
        ("checklist.*", "checklist.generated", True),
        ("checklist.*", "checklist.item.status_changed", True),
        ("checklist.item.*", "checklist.item.ticket_linked", True),
        ("checklist.item.*", "checklist.generated", False),
        ("checklist.*", "checklist", False),
        ("checklist.*", "checklists.generated", False),
        ("person.*", "project.created", False),
        ("webhook.*", "webhook.endpoint.disabled", True),
    ],
)
def test_a_pattern_matches_exact_names_everything_or_a_dotted_prefix(pattern, event_type, expected):
    assert matches(pattern, event_type) is expected


@pytest.mark.parametrize(
    "pattern",
    ["*", "checklist.*", "checklist.item.*", "checklist.generated", "api_key.created", "webhook.*"],
)
def test_patterns_that_match_known_types_are_accepted(pattern):
    assert check_pattern(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        ("", "empty"),
        ("checklist.item.deleted", "matches no event type"),
        ("invoice.*", "matches no event type"),
        ("checklist", "matches no event type"),
        ("checklist*", "not an event type pattern"),
        ("*.created", "not an event type pattern"),
        ("checklist.*.status_changed", "not an event type pattern"),
        ("checklist.", "not an event type pattern"),
        ("Checklist.Generated", "not an event type pattern"),
        (" checklist.generated", "not an event type pattern"),
        ("**", "not an event type pattern"),
        ("a" * 101, "at most 100"),
    ],
)
def test_malformed_or_unknown_patterns_are_refused_with_a_reason(pattern, says):
    message = check_pattern(pattern)

    assert message is not None
    assert says in message


def test_every_type_is_matched_by_its_own_name_and_by_its_prefixes():
    for name in EVENT_TYPES:
        parts = name.split(".")
        prefixes = [".".join(parts[:n]) + ".*" for n in range(1, len(parts))]
        assert all(matches(p, name) for p in [name, "*", *prefixes])
        assert all(check_pattern(p) is None for p in [name, *prefixes])


# --------------------------------------------------------------------------- real payloads


def _shape_errors(example: Any, real: Any, path: str = "data") -> list[str]:
    """Where a real payload's keys differ from the example's, at any depth. Null stands for
    any value (an optional object); list elements are compared with the example's first."""
    if example is None or real is None:
        return []
    if isinstance(example, Mapping) or isinstance(real, Mapping):
        if not (isinstance(example, Mapping) and isinstance(real, Mapping)):
            return [f"{path}: {type(real).__name__} where the example has {example!r}"]
        if path.rsplit(".", 1)[-1] in OPEN_OBJECTS:
            return []
        errors = []
        if example.keys() != real.keys():
            errors.append(f"{path}: keys {sorted(real)} where the example has {sorted(example)}")
        for key in example.keys() & real.keys():
            errors += _shape_errors(example[key], real[key], f"{path}.{key}")
        return errors
    if isinstance(example, list) or isinstance(real, list):
        if not (isinstance(example, list) and isinstance(real, list)):
            return [f"{path}: {type(real).__name__} where the example has a list"]
        if not example:
            return [f"{path}: the example's list is empty"] if real else []
        return [e for i, r in enumerate(real) for e in _shape_errors(example[0], r, f"{path}.{i}")]
    return []


def _shapes(event_type: str) -> list[Mapping[str, Any]]:
    registered = EVENT_TYPES[event_type]
    return [registered.example, *(data for _, data in registered.variants)]


def _expire_waiver(app, project_id: str, key: str) -> None:
    """What the passing of time does to a waiver: its date is now in the past."""
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    with app.app_context():
        item = db.session.scalar(
            select(ChecklistItem).where(
                ChecklistItem.project_id == project_id, ChecklistItem.key == key
            )
        )
        item.waiver = {**item.waiver, "expires_on": yesterday.isoformat()}
        checklist = db.session.scalar(select(Checklist).where(Checklist.project_id == project_id))
        checklist.next_waiver_expiry = yesterday
        db.session.commit()


def _clinic_notes_story(app, api) -> list[dict[str, Any]]:
    """Everything a team does in a project's life, through the API: every event type the API
    records, at least once. Returns the team's events, oldest first."""
    ada = create_person(
        api,
        name="Ada Lovelace",
        email="ada.lovelace@example.com",
        handles={"github": "ada-l", "jira": "ada.lovelace"},
    )
    api.patch(f"/v1/people/{ada['id']}", json={"email": "ada@example.com"})
    alan = create_person(api, name="Alan Turing", email="alan@example.com")
    grace = create_person(
        api, name="Grace Hopper", email="grace@example.com", handles={"github": "grace-h"}
    )
    project = create_project(
        api,
        name="Clinic notes",
        application="healthcare-solutions",
        traits={"handles_personal_data": True},
    )
    api.patch(f"/v1/projects/{project['id']}", json={"traits": {"user_facing": True}})
    endpoint = api.post(
        "/v1/webhooks",
        json={
            "url": "https://93.184.216.34/hooks/checklists",
            "event_types": ["checklist.*"],
            "project_id": project["id"],
            "headers": {"X-Automation-Webhook-Token": "token"},
        },
    ).json
    api.patch(f"/v1/webhooks/{endpoint['id']}", json={"event_types": ["checklist.item.*"]})
    api.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret")
    api.delete(f"/v1/webhooks/{endpoint['id']}")
    assign(api, project, "data-scientist", ada, allocation=50, lead=True)
    generate(api, project, 201)
    staffing = api.put(
        f"/v1/projects/{project['id']}/assignments",
        json={
            "assignments": [
                {"role": "data-scientist", "person_id": ada["id"], "allocation": 60, "lead": True},
                {"role": "machine-learning-engineer", "person_id": alan["id"], "allocation": 80},
                {"role": "ai-ethicist", "person_id": grace["id"]},
            ]
        },
    )
    assert staffing.status_code == 200, staffing.json
    key = "data-scientist.collect-and-preprocess-data"
    patch_item(api, project, key, {"status": "in_progress"})
    patch_item(api, project, key, {"ticket": {"system": "jira", "key": "CLIN-12"}})
    patch_item(api, project, key, {"note": "Waiting for the export"})
    patch_item(api, project, key, {"status": "done"})
    waived = "data-privacy.inventory-data-sources"
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    patch_item(
        api,
        project,
        waived,
        {"waiver": {"reason": "One vetted data source", "expires_on": tomorrow}},
    )
    _expire_waiver(app, project["id"], waived)
    read_checklist(api, project)  # turns the expired waiver back to open
    _ticket_closed_in_github(api, project, "data-scientist.evaluate-model-performance")
    shares = f"/v1/projects/{project['id']}/checklist/shares"
    share = api.post(shares, json={"name": "Clinic notes tickets", "tickets": True}).json
    # While the ticket link lives, item events link to it.
    patch_item(api, project, key, {"note": "Export received"})
    api.delete(f"{shares}/{share['id']}")
    dashboard_share = api.post("/v1/dashboard/shares", json={"name": "Governance board"}).json
    api.delete(f"/v1/dashboard/shares/{dashboard_share['id']}")
    _release_shipped_then_the_next_opened(api)
    alan_assignment = next(
        a for a in staffing.json["items"] if a["role"] == "machine-learning-engineer"
    )
    api.delete(f"/v1/projects/{project['id']}/assignments/{alan_assignment['id']}")
    api.delete(f"/v1/people/{grace['id']}")
    eve = create_person(api, name="Eve Example", email="eve@example.com")
    assert api.post(f"/v1/people/{eve['id']}/erase").status_code == 200
    api.delete(f"/v1/projects/{project['id']}")
    with app.app_context():
        ctx = Context("cli")
        team = db.session.get(Team, api.team_id)
        key, _ = teams.create_key(db.session, ctx, team, ["read", "write"], "jira-sync")
        teams.revoke_key(db.session, ctx, key.id)
        db.session.commit()
    return list(reversed(events_of(api)))


def _release_shipped_then_the_next_opened(api) -> None:
    """A project whose gates are none critical: an evaluation done, release 1.3.0 opened (the
    evaluation reopens) and shipped; 1.4.0 opened on a new model version."""
    project = create_project(api, name="Notes search", application="other")
    generate(api, project, 201)
    patch_item(api, project, "data-scientist.evaluate-model-performance", {"status": "done"})
    releases = f"/v1/projects/{project['id']}/releases"
    model = {"name": "gpt-4o", "version": "2024-05-13", "provider": "openai"}
    assert api.post(releases, json={"version": "1.3.0", "model": model}).status_code == 201
    shipped = api.patch(f"{releases}/1.3.0", json={"status": "shipped"})
    assert shipped.status_code == 200, shipped.json
    model = {**model, "version": "2024-08-06"}
    assert api.post(releases, json={"version": "1.4.0", "model": model}).status_code == 201


def _ticket_closed_in_github(api, project: Mapping[str, Any], key: str) -> None:
    """An integration registered, given native tickets and rotated; GitHub closes an issue
    whose body names the item (it is linked and done), and one whose item needs evidence (it is
    held in progress), then the integration is removed."""
    integration = create_integration(api, "github", project_id=project["id"])
    tickets = {"repository": "acme/app", "token": "ghp_story_token_0123", "min_priority": "high"}
    patched = api.patch(f"/v1/integrations/{integration['id']}", json={"tickets": tickets})
    assert patched.status_code == 200, patched.json
    api.post(f"/v1/integrations/{integration['id']}/rotate-secret")
    body = encode(github_issue("closed", body=f"checklist-item: {project['slug']}/{key}"))
    delivered = post_delivery(
        api.client, integration, body, github_headers(integration["secret"], body)
    )
    assert delivered.json["outcome"] == "applied", delivered.json
    # The threat model is done only with evidence: its close is held.
    threat_model = "information-security.threat-model"
    body = encode(
        github_issue("closed", number=13, body=f"checklist-item: {project['slug']}/{threat_model}")
    )
    held = post_delivery(api.client, integration, body, github_headers(integration["secret"], body))
    assert held.json["items"][0]["held"] is True, held.json
    api.delete(f"/v1/integrations/{integration['id']}")


def test_every_real_payload_has_the_shape_of_its_types_example(app, api):
    events = _clinic_notes_story(app, api)

    seen: set[str] = set()
    for event in events:
        assert event["type"] in EVENT_TYPES, f"{event['type']} is not in the catalogue"
        seen.add(event["type"])
        candidates = [_shape_errors(shape, event["payload"]) for shape in _shapes(event["type"])]
        assert any(not errors for errors in candidates), (
            f"{event['type']}: {candidates[0]}\n{json.dumps(event['payload'], indent=1)}"
        )
    assert seen == set(EVENT_TYPES) - NOT_RECORDED_BY_THE_API


def test_the_variant_of_a_type_is_really_produced(app, api):
    """A registered variant is not a leftover: the story records it."""
    events = _clinic_notes_story(app, api)

    for name, registered in EVENT_TYPES.items():
        for when, variant in registered.variants:
            payloads = [e["payload"] for e in events if e["type"] == name]
            assert any(not _shape_errors(variant, p) for p in payloads), f"{name} {when}"


# --------------------------------------------------------------------------- the docs


def _documented_sections() -> dict[str, str]:
    text = DOCS.read_text()
    assert text.startswith("# Webhooks\n")
    assert "\n## Event types\n" in text
    part = text.split("\n## Event types\n", 1)[1].split("\n## ", 1)[0]
    sections = re.split(r"^### `([a-z0-9_.]+)`\n", part, flags=re.MULTILINE)
    return dict(zip(sections[1::2], sections[2::2], strict=True))


def _json_blocks(text: str) -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", text, re.DOTALL)]


def _all_keys(value: Any) -> set[str]:
    if isinstance(value, Mapping):
        return set(value) | {k for v in value.values() for k in _all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _all_keys(v)}
    return set()


def test_docs_list_every_type_with_its_description_and_example():
    sections = _documented_sections()

    assert list(sections) == list(EVENT_TYPES)
    for name, registered in EVENT_TYPES.items():
        section = sections[name]
        assert " ".join(registered.description.split()) in " ".join(section.split())
        blocks = _json_blocks(section)
        assert blocks, f"{name}: no example in docs/webhooks.md"
        assert blocks[0]["type"] == name
        assert not _shape_errors(registered.example, blocks[0]["data"]), name
        assert _all_keys(registered.example) <= _all_keys(blocks[0]["data"]), name
        assert len(blocks) == 1 + len(registered.variants), name


def test_the_event_types_section_is_the_one_the_catalogue_makes():
    """Regenerate it with `flask webhooks event-types-doc --update docs/webhooks.md` after
    changing an event type or its example."""
    text = DOCS.read_text()
    start = text.index("## Event types\n")
    end = text.find("\n## ", start + 1)
    assert text[start : end + 1 if end != -1 else None] == event_types_markdown()


def test_the_command_prints_the_section_or_writes_it_over_the_old_one(runner, tmp_path):
    printed = runner.invoke(args=["webhooks", "event-types-doc"])
    assert printed.exit_code == 0, printed.output
    assert printed.output == event_types_markdown()

    document = tmp_path / "webhooks.md"
    document.write_text("# Webhooks\n\n## Event types\n\nstale\n\n## Order\n\nkept\n")
    updated = runner.invoke(args=["webhooks", "event-types-doc", "--update", str(document)])
    assert updated.exit_code == 0, updated.output
    assert document.read_text() == (
        "# Webhooks\n\n" + event_types_markdown() + "## Order\n\nkept\n"
    )


def test_an_item_events_ticket_is_the_one_the_code_makes_of_its_project_and_item():
    """The examples are data: their tickets must still be what `ticket_text` writes."""
    checked = 0
    for event_type in EVENT_TYPES.values():
        for data in (event_type.example, *(d for _, d in event_type.variants)):
            if "ticket" in data and "item" in data:
                assert data["ticket"] == ticket_text(data["project"], data["item"]), event_type.name
                checked += 1
    assert checked == 5
