"""The dashboard's renderer alone: one well-formed page, hostile names as text in the HTML and in
both SVG pictures, a cell and a bar per datum with a title, the 100% line where it belongs, and
the empty states."""

from __future__ import annotations

from typing import Any

from html_support import parse

from app.render.dashboard import render_dashboard_html

HOSTILE = '"><svg onload=alert(1)><script>alert(2)</script>'
COUNTS = {"open": 3, "in_progress": 1, "done": 2, "waived": 1, "obsolete": 0}
PRIORITIES = {"low": 0, "medium": 3, "high": 2, "critical": 2}


def _person(pid: str, name: str) -> dict[str, Any]:
    return {"id": pid, "name": name, "email": None, "handles": {}}


def make_doc() -> dict[str, Any]:
    gate = {"key": "g.one", "title": HOSTILE, "priority": "critical", "status": "open"}
    project = {
        "id": "prj_1",
        "name": f"Alpha {HOSTILE}",
        "slug": "alpha",
        "has_checklist": True,
        "by_status": COUNTS,
        "by_priority": PRIORITIES,
        "open_gates": [gate],
        "unsigned_gates": [gate],
        "expiring_waivers": [{"key": "w.one", "title": "Waived", "expires_on": "2026-12-20"}],
        "findings": [],
    }
    second = {**project, "id": "prj_2", "name": "Beta", "slug": "beta", "has_checklist": False}
    return {
        "on": "2026-12-07",
        "projects": [project, second],
        "coverage": [
            {
                "role": "data-scientist",
                "title": "Data Scientist",
                "projects": [
                    {"project_id": "prj_1", "state": "over_allocated", "holders": [HOSTILE]},
                    {"project_id": "prj_2", "state": "unfilled_required", "holders": []},
                ],
            }
        ],
        "people": [
            {
                "person": _person("per_1", HOSTILE),
                "total": 150,
                "over_allocated": True,
                "projects": [{"project": "alpha", "allocation": 150}],
            },
            {
                "person": _person("per_2", "Grace"),
                "total": 30,
                "over_allocated": False,
                "projects": [{"project": "beta", "allocation": 30}],
            },
        ],
    }


def test_the_page_is_well_formed_and_every_name_is_text():
    body = render_dashboard_html(make_doc())

    root, _ = parse(body)  # every element closed in order, or this fails
    assert "<script" not in body and "<svg onload" not in body
    assert not root.find_all("script")
    assert len(root.find_all("svg")) == 2
    main = root.find("main")
    assert f"Alpha {HOSTILE}" in main.text
    coverage, load = main.find_all("svg")
    assert HOSTILE in load.find_all("rect", class_="bar")[0].find("title").text
    [over, unfilled] = coverage.find_all("rect")
    assert over.attrs["fill"] == "#c26a00" and unfilled.attrs["fill"] == "#b00020"
    assert HOSTILE in over.find("title").text and "held by someone over 100%" in over.text
    assert "required, unfilled" in unfilled.find("title").text


def test_bars_scale_to_the_heaviest_and_the_line_marks_100_percent():
    root, _ = parse(render_dashboard_html(make_doc()))

    load = root.find("main").find_all("svg")[1]
    heavy, light = load.find_all("rect", class_="bar")  # heaviest first, as the API lists
    assert int(heavy.attrs["width"]) == 420  # the widest bar is the heaviest load
    assert int(light.attrs["width"]) == round(30 * 420 / 150)
    line = load.find("line", class_="full")
    assert int(line.attrs["x1"]) == int(heavy.attrs["x"]) + round(100 * 420 / 150)
    assert HOSTILE in heavy.find("title").text and "alpha 150%" in heavy.find("title").text


def test_a_project_without_a_checklist_and_a_team_without_projects_say_so():
    root, _ = parse(render_dashboard_html(make_doc()))
    beta = root.find("main").find_all("section", class_="project")[1]
    assert "No checklist generated yet." in beta.text

    empty, _ = parse(
        render_dashboard_html({"on": "2026-12-07", "projects": [], "coverage": [], "people": []})
    )
    assert not empty.find_all("svg")
    assert "No active projects." in empty.find("main").text
    assert "Nobody is allocated to an active project." in empty.find("main").text
