"""No server-side request forgery at delivery time: endpoints on loopback, saved while the API
allowed private targets, are refused by a worker that does not allow them (whatever the
spelling of the address), before any connection; the same deliveries then reach the same
receiver from a worker that does allow them, so the receiver was there all along."""

from __future__ import annotations

import time

from .support import parse_time, verify

# Paths of the receiver, and how each endpoint spells its address.
SPELLINGS = {
    "/dotted": "127.0.0.1",
    "/name": "localhost",
    "/mapped": "[::ffff:127.0.0.1]",
    "/decimal": "2130706433",
    "/short": "127.1",
}


def test_a_worker_without_private_targets_refuses_loopback(database, receivers, workers):
    api = database.api()
    receiver = receivers("internal")
    endpoints = {
        path: api.create_endpoint(
            f"http://{host}:{receiver.port}{path}", ["person.created"], headers={"X-Probe": path}
        )
        for path, host in SPELLINGS.items()
    }
    api.create_person()

    # The worker as deployed: private targets not allowed (the setting's default).
    assert workers.once(database, WEBHOOK_ALLOW_PRIVATE_TARGETS=None) == len(SPELLINGS)
    assert receiver.received() == []
    for path, endpoint in endpoints.items():
        [delivery] = api.deliveries(endpoint["id"])
        assert delivery["status"] == "retrying", (path, delivery)
        [attempt] = delivery["attempt_log"]
        assert attempt["status_code"] is None
        error = attempt["error"]
        assert error.startswith("refused:") and "loopback" in error, (path, error)
        assert attempt["latency_ms"] < 1000, (path, attempt)

    # Once the retries are due, a worker that allows private targets delivers them all.
    due = max(parse_time(api.deliveries(e["id"])[0]["next_attempt_at"]) for e in endpoints.values())
    time.sleep(max(0.0, due.timestamp() - time.time()) + 0.1)
    assert workers.once(database) == len(SPELLINGS)
    arrived = {r.path: r for r in receiver.received()}
    assert set(arrived) == set(SPELLINGS)
    for path, endpoint in endpoints.items():
        assert arrived[path].header("X-Probe") == path
        assert verify(arrived[path], endpoint["secret"])["type"] == "person.created"
