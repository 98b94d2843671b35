"""The scenarios of docs/checklists.md (the three read-throughs and the four projects of the
governance lead's reading): what a governance lead reads in them holds, and the Markdown and
tables the docs show are what the service gives.

After a change of the catalog or of the renderers, rewrite the documented Markdown with
`UPDATE_SCENARIOS=1 .venv/bin/python -m pytest tests/api/test_checklist_scenarios.py -k sqlite`,
then read the diff and the read-through notes beside it again.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from checklist_scenarios import FOUR_PROJECTS, SCENARIOS

from app.vocabulary import GENAI_RISKS

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
        # The clinical pack: notes that drop clinically relevant facts, and whether the
        # software is a medical device that may not be used before its conformity assessment.
        "confabulation.check-summaries-for-omissions",
        "technical-complexity.classify-as-medical-device",
    }
    for key in critical:
        item = items[key]
        assert item["signoff_required"] and item["evidence_required"]
        # Routed to the role of its field, which the clinic's context calls for: the privacy
        # officer, the clinician or (for the device classification) the accountable executive
        # alone signs (the AI Ethicist is no fallback here).
        expected = ["Erin Walsh"] if key.startswith("technical-complexity.") else None
        assert [r["name"] for r in item["reviewers"]] in (
            [expected] if expected else (["Priya Shah"], ["Cleo Park"])
        )
        assert "Pam Lee" not in [r["name"] for r in item["reviewers"]]
        owners = [o["name"] for o in item["owners"]]
        if expected:
            # AI regulation is among the ethicist's skills: Grace co-owns the device
            # classification with Pam, and the executive signs it.
            assert owners == ["Pam Lee", "Grace Hopper"]
        else:
            assert "Grace Hopper" not in owners
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
    agreed = items["technical-complexity.document-ownership"]["detail"]
    assert "Data Scientist with AI Ethicist (" in agreed
    assert "AI Ethicist with Content Curator" not in agreed
    assert not [k for k in items if k.startswith("collaboration.")]
    review = items["bias-and-fairness.review-generated-content"]
    assert review["priority"] == "critical"
    assert [o["name"] for o in review["owners"]] == ["Eve Adams"]
    assert [r["name"] for r in review["reviewers"]] == ["Pam Lee"]
    assert "content-curator.review-generated-content" not in items


# --------------------------------------------------------------------------- the risk register


def _table_block(marker: str) -> re.Pattern[str]:
    """The Markdown table right after `<!-- marker -->` (its rows, up to the blank line)."""
    return re.compile(rf"(<!-- {re.escape(marker)} -->\n\n)((?:\|[^\n]*\n)+)")


def _check_table(marker: str, table: str) -> None:
    """The documented table is `table`; with UPDATE_SCENARIOS=1, it is written first."""
    text = DOCS.read_text(encoding="utf-8")
    if os.environ.get("UPDATE_SCENARIOS") == "1":
        text, count = _table_block(marker).subn(lambda m: m.group(1) + table, text)
        assert count == 1, f"docs/checklists.md has no table after <!-- {marker} -->"
        DOCS.write_text(text, encoding="utf-8")
    found = _table_block(marker).search(text)
    assert found, f"docs/checklists.md has no table after <!-- {marker} -->"
    assert found.group(2) == table, f"the {marker} table in docs/checklists.md is stale"


def _rows(*rows: list[str]) -> str:
    return "".join("| " + " | ".join(row) + " |\n" for row in rows)


def _applies(condition) -> str:
    if condition is None:
        return "to every project"
    said = [f"`{t}`" for t in condition["traits_any"]]
    said += [f"application `{a}`" for a in condition["applications_any"]]
    return "when the project has any of: " + ", ".join(said)


def test_the_documented_risk_rules_are_the_catalogs(api):
    rules = api.get("/v1/catalog").json["risk_rules"]

    assert [rule["risk"] for rule in rules] == list(GENAI_RISKS)
    _check_table(
        "risk-rules",
        _rows(
            ["§", "risk", "applies"],
            ["---", "---", "---"],
            *([r["section"], r["risk"], _applies(r["applies_when"])] for r in rules),
        ),
    )


def _status(entry: dict) -> str:
    if entry["status"] == "addressed":
        return f"addressed ({len(entry['items'])})"
    return {"not-applicable": "not applicable", "gap": "**gap**"}.get(
        entry["status"], entry["status"]
    )


def test_the_documented_scenario_registers_are_what_the_service_gives(api):
    registers = {name: _preview(api, name).json["risk_register"] for name in SCENARIOS}

    _check_table(
        "scenario-registers",
        _rows(
            ["§", "risk", *SCENARIOS],
            ["---"] * (2 + len(SCENARIOS)),
            *(
                [entry["section"], entry["risk"], *(_status(registers[n][i]) for n in SCENARIOS)]
                for i, entry in enumerate(registers["clinical-assistant"])
            ),
        ),
    )


def _priority(mitigation: dict) -> str:
    """A mitigation's base priority and what raises it, in words."""
    raises = [
        f"{rule['priority']} with {_condition(rule['when'])}" for rule in mitigation["raised_when"]
    ]
    return "; ".join([mitigation["priority"], *raises])


def _condition(condition: dict) -> str:
    said = [f"`{t}`" for t in condition["traits_any"]]
    said += [f"application `{a}`" for a in condition["applications_any"]]
    return " or ".join(said)


def test_the_documented_domain_packs_are_the_catalogs(api):
    catalog = api.get("/v1/catalog").json
    mitigations = {m["key"]: m for c in catalog["challenges"] for m in c["mitigations"]}
    packs = catalog["packs"]

    assert [pack["key"] for pack in packs] == ["clinical", "code", "synthetic-media", "advertising"]
    _check_table(
        "domain-packs",
        _rows(
            ["pack", "applies", "item", "priority", "signed off by"],
            ["---"] * 5,
            *(
                [
                    pack["title"],
                    _condition(pack["applies_when"]),
                    f"`{key}` {mitigations[key]['title']}",
                    _priority(mitigations[key]),
                    ", ".join(mitigations[key]["reviewer_roles"]) or "no sign-off",
                ]
                for pack in packs
                for key in pack["items"]
            ),
        ),
    )


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_read_through_figures_are_the_checklists(api, name):
    """Each read-through opens with the checklist's count of items, critical and high ones."""
    items = _preview(api, name).json["items"]
    count = {p: sum(i["priority"] == p for i in items) for p in ("critical", "high")}
    critical = count["critical"] or "none"
    text = DOCS.read_text(encoding="utf-8")
    section = text.split(f"<!-- scenario: {name} -->", 1)[0].rsplit("\n### ", 1)[1]
    opening = re.search(r"^- (\d+) items, (\w+) critical,? (?:and )?(\d+) high", section, re.M)
    assert opening, f"the {name} read-through does not open with its figures"
    assert opening.groups() == (str(len(items)), str(critical), str(count["high"]))


# ------------------------------------------------------------ the four projects (issue 19)


def _share(part: int, whole: int) -> str:
    return f"{part} ({round(100 * part / whole)} %)"


def test_the_four_projects_figures_are_what_the_service_gives(api):
    """Items, the high and critical share, and the risk register of each of the four projects
    the governance lead read, as the docs' table gives them."""
    rows = [["project", "items", "critical", "high", "high or critical", "risk register"]]
    rows.append(["---", "---:", "---:", "---:", "---:", "---"])
    for name in FOUR_PROJECTS:
        doc = _preview(api, name).json
        items = doc["items"]
        count = {p: sum(i["priority"] == p for i in items) for p in ("critical", "high")}
        statuses = [entry["status"] for entry in doc["risk_register"]]
        register = ", ".join(
            f"{statuses.count(s)} {s}"
            for s in ("addressed", "accepted", "not-applicable", "gap")
            if statuses.count(s)
        )
        rows.append(
            [
                doc["project"]["name"],
                str(len(items)),
                str(count["critical"]),
                str(count["high"]),
                _share(count["critical"] + count["high"], len(items)),
                register,
            ]
        )
        # Every risk of the twelve has one status, and no project of the four has a gap.
        assert len(statuses) == 12 and "gap" not in statuses, name
    _check_table("four-projects", _rows(*rows))


def test_who_signs_what_in_the_four_projects_is_what_the_service_gives(api):
    """Each gate that needs a sign-off, by who may give it: the role it is routed to and the
    people staffed in it who do not own the item."""
    rows = [["project", "signed off by (role)", "who can sign now", "items"]]
    rows.append(["---", "---", "---", "---"])
    for name in FOUR_PROJECTS:
        doc = _preview(api, name).json
        groups: dict[tuple[str, str], list[str]] = {}
        for item in doc["items"]:
            if not item["signoff_required"]:
                continue
            roles = " or ".join(item["reviewer_role_titles"])
            people = ", ".join(r["name"] for r in item["reviewers"]) or "**nobody yet**"
            groups.setdefault((roles, people), []).append(item["key"])
        for (roles, people), keys in groups.items():
            listed = ", ".join(f"`{k}`" for k in keys)
            rows.append([doc["project"]["name"], roles, people, f"{len(keys)}: {listed}"])
        # Strict routing: where the project has a governance role, only it signs its gates.
        staffed = {a["role"] for a in SCENARIOS[name]["assignments"]}
        governance = {"privacy-officer", "security-lead", "domain-expert", "accountable-executive"}
        for item in doc["items"]:
            routed = set(item["reviewer_roles"]) & governance & staffed
            if item["signoff_required"] and routed:
                assert set(item["reviewer_roles"]) == routed, item["key"]
    _check_table("who-signs-what", _rows(*rows))
