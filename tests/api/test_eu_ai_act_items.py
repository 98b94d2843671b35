"""EU AI Act obligations on checklists (issue 19, point 5): a project used in the EU and
classified high gets exactly the high-risk obligations with their article references, besides
AI literacy and the transparency of generated output that every EU project gets; a limited one
gets those two and not the high-risk ones; a project outside the EU gets none; an unclassified
EU project is still asked to classify its risk. The references show in every format and in the
catalog."""

from __future__ import annotations

import csv
import io
from typing import Any

from checklist_support import generate, items_by_key, read_checklist
from factories import assign, create_person, create_project

HIGH_RISK = {
    "context.eu-risk-management-system": ["Art. 9"],
    "context.eu-data-governance": ["Art. 10"],
    "context.eu-technical-documentation": ["Art. 11"],
    "context.eu-logs-kept-six-months": ["Art. 12", "Art. 26(6)"],
    "context.eu-instructions-for-deployers": ["Art. 13"],
    "context.eu-human-oversight": ["Art. 14"],
    "context.eu-accuracy-robustness-cybersecurity": ["Art. 15"],
    "context.eu-serious-incident-reporting": ["Art. 73"],
}
EVERY_EU_PROJECT = {
    "context.eu-ai-literacy": ["Art. 4"],
    "context.eu-generated-content-transparency": ["Art. 50"],
}
CLASSIFY = "context.classify-risk"
REFERENCE_LINE = "EU AI Act (Regulation (EU) 2024/1689), for use in the EU: Art. 12, Art. 26(6)"


def _project(api, name: str = "Benefit letters", **context: Any) -> dict[str, Any]:
    project = create_project(api, name=name, application="other", **context)
    for role, name in (("product-manager", "Pam Lee"), ("ai-ethicist", "Grace Hopper")):
        assign(api, project, role, create_person(api, name=name))
    generate(api, project, 201)
    return project


def _context_items(api, project) -> dict[str, dict[str, Any]]:
    items = items_by_key(read_checklist(api, project))
    return {key: item for key, item in items.items() if item["kind"] == "context"}


def _references(items: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    return {key: item["source"]["eu_ai_act"] for key, item in items.items()}


def test_a_high_risk_eu_project_gets_the_high_risk_obligations_with_their_articles(api):
    project = _project(api, jurisdictions=["EU"], risk_classification="high")

    items = _context_items(api, project)

    assert _references(items) == {**EVERY_EU_PROJECT, **HIGH_RISK}
    logs = items["context.eu-logs-kept-six-months"]
    assert logs["priority"] == "high" and logs["evidence_required"] and logs["signoff_required"]
    assert logs["because"] == [
        "Project context: risk classification high",
        "Project context: used in EU",
    ]
    assert logs["source"]["kind"] == "authored"
    # The Accountable Executive is required by the high classification: the go/no-go reviews
    # (risk management) are theirs alone.
    assert items["context.eu-risk-management-system"]["reviewer_roles"] == ["accountable-executive"]
    for key in HIGH_RISK:
        assert items[key]["priority"] in ("high", "critical"), key


def test_a_limited_eu_project_gets_transparency_and_literacy_but_not_risk_management(api):
    project = _project(api, jurisdictions=["EU", "US"], risk_classification="limited")

    items = _context_items(api, project)

    assert _references(items) == EVERY_EU_PROJECT
    assert "context.eu-risk-management-system" not in items
    transparency = items["context.eu-generated-content-transparency"]
    assert "machine-readable" in transparency["detail"]
    assert transparency["priority"] == "high" and transparency["evidence_required"]


def test_a_project_outside_the_eu_gets_no_eu_obligation(api):
    for name, jurisdictions in (("Nowhere", []), ("US and UK", ["US", "UK"])):
        project = _project(api, name, jurisdictions=jurisdictions, risk_classification="high")
        assert _context_items(api, project) == {}


def test_an_unclassified_eu_project_is_still_asked_to_classify_its_risk(api):
    project = _project(api, jurisdictions=["EU"])

    items = _context_items(api, project)

    assert items[CLASSIFY]["priority"] == "high"
    # Classifying answers Art. 6, the Act's classification rules.
    assert _references(items) == {CLASSIFY: ["Art. 6"], **EVERY_EU_PROJECT}


def test_the_references_show_in_every_format(api):
    project = _project(api, jurisdictions=["EU"], risk_classification="high")
    path = f"/v1/projects/{project['id']}/checklist"

    markdown = api.get(path, query_string={"format": "markdown"}).text
    text = api.get(path, query_string={"format": "text"}).text
    html = api.get(path, query_string={"format": "html"}).text
    rows = list(csv.DictReader(io.StringIO(api.get(path, query_string={"format": "csv"}).text)))

    # Markdown escapes its punctuation (`\(`): read as rendered.
    assert REFERENCE_LINE in markdown.replace("\\", "")
    assert REFERENCE_LINE in text
    assert REFERENCE_LINE in html
    (row,) = [row for row in rows if row["key"] == "context.eu-logs-kept-six-months"]
    assert REFERENCE_LINE in row["references"]
    (literacy,) = [row for row in rows if row["key"] == "context.eu-ai-literacy"]
    assert literacy["references"].endswith("for use in the EU: Art. 4")
    # An item of the article's says nothing of the Act.
    (other,) = [row for row in rows if row["key"] == "data-scientist.collect-and-preprocess-data"]
    assert "EU AI Act" not in other["references"]


def test_the_catalog_and_the_spec_show_the_references(api):
    catalog = api.get("/v1/catalog").json
    cited = {item["key"]: item["eu_ai_act"] for item in catalog["context_items"]}
    assert cited[CLASSIFY] == ["Art. 6"]
    assert {k: v for k, v in cited.items() if v} == {
        CLASSIFY: ["Art. 6"],
        **EVERY_EU_PROJECT,
        **HIGH_RISK,
    }

    spec = api.get("/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert "eu_ai_act" in schemas["ContextItemOut"]["properties"]
    assert "eu_ai_act" in schemas["ItemSourceOut"]["properties"]
