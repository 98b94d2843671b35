"""A new user's first webhooks, end to end: an endpoint on a real receiver, a checklist item
changed through the API, the real worker process delivering it signed; then the receiver goes
down, the delivery log shows the failures, the receiver comes back, and the message is sent
again by the schedule and by hand, always with the same `webhook-id`."""

from __future__ import annotations

import time

from .receiver import Reply
from .support import (
    PUBLIC_BASE_URL,
    USER_AGENT,
    next_second,
    parse_time,
    verify,
    wait_until,
)

ITEM = "data-scientist.collect-and-preprocess-data"
OTHER_ITEM = "data-scientist.evaluate-model-performance"
TOKEN_HEADER = "X-Automation-Webhook-Token"


def test_a_changed_checklist_item_is_delivered_signed(database, receivers, workers):
    api = database.api()
    receiver = receivers("tickets")
    endpoint = api.create_endpoint(
        receiver.route("/hooks/tickets"),
        ["checklist.item.*"],
        description="Open a ticket per checklist item",
        headers={TOKEN_HEADER: "s3cr3t"},
    )
    # The secret is shown once; later reads show neither it nor the header's value.
    shown = api.endpoint(endpoint["id"])
    assert "secret" not in shown
    assert shown["headers"] == {TOKEN_HEADER: "[redacted]"}

    project = api.staffed_project("Clinic notes")
    api.patch_item(project, ITEM, {"status": "in_progress"})
    assert workers.once(database) == 1

    [request] = receiver.received()
    message = verify(request, endpoint["secret"])
    assert request.method == "POST"
    assert request.path == "/hooks/tickets"
    assert request.header("Content-Type") == "application/json"
    assert request.header("User-Agent") == USER_AGENT
    assert request.header(TOKEN_HEADER) == "s3cr3t"
    assert abs(int(request.header("webhook-timestamp")) - time.time()) < 60
    assert len(request.header("webhook-signature").split()) == 1

    # The body is {"type", "timestamp", "data"}: the event of the activity feed.
    assert list(message) == ["type", "timestamp", "data"]
    assert message["type"] == "checklist.item.status_changed"
    [event] = api.events(type="checklist.item.status_changed")
    assert request.webhook_id == event["id"]
    assert message["data"] == event["payload"]
    assert parse_time(message["timestamp"]) == parse_time(event["created_at"])

    data = message["data"]
    assert data["project"]["slug"] == project["slug"] == "clinic-notes"
    assert data["item"]["key"] == ITEM
    assert data["before"]["status"] == "open"
    assert data["after"]["status"] == data["item"]["status"] == "in_progress"
    assert data["ticket"]["title"]
    # The ticket's last line is how an inbound ticket event finds its item again.
    last_line = data["ticket"]["body"].splitlines()[-1]
    assert last_line == f"checklist-item: {project['slug']}/{ITEM}"
    links = data["item"]["links"]
    assert links["api"].startswith(f"{PUBLIC_BASE_URL}/v1/projects/"), links
    assert links["checklist_markdown"].startswith(f"{PUBLIC_BASE_URL}/v1/projects/"), links
    assert links["api"] in data["ticket"]["body"]

    # The delivery log says the same.
    [delivery] = api.deliveries(endpoint["id"])
    assert delivery["message_id"] == request.webhook_id
    assert delivery["event_id"] == event["id"]
    assert delivery["event_type"] == "checklist.item.status_changed"
    assert delivery["status"] == "succeeded"
    assert delivery["attempts"] == 1
    [attempt] = delivery["attempt_log"]
    assert attempt["status_code"] == 204
    assert attempt["error"] is None
    assert attempt["latency_ms"] >= 0


def test_a_receiver_that_goes_down_gets_the_message_later_with_the_same_id(
    database, receivers, workers
):
    api = database.api()
    receiver = receivers("ops")
    path = "/hooks/ops"
    endpoint = api.create_endpoint(receiver.route(path), ["checklist.item.*"])
    secret = endpoint["secret"]
    project = api.staffed_project("Support assistant")
    worker = workers.start(database)

    # Up: the first change arrives.
    api.patch_item(project, ITEM, {"status": "in_progress"})
    first = wait_until(lambda: receiver.answered(path), "the first delivery")[0]
    verify(first, secret)

    # The receiver fails (a 500, then the port closes) while another item changes.
    receiver.route(path, Reply(500, body=b"receiver down for maintenance"))
    api.patch_item(project, OTHER_ITEM, {"status": "done"})
    failed = wait_until(lambda: receiver.answered(path)[1:], "the failing attempt")[0]
    receiver.stop()
    message_id = failed.webhook_id
    assert message_id != first.webhook_id
    verify(failed, secret)

    # The log shows the delivery retrying, with every failed attempt.
    def retrying_with_two_attempts():
        items = api.deliveries(endpoint["id"], status="retrying")
        return [d for d in items if d["message_id"] == message_id and d["attempts"] >= 2]

    [delivery] = wait_until(retrying_with_two_attempts, "two failed attempts in the log")
    assert delivery["status"] == "retrying"
    assert delivery["next_attempt_at"] is not None
    assert delivery["event_type"] == "checklist.item.status_changed"
    refused, closed = delivery["attempt_log"][:2]
    assert refused["status_code"] == 500
    assert refused["error"] == "HTTP 500"
    assert refused["response_excerpt"] == "receiver down for maintenance"
    assert closed["status_code"] is None
    assert "connection refused" in closed["error"], closed
    assert all(isinstance(a["latency_ms"], int) and a["latency_ms"] >= 0 for a in (refused, closed))
    assert delivery["last_error"] == closed["error"]

    # Back up, on the same port: the next scheduled attempt succeeds, same webhook-id.
    receiver.route(path)
    receiver.start()

    def succeeded():
        found = api.delivery(endpoint["id"], delivery["id"])
        return found if found["status"] == "succeeded" else None

    done = wait_until(succeeded, "the delivery to succeed once the receiver is back")
    assert done["attempts"] == 3
    assert [a["status_code"] for a in done["attempt_log"]] == [500, None, 204]
    again = receiver.received(path)[2]
    assert again.webhook_id == message_id
    assert verify(again, secret) == verify(failed, secret)
    assert again.body == failed.body  # every retry sends the same bytes

    # Redelivered by hand: same webhook-id, a new timestamp, a valid signature.
    next_second()
    retried = api.post(
        f"/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/retry", expect=202
    ).json
    assert retried["message_id"] == message_id
    assert retried["status"] == "pending"
    by_hand = wait_until(lambda: receiver.answered(path)[3:], "the redelivery by hand")[0]
    assert by_hand.webhook_id == message_id
    assert int(by_hand.header("webhook-timestamp")) > int(again.header("webhook-timestamp"))
    assert verify(by_hand, secret) == verify(again, secret)
    assert by_hand.body == again.body
    final = wait_until(
        lambda: (
            (d := api.delivery(endpoint["id"], delivery["id"]))["status"] == "succeeded"
            and d["attempts"] == 4
            and d
        ),
        "the redelivery to be logged",
    )
    assert [a["status_code"] for a in final["attempt_log"]] == [500, None, 204, 204]
    assert worker.alive()
    assert receiver.count(path) == 4
