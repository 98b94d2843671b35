"""What `flask dev` makes for a newcomer, once, and keeps in `instance/` for the next runs: the
demo team and its key, a demo project staffed with its checklist, and read-only share links to
the team dashboard and to that project's checklist page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.commands import command_transaction
from app.errors import Problem
from app.extensions import current_session, db
from app.models import ApiKey, Project, Team
from app.schemas.projects import ProjectCreate, StaffingReplace
from app.services import shares
from app.services.catalog.store import current_catalog
from app.services.checklists.refresh import generate
from app.services.context import Context
from app.services.directory import projects, teams
from app.services.directory.teams import hash_token
from app.services.staffing.assignments import replace_staffing

TEAM_SLUG = "demo"
PROJECT_SLUG = "demo-clinic-notes"
KEY_FILE = "demo-api-key"
LINKS_FILE = "demo-share-links.json"
# A year: the longest a link may live.
LINK_DAYS = shares.MAX_EXPIRY_DAYS

_PROJECT = {
    "name": "Demo clinic notes",
    "slug": PROJECT_SLUG,
    "application": "healthcare-solutions",
    "description": "Drafts visit notes from a clinician's dictation (made by flask dev).",
    "traits": {
        "handles_personal_data": True,
        "user_facing": True,
        "model_source": "hosted-third-party",
    },
    "intended_use": "Draft visit notes for the clinician who dictated them to review and sign.",
    "prohibited_uses": ["Diagnosis", "Sending notes to patients unreviewed"],
    "affected_people": ["Patients", "Clinicians"],
    "jurisdictions": ["EU"],
    "risk_classification": "high",
    "risk_tolerance": "Low: no note enters a record unreviewed.",
}
_STAFFING = {
    "assignments": [
        {"role": role, "person": {"name": name, "email": email}, "allocation": allocation}
        for role, name, email, allocation in (
            ("data-scientist", "Dana Reyes", "dana.reyes@example.com", 60),
            ("machine-learning-engineer", "Max Okafor", "max.okafor@example.com", 80),
            ("ai-ethicist", "Eli Moreau", "eli.moreau@example.com", 30),
            ("product-manager", "Pat Lindqvist", "pat.lindqvist@example.com", 50),
            ("privacy-officer", "Priya Natarajan", "priya.natarajan@example.com", 20),
            ("domain-expert", "Lena Ortiz", "lena.ortiz@example.com", 20),
            ("accountable-executive", "Hana Kim", "hana.kim@example.com", 10),
        )
    ]
}


def demo_key(instance: Path) -> str:
    """The demo team's key: on the first run the team is made (with its demo project) and a key
    kept in `instance/`; a later run reuses it while it is live, else makes another."""
    key_file = instance / KEY_FILE
    if key_file.exists():
        token = key_file.read_text().strip()
        # The look-up ends its transaction too: on SQLite a transaction left open here would
        # hold the write lock for as long as `flask dev` runs, and every write would wait.
        with command_transaction():
            key = db.session.scalar(select(ApiKey).where(ApiKey.secret_hash == hash_token(token)))
            usable = key is not None and key.revoked_at is None
        if usable:
            return token
    with command_transaction() as ctx:
        session = current_session()
        try:
            team = teams.find_team(session, TEAM_SLUG)
        except Problem:
            team = teams.create_team(session, ctx, "Demo team", TEAM_SLUG)
            _demo_project(ctx, team)
        _, token = teams.create_key(session, ctx, team, ["read", "write", "admin"], "demo")
    key_file.write_text(token + "\n")
    key_file.chmod(0o600)
    return token


def _demo_project(ctx: Context, team: Team) -> None:
    """The demo project, staffed (its four people made on the way), with its checklist."""
    session = current_session()
    catalog = current_catalog(session)
    project = projects.create_project(
        session, ctx, catalog, team.id, ProjectCreate().load(_PROJECT)
    )
    entries = StaffingReplace().load(_STAFFING)["assignments"]
    replace_staffing(session, ctx, catalog, project, entries)
    generate(session, ctx, catalog, project)


def demo_links(instance: Path, base_url: str) -> dict[str, str]:
    """Share links to the demo team's dashboard and to its demo project's checklist page (a
    year each; the project's is its ticket link), by what they open. They are kept in
    `instance/` and made again when revoked or expired; the project's is left out when the
    project is gone."""
    links_file = instance / LINKS_FILE
    kept: dict[str, Any] = json.loads(links_file.read_text()) if links_file.exists() else {}
    with command_transaction() as ctx:
        session = current_session()
        team = teams.find_team(session, TEAM_SLUG)
        project = session.scalar(
            select(Project).where(
                Project.team_id == team.id,
                Project.slug == PROJECT_SLUG,
                Project.status == "active",
            )
        )
        tokens: dict[str, str] = {}
        for target in ("dashboard", "checklist"):
            if target == "checklist" and project is None:
                continue
            token = kept.get(target)
            live = isinstance(token, str) and shares.find_live_share(session, token, target)
            if live and live.team_id == team.id:
                tokens[target] = str(token)
            elif target == "dashboard":
                tokens[target] = shares.create_dashboard_share(
                    session, ctx, team.id, LINK_DAYS, "flask dev"
                )[1]
            else:
                assert project is not None
                tokens[target] = shares.create_share(
                    session, ctx, project, LINK_DAYS, "flask dev", tickets=True
                )[1]
    links_file.write_text(json.dumps(tokens) + "\n")
    links_file.chmod(0o600)
    return {target: shares.share_url(base_url, token, target) for target, token in tokens.items()}
