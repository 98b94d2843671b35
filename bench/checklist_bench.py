"""Benchmark: checklist generation, rendering, dumping and stored reads for 5 to 500 assignments.

Run from the repository root: `.venv/bin/python bench/checklist_bench.py [--database-url URL]`.
Prints a table of median timings and the cost per item, and the dump of a checklist document
through marshmallow and through the dumper compiled from the same schema. The stored part runs
on a throwaway SQLite file unless a database URL is given (it must be empty: the schema is
migrated into it).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable

from flask.testing import FlaskClient
from flask_migrate import upgrade

from app import create_app
from app.config import Settings
from app.extensions import db
from app.render import render
from app.schemas.checklists import ChecklistOut
from app.services.catalog.model import Catalog
from app.services.catalog.store import seed_catalog
from app.services.checklists.documents import dump_checklist
from app.services.checklists.generator import (
    Member,
    ProjectFacts,
    StaffingEntry,
    generate_checklist,
)
from app.services.checklists.preview import checklist_preview
from app.services.context import Context
from app.services.directory import teams
from app.services.migrations import MIGRATIONS_DIR
from seed.loader import load_catalog

SIZES = (5, 50, 200, 500)
TRAITS = frozenset({"handles_personal_data", "user_facing", "generates_public_content"})


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def best_us(fn: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` runs, in µs: the cost without the noise of a shared machine."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return min(samples) * 1e6


def staffing(size: int) -> list[StaffingEntry]:
    """`size` assignments: people spread over the roles, each holding one or two roles."""
    roles = load_catalog().role_keys
    entries = []
    for i in range(size):
        person = Member(f"per_{i // 2:05d}", f"Person {i // 2}", f"p{i // 2}@example.com")
        entries.append(StaffingEntry(person, roles[i % len(roles)], 20, i % 7 == 0))
    return entries


PROJECT = {
    "name": "Bench",
    "application": "healthcare-solutions",
    "traits": dict.fromkeys(TRAITS, True),
}


def assignments_of(entries: list[StaffingEntry]) -> list[dict]:
    """The staffing PUT's body for these entries."""
    return [
        {
            "role": e.role_key,
            "person": {"name": e.member.name, "email": e.member.email},
            "allocation": e.allocation,
            "lead": e.lead,
        }
        for e in entries
    ]


def preview(catalog: Catalog, entries: list[StaffingEntry]) -> dict:
    return checklist_preview(catalog, PROJECT, entries, Settings.from_env())


def pure_row(catalog: Catalog, size: int, repeat: int) -> str:
    facts = ProjectFacts("healthcare-solutions", TRAITS)
    entries = staffing(size)
    items = generate_checklist(catalog, facts, entries)
    doc = preview(catalog, entries)
    gen = median_ms(lambda: generate_checklist(catalog, facts, entries), repeat)
    rendered = {
        fmt: median_ms(lambda: render(doc, fmt), repeat)  # noqa: B023 - measured at once
        for fmt in ("markdown", "csv", "text", "json")
    }
    per_item = (gen + rendered["markdown"]) * 1000 / len(items)
    peak = peak_kib(lambda: render(preview(catalog, entries), "markdown"))
    return (
        f"{size:>11} {len(items):>6} {gen:>9.2f} {rendered['markdown']:>9.2f} "
        f"{rendered['csv']:>7.2f} {rendered['text']:>7.2f} {rendered['json']:>7.2f} "
        f"{per_item:>8.1f} {peak:>9.0f}"
    )


def dump_row(catalog: Catalog, size: int, repeat: int) -> str:
    """The preview's document (what `POST /v1/checklists/preview` dumps) dumped by `ChecklistOut`
    and by the dumper compiled from it, which must give the same JSON."""
    doc = preview(catalog, staffing(size))
    schema = ChecklistOut()
    assert dump_checklist(doc) == schema.dump(doc)
    slow = best_us(lambda: schema.dump(doc), repeat)
    fast = best_us(lambda: dump_checklist(doc), repeat)
    owners = sum(len(item["owners"]) for item in doc["items"])
    return (
        f"{size:>11} {len(doc['items']):>6} {owners:>7} {slow:>12.0f} {fast:>9.0f} "
        f"{slow / fast:>8.1f}"
    )


def peak_kib(fn: Callable[[], object]) -> float:
    """Peak memory allocated while `fn` runs, in KiB."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


def stored_row(client: FlaskClient, auth: dict[str, str], size: int, repeat: int) -> str:
    slug = f"bench-{size}"
    project = {
        "name": slug,
        "application": "healthcare-solutions",
        "traits": dict.fromkeys(TRAITS, True),
    }
    client.post("/v1/projects", headers=auth, json=project)
    client.post(f"/v1/projects/{slug}/checklist", headers=auth)
    full = {"assignments": assignments_of(staffing(size))}
    bodies = itertools.cycle([full, {"assignments": full["assignments"][:-1]}])

    def replace() -> None:
        response = client.put(f"/v1/projects/{slug}/assignments", headers=auth, json=next(bodies))
        assert response.status_code == 200, response.get_json()

    path = f"/v1/projects/{slug}/checklist?format=markdown"
    misses = itertools.count()
    statuses = itertools.cycle(["done", "open"])
    item = f"/v1/projects/{slug}/checklist/items/data-scientist.collect-and-preprocess-data"
    regen = median_ms(replace, max(3, repeat // 4))
    # A filter value never asked before is a cache miss: the cost of a cold read.
    read_cold = median_ms(
        lambda: client.get(f"{path}&person_id=none-{next(misses)}", headers=auth), repeat
    )
    etag = client.get(path, headers=auth).headers["ETag"]
    read_cached = median_ms(lambda: client.get(path, headers=auth), repeat)
    not_modified = median_ms(
        lambda: client.get(path, headers={**auth, "If-None-Match": etag}), repeat
    )
    mark = median_ms(
        lambda: client.patch(item, headers=auth, json={"status": next(statuses)}), repeat
    )
    items = client.get(f"/v1/projects/{slug}/checklist", headers=auth).get_json()["summary"]
    return (
        f"{size:>11} {items['total']:>6} {regen:>13.1f} {read_cold:>10.1f} "
        f"{read_cached:>11.2f} {not_modified:>6.2f} {mark:>10.1f}"
    )


def stored_client(database_url: str) -> tuple[FlaskClient, dict[str, str]]:
    settings = dataclasses.replace(
        Settings.from_env(),
        database_url=database_url,
        log_level="WARNING",
        rate_limit="1000000 per minute",  # a benchmark is not a client to protect against
    )
    app = create_app(settings)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        seed_catalog(db.session, load_catalog())
        ctx = Context("cli", settings=settings)
        team = teams.create_team(db.session, ctx, "Bench team")
        _, token = teams.create_key(db.session, ctx, team, ["read", "write"], "bench")
        db.session.commit()
    return app.test_client(), {"Authorization": f"Bearer {token}"}


def run(database_url: str, repeat: int) -> None:
    catalog = load_catalog()
    print("pure generator and renderers (median ms; peak memory of a preview rendered as Markdown)")
    print(
        f"{'assignments':>11} {'items':>6} {'generate':>9} {'markdown':>9} {'csv':>7} "
        f"{'text':>7} {'json':>7} {'µs/item':>8} {'peak KiB':>9}"
    )
    for size in SIZES:
        print(pure_row(catalog, size, repeat))
    print(f"\nthe checklist document dumped (µs per document, best of {repeat})")
    print(
        f"{'assignments':>11} {'items':>6} {'owners':>7} {'marshmallow':>12} {'compiled':>9} "
        f"{'speed-up':>8}"
    )
    for size in SIZES:
        print(dump_row(catalog, size, repeat))
    client, auth = stored_client(database_url)
    print(f"\nstored checklists over HTTP on {database_url.split(':')[0]} (median ms)")
    print(
        f"{'assignments':>11} {'items':>6} {'replace+regen':>13} {'read cold':>10} "
        f"{'read cached':>11} {'304':>6} {'mark done':>10}"
    )
    for size in SIZES:
        print(stored_row(client, auth, size, repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if args.database_url:
        run(args.database_url, args.repeat)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.db", args.repeat)


if __name__ == "__main__":
    main()
