"""Several workers and dying workers, on PostgreSQL: a backlog of a few hundred messages is
delivered in full, each verified, when a worker is SIGKILLed in the middle of it and another
takes over; and two workers sharing a backlog never send one message twice at once.

The lease a dead worker leaves lasts `WEBHOOK_TIMEOUT` + 60 s by design (61 s here). Waiting
for it would take most of the suite's time budget, so by default the test makes the lease
expire as that minute would, by moving the dead worker's `lease_until` into the past (the
only thing the waiting changes); `WEBHOOK_E2E_REAL_LEASES=1` waits for it instead.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

import pytest

from .receiver import Reply, SocketOwners
from .support import Api, Database, settle, verify, wait_until

BACKLOG = 300
REAL_LEASES = os.environ.get("WEBHOOK_E2E_REAL_LEASES") == "1"
LEASE_SECONDS = 1 + 60  # WEBHOOK_TIMEOUT=1, and the worker's 60 s
# Fewer sending threads than the suite's default and a receiver that takes a little time per
# request, so a backlog takes a few seconds to send: time enough to kill a worker in the
# middle of it, or for two workers to share it.
BACKLOG_ENV = {"WEBHOOK_TIMEOUT": "1", "WEBHOOK_WORKER_CONCURRENCY": "4"}


def _backlog(api: Api, receiver_url: str) -> tuple[dict[str, Any], set[str]]:
    """An endpoint subscribed to everything, then BACKLOG new people: the endpoint's message
    ids (its own `webhook.endpoint.created` event and one `person.created` per person)."""
    endpoint = api.create_endpoint(receiver_url, ["*"])
    for _ in range(BACKLOG):
        api.create_person()
    created = [e for e in api.events() if e["type"] == "person.created"]
    assert len(created) == BACKLOG
    [own] = api.events(type="webhook.endpoint.created")
    expected = {e["id"] for e in created} | {own["id"]}
    queued = api.deliveries(endpoint["id"])
    assert {d["message_id"] for d in queued} == expected
    assert {d["status"] for d in queued} == {"pending"}
    return endpoint, expected


def _all_succeeded(api: Api, endpoint_id: str, expected: set[str], timeout: float) -> None:
    def done() -> bool:
        deliveries = api.deliveries(endpoint_id)
        return len(deliveries) == len(expected) and all(
            d["status"] == "succeeded" for d in deliveries
        )

    wait_until(done, f"all {len(expected)} deliveries to succeed", timeout=timeout, interval=0.25)


def _leased(database: Database) -> int:
    return database.scalar(
        "SELECT count(*) FROM webhook_deliveries WHERE lease_until > clock_timestamp()"
    )


def test_a_worker_killed_mid_backlog_loses_nothing(pg_database, receivers, workers):
    database = pg_database
    api = database.api()
    receiver = receivers("backlog", default=Reply(204, delay=0.02))
    path = "/hooks/everything"
    endpoint, expected = _backlog(api, receiver.route(path))

    first = workers.start(database, **BACKLOG_ENV)
    wait_until(lambda: receiver.count(path) >= 40, "some of the backlog to arrive")
    # Killed while it holds leases: not in the instant between recording a batch and claiming
    # the next, when a worker whose attempts all ended together holds none.
    wait_until(lambda: _leased(database) > 0, "the worker to hold leases")
    first.kill()
    arrived_before = receiver.count(path)
    assert arrived_before < len(expected), "the worker finished before it was killed"
    stuck = _leased(database)
    assert stuck > 0, "the killed worker left no lease"

    if not REAL_LEASES:
        # What the lease's minute would do: the dead worker's claims lapse.
        database.execute(
            "UPDATE webhook_deliveries SET lease_until = clock_timestamp() - interval '1 second'"
            " WHERE lease_until IS NOT NULL"
        )
    second = workers.start(database, **BACKLOG_ENV)
    timeout = LEASE_SECONDS + 40 if REAL_LEASES else 40
    _all_succeeded(api, endpoint["id"], expected, timeout)
    assert second.alive()

    requests = receiver.received(path)
    seen = Counter(r.webhook_id for r in requests)
    assert set(seen) == expected  # every message arrived, nothing else did
    for request in requests:
        verify(request, endpoint["secret"])
    # At least once: what the dead worker had sent but not recorded was sent again.
    duplicates = sum(n - 1 for n in seen.values())
    assert duplicates <= stuck
    for delivery in api.deliveries(endpoint["id"]):
        assert delivery["attempts"] >= 1
        assert delivery["attempt_log"][-1]["status_code"] == 204
    print(
        f"killed after {arrived_before}/{len(expected)} arrivals with {stuck} deliveries "
        f"leased; {len(requests)} requests in all, {duplicates} sent twice"
    )


@pytest.mark.skipif(not SocketOwners.available(), reason="needs /proc/net/tcp (Linux)")
def test_two_workers_share_a_backlog_and_never_send_a_message_twice_at_once(
    pg_database, receivers, workers
):
    """The receiver takes 30 ms per request and notes any request that arrives while another
    with the same `webhook-id` is being answered. Which worker sent each request is read off
    the connection: the client socket's owner process, in /proc."""
    database = pg_database
    api = database.api()
    receiver = receivers("shared", default=Reply(204, delay=0.03))
    path = "/hooks/everything"
    endpoint, expected = _backlog(api, receiver.route(path))

    one = workers.start(database, **BACKLOG_ENV)
    two = workers.start(database, **BACKLOG_ENV)
    receiver.owner_of = SocketOwners([one.pid, two.pid], receiver.port)
    started = time.monotonic()
    _all_succeeded(api, endpoint["id"], expected, timeout=40)
    elapsed = time.monotonic() - started
    assert one.alive() and two.alive()

    requests = receiver.received(path)
    assert receiver.overlaps == []
    seen = Counter(r.webhook_id for r in requests)
    assert set(seen) == expected
    # No lease lapsed and nothing failed: each message was sent exactly once.
    assert [i for i, n in seen.items() if n > 1] == []
    for request in requests:
        verify(request, endpoint["secret"])
    by_worker = Counter(r.owner for r in requests)
    assert set(by_worker) == {one.pid, two.pid}, by_worker
    assert min(by_worker.values()) > 0
    print(
        f"{len(requests)} messages in {elapsed:.1f} s: worker one sent {by_worker[one.pid]}, "
        f"worker two {by_worker[two.pid]}; at most {receiver.max_in_flight} requests at once"
    )


def test_a_retry_by_hand_during_an_attempt_does_not_send_the_message_twice_at_once(
    pg_database, receivers, workers
):
    """`POST …/deliveries/{d}/retry` while a worker is still waiting for the receiver's answer
    to that delivery. Whatever the service chooses (send again once the attempt ends, or
    refuse with 409), the receiver must not get the same message twice at once, and every
    request it answered must be in the delivery log."""
    database = pg_database
    api = database.api()
    receiver = receivers("in-flight")
    url = receiver.route("/slow", Reply(204, delay=2.0), then=Reply(204))
    endpoint = api.create_endpoint(url, ["api_key.revoked"])
    one = workers.start(database, WEBHOOK_TIMEOUT="5")
    two = workers.start(database, WEBHOOK_TIMEOUT="5")
    one.wait_started()
    two.wait_started()

    queued = api.ping(endpoint["id"])
    wait_until(lambda: receiver.received("/slow"), "the first attempt to reach the receiver")
    retry = api.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{queued['id']}/retry")
    assert retry.status_code in (202, 409), retry.get_data(as_text=True)
    expected_requests = 2 if retry.status_code == 202 else 1
    wait_until(
        lambda: len(receiver.answered("/slow")) >= expected_requests,
        f"{expected_requests} answered request(s)",
        timeout=15,
    )
    requests = receiver.received("/slow")
    for request in requests:
        verify(request, endpoint["secret"])
    # Each answered request's outcome is in the log once its worker recorded it; a worker that
    # dropped one never does, and after the wait the assertions below say so.
    delivery = settle(
        lambda: api.delivery(endpoint["id"], queued["id"]),
        lambda found: len(found["attempt_log"]) >= len(requests),
    )
    problems = []
    if receiver.overlaps:
        problems.append(
            f"{len(receiver.overlaps)} request(s) arrived while the same message was still being "
            "answered: the retry by hand cleared the lease of a delivery in flight "
            "(app/services/webhooks/endpoints.py, retry_delivery), and the other worker took it "
            "at once"
        )
    if len(delivery["attempt_log"]) != len(requests):
        problems.append(
            f"the receiver answered {len(requests)} requests but the log holds "
            f"{len(delivery['attempt_log'])} attempt(s): the first worker found its lease gone "
            "and dropped its attempt's outcome (DeliveryWorker.record)"
        )
    assert not problems, "\n".join(problems)
