"""A rehearsal of the production layout (docs/deployment.md): two API instances (gunicorn on
two ports) and two delivery workers, on one PostgreSQL and one Redis.

A load balancer may send any request of a client to either instance, so the instances must
behave as one service: one rate-limit budget per key across both, a key revoked with the CLI
refused by both on their next request although each caches keys, the same ETag for the same
representation from both, and every event delivered once although two workers claim.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from itertools import cycle
from pathlib import Path

import pytest
import redis
from redis_dbs import REVOCATION_REDIS_URL
from webhooks.receiver import Receiver
from webhooks.support import verify, wait_until

from .conftest import REQUIRE_REDIS, TEAM_SLUG
from .harness import ROOT, Client, GunicornSpec, Server, create_key, new_key, run_cli, serve

# The instances share the revocation race's Redis database (flushed by each module first).
SHARED_REDIS_URL = REVOCATION_REDIS_URL
BUDGET = 25  # requests per key per hour, on both instances together
WRITES = 12  # events whose deliveries are counted


@pytest.fixture(scope="module")
def shared_env(operator_env: dict[str, str]) -> dict[str, str]:
    try:
        store = redis.Redis.from_url(SHARED_REDIS_URL, socket_connect_timeout=2)
        store.flushdb()
        store.close()
    except redis.RedisError as exc:
        if REQUIRE_REDIS:
            pytest.fail(f"Redis is required (REQUIRE_REDIS=1) but unreachable: {exc}")
        pytest.skip(f"Redis unreachable at {SHARED_REDIS_URL}: {exc}")
    return {
        **operator_env,
        "RATELIMIT_STORAGE_URI": SHARED_REDIS_URL,
        "RATE_LIMIT": f"{BUDGET} per hour",
        "API_KEY_CACHE_SECONDS": "300",
        # Development's receivers are on loopback; production's are not.
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
    }


@pytest.fixture(scope="module")
def instances(shared_env: dict[str, str], server_dir: Path) -> Iterator[tuple[Server, Server]]:
    servers = []
    generators = []
    for name in ("instance-a", "instance-b"):
        metrics = server_dir / f"metrics-{name}"
        metrics.mkdir()
        spec = GunicornSpec(
            name, {**shared_env, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}, workers=2, threads=2
        )
        generator = serve(spec, server_dir, {})
        servers.append(next(generator))
        generators.append(generator)
    try:
        yield servers[0], servers[1]
    finally:
        for generator in generators:
            generator.close()


@pytest.fixture
def delivery_workers(shared_env: dict[str, str], server_dir: Path) -> Iterator[None]:
    processes = []
    for number in (1, 2):
        log = (server_dir / f"worker-scale-out-{number}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "flask", "webhooks", "worker"],
                cwd=ROOT,
                env={**os.environ, **shared_env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        log.close()
    try:
        yield
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _key(env: dict[str, str], name: str) -> str:
    return create_key(env, TEAM_SLUG, "read,write,admin", name)


def test_one_rate_limit_budget_across_both_instances(instances, shared_env):
    token = _key(shared_env, "budget")
    statuses: Counter[int] = Counter()
    last: dict[str, int] = {}
    for server in [server for _, server in zip(range(BUDGET + 6), cycle(instances))]:
        with Client(server.base_url, token) as client:
            answer = client.get("/v1/people", query={"limit": 1})
        statuses[answer.status] += 1
        last[server.name] = answer.status
        if answer.status == 429:
            assert int(answer.header("Retry-After")) > 0
    assert statuses == {200: BUDGET, 429: 6}
    assert last == {"instance-a": 429, "instance-b": 429}


def test_a_revoked_key_is_refused_by_both_on_their_next_request(instances, shared_env):
    key_id, token = new_key(shared_env, TEAM_SLUG, "read", "revoked")

    def statuses() -> list[int]:
        answers = []
        for server in instances:
            for _ in range(3):  # on new connections: either worker of the instance
                with Client(server.base_url, token) as client:
                    answers.append(client.get("/v1/people", query={"limit": 1}).status)
        return answers

    assert statuses() == [200] * 6  # looked up, then cached by the workers that served it
    assert f"revoked {key_id}" in run_cli(shared_env, "keys", "revoke", key_id)
    assert statuses() == [401] * 6


def test_both_instances_give_one_etag_and_honour_each_others(instances, shared_env):
    token = _key(shared_env, "etags")
    first, second = instances
    with Client(first.base_url, token) as a, Client(second.base_url, token) as b:
        project = a.expect(
            a.post("/v1/projects", {"name": "Scale out", "application": "content-creation"}),
            201,
        )
        path = f"/v1/projects/{project['id']}"
        a.expect(a.post(f"{path}/checklist"), 201)
        for resource in (path, f"{path}/checklist", "/v1/catalog"):
            from_a, from_b = a.get(resource), b.get(resource)
            assert from_a.status == from_b.status == 200
            assert from_a.header("ETag") and from_a.header("ETag") == from_b.header("ETag")
            cached = b.get(resource, headers={"If-None-Match": from_a.header("ETag")})
            assert cached.status == 304, resource
        # A write through one instance, then a stale If-Match through the other: 412.
        etag = a.get(path).header("ETag")
        b.expect(b.patch(path, {"description": "Renamed on B"}, headers={"If-Match": etag}), 200)
        stale = a.patch(path, {"description": "Lost on A"}, headers={"If-Match": etag})
        assert stale.status == 412


def test_each_event_is_delivered_once_by_two_workers(instances, shared_env, delivery_workers):
    token = _key(shared_env, "deliveries")
    receiver = Receiver("scale-out")
    try:
        with Client(instances[0].base_url, token) as client:
            endpoint = client.expect(
                client.post(
                    "/v1/webhooks",
                    {"url": receiver.url("/hook"), "event_types": ["person.created"]},
                ),
                201,
            )
            # The writes come through both instances, as a load balancer spreads them.
            people = []
            for number, server in zip(range(WRITES), cycle(instances)):
                with Client(server.base_url, token) as writer:
                    body = {"name": f"Scale {number}", "email": f"scale-{number}@example.com"}
                    people.append(writer.expect(writer.post("/v1/people", body), 201)["id"])

            log = f"/v1/webhooks/{endpoint['id']}/deliveries"
            settled = wait_until(
                lambda: (
                    deliveries
                    if len(deliveries := client.expect(client.get(log), 200)["items"]) == WRITES
                    and all(d["status"] == "succeeded" for d in deliveries)
                    else None
                ),
                f"{WRITES} deliveries to succeed",
            )
    finally:
        receiver.stop()
    # Once each: one attempt in the log, one request at the receiver, none of them at once.
    assert [d["attempts"] for d in settled] == [1] * WRITES
    received = receiver.received("/hook")
    messages = [verify(request, endpoint["secret"]) for request in received]
    assert sorted(m["data"]["person"]["id"] for m in messages) == sorted(people)
    assert len({request.webhook_id for request in received}) == len(received) == WRITES
    assert receiver.overlaps == []
