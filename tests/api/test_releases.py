"""Releases through the API: opening one reopens its gates (the model's when the model
changed) with their earlier state in the events, the checklist says which release it is for,
the go/no-go refuses to ship while a critical gate holds it, and a shipped release is final."""

from __future__ import annotations

from typing import Any

import pytest
from checklist_support import (
    generate,
    in_days,
    item_path,
    items_by_key,
    lapse_waiver,
    patch_item,
    read_checklist,
)
from factories import assert_problem, assign, create_person, create_project, event_count, events_of

from app.render.markdown import escape

EVALUATION = "data-scientist.evaluate-model-performance"  # per release, medium, Ada's
ACCURACY = "confabulation.measure-factual-accuracy"  # per release, critical here, Grace signs
# The clinical pack's omissions test: per release, critical, Grace signs (Domain Expert).
OMISSIONS = "confabulation.check-summaries-for-omissions"
TRAINING = "machine-learning-engineer.train-models"  # per model version, Alan's
NOT_A_GATE = "data-scientist.collect-and-preprocess-data"
MODEL = {"name": "gpt-4o", "version": "2024-05-13", "provider": "openai"}
EVIDENCE = {"add": [{"title": "Accuracy run", "url": "https://wiki.example.com/evals/1"}]}


@pytest.fixture
def clinic(api) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A clinical assistant (healthcare: its factual-accuracy gate is critical), staffed:
    Ada (Data Scientist), Alan (ML Engineer), Grace (AI Ethicist), Pam (Product Manager)."""
    project = create_project(
        api, name="Clinic notes", application="healthcare-solutions", traits={"user_facing": True}
    )
    people = {}
    for role, name in (
        ("data-scientist", "Ada Lovelace"),
        ("machine-learning-engineer", "Alan Turing"),
        ("ai-ethicist", "Grace Hopper"),
        ("product-manager", "Pam Manager"),
    ):
        people[role] = create_person(api, name=name)
        assign(api, project, role, people[role])
    # Grace is the clinic's Domain Expert and Accountable Executive too: its accuracy gate and
    # its critical waivers are those roles' alone.
    assign(api, project, "domain-expert", people["ai-ethicist"])
    assign(api, project, "accountable-executive", people["ai-ethicist"])
    generate(api, project, 201)
    return project, people


def _releases(project: dict[str, Any]) -> str:
    return f"/v1/projects/{project['id']}/releases"


def _open(api, project, version: str, model: dict[str, Any] = MODEL, **body: Any):
    response = api.post(_releases(project), json={"version": version, "model": model, **body})
    assert response.status_code == 201, response.json
    return response


def _sign(api, project, people, key: str) -> None:
    done = patch_item(
        api,
        project,
        key,
        {"status": "done", "signed_off_by": people["ai-ethicist"]["id"], "evidence": EVIDENCE},
    )
    assert done.status_code == 200, done.json


def _sign_accuracy(api, project, people) -> None:
    """Sign the clinic's two critical release gates: factual accuracy and omissions."""
    _sign(api, project, people, ACCURACY)
    _sign(api, project, people, OMISSIONS)


def _items(api, project) -> dict[str, dict[str, Any]]:
    return items_by_key(read_checklist(api, project))


def _done(api, project, key: str) -> None:
    response = patch_item(api, project, key, {"status": "done"})
    assert response.status_code == 200, response.json


# --------------------------------------------------------------------------- opening


def test_the_catalogs_gates_are_on_the_items(api, clinic):
    project, _ = clinic
    items = _items(api, project)

    assert items[EVALUATION]["repeats"] == "per-release"
    assert items[ACCURACY]["repeats"] == "per-release"
    assert items[ACCURACY]["priority"] == "critical"
    assert items[TRAINING]["repeats"] == "per-model-version"
    assert items[NOT_A_GATE]["repeats"] is None
    csv = api.get(f"/v1/projects/{project['id']}/checklist.csv").text
    assert "repeats" in csv.splitlines()[0].split(",")


def test_opening_a_release_reopens_its_gates_and_keeps_their_state_in_the_events(api, clinic):
    project, people = clinic
    _done(api, project, EVALUATION)
    _sign_accuracy(api, project, people)
    _done(api, project, NOT_A_GATE)
    _done(api, project, TRAINING)

    response = _open(api, project, "1.0.0", notes="First release to the pilot clinic.")

    release = response.json
    assert response.headers["Location"].endswith(f"/v1/projects/{project['id']}/releases/1.0.0")
    assert response.headers["ETag"]
    assert release["version"] == "1.0.0"
    assert release["model"] == MODEL
    assert release["status"] == "open"
    assert release["notes"] == "First release to the pilot clinic."
    assert release["opened_by"].startswith("api_key:")
    assert release["shipped_at"] is None
    items = _items(api, project)
    for key in (EVALUATION, ACCURACY, OMISSIONS):
        assert items[key]["status"] == "open", key
        assert items[key]["signed_off_by"] is None
        assert items[key]["evidence"] == []
    assert items[NOT_A_GATE]["status"] == "done"
    # The first release has no earlier model to differ from: the model's gates stand.
    assert items[TRAINING]["status"] == "done"

    opened = events_of(api, f"/v1/projects/{project['id']}/events", type="release.opened")
    assert len(opened) == 1
    payload = opened[0]["payload"]
    assert payload["release"]["version"] == "1.0.0"
    assert payload["previous"] is None
    assert payload["model_changed"] is False
    assert payload["superseded"] is None
    reopened = {gate["key"]: gate for gate in payload["reopened"]}
    assert set(reopened) == {EVALUATION, ACCURACY, OMISSIONS}
    assert reopened[ACCURACY]["repeats"] == "per-release"
    assert reopened[ACCURACY]["before"]["status"] == "done"
    assert reopened[ACCURACY]["before"]["signed_off_by"] == people["ai-ethicist"]["id"]
    assert reopened[ACCURACY]["before"]["evidence"] == [
        {"title": "Accuracy run", "url": "https://wiki.example.com/evals/1"}
    ]
    changed = events_of(
        api, f"/v1/projects/{project['id']}/events", type="checklist.item.status_changed"
    )
    accuracy = next(e["payload"] for e in changed if e["payload"]["item"]["key"] == ACCURACY)
    assert accuracy["before"] == {
        "status": "done",
        "waiver": None,
        "signed_off_by": people["ai-ethicist"]["id"],
    }
    assert accuracy["after"] == {"status": "open", "waiver": None, "signed_off_by": None}
    assert accuracy["reason"] == "release 1.0.0 opened: it is asked again of each release"


def test_the_checklist_says_which_release_it_is_for_in_every_format(api, clinic):
    project, _ = clinic
    assert read_checklist(api, project)["release"] is None

    release = _open(api, project, "1.0.0").json

    doc = read_checklist(api, project)
    assert doc["release"] == {
        "version": "1.0.0",
        "model": MODEL,
        "status": "open",
        "opened_at": release["opened_at"],
    }
    markdown = api.get(f"/v1/projects/{project['id']}/checklist.md").text
    since = release["opened_at"][:10]
    release_line = next(line for line in markdown.splitlines() if "**Release:**" in line)
    assert (
        escape(f"1.0.0, open, opened on {since}; model gpt-4o 2024-05-13 by openai") in release_line
    )
    assert "**Release gate:** asked again of each release" in markdown
    text = api.get(f"/v1/projects/{project['id']}/checklist.txt").text
    assert f"Release: 1.0.0, open, opened on {since}; model gpt-4o 2024-05-13 by openai" in text
    assert "release gate: asked again when a release's model changes" in text


def test_a_new_model_version_reopens_the_model_gates_and_the_same_model_does_not(api, clinic):
    project, _ = clinic
    _open(api, project, "1.0.0")
    _done(api, project, TRAINING)
    _done(api, project, EVALUATION)

    _open(api, project, "1.1.0", notes="Same model, new prompts.")

    items = _items(api, project)
    assert items[TRAINING]["status"] == "done"
    assert items[EVALUATION]["status"] == "open"  # per release: every release
    opened = events_of(api, f"/v1/projects/{project['id']}/events", type="release.opened")[0]
    assert opened["payload"]["model_changed"] is False
    assert [g["key"] for g in opened["payload"]["reopened"]] == [EVALUATION]
    # The open release that did not ship is superseded by the new one.
    superseded = api.get(f"{_releases(project)}/1.0.0").json
    assert superseded["status"] == "superseded"
    assert superseded["superseded_by"] == "1.1.0"
    assert opened["payload"]["superseded"] == "1.0.0"

    _open(api, project, "1.2.0", model={**MODEL, "version": "2024-08-06"})

    assert _items(api, project)[TRAINING]["status"] == "open"
    opened = events_of(api, f"/v1/projects/{project['id']}/events", type="release.opened")[0]
    assert opened["payload"]["model_changed"] is True
    assert opened["payload"]["previous"] == {"version": "1.1.0", "model": MODEL}
    reopened = {g["key"]: g for g in opened["payload"]["reopened"]}
    assert reopened[TRAINING]["repeats"] == "per-model-version"
    assert reopened[TRAINING]["before"]["status"] == "done"


def test_another_provider_is_another_model(api, clinic):
    project, _ = clinic
    _open(api, project, "1.0.0")
    _done(api, project, TRAINING)

    _open(api, project, "1.1.0", model={**MODEL, "provider": "azure"})

    assert _items(api, project)[TRAINING]["status"] == "open"


# --------------------------------------------------------------------------- the go/no-go


def test_the_go_no_go_names_the_critical_gates_then_ships_once_they_are_signed(api, clinic):
    project, people = clinic
    _open(api, project, "1.0.0")
    path = f"{_releases(project)}/1.0.0"
    before = event_count(api.client.application)

    refused = api.patch(path, json={"status": "shipped"})

    problem = assert_problem(refused, 409)
    assert problem["type"].endswith(":release-blocked")
    assert problem["blocking"] == [ACCURACY, OMISSIONS]
    assert ACCURACY in problem["detail"] and OMISSIONS in problem["detail"]
    assert event_count(api.client.application) == before
    assert api.get(path).json["status"] == "open"

    _sign_accuracy(api, project, people)
    etag = api.get(path).headers["ETag"]
    stale = api.patch(path, json={"status": "shipped"}, headers={"If-Match": '"stale"'})
    assert_problem(stale, 412)
    shipped = api.patch(path, json={"status": "shipped"}, headers={"If-Match": etag})

    assert shipped.status_code == 200, shipped.json
    assert shipped.json["status"] == "shipped"
    assert shipped.json["shipped_at"] is not None
    assert shipped.json["shipped_by"].startswith("api_key:")
    assert shipped.headers["ETag"] != etag
    event = events_of(api, f"/v1/projects/{project['id']}/events", type="release.shipped")[0]
    assert event["payload"]["release"]["status"] == "shipped"
    gates = {gate["key"]: gate for gate in event["payload"]["gates"]}
    assert gates[ACCURACY]["status"] == "done"
    assert gates[ACCURACY]["signed_off_by"] == people["ai-ethicist"]["id"]
    assert gates[ACCURACY]["priority"] == "critical"
    assert read_checklist(api, project)["release"]["status"] == "shipped"

    # Shipped is final.
    again = assert_problem(api.patch(path, json={"status": "shipped"}), 409)
    assert again["type"].endswith(":release-closed")
    # The next release does not supersede a shipped one.
    _open(api, project, "1.1.0")
    assert api.get(path).json["status"] == "shipped"


def test_a_waived_critical_gate_passes_only_while_its_waiver_holds(app, api, clinic):
    project, people = clinic
    waiver = {
        "reason": "The expert-verified set is being rebuilt this month",
        "approved_by": people["ai-ethicist"]["id"],  # Grace, as Accountable Executive
        "expires_on": in_days(30),
        "residual_risk": "A confabulated dosage could reach a clinician's draft",
    }
    waived = patch_item(api, project, ACCURACY, {"waiver": waiver})
    assert waived.status_code == 200, waived.json

    _open(api, project, "1.0.0")

    # The waiver holds: the gate stays waived, and does not block (the other gate is signed).
    assert _items(api, project)[ACCURACY]["status"] == "waived"
    _sign(api, project, people, OMISSIONS)
    path = f"{_releases(project)}/1.0.0"
    etag = api.get(path).headers["ETag"]
    lapse_waiver(app, project["id"], ACCURACY)

    refused = assert_problem(api.patch(path, json={"status": "shipped"}), 409)

    assert refused["blocking"] == [ACCURACY]
    assert api.get(path).headers["ETag"] == etag


def test_a_release_without_a_checklist_cannot_ship_and_a_checklist_generated_later_is_for_it(
    api,
):
    project = create_project(api, application="other")
    _open(api, project, "0.1.0")

    refused = assert_problem(
        api.patch(f"{_releases(project)}/0.1.0", json={"status": "shipped"}), 409
    )

    assert refused["blocking"] == []
    generate(api, project, 201)
    assert read_checklist(api, project)["release"]["version"] == "0.1.0"


def test_a_project_without_critical_gates_ships_at_once(api):
    project = create_project(api, application="other")
    generate(api, project, 201)
    _open(api, project, "0.1.0")

    shipped = api.patch(f"{_releases(project)}/0.1.0", json={"status": "shipped"})

    assert shipped.status_code == 200, shipped.json


# --------------------------------------------------------------------------- revisions


def _revision(api, project, n: int, suffix: str = "", **kwargs: Any):
    response = api.get(f"/v1/projects/{project['id']}/checklist/revisions/{n}{suffix}", **kwargs)
    assert response.status_code in (200, 304), response.get_data(as_text=True)
    return response


def _release_line(body: str, marker: str) -> str:
    return next(line for line in body.splitlines() if marker in line)


def test_the_revision_a_ship_records_shows_the_release_shipped_ever_after(api, clinic):
    """An auditor reads the checklist of release 1.0.0 as shipped: the revision its ship
    recorded says so, with the gates done and signed, whatever the next release reopens."""
    project, people = clinic
    opened = _open(api, project, "1.0.0").json
    at_open = read_checklist(api, project)["revision"]
    _sign_accuracy(api, project, people)
    signed = read_checklist(api, project)

    shipped = api.patch(f"{_releases(project)}/1.0.0", json={"status": "shipped"})

    assert shipped.status_code == 200, shipped.json
    current = read_checklist(api, project)
    n = current["revision"]
    # The ship changed no item, and still is a revision: the release it shows changed.
    assert n == signed["revision"] + 1
    assert current["items"] == signed["items"]
    release = {"version": "1.0.0", "model": MODEL, "status": "shipped"}
    assert current["release"] == {**release, "opened_at": opened["opened_at"]}
    [latest, *_] = api.get(f"/v1/projects/{project['id']}/checklist/revisions").json["items"]
    assert (latest["revision"], latest["event_types"]) == (n, ["release.shipped"])
    assert latest["release"] == current["release"]
    at_ship = _revision(api, project, n)
    assert at_ship.json["release"] == current["release"]
    assert at_ship.json["items"] == current["items"]
    accuracy = items_by_key(at_ship.json)[ACCURACY]
    assert (accuracy["status"], accuracy["signed_off_by"], accuracy["signed_off_by_name"]) == (
        "done",
        people["ai-ethicist"]["id"],
        "Grace Hopper",
    )
    assert accuracy["evidence"] == [EVIDENCE["add"][0]]
    # The earlier revisions show the release as it stood then: open, before and after signing.
    for earlier in (at_open, signed["revision"]):
        assert _revision(api, project, earlier).json["release"]["status"] == "open"
    assert items_by_key(_revision(api, project, at_open).json)[ACCURACY]["status"] == "open"
    assert _revision(api, project, 1).json["release"] is None
    markdown = _revision(api, project, n, ".md")
    text = _revision(api, project, n, ".txt")
    live_markdown = api.get(f"/v1/projects/{project['id']}/checklist.md").get_data(as_text=True)
    since = opened["opened_at"][:10]
    assert _release_line(markdown.get_data(as_text=True), "**Release:**") == _release_line(
        live_markdown, "**Release:**"
    )
    assert escape(f"1.0.0, shipped, opened on {since}; model gpt-4o") in markdown.get_data(True)
    assert f"Release: 1.0.0, shipped, opened on {since}; model gpt-4o" in text.get_data(True)

    _open(api, project, "1.1.0")

    reopened = read_checklist(api, project)
    assert reopened["release"]["version"] == "1.1.0"
    assert items_by_key(reopened)[ACCURACY]["status"] == "open"
    assert _revision(api, project, reopened["revision"]).json["release"]["version"] == "1.1.0"
    again = _revision(api, project, n)
    assert again.json == at_ship.json
    assert again.headers["ETag"] == at_ship.headers["ETag"]
    markdown_again = _revision(api, project, n, ".md")
    assert markdown_again.get_data() == markdown.get_data()
    assert markdown_again.headers["ETag"] == markdown.headers["ETag"]
    held = _revision(api, project, n, headers={"If-None-Match": at_ship.headers["ETag"]})
    assert held.status_code == 304
    listed = api.get(f"/v1/projects/{project['id']}/checklist/revisions").json["items"]
    assert next(r for r in listed if r["revision"] == n)["release"] == current["release"]


def test_a_refused_ship_and_a_write_that_changes_nothing_record_no_revision(api, clinic):
    project, _ = clinic
    _open(api, project, "1.0.0")
    etag = api.get(f"/v1/projects/{project['id']}/checklist").headers["ETag"]
    before = api.get(f"/v1/projects/{project['id']}/checklist/revisions").json["items"]

    assert_problem(api.patch(f"{_releases(project)}/1.0.0", json={"status": "shipped"}), 409)
    # A description is not shown by the checklist: its state moves, what it shows does not.
    described = api.patch(f"/v1/projects/{project['id']}", json={"description": "Pilot"})
    assert described.status_code == 200, described.json
    assert api.get(f"/v1/projects/{project['id']}/checklist").headers["ETag"] != etag

    after = api.get(f"/v1/projects/{project['id']}/checklist/revisions").json["items"]
    assert after == before
    assert after[0]["release"]["status"] == "open"


# --------------------------------------------------------------------------- reads and rules


def test_releases_are_listed_newest_first_a_page_at_a_time(api, clinic):
    project, _ = clinic
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        _open(api, project, version)

    first = api.get(_releases(project), query_string={"limit": 2})

    assert first.status_code == 200, first.json
    assert [r["version"] for r in first.json["items"]] == ["1.2.0", "1.1.0"]
    assert first.json["next_cursor"]
    assert 'rel="next"' in first.headers["Link"]
    rest = api.get(
        _releases(project), query_string={"limit": 2, "cursor": first.json["next_cursor"]}
    )
    assert [r["version"] for r in rest.json["items"]] == ["1.0.0"]
    assert rest.json["next_cursor"] is None
    one = api.get(f"{_releases(project)}/1.1.0")
    assert one.status_code == 200
    assert one.json["status"] == "superseded"
    assert_problem(api.get(f"{_releases(project)}/9.9.9"), 404)


def test_a_duplicate_version_is_409_and_changes_nothing(api, clinic):
    project, _ = clinic
    _open(api, project, "1.0.0")
    before = event_count(api.client.application)

    duplicate = api.post(_releases(project), json={"version": "1.0.0", "model": MODEL})

    problem = assert_problem(duplicate, 409)
    assert "1.0.0" in problem["detail"]
    assert event_count(api.client.application) == before


def test_an_idempotency_key_opens_one_release(api, clinic):
    project, _ = clinic
    headers = {"Idempotency-Key": "open-1.0.0"}
    body = {"version": "1.0.0", "model": MODEL}

    first = api.post(_releases(project), json=body, headers=headers)
    again = api.post(_releases(project), json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert len(api.get(_releases(project)).json["items"]) == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"model": MODEL}, {"version"}),
        ({"version": "1.0.0"}, {"model"}),
        ({"version": "1/0", "model": MODEL}, {"version"}),
        ({"version": "v" * 65, "model": MODEL}, {"version"}),
        ({"version": "1.0.0", "model": {"version": "1"}}, {"model.name"}),
        ({"version": "1.0.0", "model": {"name": "m", "version": " "}}, {"model.version"}),
        ({"version": "1.0.0", "model": {**MODEL, "provider": "p" * 101}}, {"model.provider"}),
        ({"version": "1.0.0", "model": {**MODEL, "name": "n" * 201}}, {"model.name"}),
        ({"version": "1.0.0", "model": MODEL, "notes": "n" * 5001}, {"notes"}),
        ({"version": "1.0.0", "model": MODEL, "status": "shipped"}, {"status"}),
        ({"version": 1, "model": "gpt"}, {"version", "model"}),
    ],
)
def test_bad_input_is_422_naming_each_field(api, clinic, body, fields):
    project, _ = clinic

    problem = assert_problem(api.post(_releases(project), json=body), 422)

    assert set(problem["errors"]) == fields


def test_a_release_takes_no_status_but_shipped(api, clinic):
    project, _ = clinic
    _open(api, project, "1.0.0")

    for body, field in (({"status": "open"}, "status"), ({"notes": "x"}, "notes"), ({}, "status")):
        problem = assert_problem(api.patch(f"{_releases(project)}/1.0.0", json=body), 422)
        assert field in problem["errors"], body


def test_another_teams_project_and_releases_are_not_found(api, other_api, clinic):
    project, _ = clinic
    _open(api, project, "1.0.0")
    theirs = create_project(other_api, application="other")

    assert_problem(other_api.get(_releases(project)), 404)
    assert_problem(other_api.get(f"{_releases(project)}/1.0.0"), 404)
    assert_problem(other_api.post(_releases(project), json={"version": "2", "model": MODEL}), 404)
    assert_problem(other_api.patch(f"{_releases(project)}/1.0.0", json={"status": "shipped"}), 404)
    assert_problem(api.get(f"{_releases(theirs)}/1.0.0"), 404)
    # The same version in another team's project is theirs to use.
    assert (
        other_api.post(_releases(theirs), json={"version": "1.0.0", "model": MODEL}).status_code
        == 201
    )
    assert api.get(f"{_releases(project)}/1.0.0").json["status"] == "open"


def test_item_paths_are_unchanged_by_releases(api, clinic):
    project, _ = clinic
    _open(api, project, "1.0.0")

    assert api.get(item_path(project, ACCURACY)).json["repeats"] == "per-release"
