"""The running worker prunes: deliveries sent by the real worker to a real receiver, a month
old, are gone once a worker process has started, and what is still due is delivered, not
pruned."""

from __future__ import annotations

from .receiver import Reply
from .support import wait_until


def test_a_running_worker_prunes_finished_deliveries_past_retention(database, receivers, workers):
    api = database.api()
    receiver = receivers("audit")
    endpoint = api.create_endpoint(receiver.route("/hooks", then=Reply(204)), ["person.*"])
    for _ in range(3):
        api.create_person()
    assert workers.once(database) == 3
    sent = {d["id"] for d in api.deliveries(endpoint["id"], status="succeeded")}
    assert len(sent) == 3
    # A month passes; one more person is added (due, and recent).
    database.execute("UPDATE webhook_deliveries SET created_at = :old", old=_days_ago(database, 31))
    api.create_person()

    worker = workers.start(database, WEBHOOK_DELIVERY_RETENTION_DAYS="30")
    worker.wait_started()

    def pruned_and_sent() -> list[dict] | None:
        rows = api.deliveries(endpoint["id"])
        if sent & {d["id"] for d in rows}:
            return None
        return [d for d in rows if d["status"] == "succeeded"]

    [recent] = wait_until(pruned_and_sent, "the old deliveries pruned and the recent one sent")
    worker.stop()
    assert "Traceback" not in worker.log(), worker.log()

    assert recent["id"] not in sent
    assert [d["id"] for d in api.deliveries(endpoint["id"])] == [recent["id"]]
    assert database.scalar("SELECT count(*) FROM webhook_attempts") == 1
    assert len(receiver.received("/hooks")) == 4


def _days_ago(database, days: int):
    from datetime import timedelta

    from app.models import utcnow

    moment = utcnow() - timedelta(days=days)
    # SQLite keeps UTC timestamps naive (`UTCDateTime`); PostgreSQL keeps them aware.
    return moment.replace(tzinfo=None) if database.backend == "sqlite" else moment
