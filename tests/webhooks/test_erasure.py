"""A person is erased after a real history, and nothing of them is left anywhere: a project
staffed with them, an item they signed off, a waiver they approved, webhooks delivered to a
real receiver (whose answers named them) by the real worker process, a GitHub delivery whose
sender is their handle, a name they had before, a stored idempotent answer, a release's notes,
the checklist's kept revisions. Every text and JSON column of every table (the schema as the
database reflects it) is searched afterwards for their name, email and handles."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import JSON, String, Text, column, inspect, select, table

from app.extensions import db

from .receiver import Reply
from .support import Api, Database, body_of

NAME = "Philippa Quillfeather"
FORMER_NAME = "Philippa Inkwright"
EMAIL = "philippa.quillfeather@example.org"
HANDLES = {"github": "pquillfeather", "jira": "philippa.qf", "linear": "pquill-lin"}
# Everything that names her, as she was and as she is.
TERMS = (NAME, FORMER_NAME, EMAIL, *HANDLES.values())

PIA = "data-privacy.privacy-impact-assessment"  # critical: the AI Ethicist signs it off
HIGH = "information-security.prompt-injection-testing"  # high: a waiver needs an approver
TRACKED = "data-scientist.collect-and-preprocess-data"


def _items(project: dict[str, Any], key: str) -> str:
    return f"/v1/projects/{project['id']}/checklist/items/{key}"


def _personal(database: Database, api: Api, person: dict[str, Any]) -> Api:
    key = api.post(f"/v1/people/{person['id']}/keys", {"name": "laptop"}, expect=201).json
    return Api(database.app, key["secret"], api.team_id)


def _github(api: Api, integration: dict[str, Any], payload: dict[str, Any]) -> Any:
    body = json.dumps(payload).encode()
    signature = hmac.new(integration["secret"].encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={signature}",
    }
    path = "/" + integration["inbound_url"].split("://", 1)[1].split("/", 1)[1]
    return api.client.post(path, data=body, headers=headers)


def _a_history_naming_her(database: Database, api: Api, receiver_url: str) -> dict[str, Any]:
    """Everything the service does with a person, done with her; her person as created."""
    api.create_endpoint(receiver_url, ["*"])
    created = api.post(
        "/v1/people",
        {"name": FORMER_NAME, "email": EMAIL, "handles": HANDLES},
        expect=201,
        headers={"Idempotency-Key": "add-philippa"},
    ).json
    person = api.patch(f"/v1/people/{created['id']}", {"name": NAME}, expect=200).json
    project = api.post(
        "/v1/projects",
        {
            "name": "Clinic notes",
            "application": "healthcare-solutions",
            "traits": {"user_facing": True},
        },
        expect=201,
    ).json
    staffing = [
        {"role": "data-scientist", "person": {"name": "Ada Lovelace", "email": "ada@example.com"}},
        {"role": "ai-ethicist", "person_id": person["id"]},
        # The privacy impact assessment is the privacy officer's to sign (issue 19).
        {"role": "privacy-officer", "person_id": person["id"]},
        {"role": "ux-designer", "person_id": person["id"]},
        # Prompt-injection testing's waiver is the security lead's to approve (issue 19).
        {"role": "security-lead", "person_id": person["id"]},
    ]
    api.put(f"/v1/projects/{project['id']}/assignments", {"assignments": staffing}, expect=200)
    api.post(f"/v1/projects/{project['id']}/checklist", expect=201)
    as_her = _personal(database, api, person)
    evidence = {"add": [{"title": f"DPIA reviewed by {NAME}", "url": "https://wiki.example.com"}]}
    as_her.patch(_items(project, PIA), {"status": "done", "evidence": evidence}, expect=200)
    waiver = {
        "reason": f"Accepted by {NAME} ({EMAIL}) until the red team reports",
        "expires_on": (date.today() + timedelta(days=60)).isoformat(),
        "residual_risk": "Prompt injection could leak notes",
    }
    as_her.patch(_items(project, HIGH), {"waiver": waiver}, expect=200)
    api.post(
        f"/v1/projects/{project['id']}/releases",
        {"version": "1.0.0", "model": {"name": "gpt-4o", "version": "2024-08-06"}, "notes": NAME},
        expect=201,
    )
    # A ticket closed on GitHub by her: the delivery names her handle (and the item).
    ticket = {"system": "github", "key": "acme/app#12"}
    api.patch(_items(project, TRACKED), {"ticket": ticket}, expect=200)
    integration = api.post(
        "/v1/integrations", {"provider": "github", "name": "acme/app"}, expect=201
    ).json
    issue = {
        "action": "closed",
        "issue": {
            "number": 12,
            "title": f"Collect data (@{HANDLES['github']})",
            "state": "closed",
            "state_reason": "completed",
            "html_url": "https://github.com/acme/app/issues/12",
            "body": f"Done by @{HANDLES['github']}.",
            "user": {"login": HANDLES["github"]},
        },
        "repository": {"full_name": "acme/app"},
        "sender": {"login": HANDLES["github"]},
    }
    answer = _github(api, integration, issue)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    api.post(
        f"/v1/projects/{project['id']}/checklist/shares",
        {"name": f"For {NAME}", "expires_in_days": 7},
        expect=201,
    )
    return {"person": person, "project": project}


def _left_behind(database: Database) -> list[tuple[str, str, str]]:
    """Every (table, column, term) where a text or JSON column of any table still holds one of
    the terms, in any case, as written or as JSON escapes it."""
    forms = {form.lower() for term in TERMS for form in (term, json.dumps(term)[1:-1])}
    found = []
    with database.app.app_context(), db.engine.connect() as connection:
        inspector = inspect(connection)
        for name in inspector.get_table_names():
            columns = [
                c["name"]
                for c in inspector.get_columns(name)
                if isinstance(c["type"], String | Text | JSON)
                or type(c["type"]).__name__ in ("JSONB", "JSON")
            ]
            if not columns:
                continue
            rows = connection.execute(select(table(name, *map(column, columns)))).all()
            for row in rows:
                for name_of, value in zip(columns, row, strict=True):
                    text = value if isinstance(value, str) else json.dumps(value)
                    found += [(name, name_of, f) for f in forms if f in text.lower()]
    return found


def test_an_erased_person_is_nowhere_and_the_audit_trail_keeps_its_shape(
    database, receivers, workers
):
    api = database.api()
    receiver = receivers("audit")
    # The receiver's answers name her: the delivery log keeps their first KiB.
    url = receiver.route("/hooks", then=Reply(200, body=f'{{"seen": "{NAME}"}}'.encode()))
    assert _left_behind(database) == []
    history = _a_history_naming_her(database, api, url)
    assert _left_behind(database)
    person, project = history["person"], history["project"]
    assert workers.once(database) > 0
    assert _left_behind(database), "the history should name her before the erasure"
    revision_path = f"/v1/projects/{project['id']}/checklist/revisions/2"
    revision_etag = api.request("GET", revision_path, expect=200).headers["ETag"]
    checklist_etag = api.request(
        "GET", f"/v1/projects/{project['id']}/checklist", expect=200
    ).headers["ETag"]

    erased = api.post(f"/v1/people/{person['id']}/erase", expect=200).json
    assert _left_behind(database) == []
    # The receiver forgets her too (its answers are what the delivery log keeps).
    receiver.route("/hooks", then=Reply(200, body=b'{"seen": "erased"}'))
    assert workers.once(database) > 0

    pseudonym = f"erased:{person['id']}"
    assert erased["person_id"] == person["id"]
    assert erased["pseudonym"] == pseudonym
    assert _left_behind(database) == []
    # Erasing her again answers the same, and changes nothing.
    events = len(api.events())
    assert api.post(f"/v1/people/{person['id']}/erase", expect=200).json == erased
    assert len(api.events()) == events
    api.get(f"/v1/people/{person['id']}", expect=404)

    # Who did what stays traceable, to the pseudonym: her sign-off in the item's history
    # and in its event, by id and pseudonym.
    signed = api.all_pages(
        f"/v1/projects/{project['id']}/events", type="checklist.item.status_changed"
    )
    assert person["id"] in {event["actor_person_id"] for event in signed}
    [erasure] = api.events(type="person.erased")
    assert erasure["payload"] == {"person": {"id": person["id"], "pseudonym": pseudonym}}
    rev2 = api.get(revision_path)
    pia = next(i for i in rev2["items"] if i["key"] == PIA)
    assert (pia["signed_off_by"], pia["signed_off_by_name"]) == (person["id"], pseudonym)
    # What clients cached is stale: the revision and the checklist have new ETags.
    assert api.request("GET", revision_path, expect=200).headers["ETag"] != revision_etag
    assert (
        api.request("GET", f"/v1/projects/{project['id']}/checklist", expect=200).headers["ETag"]
        != checklist_etag
    )
    # Receivers hear of it, with nothing of her but her id, so that they erase too.
    bodies = [body_of(request) for request in receiver.received("/hooks")]
    [told] = [body for body in bodies if body["type"] == "person.erased"]
    assert told["data"] == erasure["payload"]


def test_the_cli_erases_by_email_and_says_when_nobody_has_it(database):
    api = database.api()
    person = api.post("/v1/people", {"name": NAME, "email": EMAIL}, expect=201).json
    slug = _team_slug(database, api)
    runner = database.app.test_cli_runner()

    first = runner.invoke(args=["people", "erase", slug, EMAIL.upper()])
    again = runner.invoke(args=["people", "erase", slug, EMAIL])

    assert first.exit_code == 0, first.output
    assert f"pseudonym: erased:{person['id']}" in first.output
    assert again.exit_code == 0, again.output
    assert "nothing to erase" in again.output
    api.get(f"/v1/people/{person['id']}", expect=404)
    assert _left_behind(database) == []


def _team_slug(database: Database, api: Api) -> str:
    return str(database.scalar("SELECT slug FROM teams WHERE id = :id", id=api.team_id))
