"""Reading a stored checklist: filters, summary, conditional GETs and caching, in every format."""

from __future__ import annotations

import csv
import io
import re

import pytest
from checklist_support import (
    flat_errors,
    generate,
    in_days,
    items_by_key,
    owner_ids,
    patch_item,
    read_checklist,
    staffed_project,
)
from factories import assert_problem, assign, create_person, create_project

from app.render.layout import REGISTER_TITLE
from app.vocabulary import PHASES

FORMATS = {
    "json": "application/json",
    "markdown": "text/markdown",
    "csv": "text/csv",
    "text": "text/plain",
    "html": "text/html",
}
CSV_COLUMNS = [
    "key",
    "kind",
    "phase",
    "roles",
    "title",
    "detail",
    "done_when",
    "owners",
    "owner_emails",
    "priority",
    "status",
    "note",
    "waiver_reason",
    "waiver_approved_by",
    "waiver_expires_on",
    "waiver_residual_risk",
    "ticket",
    "ticket_url",
    "signoff_required",
    "reviewer_roles",
    "signed_off_by",
    "evidence",
    "because",
    "references",
    "repeats",
    "genai_risks",
]
DONE = ("data-scientist.collect-and-preprocess-data", "machine-learning-engineer.train-models")
IN_PROGRESS = "machine-learning-engineer.deploy-models"
WAIVED = "explainability.trace-model-outputs"  # "Keep an audit trail of generations"
OBSOLETE_DONE = "product-manager.define-vision-and-strategy"


def _checklist_path(project) -> str:
    return f"/v1/projects/{project['id']}/checklist"


@pytest.fixture
def worked(api):
    """A staffed project whose checklist has done, in-progress, waived and obsolete items."""
    project, people = staffed_project(api, name="Markdown Project")
    pam = create_person(api, name="Pam Manager")
    pm = assign(api, project, "product-manager", pam)
    generate(api, project, 201)
    for key in (*DONE, OBSOLETE_DONE):
        assert patch_item(api, project, key, {"status": "done"}).status_code == 200
    assert patch_item(api, project, IN_PROGRESS, {"status": "in_progress"}).status_code == 200
    waiver = {
        "reason": "Internal demo only, no users",
        "approved_by": pam["id"],
        "expires_on": in_days(200),
    }
    assert patch_item(api, project, WAIVED, {"waiver": waiver}).status_code == 200
    ticket = {"system": "jira", "key": "PROJ-123", "url": "https://jira.example.com/PROJ-123"}
    assert patch_item(api, project, DONE[0], {"ticket": ticket}).status_code == 200
    # Without a product manager, the PM's responsibilities no longer apply.
    api.delete(f"/v1/projects/{project['id']}/assignments/{pm['id']}")
    return project, people


# --------------------------------------------------------------------------- reading


def test_a_project_without_checklist_has_no_checklist_to_read(api):
    project = create_project(api)

    problem = assert_problem(api.get(_checklist_path(project)), 404)

    assert "checklist" in problem["detail"]


def test_an_unknown_project_has_no_checklist_either(api):
    assert_problem(api.get("/v1/projects/prj_doesnotexist/checklist"), 404)
    assert_problem(api.get("/v1/projects/no-such-slug/checklist"), 404)


def test_the_summary_counts_by_status_and_kind_and_excludes_waived_and_obsolete(api, worked):
    project, _ = worked

    doc = read_checklist(api, project)

    items = doc["items"]
    summary = doc["summary"]
    assert summary["total"] == len(items)
    assert summary["by_status"] == {
        "open": len(items) - 2 - 1 - 1 - 1,
        "in_progress": 1,
        "done": 2,
        "waived": 1,
        "obsolete": 1,
    }
    # The product manager's bridge to stakeholders is the stakeholder review's item, and the
    # collaborations are agreed in the ownership item: no item is a pair's (issue 19, point 8).
    assert summary["by_kind"]["responsibility"] == 15
    assert summary["by_kind"]["collaboration"] == 0
    assert summary["by_kind"] == {
        kind: sum(i["kind"] == kind for i in items)
        for kind in ("responsibility", "collaboration", "mitigation", "staffing", "context")
    }
    assert summary["percent_done"] == round(100 * 2 / (len(items) - 1 - 1))
    statuses = items_by_key(doc)
    assert statuses[OBSOLETE_DONE]["status"] == "obsolete"
    # The stakeholder review stays, without the product manager's role it carried.
    walk = statuses["technical-complexity.stakeholder-model-reviews"]
    assert walk["status"] == "open" and "product-manager" not in walk["roles"]
    assert "product-manager.bridge-technical-teams-and-stakeholders" not in statuses


def test_every_item_waived_or_done_is_100_percent(api):
    project = create_project(api, application="other")
    pam = create_person(api, name="Pam Manager")
    assign(api, project, "product-manager", pam)
    grace = create_person(api, name="Grace Ethicist")
    assign(api, project, "ai-ethicist", grace)
    doc = generate(api, project, 201).json
    first, *rest = [i for i in doc["items"] if not i["evidence_required"]]
    rest += [i for i in doc["items"] if i["evidence_required"]]
    assert patch_item(api, project, first["key"], {"status": "done"}).status_code == 200
    for item in rest:
        waiver = {
            "reason": "Not needed for a prototype",
            "expires_on": in_days(60),
            "residual_risk": "The prototype's users meet the risk",
        }
        if item["signoff_required"] or item["priority"] in ("high", "critical"):
            # Accepting the risk of an item that needs a sign-off, or of a high or critical
            # one (the waiver policy), takes an independent approver.
            owners = {owner["id"] for owner in item["owners"]}
            waiver["approved_by"] = (grace if pam["id"] in owners else pam)["id"]
        response = patch_item(api, project, item["key"], {"waiver": waiver})
        assert response.status_code == 200, response.json

    summary = read_checklist(api, project)["summary"]

    assert summary["by_status"]["done"] == 1
    assert summary["by_status"]["waived"] == len(rest)
    assert summary["percent_done"] == 100


def test_filters_narrow_the_items_but_not_the_summary(api, worked):
    project, people = worked
    everything = read_checklist(api, project)
    ds = people["data-scientist"]["id"]

    cases = {
        (("role", "ai-ethicist"),): lambda i: "ai-ethicist" in i["roles"],
        (("status", "done"),): lambda i: i["status"] == "done",
        (("status", "obsolete"),): lambda i: i["status"] == "obsolete",
        (("kind", "mitigation"),): lambda i: i["kind"] == "mitigation",
        (("person_id", ds),): lambda i: ds in owner_ids(i),
        (("kind", "responsibility"), ("role", "data-scientist")): lambda i: (
            i["kind"] == "responsibility" and "data-scientist" in i["roles"]
        ),
    }
    for query, wanted in cases.items():
        doc = read_checklist(api, project, **dict(query))
        expected = [i["key"] for i in everything["items"] if wanted(i)]
        assert expected, query
        assert [i["key"] for i in doc["items"]] == expected, query
        assert doc["summary"] == everything["summary"]
        assert doc["filters"] == dict(query)
    assert [i["key"] for i in read_checklist(api, project, status="done")["items"]] == list(DONE)
    assert read_checklist(api, project, kind="collaboration")["items"] == []


def test_filters_apply_to_the_text_formats_too(api, worked):
    project, _ = worked

    mitigations = read_checklist(api, project, kind="mitigation")["items"]
    response = api.get(
        _checklist_path(project), query_string={"format": "csv", "kind": "mitigation"}
    )

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["key"] for r in rows] == [i["key"] for i in mitigations]
    assert {r["kind"] for r in rows} == {"mitigation"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"kind": "task"}, "kind"),
        ({"role": "Not A Key!"}, "role"),
        ({"phase": "someday"}, "phase"),
        ({"group_by": "team"}, "group_by"),
        ({"compact": "maybe"}, "compact"),
    ],
)
def test_a_bad_filter_value_is_a_422_naming_it(api, worked, query, field):
    project, _ = worked

    problem = assert_problem(api.get(_checklist_path(project), query_string=query), 422)

    assert field in flat_errors(problem["errors"])


def test_reading_costs_a_constant_number_of_statements_whatever_the_size(api, count_queries):
    small, _ = staffed_project(api)
    large = create_project(api, application="content-creation", traits={"user_facing": True})
    roles = ["data-scientist", "machine-learning-engineer", "ai-ethicist", "ux-designer"]
    roles += ["content-curator", "product-manager", "ai-researcher"]
    staffing = [
        {
            "role": roles[n % len(roles)],
            "person": {"name": f"Member {n}", "email": f"member{n}@example.com"},
            "allocation": 10,
        }
        for n in range(40)
    ]
    response = api.put(f"/v1/projects/{large['id']}/assignments", json={"assignments": staffing})
    assert response.status_code == 200
    assert len(response.json["items"]) == 40
    counts = {}
    sizes = {}
    for name, project in (("small", small), ("large", large)):
        generate(api, project, 201)
        # A filter not read before: the render cache cannot answer it.
        with count_queries() as counter:
            response = api.get(_checklist_path(project), query_string={"status": "open"})
        assert response.status_code == 200
        counts[name] = counter.count
        sizes[name] = sum(len(i["owners"]) for i in response.json["items"])

    assert sizes["large"] > 5 * sizes["small"]
    assert counts["small"] == counts["large"]
    # The key, the project with its checklist, the items, their owners.
    assert counts["large"] <= 4


def test_a_second_identical_read_is_served_from_the_render_cache(api, worked, count_queries):
    project, _ = worked
    query = {"format": "markdown", "role": "data-scientist"}

    with count_queries() as first_read:
        first = api.get(_checklist_path(project), query_string=query)
    with count_queries() as second_read:
        second = api.get(_checklist_path(project), query_string=query)

    assert first.status_code == second.status_code == 200
    assert second.get_data() == first.get_data()
    assert second_read.count < first_read.count
    # A change is seen at once: the cache is keyed by the checklist's state.
    patch_item(api, project, "data-scientist.evaluate-model-performance", {"status": "done"})
    third = api.get(_checklist_path(project), query_string=query)
    assert third.get_data() != first.get_data()
    assert re.search(r"- \[x\] .*`data-scientist\.evaluate-model-performance`", third.text)


def test_the_checklist_has_an_etag_and_answers_304_until_an_item_changes(api, worked):
    project, _ = worked
    first = api.get(_checklist_path(project))
    etag = first.headers["ETag"]

    unchanged = api.get(_checklist_path(project), headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.get_data() == b""

    patch_item(api, project, "ux-designer.conduct-user-research", {"status": "in_progress"})
    changed = api.get(_checklist_path(project), headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert items_by_key(changed.json)["ux-designer.conduct-user-research"]["status"] == (
        "in_progress"
    )


def test_each_format_and_filter_has_its_own_etag(api, worked):
    project, _ = worked
    path = _checklist_path(project)

    etags = {
        api.get(path).headers["ETag"],
        api.get(path, query_string={"format": "markdown"}).headers["ETag"],
        api.get(path, query_string={"format": "csv"}).headers["ETag"],
        api.get(path, query_string={"status": "done"}).headers["ETag"],
    }

    assert len(etags) == 4
    json_etag = api.get(path).headers["ETag"]
    markdown = api.get(
        path, query_string={"format": "markdown"}, headers={"If-None-Match": json_etag}
    )
    assert markdown.status_code == 200
    assert markdown.mimetype == "text/markdown"


def test_another_team_cannot_read_the_checklist_in_any_format(api, other_api, worked):
    project, _ = worked

    for fmt in FORMATS:
        response = other_api.get(_checklist_path(project), query_string={"format": fmt})
        assert_problem(response, 404)


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(("fmt", "mimetype"), FORMATS.items())
def test_the_format_is_chosen_by_query_or_by_accept(api, worked, fmt, mimetype):
    project, _ = worked

    by_query = api.get(_checklist_path(project), query_string={"format": fmt})
    by_accept = api.get(_checklist_path(project), headers={"Accept": mimetype})

    for response in (by_query, by_accept):
        assert response.status_code == 200
        assert response.mimetype == mimetype
        assert "Accept" in response.headers["Vary"]
    assert by_query.get_data() == by_accept.get_data()


def test_json_is_the_default_and_the_query_wins_over_accept(api, worked):
    project, _ = worked

    default = api.get(_checklist_path(project))
    anything = api.get(_checklist_path(project), headers={"Accept": "*/*"})
    preferred = api.get(
        _checklist_path(project), headers={"Accept": "text/csv;q=0.5, text/markdown"}
    )
    overridden = api.get(
        _checklist_path(project),
        query_string={"format": "text"},
        headers={"Accept": "text/markdown"},
    )

    assert default.mimetype == anything.mimetype == "application/json"
    assert preferred.mimetype == "text/markdown"
    assert overridden.mimetype == "text/plain"


@pytest.mark.parametrize("fmt", FORMATS)
def test_generating_answers_in_the_format_asked_for(api, fmt):
    project, _ = staffed_project(api)

    response = generate(api, project, 201, query_string={"format": fmt})

    assert response.mimetype == FORMATS[fmt]
    assert "data-scientist.collect-and-preprocess-data" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"query_string": {"format": "pdf"}},
        {"headers": {"Accept": "application/pdf"}},
    ],
)
def test_a_format_we_cannot_produce_is_a_406_problem(api, worked, request_kwargs):
    project, _ = worked

    problem = assert_problem(api.get(_checklist_path(project), **request_kwargs), 406)

    assert "markdown" in problem["detail"]


def test_a_406_on_generation_generates_nothing(api):
    project, _ = staffed_project(api)

    assert_problem(generate(api, project, query_string={"format": "pdf"}), 406)
    assert_problem(generate(api, project, headers={"Accept": "application/pdf"}), 406)

    assert_problem(api.get(_checklist_path(project)), 404)


def _markdown_line(body: str, key: str) -> str:
    """The task line of the item `key` (the risk register, after the tasks, names keys too)."""
    tasks = body.split(f"\n## {REGISTER_TITLE}\n", 1)[0]
    (line,) = [line for line in tasks.splitlines() if f"`{key}`" in line]
    return line


def test_items_follow_the_lifecycle_and_filter_by_phase(api, worked):
    project, _ = worked
    doc = read_checklist(api, project)
    phases = [i["phase"] for i in doc["items"] if i["status"] != "obsolete"]
    assert phases == sorted(phases, key=PHASES.index)
    assert all(i["done_when"] for i in doc["items"] if i["status"] != "obsolete")

    verify = read_checklist(api, project, phase="verify-and-validate")

    assert verify["filters"] == {"phase": "verify-and-validate"}
    assert verify["items"] and {i["phase"] for i in verify["items"]} == {"verify-and-validate"}
    assert verify["summary"] == doc["summary"]
    body = api.get(
        _checklist_path(project), query_string={"format": "markdown", "phase": "deploy-and-use"}
    ).text
    # The context opens every checklist, filtered or not; then the phases shown.
    assert [h for h in body.splitlines() if h.startswith("## ")] == [
        "## Context",
        "## Deploy and use",
        f"## {REGISTER_TITLE}",
    ]


def test_markdown_groups_by_phase_with_detail_reasons_and_references_under_each_task(api, worked):
    project, _ = worked

    body = api.get(_checklist_path(project), query_string={"format": "markdown"}).text

    headings = [h for h in body.splitlines() if h.startswith("## ")]
    assert headings == [
        "## Context",
        "## Plan and design",
        "## Collect and process data",
        "## Build and use the model",
        "## Verify and validate",
        "## Deploy and use",
        "## Operate and monitor",
        "## Obsolete",
        f"## {REGISTER_TITLE}",
    ]
    lines = body.splitlines()
    start = lines.index(_markdown_line(body, "bias-and-fairness.evaluate-outputs-for-bias"))
    under = lines[start + 1 : start + 6]
    assert under[0].startswith("  - Run a fixed prompt set")
    assert under[1].startswith("  - **Done when:** Each release candidate has a bias evaluation")
    # A release gate says so, after what "done" means.
    assert under[2] == "  - **Release gate:** asked again of each release"
    assert under[3].startswith("  - **Why:** Catalog mitigation")
    assert "Analyzing AI outputs for bias or harmful content." in under[4]
    assert "NIST AI RMF 1.0: MEASURE 2.11" in under[4]
    assert "NIST AI 600-1: Harmful Bias and Homogenization" in under[4]


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        ("kind", ["## Responsibilities", "## Mitigations", "## Obsolete"]),
        ("role", ["## Data Scientist", "## Machine Learning Engineer", "## AI Ethicist"]),
    ],
)
def test_markdown_and_text_group_as_asked(api, worked, group_by, expected):
    project, _ = worked

    markdown = api.get(
        _checklist_path(project), query_string={"format": "markdown", "group_by": group_by}
    ).text
    text = api.get(
        _checklist_path(project), query_string={"format": "text", "group_by": group_by}
    ).text

    headings = [h for h in markdown.splitlines() if h.startswith("## ")]
    assert [h for h in headings if h in expected] == expected
    for heading in expected:
        assert f"\n{heading[3:].upper()}\n" in text


def test_grouped_by_person_each_owner_has_their_items(api, worked):
    project, people = worked
    ds = people["data-scientist"]["name"]

    body = api.get(
        _checklist_path(project), query_string={"format": "markdown", "group_by": "person"}
    ).text

    section = body.split(f"\n## {ds}\n", 1)[1].split("\n## ", 1)[0]
    assert "`data-scientist.collect-and-preprocess-data`" in section
    assert "`technical-complexity.document-ownership`" in section
    assert "`machine-learning-engineer.train-models`" not in section


def test_compact_gives_one_line_an_item(api, worked):
    project, _ = worked
    doc = read_checklist(api, project)

    full = api.get(_checklist_path(project), query_string={"format": "markdown"}).text
    compact = api.get(
        _checklist_path(project), query_string={"format": "markdown", "compact": "true"}
    )

    assert compact.status_code == 200
    assert (
        compact.headers["ETag"]
        != api.get(_checklist_path(project), query_string={"format": "markdown"}).headers["ETag"]
    )
    lines = compact.text.splitlines()
    assert len([line for line in lines if line.startswith("- [")]) == len(doc["items"])
    assert not any("Done when" in line for line in lines)
    assert len(compact.text) * 3 < len(full)


def test_markdown_is_a_task_list_of_every_item(api, worked):
    project, people = worked
    doc = read_checklist(api, project)

    body = api.get(_checklist_path(project), query_string={"format": "markdown"}).text

    boxes = re.findall(r"^- \[( |x|~)\] ", body, flags=re.MULTILINE)
    assert len(boxes) == len(doc["items"])
    assert boxes.count("x") == 2 + 1  # done, obsolete
    assert boxes.count("~") == 1  # waived: an accepted risk is not done
    for item in doc["items"]:
        line = _markdown_line(body, item["key"])
        box = {"done": "x", "obsolete": "x", "waived": "~"}.get(item["status"], " ")
        assert line.startswith(f"- [{box}] "), line
    for key in DONE:
        assert _markdown_line(body, key).startswith("- [x] **")
    waived = _markdown_line(body, WAIVED)
    assert waived.startswith("- [~] **Keep an audit trail of generations**")
    assert "waived: Internal demo only, no users" in waived
    assert f"until {in_days(200)}" in waived
    assert "approved by Pam Manager" in waived
    assert "_in progress_" in _markdown_line(body, IN_PROGRESS)
    assert "PROJ-123" in _markdown_line(body, DONE[0])
    assert people["data-scientist"]["name"] in _markdown_line(body, DONE[0])
    assert "## Obsolete" in body
    header = body.split("\n## ", 1)[0]
    assert header.startswith("# Checklist: Markdown Project\n")
    assert f"`{project['slug']}`" in header
    assert f"**Revision:** {doc['revision']}" in header
    summary = doc["summary"]
    assert f"**Progress:** {summary['percent_done']}% done" in header
    assert f"{summary['by_status']['done']} of {summary['total']} items done" in header


def test_csv_has_one_row_per_item_with_the_documented_columns(api, worked):
    project, people = worked
    doc = read_checklist(api, project)

    response = api.get(_checklist_path(project), query_string={"format": "csv"})

    reader = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    rows = list(reader)
    assert reader.fieldnames == CSV_COLUMNS
    assert [r["key"] for r in rows] == [i["key"] for i in doc["items"]]
    by_key = {r["key"]: r for r in rows}
    for item in doc["items"]:
        row = by_key[item["key"]]
        assert row["kind"] == item["kind"]
        assert row["status"] == item["status"]
        assert row["priority"] == item["priority"]
        assert row["title"] == item["title"]
        assert row["roles"] == "; ".join(item["roles"])
        assert row["owners"] == "; ".join(o["name"] for o in item["owners"])
        assert row["owner_emails"] == "; ".join(o["email"] for o in item["owners"])
        assert row["phase"] == item["phase"]
        assert row["done_when"] == item["done_when"]
        assert row["because"] == "; ".join(item["because"])
    assert by_key[DONE[0]]["ticket"] == "PROJ-123"
    assert by_key[DONE[0]]["ticket_url"] == "https://jira.example.com/PROJ-123"
    assert by_key[WAIVED]["status"] == "waived"
    assert by_key[WAIVED]["waiver_reason"] == "Internal demo only, no users"
    assert "NIST AI RMF 1.0: MEASURE 2.8" in by_key[WAIVED]["references"]
    ds = people["data-scientist"]
    assert by_key[DONE[0]]["owner_emails"] == ds["email"]


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)"])
def test_csv_neutralises_names_a_spreadsheet_would_run_as_formulas(api, name):
    project = create_project(api, application="other")
    person = create_person(api, name=name, email="formula@example.com")
    assign(api, project, "ux-designer", person)
    generate(api, project, 201)

    body = api.get(_checklist_path(project), query_string={"format": "csv"}).text

    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(body))}
    assert rows["ux-designer.conduct-user-research"]["owners"] == "'" + name
    assert not any(value.startswith(("=", "+", "@")) for r in rows.values() for value in r.values())


def test_text_names_every_item_by_key(api, worked):
    project, _ = worked
    doc = read_checklist(api, project)

    body = api.get(_checklist_path(project), headers={"Accept": "text/plain"}).text

    assert body.startswith("CHECKLIST: Markdown Project\n")
    assert f"Revision: {doc['revision']}" in body
    for item in doc["items"]:
        assert f"key: {item['key']}" in body
    assert "\x1b" not in body
    assert max(len(line) for line in body.splitlines()) <= 100


# --------------------------------------------------------------------------- stale representations


def test_renaming_a_person_shows_in_the_checklist_at_once(api):
    project, people = staffed_project(api)
    generate(api, project, 201)
    first = api.get(_checklist_path(project))
    ds = people["data-scientist"]

    renamed = api.patch(f"/v1/people/{ds['id']}", json={"name": "Dana Renamed"})

    assert renamed.status_code == 200
    again = api.get(_checklist_path(project), headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200
    owners = items_by_key(again.json)["data-scientist.collect-and-preprocess-data"]["owners"]
    assert [o["name"] for o in owners] == ["Dana Renamed"]


def test_renaming_a_project_shows_in_its_checklist_at_once(api):
    project, _ = staffed_project(api)
    generate(api, project, 201)

    response = api.patch(
        f"/v1/projects/{project['id']}", json={"name": "Renamed Project", "slug": "renamed"}
    )

    assert response.status_code == 200
    header = read_checklist(api, project)["project"]
    assert (header["name"], header["slug"]) == ("Renamed Project", "renamed")
    markdown = api.get(_checklist_path(project), query_string={"format": "markdown"}).text
    assert markdown.startswith("# Checklist: Renamed Project\n")


@pytest.mark.parametrize("fmt", ["markdown", "text"])
def test_a_filtered_rendering_says_so_and_counts_the_items_it_shows(api, worked, fmt):
    project, _ = worked
    whole = read_checklist(api, project)
    shown = read_checklist(api, project, role="ai-ethicist")

    response = api.get(
        _checklist_path(project), query_string={"format": fmt, "role": "ai-ethicist"}
    )

    body = response.get_data(as_text=True)
    counts = f"{len(shown['items'])} of {whole['summary']['total']} items shown"
    assert 0 < len(shown["items"]) < whole["summary"]["total"]
    filtered_by = "- **Filtered by:** role `ai-ethicist`" if fmt == "markdown" else "Filtered by: "
    assert filtered_by in body
    assert counts in body
    done = sum(i["status"] == "done" for i in shown["items"])
    assert f"({done} of {len(shown['items'])} items done" in body
    assert f"({whole['summary']['by_status']['done']} of {whole['summary']['total']} items" in body


# --------------------------------------------------------------------------- format paths

SUFFIXES = {"markdown": "md", "csv": "csv", "text": "txt", "html": "html"}


@pytest.mark.parametrize(("fmt", "suffix"), SUFFIXES.items())
def test_a_format_path_answers_as_the_format_query_with_the_same_filters_layout_and_etag(
    api, worked, fmt, suffix
):
    project, _ = worked
    query = {"status": "open", "group_by": "role", "compact": "true"}

    negotiated = api.get(_checklist_path(project), query_string={**query, "format": fmt})
    by_path = api.get(f"{_checklist_path(project)}.{suffix}", query_string=query)

    assert by_path.status_code == 200
    assert by_path.mimetype == FORMATS[fmt]
    assert by_path.get_data() == negotiated.get_data()
    assert by_path.headers["ETag"] == negotiated.headers["ETag"]
    assert "Vary" not in by_path.headers  # the path, not `Accept`, says the format
    unfiltered = api.get(f"{_checklist_path(project)}.{suffix}")
    assert unfiltered.get_data() != by_path.get_data()


def test_a_format_path_answers_304_until_an_item_changes_and_disregards_accept(api, worked):
    project, _ = worked
    path = f"{_checklist_path(project)}.md"
    first = api.get(path, headers={"Accept": "application/json"})
    assert first.mimetype == "text/markdown"
    assert "- [ ] " in first.text

    unchanged = api.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304
    assert patch_item(api, project, IN_PROGRESS, {"status": "done"}).status_code == 200
    changed = api.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.text != first.text


def test_a_format_path_keeps_the_checks_of_the_negotiated_one(api, other_api, client, worked):
    project, _ = worked
    path = f"{_checklist_path(project)}.csv"

    assert_problem(client.get(path), 401)
    assert_problem(other_api.get(path), 404)
    assert_problem(api.get("/v1/projects/prj_doesnotexist/checklist.md"), 404)
    problem = assert_problem(api.get(path, query_string={"status": "finished"}), 422)
    assert "status" in problem["errors"]
    rows = list(csv.reader(io.StringIO(api.get(path).text)))
    assert rows[0] == CSV_COLUMNS


@pytest.mark.parametrize(("fmt", "suffix"), SUFFIXES.items())
def test_a_persons_items_have_format_paths_with_the_same_pages(api, fmt, suffix):
    project, people = staffed_project(api)
    generate(api, project, 201)
    path = f"/v1/people/{people['data-scientist']['id']}/checklist-items"
    query = {"limit": 2, "group_by": "kind"}

    negotiated = api.get(path, query_string={**query, "format": fmt})
    by_path = api.get(f"{path}.{suffix}", query_string=query)

    assert by_path.status_code == 200
    assert by_path.mimetype == FORMATS[fmt]
    assert by_path.get_data() == negotiated.get_data()
    # The next page is the format path's own.
    assert by_path.headers["Link"].startswith(f"<http://localhost{path}.{suffix}?")


@pytest.mark.parametrize(("fmt", "suffix"), SUFFIXES.items())
def test_a_preview_has_format_paths_for_a_read_only_key(make_api, fmt, suffix):
    reader = make_api(scopes=("read",))
    body = {
        "project": {"name": "Launch Blog", "application": "content-creation"},
        "assignments": [{"role": "data-scientist", "person": {"name": "Ada", "email": "a@x.io"}}],
    }

    negotiated = reader.post("/v1/checklists/preview", json=body, query_string={"format": fmt})
    by_path = reader.post(f"/v1/checklists/preview.{suffix}", json=body)

    assert by_path.status_code == 200
    assert by_path.mimetype == FORMATS[fmt]
    assert by_path.get_data() == negotiated.get_data()
    assert_problem(reader.post(f"/v1/checklists/preview.{suffix}", json={}), 422)


def test_each_format_path_documents_its_one_media_type(client):
    paths = client.get("/openapi.json").json["paths"]
    negotiated = {
        "/v1/projects/{project_ref}/checklist": "get",
        "/v1/people/{person_id}/checklist-items": "get",
        "/v1/checklists/preview": "post",
    }

    for path, method in negotiated.items():
        arguments = {p["name"] for p in paths[path][method]["parameters"]}
        for fmt, suffix in SUFFIXES.items():
            operation = paths[f"{path}.{suffix}"][method]
            assert list(operation["responses"]["200"]["content"]) == [FORMATS[fmt]]
            schema = operation["responses"]["200"]["content"][FORMATS[fmt]]["schema"]
            assert schema == {"type": "string"}
            # The same arguments, less the format its suffix fixes.
            assert {p["name"] for p in operation["parameters"]} == arguments - {"format"}
            assert operation.get("requestBody") == paths[path][method].get("requestBody")
