"""Setting up and reading back through the public API: people, projects, staffing, checklists.

Every helper asserts the status it expects: these are the quiet steps around a race, where any
other answer means the harness or the service is broken, not that a race was lost.
"""

from __future__ import annotations

import email.utils
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from .harness import Answer, Client


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(3)}"


def create_person(client: Client, name: str) -> dict[str, Any]:
    local = name.lower().replace(" ", ".")
    body = {"name": name, "email": f"{local}.{secrets.token_hex(3)}@example.com"}
    return client.expect(client.post("/v1/people", body), 201)


def create_project(client: Client, name: str, application: str = "other", **traits: bool):
    body = {"name": name, "application": application, "traits": traits}
    return client.expect(client.post("/v1/projects", body), 201)


def slot(role: str, person: Mapping[str, Any], allocation: int | None = None) -> dict[str, Any]:
    """One assignment of a staffing PUT, by person id."""
    entry: dict[str, Any] = {"role": role, "person_id": person["id"]}
    if allocation is not None:
        entry["allocation"] = allocation
    return entry


def put_staffing(client: Client, project: Mapping[str, Any], slots: list[dict]) -> Answer:
    return client.put(f"/v1/projects/{project['id']}/assignments", {"assignments": slots})


def add_assignment(client: Client, project: Mapping[str, Any], entry: dict) -> Answer:
    return client.post(f"/v1/projects/{project['id']}/assignments", entry)


def generate(client: Client, project: Mapping[str, Any]) -> Answer:
    return client.post(f"/v1/projects/{project['id']}/checklist")


def read_checklist(client: Client, project: Mapping[str, Any], **query: str) -> dict[str, Any]:
    path = f"/v1/projects/{project['id']}/checklist"
    return client.expect(client.get(path, query=query or None), 200)


def staffing_report(client: Client, project: Mapping[str, Any]) -> dict[str, Any]:
    return client.expect(client.get(f"/v1/projects/{project['id']}/staffing"), 200)


def item_path(project: Mapping[str, Any], key: str) -> str:
    return f"/v1/projects/{project['id']}/checklist/items/{key}"


def live(items: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Items that still apply (not obsolete)."""
    return [item for item in items if item["status"] != "obsolete"]


def regeneration_changes_nothing(client: Client, project: Mapping[str, Any]) -> str | None:
    """Regenerate the checklist: when what is stored equals a fresh generation the answer is
    200 with the same revision. Returns what differed, or None."""
    before = read_checklist(client, project)["revision"]
    answer = generate(client, project)
    if answer.status != 200:
        return f"{project['name']}: regenerate answered {answer.describe()}"
    after = answer.json["revision"]
    if after != before:
        return f"{project['name']}: regenerate moved revision {before} -> {after}"
    return None


def server_today(answer: Answer) -> date:
    """The server's date (UTC), from the `Date` header of one of its answers."""
    stamp = answer.header("Date")
    assert stamp, answer.describe()
    return email.utils.parsedate_to_datetime(stamp).date()


def retry_after_concurrent_update(client: Client, send: Any, attempts: int = 5) -> Answer:
    """Send `send(client)` until it is not a `concurrent-update` 409 (the client's side of the
    contract: a 409 with Retry-After is to be retried)."""
    answer = send(client)
    for _ in range(attempts):
        if not answer.is_concurrent_update():
            return answer
        time.sleep(min(float(answer.header("Retry-After") or 0), 1.0))
        answer = send(client)
    return answer
