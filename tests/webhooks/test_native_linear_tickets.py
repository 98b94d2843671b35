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

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .linear.standin import LinearStandIn
from .native_support import (
    Connected,
    a_waiver,
    assert_all_synced,
    assert_linked_by,
    assert_one_issue_per_item,
    assert_token_nowhere,
    connect_tracker,
    deliver,
    kill_a_worker_mid_create,
    marker,
    read_item,
    start_worker,
    ticket_key,
    wait_for_ticket_state,
    wait_for_tickets,
)
from .support import Api, wait_until

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


def _setup(api: Api) -> Connected:
    connected = connect_tracker(api, "linear", "acme", _tickets(), HANDLES)
    assert TOKEN not in json.dumps(connected.integration)
    return connected


def _deliver(api: Api, integration: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Linear's webhook, signed with the integration's secret, to its inbound URL."""
    return deliver(
        api,
        integration,
        event,
        lambda signature: {
            "Linear-Delivery": str(uuid.uuid4()),
            "Linear-Event": "Issue",
            "Linear-Signature": signature,
        },
    )


def test_items_get_linear_issues_that_follow_them_both_ways(database, workers, linear, caplog):
    caplog.set_level(logging.DEBUG)
    api = database.api()
    project, integration, items = _setup(api)
    worker = start_worker(workers, database, linear)

    wait_for_tickets(api, project, items)
    assert len(linear.issues) == len(items)
    for item in items:
        read = read_item(api, project, item["key"])
        key = read["ticket"]["key"]
        issue = linear.issues[key]
        assert read["ticket"] == {"system": "linear", "key": key, "url": issue["url"]}
        assert linear.by_marker(marker(project, item)) == [issue]
        assert issue["description"].splitlines()[-1] == marker(project, item)
        assert issue["title"].startswith("Clinic notes: ")
        # The labels Linear has, by name; one it does not have is left out.
        wanted = [linear.labels["checklist"], linear.labels["ai governance"]]
        assert issue["labelIds"] == wanted
        first_owner = read["owners"][0]["name"]
        assert issue["assignee"]["id"] == HANDLES[first_owner]
        assert issue["state"]["name"] == "Todo"
    linked = assert_linked_by(api, integration, items)
    assert all("Linear issue ENG-" in (e["payload"].get("reason") or "") for e in linked)

    # Moved to Done in Linear, and Linear's webhook delivered: the item is done, nothing sent
    # back.
    first, second = items[0], items[1]
    first_key = ticket_key(api, project, first)
    answer = _deliver(api, integration, linear.move(first_key, "Done"))
    assert answer["outcome"] == "applied", answer
    assert read_item(api, project, first["key"])["status"] == "done"
    calls_before = len(linear.calls)
    second_key = ticket_key(api, project, second)

    # Waived through the API: its issue moves to the team's canceled state.
    api.patch_item(project, second["key"], {"status": "waived", "waiver": a_waiver()})
    wait_until(lambda: linear.state_of(second_key) == "Canceled", "the waived item's issue")
    # Nothing was sent about the first issue after its close came in (no echo).
    first_id = linear.issues[first_key]["id"]
    later = linear.calls[calls_before:]
    assert not [c for c in later if first_id in json.dumps(c.variables)], later
    assert linear.state_of(first_key) == "Done"

    # Reopened through the API: the issue goes back to Todo.
    api.patch_item(project, second["key"], {"status": "open"})
    wait_until(lambda: linear.state_of(second_key) == "Todo", "the issue to be reopened")

    # The worker records what Linear answered just after Linear has it.
    wait_for_ticket_state(api, integration, second, "open")
    states_now = assert_all_synced(api, integration, items)
    for state in states_now.values():
        assert state["ticket"]["system"] == "linear"
    assert states_now[first["key"]]["ticket_state"] == "closed as completed"

    assert linear.violations == []
    worker.stop()
    assert_token_nowhere(database, TOKEN, worker.log() + caplog.text)


def test_a_worker_killed_before_recording_linear_s_answer_leaves_one_issue(
    database, workers, linear
):
    api = database.api()
    project, _, items = _setup(api)
    kill_a_worker_mid_create(workers, database, linear)

    start_worker(workers, database, linear)
    wait_for_tickets(api, project, items)

    assert_one_issue_per_item(linear, project, items)
    assert linear.calls_to("IssuesByMarker"), "the look-up by marker was not made"
    assert len(linear.calls_to("IssueCreate")) == len(items)
    assert linear.violations == []


def test_linear_s_rate_limit_is_waited_out(database, workers, linear):
    api = database.api()
    project, _, items = _setup(api)
    linear.rate_limit_next(1)
    start_worker(workers, database, linear)

    wait_for_tickets(api, project, items)
    limited = [c for c in linear.calls if c.status == 400]
    assert len(limited) == 1
    assert len(linear.calls_to("IssueCreate")) == len(items)
    assert len(linear.issues) == len(items)
    assert linear.violations == []


def test_an_assignee_linear_refuses_is_left_out(database, workers, linear):
    api = database.api()
    project, _, items = _setup(api)
    linear.assignable = {"someone-else"}
    start_worker(workers, database, linear)

    wait_for_tickets(api, project, items)
    refused = [c for c in linear.calls_to("IssueCreate") if c.variables["input"].get("assigneeId")]
    assert refused
    assert all(i["assignee"] is None for i in linear.issues.values())
    assert len(linear.issues) == len(items)
    assert linear.violations == []
