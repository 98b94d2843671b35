"""A new catalog (flask seed after seed/ changed) reaches existing checklists when they are
regenerated, without losing their state."""

from __future__ import annotations

import dataclasses

import pytest
from checklist_support import generate, items_by_key, patch_item, read_checklist, staffed_project

from app.extensions import db
from app.services.catalog.model import Catalog
from app.services.catalog.store import current_catalog, seed_catalog
from seed.loader import load_catalog

RESPONSIBILITY = "data-scientist.collect-and-preprocess-data"


def _edited(catalog: Catalog) -> tuple[Catalog, str]:
    """The catalog with one responsibility reworded and one always-applying mitigation gone."""
    roles = []
    for role in catalog.roles:
        responsibilities = tuple(
            dataclasses.replace(r, title="Collect, clean and document data")
            if r.key == RESPONSIBILITY
            else r
            for r in role.responsibilities
        )
        roles.append(dataclasses.replace(role, responsibilities=responsibilities))
    privacy = catalog.challenge("data-privacy")
    dropped = next(m for m in privacy.mitigations if m.applies_when.always)
    challenges = tuple(
        dataclasses.replace(c, mitigations=tuple(m for m in c.mitigations if m is not dropped))
        for c in catalog.challenges
    )
    edited = dataclasses.replace(
        catalog, version="sha256:edited-for-a-test", roles=tuple(roles), challenges=challenges
    )
    return edited, dropped.key


@pytest.fixture
def edited_catalog(app):
    """Seed an edited catalog for one test, and the real one back afterwards."""
    original = load_catalog()
    edited, dropped = _edited(original)
    with app.app_context():
        seed_catalog(db.session, edited)
        db.session.commit()
    try:
        yield dropped
    finally:
        with app.app_context():
            seed_catalog(db.session, original)
            db.session.commit()
            assert current_catalog(db.session).version == original.version


def test_regenerating_after_a_catalog_update_brings_its_changes_and_keeps_state(app, api, request):
    project, _ = staffed_project(api)
    generate(api, project, 201)
    patch_item(api, project, RESPONSIBILITY, {"status": "done", "note": "Pipeline in place"})
    before = read_checklist(api, project)

    dropped = request.getfixturevalue("edited_catalog")
    response = generate(api, project, 200)

    after = response.json
    items = items_by_key(after)
    assert after["revision"] == before["revision"] + 1
    assert after["catalog_version"] == "sha256:edited-for-a-test" != before["catalog_version"]
    assert items[RESPONSIBILITY]["title"] == "Collect, clean and document data"
    assert (items[RESPONSIBILITY]["status"], items[RESPONSIBILITY]["note"]) == (
        "done",
        "Pipeline in place",
    )
    assert items[dropped]["status"] == "obsolete"
    (event,) = [
        e
        for e in api.get(f"/v1/projects/{project['id']}/events").json["items"]
        if e["type"] == "checklist.generated"
    ][:1]
    assert RESPONSIBILITY in event["payload"]["diff"]["changed"]
    assert dropped in event["payload"]["diff"]["obsoleted"]
