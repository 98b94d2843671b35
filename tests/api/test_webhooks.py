"""Webhook endpoints through the API: registration and its refusals, secrets shown once,
the outbox written with the change, and the delivery log, with a real receiver on loopback and
the worker's round run in-process (tests/webhooks/ runs the worker as a process)."""

from __future__ import annotations

import dataclasses
import http.server
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from checklist_support import flat_errors
from factories import assert_problem, create_person, create_project
from flask import Flask
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from app import create_app
from app.extensions import db
from app.models import WebhookDelivery
from app.workers.delivery import DeliveryWorker

PUBLIC_URL = "https://93.184.216.34/hooks/checklists"  # a literal public address: no DNS


def _endpoint_body(**overrides: Any) -> dict[str, Any]:
    return {"url": PUBLIC_URL, "event_types": ["checklist.*"], **overrides}


def create_endpoint(api: Any, **overrides: Any) -> dict[str, Any]:
    response = api.post("/v1/webhooks", json=_endpoint_body(**overrides))
    assert response.status_code == 201, response.json
    return response.json


def _deliveries(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WebhookDelivery))


# --------------------------------------------------------------------------- registration


def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(api):
    response = api.post(
        "/v1/webhooks",
        json=_endpoint_body(
            description="Jira automation", headers={"X-Automation-Webhook-Token": "s3cr3t"}
        ),
    )

    assert response.status_code == 201
    created = response.json
    assert created["id"].startswith("whk_")
    assert created["secret"].startswith("whsec_")
    assert response.headers["Location"] == f"/v1/webhooks/{created['id']}"
    again = api.get(f"/v1/webhooks/{created['id']}")
    assert "secret" not in again.json
    assert again.json["headers"] == {"X-Automation-Webhook-Token": "[redacted]"}
    assert "s3cr3t" not in again.get_data(as_text=True)
    listed = api.get("/v1/webhooks").json["items"]
    assert [e["id"] for e in listed] == [created["id"]]
    assert "s3cr3t" not in str(listed) and created["secret"] not in str(listed)
    events = api.get("/v1/events?type=webhook.endpoint.created").json["items"]
    assert created["secret"] not in str(events) and "s3cr3t" not in str(events)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://93.184.216.34/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://127.0.0.1:9000/hook"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ({"url": "http://[::ffff:10.0.0.1]/hook"}, "url"),
        ({"url": "http://2130706433/hook"}, "url"),
        ({"url": "https://user:pw@93.184.216.34/hook"}, "url"),
        ({"event_types": ["nothing.matches"]}, "event_types.0"),
        ({"event_types": ["checklist.*", "*.created"]}, "event_types.1"),
        ({"event_types": []}, "event_types"),
        ({"project_id": "prj_nosuchproject"}, "project_id"),
        ({"headers": {"webhook-signature": "forged"}}, "headers"),
        ({"headers": {"Bad Header": "x"}}, "headers"),
        ({"headers": {"X-Token": "line\nbreak"}}, "headers"),
        ({"headers": {f"X-H{n}": "v" for n in range(11)}}, "headers"),
        ({"description": "d" * 501}, "description"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_bad_endpoint_settings_are_refused_naming_the_field(app, api, body, field):
    response = api.post("/v1/webhooks", json=_endpoint_body(**body))

    errors = assert_problem(response, 422)["errors"]
    assert any(name == field or name.startswith(field + ".") for name in flat_errors(errors)), (
        errors
    )
    assert api.get("/v1/webhooks").json["items"] == []


def test_all_problems_of_an_endpoint_are_reported_at_once(api):
    response = api.post(
        "/v1/webhooks",
        json={"url": "http://10.0.0.7/hook", "event_types": ["nope"], "project_id": "prj_x"},
    )

    errors = flat_errors(assert_problem(response, 422)["errors"])
    assert {"url", "event_types.0", "project_id"} <= errors


def test_url_and_event_types_are_required(api):
    errors = flat_errors(assert_problem(api.post("/v1/webhooks", json={}), 422)["errors"])

    assert {"url", "event_types"} <= errors


# Hosts that are not host names, each refused before any DNS lookup: `xn--` labels that are
# not valid IDNA 2008 (these were a 500), empty and over-long labels, and Unicode that IDNA
# 2008 does not allow.
HOSTILE_HOSTS = [
    "xn--localhost:8249",
    "xn--a",
    "XN--A",
    "b.xn--zz",
    "xn--bcher-kva.xn--a",
    "xn--ls8h.example",  # decodes to an emoji, not allowed by IDNA 2008
    "xn--ab--c.example",
    "xn--",
    "a..example",
    ".example",
    "example..",
    "a" * 64 + ".example",
    ".".join(["a" * 63] * 4) + ".example",  # over 253 characters
    "\u2603.example",  # a snowman
    "a\u200d.example",  # a joiner outside its context
    "\u0640.example",
    "\uff58n--a",  # a full-width x
]


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
def test_a_url_whose_host_is_not_a_host_name_is_refused_naming_url(app, api, host):
    endpoint = create_endpoint(api)
    url = f"http://{host}/h"

    created = api.post("/v1/webhooks", json=_endpoint_body(url=url))
    changed = api.patch(f"/v1/webhooks/{endpoint['id']}", json={"url": url})

    for response in (created, changed):
        errors = assert_problem(response, 422)["errors"]
        assert list(errors) == ["url"], errors
        assert "resolve" not in errors["url"][0]  # refused as a name, with no DNS lookup
    assert [e["url"] for e in api.get("/v1/webhooks").json["items"]] == [PUBLIC_URL]


def test_endpoints_need_the_admin_scope_to_change_and_belong_to_one_team(make_api, api, other_api):
    writer = make_api(scopes=("read", "write"))
    assert_problem(writer.post("/v1/webhooks", json=_endpoint_body()), 403)
    ours = create_endpoint(api)

    assert writer.get(f"/v1/webhooks/{ours['id']}").status_code == 200
    assert_problem(other_api.get(f"/v1/webhooks/{ours['id']}"), 404)
    assert_problem(other_api.delete(f"/v1/webhooks/{ours['id']}"), 404)
    assert other_api.get("/v1/webhooks").json["items"] == []


def test_a_project_of_another_team_cannot_be_the_filter(api, other_api):
    theirs = create_project(other_api)

    response = api.post("/v1/webhooks", json=_endpoint_body(project_id=theirs["id"]))

    assert "project_id" in assert_problem(response, 422)["errors"]


def test_patch_changes_an_endpoint_under_if_match_and_delete_removes_it(api):
    endpoint = create_endpoint(api)
    etag = api.get(f"/v1/webhooks/{endpoint['id']}").headers["ETag"]

    changed = api.patch(
        f"/v1/webhooks/{endpoint['id']}",
        json={"event_types": ["checklist.item.*"], "enabled": False},
        headers={"If-Match": etag},
    )
    stale = api.patch(
        f"/v1/webhooks/{endpoint['id']}", json={"enabled": True}, headers={"If-Match": etag}
    )

    assert changed.status_code == 200
    assert changed.json["event_types"] == ["checklist.item.*"]
    assert changed.json["enabled"] is False
    assert changed.json["disabled_reason"]
    assert_problem(stale, 412)
    resumed = api.patch(f"/v1/webhooks/{endpoint['id']}", json={"enabled": True}).json
    assert resumed["enabled"] is True and resumed["disabled_reason"] is None
    assert api.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 204
    assert_problem(api.get(f"/v1/webhooks/{endpoint['id']}"), 404)


# --------------------------------------------------------------------------- the outbox


def test_an_event_becomes_a_delivery_in_the_transaction_of_its_change(app, api):
    create_endpoint(api, event_types=["person.*"])
    create_endpoint(api, event_types=["checklist.*"])

    create_person(api)
    failed = api.post("/v1/people", json={"name": "No email"})

    assert_problem(failed, 422)
    with app.app_context():
        rows = db.session.execute(select(WebhookDelivery.event_type)).scalars().all()
    assert rows == ["person.created"]


def test_a_project_filter_narrows_and_a_paused_endpoint_keeps_what_it_missed(app, api):
    wanted = create_project(api)
    other = create_project(api)
    filtered = create_endpoint(api, event_types=["project.*"], project_id=wanted["id"])
    paused = create_endpoint(api, event_types=["project.*"])
    api.patch(f"/v1/webhooks/{paused['id']}", json={"enabled": False})

    api.patch(f"/v1/projects/{wanted['id']}", json={"description": "changed"})
    api.patch(f"/v1/projects/{other['id']}", json={"description": "changed"})

    with app.app_context():
        rows = db.session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.status, WebhookDelivery.body)
            .where(WebhookDelivery.event_type == "project.updated")
            .order_by(WebhookDelivery.created_at)
        ).all()
    sent = [r for r in rows if r.endpoint_id == filtered["id"]]
    assert [(r.status, wanted["id"] in r.body) for r in sent] == [("pending", True)]
    # Nothing is sent to a paused endpoint; what it missed waits, dead, for `recover`.
    assert [r.status for r in rows if r.endpoint_id == paused["id"]] == ["dead", "dead"]
    api.patch(f"/v1/webhooks/{paused['id']}", json={"enabled": True})
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    recovered = api.post(f"/v1/webhooks/{paused['id']}/recover", json={"since": since})
    assert recovered.json == {"queued": 2}


# --------------------------------------------------------------------------- delivering


class Receiver:
    """A real HTTP server on loopback that records what it is sent and answers `status`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                body = b"" if receiver.status == 204 else b"ok"  # a 204 has no body
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


LocalApi = tuple[Flask, Any, Callable[[], int]]


@pytest.fixture
def local_api(app: Flask, api: Any) -> Iterator[LocalApi]:
    """The service with private targets allowed (as in development), on the same database,
    with the team's API client, and a function that runs one worker round. Retries come at
    once: a round makes every attempt of the (0, 0) schedule."""
    yield from _local_api(app, api, (0, 0))


@pytest.fixture
def patient_api(app: Flask, api: Any) -> Iterator[LocalApi]:
    """`local_api` whose failed deliveries wait an hour for their next attempt."""
    yield from _local_api(app, api, (3600, 3600))


def _local_api(app: Flask, api: Any, schedule: tuple[int, ...]) -> Iterator[LocalApi]:
    settings = dataclasses.replace(
        app.config["SETTINGS"],
        webhook_allow_private_targets=True,
        webhook_retry_schedule=schedule,
    )
    local = create_app(settings, {"TESTING": True})
    client = type(api)(local.test_client(), api.token, api.team_id)

    def deliver() -> int:
        with local.app_context():
            worker = DeliveryWorker(db.session, settings)
            try:
                return worker.run_once()
            finally:
                worker.close()

    yield local, client, deliver
    with local.app_context():
        db.engine.dispose()


def test_a_delivery_is_signed_and_verifies_with_the_reference_library(local_api, receiver):
    _, client, deliver = local_api
    endpoint = client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "event_types": ["person.*"], "headers": {"X-Token": "t"}},
    ).json

    person = create_person(client, name="Ada Lovelace")
    assert deliver() == 1

    ((headers, body),) = receiver.requests
    message = Webhook(endpoint["secret"]).verify(body, headers)
    assert message["type"] == "person.created"
    assert message["data"]["person"]["id"] == person["id"]
    assert headers["X-Token"] == "t"
    assert headers["User-Agent"].startswith("staffing-checklist-webhooks/")
    log = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json["items"]
    assert log[0]["status"] == "succeeded"
    assert log[0]["message_id"] == headers["webhook-id"]
    assert log[0]["attempt_log"][0]["status_code"] == 204


def test_failures_are_logged_retried_with_the_same_id_and_end_dead(local_api, receiver):
    _, client, deliver = local_api
    endpoint = client.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": ["person.*"]}
    ).json
    receiver.status = 503
    create_person(client)

    deliver()  # the first attempt and both retries of the (0, 0) schedule

    ids = {headers["webhook-id"] for headers, _ in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1
    (dead,) = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries?status=dead").json["items"]
    assert dead["attempts"] == 3
    assert [a["status_code"] for a in dead["attempt_log"]] == [503, 503, 503]
    assert dead["last_error"] == "HTTP 503"
    assert dead["attempt_log"][0]["response_excerpt"] == "ok"

    receiver.status = 200
    retried = client.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{dead['id']}/retry")
    assert retried.status_code == 202
    deliver()
    assert receiver.requests[-1][0]["webhook-id"] == dead["message_id"]
    final = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries/{dead['id']}").json
    assert final["status"] == "succeeded" and final["attempts"] == 4


def test_recover_resends_what_failed_in_a_time_range(local_api, receiver):
    _, client, deliver = local_api
    endpoint = client.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": ["person.*"]}
    ).json
    receiver.status = 500
    create_person(client)
    create_person(client)
    deliver()
    receiver.status = 204
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()

    queued = client.post(f"/v1/webhooks/{endpoint['id']}/recover", json={"since": since})
    deliver()

    assert queued.status_code == 202 and queued.json == {"queued": 2}
    log = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json["items"]
    assert {d["status"] for d in log} == {"succeeded"}
    empty = client.post(
        f"/v1/webhooks/{endpoint['id']}/recover", json={"since": since, "until": since}
    )
    assert "until" in assert_problem(empty, 422)["errors"]


def test_recover_brings_forward_what_waits_for_a_retry_and_each_attempt_is_logged(
    patient_api, receiver, caplog
):
    _, client, deliver = patient_api
    endpoint = client.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": ["person.*"]}
    ).json
    receiver.status = 503
    create_person(client)
    deliver()
    since = datetime.now(UTC).isoformat()
    create_person(client)
    caplog.clear()
    with caplog.at_level("INFO", logger="app.workers.delivery"):
        deliver()
    waiting = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries?status=retrying").json
    assert len(waiting["items"]) == 2  # both wait an hour for their second attempt
    # One line for the attempt, saying which delivery, where, and what became of it.
    (line,) = [r for r in caplog.records if r.name == "app.workers.delivery"]
    assert line.delivery_id in {d["id"] for d in waiting["items"]}
    assert line.status_code == 503 and line.outcome == "retrying"
    assert "HTTP 503" in line.getMessage() and "retrying" in line.getMessage()

    receiver.status = 204
    queued = client.post(f"/v1/webhooks/{endpoint['id']}/recover", json={"since": since})
    assert queued.status_code == 202 and queued.json == {"queued": 1}
    assert deliver() == 1

    # Newest first: the delivery of the range was sent again and succeeded; what came before
    # the range still waits for its own next attempt.
    during, before = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json["items"]
    assert (during["status"], during["attempts"]) == ("succeeded", 2)
    assert (before["status"], before["attempts"]) == ("retrying", 1)
    assert [headers["webhook-id"] for headers, _ in receiver.requests][-1] == during["message_id"]


def test_a_410_disables_the_endpoint_and_says_why(local_api, receiver):
    _, client, deliver = local_api
    endpoint = client.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": ["person.*"]}
    ).json
    receiver.status = 410
    create_person(client)

    deliver()

    now = client.get(f"/v1/webhooks/{endpoint['id']}").json
    assert now["enabled"] is False and "410" in now["disabled_reason"]
    (event,) = client.get("/v1/events?type=webhook.endpoint.disabled").json["items"]
    assert event["payload"]["endpoint"]["id"] == endpoint["id"]
    assert len(receiver.requests) == 1
    assert_problem(client.post(f"/v1/webhooks/{endpoint['id']}/ping"), 409)


def test_after_a_rotation_both_secrets_verify_until_the_grace_period_ends(local_api, receiver):
    _, client, deliver = local_api
    endpoint = client.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": ["person.*"]}
    ).json

    rotated = client.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret")
    create_person(client)
    deliver()

    assert rotated.status_code == 200
    new_secret = rotated.json["secret"]
    assert new_secret != endpoint["secret"]
    ((headers, body),) = receiver.requests
    assert len(headers["webhook-signature"].split()) == 2
    Webhook(endpoint["secret"]).verify(body, headers)
    Webhook(new_secret).verify(body, headers)


def test_a_ping_reaches_only_its_endpoint(local_api, receiver):
    local, client, deliver = local_api
    endpoint = client.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["*"]}).json
    other = client.post(
        "/v1/webhooks", json={"url": receiver.url + "/other", "event_types": ["*"]}
    ).json
    before = _deliveries(local)

    ping = client.post(f"/v1/webhooks/{endpoint['id']}/ping")

    assert ping.status_code == 202
    assert ping.headers["Location"] == f"/v1/webhooks/{endpoint['id']}/deliveries/{ping.json['id']}"
    assert _deliveries(local) == before + 1
    deliver()
    pinged = [
        Webhook(endpoint["secret"]).verify(b, h)
        for h, b in receiver.requests
        if h["webhook-id"] == ping.json["message_id"]
    ]
    assert [m["type"] for m in pinged] == ["webhook.ping"]
    assert (
        client.get(f"/v1/webhooks/{other['id']}/deliveries?event_type=webhook.ping").json["items"]
        == []
    )


def test_an_endpoint_saved_while_private_targets_were_allowed_is_refused_at_delivery(
    app, local_api, receiver
):
    """The check runs again at each attempt, against the address the name resolves to now."""
    _, client, _ = local_api
    endpoint = client.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": ["person.*"]}
    ).json
    create_person(client)

    with app.app_context():  # the service with its default: private targets refused
        worker = DeliveryWorker(db.session, app.config["SETTINGS"])
        try:
            worker.run_once()
        finally:
            worker.close()

    assert receiver.requests == []
    (delivery,) = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json["items"]
    assert "refused" in delivery["last_error"] and "loopback" in delivery["last_error"]


def test_an_endpoint_that_keeps_failing_is_disabled_with_its_reason(app, api, receiver):
    """`WEBHOOK_DISABLE_AFTER_SECONDS` of failures without a success disables an endpoint."""
    settings = dataclasses.replace(
        app.config["SETTINGS"],
        webhook_allow_private_targets=True,
        webhook_retry_schedule=(0,),
        webhook_disable_after_seconds=0,
    )
    local = create_app(settings, {"TESTING": True})
    client = type(api)(local.test_client(), api.token, api.team_id)
    endpoint = client.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": ["person.*"]}
    ).json
    receiver.status = 500
    create_person(client)
    create_person(client)
    with local.app_context():
        worker = DeliveryWorker(db.session, settings)
        try:
            worker.run_once()
        finally:
            worker.close()
        db.engine.dispose()

    now = api.get(f"/v1/webhooks/{endpoint['id']}").json
    assert now["enabled"] is False
    assert now["disabled_reason"].startswith("Every delivery has failed since")
    (event,) = api.get("/v1/events?type=webhook.endpoint.disabled").json["items"]
    assert event["payload"]["reason"] == now["disabled_reason"]
    log = api.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json["items"]
    assert {d["status"] for d in log} == {"dead"}
