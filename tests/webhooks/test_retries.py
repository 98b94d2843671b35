"""Retries, timeouts, Retry-After, redirects and 410 Gone, against a real receiver and the
real worker process, on the suite's short schedule (`WEBHOOK_RETRY_SCHEDULE=1,1,2`: four
attempts in about 4 s, each step ±20 %; `WEBHOOK_TIMEOUT=2`).

The four scenarios that need several attempts (twice failing, always failing, 429 with
Retry-After, 302) run at once, each on an endpoint of its own, with one long-running worker
(`retry_run`, once per backend); a test then checks what one of them did, in the receiver's
records and in the delivery log. The timeout, 410 and disabling tests have workers of their
own: a slow attempt would hold up the others' rounds (see test_worker_rounds.py).

Times are read off the worker's own clock (each attempt's `attempted_at`): an attempt is never
early, exactly, since a retry is scheduled after the attempt before it ended; how late it may
be is bounded generously (`LATE`), as a busy machine delays a worker. The retry run's worker
polls only every minute on SQLite, so a worker that slept until its poll rather than until
the next retry was due would be later than that.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .receiver import Received, Receiver, Reply
from .support import Workers, parse_time, verify, wait_until

SCHEDULE = (1, 1, 2)
JITTER = 0.2
TIMEOUT = 2
RETRY_AFTER = 3
# How long the run keeps watching once every scenario has settled, for an attempt too many.
QUIET_AFTER = 2.5
# How much later than due an attempt may start on a busy machine.
LATE = 10.0
# The retry run's worker: on SQLite it looks for new deliveries only this often (the
# deliveries are queued before it starts), so only a wake-up at the due time keeps retries
# within LATE.
RUN_ENV = {"WEBHOOK_POLL_SECONDS": "60"}


@dataclass
class Scenario:
    replies: tuple[Reply, ...]
    then: Reply
    final: str  # the delivery's status once settled
    endpoint: dict[str, Any] = field(default_factory=dict)
    delivery: dict[str, Any] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)

    @property
    def attempts(self) -> list[dict[str, Any]]:
        return self.delivery["attempt_log"]

    def gaps(self) -> list[tuple[float, dict[str, Any]]]:
        """Seconds between the starts of consecutive attempts, on the worker's clock, each
        with the attempt before it."""
        return [
            ((parse_time(b["attempted_at"]) - parse_time(a["attempted_at"])).total_seconds(), a)
            for a, b in itertools.pairwise(self.attempts)
        ]


@dataclass
class RetryRun:
    backend: str
    scenarios: dict[str, Scenario]
    redirect_target: list[Received]
    worker_log: str

    def __getitem__(self, name: str) -> Scenario:
        return self.scenarios[name]


def _scenarios(target_url: str) -> dict[str, Scenario]:
    return {
        "flaky": Scenario((Reply(500), Reply(500)), Reply(204), "succeeded"),
        "broken": Scenario((), Reply(503, body=b"still broken"), "dead"),
        "busy": Scenario(
            (Reply(429, headers={"Retry-After": str(RETRY_AFTER)}),), Reply(204), "succeeded"
        ),
        "moved": Scenario(
            (Reply(302, headers={"Location": target_url}), Reply(302, headers={"Location": "/"})),
            Reply(204),
            "succeeded",
        ),
    }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def retry_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    database = request.getfixturevalue(f"{request.param}_db")
    database.truncate()
    api = database.api()
    receiver = Receiver("retries")
    target = Receiver("redirect-target")
    workers = Workers(tmp_path_factory.mktemp(f"retries-{request.param}"))
    try:
        target_url = target.route("/stolen")
        scenarios = _scenarios(target_url)
        for name, scenario in scenarios.items():
            url = receiver.route(f"/{name}", *scenario.replies, then=scenario.then)
            scenario.endpoint = api.create_endpoint(url, ["api_key.revoked"])
        for scenario in scenarios.values():
            scenario.delivery = api.ping(scenario.endpoint["id"])
        worker = workers.start(database, **RUN_ENV)

        def settled() -> bool:
            for scenario in scenarios.values():
                found = api.delivery(scenario.endpoint["id"], scenario.delivery["id"])
                if found["status"] not in ("succeeded", "dead"):
                    return False
            return True

        wait_until(settled, "every scenario to settle", interval=0.1)
        time.sleep(QUIET_AFTER)  # an attempt too many would arrive now
        for name, scenario in scenarios.items():
            scenario.delivery = api.delivery(scenario.endpoint["id"], scenario.delivery["id"])
            scenario.requests = receiver.received(f"/{name}")
        worker_log = worker.log()
        return RetryRun(request.param, scenarios, target.received(), worker_log)
    finally:
        workers.close()
        receiver.stop()
        target.stop()


def _check_every_request(scenario: Scenario) -> None:
    """Every attempt is the same message, signed, with the same bytes."""
    assert scenario.requests, "nothing arrived"
    for request in scenario.requests:
        message = verify(request, scenario.endpoint["secret"])
        assert message["type"] == "webhook.ping"
        assert request.webhook_id == scenario.delivery["message_id"]
        assert request.body == scenario.requests[0].body
    assert len(scenario.attempts) == scenario.delivery["attempts"] == len(scenario.requests)


def _assert_gap(gap: float, before: dict[str, Any], delay: float, most: float) -> None:
    """An attempt started at least `delay` after the one `before` it (it was scheduled once
    that one ended), and at most `most` plus that one's latency plus LATE after it."""
    assert gap >= delay - 0.001, (gap, delay, before)
    assert gap <= most + before["latency_ms"] / 1000 + LATE, (gap, most, before)


def _assert_on_schedule(scenario: Scenario) -> None:
    for (gap, before), step in zip(scenario.gaps(), SCHEDULE, strict=False):
        _assert_gap(gap, before, step * (1 - JITTER), step * (1 + JITTER))


def test_a_receiver_failing_twice_gets_exactly_three_attempts(retry_run):
    flaky = retry_run["flaky"]
    _check_every_request(flaky)
    assert flaky.delivery["status"] == "succeeded"
    assert flaky.delivery["succeeded_at"] is not None
    assert [a["status_code"] for a in flaky.attempts] == [500, 500, 204]
    assert [a["error"] for a in flaky.attempts] == ["HTTP 500", "HTTP 500", None]
    _assert_on_schedule(flaky)


def test_a_receiver_failing_always_ends_dead_after_every_attempt(retry_run):
    broken = retry_run["broken"]
    _check_every_request(broken)
    assert broken.delivery["status"] == "dead"
    assert broken.delivery["next_attempt_at"] is None
    assert len(broken.requests) == 1 + len(SCHEDULE)
    assert [a["status_code"] for a in broken.attempts] == [503] * (1 + len(SCHEDULE))
    assert broken.delivery["last_status_code"] == 503
    assert broken.attempts[-1]["response_excerpt"] == "still broken"
    assert len(broken.gaps()) == len(SCHEDULE)
    _assert_on_schedule(broken)


def test_an_attempt_past_the_timeout_fails_saying_so(database, receivers, workers):
    """A receiver that answers after the worker's deadline (`WEBHOOK_TIMEOUT=2`): the attempt
    ends at the deadline, as a failure that names the timeout, and is retried. (Alone, with
    `--once`: a slow attempt holds up every other delivery of its worker's round, see
    test_worker_rounds.py.)"""
    api = database.api()
    receiver = receivers("slow")
    # The receiver would answer a minute later (the fixture wakes it at the end).
    url = receiver.route("/slow", Reply(204, delay=TIMEOUT + 60), then=Reply(204))
    endpoint = api.create_endpoint(url, ["api_key.revoked"])
    queued = api.ping(endpoint["id"])
    assert workers.once(database) == 1

    delivery = api.delivery(endpoint["id"], queued["id"])
    assert delivery["status"] == "retrying"
    [attempt] = delivery["attempt_log"]
    assert attempt["status_code"] is None
    assert "timed out" in attempt["error"] and f"{TIMEOUT} s" in attempt["error"], attempt
    assert TIMEOUT * 1000 * 0.9 <= attempt["latency_ms"] <= (TIMEOUT + LATE) * 1000, attempt
    assert delivery["last_error"] == attempt["error"]
    [request] = receiver.received("/slow")
    assert verify(request, endpoint["secret"])["type"] == "webhook.ping"


def test_retry_after_is_honoured(retry_run):
    busy = retry_run["busy"]
    _check_every_request(busy)
    assert [a["status_code"] for a in busy.attempts] == [429, 204]
    assert busy.attempts[0]["error"] == "HTTP 429"
    # The schedule says about 1 s; the receiver asked for 3.
    [(gap, before)] = busy.gaps()
    _assert_gap(gap, before, RETRY_AFTER, RETRY_AFTER)


def test_a_redirect_is_a_failure_and_never_followed(retry_run):
    moved = retry_run["moved"]
    _check_every_request(moved)
    assert [a["status_code"] for a in moved.attempts] == [302, 302, 204]
    redirects = moved.attempts[:2]
    assert all(a["error"] == "HTTP 302: redirects are not followed" for a in redirects)
    assert retry_run.redirect_target == []
    # Nothing else reached the receiver either (a relative Location, "/", was not followed).
    assert {r.path for r in moved.requests} == {"/moved"}


def test_an_endpoint_failing_for_too_long_is_disabled(database, receivers, workers: Workers):
    """`WEBHOOK_DISABLE_AFTER_SECONDS` (1 s here): an endpoint whose deliveries have all
    failed for that long is disabled, with its reason and an event, before its schedule
    runs out."""
    api = database.api()
    receiver = receivers("failing")
    url = receiver.route("/failing", then=Reply(500))
    endpoint = api.create_endpoint(url, ["api_key.revoked"])
    workers.start(database, WEBHOOK_DISABLE_AFTER_SECONDS="1")
    queued = api.ping(endpoint["id"])

    shown = wait_until(
        lambda: (e := api.endpoint(endpoint["id"]))["enabled"] is False and e,
        "the endpoint to be disabled",
    )
    assert shown["disabled_reason"].startswith("Every delivery has failed since"), shown
    delivery = api.delivery(endpoint["id"], queued["id"])
    assert delivery["status"] == "dead"
    assert 2 <= delivery["attempts"] < 1 + len(SCHEDULE), delivery
    [event] = api.events(type="webhook.endpoint.disabled")
    assert event["payload"]["reason"] == shown["disabled_reason"]
    assert event["payload"]["endpoint"]["id"] == endpoint["id"]
    count = receiver.count("/failing")
    time.sleep(1.5)
    assert receiver.count("/failing") == count == delivery["attempts"]


def test_gone_disables_the_endpoint_and_recover_sends_the_dead_again(
    database, receivers, workers: Workers
):
    """410 disables the endpoint at once, with its reason and a `webhook.endpoint.disabled`
    event (sent to another endpoint that subscribes to it), and ends what it still had due;
    once enabled again, `recover` queues the dead deliveries of a time range."""
    # A long schedule: a delivery that failed stays scheduled while the 410 arrives.
    patient = {"WEBHOOK_RETRY_SCHEDULE": "60"}
    api = database.api()
    receiver = receivers("gone")
    watcher = receivers("watcher")
    since = datetime.now(UTC) - timedelta(seconds=1)
    watching = api.create_endpoint(watcher.route("/watch"), ["webhook.endpoint.disabled"])
    gone = api.create_endpoint(receiver.route("/gone", then=Reply(500)), ["person.created"])
    endpoint_id = gone["id"]

    # A first message fails with a 500 and waits for its next attempt, a minute away.
    first_person = api.create_person()
    workers.once(database, **patient)
    [failed] = api.deliveries(endpoint_id)
    assert failed["status"] == "retrying"
    assert parse_time(failed["next_attempt_at"]) > datetime.now(UTC) + timedelta(seconds=30)

    # The receiver now answers 410 Gone to the next one.
    receiver.route("/gone", then=Reply(410, body=b"no longer wanted"))
    api.create_person()
    workers.once(database, **patient)

    shown = api.endpoint(endpoint_id)
    assert shown["enabled"] is False
    assert "410" in shown["disabled_reason"], shown
    assert shown["disabled_at"] is not None
    [event] = api.events(type="webhook.endpoint.disabled")
    assert event["payload"]["endpoint"]["id"] == endpoint_id
    assert event["payload"]["endpoint"]["enabled"] is False
    assert event["payload"]["reason"] == shown["disabled_reason"]
    deliveries = {d["id"]: d for d in api.deliveries(endpoint_id)}
    assert len(deliveries) == 2
    assert all(d["status"] == "dead" for d in deliveries.values()), deliveries
    assert all(d["next_attempt_at"] is None for d in deliveries.values())
    answered_410 = next(d for d in deliveries.values() if d["id"] != failed["id"])
    assert answered_410["last_status_code"] == 410
    # The one that was waiting is dead too, without another attempt.
    assert deliveries[failed["id"]]["attempts"] == 1
    assert deliveries[failed["id"]]["last_error"] == "endpoint disabled"
    assert receiver.count("/gone") == 2

    # The other endpoint was told, signed, with the event's id.
    [told] = watcher.received("/watch")
    message = verify(told, watching["secret"])
    assert told.webhook_id == event["id"]
    assert message["type"] == "webhook.endpoint.disabled"
    assert message["data"] == event["payload"]

    # Disabled: no ping, no recovery, until it is enabled again.
    assert api.post(f"/v1/webhooks/{endpoint_id}/ping").status_code == 409
    until = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    window = {"since": since.isoformat(), "until": until}
    assert api.post(f"/v1/webhooks/{endpoint_id}/recover", window).status_code == 409

    enabled = api.patch(f"/v1/webhooks/{endpoint_id}", {"enabled": True}, expect=200).json
    assert enabled["enabled"] is True
    assert enabled["disabled_reason"] is None
    receiver.route("/gone", then=Reply(204))
    recovered = api.post(f"/v1/webhooks/{endpoint_id}/recover", window, expect=202).json
    assert recovered == {"queued": 2}
    assert workers.once(database, **patient) == 2

    again = receiver.received("/gone")[2:]
    assert sorted(r.webhook_id for r in again) == sorted(
        d["message_id"] for d in deliveries.values()
    )
    for request in again:
        assert verify(request, gone["secret"])["type"] == "person.created"
    first_message = next(r for r in again if r.webhook_id == failed["message_id"])
    assert verify(first_message, gone["secret"])["data"]["person"]["id"] == first_person["id"]
    final = api.deliveries(endpoint_id)
    assert {d["status"] for d in final} == {"succeeded"}
