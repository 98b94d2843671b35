"""The preview: a checklist for a project and staffing given in one request, nothing stored."""

from __future__ import annotations

import csv
import io
import re

import pytest
from checklist_support import (
    CORE_RESPONSIBILITIES,
    KEY_ROLES,
    flat_errors,
    generate,
    item_for,
    items_by_key,
    staffed_project,
)
from factories import assert_problem, create_person
from sqlalchemy import func, select

from app.extensions import db
from app.models import Base

PATH = "/v1/checklists/preview"
FORMATS = {
    "json": "application/json",
    "markdown": "text/markdown",
    "csv": "text/csv",
    "text": "text/plain",
    "html": "text/html",
}


def _body(**project):
    """A content-creation project with the five key roles, people given inline."""
    return {
        "project": {"name": "Launch Blog", "application": "content-creation", **project},
        "assignments": [
            {
                "role": "data-scientist",
                "person": {"name": "Ada", "email": "ada@example.com"},
                "allocation": 50,
            },
            {
                "role": "machine-learning-engineer",
                "person": {"name": "Linus", "email": "linus@example.com"},
            },
            {"role": "ai-ethicist", "person": {"name": "Eve", "email": "eve@example.com"}},
            {"role": "ux-designer", "person": {"name": "Una", "email": "una@example.com"}},
            {
                "role": "content-curator",
                "person": {"name": "Cleo", "email": "cleo@example.com"},
                "lead": True,
            },
        ],
    }


def _row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }


def test_a_preview_is_a_checklist_for_the_staffing_in_the_body(api):
    response = api.post(PATH, json=_body())

    assert response.status_code == 200
    doc = response.json
    assert doc["checklist_id"] is None
    assert doc["revision"] is None
    assert doc["project"]["name"] == "Launch Blog"
    assert doc["project"]["application"] == "content-creation"
    items = items_by_key(doc)
    for role, keys in CORE_RESPONSIBILITIES.items():
        for key in keys:
            assert role in item_for(items, key)["roles"]
    for role, entry in zip(KEY_ROLES, _body()["assignments"], strict=True):
        assert entry["role"] == role
        owners = items[CORE_RESPONSIBILITIES[role][-1]]["owners"]
        assert [o["name"] for o in owners] == [entry["person"]["name"]]
    agreed = items["technical-complexity.document-ownership"]["detail"]
    assert "AI Ethicist with Content Curator (AI Ethicist's row: Ethical guidelines" in agreed
    assert items["ai-ethicist.educate-teams"]["owners"][0]["email"] == "eve@example.com"
    assert items["ux-designer.conduct-user-research"]["owners"][0]["email"] == "una@example.com"
    assert "bias-and-fairness.review-generated-content" in items
    assert {i["status"] for i in doc["items"]} == {"open"}
    assert doc["summary"]["total"] == len(doc["items"])
    assert doc["summary"]["by_status"]["open"] == len(doc["items"])
    assert doc["summary"]["percent_done"] == 0


def test_a_preview_matches_the_stored_checklist_of_the_same_project(api):
    project, _ = staffed_project(api, application="content-creation", traits={"user_facing": True})
    stored = generate(api, project, 201).json

    preview = api.post(PATH, json=_body(traits={"user_facing": True})).json

    def shape(doc):
        # Finding keys name people by id; this staffing has none but the unfilled PM.
        return [(i["key"], i["kind"], i["priority"], i["roles"]) for i in doc["items"]]

    assert shape(preview) == shape(stored)
    assert preview["catalog_version"] == stored["catalog_version"]


def test_a_preview_reports_findings_for_the_people_it_names(api):
    body = {
        "project": {"application": "other"},
        "assignments": [
            {"role": "data-scientist", "person": {"name": "Sam", "email": "Sam@Example.com"}},
            {"role": "ai-ethicist", "person": {"name": "Sam", "email": "sam@example.com"}},
        ],
    }

    items = items_by_key(api.post(PATH, json=body).json)

    finding = items["staffing.separation-of-duties.sam@example.com.data-scientist.ai-ethicist"]
    # About Sam, so not Sam's to resolve; nobody leads this staffing.
    assert finding["owners"] == []
    assert finding["source"]["people"] == ["sam@example.com"]
    # Sam is not a collaboration of one person with themselves.
    assert "collaboration.data-scientist.ai-ethicist" not in items
    assert "staffing.unfilled.machine-learning-engineer" in items


@pytest.mark.parametrize(("fmt", "mimetype"), FORMATS.items())
def test_a_preview_answers_in_every_format(api, fmt, mimetype):
    expected = api.post(PATH, json=_body()).json["items"]

    by_query = api.post(PATH, json=_body(), query_string={"format": fmt})
    by_accept = api.post(PATH, json=_body(), headers={"Accept": mimetype})

    for response in (by_query, by_accept):
        assert response.status_code == 200
        assert response.mimetype == mimetype
    assert by_query.get_data() == by_accept.get_data()
    body = by_query.get_data(as_text=True)
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(body)))
        assert [r["key"] for r in rows] == [i["key"] for i in expected]
    elif fmt == "json":
        assert by_query.json["items"] == expected
    else:
        for item in expected:
            assert item["key"] in body


def test_one_curl_gives_a_markdown_checklist(api):
    response = api.post(
        PATH,
        data='{"project": {"name": "Demo", "application": "music-composition"},'
        ' "assignments": [{"role": "data-scientist",'
        ' "person": {"name": "Ada", "email": "ada@example.com"}}]}',
        headers={"Content-Type": "application/json", "Accept": "text/markdown"},
    )

    assert response.status_code == 200
    assert response.mimetype == "text/markdown"
    body = response.get_data(as_text=True)
    assert body.startswith("# Checklist: Demo\n")
    assert "**Revision:** preview" in body
    assert "`intellectual-property.license-training-data`" in body
    boxes = re.findall(r"^- \[ \] ", body, flags=re.MULTILINE)
    assert boxes
    assert not re.search(r"^- \[x\] ", body, flags=re.MULTILINE)
    assert "Ada" in body


def test_a_preview_stores_nothing(app, api):
    api.post(PATH, json=_body())  # the key's first use is recorded once, before counting
    before = _row_counts(app)
    events_before = api.get("/v1/events").json["items"]

    for fmt in FORMATS:
        assert api.post(PATH, json=_body(), query_string={"format": fmt}).status_code == 200

    assert _row_counts(app) == before
    assert api.get("/v1/people").json["items"] == []
    assert api.get("/v1/projects").json["items"] == []
    assert api.get("/v1/events").json["items"] == events_before
    assert {e["type"] for e in events_before} <= {"team.created", "api_key.created"}


def test_a_read_only_key_may_preview_but_not_generate(make_api):
    reader = make_api(scopes=("read",))
    writer = make_api()
    project, _ = staffed_project(writer)

    assert reader.post(PATH, json=_body()).status_code == 200
    assert reader.post(PATH, json=_body(), query_string={"format": "markdown"}).status_code == 200
    assert_problem(reader.post(f"/v1/projects/{project['id']}/checklist"), 403)


def test_a_preview_needs_an_api_key(client):
    response = client.post(PATH, json=_body())

    assert_problem(response, 401)
    assert "WWW-Authenticate" in response.headers


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {
                "project": {"application": "other"},
                "assignments": [
                    {"role": "wizard", "person": {"name": "Merlin", "email": "merlin@example.com"}}
                ],
            },
            {"assignments.0.role"},
        ),
        (
            {
                "project": {"application": "space-travel"},
                "assignments": [
                    {
                        "role": "data-scientist",
                        "person": {"name": "Ada", "email": "ada@example.com"},
                    },
                    {
                        "role": "prompt-engineer",
                        "person": {"name": "Pat", "email": "pat@example.com"},
                    },
                ],
            },
            {"project.application", "assignments.1.role"},
        ),
        ({"project": {"application": "Not A Key"}}, {"project.application"}),
        ({"assignments": []}, {"project"}),
        ({"project": {}}, {"project.application"}),
        (
            {"project": {"application": "other"}, "assignments": [{"role": "data-scientist"}]},
            {"assignments.0"},
        ),
        (
            {
                "project": {"application": "other"},
                "assignments": [
                    {"role": "data-scientist", "person": {"name": "A", "email": "nope"}}
                ],
            },
            {"assignments.0.person.email"},
        ),
        (
            {
                "project": {"application": "other"},
                "assignments": [
                    {
                        "role": "data-scientist",
                        "person": {"name": "A", "email": "a@example.com"},
                        "allocation": 150,
                    }
                ],
            },
            {"assignments.0.allocation"},
        ),
        *[
            (
                {
                    "project": {"application": "other"},
                    "assignments": [
                        {
                            "role": "data-scientist",
                            "person": {"name": "A", "email": "a@example.com"},
                            "allocation": 50,
                        },
                        {
                            "role": "ai-ethicist",
                            "person": {"name": "B", "email": "b@example.com"},
                            "allocation": allocation,
                        },
                    ],
                },
                {"assignments.1.allocation"},
            )
            # A whole percent: not cut to an integer, nor a float, a boolean or a string.
            for allocation in (1.5, 100.7, 50.0, True, "50")
        ],
        ({"project": {"application": "other", "traits": {"flying": True}}}, {"project.traits"}),
        ({"project": {"application": "other"}, "extra": 1}, {"extra"}),
    ],
)
def test_a_bad_preview_is_a_422_naming_each_bad_field(app, api, body, fields):
    before = _row_counts(app)

    problem = assert_problem(api.post(PATH, json=body), 422)

    named = flat_errors(problem["errors"])
    assert fields <= named, named
    assert _row_counts(app) == before


def test_a_preview_in_a_format_we_cannot_produce_is_406(api):
    assert_problem(api.post(PATH, json=_body(), query_string={"format": "pdf"}), 406)
    assert_problem(api.post(PATH, json=_body(), headers={"Accept": "application/pdf"}), 406)


def test_a_preview_takes_the_staffing_puts_shape_and_rules(api):
    """`person_id` from the directory, inline people found by email, a pair given twice
    refused, and `staffing` still accepted as the former name of `assignments`."""
    ada = create_person(api, name="Ada Lovelace", email="ada@example.com")
    body = {
        "project": {"application": "other"},
        "assignments": [
            {"role": "data-scientist", "person_id": ada["id"]},
            {"role": "ai-ethicist", "person": {"name": "A. L.", "email": "ADA@example.com"}},
        ],
    }

    items = items_by_key(api.post(PATH, json=body).json)
    former = api.post(PATH, json={"project": body["project"], "staffing": body["assignments"]})
    twice = api.post(
        PATH, json={**body, "assignments": [*body["assignments"], body["assignments"][0]]}
    )
    unknown = api.post(
        PATH,
        json={**body, "assignments": [{"role": "ux-designer", "person_id": "per_nobody"}]},
    )
    both = api.post(PATH, json={**body, "staffing": []})

    finding = items[f"staffing.separation-of-duties.{ada['id']}.data-scientist.ai-ethicist"]
    assert finding["source"]["people"] == [ada["id"]]
    assert former.status_code == 200 and items_by_key(former.json).keys() == items.keys()
    assert "assignments.2" in assert_problem(twice, 422)["errors"]
    assert "assignments.0.person_id" in assert_problem(unknown, 422)["errors"]
    assert "staffing" in assert_problem(both, 422)["errors"]
