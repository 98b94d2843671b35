"""Native Jira tickets, end to end: the API in process, a real `flask webhooks worker` process,
and a stand-in Jira Cloud site on loopback that validates every request against Atlassian's
published REST API v3 description (`jira/platform.openapi.json`) and every description against
the Atlassian Document Format's JSON schema (`jira/adf.full.json`).

The loop: selected items get an issue each (ticket text in ADF with the marker line, the first
owner's account as assignee, labels) and are linked to it; the issue is moved to Done in Jira
and Jira's `jira:issue_updated` webhook is delivered to the integration: the item is done, and
nothing is sent back; an item waived through the API moves its issue to Won't Do, and
reopening it moves it back to To Do. A worker SIGKILLed while Jira has created an issue but
before its answer is recorded leaves one issue, not two (found by JQL and the marker). A 429 is
retried after `Retry-After`. An assignee Jira refuses is left out. The token is in no table and
no log line.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .jira.standin import JiraStandIn
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
    syncs,
    ticket_key,
    wait_for_ticket_state,
    wait_for_tickets,
)
from .support import Api, wait_until

PROJECT_KEY = "CLIN"
EMAIL = "tickets-bot@example.com"
TOKEN = "ATATT3xFfGF0jira_native_tickets_secret_token_value_0123456789"
HANDLES = {"Ada Lovelace": "acct-ada", "Alan Turing": "acct-alan", "Grace Hopper": "acct-grace"}


def _tickets(site: str) -> dict[str, Any]:
    # Three medium responsibilities of the staffed project's checklist, none held by a
    # sign-off or evidence rule: a ticket's close can finish them.
    return {
        "site": site,
        "project": PROJECT_KEY,
        "issue_type": "Task",
        "email": EMAIL,
        "token": TOKEN,
        "min_priority": "medium",
        "kinds": ["responsibility"],
        "phases": ["build-and-use-model"],
        "labels": ["checklist", "ai-governance"],
    }


@pytest.fixture
def jira() -> Iterator[JiraStandIn]:
    standin = JiraStandIn(PROJECT_KEY, EMAIL, TOKEN)
    yield standin
    standin.stop()


def _setup(api: Api, jira: JiraStandIn) -> Connected:
    connected = connect_tracker(api, "jira", "acme.atlassian.net", _tickets(jira.url), HANDLES)
    assert connected.integration["tickets"]["api_url"] == jira.url
    assert TOKEN not in json.dumps(connected.integration)
    return connected


def _deliver(api: Api, integration: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Jira's webhook, signed with the integration's secret, to its inbound URL."""
    return deliver(
        api,
        integration,
        event,
        lambda signature: {
            "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
            "X-Hub-Signature": f"sha256={signature}",
        },
    )


def test_items_get_jira_issues_that_follow_them_both_ways(database, workers, jira, caplog):
    caplog.set_level(logging.DEBUG)
    api = database.api()
    project, integration, items = _setup(api, jira)
    worker = start_worker(workers, database, jira)

    wait_for_tickets(api, project, items)
    assert len(jira.issues) == len(items)
    for item in items:
        read = read_item(api, project, item["key"])
        key = read["ticket"]["key"]
        issue = jira.issues[key]
        assert read["ticket"] == {"system": "jira", "key": key, "url": f"{jira.url}/browse/{key}"}
        assert jira.by_marker(marker(project, item)) == [issue]
        assert issue["fields"]["summary"].startswith("Clinic notes: ")
        assert issue["fields"]["labels"] == ["checklist", "ai-governance"]
        assert issue["fields"]["issuetype"] == {"name": "Task"}
        first_owner = read["owners"][0]["name"]
        assert issue["fields"]["assignee"]["accountId"] == HANDLES[first_owner]
        assert issue["fields"]["status"]["name"] == "To Do"
    linked = assert_linked_by(api, integration, items)
    assert all("Jira issue CLIN-" in (e["payload"].get("reason") or "") for e in linked), linked

    # Moved to Done in Jira, and Jira's webhook delivered: the item is done, nothing sent back.
    first, second = items[0], items[1]
    first_key = ticket_key(api, project, first)
    answer = _deliver(api, integration, jira.transition(first_key, "Done"))
    assert answer["outcome"] == "applied", answer
    assert read_item(api, project, first["key"])["status"] == "done"
    calls_before = len(jira.calls)
    second_key = ticket_key(api, project, second)

    # Waived through the API: its issue moves to a done status meaning "won't do".
    api.patch_item(project, second["key"], {"status": "waived", "waiver": a_waiver()})
    wait_until(lambda: jira.status_of(second_key) == "Won't Do", "the waived item's issue to close")
    # Nothing was sent about the first issue after its close came in (no echo).
    first_id = jira.issues[first_key]["id"]
    later = jira.calls[calls_before:]
    assert not [c for c in later if f"/issue/{first_id}" in c.path], later
    assert jira.status_of(first_key) == "Done"

    # Reopened through the API: the issue goes back to To Do.
    api.patch_item(project, second["key"], {"status": "open"})
    wait_until(lambda: jira.status_of(second_key) == "To Do", "the issue to be reopened")

    # The worker records what Jira answered just after Jira has it.
    wait_for_ticket_state(api, integration, second, "open")
    states_now = assert_all_synced(api, integration, items)
    for state in states_now.values():
        assert state["ticket"]["system"] == "jira"
    assert states_now[first["key"]]["ticket_state"] == "closed as completed"

    assert jira.violations == []
    worker.stop()
    assert_token_nowhere(database, TOKEN, worker.log() + caplog.text)


def test_a_worker_killed_before_recording_jira_s_answer_leaves_one_issue(database, workers, jira):
    api = database.api()
    project, _, items = _setup(api, jira)
    kill_a_worker_mid_create(workers, database, jira)

    start_worker(workers, database, jira)
    wait_for_tickets(api, project, items)

    assert_one_issue_per_item(jira, project, items)
    assert jira.calls_to("searchForIssuesUsingJql"), "the look-up by marker was not made"
    assert len(jira.calls_to("createIssue")) == len(items)
    assert jira.violations == []


def test_jira_s_rate_limit_is_waited_out(database, workers, jira):
    api = database.api()
    project, _, items = _setup(api, jira)
    jira.rate_limit_next(1)
    start_worker(workers, database, jira)

    wait_for_tickets(api, project, items)
    limited = [c for c in jira.calls if c.status == 429]
    assert len(limited) == 1
    assert [c for c in jira.calls if c.operation == "createIssue" and c.status == 201]
    assert len(jira.issues) == len(items)
    assert jira.violations == []


def test_an_assignee_jira_refuses_is_left_out(database, workers, jira):
    api = database.api()
    project, _, items = _setup(api, jira)
    jira.assignable = {"someone-else"}
    start_worker(workers, database, jira)

    wait_for_tickets(api, project, items)
    refused = [c for c in jira.calls if c.status == 400]
    assert refused and all(c.body["fields"].get("assignee") for c in refused)
    assert all(i["fields"]["assignee"] is None for i in jira.issues.values())
    assert len(jira.issues) == len(items)
    assert jira.violations == []


def test_a_refused_token_is_shown_and_replaced(database, workers, jira):
    """The token was revoked: every sync fails with Jira's 401, which each item's sync state
    shows (never the token); a new one given with `PATCH` opens the issues."""
    api = database.api()
    jira.auth = "Basic " + base64.b64encode(f"{EMAIL}:another-token".encode()).decode()
    project, integration, items = _setup(api, jira)
    start_worker(workers, database, jira)

    def failing() -> bool:
        listed = syncs(api, integration)
        return bool(listed) and all("401" in (t["last_error"] or "") for t in listed)

    wait_until(failing, "every item's sync to show Jira's refusal")
    assert jira.issues == {}
    listed = syncs(api, integration)
    assert all(t["state"] == "creating" and t["attempts"] >= 1 for t in listed), listed
    assert TOKEN not in json.dumps(listed)

    replaced = api.patch(
        f"/v1/integrations/{integration['id']}", {"tickets": {"token": "another-token"}}, expect=200
    ).json
    assert "another-token" not in json.dumps(replaced)
    wait_for_tickets(api, project, items)
    assert len(jira.issues) == len(items)
    assert jira.violations == []
