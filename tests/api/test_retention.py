"""Retention: `flask prune` deletes the finished webhook deliveries (with their attempts) and
the inbound deliveries older than their retention, and events only when the operator sets
theirs; what is still due, or recent, stays. /metrics shows each table's backlog."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta

import pytest
from factories import create_person
from sqlalchemy import func, select, update
from ticketing_support import (
    create_integration,
    encode,
    github_headers,
    github_ping,
    post_delivery,
)

from app.config import Settings
from app.extensions import db
from app.models import (
    Event,
    InboundDelivery,
    WebhookAttempt,
    WebhookDelivery,
    utcnow,
)

HOOK = "https://93.184.216.34/hooks/audit"  # a literal public address: no DNS


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _age(model, ids, days: int) -> None:
    """Make these rows `days` old (their events too, for deliveries)."""
    db.session.execute(
        update(model).where(model.id.in_(ids)).values(created_at=utcnow() - timedelta(days=days))
    )


@pytest.fixture
def history(app, api):
    """Six events (people added), each delivered to one endpoint; two GitHub pings in."""
    api.post("/v1/webhooks", json={"url": HOOK, "event_types": ["person.*"]})
    for _ in range(6):
        create_person(api)
    integration = create_integration(api, "github")
    for _ in range(2):
        body = encode(github_ping())
        answer = post_delivery(
            api.client, integration, body, github_headers(integration["secret"], body, "ping")
        )
        assert answer.status_code == 200, answer.json
    with app.app_context():
        deliveries = db.session.scalars(
            select(WebhookDelivery).order_by(WebhookDelivery.created_at)
        ).all()
        assert len(deliveries) == 6
        old_ok, old_dead, old_due, new_ok, old_event_due, old_event_done = deliveries
        statuses = {
            old_ok.id: "succeeded",
            old_dead.id: "dead",
            old_due.id: "retrying",
            new_ok.id: "succeeded",
            old_event_due.id: "pending",
            old_event_done.id: "succeeded",
        }
        for delivery_id, status in statuses.items():
            db.session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .values(status=status)
            )
            db.session.add(WebhookAttempt(delivery_id=delivery_id, latency_ms=12, status_code=200))
        _age(WebhookDelivery, [old_ok.id, old_dead.id, old_due.id], 31)
        _age(WebhookDelivery, [old_event_due.id, old_event_done.id], 31)
        _age(Event, [old_event_due.event_id, old_event_done.event_id], 400)
        inbound = db.session.scalars(select(InboundDelivery.id).order_by(InboundDelivery.id))
        _age(InboundDelivery, [next(iter(inbound))], 31)
        db.session.commit()
        return {
            "pruned": {old_ok.id, old_dead.id, old_event_done.id},
            "kept": {old_due.id, new_ok.id, old_event_due.id},
            "old_event_done": old_event_done.event_id,
            "old_event_due": old_event_due.event_id,
        }


def _backlog(client) -> dict[str, float]:
    text = client.get("/metrics").get_data(as_text=True)
    return {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("retention_backlog_rows{")
    }


def test_prune_deletes_what_is_finished_and_old_and_keeps_events(app, app_with, history):
    before = _backlog(app_with().test_client())

    result = app.test_cli_runner().invoke(args=["prune"])

    assert result.exit_code == 0, result.output
    assert "webhook_deliveries: 3 pruned" in result.output
    assert "inbound_deliveries: 1 pruned" in result.output
    assert "events" not in result.output  # kept forever unless EVENT_RETENTION_DAYS is set
    with app.app_context():
        left = set(db.session.scalars(select(WebhookDelivery.id)))
        assert left == history["kept"]
        assert _count(WebhookAttempt) == 3
        assert _count(InboundDelivery) == 1
        assert _count(Event) >= 6
    assert before == {"webhook_deliveries": 3, "inbound_deliveries": 1, "events": 0}
    assert _backlog(app_with().test_client()) == {
        "webhook_deliveries": 0,
        "inbound_deliveries": 0,
        "events": 0,
    }
    # Again: nothing left to prune.
    again = app.test_cli_runner().invoke(args=["prune"])
    assert "webhook_deliveries: 0 pruned" in again.output


def test_events_go_only_with_a_retention_and_never_while_a_delivery_is_due(app, app_with, history):
    kept_forever = app_with(event_retention_days=None)
    limited = app_with(event_retention_days=365)
    assert _backlog(kept_forever.test_client())["events"] == 0
    assert _backlog(limited.test_client())["events"] == 1

    result = limited.test_cli_runner().invoke(args=["prune", "--batch", "1"])

    assert result.exit_code == 0, result.output
    assert "events: 1 pruned" in result.output
    with app.app_context():
        assert db.session.get(Event, history["old_event_done"]) is None
        assert db.session.get(Event, history["old_event_due"]) is not None
        assert set(db.session.scalars(select(WebhookDelivery.id))) == history["kept"]


def test_the_worker_prunes_in_its_rounds(app, history):
    from app.workers.delivery import DeliveryWorker

    with app.app_context():
        worker = DeliveryWorker(db.session, app.config["SETTINGS"])
        try:
            pruned = worker.prune()
        finally:
            worker.close()
    assert pruned.caught_up
    assert pruned.rows == {"webhook_deliveries": 3, "inbound_deliveries": 1}


def test_a_pruning_out_of_time_has_taken_a_batch_of_every_table(app, history, monkeypatch):
    """The tables take turns: a worker's few seconds never all go to one long backlog while
    another table waits. The clock is a counter: the budget ends after two batches."""
    from app.workers import pruning

    ticks = itertools.count()
    monkeypatch.setattr(pruning, "monotonic", lambda: next(ticks))
    with app.app_context():
        pruned = pruning.prune(
            db.session,
            app.config["SETTINGS"],
            pace=pruning.Pace(batch=1, pause_seconds=0),
            budget_seconds=2.5,
        )
    assert not pruned.caught_up
    assert pruned.rows == {"webhook_deliveries": 1, "inbound_deliveries": 1}


@pytest.mark.parametrize("raw", ["0", "-3", "thirty"])
def test_a_retention_is_a_positive_number_of_days(monkeypatch, raw):
    monkeypatch.setenv("EVENT_RETENTION_DAYS", raw)
    with pytest.raises(RuntimeError, match="EVENT_RETENTION_DAYS"):
        Settings.from_env()


def test_the_retentions_default_to_thirty_days_and_events_forever(monkeypatch):
    for name in (
        "WEBHOOK_DELIVERY_RETENTION_DAYS",
        "INBOUND_DELIVERY_RETENTION_DAYS",
        "EVENT_RETENTION_DAYS",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert (
        settings.webhook_delivery_retention_days,
        settings.inbound_delivery_retention_days,
        settings.event_retention_days,
    ) == (30, 30, None)
    monkeypatch.setenv("EVENT_RETENTION_DAYS", "730")
    assert dataclasses.replace(Settings.from_env()).event_retention_days == 730
