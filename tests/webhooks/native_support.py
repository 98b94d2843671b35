"""What the native-ticket tests (GitHub, Jira, Linear) share: a staffed project whose people have
handles in the tracker and an integration that opens tickets for its selected items, a worker
started on the tracker's stand-in, the waits and reads that follow, a tracker's webhook
delivered, and the checks every tracker passes (one issue per item, the token nowhere).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import inspect, text

from app.extensions import db

from .standin import StandIn
from .support import Api, Database, WorkerProcess, Workers, wait_until

_RANKS = ["low", "medium", "high", "critical"]


class Connected(NamedTuple):
    project: dict[str, Any]
    integration: dict[str, Any]
    items: list[dict[str, Any]]  # the items the integration's `tickets` select


def connect_tracker(
    api: Api,
    provider: str,
    name: str,
    tickets: dict[str, Any],
    handles: dict[str, str],
    *,
    held: bool = False,
) -> Connected:
    """A staffed project "Clinic notes" whose people have `handles` (by name) in the tracker,
    and an integration of `provider` opening tickets as `tickets` says; its selected items
    (two at least) are all held by a sign-off or evidence rule when `held`, else none is."""
    project = api.staffed_project("Clinic notes")
    for person in api.all_pages("/v1/people"):
        if person["name"] in handles:
            api.patch(
                f"/v1/people/{person['id']}",
                {"handles": {provider: handles[person["name"]]}},
                expect=200,
            )
    integration = api.post(
        "/v1/integrations",
        {"provider": provider, "name": name, "tickets": tickets},
        expect=201,
    ).json
    items = [
        i
        for i in api.get(f"/v1/projects/{project['id']}/checklist")["items"]
        if _RANKS.index(i["priority"]) >= _RANKS.index(tickets["min_priority"])
        and i["kind"] in tickets["kinds"]
        and i["phase"] in tickets["phases"]
    ]
    assert len(items) >= 2, items
    assert all(bool(i["signoff_required"] or i["evidence_required"]) == held for i in items)
    return Connected(project, integration, items)


def start_worker(workers: Workers, database: Database, tracker: StandIn[Any]) -> WorkerProcess:
    """A worker on `database` that calls `tracker`, once it has started."""
    worker = workers.start(database, **tracker.worker_env, LOG_LEVEL="INFO")
    worker.wait_started()
    return worker


def kill_a_worker_mid_create(workers: Workers, database: Database, tracker: StandIn[Any]) -> None:
    """A worker SIGKILLed once `tracker` has created an issue, before the answer reached it;
    its claims are then lapsed, as the lease's minutes would."""
    tracker.hold_creates()  # the issue is created; the answer waits
    worker = start_worker(workers, database, tracker)
    assert tracker.created.wait(30), worker.log()
    worker.kill()
    tracker.release()
    assert len(tracker.issues) == 1
    database.execute("UPDATE ticket_syncs SET lease_until = NULL, leased_by = NULL")


def read_item(api: Api, project: dict[str, Any], key: str) -> dict[str, Any]:
    return api.get(f"/v1/projects/{project['id']}/checklist/items/{key}")


def ticket_key(api: Api, project: dict[str, Any], item: dict[str, Any]) -> str:
    """The key of the ticket `item` is linked to."""
    return str(read_item(api, project, item["key"])["ticket"]["key"])


def wait_for_tickets(api: Api, project: dict[str, Any], items: list[dict[str, Any]]) -> None:
    """Until every one of `items` is linked to a ticket."""
    wait_until(
        lambda: all(read_item(api, project, i["key"])["ticket"] for i in items),
        "every selected item to get an issue",
    )


def marker(project: dict[str, Any], item: dict[str, Any]) -> str:
    """The line of a ticket's text that names its item."""
    return f"checklist-item: {project['slug']}/{item['key']}"


def assert_one_issue_per_item(
    tracker: StandIn[Any], project: dict[str, Any], items: list[dict[str, Any]]
) -> None:
    assert len(tracker.issues) == len(items)
    for item in items:
        found = marker(project, item)
        assert len(tracker.by_marker(found)) == 1, found


def assert_linked_by(
    api: Api, integration: dict[str, Any], items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each item's `ticket_linked` event, its actor the integration; the events."""
    linked = api.events(type="checklist.item.ticket_linked")
    assert len(linked) == len(items)
    assert {e["actor"] for e in linked} == {f"integration:{integration['id']}"}
    return linked


def a_waiver() -> dict[str, Any]:
    return {
        "reason": "Covered by the vendor's model card for this release",
        "expires_on": (date.today() + timedelta(days=90)).isoformat(),
    }


def syncs(api: Api, integration: dict[str, Any]) -> list[dict[str, Any]]:
    """The sync state of each item the integration opens a ticket for."""
    return api.all_pages(f"/v1/integrations/{integration['id']}/tickets")


def syncs_by_item(api: Api, integration: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["item_key"]: t for t in syncs(api, integration)}


def wait_for_ticket_state(
    api: Api, integration: dict[str, Any], item: dict[str, Any], ticket_state: str
) -> None:
    """Until the worker has recorded `item`'s ticket as being in `ticket_state` (`open`, ...)."""
    wait_until(
        lambda: syncs_by_item(api, integration)[item["key"]]["ticket_state"] == ticket_state,
        f"the ticket recorded as {ticket_state}",
    )


def assert_all_synced(
    api: Api, integration: dict[str, Any], items: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Every item's sync state is there, synced and without an error; the states by item."""
    states = syncs_by_item(api, integration)
    assert set(states) == {i["key"] for i in items}
    for state in states.values():
        assert state["state"] == "synced", state
        assert state["last_error"] is None
    return states


def deliver(
    api: Api,
    integration: dict[str, Any],
    event: dict[str, Any],
    headers: Callable[[str], dict[str, str]],
) -> dict[str, Any]:
    """A tracker's webhook `event` to the integration's inbound URL, with the `headers(signature)`
    the tracker sends for the HMAC-SHA256 (hex) of the body with the integration's secret;
    it must be taken (200). The answer."""
    body = json.dumps(event).encode()
    signature = hmac.new(integration["secret"].encode(), body, hashlib.sha256).hexdigest()
    response = api.client.post(
        f"/v1/inbound/{integration['id']}",
        data=body,
        headers={"Content-Type": "application/json", **headers(signature)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def assert_token_nowhere(database: Database, token: str, logs: str) -> None:
    """The token is in no column of any table, nor in the logs."""
    assert token not in logs
    needle = token[10:40]
    with database.app.app_context(), db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                assert needle not in str(tuple(row)), table
