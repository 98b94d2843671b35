"""Flask commands: seeding, teams, API keys, the one-command development server, the webhook
worker and the webhooks document's event types section."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy.exc import IntegrityError

from app import demo
from app.backup import BackupFailed, backup
from app.commands import command_transaction
from app.errors import NotFound, Problem
from app.extensions import current_session, db, snapshot
from app.services.catalog.store import latest_version, seed_catalog
from app.services.directory import people, teams
from app.services.export import NotImportable, export_lines, import_lines
from app.services.migrations import head_revision
from app.services.webhooks.event_types import EVENT_TYPES, webhook_body

teams_cli = AppGroup("teams", help="Manage teams (the tenants).")
keys_cli = AppGroup("keys", help="Manage API keys.")
people_cli = AppGroup("people", help="The people of a team's directory.")


def _fail(problem: Problem) -> None:
    raise click.ClickException(problem.detail)


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Load or refresh the catalog from seed/ (idempotent)."""
    from seed.loader import CatalogError, load_catalog

    try:
        catalog = load_catalog()
    except CatalogError as error:
        raise click.ClickException(f"seed/catalog.yaml is not valid: {error}") from error
    try:
        with command_transaction():
            changed = seed_catalog(current_session(), catalog)
    except IntegrityError as error:
        raise click.ClickException(
            "The new catalog removes a role or an application that projects still use; "
            "nothing was changed. Keep the entry, or reassign those projects first."
        ) from error
    click.echo(f"catalog {catalog.version} {'loaded' if changed else 'already current'}")


@teams_cli.command("create")
@click.argument("name")
@click.option("--slug", help="URL-friendly id; derived from the name by default.")
def create_team(name: str, slug: str | None) -> None:
    """Create a team; prints its id and slug."""
    try:
        with command_transaction() as ctx:
            team = teams.create_team(current_session(), ctx, name, slug)
    except Problem as problem:
        _fail(problem)
    click.echo(f"id: {team.id}\nslug: {team.slug}")


@teams_cli.command("export")
@click.argument("team")
def export_team(team: str) -> None:
    """Write TEAM's data (slug or id) to standard output as newline-delimited JSON, one
    snapshot, as `GET /v1/export` streams it: `flask teams export TEAM > team.ndjson`."""
    from app.services.catalog.store import current_catalog

    try:
        with command_transaction():
            session = current_session()
            team_id = teams.find_team(session, team).id
            catalog_version = current_catalog(session).version
    except Problem as problem:
        _fail(problem)
    with snapshot(db.engine) as connection:
        for line in export_lines(
            connection, team_id, migration=head_revision(), catalog_version=catalog_version
        ):
            click.echo(line, nl=False)


@teams_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def import_team(file: TextIO) -> None:
    """Load a team from an export (FILE, or - for standard input) into this instance, where
    neither the team nor any of its ids exists yet; all of it or, on any error, nothing.
    Webhook endpoints come disabled: rotate their secrets and enable them, and rotate the
    integrations' secrets."""
    try:
        with command_transaction():
            session = current_session()
            imported = import_lines(
                session.connection(),
                file,
                migration=head_revision(),
                catalog_version=latest_version(session),
            )
    except NotImportable as error:
        raise click.ClickException(f"Nothing was imported: {error}") from error
    except IntegrityError as error:
        raise click.ClickException(
            f"Nothing was imported: a record collides with one already here ({error.orig})."
        ) from error
    team = imported.team
    click.echo(f"imported team {team['slug']} ({team['id']})")
    for type_, count in imported.counts.items():
        click.echo(f"  {type_}: {count}")
    click.echo(
        "Next: make API keys (flask keys create), rotate the secrets of its webhook endpoints "
        "and integrations, and enable the endpoints."
    )


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Back the database up into PATH (a new file) while the service runs: SQLite's online
    backup API, or pg_dump's custom format for PostgreSQL (pg_dump on PATH); restore as
    docs/operations.md says."""
    try:
        how = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    except BackupFailed as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backed up to {path} ({how}, {path.stat().st_size} bytes)")


@keys_cli.command("create")
@click.argument("team")
@click.option("--scopes", default="read,write", show_default=True, help="read,write,admin")
@click.option("--name", default="", help="A label to tell keys apart.")
@click.option(
    "--person",
    "email",
    default=None,
    metavar="EMAIL",
    help="A personal key of the team's person with this email: they sign as themselves with it.",
)
def create_key(team: str, scopes: str, name: str, email: str | None) -> None:
    """Create an API key for TEAM (slug or id), a personal one with --person; the key is the
    last line, shown once."""
    try:
        with command_transaction() as ctx:
            session = current_session()
            owner = teams.find_team(session, team)
            person = None
            if email is not None:
                person = people.find_by_email(session, owner.id, email)
                if person is None:
                    raise NotFound(f"No person with the email '{email}' in team '{owner.slug}'.")
            key, token = teams.create_key(
                session, ctx, owner, teams.parse_scopes(scopes), name, person=person
            )
    except Problem as problem:
        _fail(problem)
    whose = f"\nperson: {person.id} ({person.name})" if person is not None else ""
    click.echo(f"id: {key.id}\nscopes: {key.scopes}{whose}\n# the key below is shown only once")
    click.echo(token)


@people_cli.command("erase")
@click.argument("team")
@click.argument("email")
def erase_person(team: str, email: str) -> None:
    """Erase the person of EMAIL from TEAM (slug or id): remove them and replace their name,
    email and handles by their pseudonym in every stored record; a person deleted before is
    found by what their deletion kept. Nobody of that email (erased already, say: the email is
    not kept) is said, and is no failure."""
    from app.services.directory import erasure

    try:
        with command_transaction() as ctx:
            session = current_session()
            owner = teams.find_team(session, team)
            person = people.find_by_email(session, owner.id, email) or erasure.deleted_person(
                session, owner.id, email=email
            )
            if person is None or erasure.find_erasure(session, owner.id, person.id):
                click.echo(
                    f"Nobody with that email in team '{owner.slug}' (erased already, or never "
                    "there): nothing to erase."
                )
                return
            done = erasure.erase(session, ctx, owner.id, person.id)
    except Problem as problem:
        _fail(problem)
    click.echo(f"erased: {done.person_id}\npseudonym: {erasure.pseudonym(done.person_id)}")


@keys_cli.command("list")
@click.argument("team")
def list_keys(team: str) -> None:
    """List TEAM's keys (never their secrets)."""
    try:
        session = current_session()
        keys = teams.list_keys(session, teams.find_team(session, team))
    except Problem as problem:
        _fail(problem)
    click.echo(
        f"{'ID':32} {'NAME':20} {'PREFIX':12} {'SCOPES':18} {'LAST USED':26} {'STATUS':8} PERSON"
    )
    for key in keys:
        last_used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
        status = "revoked" if key.revoked_at else "active"
        name = key.name[:20]
        person = key.person_id or "-"
        click.echo(
            f"{key.id:32} {name:20} {key.prefix:12} {key.scopes:18} {last_used:26} {status:8} "
            f"{person}"
        )


@keys_cli.command("revoke")
@click.argument("key_id")
def revoke_key(key_id: str) -> None:
    """Revoke a key by its id; requests with it get 401 from now on."""
    try:
        with command_transaction() as ctx:
            key = teams.revoke_key(current_session(), ctx, key_id)
    except Problem as problem:
        _fail(problem)
    click.echo(f"revoked {key.id}")


def _curl_examples(base: str, token: str, links: dict[str, str]) -> str:
    preview = (
        '{"project": {"name": "Clinic notes", "application": "healthcare-solutions",'
        ' "traits": {"handles_personal_data": true}},'
        ' "assignments": [{"role": "data-scientist",'
        ' "person": {"name": "Ada Lovelace", "email": "ada@example.com"}},'
        ' {"role": "ai-ethicist",'
        ' "person": {"name": "Ada Lovelace", "email": "ada@example.com"}}]}'
    )
    project = (
        '{"name": "Support assistant", "application": "content-creation",'
        ' "traits": {"user_facing": true}}'
    )
    person = (
        '{"role": "data-scientist", "person": {"name": "Ada Lovelace", "email": "ada@example.com"}}'
    )
    return f"""
Staffing checklist API on {base}   (API docs: {base}/docs)
Webhook delivery worker: running (flask webhooks worker)

  export API={base} KEY={token}

  # a checklist for a project described in the request, as Markdown (nothing is stored)
  curl -s $API/v1/checklists/preview -H "Authorization: Bearer $KEY" \\
       -H "Content-Type: application/json" -H "Accept: text/markdown" \\
       -d '{preview}'

  # register a project
  curl -s $API/v1/projects -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\
       -d '{project}'

  # staff it, creating the person on the way, then read its checklist in the terminal
  curl -s $API/v1/projects/support-assistant/assignments -H "Authorization: Bearer $KEY" \\
       -H "Content-Type: application/json" -d '{person}'
  curl -s -X POST "$API/v1/projects/support-assistant/checklist?format=text" \\
       -H "Authorization: Bearer $KEY"

  # the team dashboard as a page (coverage and load pictures): save it, open it in a browser
  curl -s $API/v1/dashboard -H "Authorization: Bearer $KEY" -H "Accept: text/html" \\
       -o dashboard.html
{_share_lines(links)}
  # webhooks: a delivery worker runs beside the API (private targets allowed in dev); the
  # answer holds the endpoint's secret, which examples/webhook_receiver.py verifies with:
  #   WEBHOOK_SECRET=whsec_... python examples/webhook_receiver.py --port 9000
  curl -s $API/v1/webhooks -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\
       -d '{{"url": "http://127.0.0.1:9000/hook", "event_types": ["checklist.*"]}}'

Press Ctrl-C to stop (the API and the webhook worker).
"""


def _share_lines(links: dict[str, str]) -> str:
    """The banner's share links: pages a browser opens with no API key."""
    lines = ["", "  # read-only share links, no key needed: open them in a browser"]
    if "dashboard" in links:
        lines.append(f"  #   the team dashboard:           {links['dashboard']}")
    if "checklist" in links:
        lines.append(f"  #   the demo project's checklist: {links['checklist']}")
    return "\n".join(lines) + "\n"


@click.command("dev")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def dev_command(host: str, port: int) -> None:
    """Migrate, seed, create the demo team and key, then serve the API with gunicorn and run
    the webhook delivery worker beside it."""
    from seed.loader import load_catalog

    _ensure_port_free(host, port)
    upgrade(directory=current_app.extensions["migrate"].directory)
    with command_transaction():
        seed_catalog(current_session(), load_catalog())
    # instance/ holds the demo key and links: a fresh clone on PostgreSQL has none yet
    # (SQLite's file made it).
    instance = Path(current_app.instance_path)
    instance.mkdir(exist_ok=True)
    token = demo.demo_key(instance)
    links = demo.demo_links(instance, f"http://{host}:{port}")
    # The servers and the worker have the database to themselves: this process keeps no
    # connection (nor, on SQLite, a lock) while it waits for them.
    db.session.remove()
    db.engine.dispose()
    # The workers share their metrics through a directory of this run's own.
    metrics_dir = Path(tempfile.mkdtemp(prefix="metrics-", dir=current_app.instance_path))
    env = {
        # Development: links point at this server, and webhooks may go to a local receiver.
        "PUBLIC_BASE_URL": f"http://{host}:{port}",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
        **os.environ,
        "DATABASE_URL": current_app.config["SQLALCHEMY_DATABASE_URI"],
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    worker = subprocess.Popen([sys.executable, "-m", "flask", "webhooks", "worker"], env=env)
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"{host}:{port}",
            "--workers",
            "2",
            # No gunicorn access log: the application logs each request once, as JSON.
            "wsgi:app",
        ],
        env=env,
    )
    click.echo(_curl_examples(f"http://{host}:{port}", token, links))

    def stop(_signum: int = signal.SIGTERM, _frame: object = None) -> None:
        for process in (server, worker):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    # Ctrl-C reaches both children through the terminal, and a TERM or an INT sent to this
    # process alone is passed on: either way both stop, and nothing is left on the database.
    # INT is handled here too, not left to KeyboardInterrupt: a process started in the
    # background of a script inherits INT ignored, and Python then raises nothing.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    try:
        code = server.wait()
    finally:
        stop()
        worker.wait()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    sys.exit(code)


def _ensure_port_free(host: str, port: int) -> None:
    """Refuse at once, before anything is announced, a port another server holds."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As gunicorn binds: a port whose last connections linger in TIME_WAIT after a stop is
        # free, only one that something listens on is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise click.ClickException(
                f"{host}:{port} is in use ({error.strerror}); stop what holds it or pass --port."
            ) from error


webhooks_cli = AppGroup("webhooks", help="Outgoing webhooks.")


@webhooks_cli.command("worker")
@click.option(
    "--once", is_flag=True, help="Record lapsed waivers, deliver what is due now, then exit."
)
def webhook_worker(once: bool) -> None:
    """Deliver webhooks: claim due deliveries, send them signed, retry failures; record the
    waivers that have lapsed, with their events, every minute. Several may run at once on
    PostgreSQL."""
    from app.workers.delivery import DeliveryWorker, WakeUps

    settings = current_app.config["SETTINGS"]
    worker = DeliveryWorker(current_session(), settings)
    try:
        if once:
            lapsed = worker.record_lapsed_waivers()
            click.echo(f"{lapsed} checklist(s) with lapsed waivers recorded", err=True)
            # Once: everything that is due, however long it takes.
            click.echo(f"{worker.sync_tickets(budget=float('inf'))} ticket(s) synced", err=True)
            click.echo(f"{worker.run_once()} delivery attempts made")
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _signum, _frame: stop.set())
        wake_ups = WakeUps(settings.database_url, settings.webhook_poll_seconds, stop)
        click.echo(f"webhook worker {worker.worker_id} delivering", err=True)
        try:
            worker.run(stop, wake_ups)
        finally:
            wake_ups.close()
    finally:
        worker.close()


@click.command("prune")
@with_appcontext
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=None,
    help="Rows a transaction deletes [default: 500 on PostgreSQL, 100 on SQLite].",
)
@click.option(
    "--pause",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds between batches [default: 0 on PostgreSQL, 0.05 on SQLite].",
)
def prune_command(batch: int | None, pause: float | None) -> None:
    """Delete what is past retention: finished webhook deliveries with their attempts
    (WEBHOOK_DELIVERY_RETENTION_DAYS), inbound deliveries (INBOUND_DELIVERY_RETENTION_DAYS)
    and, when EVENT_RETENTION_DAYS is set, events; a short transaction per batch. The webhook
    worker does the same every few minutes."""
    from app.workers.pruning import Pace, pace_for, prune

    session = current_session()
    usual = pace_for(session)
    pace = Pace(
        usual.batch if batch is None else batch,
        usual.pause_seconds if pause is None else pause,
    )
    started = time.monotonic()
    pruned = prune(session, current_app.config["SETTINGS"], pace=pace)
    seconds = time.monotonic() - started
    for table, rows in pruned.rows.items():
        click.echo(f"{table}: {rows} pruned")
    click.echo(f"{pruned.total} rows in {seconds:.2f} s", err=True)


@webhooks_cli.command("event-types-doc")
@click.option(
    "--update",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replace the section in this file (docs/webhooks.md) instead of printing it.",
)
def event_types_doc(update: Path | None) -> None:
    """Print the "Event types" section of docs/webhooks.md, made from the event types and their
    examples (app/services/webhooks/event_types.py and .yaml): run it after changing either."""
    section = event_types_markdown()
    if update is None:
        click.echo(section, nl=False)
        return
    text = update.read_text(encoding="utf-8")
    start = text.index("## Event types\n")
    end = text.find("\n## ", start + 1)
    update.write_text(text[:start] + section + (text[end + 1 :] if end != -1 else ""), "utf-8")
    click.echo(f"{update}: event types section updated")


def event_types_markdown() -> str:
    """The "Event types" section of `docs/webhooks.md`, made from the catalogue of event types
    (`flask webhooks event-types-doc`; a test keeps the document equal to it)."""
    paragraphs = [
        "`GET /v1/event-types` lists the same types with the same examples. A subscription names "
        "types exactly (`checklist.generated`), by a prefix ending in `.*` (`checklist.*` takes "
        "`checklist.generated` and every `checklist.item.*` type), or all of them with `*`; a "
        "pattern that matches no type is refused. Each example is a webhook body: `type`, "
        "`timestamp` and `data`, which is the event's `payload` in the activity feed "
        "(`GET /v1/events`). Keys are always present, with `null` when there is no value; only "
        "the keys of `changes` (the fields that changed), `handles` (the systems a person has a "
        "handle in) and an item's `source` (by kind) vary. Links are absolute, built from "
        "`PUBLIC_BASE_URL`.",
        "",
        "Item events (`checklist.item.*`) carry what a ticket needs: the `project`; the `item` "
        "with its roles' titles, owners (names, emails, handles), priority, status, ticket link, "
        "`because` and `links` (`api`: the item in the API, by ids that never change; "
        "`checklist_markdown`: the project's checklist as a task list, both with an API key; "
        "`share`: the checklist's page through the project's "
        "[ticket link](checklists.md#the-ticket-link), which opens with no key, or null when the "
        "project has none); and `ticket`, a ready `title` and Markdown `body` (its links, the "
        "ticket link first) whose last line is "
        "`checklist-item: <project slug>/<item key>`, which is how an inbound ticket event finds "
        "its item again. `reason` says why when the system or a ticket changed the item, and "
        "`source` names the ticketing system whose delivery changed it (null otherwise; see "
        "[ticketing.md](ticketing.md)). The `item`'s `version`, and the `checklist`'s "
        "`revision` in `checklist.generated`, tell a newer event from an older one "
        "([Order](#order)).",
    ]
    lines = ["## Event types"]
    for paragraph in filter(None, paragraphs):
        lines += ["", _wrap(paragraph)]
    for event_type in EVENT_TYPES.values():
        lines += ["", f"### `{event_type.name}`", "", _wrap(event_type.description), ""]
        lines += _json_block(webhook_body(event_type))
        for when, data in event_type.variants:
            lines += ["", f"The same type {when}:", ""]
            lines += _json_block(webhook_body(event_type, data))
    return "\n".join(lines) + "\n"


def _wrap(text: str) -> str:
    return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)


def _json_block(value: Any) -> list[str]:
    return ["```json", json.dumps(value, indent=2, ensure_ascii=False), "```"]


def register(app: Flask) -> None:
    for command in (
        seed_command,
        dev_command,
        backup_command,
        prune_command,
        teams_cli,
        keys_cli,
        people_cli,
        webhooks_cli,
    ):
        app.cli.add_command(command)
