"""Native GitHub tickets, end to end: the API in process, a real `flask webhooks worker`
process, and a stand-in GitHub on loopback that validates every request against GitHub's own
REST description (`github/issues.openapi.json`, from `@octokit/openapi`).

The loop: selected items get an issue each (ticket text with the marker, owners' handles as
assignees, labels) and are linked to it; the issue is closed in GitHub and GitHub's `issues`
webhook is delivered to the integration: the item is done, and nothing is sent back; an item
waived through the API closes its issue as not planned, and reopening it reopens the issue.
A worker SIGKILLed while GitHub has created an issue but before its answer is recorded leaves
one issue, not two. A rate-limited call is retried after GitHub's `Retry-After`. The token
is in no table and no log line.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .github.standin import GitHubStandIn
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
    read_item,
    start_worker,
    ticket_key,
    wait_for_tickets,
)
from .support import Api, wait_until

REPOSITORY = "acme/clinic-notes"
TOKEN = "github_pat_11ABCDEFG0native_tickets_secret_token_value"
# Three medium responsibilities of the staffed project's checklist, none held by a sign-off
# or evidence rule: a ticket's close can finish them.
TICKETS = {
    "repository": REPOSITORY,
    "token": TOKEN,
    "min_priority": "medium",
    "kinds": ["responsibility"],
    "phases": ["build-and-use-model"],
    "labels": ["checklist", "ai governance"],
}
HANDLES = {"Ada Lovelace": "ada-l", "Alan Turing": "alan-t", "Grace Hopper": "grace-h"}


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    standin = GitHubStandIn(REPOSITORY, TOKEN)
    yield standin
    standin.stop()


def _setup(api: Api, tickets: dict[str, Any] = TICKETS, *, held: bool = False) -> Connected:
    return connect_tracker(api, "github", REPOSITORY, tickets, HANDLES, held=held)


def _number(api: Api, project: dict[str, Any], item: dict[str, Any]) -> int:
    """The number of the issue `item` is linked to (its key is `owner/repo#number`)."""
    return int(ticket_key(api, project, item).rsplit("#", 1)[1])


def _deliver(api: Api, integration: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """GitHub's `issues` webhook, signed with the integration's secret, to its inbound URL."""
    return deliver(
        api,
        integration,
        event,
        lambda signature: {
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={signature}",
        },
    )


def test_items_get_issues_that_follow_them_both_ways(database, workers, github, caplog):
    caplog.set_level(logging.DEBUG)
    api = database.api()
    project, integration, items = _setup(api)
    worker = start_worker(workers, database, github)

    wait_for_tickets(api, project, items)
    assert len(github.issues) == len(items)
    owners = {}
    for item in items:
        read = read_item(api, project, item["key"])
        number = int(read["ticket"]["key"].rsplit("#", 1)[1])
        issue = github.issues[number]
        assert read["ticket"] == {
            "system": "github",
            "key": f"{REPOSITORY}#{number}",
            "url": f"https://github.com/{REPOSITORY}/issues/{number}",
        }
        assert issue["body"].splitlines()[-1] == f"checklist-item: {project['slug']}/{item['key']}"
        assert issue["title"].startswith("Clinic notes: ")
        assert [label["name"] for label in issue["labels"]] == TICKETS["labels"]
        owners[number] = sorted(HANDLES[o["name"]] for o in read["owners"])
        assert sorted(a["login"] for a in issue["assignees"]) == owners[number]
    assert_linked_by(api, integration, items)

    # Closed in GitHub, and GitHub's webhook delivered: the item is done, nothing sent back.
    first, second = items[0], items[1]
    number = _number(api, project, first)
    answer = _deliver(api, integration, github.close(number, "completed"))
    assert answer["outcome"] == "applied", answer
    assert read_item(api, project, first["key"])["status"] == "done"
    calls_before = len(github.calls)
    second_number = _number(api, project, second)

    # Waived through the API: its issue is closed as not planned.
    api.patch_item(project, second["key"], {"status": "waived", "waiver": a_waiver()})
    wait_until(
        lambda: github.issues[second_number]["state"] == "closed",
        "the waived item's issue to close",
    )
    assert github.issues[second_number]["state_reason"] == "not_planned"
    # Nothing was sent about the first issue after its close came in (no echo).
    later = github.calls[calls_before:]
    assert not [c for c in later if c.path.endswith(f"/issues/{number}")], later
    assert github.issues[number]["state_reason"] == "completed"

    # Reopened through the API: the issue is reopened.
    api.patch_item(project, second["key"], {"status": "open"})
    wait_until(lambda: github.issues[second_number]["state"] == "open", "the issue to be reopened")

    # Each item's sync state can be read.
    for state in assert_all_synced(api, integration, items).values():
        assert state["ticket"]["key"].startswith(f"{REPOSITORY}#")

    assert github.violations == []
    worker.stop()
    assert_token_nowhere(database, TOKEN, worker.log() + caplog.text)


def test_a_worker_killed_before_recording_github_s_answer_leaves_one_issue(
    database, workers, github
):
    api = database.api()
    project, _, items = _setup(api)
    kill_a_worker_mid_create(workers, database, github)

    start_worker(workers, database, github)
    wait_for_tickets(api, project, items)

    assert_one_issue_per_item(github, project, items)
    assert github.calls_to("issues/list-for-repo"), "the look-up by marker was not made"
    assert len(github.calls_to("issues/create")) == len(items)
    assert github.violations == []


def test_rate_limits_are_waited_out_and_shown(database, workers, github):
    api = database.api()
    project, _, items = _setup(api)
    github.rate_limit_next(1)
    start_worker(workers, database, github)

    wait_for_tickets(api, project, items)
    limited = [c for c in github.calls if c.status == 403]
    assert len(limited) == 1
    retried = [c for c in github.calls if c.path == limited[0].path and c.status == 201]
    assert retried, github.calls
    assert len(github.issues) == len(items)
    assert github.violations == []


def test_assignees_github_refuses_are_left_out(database, workers, github):
    api = database.api()
    project, _, items = _setup(api)
    github.collaborators = {"someone-else"}
    start_worker(workers, database, github)

    wait_for_tickets(api, project, items)
    refused = [c for c in github.calls if c.status == 422]
    assert refused and all(c.body.get("assignees") for c in refused)
    assert all(issue["assignees"] == [] for issue in github.issues.values())
    assert len(github.issues) == len(items)
    assert github.violations == []


def test_an_update_github_refuses_for_its_assignees_is_sent_again_without_reopening_one(
    database, workers, github
):
    """The owners could be assigned when the issues were opened, and no longer can (they left
    the repository): the next update is sent again without assignees, to the same issue; no
    second issue is opened."""
    api = database.api()
    project, _, items = _setup(api)
    github.collaborators = set(HANDLES.values())
    start_worker(workers, database, github)
    wait_for_tickets(api, project, items)
    creates = len(github.calls_to("issues/create"))
    github.collaborators = set()

    key = items[0]["key"]
    note = "Owners left the repository"
    api.patch(f"/v1/projects/{project['id']}/checklist/items/{key}", {"note": note}, expect=200)
    number = _number(api, project, items[0])

    wait_until(lambda: note in github.issues[number]["body"], "the issue to show the note")
    refused = [c for c in github.calls if c.status == 422]
    assert refused and all(c.body.get("assignees") for c in refused)
    assert len(github.calls_to("issues/create")) == creates == len(items)
    assert len(github.issues) == len(items)
    assert github.violations == []


def test_a_close_that_leaves_the_item_held_does_not_reopen_the_issue(database, workers, github):
    """High mitigations that need evidence: GitHub's close cannot finish them (the item is
    held in progress), and the worker does not take that for a reopening."""
    api = database.api()
    tickets = {**TICKETS, "min_priority": "high", "kinds": ["mitigation"]}
    tickets["phases"] = ["verify-and-validate"]
    project, integration, items = _setup(api, tickets, held=True)
    start_worker(workers, database, github)
    wait_for_tickets(api, project, items)

    item = items[0]
    number = _number(api, project, item)
    answer = _deliver(api, integration, github.close(number, "completed"))
    assert answer["items"][0]["held"] is True, answer
    assert read_item(api, project, item["key"])["status"] == "in_progress"
    calls_before = len(github.calls)
    # A few of the worker's rounds (one a second), and a change elsewhere it does act on.
    api.patch_item(project, items[1]["key"], {"note": "Evaluation set agreed"})
    other = _number(api, project, items[1])
    wait_until(
        lambda: "Evaluation set agreed" in (github.issues[other]["body"] or ""),
        "the other item's issue to be updated",
    )
    time.sleep(2)

    assert github.issues[number]["state"] == "closed"
    later = github.calls[calls_before:]
    assert not [c for c in later if c.path.endswith(f"/issues/{number}")], later
    assert github.violations == []
