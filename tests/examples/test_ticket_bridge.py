"""The whole loop, with real processes on loopback: the API (gunicorn) and the delivery worker
on one database, `examples/ticket_bridge.py` as a webhook endpoint, and
`examples/local_tracker.py` standing in for GitHub.

An item is started → our event reaches the bridge, which verifies it → the bridge opens an
issue on the tracker with our ticket text and links it back through the API → the issue is
closed on the tracker, which sends a signed `issues` delivery to the integration's inbound
URL → the item is done, and the activity feed says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .support import Processes, Tracker, answers, free_port, start_bridge, wait_until

# High for a project handling personal data, and done without a sign-off or evidence.
KEY = "data-privacy.minimize-and-pseudonymize"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The API and the worker on a fresh SQLite database, and a team's admin key."""
    api_port = free_port()
    base = f"http://127.0.0.1:{api_port}"
    processes = Processes(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'staffing.db'}",
            "PUBLIC_BASE_URL": base,
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
            "WEBHOOK_POLL_SECONDS": "0.1",
            "WEBHOOK_RETRY_SCHEDULE": "1,1,1",
            "LOG_LEVEL": "WARNING",
        },
        tmp_path,
    )
    try:
        processes.run("flask", "db", "upgrade")
        processes.run("flask", "seed")
        processes.run("flask", "teams", "create", "Clinic AI", "--slug", "clinic-ai")
        output = processes.run(
            "flask", "keys", "create", "clinic-ai", "--scopes", "read,write,admin"
        )
        token = output.strip().splitlines()[-1]
        processes.start(
            "api", "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{api_port}", "wsgi:app"
        )
        wait_until("the API", lambda: answers(f"{base}/readyz"))
        processes.start("worker", "-m", "flask", "webhooks", "worker")
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        yield {"base": base, "token": token, "api": client, "processes": processes}
    finally:
        print(processes.logs())  # shown when the test fails
        processes.stop()


def test_an_item_ticketed_by_the_bridge_is_done_when_the_issue_is_closed(stack):
    api: httpx.Client = stack["api"]
    processes: Processes = stack["processes"]
    # The team's setup: a GitHub integration for the repository, the tracker posting to it,
    # and the bridge as an endpoint for item events.
    integration = api.post(
        "/v1/integrations", json={"provider": "github", "name": "acme/clinic-notes"}
    ).json()
    tracker = Tracker(
        processes,
        "acme/clinic-notes",
        "ghp_local_token",
        url=integration["inbound_url"],
        secret=integration["secret"],
    )
    bridge_port = free_port()
    endpoint = api.post(
        "/v1/webhooks",
        json={"url": f"http://127.0.0.1:{bridge_port}/hooks", "event_types": ["checklist.item.*"]},
    ).json()
    start_bridge(
        processes,
        port=bridge_port,
        secret=endpoint["secret"],
        api_key=stack["token"],
        tracker=tracker,
    )

    # A project's checklist; someone starts a high-priority item.
    project = api.post(
        "/v1/projects",
        json={
            "name": "Clinic notes",
            "slug": "clinic-notes",
            "application": "other",
            "traits": {"handles_personal_data": True},
        },
    ).json()
    assert api.post(f"/v1/projects/{project['id']}/checklist").status_code == 201
    item_url = f"/v1/projects/{project['id']}/checklist/items/{KEY}"
    started = api.patch(item_url, json={"status": "in_progress"})
    assert started.status_code == 200, started.text

    # The bridge opened the issue with our ticket text, and linked it back.
    issue = wait_until("the issue", lambda: tracker.issues() and tracker.issues()[0])
    assert issue["title"] == "Clinic notes: Minimize and pseudonymize personal data before training"
    assert issue["body"].splitlines()[-1] == f"checklist-item: clinic-notes/{KEY}"
    assert issue["labels"] == [{"name": "checklist"}]
    linked = wait_until("the link", lambda: api.get(item_url).json()["ticket"])
    assert linked == {
        "system": "github",
        "key": "acme/clinic-notes#1",
        "url": "https://github.com/acme/clinic-notes/issues/1",
    }

    # Its evidence attached (a high item is done only with it), the issue is closed on the
    # tracker, which tells the integration before it answers: the item follows.
    evidence = {"add": [{"title": "Pseudonymisation review", "url": "https://wiki.example.com/p"}]}
    assert api.patch(item_url, json={"evidence": evidence}).status_code == 200
    closed = tracker.close(1)
    assert closed.status_code == 200, closed.text
    assert "issues.closed delivered: 200 applied" in processes.output("tracker")
    assert api.get(item_url).json()["status"] == "done"
    feed = api.get(
        f"/v1/projects/{project['id']}/events",
        params={"type": "checklist.item.status_changed"},
    ).json()["items"]
    assert feed[0]["actor"] == f"integration:{integration['id']}"
    assert feed[0]["payload"]["source"] == "github"
    assert feed[0]["payload"]["reason"] == (
        "GitHub issue acme/clinic-notes#1 was closed as completed by `grace-h`"
    )

    # The tracker refuses a stranger, and tells the integration when the issue is reopened.
    assert tracker.change(1, {"state": "open"}, token="ghp_wrong").status_code == 401
    assert api.get(item_url).json()["status"] == "done"
    reopened = tracker.change(1, {"state": "open"})
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["state"] == "open"
    assert "issues.reopened delivered: 200 applied" in processes.output("tracker")
    assert api.get(item_url).json()["status"] == "open"

    # Every item event reached the bridge (the worker delivered them all), and the bridge
    # opened one issue only.
    def all_delivered() -> bool:
        log = api.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["items"]
        return len(log) >= 3 and all(d["status"] == "succeeded" for d in log)

    wait_until("the deliveries to the bridge", all_delivered)
    assert len(tracker.issues()) == 1
    deliveries = api.get(f"/v1/integrations/{integration['id']}/deliveries").json()["items"]
    assert [(d["event"], d["status_code"]) for d in deliveries] == [
        ("issues.reopened", 200),
        ("issues.closed", 200),
        ("issues.opened", 202),
    ]
