"""How the worker spends its time between and during rounds, measured on the real process:

- a slow receiver should not hold up the deliveries of other endpoints;
- an idle worker should sleep, not spin, while the only due deliveries are ones it may not
  take (an endpoint paused with `enabled: false`, or a lease another worker holds).

No bound here is tighter than a busy machine keeps: the slow receiver outlasts the waits of
the test many times over, and the idle worker gets many windows to show it sleeps (a spinning
one uses most of a CPU in every window). CPU time is read from /proc/<pid>/stat (Linux).
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
# How long an idle worker may take to settle (its first rounds, a busy machine) before one
# window of MEASURE_SECONDS shows it asleep.
SETTLE_SECONDS = 30.0
# Far beyond every wait of these tests: an attempt to the hanging receiver is still open when
# the test ends (it is ended by stopping the receiver).
HANGING_SECONDS = 300

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


def settled_share(pid: int) -> float:
    """The worker's CPU share over the first window of MEASURE_SECONDS in which it stays
    under IDLE_CPU_SHARE, or over the last one after SETTLE_SECONDS: its start-up, or a
    stall of the machine, may fall in a window, but an idle worker soon has a quiet one."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        share = cpu_share(pid)
        if share < IDLE_CPU_SHARE or time.monotonic() >= deadline:
            return share


def test_a_slow_receiver_does_not_hold_up_another_endpoint(pg_database, receivers, workers):
    """One endpoint hangs far longer than any wait of this test, and the worker waits for it
    (its deadline is as long); a message to another endpoint, committed meanwhile, should go
    out at once (docs/webhooks.md: "When: at once"), while the slow attempt is still open."""
    database = pg_database
    api = database.api()
    receiver = receivers("mixed")
    slow = Reply(204, delay=HANGING_SECONDS)
    hanging = api.create_endpoint(receiver.route("/hanging", then=slow), ["*"])
    fast = api.create_endpoint(receiver.route("/fast"), ["api_key.revoked"])
    worker = workers.start(database, WEBHOOK_TIMEOUT=str(HANGING_SECONDS))
    worker.wait_started()
    wait_until(lambda: receiver.received("/hanging"), "the hanging endpoint's first request")

    api.ping(fast["id"])
    # A worker that sent its claimed batch and recorded it before it claimed anything else
    # would send this ping only once the hanging attempt ended: long after this wait fails.
    [request] = wait_until(
        lambda: receiver.received("/fast"),
        "the other endpoint's ping while the slow attempt is still open: the worker sends its "
        "claimed batch and records it before it claims anything else "
        "(app/workers/delivery.py, DeliveryWorker.run_once)",
    )
    verify(request, fast["secret"])
    assert hanging["id"] != fast["id"]
    # The slow attempts are still open: none answered, none recorded.
    assert all(r.answered is None for r in receiver.received("/hanging"))
    assert {d["attempts"] for d in api.deliveries(hanging["id"])} == {0}
    receiver.stop()  # ends the hanging attempt, so that the worker stops at once


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
    share = settled_share(worker.pid)
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
    share = settled_share(survivor.pid)
    assert len(receiver.received("/held")) == 1  # the lease holds
    assert share < IDLE_CPU_SHARE, (
        f"an idle worker used {share:.0%} of a CPU while the only due delivery is leased by a "
        "dead worker: seconds_until_next_due ignores leases, so the worker loops without "
        "sleeping until the lease expires"
    )
