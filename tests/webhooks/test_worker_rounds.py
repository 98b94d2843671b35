"""How the worker spends its time between and during rounds, measured on the real process:

- a slow receiver should not hold up the deliveries of other endpoints;
- an idle worker should sleep, not spin, while the only due deliveries are ones it may not
  take (an endpoint paused with `enabled: false`, or a lease another worker holds).

CPU time is read from /proc/<pid>/stat (Linux).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from .receiver import Reply
from .support import verify, wait_until

# An idle worker polls (SQLite, every 0.25 s) or waits on LISTEN (PostgreSQL): a few percent
# of one CPU at most. A worker looping without pause uses most of one.
IDLE_CPU_SHARE = 0.10
MEASURE_SECONDS = 3.0

needs_proc = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc (Linux)"
)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pid: int, seconds: float = MEASURE_SECONDS) -> float:
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started)


def test_a_slow_receiver_does_not_hold_up_another_endpoint(pg_database, receivers, workers):
    """One endpoint hangs until the worker's deadline (5 s here); a message to another
    endpoint, committed meanwhile, should go out at once (docs/webhooks.md: "When: at once")."""
    database = pg_database
    api = database.api()
    receiver = receivers("mixed")
    hanging = api.create_endpoint(receiver.route("/hanging", then=Reply(204, delay=30)), ["*"])
    fast = api.create_endpoint(receiver.route("/fast"), ["api_key.revoked"])
    worker = workers.start(database, WEBHOOK_TIMEOUT="5")
    worker.wait_started()
    wait_until(lambda: receiver.received("/hanging"), "the hanging endpoint's first request")

    queued_at = time.monotonic()
    api.ping(fast["id"])
    [request] = wait_until(lambda: receiver.received("/fast"), "the other endpoint's ping")
    waited = request.arrived - queued_at
    verify(request, fast["secret"])
    assert hanging["id"] != fast["id"]
    assert waited < 1.0, (
        f"a ping to a healthy endpoint waited {waited:.1f} s for a slow receiver's attempt "
        "to time out: the worker sends its claimed batch and records it before it claims "
        "anything else (app/workers/delivery.py, DeliveryWorker.run_once)"
    )


@needs_proc
def test_an_idle_worker_does_not_spin_while_an_endpoint_is_paused(database, receivers, workers):
    api = database.api()
    receiver = receivers("paused")
    endpoint = api.create_endpoint(receiver.route("/paused"), ["person.created"])
    api.create_person()  # queued while enabled
    api.patch(f"/v1/webhooks/{endpoint['id']}", {"enabled": False}, expect=200)
    [delivery] = api.deliveries(endpoint["id"])
    assert delivery["status"] == "pending"

    worker = workers.start(database)
    worker.wait_started()
    time.sleep(0.5)
    share = cpu_share(worker.pid)
    assert receiver.received() == []
    assert share < IDLE_CPU_SHARE, (
        f"an idle worker used {share:.0%} of a CPU while the only due delivery belongs to a "
        "paused endpoint: seconds_until_next_due counts deliveries claim() never takes, so "
        "the worker loops without sleeping"
    )


@needs_proc
def test_an_idle_worker_does_not_spin_on_a_dead_workers_lease(pg_database, receivers, workers):
    database = pg_database
    api = database.api()
    receiver = receivers("held")
    endpoint = api.create_endpoint(
        receiver.route("/held", then=Reply(204, delay=30)), ["person.created"]
    )
    api.create_person()
    doomed = workers.start(database)
    wait_until(lambda: receiver.received("/held"), "the first worker's attempt")
    doomed.kill()  # its lease stays for WEBHOOK_TIMEOUT + 60 s
    [delivery] = api.deliveries(endpoint["id"])
    assert delivery["status"] == "pending"

    survivor = workers.start(database)
    survivor.wait_started()
    time.sleep(0.5)
    share = cpu_share(survivor.pid)
    assert len(receiver.received("/held")) == 1  # the lease holds
    assert share < IDLE_CPU_SHARE, (
        f"an idle worker used {share:.0%} of a CPU while the only due delivery is leased by a "
        "dead worker: seconds_until_next_due ignores leases, so the worker loops without "
        "sleeping until the lease expires"
    )
