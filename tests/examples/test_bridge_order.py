"""The ticket bridge discards a stale event: deliveries may arrive out of order, and an item
event carries `data.item.version`, which increases with each change of the item. The bridge,
the local tracker and the API run for real on loopback; the events are signed here, with the
reference `standardwebhooks` library, and sent in the order the test chooses."""

from __future__ import annotations

import base64
import copy
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from .support import Processes, Tracker, free_port, start_bridge

# High for a project handling personal data; open, without a ticket, once generated.
KEY = "data-privacy.minimize-and-pseudonymize"
OTHER_KEY = "data-privacy.privacy-impact-assessment"


@pytest.fixture
def loop(api, served: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A project with a checklist, the tracker, and the bridge with its signing secret."""
    processes = Processes({}, tmp_path)
    try:
        created = api.post(
            "/v1/projects",
            json={
                "name": "Clinic notes",
                "application": "other",
                "traits": {"handles_personal_data": True},
            },
        )
        assert created.status_code == 201, created.text
        project = created.get_json()
        assert api.post(f"/v1/projects/{project['id']}/checklist").status_code == 201
        tracker = Tracker(processes, "acme/clinic-notes", "ghp_local_token")
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        port = free_port()
        start_bridge(processes, port=port, secret=secret, api_key=api.token, tracker=tracker)
        yield {
            "project": project,
            "tracker": tracker,
            "processes": processes,
            "hook": Webhook(secret),
            "bridge": f"http://127.0.0.1:{port}/hooks",
            "served": served,
        }
    finally:
        print(processes.logs())  # shown when the test fails
        processes.stop()


def item_event(api, loop: dict[str, Any], key: str, **changes: Any) -> dict[str, Any]:
    """A `checklist.item.status_changed` event about the item as it is now, with `changes`
    (`version`, `status`) written over it."""
    project = loop["project"]
    item = api.get(f"/v1/projects/{project['id']}/checklist/items/{key}").get_json()
    item = {**copy.deepcopy(item), **changes}
    # The absolute link events add to the item, to the test's server.
    item["links"] = {"api": f"{loop['served']}/v1/projects/{project['id']}/checklist/items/{key}"}
    return {
        "type": "checklist.item.status_changed",
        "timestamp": datetime.now(UTC).isoformat(),
        "data": {
            "project": {"id": project["id"], "slug": project["slug"], "name": project["name"]},
            "item": item,
            "ticket": {"title": f"Clinic notes: {item['title']}", "body": f"checklist-item: {key}"},
        },
    }


def deliver(loop: dict[str, Any], event: dict[str, Any], expect: int = 204) -> None:
    body = json.dumps(event)
    msg_id = f"msg_{secrets.token_hex(8)}"
    now = datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": loop["hook"].sign(msg_id, now, body),
    }
    answer = httpx.post(loop["bridge"], content=body, headers=headers, timeout=30)
    # The bridge answers once it has handled the event: what it did is done by now.
    assert answer.status_code == expect, (answer.status_code, loop["processes"].logs())


def test_an_older_event_after_a_newer_one_is_discarded(api, loop):
    tracker: Tracker = loop["tracker"]
    # Version 5 says the item is done: nothing for the bridge to open.
    deliver(loop, item_event(api, loop, KEY, version=5, status="done"))
    # Version 4, delivered late, says it is in progress. The item is still open and without a
    # ticket in the API, so a bridge that acted on it would open an issue now.
    deliver(loop, item_event(api, loop, KEY, version=4, status="in_progress"))
    assert tracker.issues() == []
    assert "discarded data-privacy.minimize-and-pseudonymize: version 4, 5 already handled" in (
        loop["processes"].output("bridge")
    )
    # The same version again (a redelivery) is not newer either.
    deliver(loop, item_event(api, loop, KEY, version=5, status="in_progress"))
    assert tracker.issues() == []

    # A newer event is acted on: the issue is opened and linked back.
    deliver(loop, item_event(api, loop, KEY, version=6, status="in_progress"))
    assert [issue["number"] for issue in tracker.issues()] == [1]
    project = loop["project"]
    item = api.get(f"/v1/projects/{project['id']}/checklist/items/{KEY}").get_json()
    assert item["ticket"]["key"] == "acme/clinic-notes#1"


def test_an_event_without_a_version_is_always_handled(api, loop):
    tracker: Tracker = loop["tracker"]
    # Versions are per item: another item's version 9 does not make this one's events stale.
    deliver(loop, item_event(api, loop, KEY, version=9, status="done"))
    # Events of a service that does not number changes yet carry no version: applied.
    event = item_event(api, loop, OTHER_KEY, status="in_progress")
    event["data"]["item"].pop("version", None)
    deliver(loop, event)
    assert [issue["title"] for issue in tracker.issues()] == [
        "Clinic notes: Run a privacy impact assessment before collecting data"
    ]


def test_an_event_that_failed_is_handled_when_delivered_again_with_its_version(api, loop):
    tracker: Tracker = loop["tracker"]
    processes: Processes = loop["processes"]
    event = item_event(api, loop, KEY, version=7, status="in_progress")
    # GitHub is down: the bridge answers 502, and the service will deliver the event again.
    processes.stop_one("tracker")
    deliver(loop, event, expect=502)
    # Back up: the same event, the same version, is not taken for a stale one.
    Tracker(processes, tracker.repo, tracker.token, port=tracker.port)
    deliver(loop, event)
    assert [issue["number"] for issue in tracker.issues()] == [1]
