"""The risk register, derived without a database: the twelve NIST AI 600-1 risks of a
checklist, each with exactly one status, from the items, the project's facts and the
catalog's rules."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from app.schemas.checklists import CHECKLIST_EXAMPLE
from app.services.catalog.model import Catalog
from app.services.checklists.facts import ProjectFacts
from app.services.checklists.generator import generate_checklist, project_traits
from app.services.checklists.register import risk_register
from app.vocabulary import GENAI_RISKS, RegisterStatus
from seed.loader import load_catalog

CBRN, CONFABULATION, DANGEROUS, PRIVACY, ENVIRONMENT = GENAI_RISKS[:5]
OBSCENE, CHAIN = GENAI_RISKS[10], GENAI_RISKS[11]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _item(key: str, *risks: str, status: str = "open", **extra: Any) -> dict[str, Any]:
    return {"key": key, "status": status, "source": {"genai_risks": list(risks)}, **extra}


def _by_risk(register: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["risk"]: entry for entry in register}


def test_all_twelve_risks_in_the_profiles_order_each_with_one_status(catalog):
    register = risk_register(catalog, "other", [], [])

    assert [e["risk"] for e in register] == list(GENAI_RISKS)
    assert [e["section"] for e in register] == [f"2.{n}" for n in range(1, 13)]
    assert {e["status"] for e in register} <= set(RegisterStatus)
    # Nothing addresses anything: each risk either does not apply (with the rule) or is a gap.
    for entry in register:
        assert entry["status"] in (RegisterStatus.GAP, RegisterStatus.NOT_APPLICABLE)
        assert entry["reason"] and entry["items"] == [] and entry["accepted"] == []


def test_items_address_the_risks_they_name_and_a_waived_one_is_listed_as_accepted(catalog):
    items = [
        _item("a.one", PRIVACY, CHAIN),
        _item("a.two", PRIVACY, status="done"),
        _item("a.three", PRIVACY, status="waived", waiver={"residual_risk": "Names may leak"}),
    ]

    entry = _by_risk(risk_register(catalog, "other", [], items))[PRIVACY]

    assert entry["status"] == RegisterStatus.ADDRESSED
    assert entry["items"] == ["a.one", "a.two"]
    assert entry["accepted"] == [{"key": "a.three", "residual_risk": "Names may leak"}]
    assert entry["reason"] is None
    assert _by_risk(risk_register(catalog, "other", [], items))[CHAIN]["items"] == ["a.one"]


def test_a_risk_whose_every_item_is_waived_is_accepted_with_the_residual_risks(catalog):
    items = [
        _item("b.one", ENVIRONMENT, status="waived", waiver={"residual_risk": "Unmetered GPUs"}),
        _item("b.two", ENVIRONMENT, status="waived", waiver={"reason": "medium: none asked"}),
    ]

    entry = _by_risk(risk_register(catalog, "other", [], items))[ENVIRONMENT]

    assert entry["status"] == RegisterStatus.ACCEPTED
    assert entry["items"] == []
    assert entry["accepted"] == [
        {"key": "b.one", "residual_risk": "Unmetered GPUs"},
        {"key": "b.two", "residual_risk": None},
    ]


def test_an_obsolete_item_addresses_nothing(catalog):
    items = [_item("c.gone", DANGEROUS, status="obsolete")]

    entry = _by_risk(risk_register(catalog, "other", [], items))[DANGEROUS]

    # Dangerous content applies to every project: with no live item it is a gap, not addressed.
    assert entry["status"] == RegisterStatus.GAP
    assert entry["reason"] == (
        "Applies to every project: any model that generates text or media can be steered to "
        "produce violent, inciting or hateful content. No item of this checklist addresses it."
    )


def test_a_risk_that_does_not_apply_says_the_rule_and_the_facts_that_fail_it(catalog):
    register = _by_risk(risk_register(catalog, "music-composition", ["user_facing"], []))

    cbrn = register[CBRN]
    assert cbrn["status"] == RegisterStatus.NOT_APPLICABLE
    assert cbrn["reason"].startswith("Applies to a general-purpose assistant")
    assert cbrn["reason"].endswith(
        "Not the case here: none of the traits general_purpose_assistant holds (stated or implied)."
    )
    confabulation = register[CONFABULATION]
    assert confabulation["status"] == RegisterStatus.NOT_APPLICABLE
    assert (
        "Not the case here: the application is Music Composition and none of the traits"
        in (confabulation["reason"])
    )


def test_a_risk_that_applies_by_its_rule_with_no_item_is_a_gap_naming_why(catalog):
    register = _by_risk(risk_register(catalog, "other", ["general_purpose_assistant"], []))

    cbrn = register[CBRN]
    assert cbrn["status"] == RegisterStatus.GAP
    assert "It applies here (trait general_purpose_assistant)." in cbrn["reason"]
    assert cbrn["reason"].endswith("No item of this checklist addresses it.")


def test_items_count_even_where_the_rule_says_the_risk_does_not_apply(catalog):
    """A risk is never silently addressed, and never hidden either: an item that addresses a
    risk the rule exempts still shows as addressing it."""
    items = [_item("d.filter", OBSCENE)]

    entry = _by_risk(risk_register(catalog, "other", [], items))[OBSCENE]

    assert entry["status"] == RegisterStatus.ADDRESSED and entry["items"] == ["d.filter"]


def test_without_rules_every_risk_applies(catalog):
    bare = dataclasses.replace(catalog, risk_rules=())

    register = risk_register(bare, "other", [], [])

    assert {e["status"] for e in register} == {RegisterStatus.GAP}
    assert register[0]["reason"].startswith("The catalog in force states no rule")


@pytest.mark.parametrize(
    ("application", "traits", "expected"),
    [
        # An internal code assistant on a hosted model: no CBRN (not general-purpose), no
        # obscene content (nobody outside the team reads it), everything else addressed.
        (
            "other",
            {"generates_code", "reads_untrusted_content", "uses_third_party_models"},
            {CBRN: "not-applicable", OBSCENE: "not-applicable"},
        ),
        # A general-purpose assistant gets the CBRN test and the output filters.
        ("other", {"general_purpose_assistant", "user_facing"}, {}),
        # The clinic: every risk but CBRN is addressed.
        (
            "healthcare-solutions",
            {"user_facing", "uses_third_party_models"},
            {CBRN: "not-applicable"},
        ),
    ],
)
def test_the_seed_catalogs_checklists_leave_no_gap(catalog, application, traits, expected):
    facts = ProjectFacts(application, frozenset(traits))
    items = [
        {"key": i.key, "status": "open", "source": i.as_dict()["source"]}
        for i in generate_checklist(catalog, facts, [])
    ]
    held, _ = project_traits(catalog, facts)

    register = risk_register(catalog, application, held, items)

    statuses = {e["risk"]: e["status"] for e in register}
    assert {r: s for r, s in statuses.items() if s != "addressed"} == expected


def test_the_specs_example_register_is_the_one_its_items_give(catalog):
    """`/openapi.json`'s example checklist shows the register its own items and traits give."""
    project = CHECKLIST_EXAMPLE["project"]
    derived = risk_register(
        catalog, project["application"], project["traits"], CHECKLIST_EXAMPLE["items"]
    )

    assert derived == CHECKLIST_EXAMPLE["risk_register"]
