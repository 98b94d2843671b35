"""Native Linear tickets, end to end: the API in process, a real `flask webhooks worker`
process, and a stand-in Linear on loopback that validates every GraphQL request against
Linear's own schema (`linear/schema.graphql`, from `@linear/sdk`) and answers by executing it.

The loop: selected items get an issue each (the ticket text with the marker line, the first
owner's user as assignee, the labels found by name) and are linked to it; the issue is moved to
Done in Linear and Linear's `Issue` webhook is delivered to the integration: the item is done,
and nothing is sent back; an item waived through the API moves its issue to the team's
canceled state, and reopening it moves it back to Todo. A worker SIGKILLed while Linear has
created an issue but before its answer is recorded leaves one issue, not two (found by the
marker). A `RATELIMITED` answer is retried when the budget resets. An assignee Linear refuses
is left out. The API key is in no table and no log line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, text

from app.extensions import db

from .linear.standin import LinearStandIn
from .support import Api, Database, WorkerProcess, Workers, wait_until

TEAM_ID = "8c3f2a9e-1b4d-4e6f-9a7b-2c5d8e1f3a6b"
TEAM_KEY = "ENG"
TOKEN = "lin_api_native_tickets_secret_key_value_0123456789abcdef"
HANDLES = {"Ada Lovelace": "user-ada", "Alan Turing": "user-alan", "Grace Hopper": "user-grace"}


def _tickets() -> dict[str, Any]:
    # Three medium responsibilities of the staffed project's checklist, none held by a
    # sign-off or evidence rule: a ticket's close can finish them.
    return {
        "team": TEAM_ID,
        "token": TOKEN,
        "min_priority": "medium",
        "kinds": ["responsibility"],
        "phases": ["build-and-use-model"],
        "labels": ["checklist", "ai governance", "not-in-linear"],
    }


@pytest.fixture
def linear() -> Iterator[LinearStandIn]:
    standin = LinearStandIn(TEAM_ID, TEAM_KEY, TOKEN, ["checklist", "ai governance", "bug"])
    yield standin
    standin.stop()


def _setup(api: Api) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    tickets = _tickets()
    project = api.staffed_project("Clinic notes")
    for person in api.all_pages("/v1/people"):
        if person["name"] in HANDLES:
            api.patch(
                f"/v1/people/{person['id']}",
                {"handles": {"linear": HANDLES[person["name"]]}},
                expect=200,
            )
    integration = api.post(
        "/v1/integrations",
        {"provider": "linear", "name": "acme", "tickets": tickets},
        expect=201,
    ).json
    assert TOKEN not in json.dumps(integration)
    ranks = ["low", "medium", "high", "critical"]
    items = [
        i
        for i in api.get(f"/v1/projects/{project['id']}/checklist")["items"]
        if ranks.index(i["priority"]) >= ranks.index(tickets["min_priority"])
        and i["kind"] in tickets["kinds"]
        and i["phase"] in tickets["phases"]
    ]
    assert len(items) >= 2, items
    assert not any(i["signoff_required"] or i["evidence_required"] for i in items)
    return project, integration, items


def _start(workers: Workers, database: Database, linear: LinearStandIn) -> WorkerProcess:
    worker = workers.start(database, LINEAR_API_URL=linear.url, LOG_LEVEL="INFO")
    worker.wait_started()
    return worker


def _item(api: Api, project: dict[str, Any], key: str) -> dict[str, Any]:
    return api.get(f"/v1/projects/{project['id']}/checklist/items/{key}")


def _all_ticketed(api: Api, project: dict[str, Any], items: list[dict[str, Any]]) -> bool:
    return all(_item(api, project, i["key"])["ticket"] for i in items)


def _key(api: Api, project: dict[str, Any], item: dict[str, Any]) -> str:
    return str(_item(api, project, item["key"])["ticket"]["key"])


def _deliver(api: Api, integration: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Linear's webhook, signed with the integration's secret, to its inbound URL."""
    body = json.dumps(event).encode()
    signature = hmac.new(integration["secret"].encode(), body, hashlib.sha256).hexdigest()
    response = api.client.post(
        f"/v1/inbound/{integration['id']}",
        data=body,
        headers={
            "Content-Type": "application/json",
            "Linear-Delivery": str(uuid.uuid4()),
            "Linear-Event": "Issue",
            "Linear-Signature": signature,
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_items_get_linear_issues_that_follow_them_both_ways(database, workers, linear, caplog):
    caplog.set_level(logging.DEBUG)
    api = database.api()
    project, integration, items = _setup(api)
    worker = _start(workers, database, linear)

    wait_until(lambda: _all_ticketed(api, project, items), "every selected item to get an issue")
    assert len(linear.issues) == len(items)
    for item in items:
        read = _item(api, project, item["key"])
        key = read["ticket"]["key"]
        issue = linear.issues[key]
        assert read["ticket"] == {"system": "linear", "key": key, "url": issue["url"]}
        marker = f"checklist-item: {project['slug']}/{item['key']}"
        assert linear.by_marker(marker) == [issue]
        assert issue["description"].splitlines()[-1] == marker
        assert issue["title"].startswith("Clinic notes: ")
        # The labels Linear has, by name; one it does not have is left out.
        wanted = [linear.labels["checklist"], linear.labels["ai governance"]]
        assert issue["labelIds"] == wanted
        first_owner = read["owners"][0]["name"]
        assert issue["assignee"]["id"] == HANDLES[first_owner]
        assert issue["state"]["name"] == "Todo"
    linked = api.events(type="checklist.item.ticket_linked")
    assert len(linked) == len(items)
    assert {e["actor"] for e in linked} == {f"integration:{integration['id']}"}
    assert all("Linear issue ENG-" in (e["payload"].get("reason") or "") for e in linked)

    # Moved to Done in Linear, and Linear's webhook delivered: the item is done, nothing sent
    # back.
    first, second = items[0], items[1]
    first_key = _key(api, project, first)
    answer = _deliver(api, integration, linear.move(first_key, "Done"))
    assert answer["outcome"] == "applied", answer
    assert _item(api, project, first["key"])["status"] == "done"
    calls_before = len(linear.calls)
    second_key = _key(api, project, second)

    # Waived through the API: its issue moves to the team's canceled state.
    waiver = {
        "reason": "Covered by the vendor's model card for this release",
        "expires_on": (date.today() + timedelta(days=90)).isoformat(),
    }
    api.patch_item(project, second["key"], {"status": "waived", "waiver": waiver})
    wait_until(lambda: linear.state_of(second_key) == "Canceled", "the waived item's issue")
    # Nothing was sent about the first issue after its close came in (no echo).
    first_id = linear.issues[first_key]["id"]
    later = linear.calls[calls_before:]
    assert not [c for c in later if first_id in json.dumps(c.variables)], later
    assert linear.state_of(first_key) == "Done"

    # Reopened through the API: the issue goes back to Todo.
    api.patch_item(project, second["key"], {"status": "open"})
    wait_until(lambda: linear.state_of(second_key) == "Todo", "the issue to be reopened")

    def states() -> dict[str, dict[str, Any]]:
        listed = api.all_pages(f"/v1/integrations/{integration['id']}/tickets")
        return {t["item_key"]: t for t in listed}

    # The worker records what Linear answered just after Linear has it.
    wait_until(lambda: states()[second["key"]]["ticket_state"] == "open", "the reopening recorded")
    states_now = states()
    assert set(states_now) == {i["key"] for i in items}
    for state in states_now.values():
        assert state["state"] == "synced", state
        assert state["last_error"] is None
        assert state["ticket"]["system"] == "linear"
    assert states_now[first["key"]]["ticket_state"] == "closed as completed"

    assert linear.violations == []
    worker.stop()
    _assert_token_nowhere(database, worker.log() + caplog.text)


def test_a_worker_killed_before_recording_linear_s_answer_leaves_one_issue(
    database, workers, linear
):
    api = database.api()
    project, _, items = _setup(api)
    linear.hold_creates()  # the issue is created; the answer waits
    worker = _start(workers, database, linear)
    assert linear.created.wait(30), worker.log()
    worker.kill()
    linear.release()
    assert len(linear.issues) == 1
    # What the lease's minutes would do: the dead worker's claims lapse.
    database.execute("UPDATE ticket_syncs SET lease_until = NULL, leased_by = NULL")

    _start(workers, database, linear)
    wait_until(lambda: _all_ticketed(api, project, items), "every selected item to get an issue")

    assert len(linear.issues) == len(items)
    for item in items:
        marker = f"checklist-item: {project['slug']}/{item['key']}"
        assert len(linear.by_marker(marker)) == 1, marker
    assert linear.calls_to("IssuesByMarker"), "the look-up by marker was not made"
    assert len(linear.calls_to("IssueCreate")) == len(items)
    assert linear.violations == []


def test_linear_s_rate_limit_is_waited_out(database, workers, linear):
    api = database.api()
    project, _, items = _setup(api)
    linear.rate_limit_next(1)
    _start(workers, database, linear)

    wait_until(lambda: _all_ticketed(api, project, items), "every selected item to get an issue")
    limited = [c for c in linear.calls if c.status == 400]
    assert len(limited) == 1
    assert len(linear.calls_to("IssueCreate")) == len(items)
    assert len(linear.issues) == len(items)
    assert linear.violations == []


def test_an_assignee_linear_refuses_is_left_out(database, workers, linear):
    api = database.api()
    project, _, items = _setup(api)
    linear.assignable = {"someone-else"}
    _start(workers, database, linear)

    wait_until(lambda: _all_ticketed(api, project, items), "every selected item to get an issue")
    refused = [c for c in linear.calls_to("IssueCreate") if c.variables["input"].get("assigneeId")]
    assert refused
    assert all(i["assignee"] is None for i in linear.issues.values())
    assert len(linear.issues) == len(items)
    assert linear.violations == []


def _assert_token_nowhere(database: Database, logs: str) -> None:
    """The token is in no column of any table, nor in the logs."""
    assert TOKEN not in logs
    needle = TOKEN[10:40]
    with database.app.app_context(), db.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                assert needle not in str(tuple(row)), table
