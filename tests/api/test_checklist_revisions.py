"""Every revision of a checklist kept: one per transaction that changes it, each readable as it
stood (items, statuses, sign-offs, waivers, evidence, owners, summary) in every format, under an
ETag that never changes; an auditor reads it as of a sign-off."""

from __future__ import annotations

import pytest
from checklist_support import (
    generate,
    in_days,
    item_path,
    items_by_key,
    lapse_waiver,
    patch_item,
    read_checklist,
    staffed_project,
)
from conftest import ApiClient
from databases import fresh_database_like
from factories import assert_problem, assign, create_person, create_project
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select
from ticketing_support import (
    create_integration,
    encode,
    github_headers,
    github_issue,
    post_delivery,
)

from app.extensions import db
from app.models import ChecklistItemVersion
from app.services.catalog.store import seed_catalog
from app.services.context import Context
from app.services.directory import teams
from app.services.migrations import MIGRATIONS_DIR
from seed.loader import load_catalog

PIA = "data-privacy.privacy-impact-assessment"
EVIDENCE = {"add": [{"title": "DPIA v1", "url": "https://wiki.example.com/dpia"}]}
MEDIUM = "data-scientist.collect-and-preprocess-data"
SIGNED = PIA


@pytest.fixture
def clinic(api):
    """A clinical assistant staffed by five people, its checklist generated (revision 1)."""
    project = create_project(
        api, name="Clinic notes", application="healthcare-solutions", traits={"user_facing": True}
    )
    people = {}
    for role, name, extra in (
        ("data-scientist", "Ada Lovelace", {"lead": True}),
        ("machine-learning-engineer", "Alan Turing", {}),
        ("ai-ethicist", "Grace Hopper", {}),
        ("product-manager", "Pam Manager", {}),
        ("ux-designer", "Una Designer", {}),
    ):
        person = create_person(api, name=name)
        assign(api, project, role, person, **extra)
        people[role] = person
    # The clinic's privacy gates are the Privacy Officer's to sign: Grace is that too.
    assign(api, project, "privacy-officer", people["ai-ethicist"])
    generate(api, project, 201)
    return project, people


def _revisions_path(project):
    return f"/v1/projects/{project['id']}/checklist/revisions"


def _revisions(api, project, **query):
    response = api.get(_revisions_path(project), query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _revision(api, project, n, **kwargs):
    return api.get(f"{_revisions_path(project)}/{n}", **kwargs)


def _sign_off(api, project, people):
    body = {"status": "done", "signed_off_by": people["ai-ethicist"]["id"], "evidence": EVIDENCE}
    response = patch_item(api, project, PIA, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_generation_records_revision_one_made_by_the_key(app, api, clinic):
    project, _ = clinic

    page = _revisions(api, project)

    assert page["next_cursor"] is None
    [first] = page["items"]
    assert first["revision"] == 1
    assert first["event_types"] == ["checklist.generated"]
    assert first["actor"] == f"api_key:{first['api_key_id']}"
    assert first["api_key_id"].startswith("key_")
    assert first["person_id"] is None
    current = read_checklist(api, project)
    assert current["revision"] == 1
    assert first["summary"] == current["summary"]
    assert first["catalog_version"] == current["catalog_version"]
    base = app.config["SETTINGS"].public_base_url.rstrip("/")
    url = f"{base}/v1/projects/{project['id']}/checklist/revisions/1"
    assert first["links"] == {
        "json": url,
        "markdown": f"{url}.md",
        "csv": f"{url}.csv",
        "text": f"{url}.txt",
        "html": f"{url}.html",
    }


def test_a_revision_still_shows_the_sign_off_after_a_later_change(api, clinic):
    project, people = clinic
    signed = _sign_off(api, project, people)
    patch_item(api, project, PIA, {"status": "in_progress", "note": "Reopened for v2"})

    at_signoff = _revision(api, project, 2)
    now = read_checklist(api, project)

    assert at_signoff.status_code == 200
    assert now["revision"] == 3
    item = items_by_key(at_signoff.json)[PIA]
    assert item["status"] == "done"
    assert item["signed_off_by"] == people["ai-ethicist"]["id"]
    assert item["signed_off_by_name"] == "Grace Hopper"
    assert item["signed_off_at"] == signed["signed_off_at"]
    assert item["evidence"] == [{"title": "DPIA v1", "url": "https://wiki.example.com/dpia"}]
    assert item["version"] == signed["version"]
    assert at_signoff.json["revision"] == 2
    assert at_signoff.json["event_types"] == [
        "checklist.item.status_changed",
        "checklist.item.updated",
    ]
    assert at_signoff.json["summary"]["by_status"]["done"] == 1
    # Made with Grace's personal key: the revision names her and the key.
    made = {r["revision"]: r for r in _revisions(api, project)["items"]}
    assert made[2]["person_id"] == people["ai-ethicist"]["id"]
    assert made[2]["api_key_id"] == item["signed_off_with"]
    assert made[2]["actor"] == f"api_key:{item['signed_off_with']}"
    assert made[3]["person_id"] is None
    # The checklist as it stood then is the one read then, item for item.
    assert at_signoff.json["items"] == [
        items_by_key(now)[i["key"]] if i["key"] != PIA else i for i in at_signoff.json["items"]
    ]
    assert items_by_key(now)[PIA]["status"] == "in_progress"
    assert items_by_key(now)[PIA]["signed_off_by"] is None
    first = items_by_key(_revision(api, project, 1).json)[PIA]
    assert (first["status"], first["signed_off_by"], first["evidence"]) == ("open", None, [])
    assert [r["revision"] for r in _revisions(api, project)["items"]] == [3, 2, 1]


def test_a_revision_reads_in_every_format_as_it_stood(api, clinic):
    project, people = clinic
    _sign_off(api, project, people)
    patch_item(api, project, PIA, {"status": "in_progress"})
    title = items_by_key(read_checklist(api, project))[PIA]["title"]

    for fmt, mimetype, suffix in (
        ("markdown", "text/markdown", "md"),
        ("csv", "text/csv", "csv"),
        ("text", "text/plain", "txt"),
    ):
        negotiated = _revision(api, project, 2, query_string={"format": fmt})
        by_suffix = api.get(f"{_revisions_path(project)}/2.{suffix}")
        for response in (negotiated, by_suffix):
            assert response.status_code == 200, response.get_data(as_text=True)
            assert response.mimetype == mimetype
            body = response.get_data(as_text=True)
            assert title in body
            assert "Grace Hopper" in body
        assert negotiated.get_data() == by_suffix.get_data()
        assert negotiated.headers["ETag"] == by_suffix.headers["ETag"]
    markdown = _revision(api, project, 2, query_string={"format": "markdown"}).get_data(True)
    assert "**Revision:** 2" in markdown
    later = _revision(api, project, 3, query_string={"format": "markdown"}).get_data(True)
    assert later != markdown
    csv_row = next(
        line
        for line in api.get(f"{_revisions_path(project)}/2.csv").get_data(True).splitlines()
        if PIA in line
    )
    assert ",done," in csv_row
    accepted = _revision(api, project, 2, headers={"Accept": "text/markdown"})
    assert accepted.mimetype == "text/markdown"
    assert _revision(api, project, 2, headers={"Accept": "image/png"}).status_code == 406


def test_a_revisions_etag_never_changes_and_a_client_holding_it_gets_304(api, clinic):
    project, people = clinic
    _sign_off(api, project, people)
    first = _revision(api, project, 2)
    markdown = _revision(api, project, 2, query_string={"format": "markdown"})

    patch_item(api, project, PIA, {"status": "in_progress"})
    patch_item(api, project, MEDIUM, {"note": "Data sheet pending"})
    again = _revision(api, project, 2)
    held = _revision(api, project, 2, headers={"If-None-Match": first.headers["ETag"]})

    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.json == first.json
    assert markdown.headers["ETag"] != first.headers["ETag"]
    assert held.status_code == 304
    assert held.headers["ETag"] == first.headers["ETag"]
    other = _revision(api, project, 3, headers={"If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200


def test_the_revisions_are_listed_newest_first_a_page_at_a_time(api, clinic):
    project, _ = clinic
    for note in ("one", "two", "three", "four"):
        assert patch_item(api, project, MEDIUM, {"note": note}).status_code == 200

    first = api.get(_revisions_path(project), query_string={"limit": 2})
    second = _revisions(api, project, limit=2, cursor=first.json["next_cursor"])
    third = _revisions(api, project, limit=2, cursor=second["next_cursor"])

    assert [r["revision"] for r in first.json["items"]] == [5, 4]
    assert 'rel="next"' in first.headers["Link"]
    assert [r["revision"] for r in second["items"]] == [3, 2]
    assert [r["revision"] for r in third["items"]] == [1]
    assert third["next_cursor"] is None
    assert first.json["items"][0]["event_types"] == ["checklist.item.updated"]
    assert read_checklist(api, project)["revision"] == 5
    bad = api.get(_revisions_path(project), query_string={"cursor": "nonsense"})
    assert_problem(bad, 422)


def test_an_unknown_revision_and_another_teams_checklist_are_404(api, other_api, clinic):
    project, _ = clinic

    for n in (0, 2, 99, 10**12):
        assert_problem(_revision(api, project, n), 404)
    assert_problem(api.get(f"{_revisions_path(project)}/7.md"), 404)
    assert_problem(other_api.get(_revisions_path(project)), 404)
    assert_problem(_revision(other_api, project, 1), 404)
    assert_problem(other_api.get(f"{_revisions_path(project)}/1.txt"), 404)
    bare = create_project(api, name="No checklist yet")
    assert_problem(api.get(_revisions_path(bare)), 404)
    assert_problem(_revision(api, bare, 1), 404)


def test_a_write_that_changes_nothing_records_no_revision(api, clinic):
    project, _ = clinic
    patch_item(api, project, MEDIUM, {"note": "Same"})
    before = _revisions(api, project)["items"]

    unchanged = patch_item(api, project, MEDIUM, {"note": "Same"})
    regenerated = generate(api, project, 200)

    assert unchanged.status_code == 200
    assert regenerated.json["revision"] == 2
    assert _revisions(api, project)["items"] == before
    assert read_checklist(api, project)["revision"] == 2


def test_a_regeneration_records_one_revision_with_its_items_as_they_became(api, clinic):
    project, _ = clinic
    before = read_checklist(api, project)
    newcomer = create_person(api, name="Joan Clarke")

    assign(api, project, "machine-learning-engineer", newcomer)

    page = _revisions(api, project)["items"]
    assert [r["revision"] for r in page] == [2, 1]
    assert "checklist.generated" in page[0]["event_types"]
    now = read_checklist(api, project)
    assert now["revision"] == 2
    assert _revision(api, project, 2).json["items"] == now["items"]
    assert _revision(api, project, 1).json["items"] == before["items"]
    generated = api.get(
        f"/v1/projects/{project['id']}/events", query_string={"type": "checklist.generated"}
    )
    assert generated.json["items"][0]["payload"]["checklist"]["revision"] == 2


def test_a_renamed_owner_shows_by_their_new_name_only_from_the_next_revision(api, clinic):
    project, people = clinic
    ada = people["data-scientist"]

    renamed = api.patch(f"/v1/people/{ada['id']}", json={"name": "Ada King"})

    assert renamed.status_code == 200
    old, new = (items_by_key(_revision(api, project, n).json)[MEDIUM] for n in (1, 2))
    assert [o["name"] for o in old["owners"]] == ["Ada Lovelace"]
    assert [o["name"] for o in new["owners"]] == ["Ada King"]
    assert _revisions(api, project)["items"][0]["event_types"] == ["person.updated"]


def test_the_worker_records_a_lapse_as_a_revision_made_by_the_system(app, api, clinic):
    project, _ = clinic
    patch_item(
        api,
        project,
        MEDIUM,
        {"waiver": {"reason": "Until the external audit", "expires_on": in_days(1)}},
    )
    waived = _revision(api, project, 2).json
    lapse_waiver(app, project["id"], MEDIUM)

    result = app.test_cli_runner().invoke(args=["webhooks", "worker", "--once"])

    assert result.exit_code == 0, result.output
    latest = _revisions(api, project)["items"][0]
    assert latest["revision"] == 3
    assert (latest["actor"], latest["api_key_id"]) == ("system", None)
    assert latest["event_types"] == ["checklist.item.status_changed"]
    assert items_by_key(_revision(api, project, 3).json)[MEDIUM]["status"] == "open"
    assert items_by_key(waived)[MEDIUM]["status"] == "waived"
    assert api.get(item_path(project, MEDIUM)).json["status"] == "open"


def test_existing_checklists_are_recorded_as_their_current_revision(app, app_with, tmp_path):
    """Migration 0013 records each checklist as it stands as its current revision, exactly as
    the application records one: the revision reads as the checklist does, and the next change
    writes a version of the changed item alone."""
    with fresh_database_like(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path) as url:
        other = app_with(database_url=url)
        with other.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
            seed_catalog(db.session, load_catalog())
            ctx = Context("cli")
            team = teams.create_team(db.session, ctx, "Migrated")
            _, token = teams.create_key(db.session, ctx, team, ("read", "write", "admin"), "t")
            db.session.commit()
        api = ApiClient(other.test_client(), token, team.id)
        project, people = staffed_project(
            api,
            name="Before history",
            application="healthcare-solutions",
            traits={"user_facing": True},
        )
        # The privacy gates are the Privacy Officer's to sign: Grace is that too.
        assign(api, project, "privacy-officer", people["ai-ethicist"])
        generate(api, project, 201)
        body = {
            "status": "done",
            "signed_off_by": people["ai-ethicist"]["id"],
            "evidence": EVIDENCE,
        }
        assert patch_item(api, project, SIGNED, body).status_code == 200
        waiver = {"reason": "Until the external audit", "expires_on": in_days(30)}
        assert patch_item(api, project, MEDIUM, {"waiver": waiver}).status_code == 200
        assert patch_item(api, project, MEDIUM, {"note": "Audit booked"}).status_code == 200
        with other.app_context():
            downgrade(directory=str(MIGRATIONS_DIR), revision="0010")
            upgrade(directory=str(MIGRATIONS_DIR))
            db.session.remove()
        checklist = read_checklist(api, project)
        revisions = api.get(f"/v1/projects/{project['id']}/checklist/revisions").json["items"]
        recorded = api.get(f"/v1/projects/{project['id']}/checklist/revisions/4").json

        assert checklist["revision"] == 4
        assert len(checklist["items"]) > 20
        assert [(r["revision"], r["actor"], r["event_types"]) for r in revisions] == [
            (4, "migration", [])
        ]
        assert revisions[0]["summary"] == checklist["summary"]
        assert recorded["items"] == checklist["items"]
        assert recorded["project"] == checklist["project"]
        assert recorded["context"] == checklist["context"]

        done = patch_item(api, project, MEDIUM, {"note": "Audit done"})
        assert done.status_code == 200, done.json
        with other.app_context():
            versions = db.session.execute(
                select(ChecklistItemVersion.from_revision, func.count()).group_by(
                    ChecklistItemVersion.from_revision
                )
            ).all()
            db.session.remove()
            db.engine.dispose()

    assert dict(versions) == {4: len(checklist["items"]), 5: 1}


def test_revisions_recorded_before_0015_show_no_release_and_the_next_change_shows_it(
    app, app_with, tmp_path
):
    """Migration 0015 adds the release to revisions in place: those recorded before it keep
    every item and show `release` null (it was not kept); the checklist still says which
    release it is for, and the next change records a revision that shows it."""
    with fresh_database_like(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path) as url:
        other = app_with(database_url=url)
        with other.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
            seed_catalog(db.session, load_catalog())
            ctx = Context("cli")
            team = teams.create_team(db.session, ctx, "Migrated")
            _, token = teams.create_key(db.session, ctx, team, ("read", "write", "admin"), "t")
            db.session.commit()
        api = ApiClient(other.test_client(), token, team.id)
        project, _ = staffed_project(api, name="Released before")
        generate(api, project, 201)
        releases = f"/v1/projects/{project['id']}/releases"
        model = {"name": "llama-3", "version": "8b-instruct", "provider": "self-hosted"}
        opened = api.post(releases, json={"version": "0.1.0", "model": model})
        assert opened.status_code == 201, opened.json
        shipped = api.patch(f"{releases}/0.1.0", json={"status": "shipped"})
        assert shipped.status_code == 200, shipped.json
        before = {n: _revision(api, project, n).json for n in (1, 2, 3)}
        assert before[3]["release"]["status"] == "shipped"
        with other.app_context():
            downgrade(directory=str(MIGRATIONS_DIR), revision="0014")
            upgrade(directory=str(MIGRATIONS_DIR))
            db.session.remove()

        after = {n: _revision(api, project, n).json for n in (1, 2, 3)}
        listed = api.get(_revisions_path(project)).json["items"]
        checklist = read_checklist(api, project)
        noted = patch_item(api, project, MEDIUM, {"note": "Data sheet pending"})
        latest = api.get(_revisions_path(project)).json["items"][0]
        recorded = _revision(api, project, 4).json
        with other.app_context():
            db.engine.dispose()

    for n in (1, 2, 3):
        assert after[n]["release"] is None
        assert after[n]["items"] == before[n]["items"]
        assert {**after[n], "release": before[n]["release"]} == before[n]
    assert [r["release"] for r in listed] == [None, None, None]
    assert checklist["release"] == before[3]["release"]
    assert noted.status_code == 200, noted.json
    assert latest["revision"] == 4
    assert recorded["release"] == before[3]["release"]


def test_a_sign_off_from_the_tracker_is_a_revision_made_by_its_sender(api, client):
    project = create_project(api, name="Tracked", application="healthcare-solutions")
    ada = create_person(api, name="Ada Lovelace")
    grace = create_person(api, name="Grace Hopper", handles={"github": "Grace-H"})
    assign(api, project, "data-scientist", ada, lead=True)
    assign(api, project, "ai-ethicist", grace)
    assign(api, project, "privacy-officer", grace)  # whose sign-off the PIA needs
    generate(api, project, 201)
    ticket = {"system": "github", "key": "acme/app#12"}
    assert (
        patch_item(api, project, PIA, {"evidence": EVIDENCE, "ticket": ticket}).status_code == 200
    )
    integration = create_integration(api, "github")
    body = encode(github_issue("closed", sender="grace-h"))

    closed = post_delivery(client, integration, body, github_headers(integration["secret"], body))

    assert closed.status_code == 200, closed.json
    latest = _revisions(api, project)["items"][0]
    assert latest["revision"] == 3
    assert latest["actor"] == f"integration:{integration['id']}"
    assert (latest["api_key_id"], latest["person_id"]) == (None, grace["id"])
    assert latest["event_types"][0] == "checklist.item.status_changed"
    signed = items_by_key(_revision(api, project, 3).json)[PIA]
    assert (signed["status"], signed["signed_off_by_name"]) == ("done", "Grace Hopper")
    assert items_by_key(_revision(api, project, 2).json)[PIA]["status"] == "open"
