"""A year of a busy team, measured: do the reads and the worker stay as fast as on a fresh
database once the events and the delivery log have grown?

    .venv/bin/python bench/growth_bench.py [--database sqlite|postgresql|both] [--scale 1]
        [--repeat 30]

Per database: the server benchmark's dataset (`bench/make_dataset.py`: at `--scale 1`, 10,000
projects) with a month of the benchmark team's history (a twelfth of a year's, at least 10,000
events: every list measured fills its page), each measured operation on it ("fresh"), then
the eleven months before it added in bulk, so that the team has a year of history (at `--scale
1`: 1,000,000 events over 365 days, a delivery of each to one of 20 webhook endpoints,
5,000,000 delivery attempts), `ANALYZE`, and the same operations again ("a year"). It prints
each operation's median in milliseconds on both, and the ratio; on PostgreSQL also the
database's own time (`EXPLAIN ANALYZE`), which the verdict against the issue's bound (1.5x)
judges there, the end-to-end time moving with whatever else the machine runs. Then what
pruning the year's oldest day (its events, deliveries and attempts) takes, at the worker's
own pace.

The operations, in-process through the Flask test client and the worker's own claim:
- the activity feed's first page, all types and one rare type; a project's feed;
- an endpoint's delivery log, all and `status=dead`;
- a checklist read (JSON);
- the worker's claim: with nothing due (what a worker does most often), and with due work.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_dataset import (  # noqa: E402
    Dataset,
    Sizes,
    Writer,
    create_database,
    drop_database,
    fast_id,
    make_dataset,
)
from sqlalchemy import event, select, text, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Settings, normalize_database_url  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import (  # noqa: E402
    Event,
    Project,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.workers.delivery import DeliveryWorker  # noqa: E402
from app.workers.pruning import prune  # noqa: E402

BOUND = 1.5
YEAR_EVENTS = 1_000_000
YEAR_ATTEMPTS = 5_000_000
ENDPOINTS = 20
BATCH = 20_000
# Event types as a busy team's feed has them: mostly item changes.
TYPES = (
    ["checklist.item.status_changed"] * 50
    + ["checklist.item.updated"] * 30
    + ["checklist.generated"] * 10
    + ["staffing.replaced"] * 8
    + ["release.shipped"] * 2
)
RARE_TYPE = "release.shipped"


def _app(url: str) -> Any:
    settings = dataclasses.replace(
        Settings.from_env(),
        database_url=normalize_database_url(url),
        log_level="WARNING",
        rate_limit="1000000000 per minute",
    )
    return create_app(settings, {"TESTING": True})


def add_history(
    app: Any,
    dataset: Dataset,
    events_n: int,
    log: Callable[[str], None],
    *,
    days: int,
    seed: int,
    before_days: int = 0,
) -> dict:
    """`days` of the benchmark team's history ending `before_days` ago: its endpoints,
    `events_n` events, a delivery of each, and their attempts (five an event on average, as
    a year of the issue's has). A tenth of the events are of one busy project (the first
    template), so that its feed fills a page on a young database too."""
    rng = random.Random(seed)
    attempts_n = events_n * YEAR_ATTEMPTS // YEAR_EVENTS
    now = datetime.now(UTC)
    started = time.perf_counter()
    with app.app_context():
        session: Session = db.session
        projects = list(
            session.scalars(select(Project.id).where(Project.team_id == dataset.team_id))
        )
        writer = Writer(session)
        endpoints = _endpoints(session, dataset.team_id, rng, now)
        event_columns = ["id", "team_id", "project_id", "type", "actor", "payload", "created_at"]
        delivery_columns = [
            "id", "team_id", "endpoint_id", "event_id", "message_id", "event_type", "body",
            "status", "attempts", "next_attempt_at", "created_at", "updated_at", "succeeded_at",
        ]  # fmt: skip
        attempt_columns = ["id", "delivery_id", "attempted_at", "status_code", "latency_ms"]
        per_delivery = attempts_n / events_n
        written_attempts = 0
        for start in range(0, events_n, BATCH):
            events, deliveries, attempts = [], [], []
            for i in range(start, min(events_n, start + BATCH)):
                at = now - timedelta(days=before_days, seconds=days * 86400 * (1 - i / events_n))
                event_id, delivery_id = fast_id("evt", rng), fast_id("dlv", rng)
                busy = rng.random() < 0.1
                project_id = dataset.template_project_ids[0] if busy else rng.choice(projects)
                type_ = rng.choice(TYPES)
                payload = {"project": {"id": project_id}, "item": {"key": f"k{i % 97}"}}
                events.append((event_id, dataset.team_id, project_id, type_, "api_key:x",
                               payload, at))  # fmt: skip
                dead = rng.random() < 0.03
                status = "dead" if dead else "succeeded"
                # Attempts per delivery: 1 mostly, more for the failing ones, `per_delivery`
                # on average.
                count = max(1, round(rng.expovariate(1 / per_delivery)))
                count = max(1, min(count, attempts_n - written_attempts))
                deliveries.append((
                    delivery_id, dataset.team_id, rng.choice(endpoints), event_id, event_id,
                    type_, json.dumps({"type": type_, "data": payload}), status, count, None,
                    at, at, None if dead else at,
                ))  # fmt: skip
                for n in range(count):
                    attempts.append((fast_id("att", rng), delivery_id,
                                     at + timedelta(seconds=n * 30), 500 if n < count - 1 else
                                     (410 if dead else 204), rng.randint(20, 400)))  # fmt: skip
                written_attempts += count
            writer.write(Event.__table__, event_columns, events)
            writer.write(WebhookDelivery.__table__, delivery_columns, deliveries)
            writer.write(WebhookAttempt.__table__, attempt_columns, attempts)
            session.commit()
            log(f"  {min(events_n, start + BATCH):,} events, {written_attempts:,} attempts")
    _analyze(app)
    return {
        "events": events_n,
        "deliveries": events_n,
        "attempts": written_attempts,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _endpoints(session: Session, team_id: str, rng: random.Random, now: datetime) -> list[str]:
    """The team's webhook endpoints: `ENDPOINTS` of them, made the first time."""
    existing = list(
        session.scalars(
            select(WebhookEndpoint.id)
            .where(WebhookEndpoint.team_id == team_id)
            .order_by(WebhookEndpoint.id)
        )
    )
    if existing:
        return existing
    for n in range(ENDPOINTS):
        session.add(
            WebhookEndpoint(
                id=fast_id("whk", rng),
                team_id=team_id,
                url=f"https://hooks.example.com/{n}",
                description="",
                event_types=["*"],
                headers={},
                secret=f"whsec_{n:040d}",
                enabled=True,
                created_at=now - timedelta(days=366),
                updated_at=now - timedelta(days=366),
                version=1,
            )
        )
    session.flush()
    return _endpoints(session, team_id, rng, now)


def _analyze(app: Any) -> None:
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE")
            )
        else:
            connection.execute(text("ANALYZE"))
            connection.commit()


def operations(app: Any, dataset: Dataset) -> dict[str, Callable[[], None]]:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {dataset.token}"}
    project = dataset.template_project_ids[0]

    def get(path: str) -> Callable[[], None]:
        def run() -> None:
            answer = client.get(path, headers=headers)
            assert answer.status_code == 200, (path, answer.get_data(as_text=True)[:300])

        return run

    with app.app_context():
        endpoint = db.session.scalar(
            select(WebhookEndpoint.id)
            .where(WebhookEndpoint.team_id == dataset.team_id)
            .order_by(WebhookEndpoint.id)
            .limit(1)
        )
    ops = {
        "events, first page": get("/v1/events?limit=50"),
        f"events of a rare type ({RARE_TYPE})": get(f"/v1/events?limit=50&type={RARE_TYPE}"),
        "a project's events": get(f"/v1/projects/{project}/events?limit=50"),
        "checklist JSON": get(f"/v1/projects/{project}/checklist"),
    }
    if endpoint is not None:
        ops["an endpoint's deliveries"] = get(f"/v1/webhooks/{endpoint}/deliveries?limit=50")
        ops["its dead deliveries"] = get(f"/v1/webhooks/{endpoint}/deliveries?limit=50&status=dead")
    return ops


class Claimer:
    """The worker's claim, as a running worker makes it: one worker, its session, its
    settings, made once; each run claims up to 50 and, when it got some, puts them back."""

    def __init__(self, app: Any, *, expect_some: bool) -> None:
        self.context = app.app_context()
        self.context.push()
        self.worker = DeliveryWorker(db.session, app.config["SETTINGS"])
        self.expect_some = expect_some

    def __call__(self) -> None:
        claimed = self.worker.claim(50)
        assert bool(claimed) == self.expect_some, claimed
        if claimed:  # put them back, due again, for the next run
            db.session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_([c.id for c in claimed]))
                .values(lease_until=None, leased_by=None)
            )
            db.session.commit()

    def close(self) -> None:
        self.worker.pool.shutdown(wait=False)
        db.session.remove()
        self.context.pop()


def _claims(app: Any, repeat: int, *, expect_some: bool) -> Cost:
    claimer = Claimer(app, expect_some=expect_some)
    try:
        return measure(app, {"claim": claimer}, repeat)["claim"]
    finally:
        claimer.close()


def _make_due(app: Any, team_id: str, n: int) -> None:
    """`n` deliveries waiting for a retry that is due (a worker has work)."""
    with app.app_context():
        ids = list(
            db.session.scalars(
                select(WebhookDelivery.id).where(WebhookDelivery.team_id == team_id).limit(n)
            )
        )
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .values(status="retrying", next_attempt_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()


# The statements EXPLAIN takes (a `SET LOCAL` of the worker's is not one).
EXPLAINABLE = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}


@dataclasses.dataclass(frozen=True)
class Cost:
    """An operation's median in milliseconds, end to end, and (on PostgreSQL) of the database
    alone: the execution times `EXPLAIN ANALYZE` gives its statements, which the machine's
    other work moves far less than it moves the Python around them."""

    ms: float
    database_ms: float | None


def measure(app: Any, ops: dict[str, Callable[[], None]], repeat: int) -> dict[str, Cost]:
    with app.app_context():
        engine = db.engine
    costs = {}
    for name, run in ops.items():
        for _ in range(3):
            run()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            run()
            times.append((time.perf_counter() - started) * 1000)
        database = _database_ms(engine, run, repeat) if engine.dialect.name != "sqlite" else None
        costs[name] = Cost(statistics.median(times), database)
    return costs


def _database_ms(engine: Any, run: Callable[[], None], repeat: int) -> float:
    """The median over `repeat` of the summed execution times PostgreSQL reports for the
    statements one `run` makes, each explained (and run) again in a transaction rolled back."""
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in EXPLAINABLE:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    sums = []
    with engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        for _ in range(repeat):
            total = 0.0
            for statement, parameters in statements:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
                total += cursor.fetchone()[0][0]["Execution Time"]
            connection.rollback()
            sums.append(total)
    return statistics.median(sums)


def bench(database: str, scale: float, repeat: int, log: Callable[[str], None]) -> list[tuple]:
    with _database(database) as url:
        log(f"{database}: the dataset at scale {scale}")
        dataset = make_dataset(url, Sizes.scaled(scale), log=lambda _: None)
        app = _app(url)
        # "Fresh": a month of history (every list measured fills its page), then a year more.
        month = max(10_000, round(YEAR_EVENTS * scale / 12))
        add_history(app, dataset, month, lambda _: None, days=30, seed=1)
        log(f"{database}: measuring a month (load average {_load()})")
        fresh = measure(app, operations(app, dataset), repeat)
        fresh["worker claim, nothing due"] = _claims(app, repeat, expect_some=False)
        _make_due(app, dataset.team_id, 200)
        fresh["worker claim, work due"] = _claims(app, repeat, expect_some=True)
        _reset_due(app)
        log(f"{database}: a year of history")
        # The eleven months before that month, written after it: the newest rows stay where
        # a database that grew in time order has them, together (not interleaved in time with
        # rows written later, which a real year never is).
        year_events = max(10_000, round(YEAR_EVENTS * scale)) - month
        year = add_history(app, dataset, year_events, log, days=335, before_days=30, seed=2)
        log(f"{database}: {year}")
        log(f"{database}: measuring a year (load average {_load()})")
        grown = measure(app, operations(app, dataset), repeat)
        grown["worker claim, nothing due"] = _claims(app, repeat, expect_some=False)
        _make_due(app, dataset.team_id, 200)
        grown["worker claim, work due"] = _claims(app, repeat, expect_some=True)
        _reset_due(app)
        log(f"{database}: {prune_a_day(app)}")
        with app.app_context():
            db.engine.dispose()
        return [(database, name, fresh[name], grown[name]) for name in fresh]


def _load() -> str:
    """The machine's 1, 5 and 15 minute load averages: how quiet it was while measuring."""
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def prune_a_day(app: Any) -> str:
    """Prune the oldest day of the grown year (retention of 364 days for deliveries and
    events), as the worker and `flask prune` do, at the database's own pace; what it took."""
    settings = dataclasses.replace(
        app.config["SETTINGS"],
        webhook_delivery_retention_days=364,
        event_retention_days=364,
    )
    with app.app_context():
        started = time.perf_counter()
        pruned = prune(db.session, settings)
        seconds = time.perf_counter() - started
    rows = pruned.total
    return (
        f"pruning a day of the year: {rows:,} rows ({pruned.rows}) "
        f"in {seconds:.1f} s, {rows / seconds:,.0f} rows/s"
    )


def _reset_due(app: Any) -> None:
    with app.app_context():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == "retrying")
            .values(status="succeeded", next_attempt_at=None)
        )
        db.session.commit()


@contextmanager
def _database(database: str) -> Iterator[str]:
    """An empty database of `database`'s kind for one run, gone afterwards."""
    if database == "sqlite":
        with tempfile.TemporaryDirectory(prefix="growth-") as tmp:
            yield f"sqlite:///{tmp}/growth.db"
        return
    url = f"postgresql://postgres@127.0.0.1:5432/growth_bench_{int(time.time())}"
    create_database(url, replace=True)
    try:
        yield url
    finally:
        drop_database(url)


def table(rows: list[tuple]) -> Iterator[str]:
    yield (
        "| database | operation | fresh (ms) | a year (ms) | ratio | database: fresh → a year"
        " (ms) | ratio | verdict |"
    )
    yield "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
    for database, name, fresh, grown in rows:
        ratio = _ratio(fresh.ms, grown.ms)
        if fresh.database_ms is None or grown.database_ms is None:
            inside, inside_ratio, judged = "", "", ratio
        else:
            inside_ratio = _ratio(fresh.database_ms, grown.database_ms)
            inside = f"{fresh.database_ms:.2f} → {grown.database_ms:.2f}"
            judged, inside_ratio = inside_ratio, f"{inside_ratio:.2f}"
        verdict = "PASS" if judged <= BOUND else f"FAIL (> {BOUND}x)"
        yield (
            f"| {database} | {name} | {fresh.ms:.2f} | {grown.ms:.2f} | {ratio:.2f} | {inside} "
            f"| {inside_ratio} | {verdict} |"
        )


def _ratio(fresh: float, grown: float) -> float:
    return grown / fresh if fresh else float("inf")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 10,000 projects, a year")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    rows = []
    for database in databases:
        rows += bench(database, args.scale, args.repeat, print)
    print()
    for line in table(rows):
        print(line)


if __name__ == "__main__":
    main()
