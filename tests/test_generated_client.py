"""A client generated from `/openapi.json` by openapi-python-client works: it registers a
project, staffs it, generates the checklist, reads it as JSON into its own models, marks an
item done and reads the checklist as Markdown and CSV (the format paths, whose one documented
media type it reads as text), against the application behind a real HTTP server."""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

PACKAGE = "staffing_client"
NDJSON_AS_BYTES = {"application/x-ndjson": "application/octet-stream"}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def generated(client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The client package generated from the application's own description, importable."""
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(client.get("/openapi.json").json), encoding="utf-8")
    # As docs/api.md's recipe: the generator knows no NDJSON (`GET /v1/export`), read as bytes.
    config = tmp_path / "client-config.json"
    config.write_text(json.dumps({"content_type_overrides": NDJSON_AS_BYTES}), encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(  # noqa: S603 - the generator of this environment, fixed arguments
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # The generator formats its output with ruff, found on PATH.
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]  # the other backend's run generated its own
    return importlib.import_module(PACKAGE)


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_generated_client_registers_staffs_generates_and_works_the_checklist(
    generated, served, api
):
    models = _module("models")
    client = generated.AuthenticatedClient(base_url=served, token=api.token)

    project = _module("api.projects.post_v1_projects").sync(
        client=client,
        body=models.ProjectCreate(
            name="Clinic notes",
            application=models.ProjectCreateApplication.HEALTHCARE_SOLUTIONS,
            traits=models.Traits(handles_personal_data=True, user_facing=True),
        ),
    )
    assert isinstance(project, models.ProjectOut), project
    assert project.slug == "clinic-notes"

    ada = models.InlinePerson(name="Ada Lovelace", email="ada@example.com")
    grace = models.InlinePerson(name="Grace Hopper", email="grace@example.com")
    staffing = _module("api.assignments.put_v1_projects_project_ref_assignments").sync(
        project.slug,
        client=client,
        body=models.StaffingReplace(
            assignments=[
                models.AssignmentCreateType1(
                    role=models.AssignmentCreateType1Role.DATA_SCIENTIST, person=ada, allocation=50
                ),
                models.AssignmentCreateType1(
                    role=models.AssignmentCreateType1Role.AI_ETHICIST, person=grace
                ),
            ]
        ),
    )
    assert isinstance(staffing, models.AssignmentPage), staffing
    assert sorted(a.role for a in staffing.items) == ["ai-ethicist", "data-scientist"]

    generated_checklist = _module("api.checklists.post_v1_projects_project_ref_checklist").sync(
        project.slug, client=client
    )
    assert isinstance(generated_checklist, models.ChecklistOut), generated_checklist

    checklist = _module("api.checklists.get_v1_projects_project_ref_checklist").sync(
        project.slug,
        client=client,
        format_=models.GetV1ProjectsProjectRefChecklistFormat.JSON,
    )
    assert isinstance(checklist, models.ChecklistOut), checklist
    assert checklist.project.slug == "clinic-notes"
    item = next(
        i
        for i in checklist.items
        if i.kind == models.ItemOutKind.RESPONSIBILITY
        and i.roles == ["data-scientist"]
        and not i.signoff_required
        and not i.evidence_required
        and i.status == models.ItemOutStatus.OPEN
    )
    assert [o.name for o in item.owners] == ["Ada Lovelace"]

    done = _module("api.checklists.patch_v1_projects_project_ref_checklist_items_item_ref").sync(
        project.slug,
        item.key,
        client=client,
        body=models.ItemUpdate(status=models.ItemUpdateStatus.DONE),
    )
    assert isinstance(done, models.ItemOut), done
    assert (done.key, done.status) == (item.key, models.ItemOutStatus.DONE)

    markdown = _module("api.checklists.get_v1_projects_project_ref_checklist_md").sync(
        project.slug,
        client=client,
        group_by=models.GetV1ProjectsProjectRefChecklistMdGroupBy.ROLE,
    )
    assert isinstance(markdown, str), markdown
    assert markdown.startswith("# Checklist: Clinic notes\n")
    tasks = [line for line in markdown.splitlines() if line.startswith("- [")]
    (done_task,) = [t for t in tasks if f"`{item.key}`" in t]
    assert done_task.startswith("- [x] ")
    assert sum(t.startswith("- [ ] ") for t in tasks) == len(checklist.items) - 1

    table = _module("api.checklists.get_v1_projects_project_ref_checklist_csv").sync(
        project.slug, client=client, status=models.GetV1ProjectsProjectRefChecklistCsvStatus.DONE
    )
    assert isinstance(table, str), table
    header, *rows = csv.reader(io.StringIO(table))
    assert header[:3] == ["key", "kind", "phase"] and "status" in header
    assert [(row[0], row[header.index("status")]) for row in rows] == [(item.key, "done")]

    owned = _module("api.checklists.get_v1_people_person_id_checklist_items_md").sync(
        item.owners[0].id, client=client
    )
    assert isinstance(owned, str), owned
    assert "Ada Lovelace" in owned and f"`{item.key}`" in owned


def test_the_recipe_of_docs_api_runs_as_written(served, api, tmp_path: Path):
    """docs/api.md's generated-client recipe, its shell block then its Python blocks, in one
    folder, with `API` and `KEY` exported as the README's tour does."""
    doc = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = doc[doc.index("Generate a typed Python client") : doc.index("## How the contract")]
    blocks = re.findall(r"```(sh|python)\n(.*?)```", section, flags=re.DOTALL)
    assert [language for language, _ in blocks] == ["sh", "python", "python"]
    (tmp_path / ".venv").symlink_to(sys.prefix)  # the README's `.venv`
    env = {**os.environ, "API": served, "KEY": api.token}
    generated = subprocess.run(  # noqa: S603 - bash and the doc's own block
        [shutil.which("bash") or "/bin/bash", "-euo", "pipefail", "-c", blocks[0][1]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    ran = subprocess.run(  # noqa: S603 - this interpreter and the doc's own blocks
        [sys.executable, "-c", "\n".join(code for _, code in blocks[1:])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.startswith("# Checklist: Clinic intake bot ['key', 'kind'] "), ran.stdout
    assert int(ran.stdout.split()[-1]) > 0  # the JSON checklist's items, read into models
    assert "Unsupported content_type" not in generated.stdout + generated.stderr
