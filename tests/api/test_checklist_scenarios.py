"""The three scenarios of docs/checklists.md: what a governance lead reads in them holds, and the
Markdown the docs show is the Markdown the service gives.

After a change of the catalog or of the renderers, rewrite the documented Markdown with
`UPDATE_SCENARIOS=1 .venv/bin/python -m pytest tests/api/test_checklist_scenarios.py -k sqlite`,
then read the diff and the read-through notes beside it again.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from checklist_scenarios import SCENARIOS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "checklists.md"
PATH = "/v1/checklists/preview"


def _block(name: str) -> re.Pattern[str]:
    """The fenced block after the scenario's marker; its content never spans a fence."""
    return re.compile(
        rf"(<!-- scenario: {re.escape(name)} -->\n\n```markdown\n)"
        r"((?:(?!\n```\n).)*?)(\n?```\n)",
        re.DOTALL,
    )


def _preview(api, name: str, fmt: str = "json"):
    response = api.post(PATH, json=SCENARIOS[name], query_string={"format": fmt})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_documented_markdown_is_what_the_service_gives(api, name):
    markdown = _preview(api, name, "markdown").get_data(as_text=True).rstrip("\n")
    text = DOCS.read_text(encoding="utf-8")
    if os.environ.get("UPDATE_SCENARIOS") == "1":
        text, count = _block(name).subn(lambda m: m.group(1) + markdown + "\n```\n", text)
        assert count == 1, f"docs/checklists.md has no block for {name}"
        DOCS.write_text(text, encoding="utf-8")
    found = _block(name).search(text)
    assert found, f"docs/checklists.md has no `<!-- scenario: {name} -->` block"
    assert found.group(2) == markdown, (
        f"the {name} Markdown in docs/checklists.md is stale: see this module's docstring"
    )


def _items(api, name: str) -> dict[str, dict]:
    return {item["key"]: item for item in _preview(api, name).json["items"]}


def test_the_clinical_assistant_gates_patient_data_and_releases(api):
    items = _items(api, "clinical-assistant")
    critical = {k for k, i in items.items() if i["priority"] == "critical"}
    assert critical == {
        "data-privacy.privacy-impact-assessment",
        "data-privacy.health-data-regulatory-review",
        "confabulation.measure-factual-accuracy",
        "explainability.human-review-of-high-stakes-outputs",
        # Health data goes to a hosted model: the agreement with its provider (a BAA).
        "value-chain.sign-provider-agreement",
    }
    for key in critical:
        item = items[key]
        assert item["signoff_required"] and item["evidence_required"]
        # Routed to the role of its field, which the clinic's context calls for: the privacy
        # officer or the clinician alone signs (the AI Ethicist is no fallback here).
        assert [r["name"] for r in item["reviewers"]] in (["Priya Shah"], ["Cleo Park"])
        assert "Pam Lee" not in [r["name"] for r in item["reviewers"]]
        assert "Grace Hopper" not in [o["name"] for o in item["owners"]]
        assert any("critical" in reason.lower() for reason in item["because"])
    assert not any(i["kind"] == "staffing" for i in items.values())
    assert items["value-chain.vet-third-party-models"]["priority"] == "high"


def test_music_with_a_data_scientist_and_an_engineer_asks_for_a_curator(api):
    items = _items(api, "music-composition")
    finding = items["staffing.unfilled.content-curator"]
    assert [o["name"] for o in finding["owners"]] == ["Dana Scott"]
    assert items["content-curator.curate-training-datasets"]["owners"] == []
    assert items["intellectual-property.license-training-data"]["priority"] == "high"
    assert items["intellectual-property.check-outputs-for-copies"]["priority"] == "high"
    # Melodies state no facts; nobody here is an ethicist, and no item says there is one: the
    # one finding that names the role says that nobody holds it, and which items wait for it.
    assert not any(k.startswith("confabulation.") for k in items)
    unowned = items.pop("staffing.unowned.ai-ethicist")
    assert (
        unowned["title"] == "Nobody owns 3 items: staff the role AI Ethicist or reassign its items"
    )
    assert unowned["priority"] == "medium"
    assert unowned["roles"] == ["ai-ethicist"]
    assert (
        "Nobody on the project holds AI Ethicist, and the project does not require it"
        in (unowned["because"])
    )
    for key in (
        "bias-and-fairness.interdisciplinary-review",
        "technical-complexity.record-accepted-risks",
        "explainability.train-against-over-reliance",
    ):
        assert items[key]["owners"] == [] and items[key]["roles"] == []
        assert key in unowned["because"][0]
    assert not any(k.startswith("staffing.unowned.") for k in items)
    for item in items.values():
        assert "ai-ethicist" not in item["roles"]
        assert "ethicist" not in item["detail"].lower()


def test_one_person_as_ethicist_and_curator_is_flagged_and_cannot_sign_their_own_review(api):
    items = _items(api, "content-creation")
    (separation,) = [k for k in items if k.startswith("staffing.separation-of-duties.")]
    assert separation.endswith(".ai-ethicist.content-curator")
    assert [o["name"] for o in items[separation]["owners"]] == ["Pam Lee"]
    assert "collaboration.ai-ethicist.content-curator" not in items
    review = items["bias-and-fairness.review-generated-content"]
    assert review["priority"] == "critical"
    assert [o["name"] for o in review["owners"]] == ["Eve Adams"]
    assert [r["name"] for r in review["reviewers"]] == ["Pam Lee"]
    assert "content-curator.review-generated-content" not in items
