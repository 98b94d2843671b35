"""The checklist's JSON form is the schema's: documented in /openapi.json for every format,
dumped through `ChecklistOut`, paginated for a person, and read conditionally in one statement."""

from __future__ import annotations

from typing import Any

import pytest
from checklist_support import example_as_gathered, generate, read_checklist, staffed_project
from factories import assign, create_person, create_project

from app.render import FORMATS
from app.schemas.checklists import CHECKLIST_EXAMPLE, ChecklistOut, PersonItemsOut
from app.schemas.items import ItemOut

CHECKLIST_ANSWERS = [
    ("/v1/projects/{project_ref}/checklist", "get", "200", "ChecklistOut"),
    ("/v1/projects/{project_ref}/checklist", "post", "200", "ChecklistOut"),
    ("/v1/projects/{project_ref}/checklist", "post", "201", "ChecklistOut"),
    ("/v1/checklists/preview", "post", "200", "ChecklistOut"),
    ("/v1/people/{person_id}/checklist-items", "get", "200", "PersonItemsOut"),
]


@pytest.mark.parametrize(("path", "method", "status", "schema"), CHECKLIST_ANSWERS)
def test_every_format_of_a_checklist_answer_is_in_the_spec(client, path, method, status, schema):
    spec = client.get("/openapi.json").json
    content = spec["paths"][path][method]["responses"][status]["content"]

    assert set(content) == set(FORMATS.values())
    assert content["application/json"]["schema"] == {"$ref": f"#/components/schemas/{schema}"}
    for mimetype in set(FORMATS.values()) - {"application/json"}:
        assert content[mimetype]["schema"] == {"type": "string"}


def test_the_spec_gives_a_checklist_as_the_example_in_every_format(client):
    content = client.get("/openapi.json").json["paths"]["/v1/projects/{project_ref}/checklist"][
        "get"
    ]["responses"]["200"]["content"]

    assert content["application/json"]["example"] == CHECKLIST_EXAMPLE
    first = CHECKLIST_EXAMPLE["items"][0]
    for mimetype in ("text/markdown", "text/csv", "text/plain"):
        assert first["title"] in content[mimetype]["example"]


def test_the_example_is_what_checklist_out_dumps():
    """Every field of the example is one the schema has, with the value it would dump."""
    data = example_as_gathered()

    assert ChecklistOut().dump(data) == CHECKLIST_EXAMPLE
    assert {"responsibility", "mitigation", "collaboration", "staffing", "context"} == {
        item["kind"] for item in CHECKLIST_EXAMPLE["items"]
    }


def _fields(schema: Any) -> set[str]:
    return set(schema().fields)


def test_a_checklist_answer_has_exactly_the_schemas_fields(api):
    project, _ = staffed_project(api)
    generated = generate(api, project, 201).json

    for doc in (generated, read_checklist(api, project)):
        assert set(doc) == _fields(ChecklistOut)
        for item in doc["items"]:
            assert set(item) == _fields(ItemOut), item["key"]
            # The schema's enums are the values answered.
            assert item["status"] in ("open", "in_progress", "done", "waived", "obsolete")


def test_the_checklist_json_is_dumped_once_per_state_for_every_format_and_filter(api, app):
    from app.services.checklists import reads as checklist_reads

    project, _ = staffed_project(api)
    generate(api, project, 201)
    checklist_reads.document_cache.clear()
    checklist_reads.render_cache.clear()

    read_checklist(api, project)
    read_checklist(api, project, kind="mitigation")
    api.get(f"/v1/projects/{project['id']}/checklist", query_string={"format": "markdown"})

    documents = [key for key in checklist_reads.document_cache if key[1]]
    assert len(documents) == 1
    assert len(checklist_reads.render_cache) == 3


def _owner_of_many(api: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    ada = create_person(api, name="Ada Owner")
    projects = []
    for name in ("Alpha", "Beta", "Gamma"):
        project = create_project(api, name=name, application="other")
        assign(api, project, "data-scientist", ada)
        generate(api, project, 201)
        projects.append(project)
    return ada, projects


def test_a_persons_items_come_a_page_at_a_time(api):
    ada, projects = _owner_of_many(api)
    everything = api.get(f"/v1/people/{ada['id']}/checklist-items", query_string={"limit": 200})
    assert everything.json["next_cursor"] is None
    assert "Link" not in everything.headers
    all_items = [(i["project"]["id"], i["key"]) for i in everything.json["items"]]
    assert len(all_items) > 5
    assert [p for p, _ in all_items] == sorted(
        (p for p, _ in all_items), key=[p["id"] for p in projects].index
    )

    seen: list[tuple[str, str]] = []
    query: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        page = api.get(f"/v1/people/{ada['id']}/checklist-items", query_string=query)
        assert page.status_code == 200, page.json
        assert len(page.json["items"]) <= 2
        # The summary counts all of them, on every page.
        assert page.json["summary"]["total"] == len(all_items)
        seen += [(i["project"]["id"], i["key"]) for i in page.json["items"]]
        pages += 1
        if page.json["next_cursor"] is None:
            break
        assert page.headers["Link"].endswith('>; rel="next"')
        assert "limit=2" in page.headers["Link"]
        query = {"limit": 2, "cursor": page.json["next_cursor"]}

    assert seen == all_items
    assert pages == -(-len(all_items) // 2)


def test_each_item_of_a_person_says_which_checklist_it_is_of(api):
    ada, projects = _owner_of_many(api)

    doc = api.get(f"/v1/people/{ada['id']}/checklist-items").json

    assert set(doc) == _fields(PersonItemsOut)
    checklist = read_checklist(api, projects[0])
    first = next(i for i in doc["items"] if i["project"]["id"] == projects[0]["id"])
    assert first["checklist"] == {
        "id": checklist["checklist_id"],
        "revision": checklist["revision"],
        "catalog_version": checklist["catalog_version"],
        "generated_at": checklist["generated_at"],
    }


@pytest.mark.parametrize("cursor", ["nope", "WyJhIl0", "W1tdLCJ4IiwxLCJ5Il0"])
def test_a_forged_person_items_cursor_is_a_422_naming_it(api, cursor):
    ada, _ = _owner_of_many(api)

    response = api.get(f"/v1/people/{ada['id']}/checklist-items", query_string={"cursor": cursor})

    assert response.status_code == 422
    assert "cursor" in response.json["errors"]


def test_a_conditional_read_of_an_unchanged_checklist_is_one_statement(api, count_queries):
    project, _ = staffed_project(api)
    generate(api, project, 201)
    first = api.get(f"/v1/projects/{project['id']}/checklist")
    etag = first.headers["ETag"]

    with count_queries() as unchanged:
        response = api.get(
            f"/v1/projects/{project['id']}/checklist", headers={"If-None-Match": etag}
        )
    with count_queries() as cached:
        again = api.get(f"/v1/projects/{project['id']}/checklist")

    assert response.status_code == 304
    assert response.headers["ETag"] == etag
    assert again.status_code == 200
    assert again.get_data() == first.get_data()
    # The API key (at most), then the checklist's state: nothing else is read or written.
    checklist_reads = [s for s in unchanged.statements if "checklists" in s]
    assert len(checklist_reads) == 1
    assert unchanged.count <= 2, unchanged.statements
    assert cached.count <= 2, cached.statements


def test_the_etag_changes_with_the_checklist_and_the_format(api):
    project, _ = staffed_project(api)
    generate(api, project, 201)
    url = f"/v1/projects/{project['id']}/checklist"
    json_etag = api.get(url).headers["ETag"]
    markdown_etag = api.get(url, query_string={"format": "markdown"}).headers["ETag"]
    item = read_checklist(api, project)["items"][0]

    api.patch(f"{url}/items/{item['id']}", json={"status": "in_progress"})
    changed = api.get(url, headers={"If-None-Match": json_etag})

    assert json_etag != markdown_etag
    assert changed.status_code == 200
    assert changed.headers["ETag"] != json_etag
