"""A realistic dataset for the server benchmark, loaded with bulk inserts.

Run from the repository root:

    .venv/bin/python bench/make_dataset.py \
        --database-url postgresql://postgres@127.0.0.1:5432/NAME \
        --create [--scale 1.0] [--manifest bench-dataset.json]

At `--scale 1` (the default): 100 teams, 10,000 projects, 50,000 people, 1,000,000 checklist items
and their owners, one read/write/admin API key per team. `--scale 0.01` makes a hundredth of it,
for a quick run. The database must be empty (`--create` creates it on the PostgreSQL server,
`--replace` drops it first); the schema is migrated and the catalog seeded as `flask db upgrade`
and `flask seed` do. SQLite URLs work too (plain `INSERT`s instead of `COPY`).

How it is made, so that the rows look like the service's own:

- One team, the benchmark's, holds `big_team_share` (92 %) of the projects, so that its project
  list has a page past 9,000 projects; the other teams share the rest. People are spread over
  teams in proportion to their projects (about five per project).
- A sample of projects ("templates", 24 at full scale) is made through the real services of the
  benchmark's team, in-process: project created, staffed by a `PUT` of the whole staffing, the
  checklist generated, then the staffing replaced a few more times (people leave and join, some
  hold several roles, some are over-allocated) until the checklist holds about
  `items / projects` items, current and obsolete, as a checklist with a history does.
- Every other project copies a template in bulk: application and traits, staffing (the
  template's people mapped onto people of its own team), checklist and items with new ids
  (`new_id`'s format: prefix and 25 base-36 characters), owners mapped the same way, and the
  people named in staffing findings (keys, titles, details) renamed to match. Item statuses are
  drawn: open, in progress, done (some with a ticket), waived (without an expiry).
- Rows go in by `COPY ... FROM STDIN` through psycopg on PostgreSQL (foreign keys checked as
  usual), batch by batch of projects, then `VACUUM ANALYZE`.

Nothing else is generated: no event history beyond the templates', no idempotency records, no
webhook endpoints (so writes enqueue no deliveries).

`make_dataset(url, sizes)` does the same from Python and returns the `Dataset` (tokens included)
that `bench/server_bench.py` uses; `--manifest` writes it as JSON for a later run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import JSON, Table, func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app import create_app  # noqa: E402
from app.config import Settings, normalize_database_url  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import (  # noqa: E402
    ApiKey,
    Assignment,
    Checklist,
    ChecklistItem,
    ChecklistItemOwner,
    Person,
    Project,
    Team,
)
from app.services.catalog.store import current_catalog, seed_catalog  # noqa: E402
from app.services.checklists import refresh as checklists  # noqa: E402
from app.services.context import Context  # noqa: E402
from app.services.directory import projects  # noqa: E402
from app.services.directory.teams import hash_token, new_token, slugify  # noqa: E402
from app.services.migrations import MIGRATIONS_DIR  # noqa: E402
from app.services.staffing import assignments as staffing  # noqa: E402
from seed.loader import load_catalog  # noqa: E402

BENCH_TEAM_SLUG = "bench"
TRAIT_SETS: tuple[dict[str, bool], ...] = (
    {"handles_personal_data": True, "user_facing": True},
    {},
    {"handles_personal_data": True, "user_facing": True, "generates_public_content": True},
    {"user_facing": True, "generates_public_content": True},
    {
        "handles_personal_data": True,
        "user_facing": True,
        "generates_public_content": True,
        "regulated_domain": True,
    },
    {"handles_personal_data": True, "regulated_domain": True},
)
FIRST = (  # noqa: SIM905 - a list of words
    "Ada Alan Grace Edsger Barbara Donald Frances Ken Margaret Dennis John Radia Leslie "
    "Tim Sophie Guido Katherine Linus Hedy Claude Annie Niklaus Mary Vint Jean Bjarne "
    "Shafi Whitfield"
).split()
LAST = (  # noqa: SIM905 - a list of words
    "Lovelace Turing Hopper Dijkstra Liskov Knuth Allen Thompson Hamilton Ritchie "
    "McCarthy Perlman Lamport Berners-Lee Wilson Rossum Johnson Torvalds Lamarr Shannon "
    "Easley Wirth Keller Cerf Sammet Stroustrup Goldwasser Diffie"
).split()
WORDS = (  # noqa: SIM905 - a list of words
    "Atlas Beacon Cedar Delta Ember Fjord Garnet Harbor Iris Juniper Kestrel Lumen "
    "Meridian Nimbus Orchid Prism Quartz Raven Sierra Tundra Umber Vesper Willow Xenon "
    "Yarrow Zephyr"
).split()
KINDS_OF_WORK = (  # noqa: SIM905 - a list of words
    "assistant copilot summarizer studio search tutor composer scribe lens"
).split()
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Sizes:
    teams: int = 100
    projects: int = 10_000
    people: int = 50_000
    items: int = 1_000_000
    # The share of the projects held by the benchmark's team (a page past 9,000 at full scale).
    big_team_share: float = 0.92
    templates: int = 24

    @classmethod
    def scaled(cls, scale: float) -> Sizes:
        full = cls()
        projects_ = max(20, round(full.projects * scale))
        return cls(
            teams=max(2, round(full.teams * scale)),
            projects=projects_,
            people=max(120, round(full.people * scale)),
            items=max(20 * 40, round(full.items * scale)),
            templates=max(4, min(full.templates, projects_ // 20)),
        )


@dataclass
class Dataset:
    """What was made, and what a benchmark needs to use it."""

    database_url: str
    sizes: dict[str, Any]
    counts: dict[str, int]
    seconds: dict[str, float]
    team_id: str
    team_slug: str
    token: str  # the benchmark team's key (read, write, admin)
    template_project_ids: list[str]
    other_tokens: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Dataset:
        return cls(**json.loads(text))


def fast_id(prefix: str, rng: random.Random) -> str:
    """An id in `new_id`'s format (prefix, `_`, 25 base-36 characters: 128 random bits), made
    with a seeded generator: `new_id` draws each character from the OS, too slow for millions."""
    number = rng.getrandbits(128)
    chars = []
    for _ in range(25):
        number, digit = divmod(number, 36)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(chars)}"


# --------------------------------------------------------------------------- database


def admin_url(database_url: str) -> tuple[str, str]:
    """The server's `postgres` database (to create or drop ours) and our database's name."""
    url = make_url(normalize_database_url(database_url))
    return url.set(database="postgres").render_as_string(hide_password=False), str(url.database)


def create_database(database_url: str, *, replace: bool = False) -> None:
    import psycopg

    admin, name = admin_url(database_url)
    with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
        if replace:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(database_url: str) -> None:
    import psycopg

    admin, name = admin_url(database_url)
    with psycopg.connect(admin.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Writer:
    """Bulk rows into a table: `COPY` on PostgreSQL, executemany `INSERT` elsewhere."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.rows = 0

    def write(self, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        self.rows += len(rows)
        if not self.postgres:
            self.session.execute(
                insert(table), [dict(zip(columns, row, strict=True)) for row in rows]
            )
            return
        json_at = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
        raw = self.session.connection().connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor:
            copy_sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(copy_sql) as copy:
                for row in rows:
                    if json_at:
                        row = list(row)
                        for i in json_at:
                            if row[i] is not None:
                                row[i] = json.dumps(row[i])
                    copy.write_row(row)


# --------------------------------------------------------------------------- templates


@dataclass
class Template:
    """A project made through the real services, and what copies of it need."""

    project_id: str
    application: str
    traits: dict[str, bool]
    revision: int
    catalog_version: str
    # person id -> (name, email) of everyone the template's rows name, in order.
    people: list[tuple[str, str, str]]
    assignments: list[tuple[str, str, int | None, bool]]  # person id, role, allocation, lead
    items: list[dict[str, Any]]
    owners: dict[str, list[str]]  # item id -> person ids, in order
    # The items whose texts name people (staffing findings): renamed in each copy.
    named: set[str]


def _template_staffing(
    rng: random.Random, roles: Sequence[str], number: int, round_: int
) -> list[dict[str, Any]]:
    """One round of a template's staffing: a core of people who stay, others who come and go,
    some in two or three roles, allocations that sometimes add up past 100 %."""
    core = 3
    entries: list[dict[str, Any]] = []
    people = [(f"c{i}", i) for i in range(core)]
    people += [(f"r{round_}x{i}", core + i) for i in range(rng.randint(3, 5))]
    for tag, index in people:
        held = rng.sample(list(roles), k=rng.choice((1, 2, 2, 3, 3)) if index >= core else 1)
        for role in held:
            entries.append(
                {
                    "role": role,
                    "person": {
                        "name": f"Tpl{number:03d}-{tag} Person",
                        "email": f"tpl{number:03d}.{tag}@templates.example",
                    },
                    "allocation": rng.choice((None, 30, 50, 60, 80)),
                    "lead": index == 0,
                }
            )
    return entries


def build_templates(
    session: Session,
    ctx: Context,
    team_id: str,
    count: int,
    items_per_project: int,
    rng: random.Random,
    created_at: Callable[[int], datetime],
) -> list[Template]:
    catalog = current_catalog(session)
    roles = catalog.role_keys
    applications = [a.key for a in catalog.applications]
    made = []
    for number in range(count):
        traits = TRAIT_SETS[number % len(TRAIT_SETS)]
        project = projects.create_project(
            session,
            ctx,
            catalog,
            team_id,
            {
                "name": f"Template {number:03d} {rng.choice(WORDS)} {rng.choice(KINDS_OF_WORK)}",
                "application": applications[number % len(applications)],
                "traits": traits,
                "description": "Staffed and regenerated through the services.",
            },
        )
        project.created_at = created_at(number)
        checklist = None
        for round_ in range(12):
            entries = _template_staffing(rng, roles, number, round_)
            staffing.replace_staffing(session, ctx, catalog, project, entries)
            if checklist is None:
                checklist, _ = checklists.generate(session, ctx, catalog, project)
            total = session.scalar(
                select(func.count())
                .select_from(ChecklistItem)
                .where(ChecklistItem.checklist_id == checklist.id)
            )
            if total >= items_per_project:
                break
        session.commit()
        made.append(read_template(session, project.id, application=project.application))
    return made


def read_template(session: Session, project_id: str, application: str) -> Template:
    project = session.get_one(Project, project_id)
    checklist = session.scalar(select(Checklist).where(Checklist.project_id == project_id))
    assert checklist is not None
    item_table = ChecklistItem.__table__
    items = [
        dict(row._mapping)
        for row in session.execute(
            select(item_table)
            .where(item_table.c.checklist_id == checklist.id)
            .order_by(item_table.c.position, item_table.c.key)
        )
    ]
    owners: dict[str, list[str]] = {}
    for item_id, person_id in session.execute(
        select(ChecklistItemOwner.item_id, ChecklistItemOwner.person_id)
        .join(ChecklistItem, ChecklistItem.id == ChecklistItemOwner.item_id)
        .where(ChecklistItem.checklist_id == checklist.id)
        .order_by(ChecklistItemOwner.item_id, ChecklistItemOwner.position)
    ):
        owners.setdefault(item_id, []).append(person_id)
    assignments = [
        (a.person_id, a.role_key, a.allocation, a.lead)
        for a in session.scalars(
            select(Assignment)
            .where(Assignment.project_id == project_id)
            .order_by(Assignment.created_at, Assignment.id)
        )
    ]
    ids = list(dict.fromkeys([a[0] for a in assignments] + [p for o in owners.values() for p in o]))
    people = {
        p.id: (p.id, p.name, p.email)
        for p in session.scalars(select(Person).where(Person.id.in_(ids)))
    }
    named = set()
    needles = [needle for pid in ids for needle in (pid, people[pid][1])]
    for item in items:
        text = " ".join([item["key"], item["title"], item["detail"], *item["because"]])
        if any(needle in text for needle in needles):
            named.add(item["id"])
    return Template(
        project_id=project_id,
        application=application,
        traits=project.traits,
        revision=checklist.revision,
        catalog_version=checklist.catalog_version,
        people=[people[pid] for pid in ids],
        assignments=assignments,
        items=items,
        owners=owners,
        named=named,
    )


# --------------------------------------------------------------------------- bulk rows


def _columns(model: Any) -> list[str]:
    return [c.name for c in model.__table__.columns]


PERSON_COLUMNS = _columns(Person)
PROJECT_COLUMNS = _columns(Project)
CHECKLIST_COLUMNS = _columns(Checklist)
ASSIGNMENT_COLUMNS = _columns(Assignment)
ITEM_COLUMNS = _columns(ChecklistItem)
OWNER_COLUMNS = _columns(ChecklistItemOwner)


def row_of(model: Any, values: dict[str, Any]) -> tuple[Any, ...]:
    """`values` in the table's column order; a column not given takes its default (the
    models may gain columns: a new trait, a project's context), else NULL."""
    row = []
    for column in model.__table__.columns:
        if column.name in values:
            row.append(values[column.name])
        elif column.default is not None and column.default.is_scalar:
            row.append(column.default.arg)
        elif column.default is not None and column.default.is_callable:
            # `default=list` and the like (the project's context): SQLAlchemy's wrapper of a
            # callable takes the execution context, which none of ours reads.
            row.append(column.default.arg(None))
        else:
            row.append(None)
    return tuple(row)


def split(total: int, parts: Sequence[float]) -> list[int]:
    """`total` split in proportion to `parts`, summing exactly to `total`."""
    weight = sum(parts)
    shares = [int(total * p / weight) for p in parts]
    for i in range(total - sum(shares)):
        shares[i % len(shares)] += 1
    return shares


@dataclass
class TeamPlan:
    id: str
    slug: str
    projects: int
    people: int


def plan_teams(sizes: Sizes, rng: random.Random) -> list[TeamPlan]:
    big = round(sizes.projects * sizes.big_team_share)
    others = split(sizes.projects - big, [1] * (sizes.teams - 1))
    per_team = [big, *others]
    people = split(sizes.people, [max(p, 1) for p in per_team])
    plans = []
    for number, (n_projects, n_people) in enumerate(zip(per_team, people, strict=True)):
        slug = BENCH_TEAM_SLUG if number == 0 else f"team-{number:03d}"
        plans.append(TeamPlan(fast_id("team", rng), slug, n_projects, max(n_people, 12)))
    return plans


class Replicator:
    """Rows of one copied project: project, checklist, assignments, items, owners."""

    STATUSES = (("open", 55), ("in_progress", 10), ("done", 30), ("waived", 5))

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.status_choices = [s for s, weight in self.STATUSES for _ in range(weight)]

    def project_rows(
        self,
        team: TeamPlan,
        number: int,
        template: Template,
        people: Sequence[tuple[str, str, str]],
        created_at: datetime,
        out: dict[str, list[tuple[Any, ...]]],
    ) -> None:
        rng = self.rng
        name = f"{rng.choice(WORDS)} {rng.choice(KINDS_OF_WORK)} {number}"
        project_id = fast_id("prj", rng)
        traits = template.traits
        project = {
            "id": project_id,
            "created_at": created_at,
            "updated_at": created_at,
            "version": 1,
            "team_id": team.id,
            "name": name,
            "slug": slugify(name, "project"),
            "description": f"{name}: a generative-AI project of {team.slug}.",
            "application": template.application,
            **traits,
            "status": "active",
        }
        out["projects"].append(row_of(Project, project))
        mapping = dict(zip((p[0] for p in template.people), people, strict=True))
        generated_at = created_at + timedelta(hours=1)
        checklist_id = fast_id("chk", rng)
        checklist = {
            "id": checklist_id,
            "created_at": generated_at,
            "updated_at": generated_at,
            "team_id": team.id,
            "project_id": project_id,
            "revision": template.revision,
            "catalog_version": template.catalog_version,
            "generated_at": generated_at,
            "state": 1,
            "next_waiver_expiry": None,
        }
        out["checklists"].append(row_of(Checklist, checklist))
        for person_id, role, allocation, lead in template.assignments:
            assignment = {
                "id": fast_id("asg", rng),
                "team_id": team.id,
                "project_id": project_id,
                "person_id": mapping[person_id][0],
                "role_key": role,
                "allocation": allocation,
                "lead": lead,
                "created_at": created_at,
            }
            out["assignments"].append(row_of(Assignment, assignment))
        rename = _renamer(template, mapping)
        for source in template.items:
            item = dict(source)
            item_id = fast_id("itm", rng)
            item.update(
                id=item_id,
                team_id=team.id,
                checklist_id=checklist_id,
                project_id=project_id,
                created_at=generated_at,
                updated_at=generated_at,
                version=1,
            )
            if source["id"] in template.named:
                item["key"] = rename(item["key"])
                item["title"] = rename(item["title"])
                item["detail"] = rename(item["detail"])
                item["because"] = [rename(b) for b in item["because"]]
            if item["status"] != "obsolete":
                self._work_on(item)
            out["items"].append(row_of(ChecklistItem, item))
            for position, person_id in enumerate(template.owners.get(source["id"], ())):
                out["owners"].append((item_id, mapping[person_id][0], position))

    def _work_on(self, item: dict[str, Any]) -> None:
        status = self.rng.choice(self.status_choices)
        item["status"] = status
        if status in ("done", "in_progress") and self.rng.random() < 0.4:
            number = self.rng.randint(1, 9999)
            item["ticket"] = {"system": "jira", "key": f"GEN-{number}", "url": None}
        if status == "waived":
            item["waiver"] = {
                "reason": "Covered by the platform team's review",
                "approved_by": None,
                "expires_on": None,
            }
        if status == "done" and self.rng.random() < 0.2:
            item["note"] = "Checked in the last review."


def _renamer(template: Template, mapping: dict[str, tuple[str, str, str]]) -> Callable[[str], str]:
    """Replace the template's people's ids and names by those of the copy's people."""
    table: dict[str, str] = {}
    for source in template.people:
        target = mapping[source[0]]
        table[source[0]] = target[0]
        table[source[1]] = target[1]
    pattern = re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
    return lambda text: pattern.sub(lambda m: table[m.group(0)], text)


def people_rows(
    team: TeamPlan, rng: random.Random, created: datetime
) -> list[tuple[str, str, str, tuple[Any, ...]]]:
    """(id, name, email, row) of the team's people."""
    made = []
    for number in range(team.people):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}"
        email = f"{first}.{last}.{number}@{team.slug}.example".lower()
        person_id = fast_id("per", rng)
        handle = f"{first[0]}{last}{number}".lower().replace("-", "")[:39]
        person = {
            "id": person_id,
            "created_at": created,
            "updated_at": created,
            "version": 1,
            "team_id": team.id,
            "name": name,
            "email": email,
            "github": handle if rng.random() < 0.6 else None,
            "jira": email if rng.random() < 0.4 else None,
            "linear": None,
        }
        made.append((person_id, name, email, row_of(Person, person)))
    return made


# --------------------------------------------------------------------------- the whole


def make_dataset(
    database_url: str,
    sizes: Sizes,
    *,
    seed: int = 11,
    log: Callable[[str], None] = print,
    batch_projects: int = 250,
) -> Dataset:
    """Migrate, seed and fill an empty database; returns what was made."""
    started = time.perf_counter()
    rng = random.Random(seed)
    settings = dataclasses.replace(
        Settings.from_env(), database_url=normalize_database_url(database_url), log_level="WARNING"
    )
    app = create_app(settings)
    seconds: dict[str, float] = {}
    with app.app_context():
        session = db.session
        upgrade(directory=str(MIGRATIONS_DIR))
        seed_catalog(session, load_catalog())
        session.commit()
        seconds["migrate_and_seed"] = time.perf_counter() - started

        now = datetime.now(UTC).replace(microsecond=0)
        epoch = now - timedelta(days=3 * 365)
        plans = plan_teams(sizes, rng)
        writer = Writer(session)
        tokens: dict[str, str] = {}
        team_rows, key_rows = [], []
        for plan in plans:
            team_rows.append((plan.id, f"Team {plan.slug}", plan.slug, epoch))
            token = new_token()
            tokens[plan.slug] = token
            key_rows.append(
                (
                    fast_id("key", rng),
                    plan.id,
                    "bench",
                    token[:10],
                    hash_token(token),
                    "read,write,admin",
                    epoch,
                    None,
                    None,
                )
            )
        writer.write(Team.__table__, ["id", "name", "slug", "created_at"], team_rows)
        key_columns = [
            "id",
            "team_id",
            "name",
            "prefix",
            "secret_hash",
            "scopes",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        writer.write(ApiKey.__table__, key_columns, key_rows)
        session.commit()

        # Templates: made through the services in the benchmark's team, the newest projects.
        t0 = time.perf_counter()
        big = plans[0]
        ctx = Context("cli", settings=settings)
        per_project = max(1, sizes.items // sizes.projects)
        templates = build_templates(
            session,
            ctx,
            big.id,
            sizes.templates,
            per_project,
            rng,
            lambda n: now - timedelta(minutes=n),
        )
        seconds["templates"] = time.perf_counter() - t0
        log(
            f"{len(templates)} templates through the services in {seconds['templates']:.1f} s: "
            f"{sorted(len(t.items) for t in templates)} items"
        )

        # Bulk: people, then projects copied from the templates, in batches.
        t0 = time.perf_counter()
        replicator = Replicator(rng, now)
        copies = 0
        most_people = max(len(t.people) for t in templates)
        for plan in plans:
            plan.people = max(plan.people, most_people)
            people = people_rows(plan, rng, epoch)
            writer.write(Person.__table__, PERSON_COLUMNS, [p[3] for p in people])
            pool = [p[:3] for p in people]
            count = plan.projects - (len(templates) if plan is big else 0)
            span = (now - timedelta(days=1) - epoch) / max(count, 1)
            for start in range(0, count, batch_projects):
                out: dict[str, list[tuple[Any, ...]]] = {
                    "projects": [],
                    "checklists": [],
                    "assignments": [],
                    "items": [],
                    "owners": [],
                }
                for number in range(start, min(count, start + batch_projects)):
                    template = templates[rng.randrange(len(templates))]
                    chosen = rng.sample(pool, k=len(template.people))
                    created = epoch + span * number + timedelta(seconds=rng.randint(0, 3600))
                    replicator.project_rows(plan, number, template, chosen, created, out)
                    copies += 1
                writer.write(Project.__table__, PROJECT_COLUMNS, out["projects"])
                writer.write(Checklist.__table__, CHECKLIST_COLUMNS, out["checklists"])
                writer.write(Assignment.__table__, ASSIGNMENT_COLUMNS, out["assignments"])
                writer.write(ChecklistItem.__table__, ITEM_COLUMNS, out["items"])
                writer.write(ChecklistItemOwner.__table__, OWNER_COLUMNS, out["owners"])
                session.commit()
            log(f"  team {plan.slug}: {plan.projects} projects, {plan.people} people")
        seconds["bulk"] = time.perf_counter() - t0
        log(f"{copies} projects copied, {writer.rows} rows in {seconds['bulk']:.1f} s")

        t0 = time.perf_counter()
        session.close()
        if writer.postgres:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        seconds["vacuum_analyze"] = time.perf_counter() - t0
        counts = {
            name: db.session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in (
                ("teams", Team),
                ("projects", Project),
                ("people", Person),
                ("assignments", Assignment),
                ("checklists", Checklist),
                ("checklist_items", ChecklistItem),
                ("checklist_item_owners", ChecklistItemOwner),
            )
        }
        db.session.close()
        db.engine.dispose()
    seconds["total"] = time.perf_counter() - started
    return Dataset(
        database_url=database_url,
        sizes=dataclasses.asdict(sizes),
        counts=counts,
        seconds={k: round(v, 1) for k, v in seconds.items()},
        team_id=big.id,
        team_slug=big.slug,
        token=tokens[big.slug],
        template_project_ids=[t.project_id for t in templates],
        other_tokens={slug: tok for slug, tok in tokens.items() if slug != big.slug},
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="an empty database (or --create)")
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 10,000 projects (default)")
    parser.add_argument("--create", action="store_true", help="create the PostgreSQL database")
    parser.add_argument("--replace", action="store_true", help="drop it first if it exists")
    parser.add_argument("--manifest", type=Path, help="write the dataset's description here")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    if args.create or args.replace:
        create_database(args.database_url, replace=args.replace)
    sizes = Sizes.scaled(args.scale)
    print(f"sizes: {sizes}")
    dataset = make_dataset(args.database_url, sizes, seed=args.seed)
    print(f"counts: {dataset.counts}")
    print(f"seconds: {dataset.seconds}")
    if args.manifest:
        args.manifest.write_text(dataset.to_json() + "\n")
        print(f"manifest (holds API keys of this throwaway database): {args.manifest}")


if __name__ == "__main__":
    main()
