"""The checklist as a page, through the API: asked for by `Accept` (a browser's too), by
`?format=html` or by the `.html` path; revisions as they stood; 304s; names escaped; a waiver
shown as waived; a person's items and a preview as one page each."""

from __future__ import annotations

import pytest
from checklist_support import generate, in_days, patch_item, read_checklist
from factories import assert_problem, assign, create_person, create_project
from html_support import Element, parse, table_rows

PIA = "data-privacy.privacy-impact-assessment"  # a gate an AI Ethicist signs
EVIDENCE = {"add": [{"title": "DPIA v1", "url": "https://wiki.example.com/dpia"}]}
SCRIPT = "<script>alert(1)</script>"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def clinic(api):
    """A clinical assistant whose data scientist is named like a script, its checklist
    generated (revision 1)."""
    project = create_project(api, name="Clinic notes", application="healthcare-solutions")
    people = {}
    for role, name in (
        ("data-scientist", SCRIPT),
        ("machine-learning-engineer", "Alan Turing"),
        ("ai-ethicist", "Grace Hopper"),
        ("product-manager", "Pam Manager"),
    ):
        people[role] = create_person(api, name=name)
        assign(api, project, role, people[role])
    # Grace is the clinic's Privacy Officer and Accountable Executive too: its privacy gates
    # and its critical waivers are those roles' alone.
    assign(api, project, "privacy-officer", people["ai-ethicist"])
    assign(api, project, "accountable-executive", people["ai-ethicist"])
    generate(api, project, 201)
    return project, people


def _path(project) -> str:
    return f"/v1/projects/{project['id']}/checklist"


def _page(response) -> Element:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert response.mimetype_params == {"charset": "utf-8"}
    root, _ = parse(response.get_data(as_text=True))
    return root


def _sheet(root: Element) -> dict[str, list[str]]:
    """The sign-off sheet's rows by item key (the row header ends with it)."""
    rows = table_rows(root.find("section", class_="sheet").find("table"))
    return {row[0].rsplit(" ", 1)[1]: row[1:] for row in rows}


def _sign_off(api, project, people) -> dict:
    grace = api.as_person(people["ai-ethicist"]["id"])
    response = patch_item(grace, project, PIA, {"status": "done", "evidence": EVIDENCE})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_a_browser_is_given_the_page_and_other_clients_what_they_were_given(api, clinic):
    project, _ = clinic

    browser = api.get(_path(project), headers={"Accept": BROWSER_ACCEPT})
    anything = api.get(_path(project), headers={"Accept": "*/*"})
    any_text = api.get(_path(project), headers={"Accept": "text/*"})

    root = _page(browser)
    assert "Accept" in browser.headers["Vary"]
    assert root.find("h1").text == "Checklist: Clinic notes"
    assert anything.mimetype == "application/json"
    assert any_text.mimetype == "text/markdown"


def test_the_page_forbids_scripts_and_outside_assets_by_its_policy(api, clinic):
    project, _ = clinic

    response = api.get(_path(project), query_string={"format": "html"})

    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "script-src" not in policy
    markdown = api.get(_path(project), query_string={"format": "markdown"})
    assert "Content-Security-Policy" not in markdown.headers


def test_format_query_and_html_path_give_the_same_page_etag_and_304(api, clinic):
    project, _ = clinic

    negotiated = api.get(_path(project), query_string={"format": "html"})
    by_path = api.get(f"{_path(project)}.html", headers={"Accept": "application/json"})
    markdown = api.get(_path(project), query_string={"format": "markdown"})

    _page(by_path)
    assert by_path.get_data() == negotiated.get_data()
    assert by_path.headers["ETag"] == negotiated.headers["ETag"] != markdown.headers["ETag"]
    etag = {"If-None-Match": by_path.headers["ETag"]}
    assert api.get(f"{_path(project)}.html", headers=etag).status_code == 304
    unchanged = api.get(_path(project), query_string={"format": "html"}, headers=etag)
    assert unchanged.status_code == 304
    patch_item(api, project, "data-scientist.collect-and-preprocess-data", {"status": "done"})
    changed = api.get(f"{_path(project)}.html", headers=etag)
    assert changed.status_code == 200
    assert changed.headers["ETag"] != by_path.headers["ETag"]


def test_filters_and_layout_shape_the_page(api, clinic):
    project, _ = clinic

    whole = _page(api.get(f"{_path(project)}.html"))
    filtered = _page(
        api.get(f"{_path(project)}.html", query_string={"kind": "staffing", "group_by": "kind"})
    )
    compact = _page(api.get(f"{_path(project)}.html", query_string={"compact": "true"}))

    assert len(filtered.find_all("article")) < len(whole.find_all("article"))
    assert "Filtered by kind staffing" in filtered.find("header").text
    assert "Done when" in whole.find("main").text
    assert "Done when" not in compact.find("main").text
    assert len(compact.find_all("article")) == len(whole.find_all("article"))


def test_a_name_like_a_script_reads_as_text(api, clinic):
    project, _ = clinic

    response = api.get(f"{_path(project)}.html")

    body = response.get_data(as_text=True)
    assert "<script" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert SCRIPT in _page(response).find("main").text


def test_a_waived_gate_reads_as_waived_with_who_approved_it_until_when(api, clinic):
    project, people = clinic
    grace = api.as_person(people["ai-ethicist"]["id"])
    waiver = {
        "reason": "Covered by the hospital's DPIA of the same data flows",
        "expires_on": in_days(60),
        "residual_risk": "A flow the hospital's DPIA misses",
    }
    # A critical item is waived with the accountable role's approval (policy); Grace's key.
    response = patch_item(grace, project, PIA, {"waiver": waiver})
    assert response.status_code == 200, response.json

    root = _page(api.get(f"{_path(project)}.html"))

    [article] = [a for a in root.find_all("article") if PIA in a.text]
    assert article.find("span", class_="status").text.startswith("Waived")
    said = article.find("p", class_="waiver").text
    assert "approved by Grace Hopper" in said
    assert f"until {waiver['expires_on']}" in said
    assert "residual risk: A flow the hospital's DPIA misses" in said
    assert _sheet(root)[PIA][0].startswith("Waived")


def test_the_sign_off_sheet_shows_who_signed_and_when_and_blanks_for_the_rest(api, clinic):
    project, people = clinic
    signed = _sign_off(api, project, people)

    root = _page(api.get(f"{_path(project)}.html"))

    sheet = _sheet(root)
    gates = [i["key"] for i in read_checklist(api, project)["items"] if i["signoff_required"]]
    assert list(sheet) == [k for k in gates if k in sheet]
    assert set(sheet) == set(gates)
    assert sheet[PIA] == [
        "Done",
        "Privacy Officer",
        "Grace Hopper",
        signed["signed_off_at"][:10],
    ]
    unsigned = [row for key, row in sheet.items() if key != PIA]
    assert unsigned and all(row[2:] == ["", ""] for row in unsigned)


def test_a_revision_reads_as_a_page_as_it_stood_under_an_etag_that_never_changes(api, clinic):
    project, people = clinic
    signed = _sign_off(api, project, people)
    patch_item(api, project, PIA, {"status": "in_progress"})
    revisions = f"{_path(project)}/revisions"

    at_signoff = api.get(f"{revisions}/2.html")
    negotiated = api.get(f"{revisions}/2", query_string={"format": "html"})
    now = _page(api.get(f"{_path(project)}.html"))

    then = _page(at_signoff)
    assert at_signoff.get_data() == negotiated.get_data()
    assert at_signoff.headers["ETag"] == negotiated.headers["ETag"]
    assert "Revision 2" in then.find("header").text
    assert _sheet(then)[PIA][2:] == ["Grace Hopper", signed["signed_off_at"][:10]]
    assert _sheet(now)[PIA][2:] == ["", ""]
    held = {"If-None-Match": at_signoff.headers["ETag"]}
    assert api.get(f"{revisions}/2.html", headers=held).status_code == 304
    listed = api.get(revisions).json["items"][0]["links"]
    assert listed["html"].endswith("/checklist/revisions/3.html")


def test_a_page_keeps_the_checks_of_the_other_formats(api, other_api, client, clinic):
    project, _ = clinic

    assert_problem(client.get(f"{_path(project)}.html"), 401)
    assert_problem(other_api.get(f"{_path(project)}.html"), 404)
    assert_problem(other_api.get(_path(project), headers={"Accept": "text/html"}), 404)
    problem = assert_problem(api.get(_path(project), headers={"Accept": "image/png"}), 406)
    assert "?format=json|markdown|csv|text|html" in problem["detail"]
    assert "text/html" in problem["detail"]


def test_a_persons_items_are_one_page_across_projects(api, clinic):
    _, people = clinic
    ada = people["data-scientist"]
    other = create_project(api, name="Music", application="music-composition")
    assign(api, other, "data-scientist", ada)
    generate(api, other, 201)

    root = _page(api.get(f"/v1/people/{ada['id']}/checklist-items.html"))

    assert len(root.find_all("h1")) == 1
    assert root.find("h1").text == f"Checklist items of {SCRIPT}"
    assert [h.text for h in root.find("main").find_all("h2")][:2] == ["Clinic notes", "Music"]
    ids = [e.attrs["id"] for e in root.iter() if "id" in e.attrs]
    assert len(ids) == len(set(ids))


def test_a_preview_is_a_page_too(make_api):
    reader = make_api(scopes=("read",))
    body = {
        "project": {"name": "Launch <Blog>", "application": "content-creation"},
        "assignments": [{"role": "ai-ethicist", "person": {"name": "Ada", "email": "a@x.io"}}],
    }

    root = _page(reader.post("/v1/checklists/preview.html", json=body))

    assert root.find("h1").text == "Checklist: Launch <Blog>"
    assert "Revision preview" in root.find("header").text
    assert root.find("section", class_="sheet").find("h2").text == "Sign-off sheet"


def test_the_spec_documents_the_page_where_it_documents_markdown(client):
    paths = client.get("/openapi.json").json["paths"]

    for path, method in (
        ("/v1/projects/{project_ref}/checklist", "get"),
        ("/v1/projects/{project_ref}/checklist", "post"),
        ("/v1/projects/{project_ref}/checklist/revisions/{revision}", "get"),
        ("/v1/people/{person_id}/checklist-items", "get"),
        ("/v1/checklists/preview", "post"),
    ):
        for status, answer in paths[path][method]["responses"].items():
            content = answer.get("content") or {}
            if "text/markdown" in content:
                assert content["text/html"]["schema"] == {"type": "string"}, (path, status)
        operation = paths[f"{path}.html"][method] if method == "get" or "preview" in path else None
        if operation is not None:
            assert list(operation["responses"]["200"]["content"]) == ["text/html"]
    example = paths["/v1/projects/{project_ref}/checklist.html"]["get"]["responses"]["200"]
    assert example["content"]["text/html"]["example"].startswith("<!DOCTYPE html>")
