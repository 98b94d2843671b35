"""Working a checklist's items: status, notes, waivers and tickets, and what one person owns."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from checklist_support import (
    flat_errors,
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
from factories import assert_problem, assign, create_person, create_project, event_count, events_of
from sqlalchemy import select

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import ChecklistItem
from app.services.checklists.tickets import MARKER_PREFIX, ticket_text

KEY = "data-scientist.collect-and-preprocess-data"


def _today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture
def project(api):
    """A project with the five key roles staffed and its checklist generated."""
    created, _ = staffed_project(api)
    generate(api, created, 201)
    return created


def _item_events(api, project, type_):
    return events_of(api, f"/v1/projects/{project['id']}/events", type=type_)


def _stored(api, project, key: str = KEY) -> dict:
    """The item as it reads back: a write's answer must be what was kept."""
    response = api.get(item_path(project, key))
    assert response.status_code == 200, response.json
    return response.json


# --------------------------------------------------------------------------- reading one item


def test_an_item_is_found_by_id_and_by_key(api, project):
    by_key = api.get(item_path(project, KEY))

    assert by_key.status_code == 200
    item = by_key.json
    assert item["id"].startswith("itm_")
    assert item["key"] == KEY
    assert item["role_titles"] == ["Data Scientist"]
    assert item["because"]
    assert item["source"]["kind"] == "article"
    by_id = api.get(item_path(project, item["id"]))
    assert by_id.status_code == 200
    assert by_id.json == item
    assert by_id.headers["ETag"] == by_key.headers["ETag"]


def test_an_unknown_item_is_a_404_problem(api, project):
    assert_problem(api.get(item_path(project, "no-such.item")), 404)
    assert_problem(api.get(item_path(project, "itm_doesnotexist")), 404)


def test_items_of_a_project_without_checklist_are_404(api):
    project = create_project(api)

    assert_problem(api.get(item_path(project, KEY)), 404)


# --------------------------------------------------------------------------- status and notes


def test_marking_an_item_in_progress_then_done_records_status_events(api, project):
    started = patch_item(api, project, KEY, {"status": "in_progress"})
    finished = patch_item(api, project, KEY, {"status": "done", "note": "Sources listed"})

    assert started.status_code == 200
    assert started.json["status"] == "in_progress"
    assert finished.status_code == 200
    assert finished.json["status"] == "done"
    assert finished.json["note"] == "Sources listed"
    assert api.get(item_path(project, KEY)).json == finished.json
    newest, oldest = _item_events(api, project, "checklist.item.status_changed")
    assert oldest["payload"]["before"]["status"] == "open"
    assert oldest["payload"]["after"]["status"] == "in_progress"
    assert newest["payload"]["before"]["status"] == "in_progress"
    assert newest["payload"]["after"]["status"] == "done"
    snapshot = newest["payload"]["item"]
    assert snapshot["key"] == KEY
    assert snapshot["id"] == finished.json["id"]
    assert newest["payload"]["project"]["id"] == project["id"]
    assert snapshot["links"]["api"].endswith(
        f"/v1/projects/{project['id']}/checklist/items/{snapshot['id']}"
    )
    assert [o["email"] for o in snapshot["owners"]] == [o["email"] for o in finished.json["owners"]]
    assert items_by_key(read_checklist(api, project))[KEY]["status"] == "done"


def test_a_note_alone_changes_no_status(api, project):
    response = patch_item(api, project, KEY, {"note": "Waiting for the data owner"})

    assert response.status_code == 200
    assert response.json["status"] == "open"
    assert response.json["note"] == "Waiting for the data owner"
    assert _stored(api, project) == response.json
    assert _item_events(api, project, "checklist.item.status_changed") == []
    (updated,) = _item_events(api, project, "checklist.item.updated")
    assert updated["payload"]["after"]["note"] == "Waiting for the data owner"


def test_a_patch_that_changes_nothing_records_no_event(app, api, project):
    patch_item(api, project, KEY, {"status": "done"})
    before = event_count(app)

    response = patch_item(api, project, KEY, {"status": "done"})

    assert response.status_code == 200
    assert response.json["status"] == "done"
    assert _stored(api, project) == response.json
    assert event_count(app) == before


# --------------------------------------------------------------------------- waivers


def _ethicist(api, project):
    """The person staffed as AI Ethicist on the fixture project."""
    (owner,) = api.get(item_path(project, "ai-ethicist.educate-teams")).json["owners"]
    return owner


def test_a_waiver_waives_the_item_with_its_reason_approver_and_expiry(api, project):
    expires = (_today() + timedelta(days=30)).isoformat()
    ethicist = _ethicist(api, project)

    response = patch_item(
        api,
        project,
        KEY,
        {
            "waiver": {
                "reason": "Data comes from a vendor",
                "approved_by": ethicist["id"],
                "expires_on": expires,
            }
        },
    )

    assert response.status_code == 200
    assert response.json["status"] == "waived"
    assert response.json["waiver"] == {
        "reason": "Data comes from a vendor",
        "approved_by": ethicist["id"],
        "approver_name": ethicist["name"],
        "requested_by": None,
        "expires_on": expires,
        "residual_risk": None,
        # The approver's own key recorded it (the client made one for them).
        "approved_with": _personal_key_id(api, ethicist),
    }
    assert _stored(api, project) == response.json
    (event,) = _item_events(api, project, "checklist.item.status_changed")
    assert event["payload"]["before"] == {"status": "open", "waiver": None, "signed_off_by": None}
    assert event["payload"]["after"]["status"] == "waived"
    assert event["payload"]["after"]["waiver"]["reason"] == "Data comes from a vendor"


def _personal_key_id(api, person):
    (key,) = api.get(f"/v1/people/{person['id']}/keys").json["items"]
    return key["id"]


def test_reopening_a_waived_item_drops_its_waiver(api, project):
    waiver = {"reason": "Not needed for this pilot", "expires_on": in_days(30)}
    assert patch_item(api, project, KEY, {"waiver": waiver}).json["status"] == "waived"

    response = patch_item(api, project, KEY, {"status": "open"})

    assert response.status_code == 200
    assert response.json["status"] == "open"
    assert response.json["waiver"] is None
    assert _stored(api, project) == response.json


def test_waived_status_without_a_waiver_is_refused_naming_the_reason(app, api, project):
    before = event_count(app)

    body = assert_problem(patch_item(api, project, KEY, {"status": "waived"}), 422)

    assert "waiver.reason" in flat_errors(body["errors"])
    assert api.get(item_path(project, KEY)).json["status"] == "open"
    assert event_count(app) == before


# --------------------------------------------------------------------------- tickets


@pytest.mark.parametrize(
    "ticket",
    [
        {
            "system": "github",
            "key": "acme/model-repo#12",
            "url": "https://github.com/acme/x/issues/12",
        },
        {"system": "jira", "key": "PROJ-123"},
        {"system": "linear", "key": "ENG-42", "url": None},
    ],
)
def test_linking_a_ticket_records_a_ticket_event_with_before_and_after(api, project, ticket):
    response = patch_item(api, project, KEY, {"ticket": ticket})

    assert response.status_code == 200
    assert response.json["ticket"]["system"] == ticket["system"]
    assert response.json["ticket"]["key"] == ticket["key"]
    assert response.json["status"] == "open"
    assert _stored(api, project) == response.json
    (event,) = _item_events(api, project, "checklist.item.ticket_linked")
    assert event["payload"]["before"] == {"ticket": None}
    assert event["payload"]["after"]["ticket"]["key"] == ticket["key"]
    assert event["payload"]["item"]["ticket"]["key"] == ticket["key"]
    assert _item_events(api, project, "checklist.item.status_changed") == []


def test_relinking_a_ticket_shows_the_old_one_in_before(api, project):
    patch_item(api, project, KEY, {"ticket": {"system": "jira", "key": "PROJ-1"}})

    patch_item(api, project, KEY, {"ticket": {"system": "jira", "key": "PROJ-2"}})

    newest = _item_events(api, project, "checklist.item.ticket_linked")[0]
    assert newest["payload"]["before"]["ticket"]["key"] == "PROJ-1"
    assert newest["payload"]["after"]["ticket"]["key"] == "PROJ-2"
    assert _stored(api, project)["ticket"]["key"] == "PROJ-2"


# --------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "finished"}, "status"),
        ({"status": "obsolete"}, "status"),
        ({"waiver": {"approved_by": "per_x"}}, "waiver.reason"),
        ({"waiver": {"reason": ""}}, "waiver.reason"),
        ({"ticket": {"system": "trello", "key": "ABC-1"}}, "ticket.system"),
        ({"ticket": {"system": "github", "key": "PROJ-123"}}, "ticket.key"),
        ({"ticket": {"system": "github", "key": "owner/repo"}}, "ticket.key"),
        ({"ticket": {"system": "jira", "key": "proj-123"}}, "ticket.key"),
        ({"ticket": {"system": "linear", "key": "ENG42"}}, "ticket.key"),
        (
            {"ticket": {"system": "jira", "key": "PROJ-1", "url": "javascript:alert(1)"}},
            "ticket.url",
        ),
        ({"colour": "red"}, "colour"),
        ({"note": "x" * 5001}, "note"),
    ],
)
def test_a_bad_patch_is_a_422_naming_the_field_and_changes_nothing(app, api, project, body, field):
    before_item = api.get(item_path(project, KEY)).json
    before_events = event_count(app)

    problem = assert_problem(api.patch(item_path(project, KEY), json=body), 422)

    assert field in flat_errors(problem.get("errors")), problem
    assert api.get(item_path(project, KEY)).json == before_item
    assert event_count(app) == before_events


def test_a_waiver_expiring_in_the_past_is_refused(api, project):
    yesterday = (_today() - timedelta(days=1)).isoformat()

    problem = assert_problem(
        patch_item(api, project, KEY, {"waiver": {"reason": "Old", "expires_on": yesterday}}), 422
    )

    assert "waiver.expires_on" in flat_errors(problem["errors"])
    assert api.get(item_path(project, KEY)).json["status"] == "open"


def test_the_status_of_an_obsolete_item_cannot_change(api):
    project, _ = staffed_project(api)
    extra = create_person(api)
    assignment = assign(api, project, "product-manager", extra)
    generate(api, project, 201)
    key = "product-manager.define-vision-and-strategy"
    api.delete(f"/v1/projects/{project['id']}/assignments/{assignment['id']}")
    assert api.get(item_path(project, key)).json["status"] == "obsolete"

    assert_problem(patch_item(api, project, key, {"status": "done"}), 409)
    assert_problem(patch_item(api, project, key, {"waiver": {"reason": "No PM"}}), 409)
    refused = _stored(api, project, key)
    assert (refused["status"], refused["waiver"]) == ("obsolete", None)
    # Its note and ticket can still be kept up to date.
    noted = patch_item(api, project, key, {"note": "PM left the project"})
    assert noted.status_code == 200
    assert noted.json["status"] == "obsolete"
    assert noted.json["note"] == "PM left the project"
    assert _stored(api, project, key) == noted.json


# --------------------------------------------------------------------------- concurrency


def test_if_match_with_a_stale_etag_is_412_and_changes_nothing(app, api, project):
    first = api.get(item_path(project, KEY))
    etag = first.headers["ETag"]
    current = patch_item(api, project, KEY, {"status": "in_progress"}, headers={"If-Match": etag})
    assert current.status_code == 200
    assert current.headers["ETag"] != etag
    before_events = event_count(app)

    stale = patch_item(api, project, KEY, {"status": "done"}, headers={"If-Match": etag})

    assert_problem(stale, 412)
    assert api.get(item_path(project, KEY)).json["status"] == "in_progress"
    assert event_count(app) == before_events
    fresh = patch_item(
        api, project, KEY, {"status": "done"}, headers={"If-Match": current.headers["ETag"]}
    )
    assert fresh.status_code == 200
    assert fresh.json["status"] == "done"
    assert _stored(api, project) == fresh.json


def test_an_item_answers_304_to_its_current_etag(api, project):
    first = api.get(item_path(project, KEY))

    again = api.get(item_path(project, KEY), headers={"If-None-Match": first.headers["ETag"]})

    assert again.status_code == 304
    patch_item(api, project, KEY, {"note": "changed"})
    changed = api.get(item_path(project, KEY), headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.json["note"] == "changed"


# --------------------------------------------------------------------------- waiver expiry


def _sweep(app) -> str:
    """What the delivery worker does every minute: `flask webhooks worker --once` records
    the lapsed waivers (then delivers what is due)."""
    result = app.test_cli_runner().invoke(args=["webhooks", "worker", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_lapsed_waiver_reads_as_open_and_expired_and_the_read_records_nothing(app, api, project):
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    other = "machine-learning-engineer.deploy-models"
    response = patch_item(
        api,
        project,
        KEY,
        {"waiver": {"reason": "Until the external audit", "expires_on": tomorrow}},
    )
    assert response.json["status"] == "waived"
    # A waiver whose day has not come stays.
    patch_item(
        api,
        project,
        other,
        {"waiver": {"reason": "Deployed by the vendor", "expires_on": in_days(300)}},
    )
    expired_on = lapse_waiver(app, project["id"], KEY)
    version = api.get(item_path(project, KEY)).json["version"]

    doc = read_checklist(api, project)
    items = items_by_key(doc)

    assert items[KEY]["status"] == "open"
    assert items[KEY]["waiver"]["expired"] is True
    assert items[KEY]["waiver"]["expires_on"] == expired_on
    assert items[KEY]["waiver"]["reason"] == "Until the external audit"
    assert items[other]["status"] == "waived"
    assert "expired" not in items[other]["waiver"]
    assert doc["summary"]["by_status"]["waived"] == 1
    one = api.get(item_path(project, KEY))
    assert one.json["status"] == "open" and one.json["waiver"]["expired"] is True
    # Nothing was written: the item keeps its version, and no event tells of the lapse.
    assert one.json["version"] == version
    assert len(_item_events(api, project, "checklist.item.status_changed")) == 2
    markdown = api.get(f"/v1/projects/{project['id']}/checklist?format=markdown").text
    assert f"waiver expired on {expired_on}" in markdown


def test_the_worker_records_a_lapsed_waiver_once_with_its_event(app, api, project):
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    patch_item(
        api,
        project,
        KEY,
        {"waiver": {"reason": "Until the external audit", "expires_on": tomorrow}},
    )
    expired_on = lapse_waiver(app, project["id"], KEY)
    read = api.get(item_path(project, KEY))

    output = _sweep(app)

    assert "1 checklist(s) with lapsed waivers recorded" in output
    item = api.get(item_path(project, KEY))
    assert item.json["status"] == "open" and item.json["waiver"] is None
    assert item.json["version"] == read.json["version"] + 1
    assert item.headers["ETag"] != read.headers["ETag"]
    event = _item_events(api, project, "checklist.item.status_changed")[0]
    assert event["actor"] == "system"
    assert event["payload"]["item"]["key"] == KEY
    assert event["payload"]["before"]["status"] == "waived"
    assert event["payload"]["after"]["status"] == "open"
    assert event["payload"]["reason"] == f"waiver expired on {expired_on}"
    # Once only: the next sweep finds nothing due.
    assert "0 checklist(s) with lapsed waivers recorded" in _sweep(app)
    assert len(_item_events(api, project, "checklist.item.status_changed")) == 2


def test_the_next_write_to_the_checklist_records_a_lapsed_waiver_first(app, api, project):
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    patch_item(
        api,
        project,
        KEY,
        {"waiver": {"reason": "Until the external audit", "expires_on": tomorrow}},
    )
    expired_on = lapse_waiver(app, project["id"], KEY)
    read = api.get(item_path(project, KEY))

    # A client that read the lapsed item writes with its ETag: it is the one it saw.
    response = patch_item(
        api, project, KEY, {"note": "audit booked"}, headers={"If-Match": read.headers["ETag"]}
    )

    assert response.status_code == 200
    assert response.json["status"] == "open" and response.json["waiver"] is None
    assert response.json["note"] == "audit booked"
    changes = _item_events(api, project, "checklist.item.status_changed")
    assert changes[0]["payload"]["reason"] == f"waiver expired on {expired_on}"
    updated = _item_events(api, project, "checklist.item.updated")[0]
    assert updated["payload"]["after"]["note"] == "audit booked"


# --------------------------------------------------------------------------- one person's items


def _two_projects_of(api, person):
    first = create_project(api, name="Alpha Project", application="other")
    second = create_project(api, name="Beta Project", application="other")
    assign(api, first, "data-scientist", person)
    assign(api, second, "ai-ethicist", person)
    for project in (first, second):
        generate(api, project, 201)
    return first, second


def test_a_person_sees_what_they_own_across_projects(api):
    ada = create_person(api, name="Ada Owner")
    first, second = _two_projects_of(api, ada)

    response = api.get(f"/v1/people/{ada['id']}/checklist-items")

    assert response.status_code == 200
    doc = response.json
    assert doc["person"]["id"] == ada["id"]
    keys_by_project: dict[str, set[str]] = {}
    for item in doc["items"]:
        assert ada["id"] in [o["id"] for o in item["owners"]]
        keys_by_project.setdefault(item["project"]["id"], set()).add(item["key"])
    assert set(keys_by_project) == {first["id"], second["id"]}
    assert "data-scientist.collect-and-preprocess-data" in keys_by_project[first["id"]]
    assert "ai-ethicist.educate-teams" in keys_by_project[second["id"]]
    assert "ai-ethicist.educate-teams" not in keys_by_project[first["id"]]
    assert doc["summary"]["total"] == len(doc["items"])
    # Items owned by nobody or by others are not in it.
    first_doc = read_checklist(api, first)
    owned = [i for i in first_doc["items"] if ada["id"] in [o["id"] for o in i["owners"]]]
    assert len(owned) == len(keys_by_project[first["id"]])


@pytest.mark.parametrize(
    ("fmt", "mimetype"),
    [("markdown", "text/markdown"), ("csv", "text/csv"), ("text", "text/plain")],
)
def test_a_persons_items_come_in_every_format(api, fmt, mimetype):
    ada = create_person(api, name="Ada Owner")
    first, second = _two_projects_of(api, ada)
    json_items = api.get(f"/v1/people/{ada['id']}/checklist-items").json["items"]

    response = api.get(f"/v1/people/{ada['id']}/checklist-items", query_string={"format": fmt})

    assert response.status_code == 200
    assert response.mimetype == mimetype
    body = response.get_data(as_text=True)
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(body)))
        assert len(rows) == len(json_items)
        assert {r["project"] for r in rows} == {first["slug"], second["slug"]}
        assert [r["key"] for r in rows] == [i["key"] for i in json_items]
    else:
        assert "Ada Owner" in body
        for item in json_items:
            assert item["key"] in body
        if fmt == "markdown":
            assert body.count("- [ ]") + body.count("- [x]") == len(json_items)


def test_a_person_of_another_team_is_404(api, other_api):
    ada = create_person(api)
    _two_projects_of(api, ada)

    assert_problem(other_api.get(f"/v1/people/{ada['id']}/checklist-items"), 404)


def test_another_team_cannot_read_or_change_the_items(api, other_api, project):
    item = api.get(item_path(project, KEY)).json

    for ref in (KEY, item["id"]):
        assert_problem(other_api.get(item_path(project, ref)), 404)
        assert_problem(other_api.patch(item_path(project, ref), json={"status": "done"}), 404)
    assert api.get(item_path(project, KEY)).json["status"] == "open"


def test_one_item_and_a_persons_items_show_a_lapse_the_database_does_not_hold_yet(
    app, api, project
):
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    patch_item(
        api,
        project,
        KEY,
        {"waiver": {"reason": "Until the external audit", "expires_on": tomorrow}},
    )
    lapse_waiver(app, project["id"], KEY)

    item = api.get(item_path(project, KEY)).json
    owner = item["owners"][0]["id"]
    mine = api.get(f"/v1/people/{owner}/checklist-items").json

    assert item["status"] == "open"
    assert item["waiver"]["expired"] is True
    (shown,) = [i for i in mine["items"] if i["key"] == KEY]
    assert shown["status"] == "open" and shown["waiver"]["expired"] is True
    # The person's summary counts it as the open item it reads as.
    assert mine["summary"]["by_status"]["waived"] == 0
    assert mine["summary"]["by_status"]["open"] == sum(
        1 for i in mine["items"] if i["status"] == "open"
    )
    with app.app_context():
        stored = db.session.scalar(
            select(ChecklistItem).where(
                ChecklistItem.project_id == project["id"], ChecklistItem.key == KEY
            )
        )
        assert stored.status == "waived"


def test_a_regeneration_also_turns_an_expired_waiver_back_to_open(app, api, project):
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    patch_item(
        api,
        project,
        KEY,
        {"waiver": {"reason": "Until the external audit", "expires_on": tomorrow}},
    )
    lapse_waiver(app, project["id"], KEY)

    # A staffing change regenerates the checklist before anyone reads it.
    assign(api, project, "product-manager", create_person(api, name="Pat Manager"))

    with app.app_context():
        item = db.session.scalar(
            select(ChecklistItem).where(
                ChecklistItem.project_id == project["id"], ChecklistItem.key == KEY
            )
        )
        assert (item.status, item.waiver) == ("open", None)
    (event,) = _item_events(api, project, "checklist.item.status_changed")[:1]
    assert "expired" in event["payload"]["reason"]


def test_a_persons_items_do_not_show_expired_waivers(app, api):
    ada = create_person(api, name="Ada Owner")
    first, _ = _two_projects_of(api, ada)
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    patch_item(
        api, first, KEY, {"waiver": {"reason": "Until the external audit", "expires_on": tomorrow}}
    )
    lapse_waiver(app, first["id"], KEY)

    items = api.get(f"/v1/people/{ada['id']}/checklist-items").json["items"]

    (item,) = [i for i in items if i["key"] == KEY]
    assert item["status"] == "open"


# --------------------------------------------------------------------------- ticket-ready events

PUBLIC = "https://staffing.example.org/checklists"


@pytest.fixture
def public_api(app, api) -> Iterator[ApiClient]:
    """The same team through another instance of the service on the same database, reached by
    clients at PUBLIC (given with a trailing slash, as operators write it)."""
    settings = dataclasses.replace(app.config["SETTINGS"], public_base_url=PUBLIC + "/")
    instance = create_app(settings, {"TESTING": True})
    yield ApiClient(instance.test_client(), api.token, api.team_id)
    with instance.app_context():
        db.engine.dispose()


def _ticket_ready_project(api):
    """Clinic notes, with Ada Lovelace (handles in two systems) as its lead Data Scientist."""
    project = create_project(
        api,
        name="Clinic notes",
        application="healthcare-solutions",
        traits={"handles_personal_data": True},
    )
    ada = create_person(
        api,
        name="Ada Lovelace",
        email="ada@example.com",
        handles={"github": "ada-l", "jira": "ada.lovelace"},
    )
    assign(api, project, "data-scientist", ada, lead=True)
    generate(api, project, 201)
    return project, ada


def test_an_item_event_carries_everything_a_ticket_needs_with_absolute_links(public_api):
    project, ada = _ticket_ready_project(public_api)

    patch_item(public_api, project, KEY, {"status": "in_progress"})

    (event,) = _item_events(public_api, project, "checklist.item.status_changed")
    data = event["payload"]
    assert data["project"] == {
        "id": project["id"],
        "name": "Clinic notes",
        "slug": project["slug"],
        "application": "healthcare-solutions",
        "traits": ["handles_personal_data", "regulated_domain"],
        "implied_traits": ["regulated_domain"],
        "model_source": None,
    }
    item = data["item"]
    assert item["key"] == KEY
    assert item["kind"] == "responsibility"
    assert item["title"] and item["detail"] and item["because"]
    assert item["roles"] == ["data-scientist"]
    assert item["role_titles"] == ["Data Scientist"]
    assert item["owners"] == [
        {
            "id": ada["id"],
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "handles": {"github": "ada-l", "jira": "ada.lovelace"},
        }
    ]
    assert item["priority"] == "medium"
    assert item["status"] == "in_progress"
    assert item["ticket"] is None
    assert item["links"] == {
        "api": f"{PUBLIC}/v1/projects/{project['id']}/checklist/items/{item['id']}",
        "checklist_markdown": f"{PUBLIC}/v1/projects/{project['slug']}/checklist?format=markdown",
        # The project has no ticket link (tests/api/test_checklist_shares.py has one).
        "share": None,
    }
    assert (data["before"], data["after"]) == (
        {"status": "open", "waiver": None, "signed_off_by": None},
        {"status": "in_progress", "waiver": None, "signed_off_by": None},
    )
    assert data["reason"] is None
    # The links answer: the item itself, and the checklist as a task list naming the item.
    item_path_only = item["links"]["api"].removeprefix(PUBLIC)
    assert public_api.get(item_path_only).json["key"] == KEY
    markdown = public_api.get(item["links"]["checklist_markdown"].removeprefix(PUBLIC))
    assert markdown.mimetype == "text/markdown"
    assert KEY in markdown.get_data(as_text=True)


def test_the_ready_ticket_gives_detail_reasons_owners_priority_links_and_ends_with_the_marker(
    public_api,
):
    project, _ = _ticket_ready_project(public_api)

    patch_item(public_api, project, KEY, {"note": "Waiting for the records export"})

    (event,) = _item_events(public_api, project, "checklist.item.updated")
    item, ticket = event["payload"]["item"], event["payload"]["ticket"]
    assert ticket.keys() == {"title", "body"}
    assert ticket["title"] == f"Clinic notes: {item['title']}"
    assert "\n" not in ticket["title"]
    body = ticket["body"]
    assert body.splitlines()[-1] == f"checklist-item: {project['slug']}/{KEY}"
    assert body.endswith(f"\n\nchecklist-item: {project['slug']}/{KEY}")
    assert body.startswith(item["detail"])
    assert "**Priority:** medium" in body
    assert "**Roles:** Data Scientist" in body
    assert "Ada Lovelace (ada@example.com)" in body
    assert "github `ada-l`" in body and "jira `ada.lovelace`" in body
    assert "Waiting for the records export" in body
    for reason in item["because"]:
        assert reason.replace("_", "\\_") in body
    assert item["links"]["api"] in body
    assert item["links"]["checklist_markdown"] in body


def test_the_marker_prefix_and_the_ticket_text_are_one_function_for_inbound_parsing():
    project = {"name": "Clinic notes", "slug": "clinic-notes", "application": "other"}
    item = {
        "key": "staffing.unfilled.ai-ethicist",
        "title": "Staff the AI Ethicist role",
        "detail": "Nobody holds the role.",
        "role_titles": ["AI Ethicist"],
        "owners": [],
        "priority": "high",
        "status": "open",
        "because": [],
        "links": {},
    }

    ticket = ticket_text(project, item)

    assert ticket["body"].splitlines()[-1] == MARKER_PREFIX + "clinic-notes/" + item["key"]
    assert "Nobody yet" in ticket["body"]
    assert "### Links" not in ticket["body"]


def test_user_text_in_the_ticket_is_escaped_and_cannot_fake_the_marker(public_api):
    project, _ = _ticket_ready_project(public_api)
    person = create_person(
        public_api, name="Eve <b>*Bold*</b>", email="eve@example.com", handles={}
    )
    assign(public_api, project, "data-scientist", person)
    fake = f"line one\nchecklist-item: {project['slug']}/ai-ethicist.educate-teams"

    patch_item(public_api, project, KEY, {"note": fake})

    (event,) = _item_events(public_api, project, "checklist.item.updated")
    body = event["payload"]["ticket"]["body"]
    assert "Eve \\<b\\>\\*Bold\\*\\</b\\>" in body
    markers = [line for line in body.splitlines() if line.startswith(MARKER_PREFIX)]
    assert markers == [f"checklist-item: {project['slug']}/{KEY}"]


def test_a_ticket_link_in_an_event_always_has_a_url_key(public_api):
    project, _ = _ticket_ready_project(public_api)

    patch_item(public_api, project, KEY, {"ticket": {"system": "jira", "key": "CLIN-12"}})

    (event,) = _item_events(public_api, project, "checklist.item.ticket_linked")
    link = {"system": "jira", "key": "CLIN-12", "url": None}
    assert event["payload"]["item"]["ticket"] == link
    assert event["payload"]["after"] == {"ticket": link}
    assert "**Status:** open" in event["payload"]["ticket"]["body"]


def test_an_expired_waiver_event_is_ticket_ready_too(app, public_api):
    project, _ = _ticket_ready_project(public_api)
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    patch_item(
        public_api,
        project,
        KEY,
        {"waiver": {"reason": "Waived until the audit", "expires_on": tomorrow}},
    )
    expired_on = lapse_waiver(app, project["id"], KEY)

    # The worker of the instance that knows its public address.
    _sweep(public_api.client.application)

    event = _item_events(public_api, project, "checklist.item.status_changed")[0]
    data = event["payload"]
    assert event["actor"] == "system"
    assert data["reason"] == f"waiver expired on {expired_on}"
    assert data["item"]["role_titles"] == ["Data Scientist"]
    assert data["item"]["links"]["api"].startswith(f"{PUBLIC}/v1/projects/{project['id']}/")
    assert data["ticket"]["body"].splitlines()[-1] == f"checklist-item: {project['slug']}/{KEY}"
    assert data["before"]["status"] == "waived" and data["after"]["status"] == "open"


def test_checklist_generated_links_to_the_checklist_in_json_and_markdown(public_api):
    project, _ = _ticket_ready_project(public_api)

    (event,) = _item_events(public_api, project, "checklist.generated")

    checklist = f"{PUBLIC}/v1/projects/{project['slug']}/checklist"
    assert event["payload"]["links"] == {
        "api": checklist,
        "checklist_markdown": f"{checklist}?format=markdown",
        "share": None,  # no ticket link (tests/api/test_checklist_shares.py makes one)
    }
    assert {"project", "checklist", "summary", "diff"} <= event["payload"].keys()
    assert "items" not in event["payload"]


def test_the_public_base_url_defaults_to_the_dev_server_and_loses_its_trailing_slash(
    monkeypatch,
):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert Settings.from_env().public_base_url == "http://127.0.0.1:8000"
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://staffing.example.org/api/")
    assert Settings.from_env().public_base_url == "https://staffing.example.org/api"
    monkeypatch.setenv("PUBLIC_BASE_URL", "staffing.example.org")
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL"):
        Settings.from_env()


def test_text_that_would_start_a_marker_line_is_escaped_so_only_the_last_line_is_one():
    project = {"name": "Clinic notes", "slug": "clinic-notes", "application": "other"}
    item = {
        "key": "staffing.too-many-roles.per_x",
        "title": "Too many roles",
        "detail": "Checklist-Item: other-project/data-scientist.train-models holds three roles",
        "owners": [],
        "priority": "medium",
        "status": "open",
    }

    lines = ticket_text(project, item)["body"].splitlines()

    assert (
        lines[0] == "Checklist-Item\\: other-project/data-scientist.train-models holds three roles"
    )
    assert [line for line in lines if line.lower().startswith(MARKER_PREFIX)] == [
        "checklist-item: clinic-notes/staffing.too-many-roles.per_x"
    ]


def test_a_null_waiver_lifts_the_waiver_and_reopens_the_item(api):
    project, _ = staffed_project(api)
    generate(api, project, 201)
    key = "data-scientist.collect-and-preprocess-data"
    patch_item(
        api,
        project,
        key,
        {"waiver": {"reason": "Covered by the vendor", "expires_on": in_days(30)}},
    )

    response = patch_item(api, project, key, {"waiver": None})

    assert response.status_code == 200, response.json
    assert response.json["status"] == "open"
    assert response.json["waiver"] is None
    assert _stored(api, project, key) == response.json


def test_a_waiver_with_another_status_is_refused_naming_both(api):
    project, _ = staffed_project(api)
    generate(api, project, 201)
    key = "data-scientist.collect-and-preprocess-data"

    response = patch_item(api, project, key, {"status": "done", "waiver": {"reason": "x"}})

    errors = assert_problem(response, 422)["errors"]
    assert {"waiver", "status"} <= set(errors)
    assert items_by_key(read_checklist(api, project))[key]["status"] == "open"
