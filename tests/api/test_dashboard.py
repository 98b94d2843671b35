"""The team dashboard through the API: its numbers for two projects sharing a person, only the
caller's active projects, its page with two pictures whose names are text, 304s and 406s."""

from __future__ import annotations

import pytest
from checklist_support import generate, in_days, patch_item, read_checklist
from factories import assert_problem, assign, create_person, create_project
from html_support import parse

PIA = "data-privacy.privacy-impact-assessment"  # a critical gate an AI Ethicist signs
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def team(api):
    """Two active projects sharing Sue (80% + 40%), one with its checklist and a waived gate
    ending in 20 days; and an archived project that must not show."""
    clinic = create_project(api, name="Clinic notes", application="healthcare-solutions")
    music = create_project(api, name=f"Music {SCRIPT}", application="other")
    sue = create_person(api, name="Sue Shared")
    grace = create_person(api, name="Grace Hopper")
    scripted = create_person(api, name=SCRIPT)
    assign(api, clinic, "data-scientist", sue, allocation=80)
    assign(api, music, "data-scientist", sue, allocation=40)
    assign(api, clinic, "ai-ethicist", grace, allocation=30)
    # A critical waiver in a regulated domain is the Accountable Executive's: Grace is that too.
    assign(api, clinic, "accountable-executive", grace)
    assign(api, music, "machine-learning-engineer", scripted, allocation=50)
    generate(api, clinic, 201)
    waiver = {
        "reason": "Covered by the hospital's DPIA of the same data flows",
        "expires_on": in_days(20),
        "residual_risk": "A flow the hospital's DPIA misses",
    }
    waived = patch_item(api.as_person(grace["id"]), clinic, PIA, {"waiver": waiver})
    assert waived.status_code == 200, waived.json
    archived = create_project(api, name="Old archived", application="other")
    assign(api, archived, "data-scientist", sue, allocation=90)
    assert api.delete(f"/v1/projects/{archived['id']}").status_code in (200, 204)
    return {"clinic": clinic, "music": music, "sue": sue, "grace": grace, "waiver": waiver}


def _dashboard(api, **kwargs):
    response = api.get("/v1/dashboard", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_the_numbers_of_two_projects_sharing_a_person(api, team):
    doc = _dashboard(api).json

    assert [p["name"] for p in doc["projects"]] == ["Clinic notes", f"Music {SCRIPT}"]
    clinic, music = doc["projects"]
    items = read_checklist(api, team["clinic"])["items"]
    live = [i for i in items if i["status"] != "obsolete"]
    assert clinic["has_checklist"] is True
    assert sum(clinic["by_status"].values()) == len(items)
    assert clinic["by_status"]["waived"] == 1
    assert clinic["by_status"]["open"] == sum(1 for i in items if i["status"] == "open")
    for priority in ("critical", "high", "medium", "low"):
        assert clinic["by_priority"][priority] == sum(1 for i in live if i["priority"] == priority)
    gates = {
        i["key"]
        for i in live
        if i["priority"] in ("critical", "high")
        and (i.get("repeats") or i["signoff_required"])
        and i["status"] not in ("done", "waived")
    }
    assert gates and {g["key"] for g in clinic["open_gates"]} == gates
    assert PIA not in gates  # waived: not open
    assert [g["priority"] for g in clinic["open_gates"]] == sorted(
        (g["priority"] for g in clinic["open_gates"]), key=["critical", "high"].index
    )
    unsigned = {i["key"] for i in live if i["signoff_required"] and i["status"] != "waived"}
    assert unsigned and {g["key"] for g in clinic["unsigned_gates"]} == unsigned
    assert clinic["expiring_waivers"] == [
        {
            "key": PIA,
            "title": next(i["title"] for i in items if i["key"] == PIA),
            "expires_on": team["waiver"]["expires_on"],
        }
    ]
    assert (
        clinic["findings"]
        == api.get(f"/v1/projects/{team['clinic']['id']}/staffing").json["findings"]
    )
    assert music["has_checklist"] is False
    assert set(music["by_status"].values()) == {0}
    assert music["open_gates"] == music["unsigned_gates"] == music["expiring_waivers"] == []

    # Sue's load counts both active projects, not the archived one.
    loads = {load["person"]["id"]: load for load in doc["people"]}
    sue = loads[team["sue"]["id"]]
    assert sue["total"] == 120
    assert sue["over_allocated"] is True
    assert sue["projects"] == [
        {"project": team["clinic"]["slug"], "allocation": 80},
        {"project": team["music"]["slug"], "allocation": 40},
    ]
    assert loads[team["grace"]["id"]]["total"] == 30
    assert loads[team["grace"]["id"]]["over_allocated"] is False
    assert doc["people"][0]["person"]["id"] == team["sue"]["id"]  # heaviest first

    coverage = {row["role"]: row["projects"] for row in doc["coverage"]}
    ids = [team["clinic"]["id"], team["music"]["id"]]
    assert all([c["project_id"] for c in cells] == ids for cells in coverage.values())
    # Sue is over 100%: the roles she holds say so rather than "filled".
    assert [c["state"] for c in coverage["data-scientist"]] == ["over_allocated"] * 2
    assert coverage["ai-ethicist"][0] == {
        "project_id": ids[0],
        "state": "filled",
        "holders": ["Grace Hopper"],
    }
    assert coverage["machine-learning-engineer"][1]["state"] == "filled"
    assert coverage["machine-learning-engineer"][0]["state"] == "unfilled_required"
    assert coverage["ux-designer"][0]["state"] == "not_needed"


def test_another_teams_projects_and_people_never_appear(api, other_api, team):
    theirs = create_project(other_api, name="Their secret", application="other")
    assign(other_api, theirs, "data-scientist", create_person(other_api, name="Their Ann"))

    mine = _dashboard(api).json
    body = _dashboard(api, query_string={"format": "html"}).get_data(as_text=True)
    theirs_doc = _dashboard(other_api).json

    assert "Their secret" not in str(mine) and "Their secret" not in body
    assert "Their Ann" not in str(mine) and "Their Ann" not in body
    assert [p["name"] for p in theirs_doc["projects"]] == ["Their secret"]
    assert [load["person"]["name"] for load in theirs_doc["people"]] == ["Their Ann"]


def test_archived_projects_are_left_out(api, team):
    doc = _dashboard(api).json
    body = _dashboard(api, headers={"Accept": "text/html"}).get_data(as_text=True)

    assert "Old archived" not in str(doc) and "Old archived" not in body
    assert all(len(row["projects"]) == 2 for row in doc["coverage"])


def test_the_page_has_a_table_per_project_and_two_pictures_with_names_as_text(api, team):
    response = _dashboard(api, headers={"Accept": "text/html"})

    assert response.mimetype == "text/html"
    assert "Accept" in response.vary
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    body = response.get_data(as_text=True)
    assert "<script" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    root, _ = parse(body)
    main = root.find("main")
    assert len(main.find_all("section", class_="project")) == 2
    assert len(main.find_all("table")) == 2
    coverage, load = main.find_all("svg")
    assert "coverage" in coverage.attrs["class"] and "load" in load.attrs["class"]
    cells = coverage.find_all("rect")
    assert cells and all(cell.find("title") is not None for cell in cells)
    assert any(
        "Music" in cell.find("title").text and SCRIPT in cell.find("title").text for cell in cells
    )
    assert coverage.find_all("title")[0].text.startswith("Role coverage")
    bars = load.find_all("rect", class_="bar")
    assert len(bars) == 3
    assert any(SCRIPT in bar.find("title").text for bar in bars)
    assert load.find("line", class_="full") is not None
    legend = main.find("ul", class_="legend").text
    assert "required, unfilled" in legend and "filled" in legend
    assert not root.find_all("script")
    assert f"Music {SCRIPT}" in main.text


def test_html_by_query_and_a_304_for_the_etag_held(api, team):
    page = _dashboard(api, query_string={"format": "html"})
    assert page.mimetype == "text/html"
    etag = _dashboard(api).headers["ETag"]

    again = api.get("/v1/dashboard", headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert page.headers["ETag"] != etag  # each format its own


def test_the_etag_changes_with_the_data(api, team):
    etag = _dashboard(api).headers["ETag"]
    assign(api, team["music"], "ux-designer", team["grace"], allocation=10)

    assert api.get("/v1/dashboard", headers={"If-None-Match": etag}).status_code == 200


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"query_string": {"format": "csv"}},
        {"query_string": {"format": "markdown"}},
        {"headers": {"Accept": "text/csv"}},
    ],
)
def test_formats_other_than_json_and_html_are_406(api, team, request_kwargs):
    response = api.get("/v1/dashboard", **request_kwargs)

    problem = assert_problem(response, 406)
    assert "json" in problem["detail"] and "html" in problem["detail"]
    assert "csv" not in problem["detail"].split("Ask for", 1)[1]


def test_a_team_with_no_projects_gets_an_empty_dashboard_and_page(other_api):
    doc = _dashboard(other_api).json
    assert doc["projects"] == doc["coverage"] == doc["people"] == []
    body = _dashboard(other_api, query_string={"format": "html"}).get_data(as_text=True)
    assert "No active projects." in body
