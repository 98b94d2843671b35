"""Staffing reports: who holds each role on a project, what is missing, and who is overloaded."""

from __future__ import annotations

from checklist_support import generate, read_checklist, staffed_project
from factories import ROLE_KEYS, assert_problem, assign, create_person, create_project


def _report(api, project):
    response = api.get(f"/v1/projects/{project['id']}/staffing")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def _team(api):
    response = api.get("/v1/staffing")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_the_report_lists_every_role_with_its_holders_and_whether_it_is_required(api):
    project = create_project(api, application="healthcare-solutions")
    ada = create_person(api, name="Ada", handles={"github": "ada-l"})
    bob = create_person(api, name="Bob")
    assign(api, project, "data-scientist", ada, allocation=50, lead=True)
    assign(api, project, "data-scientist", bob, allocation=20)
    assign(api, project, "ux-designer", bob)

    report = _report(api, project)

    assert report["project"]["id"] == project["id"]
    assert report["project"]["application"] == "healthcare-solutions"
    roles = {r["role"]: r for r in report["roles"]}
    assert [r["role"] for r in report["roles"]] == ROLE_KEYS
    ds = roles["data-scientist"]
    assert ds["title"] == "Data Scientist"
    assert ds["required"] is True
    assert ds["required_because"] == ["Data Scientist is required on every project"]
    assert ds["holders"] == [
        {
            "id": ada["id"],
            "name": "Ada",
            "email": ada["email"],
            "handles": {"github": "ada-l"},
            "allocation": 50,
            "lead": True,
        },
        {
            "id": bob["id"],
            "name": "Bob",
            "email": bob["email"],
            "handles": {},
            "allocation": 20,
            "lead": False,
        },
    ]
    ethicist = roles["ai-ethicist"]
    assert ethicist["required"] is True
    assert any("Healthcare Solutions" in why for why in ethicist["required_because"])
    assert ethicist["holders"] == []
    assert roles["ux-designer"]["required"] is False
    assert roles["ux-designer"]["required_because"] == []
    assert [h["id"] for h in roles["ux-designer"]["holders"]] == [bob["id"]]


def test_the_report_names_the_findings_most_urgent_first(api):
    project = create_project(api, application="other")
    both = create_person(api, name="Sam Both")
    assign(api, project, "data-scientist", both)
    assign(api, project, "ai-ethicist", both)
    assign(api, project, "ux-designer", both)
    assign(api, project, "content-curator", create_person(api))
    assign(api, project, "content-curator", create_person(api))

    report = _report(api, project)

    findings = {f["key"]: f for f in report["findings"]}
    assert set(findings) == {
        "staffing.unfilled.machine-learning-engineer",
        f"staffing.separation-of-duties.{both['id']}.data-scientist.ai-ethicist",
        f"staffing.too-many-roles.{both['id']}",
        "staffing.no-lead.content-curator",
    }
    unfilled = findings["staffing.unfilled.machine-learning-engineer"]
    assert (unfilled["kind"], unfilled["priority"], unfilled["people"]) == (
        "unfilled_role",
        "high",
        [],
    )
    separation = findings[f"staffing.separation-of-duties.{both['id']}.data-scientist.ai-ethicist"]
    assert separation["kind"] == "separation_of_duties"
    assert [p["id"] for p in separation["people"]] == [both["id"]]
    assert findings[f"staffing.too-many-roles.{both['id']}"]["kind"] == "too_many_roles"
    assert findings["staffing.no-lead.content-curator"]["kind"] == "no_lead"
    ranks = {"critical": 3, "high": 2, "medium": 1, "low": 0}
    priorities = [ranks[f["priority"]] for f in report["findings"]]
    assert priorities == sorted(priorities, reverse=True)
    for finding in report["findings"]:
        assert finding["title"]
        assert finding["detail"]
        assert finding["because"]


def test_the_reports_findings_are_the_checklists_staffing_items(api):
    project = create_project(api, application="content-creation", traits={"user_facing": True})
    both = create_person(api)
    assign(api, project, "content-curator", both, allocation=70)
    assign(api, project, "ai-ethicist", both, allocation=40)
    generate(api, project, 201)

    findings = _report(api, project)["findings"]
    items = read_checklist(api, project, kind="staffing")["items"]

    assert [f["key"] for f in findings] == [i["key"] for i in items]
    assert [f["priority"] for f in findings] == [i["priority"] for i in items]
    assert f"staffing.over-allocated.{both['id']}" in {f["key"] for f in findings}


def test_a_project_needs_no_checklist_for_its_report(api):
    project, people = staffed_project(api)

    report = _report(api, project)

    assert report["findings"] == []
    for role, person in people.items():
        holders = next(r["holders"] for r in report["roles"] if r["role"] == role)
        assert [h["id"] for h in holders] == [person["id"]]


def test_over_allocation_counts_the_teams_other_active_projects(api):
    here = create_project(api, application="other")
    there = create_project(api, application="other")
    sue = create_person(api, name="Stretched Sue")
    assign(api, here, "data-scientist", sue, allocation=60)
    assign(api, there, "data-scientist", sue, allocation=50)
    key = f"staffing.over-allocated.{sue['id']}"

    for project in (here, there):
        finding = next(f for f in _report(api, project)["findings"] if f["key"] == key)
        assert finding["kind"] == "over_allocated"
        assert "110%" in finding["title"]
        assert [p["id"] for p in finding["people"]] == [sue["id"]]

    api.delete(f"/v1/projects/{there['id']}")
    assert key not in {f["key"] for f in _report(api, here)["findings"]}


def test_the_team_report_shows_who_is_over_allocated_project_by_project(api):
    alpha = create_project(api, name="Alpha", application="other")
    beta = create_project(api, name="Beta", application="other")
    gamma = create_project(api, name="Gamma", application="other")
    sue = create_person(api, name="Stretched Sue")
    fine = create_person(api, name="Fine Fred")
    assign(api, alpha, "data-scientist", sue, allocation=60)
    assign(api, beta, "data-scientist", sue, allocation=30)
    assign(api, beta, "ai-ethicist", sue, allocation=20)
    assign(api, alpha, "machine-learning-engineer", fine, allocation=50)
    assign(api, gamma, "machine-learning-engineer", fine, allocation=50)

    team = _team(api)

    assert team["over_allocated"] == [
        {
            "person": {
                "id": sue["id"],
                "name": "Stretched Sue",
                "email": sue["email"],
                "handles": {},
            },
            "total": 110,
            "projects": [
                {"project": alpha["slug"], "allocation": 60},
                {"project": beta["slug"], "allocation": 50},
            ],
        }
    ]
    assert [p["project"]["id"] for p in team["projects"]] == [alpha["id"], beta["id"], gamma["id"]]
    for entry in team["projects"]:
        assert [r["role"] for r in entry["roles"]] == ROLE_KEYS
        assert entry["findings"] == _report(api, entry["project"])["findings"]
    alpha_keys = {f["key"] for f in team["projects"][0]["findings"]}
    assert f"staffing.over-allocated.{sue['id']}" in alpha_keys
    assert f"staffing.over-allocated.{fine['id']}" not in alpha_keys


def test_archived_projects_leave_the_team_report(api):
    alpha = create_project(api, application="other")
    beta = create_project(api, application="other")
    sue = create_person(api)
    assign(api, alpha, "data-scientist", sue, allocation=80)
    assign(api, beta, "data-scientist", sue, allocation=80)
    assert [o["total"] for o in _team(api)["over_allocated"]] == [160]

    api.delete(f"/v1/projects/{beta['id']}")

    team = _team(api)
    assert team["over_allocated"] == []
    assert [p["project"]["id"] for p in team["projects"]] == [alpha["id"]]


def test_the_team_report_shows_only_the_callers_team(api, other_api):
    mine = create_project(api, application="other")
    theirs = create_project(other_api, application="other")
    shared_name = create_person(api)
    assign(api, mine, "data-scientist", shared_name, allocation=100)
    outsider = create_person(other_api)
    assign(other_api, theirs, "data-scientist", outsider, allocation=100)
    assign(other_api, theirs, "ai-ethicist", outsider, allocation=100)

    team = _team(api)

    assert [p["project"]["id"] for p in team["projects"]] == [mine["id"]]
    assert team["over_allocated"] == []
    assert [o["person"]["id"] for o in _team(other_api)["over_allocated"]] == [outsider["id"]]


def test_another_teams_project_report_is_404(api, other_api):
    project, _ = staffed_project(api)

    assert_problem(other_api.get(f"/v1/projects/{project['id']}/staffing"), 404)
    assert_problem(other_api.get(f"/v1/projects/{project['slug']}/staffing"), 404)


def test_the_team_report_comes_a_page_at_a_time_with_the_teams_over_allocation_on_each(api):
    ada = create_person(api, name="Ada")
    names = ["Delta", "Alpha", "Echo", "Charlie", "Bravo"]
    for name in names:
        assign(
            api,
            create_project(api, name=name, application="other"),
            "data-scientist",
            ada,
            allocation=30,
        )

    pages, query = [], {"limit": 2}
    while True:
        response = api.get("/v1/staffing", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        pages.append(response.json)
        if response.json["next_cursor"] is None:
            assert "Link" not in response.headers
            break
        assert response.headers["Link"].endswith('>; rel="next"')
        query = {"limit": 2, "cursor": response.json["next_cursor"]}

    assert [len(page["projects"]) for page in pages] == [2, 2, 1]
    shown = [entry["project"]["name"] for page in pages for entry in page["projects"]]
    assert shown == sorted(names)
    # 5 projects at 30 % = 150 %: the whole team's figure, whichever page it is on.
    for page in pages:
        assert [(o["person"]["id"], o["total"]) for o in page["over_allocated"]] == [
            (ada["id"], 150)
        ]
        assert len(page["over_allocated"][0]["projects"]) == 5
