"""The pure checklist engine: required roles, staffing findings, generated items, summary."""

from __future__ import annotations

import dataclasses
import random
import time

import pytest

from app.services.catalog.model import (
    Application,
    Catalog,
    Challenge,
    Collaboration,
    Condition,
    ContextCondition,
    ContextItem,
    Mitigation,
    PriorityRule,
    Responsibility,
    Role,
    SourceRef,
    priority_rank,
)
from app.services.checklists.generator import (
    FINDING_KINDS,
    KINDS,
    SEPARATED_ROLES,
    STATUSES,
    GeneratorSettings,
    Member,
    ProjectFacts,
    StaffingEntry,
    collaboration_pairs,
    generate_checklist,
    overallocated_members,
    project_traits,
    required_roles,
    staffing_report,
    summarize,
)
from app.vocabulary import PHASES, PRIORITIES, TRAITS

ARTICLE = SourceRef("article", "Key Roles", "quote")
AUTHORED = SourceRef("authored", "ours")

ADA = Member("ada", "Ada Lovelace", "ada@example.org", (("github", "ada"), ("jira", "ADA")))
BOB = Member("bob", "Bob Babbage", "bob@example.org")
CAROL = Member("carol", "Carol Hopper")
DAN = Member("dan", "Dan Turing")


def _role(key: str, title: str, position: int, *, required: bool = False, **kw) -> Role:
    responsibilities = tuple(
        Responsibility(
            f"{key}.task-{n}",
            key,
            f"{title} task {n}",
            f"Do {n}.",
            n,
            ARTICLE,
            detail=f"Really do {n}.",
            done_when=f"{n} is done.",
            phase=("plan-and-design", "verify-and-validate")[n],
        )
        for n in range(2)
    )
    return Role(
        key=key,
        title=title,
        summary=f"{title} summary",
        required=required,
        position=position,
        source=ARTICLE,
        responsibilities=responsibilities,
        **kw,
    )


@pytest.fixture
def catalog() -> Catalog:
    """Four roles, three collaboration rows, one challenge with three mitigations, two apps."""
    roles = (
        _role("data-scientist", "Data Scientist", 0, required=True),
        _role("machine-learning-engineer", "Machine Learning Engineer", 1, required=True),
        _role(
            "ai-ethicist",
            "AI Ethicist",
            2,
            required_when=Condition(traits_any=frozenset({"handles_personal_data"})),
        ),
        _role("content-curator", "Content Curator", 3),
    )
    collaborations = (
        Collaboration(
            "data-scientist",
            "data-scientist",
            ("machine-learning-engineer", "ai-ethicist"),
            ("Model refinement", "ethical data usage"),
            0,
            ARTICLE,
        ),
        Collaboration(
            "machine-learning-engineer",
            "machine-learning-engineer",
            ("data-scientist",),
            ("Optimized interfaces and model deployment",),
            1,
            ARTICLE,
        ),
        Collaboration(
            "content-curator",
            "content-curator",
            ("data-scientist",),
            ("Quality assurance", "data relevance"),
            2,
            ARTICLE,
        ),
    )
    mitigations = (
        Mitigation(
            key="data-privacy.inventory",
            challenge_key="data-privacy",
            title="Inventory data",
            detail="List the data.",
            owner_roles=("data-scientist", "ai-ethicist"),
            priority="medium",
            position=0,
            source=AUTHORED,
            done_when="The data is listed.",
            phase="collect-and-process-data",
            raised_when=(
                PriorityRule(Condition(traits_any=frozenset({"handles_personal_data"})), "high"),
            ),
            nist=("MAP 4.1",),
        ),
        Mitigation(
            key="data-privacy.health-review",
            challenge_key="data-privacy",
            title="Health review",
            detail="Review health data.",
            owner_roles=("ai-ethicist",),
            priority="high",
            position=1,
            source=AUTHORED,
            done_when="Health data is reviewed.",
            phase="plan-and-design",
            priority_because="health data is special",
            fulfils=("ai-ethicist.task-1",),
            applies_when=Condition(applications_any=frozenset({"healthcare-solutions"})),
        ),
        Mitigation(
            key="data-privacy.low-one",
            challenge_key="data-privacy",
            title="A low one",
            detail="Low.",
            owner_roles=("machine-learning-engineer",),
            priority="low",
            position=2,
            source=AUTHORED,
            done_when="Low is done.",
            phase="operate-and-monitor",
            agrees_collaborations=True,
        ),
    )
    challenge = Challenge(
        "data-privacy", "Data Privacy", "Privacy.", 0, ARTICLE, mitigations=mitigations
    )
    applications = (
        Application(
            "healthcare-solutions",
            "Healthcare Solutions",
            "Health.",
            0,
            ARTICLE,
            requires_roles=("ai-ethicist",),
            raises=(("data-privacy", "critical"),),
        ),
        Application("other", "Other", "Other.", 1, AUTHORED),
    )
    stop = ContextItem(
        key="context.stop",
        title="Stop",
        detail="Stop the work.",
        done_when="The classification changes.",
        phase="plan-and-design",
        owner_roles=("ai-ethicist", "product-manager"),
        priority="critical",
        position=0,
        source=AUTHORED,
        applies_when=ContextCondition(
            risk_classifications=frozenset({"prohibited"}), jurisdictions_any=frozenset({"EU"})
        ),
        priority_because="it must not be built",
        signoff_required=True,
        reviewer_roles=("data-scientist",),
    )
    return Catalog(
        "test-1", roles, collaborations, (challenge,), applications, context_items=(stop,)
    )


OTHER = ProjectFacts("other", frozenset())
HEALTH = ProjectFacts("healthcare-solutions", frozenset())
PERSONAL = ProjectFacts("other", frozenset({"handles_personal_data"}))


def by_key(items):
    return {item.key: item for item in items}


def keys_of(items, kind=None):
    return [item.key for item in items if kind is None or item.kind == kind]


def finding_kinds(report):
    return [f.kind for f in report.findings]


# --------------------------------------------------------------------------- inputs


def test_member_as_owner_is_the_json_owner_shape():
    assert ADA.as_owner() == {
        "id": "ada",
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "handles": {"github": "ada", "jira": "ADA"},
    }
    assert CAROL.as_owner()["handles"] == {}


# --------------------------------------------------------------------------- required roles


def test_required_roles_gives_a_reason_for_each_role(catalog):
    assert required_roles(catalog, OTHER) == {
        "data-scientist": ("Data Scientist is required on every project",),
        "machine-learning-engineer": ("Machine Learning Engineer is required on every project",),
    }


def test_a_trait_makes_a_role_required(catalog):
    reasons = required_roles(catalog, PERSONAL)
    assert reasons["ai-ethicist"] == (
        "Project trait handles_personal_data makes AI Ethicist required",
    )


def test_an_application_makes_a_role_required(catalog):
    reasons = required_roles(catalog, HEALTH)
    assert list(reasons) == ["data-scientist", "machine-learning-engineer", "ai-ethicist"]
    assert reasons["ai-ethicist"] == ("Application Healthcare Solutions requires AI Ethicist",)


def test_an_unknown_application_only_has_the_always_required_roles(catalog):
    assert list(required_roles(catalog, ProjectFacts("nope", frozenset()))) == [
        "data-scientist",
        "machine-learning-engineer",
    ]


# --------------------------------------------------------------------------- responsibilities


def test_required_roles_get_responsibilities_even_when_unstaffed(catalog):
    items = generate_checklist(catalog, OTHER, [])
    responsibilities = [i for i in items if i.kind == "responsibility"]
    assert [i.key for i in responsibilities] == [
        "data-scientist.task-0",
        "machine-learning-engineer.task-0",
        "data-scientist.task-1",
        "machine-learning-engineer.task-1",
    ]
    first = responsibilities[0]
    assert first.owners == ()
    assert first.priority == "medium"
    assert first.roles == ("data-scientist",)
    assert first.because == (
        "Catalog responsibility data-scientist.task-0 of Data Scientist",
        "Data Scientist is required on every project",
    )
    # The source's words are the quote; what to do about them is our detail.
    assert (first.detail, first.done_when, first.phase) == (
        "Really do 0.",
        "0 is done.",
        "plan-and-design",
    )
    assert first.source == {
        "kind": "article",
        "section": "Key Roles",
        "quote": "quote",
        "elaborates": None,
        "catalog_key": "data-scientist.task-0",
        "text": "Do 0.",
        "nist": [],
    }


def test_a_staffed_optional_role_gets_its_responsibilities_one_step_lower(catalog):
    items = by_key(generate_checklist(catalog, OTHER, [StaffingEntry(CAROL, "content-curator")]))
    item = items["content-curator.task-0"]
    assert item.priority == "low"
    assert item.owners == (CAROL,)
    assert "Content Curator is staffed on this project" in item.because
    assert "Content Curator is not required here: priority lowered to low" in item.because
    assert "ai-ethicist.task-0" not in items


def test_owners_are_leads_first_then_by_name(catalog):
    staffing = [
        StaffingEntry(DAN, "data-scientist"),
        StaffingEntry(BOB, "data-scientist"),
        StaffingEntry(CAROL, "data-scientist", lead=True),
    ]
    item = by_key(generate_checklist(catalog, OTHER, staffing))["data-scientist.task-0"]
    assert [m.name for m in item.owners] == ["Carol Hopper", "Bob Babbage", "Dan Turing"]


def test_a_member_listed_twice_in_a_role_owns_once(catalog):
    staffing = [StaffingEntry(ADA, "data-scientist"), StaffingEntry(ADA, "data-scientist")]
    item = by_key(generate_checklist(catalog, OTHER, staffing))["data-scientist.task-0"]
    assert item.owners == (ADA,)


def test_a_role_unknown_to_the_catalog_is_ignored_but_counts_as_allocation(catalog):
    staffing = [
        StaffingEntry(ADA, "astrologer", allocation=80),
        StaffingEntry(ADA, "data-scientist", allocation=30),
    ]
    items = generate_checklist(catalog, OTHER, staffing)
    assert all("astrologer" not in item.roles for item in items)
    assert "staffing.over-allocated.ada" in keys_of(items)


# --------------------------------------------------------------------------- collaborations


def test_collaboration_pairs_are_unordered_and_in_table_order(catalog):
    pairs = [(a, b, [row.key for row in rows]) for a, b, rows in collaboration_pairs(catalog)]
    assert pairs == [
        (
            "data-scientist",
            "machine-learning-engineer",
            ["data-scientist", "machine-learning-engineer"],
        ),
        ("data-scientist", "ai-ethicist", ["data-scientist"]),
        ("data-scientist", "content-curator", ["content-curator"]),
    ]


def test_no_item_is_one_vague_item_a_pair(catalog):
    """Issue 19, point 8: the pairs are agreed in the one ownership item."""
    items = generate_checklist(catalog, OTHER, [StaffingEntry(ADA, "data-scientist")])
    assert keys_of(items, "collaboration") == []


def test_the_agreeing_item_names_the_pairs_in_play_with_each_rows_outcomes(catalog):
    staffing = [
        StaffingEntry(ADA, "data-scientist"),
        StaffingEntry(BOB, "machine-learning-engineer"),
        StaffingEntry(ADA, "machine-learning-engineer"),
    ]
    item = by_key(generate_checklist(catalog, OTHER, staffing))["data-privacy.low-one"]
    # The ethicist and the curator are not in play: only the pair the project has.
    assert item.detail == (
        "Low. The article's collaboration table pairs, in this project: Data Scientist with "
        "Machine Learning Engineer (Data Scientist's row: Model refinement, ethical data usage; "
        "Machine Learning Engineer's row: Optimized interfaces and model deployment)."
    )
    assert item.done_when.startswith("Low is done. For each of these pairs, the record says")
    assert item.because[-1] == (
        "Collaboration table: Data Scientist and Machine Learning Engineer work together"
    )
    assert [row["catalog_key"] for row in item.source["collaborations"]] == [
        "data-scientist",
        "machine-learning-engineer",
    ]
    assert item.source["outcomes"] == {
        "data-scientist": ["Model refinement", "ethical data usage"],
        "machine-learning-engineer": ["Optimized interfaces and model deployment"],
    }
    # Its owners are its own roles', not everyone's of the pairs.
    assert item.roles == ("machine-learning-engineer",)
    # No other item carries the pairs.
    others = [i for i in generate_checklist(catalog, OTHER, staffing) if i.key != item.key]
    assert not [i for i in others if (i.source or {}).get("collaborations")]


def test_a_pair_listed_by_one_row_carries_that_row_only(catalog):
    staffing = [StaffingEntry(CAROL, "content-curator")]
    item = by_key(generate_checklist(catalog, OTHER, staffing))["data-privacy.low-one"]
    assert "Data Scientist with Content Curator (Content Curator's row: Quality" in item.detail
    assert "Data Scientist's row" in item.detail  # the pair with the ML engineer, still
    assert item.detail.count("Content Curator's row") == 1
    assert "Content Curator with" not in item.detail


def test_without_a_pair_in_play_the_item_is_the_catalogs(catalog):
    lone = [*catalog.roles[:1]]
    bare = Catalog("t", tuple(lone), catalog.collaborations, catalog.challenges, ())
    item = by_key(generate_checklist(bare, OTHER, []))["data-privacy.low-one"]
    assert (item.detail, item.done_when) == ("Low.", "Low is done.")
    assert "collaborations" not in item.source


# --------------------------------------------------------------------------- mitigations


def test_mitigations_apply_by_condition(catalog):
    assert keys_of(generate_checklist(catalog, OTHER, []), "mitigation") == [
        "data-privacy.inventory",
        "data-privacy.low-one",
    ]
    assert "data-privacy.health-review" in keys_of(generate_checklist(catalog, HEALTH, []))


def test_a_trait_raises_a_mitigation_priority(catalog):
    plain = by_key(generate_checklist(catalog, OTHER, []))["data-privacy.inventory"]
    raised = by_key(generate_checklist(catalog, PERSONAL, []))["data-privacy.inventory"]
    assert plain.priority == "medium"
    assert raised.priority == "high"
    assert "Project trait handles_personal_data raised priority to high" in raised.because


def test_an_application_raises_every_mitigation_of_its_challenge(catalog):
    items = [i for i in generate_checklist(catalog, HEALTH, []) if i.kind == "mitigation"]
    assert {i.priority for i in items} == {"critical"}
    health = by_key(items)["data-privacy.health-review"]
    assert "Application Healthcare Solutions applies this mitigation" in health.because
    assert "Application Healthcare Solutions raised Data Privacy to critical" in health.because


def test_a_mitigation_is_owned_by_the_members_of_its_roles(catalog):
    staffing = [StaffingEntry(BOB, "ai-ethicist"), StaffingEntry(ADA, "data-scientist")]
    item = by_key(generate_checklist(catalog, OTHER, staffing))["data-privacy.inventory"]
    assert item.roles == ("data-scientist", "ai-ethicist")
    assert item.owners == (ADA, BOB)
    assert item.source["nist"] == ["MAP 4.1"]
    assert item.source["challenge"] == "data-privacy"
    assert item.source["catalog_key"] == "data-privacy.inventory"


# --------------------------------------------------------------------------- staffing findings


def test_an_unfilled_required_role_is_a_high_finding(catalog):
    report = staffing_report(catalog, OTHER, [StaffingEntry(ADA, "data-scientist")])
    (finding,) = report.findings
    assert finding.key == "staffing.unfilled.machine-learning-engineer"
    assert finding.kind == "unfilled_role"
    assert finding.priority == "high"
    assert finding.people == ()
    assert "Machine Learning Engineer is required on every project" in finding.because


def test_role_coverage_lists_every_catalog_role(catalog):
    report = staffing_report(catalog, HEALTH, [StaffingEntry(ADA, "ai-ethicist", 50)])
    assert [(r.role_key, r.required) for r in report.roles] == [
        ("data-scientist", True),
        ("machine-learning-engineer", True),
        ("ai-ethicist", True),
        ("content-curator", False),
    ]
    assert report.roles[2].holders == (StaffingEntry(ADA, "ai-ethicist", 50),)
    assert report.roles[2].required_because == (
        "Application Healthcare Solutions requires AI Ethicist",
    )


def test_the_ethicist_checks_the_data_scientist_and_the_curator():
    pairs = {frozenset(pair) for pair in SEPARATED_ROLES}
    assert frozenset({"data-scientist", "ai-ethicist"}) in pairs
    assert frozenset({"content-curator", "ai-ethicist"}) in pairs


@pytest.mark.parametrize(
    ("first", "second"), [pair for pair in SEPARATED_ROLES if "product-manager" not in pair]
)
def test_one_person_in_roles_that_check_each_other(catalog, first, second):
    first, second = sorted((first, second), key=catalog.role_keys.index)
    staffing = [StaffingEntry(ADA, second), StaffingEntry(ADA, first)]
    report = staffing_report(catalog, OTHER, staffing)
    found = [f for f in report.findings if f.kind == "separation_of_duties"]
    assert len(found) == 1
    assert found[0].key == f"staffing.separation-of-duties.ada.{first}.{second}"
    assert found[0].priority == "high"
    assert found[0].people == (ADA,)
    assert found[0].because[0].startswith("Ada Lovelace holds ")


def test_separation_of_duties_names_roles_in_catalog_order(catalog):
    staffing = [StaffingEntry(ADA, "ai-ethicist"), StaffingEntry(ADA, "data-scientist")]
    (finding,) = [
        f
        for f in staffing_report(catalog, OTHER, staffing).findings
        if f.kind == "separation_of_duties"
    ]
    assert finding.roles == ("data-scientist", "ai-ethicist")
    assert "Ada Lovelace holds Data Scientist and AI Ethicist" in finding.because


def test_roles_that_do_not_check_each_other_are_fine(catalog):
    staffing = [StaffingEntry(ADA, "data-scientist"), StaffingEntry(ADA, "content-curator")]
    report = staffing_report(catalog, OTHER, staffing)
    assert "separation_of_duties" not in finding_kinds(report)


def test_too_many_roles_follows_the_setting(catalog):
    staffing = [
        StaffingEntry(BOB, "data-scientist"),
        StaffingEntry(BOB, "machine-learning-engineer"),
        StaffingEntry(BOB, "content-curator"),
    ]
    report = staffing_report(catalog, OTHER, staffing)
    (finding,) = [f for f in report.findings if f.kind == "too_many_roles"]
    assert finding.key == "staffing.too-many-roles.bob"
    assert finding.priority == "medium"
    assert finding.roles == ("data-scientist", "machine-learning-engineer", "content-curator")
    relaxed = staffing_report(
        catalog, OTHER, staffing, settings=GeneratorSettings(max_roles_per_person=3)
    )
    assert "too_many_roles" not in finding_kinds(relaxed)


def test_over_allocation_sums_this_project_and_elsewhere(catalog):
    staffing = [
        StaffingEntry(ADA, "data-scientist", allocation=50),
        StaffingEntry(ADA, "content-curator", allocation=None),
        StaffingEntry(BOB, "machine-learning-engineer", allocation=100),
    ]
    assert "over_allocated" not in finding_kinds(staffing_report(catalog, OTHER, staffing))
    report = staffing_report(catalog, OTHER, staffing, allocation_elsewhere={"ada": 60})
    (finding,) = [f for f in report.findings if f.kind == "over_allocated"]
    assert finding.key == "staffing.over-allocated.ada"
    assert finding.priority == "high"
    assert "110%" in finding.detail
    assert "50% on this project" in finding.detail
    assert "60% on other active projects" in finding.detail


def test_exactly_one_hundred_percent_is_not_over_allocated(catalog):
    staffing = [StaffingEntry(ADA, "data-scientist", allocation=40)]
    report = staffing_report(catalog, OTHER, staffing, allocation_elsewhere={"ada": 60})
    assert "over_allocated" not in finding_kinds(report)


def test_several_people_in_a_role_need_a_lead(catalog):
    staffing = [StaffingEntry(ADA, "data-scientist"), StaffingEntry(BOB, "data-scientist")]
    report = staffing_report(catalog, OTHER, staffing)
    (finding,) = [f for f in report.findings if f.kind == "no_lead"]
    assert finding.key == "staffing.no-lead.data-scientist"
    assert finding.priority == "low"
    assert finding.people == (ADA, BOB)
    with_lead = [*staffing[:1], StaffingEntry(BOB, "data-scientist", lead=True)]
    assert "no_lead" not in finding_kinds(staffing_report(catalog, OTHER, with_lead))


def test_findings_become_staffing_items_most_urgent_first(catalog):
    staffing = [
        StaffingEntry(ADA, "data-scientist"),
        StaffingEntry(BOB, "data-scientist"),
        StaffingEntry(ADA, "ai-ethicist"),
        StaffingEntry(ADA, "content-curator"),
    ]
    items = [i for i in generate_checklist(catalog, OTHER, staffing) if i.kind == "staffing"]
    assert [(i.priority, i.key) for i in items] == [
        ("high", "staffing.separation-of-duties.ada.ai-ethicist.content-curator"),
        ("high", "staffing.separation-of-duties.ada.data-scientist.ai-ethicist"),
        ("high", "staffing.unfilled.machine-learning-engineer"),
        ("medium", "staffing.too-many-roles.ada"),
        ("low", "staffing.no-lead.data-scientist"),
    ]
    unfilled = by_key(items)["staffing.unfilled.machine-learning-engineer"]
    # Nobody leads the project: nobody is named to resolve its findings.
    assert unfilled.owners == ()
    assert unfilled.roles == ("machine-learning-engineer",)
    assert by_key(items)["staffing.too-many-roles.ada"].owners == ()
    assert by_key(items)["staffing.too-many-roles.ada"].source["people"] == ["ada"]


def test_findings_are_owned_by_whoever_can_resolve_them_not_the_person_concerned(catalog):
    staffing = [
        StaffingEntry(ADA, "data-scientist", lead=True),
        StaffingEntry(ADA, "ai-ethicist"),
        StaffingEntry(BOB, "machine-learning-engineer", lead=True),
    ]
    items = by_key(generate_checklist(catalog, OTHER, staffing))
    separation = items["staffing.separation-of-duties.ada.data-scientist.ai-ethicist"]
    # Ada leads, but the finding is about her: Bob, the other lead, owns it.
    assert separation.owners == (BOB,)
    assert separation.source["people"] == ["ada"]


def test_no_pair_is_a_collaboration_of_a_person_with_themselves(catalog):
    staffing = [StaffingEntry(ADA, "data-scientist"), StaffingEntry(ADA, "ai-ethicist")]
    agreed = by_key(generate_checklist(catalog, PERSONAL, staffing))["data-privacy.low-one"]
    assert "Data Scientist with AI Ethicist" not in agreed.detail
    staffing.append(StaffingEntry(BOB, "ai-ethicist"))
    agreed = by_key(generate_checklist(catalog, PERSONAL, staffing))["data-privacy.low-one"]
    assert "Data Scientist with AI Ethicist (Data Scientist's row" in agreed.detail


def test_team_wide_over_allocation_has_a_per_project_breakdown():
    allocations = [
        (ADA, "Apollo", 60),
        (ADA, "Apollo", 10),
        (ADA, "Zephyr", 50),
        (BOB, "Apollo", 100),
        (BOB, "Zephyr", None),
        (CAROL, "Apollo", 90),
        (CAROL, "Zephyr", 90),
    ]
    result = overallocated_members(allocations)
    assert [(o.member.ref, o.total) for o in result] == [("carol", 180), ("ada", 120)]
    assert result[0].breakdown == (("Apollo", 90), ("Zephyr", 90))
    assert result[1].breakdown == (("Apollo", 70), ("Zephyr", 50))
    assert overallocated_members([]) == []


# --------------------------------------------------------------------------- whole checklist


def _busy_staffing() -> list[StaffingEntry]:
    return [
        StaffingEntry(ADA, "data-scientist", 60, lead=True),
        StaffingEntry(ADA, "ai-ethicist", 60),
        StaffingEntry(BOB, "machine-learning-engineer", 50),
        StaffingEntry(DAN, "machine-learning-engineer", 50),
        StaffingEntry(CAROL, "content-curator", None),
    ]


def test_items_follow_the_lifecycle_most_urgent_first_inside_a_phase(catalog):
    items = generate_checklist(catalog, PERSONAL, _busy_staffing())
    # Every kind but the context's, which needs a context (tests below), and collaboration's,
    # which only checklists generated before the pairs were agreed in one item have.
    assert {i.kind for i in items} == set(KINDS) - {"context", "collaboration"}
    order = [(PHASES.index(i.phase), -priority_rank(i.priority)) for i in items]
    assert order == sorted(order)
    # Findings, then mitigations, then responsibilities at equal rank.
    plan_high = [i.kind for i in items if i.phase == "plan-and-design" and i.priority == "high"]
    assert plan_high == sorted(plan_high, key=["staffing", "mitigation"].index)
    assert items[0].kind == "staffing"
    assert [i.phase for i in items][-1] == "operate-and-monitor"


def test_a_mitigation_that_asks_what_a_responsibility_asks_is_one_item(catalog):
    staffing = [StaffingEntry(ADA, "ai-ethicist")]
    health = by_key(generate_checklist(catalog, HEALTH, staffing))
    other = by_key(generate_checklist(catalog, PERSONAL, staffing))
    # In healthcare the review stands for the ethicist's second task: one item, both sources.
    assert "ai-ethicist.task-1" not in health
    review = health["data-privacy.health-review"]
    assert "Also the AI Ethicist's responsibility ai-ethicist.task-1: it asks the same" in (
        review.because
    )
    assert review.source["fulfils"] == [
        {
            "kind": "article",
            "section": "Key Roles",
            "quote": "quote",
            "elaborates": None,
            "catalog_key": "ai-ethicist.task-1",
            "text": "Do 1.",
        }
    ]
    # Work done on the responsibility carries over when the merged item first appears.
    assert "ai-ethicist.task-1" in review.replaces
    # Where the mitigation does not apply, the responsibility is its own item again.
    assert "ai-ethicist.task-1" in other and "data-privacy.health-review" not in other


def test_a_base_priority_says_why_and_a_raise_names_what_raised_it(catalog):
    review = by_key(generate_checklist(catalog, HEALTH, []))["data-privacy.health-review"]
    assert review.priority == "critical"
    assert "Application Healthcare Solutions raised Data Privacy to critical" in review.because
    # Not raised: the catalog's reason for the priority is given.
    inventory = by_key(generate_checklist(catalog, OTHER, []))["data-privacy.inventory"]
    assert not any(b.startswith("Medium because") for b in inventory.because)


def test_every_item_has_a_unique_key_a_known_priority_and_reasons(catalog):
    items = generate_checklist(catalog, HEALTH, _busy_staffing())
    assert len({i.key for i in items}) == len(items)
    assert all(i.priority in PRIORITIES and i.because for i in items)


def test_generation_is_deterministic_and_ignores_staffing_order(catalog):
    staffing = _busy_staffing()
    first = generate_checklist(catalog, PERSONAL, staffing, allocation_elsewhere={"ada": 5})
    assert first == generate_checklist(catalog, PERSONAL, staffing, allocation_elsewhere={"ada": 5})
    rng = random.Random(7)
    for _ in range(5):
        shuffled = staffing[:]
        rng.shuffle(shuffled)
        again = generate_checklist(catalog, PERSONAL, shuffled, allocation_elsewhere={"ada": 5})
        assert again == first


def test_five_hundred_assignments_stay_fast(catalog):
    roles = catalog.role_keys
    staffing = [
        StaffingEntry(Member(f"p{n}", f"Person {n}"), roles[n % len(roles)], allocation=10)
        for n in range(500)
    ]
    # This thread's CPU time, not the wall clock: other processes on a busy machine stretch
    # the wall clock, not the work (a few milliseconds here).
    started = time.thread_time()
    items = generate_checklist(catalog, PERSONAL, staffing)
    elapsed = time.thread_time() - started
    assert by_key(items)["data-scientist.task-0"].owners[0].ref == "p0"
    assert len(by_key(items)["data-scientist.task-0"].owners) == 125
    assert elapsed < 1.0


def test_as_dict_is_the_json_shape(catalog):
    items = generate_checklist(catalog, OTHER, [StaffingEntry(ADA, "data-scientist")])
    data = by_key(items)["data-scientist.task-1"].as_dict()
    assert data["owners"] == [ADA.as_owner()]
    assert data["roles"] == ["data-scientist"]
    assert (data["phase"], data["done_when"]) == ("verify-and-validate", "1 is done.")
    assert isinstance(data["because"], list)


# --------------------------------------------------------------------------- summary


def _rendered(*statuses: str, kind: str = "responsibility") -> list[dict]:
    return [{"key": f"k{n}", "kind": kind, "status": s} for n, s in enumerate(statuses)]


def test_summary_counts_every_status_and_kind():
    summary = summarize(_rendered("open", "done", "done", "in_progress", "waived", "obsolete"))
    assert summary["total"] == 6
    assert summary["by_status"] == {
        "open": 1,
        "in_progress": 1,
        "done": 2,
        "waived": 1,
        "obsolete": 1,
    }
    assert list(summary["by_status"]) == list(STATUSES)
    assert summary["by_kind"] == {
        "responsibility": 6,
        "collaboration": 0,
        "mitigation": 0,
        "staffing": 0,
        "context": 0,
    }
    assert summary["percent_done"] == 50


@pytest.mark.parametrize(
    ("statuses", "percent"),
    [
        ((), 0),
        (("waived", "obsolete"), 100),
        (("done",), 100),
        (("open", "open", "done"), 33),
        (("open", "done", "done"), 67),
        (("open",), 0),
    ],
)
def test_percent_done(statuses, percent):
    assert summarize(_rendered(*statuses))["percent_done"] == percent


# --------------------------------------------------------------------------- the real catalog


@pytest.fixture(scope="module")
def real():
    loader = pytest.importorskip("seed.loader")
    return loader.load_catalog()


KEY_ROLES = (
    "data-scientist",
    "machine-learning-engineer",
    "ai-ethicist",
    "ux-designer",
    "content-curator",
)
TEAM = {role: Member(role[:3], f"Person {role}") for role in KEY_ROLES}


def _full_team() -> list[StaffingEntry]:
    return [StaffingEntry(member, role, 50) for role, member in TEAM.items()]


def test_real_catalog_has_the_contract_keys(real):
    faq = {"ai-researcher", "product-manager"}
    governance = {"privacy-officer", "security-lead", "domain-expert", "accountable-executive"}
    assert set(KEY_ROLES) | faq | governance == set(real.role_keys)
    assert set(real.application_keys) == {
        "content-creation",
        "product-design",
        "music-composition",
        "virtual-reality",
        "healthcare-solutions",
        "other",
    }


def test_a_fully_staffed_project_has_the_articles_fifteen_responsibilities(real):
    items = by_key(generate_checklist(real, OTHER, _full_team()))
    responsibilities = [i for i in items.values() if i.kind == "responsibility"]
    # Fourteen items of their own; the ethicist's analysis of outputs is the bias evaluation,
    # which asks the same and names both sources.
    assert len(responsibilities) == 14
    assert "ai-ethicist.analyze-outputs-for-bias" not in items
    evaluation = items["bias-and-fairness.evaluate-outputs-for-bias"]
    assert [f["catalog_key"] for f in evaluation.source["fulfils"]] == [
        "ai-ethicist.analyze-outputs-for-bias"
    ]
    assert evaluation.source["fulfils"][0]["quote"] == (
        "Analyzing AI outputs for bias or harmful content."
    )
    assert sorted(i.roles[0] for i in responsibilities) == sorted(
        r for r in KEY_ROLES for _ in range(3 if r != "ai-ethicist" else 2)
    )
    for item in responsibilities:
        assert item.owners == (TEAM[item.roles[0]],)
        assert item.source["kind"] == "article"
        assert item.source["text"] in item.source["quote"]
        assert item.detail != item.source["text"]
    assert "data-scientist.collect-and-preprocess-data" in items


def test_a_fully_staffed_project_agrees_the_articles_six_collaboration_pairs_in_one_item(real):
    items = generate_checklist(real, OTHER, _full_team())
    assert not [i for i in items if i.kind == "collaboration"]
    (agreed,) = [i for i in items if (i.source or {}).get("collaborations")]
    assert agreed.key == "technical-complexity.document-ownership"
    titles = {r.key: r.title for r in real.roles}
    pairs = [
        ("data-scientist", "machine-learning-engineer"),
        ("data-scientist", "ai-ethicist"),
        ("machine-learning-engineer", "ux-designer"),
        ("ai-ethicist", "content-curator"),
        ("ux-designer", "content-curator"),
        ("data-scientist", "content-curator"),
    ]
    named = [f"{titles[a]} with {titles[b]} (" for a, b in pairs]
    positions = [agreed.detail.index(n) for n in named]
    assert positions == sorted(positions)
    # Each row once, as the article's table has it, its outcomes its own.
    assert [r["catalog_key"] for r in agreed.source["collaborations"]] == [
        c.key for c in real.collaborations
    ]
    assert agreed.source["outcomes"]["ux-designer"] == ["User satisfaction", "intuitive design"]


def test_the_real_catalog_has_no_finding_for_a_well_staffed_team(real):
    assert staffing_report(real, OTHER, _full_team()).findings == ()


def test_real_catalog_findings_of_every_kind(real):
    staffing = [
        StaffingEntry(ADA, "data-scientist", 80),
        StaffingEntry(ADA, "ai-ethicist", 30),
        StaffingEntry(ADA, "content-curator", 0),
        # Ada owns the privacy impact assessment and holds both roles that review it.
        StaffingEntry(ADA, "privacy-officer", 0),
        StaffingEntry(BOB, "ux-designer"),
        StaffingEntry(CAROL, "ux-designer"),
    ]
    report = staffing_report(real, HEALTH, staffing)
    # Two kinds cannot arise with this one: a builder reviews their own model's output only
    # through Product Manager (the catalog's other reviewer role, AI Ethicist, already makes a
    # separation-of-duties finding with a builder role), and healthcare leaves no role owning
    # items that the project neither requires nor staffs. The two reports below give them.
    ownership = {"builder_reviews_own_work", "unowned_items"}
    assert set(finding_kinds(report)) == set(FINDING_KINDS) - ownership
    builder = staffing_report(
        real,
        ProjectFacts("content-creation", frozenset({"generates_public_content"})),
        [
            StaffingEntry(ADA, "data-scientist"),
            StaffingEntry(BOB, "machine-learning-engineer"),
            StaffingEntry(BOB, "product-manager"),
            StaffingEntry(CAROL, "content-curator"),
        ],
    )
    unowned = staffing_report(
        real,
        ProjectFacts("other", frozenset({"uses_third_party_models"})),
        [StaffingEntry(ADA, "data-scientist"), StaffingEntry(BOB, "machine-learning-engineer")],
    )
    assert "builder_reviews_own_work" in finding_kinds(builder)
    assert "unowned_items" in finding_kinds(unowned)
    keys = [f.key for f in report.findings]
    assert "staffing.unfilled.machine-learning-engineer" in keys
    assert "staffing.separation-of-duties.ada.data-scientist.ai-ethicist" in keys
    assert "staffing.separation-of-duties.ada.ai-ethicist.content-curator" in keys
    assert [priority_rank(f.priority) for f in report.findings] == sorted(
        (priority_rank(f.priority) for f in report.findings), reverse=True
    )


def _mitigations(catalog, application, traits=()):
    items = generate_checklist(catalog, ProjectFacts(application, frozenset(traits)), [])
    return {i.key: i for i in items if i.kind == "mitigation"}


def test_healthcare_requires_an_ethicist_and_raises_data_privacy(real):
    assert "ai-ethicist" in required_roles(real, HEALTH)
    assert "ai-ethicist" not in required_roles(real, OTHER)
    health = _mitigations(real, "healthcare-solutions")
    other = _mitigations(real, "other")
    assert "data-privacy.health-data-regulatory-review" in health
    assert "data-privacy.health-data-regulatory-review" not in other
    review = health["data-privacy.health-data-regulatory-review"]
    assert review.priority == "critical"
    assert "Critical because health data is special-category personal data" in review.because[-1]
    # Healthcare implies personal data and a regulated domain, which raise privacy items.
    leakage = health["data-privacy.test-for-training-data-leakage"]
    assert priority_rank(leakage.priority) > priority_rank(
        other["data-privacy.test-for-training-data-leakage"].priority
    )
    assert any("Healthcare Solutions" in reason for reason in leakage.because)
    assert health["data-privacy.privacy-impact-assessment"].priority == "critical"


def test_music_composition_raises_licensing_adds_copy_checks_and_a_curator(real):
    music = _mitigations(real, "music-composition")
    other = _mitigations(real, "other")
    licensing = "intellectual-property.license-training-data"
    assert music[licensing].priority == "high" and other[licensing].priority == "medium"
    assert "Application Music Composition raised priority to high" in music[licensing].because
    # The licensing mitigation was music's alone, under another key: that key hands it over.
    assert music[licensing].replaces == ("data-privacy.license-music-training-data",)
    assert "intellectual-property.check-outputs-for-copies" in music
    assert "intellectual-property.check-outputs-for-copies" not in other
    assert "content-curator" in required_roles(real, ProjectFacts("music-composition", frozenset()))


def test_an_application_implies_traits_unless_the_project_declines_them(real):
    health = _mitigations(real, "healthcare-solutions")
    # Healthcare implies personal data and a regulated domain: the privacy impact assessment
    # applies though the project ticked nothing, and says why.
    pia = health["data-privacy.privacy-impact-assessment"]
    assert (
        "Project trait handles_personal_data (implied by Healthcare Solutions) "
        "applies this mitigation" in pia.because
    )
    assert pia.priority == "critical"
    declined = ProjectFacts(
        "healthcare-solutions", declined=frozenset({"handles_personal_data", "regulated_domain"})
    )
    items = {i.key: i for i in generate_checklist(real, declined, [])}
    assert "data-privacy.privacy-impact-assessment" not in items
    assert "data-privacy.minimize-and-pseudonymize" not in items
    # A trait the project states is not "implied", even when the application implies it.
    stated = ProjectFacts("healthcare-solutions", frozenset({"handles_personal_data"}))
    assert project_traits(real, stated) == (
        ["handles_personal_data", "regulated_domain"],
        ["regulated_domain"],
    )
    assert project_traits(real, declined) == ([], [])
    reasons = required_roles(real, ProjectFacts("other", frozenset({"regulated_domain"})))
    assert reasons["ai-ethicist"] == ("Project trait regulated_domain makes AI Ethicist required",)


def test_third_party_models_bring_the_value_chain_mitigations(real):
    keys = set(_mitigations(real, "other", {"uses_third_party_models"}))
    chain = {k for k in keys if k.startswith("value-chain.")}
    assert chain == {
        "value-chain.vet-third-party-models",
        "value-chain.pin-and-reevaluate-model-versions",
        "value-chain.plan-for-provider-failure",
        "value-chain.sign-provider-agreement",
        "value-chain.restrict-provider-use-of-data",
    }
    assert not any(k.startswith("value-chain.") for k in _mitigations(real, "other"))


def test_user_facing_projects_get_prompt_injection_testing(real):
    key = "information-security.prompt-injection-testing"
    assert key in _mitigations(real, "other", {"user_facing"})
    assert key not in _mitigations(real, "other")


def test_mitigation_items_carry_their_nist_and_genai_references(real):
    items = _mitigations(real, "healthcare-solutions")
    review = items["explainability.human-review-of-high-stakes-outputs"]
    assert review.source["nist"] == ["MAP 3.5", "GOVERN 3.2"]
    assert "Human-AI Configuration" in review.source["genai_risks"]
    assert items["confabulation.measure-factual-accuracy"].priority == "critical"


def test_content_creation_requires_a_curator_and_raises_bias(real):
    assert "content-curator" in required_roles(real, ProjectFacts("content-creation", frozenset()))
    creation = _mitigations(real, "content-creation")
    review = creation["bias-and-fairness.review-generated-content"]
    assert review.priority == "high"
    assert [f["catalog_key"] for f in review.source["fulfils"]] == [
        "content-curator.review-generated-content"
    ]
    public = _mitigations(real, "content-creation", {"generates_public_content"})
    assert public["bias-and-fairness.review-generated-content"].priority == "critical"


@pytest.mark.parametrize(
    ("application", "mitigation", "challenge"),
    [
        ("product-design", "technical-complexity.validate-design-usability", None),
        ("virtual-reality", "technical-complexity.vr-user-safety-testing", None),
    ],
)
def test_design_applications_require_ux_and_add_their_mitigation(
    real, application, mitigation, challenge
):
    assert "ux-designer" in required_roles(real, ProjectFacts(application, frozenset()))
    items = _mitigations(real, application)
    assert mitigation in items
    assert mitigation not in _mitigations(real, "other")
    if challenge:
        raised = [i for k, i in items.items() if k.startswith(f"{challenge}.")]
        assert all(priority_rank(i.priority) >= priority_rank("high") for i in raised)


def test_user_facing_requires_a_product_manager(real):
    facts = ProjectFacts("other", frozenset({"user_facing"}))
    assert "product-manager" in required_roles(real, facts)
    items = by_key(generate_checklist(real, facts, []))
    assert items["product-manager.define-vision-and-strategy"].priority == "medium"
    assert items["staffing.unfilled.product-manager"].priority == "high"


def test_personal_data_raises_privacy_with_a_reason(real):
    items = _mitigations(real, "other", {"handles_personal_data"})
    leakage = items["data-privacy.test-for-training-data-leakage"]
    assert leakage.priority == "high"
    assert "Project trait handles_personal_data raised priority to high" in leakage.because


def test_real_catalog_keys_are_unique_for_every_application(real):
    traits = frozenset(TRAITS)
    for application in real.application_keys:
        items = generate_checklist(real, ProjectFacts(application, traits), _full_team())
        assert len({i.key for i in items}) == len(items), application
        shuffled = list(reversed(_full_team()))
        assert items == generate_checklist(real, ProjectFacts(application, traits), shuffled)


# --------------------------------------------------------------------------- calibration


def _staffing(*roles: str) -> list[StaffingEntry]:
    return [StaffingEntry(Member(role, f"Person {role}"), role) for role in roles]


HEALTH_STAFFINGS = [
    _staffing("data-scientist"),
    _staffing("data-scientist", "machine-learning-engineer", "ai-ethicist"),
    _staffing(
        "data-scientist",
        "machine-learning-engineer",
        "ai-ethicist",
        "ux-designer",
        "product-manager",
    ),
    _staffing(*KEY_ROLES, "ai-researcher", "product-manager"),
]


@pytest.mark.parametrize("staffing", HEALTH_STAFFINGS)
@pytest.mark.parametrize(
    "traits",
    [
        {"handles_personal_data"},
        {"handles_personal_data", "user_facing"},
        {"handles_personal_data", "user_facing", "uses_third_party_models"},
    ],
)
def test_a_healthcare_project_has_its_six_critical_gates(real, staffing, traits):
    # Priorities follow the rubric (docs/checklists.md), not a quota of high items.
    items = generate_checklist(
        real, ProjectFacts("healthcare-solutions", frozenset(traits)), staffing
    )
    critical = [i for i in items if i.priority == "critical"]
    # A fifth where health data goes to a model provider: the agreement (a BAA) comes first.
    provider = (
        {"value-chain.sign-provider-agreement"} if "uses_third_party_models" in traits else set()
    )
    assert {i.key for i in critical} == {
        "data-privacy.health-data-regulatory-review",
        "data-privacy.privacy-impact-assessment",
        "explainability.human-review-of-high-stakes-outputs",
        "confabulation.measure-factual-accuracy",
        # The clinical pack: summaries that drop clinically relevant facts, and the software's
        # status as a medical device (it may not be used before its conformity assessment).
        "confabulation.check-summaries-for-omissions",
        "technical-complexity.classify-as-medical-device",
        *provider,
    }


@pytest.mark.parametrize("application", ["healthcare-solutions", "content-creation", "other"])
def test_every_critical_item_says_what_made_it_critical(real, application):
    facts = ProjectFacts(application, frozenset(TRAITS))
    for item in generate_checklist(real, facts, _full_team()):
        if item.priority == "critical":
            assert any("critical" in reason.lower() for reason in item.because), item.key
        if item.priority != "critical":
            assert not any(reason.startswith("Critical") for reason in item.because), item.key


def test_no_two_items_carry_the_same_article_sentence(real):
    """One item per obligation: across applications and traits, a sentence of the article
    that is an item's own words (or that it stands for) appears in one item only."""
    for application in real.application_keys:
        facts = ProjectFacts(application, frozenset(TRAITS))
        items = generate_checklist(real, facts, _full_team() + _staffing("product-manager"))
        seen: dict[str, str] = {}
        for item in items:
            sentences = [f.get("text") for f in item.source.get("fulfils", ())]
            if item.kind == "responsibility":
                sentences.append(item.source["text"])
            for sentence in filter(None, sentences):
                assert sentence not in seen, (application, sentence, seen.get(sentence), item.key)
                seen[sentence] = item.key


def test_every_item_is_actionable(real):
    facts = ProjectFacts("healthcare-solutions", frozenset(TRAITS))
    staffing = [StaffingEntry(ADA, "data-scientist"), StaffingEntry(ADA, "ai-ethicist")]
    for item in generate_checklist(real, facts, staffing + _full_team()):
        assert item.phase in PHASES, item.key
        assert item.done_when and item.done_when.endswith("."), item.key
        assert item.detail, item.key


# --------------------------------------------------------------------------- independence


def test_a_product_manager_who_is_also_the_ethicist_is_a_separation_finding(real):
    staffing = [*_full_team(), StaffingEntry(TEAM["ai-ethicist"], "product-manager")]
    report = staffing_report(real, ProjectFacts("other", frozenset({"user_facing"})), staffing)
    (finding,) = [f for f in report.findings if f.kind == "separation_of_duties"]
    assert finding.roles == ("ai-ethicist", "product-manager")
    assert "accepts residual risks" in finding.detail


def test_critical_mitigations_need_an_independent_sign_off(real):
    facts = ProjectFacts("healthcare-solutions", frozenset(TRAITS))
    for item in generate_checklist(real, facts, _full_team()):
        if item.priority == "critical":
            assert item.signoff_required and item.reviewer_roles, item.key
            assert set(item.reviewer_roles) - set(item.roles), item.key
    review = by_key(generate_checklist(real, facts, []))["data-privacy.privacy-impact-assessment"]
    assert review.evidence_required
    # Routed strictly: personal data requires the privacy officer, who alone signs it.
    assert review.reviewer_roles == ("privacy-officer",)


def test_a_review_routed_to_a_governance_role_falls_back_only_where_the_context_calls_for_none(
    real,
):
    # A clinic that states it is not a regulated domain requires no domain expert: the
    # factual-accuracy gate falls back to the article's AI Ethicist.
    unregulated = ProjectFacts(
        "healthcare-solutions", frozenset({"states_facts"}), frozenset({"regulated_domain"})
    )
    accuracy = "confabulation.measure-factual-accuracy"
    assert by_key(generate_checklist(real, unregulated, []))[accuracy].reviewer_roles == (
        "ai-ethicist",
    )
    # Staffing a domain expert all the same routes it to them alone.
    cleo = StaffingEntry(Member("cleo", "Cleo Park"), "domain-expert")
    grace = StaffingEntry(Member("grace", "Grace Hopper"), "ai-ethicist")
    staffed = by_key(generate_checklist(real, unregulated, [cleo, grace]))[accuracy]
    assert staffed.reviewer_roles == ("domain-expert",)
    assert staffed.reviewers == (cleo.member,)
    # In a regulated domain the context calls for the domain expert: only they sign, even
    # while nobody holds the role (the AI Ethicist is no fallback then).
    regulated = ProjectFacts("healthcare-solutions", frozenset({"states_facts"}))
    gate = by_key(generate_checklist(real, regulated, [grace]))[accuracy]
    assert gate.reviewer_roles == ("domain-expert",)
    assert gate.reviewers == ()


def test_items_nobody_independent_can_sign_off_are_a_finding_naming_the_role_to_staff(real):
    facts = ProjectFacts("healthcare-solutions", frozenset({"handles_personal_data"}))
    ada = Member("ada", "Ada Lovelace")
    # Ada is the only privacy officer and ethicist, and owns the privacy impact assessment as
    # the data scientist.
    staffing = [
        StaffingEntry(ada, "data-scientist"),
        StaffingEntry(ada, "privacy-officer"),
        StaffingEntry(ada, "ai-ethicist"),
        StaffingEntry(Member("alan", "Alan Turing"), "machine-learning-engineer", lead=True),
    ]
    items = by_key(generate_checklist(real, facts, staffing))
    finding = items["staffing.no-independent-reviewer.privacy-officer"]
    assert finding.priority == "high"
    assert "Run a privacy impact assessment before collecting data" in finding.detail
    assert finding.title.endswith("staff a Privacy Officer who does not own them")
    assert finding.owners == (Member("alan", "Alan Turing"),)
    # Without a privacy officer, the unfilled-role finding says what waits for one instead.
    alone = by_key(generate_checklist(real, facts, staffing[:1]))
    assert not any(k.startswith("staffing.no-independent-reviewer") for k in alone)
    assert "Until then nobody can sign off:" in alone["staffing.unfilled.privacy-officer"].detail


def test_item_roles_are_the_roles_the_project_has(real):
    music = ProjectFacts("music-composition", frozenset())
    staffing = [
        StaffingEntry(Member("d", "Dana"), "data-scientist"),
        StaffingEntry(Member("m", "Milo"), "machine-learning-engineer"),
    ]
    items = by_key(generate_checklist(real, music, staffing))
    # No ethicist on this project: the bias evaluation is the engineer's, and says nothing of one.
    evaluation = items["bias-and-fairness.evaluate-outputs-for-bias"]
    assert evaluation.roles == ("machine-learning-engineer",)
    assert not evaluation.source["fulfils"]
    assert "ethicist" not in evaluation.detail.lower()
    for item in items.values():
        if item.kind in ("responsibility", "mitigation"):
            assert not any(r == "ai-ethicist" for r in item.roles), item.key


# --------------------------------------------------------------------------- ownership findings


def _with_priority(catalog: Catalog, key: str, priority: str) -> Catalog:
    """The catalog with the mitigation `key` at `priority` (no raise rules)."""
    challenges = tuple(
        dataclasses.replace(
            challenge,
            mitigations=tuple(
                dataclasses.replace(m, priority=priority, raised_when=(), priority_because="x")
                if m.key == key
                else m
                for m in challenge.mitigations
            ),
        )
        for challenge in catalog.challenges
    )
    return dataclasses.replace(catalog, challenges=challenges)


def test_items_nobody_owns_are_high_when_a_high_one_waits(real):
    catalog = _with_priority(real, "intellectual-property.terms-of-generated-content", "high")
    staffing = [
        StaffingEntry(ADA, "data-scientist"),
        StaffingEntry(BOB, "machine-learning-engineer"),
    ]
    report = staffing_report(
        catalog, ProjectFacts("other", frozenset({"uses_third_party_models"})), staffing
    )
    (finding,) = [f for f in report.findings if f.key == "staffing.unowned.product-manager"]
    assert finding.priority == "high"
    assert finding.because[-1] == (
        "1 of them high or critical, so nobody answers for work that gates data collection or a "
        "release: high"
    )


def test_concentration_over_critical_items_waits_for_the_required_roles(real):
    # One person, the clinic's data scientist and engineer, owns most critical gates alone;
    # the ethicist and the governance roles the clinic requires would share or review many of
    # them, so their findings come first.
    alone = [StaffingEntry(ADA, "data-scientist"), StaffingEntry(ADA, "machine-learning-engineer")]
    report = staffing_report(real, HEALTH, alone)
    (finding,) = [f for f in report.findings if f.kind == "concentration"]
    assert finding.priority == "medium"
    assert finding.because[-1].startswith(
        "Nobody holds AI Ethicist, Privacy Officer, Domain Expert and "
        "Accountable Executive, which the project requires"
    )
    staffed = staffing_report(real, HEALTH, _full_team())
    assert not [f for f in staffed.findings if f.kind == "concentration"]


# --------------------------------------------------------------------------- the context


PROHIBITED_IN_EU = dataclasses.replace(
    PERSONAL, risk_classification="prohibited", jurisdictions=frozenset({"EU", "US"})
)


def test_a_context_item_applies_when_its_whole_condition_holds(catalog):
    staffing = _busy_staffing()

    items = by_key(generate_checklist(catalog, PROHIBITED_IN_EU, staffing))
    elsewhere = dataclasses.replace(PROHIBITED_IN_EU, jurisdictions=frozenset({"US"}))
    unclassified = dataclasses.replace(PROHIBITED_IN_EU, risk_classification="unclassified")

    stop = items["context.stop"]
    assert (stop.kind, stop.priority, stop.phase) == ("context", "critical", "plan-and-design")
    assert stop.because == (
        "Project context: risk classification prohibited",
        "Project context: used in EU",
        "Critical because it must not be built",
    )
    assert stop.source == {
        "kind": "authored",
        "section": "ours",
        "quote": None,
        "elaborates": None,
        "catalog_key": "context.stop",
        # It answers no article of the EU AI Act (the EU obligations' items do).
        "eu_ai_act": [],
    }
    assert "context.stop" not in by_key(generate_checklist(catalog, elsewhere, staffing))
    assert "context.stop" not in by_key(generate_checklist(catalog, unclassified, staffing))


def test_a_context_item_names_only_the_roles_the_project_has_and_comes_first(catalog):
    items = generate_checklist(catalog, PROHIBITED_IN_EU, _busy_staffing())

    stop = by_key(items)["context.stop"]
    # Ada holds the AI Ethicist role (the product manager is not staffed): she owns it, and
    # as its owner she cannot review it; nobody else holds the reviewer role.
    assert stop.roles == ("ai-ethicist",)
    assert [m.ref for m in stop.owners] == ["ada"]
    assert stop.reviewers == ()
    assert (stop.signoff_required, stop.reviewer_roles) == (True, ("data-scientist",))
    assert items[0].key == "context.stop"


def test_an_unowned_context_item_is_a_finding_naming_the_role_that_could_own_it(catalog):
    facts = dataclasses.replace(PROHIBITED_IN_EU, traits=frozenset())
    staffing = [
        StaffingEntry(BOB, "data-scientist"),
        StaffingEntry(DAN, "machine-learning-engineer"),
    ]

    items = by_key(generate_checklist(catalog, facts, staffing))

    stop = items["context.stop"]
    assert (stop.roles, stop.owners) == ((), ())
    (finding,) = [i for i in items.values() if i.key.startswith("staffing.unowned.")]
    assert finding.key in ("staffing.unowned.ai-ethicist", "staffing.unowned.product-manager")
    assert "Stop" in finding.detail


# --- model source: work that assumes training --------------------------------------------

TRAINING_ITEMS = {
    "machine-learning-engineer.train-models",
    "content-curator.curate-training-datasets",
    "data-privacy.minimize-and-pseudonymize",
    "data-privacy.test-for-training-data-leakage",
    "bias-and-fairness.audit-dataset-representativeness",
    "intellectual-property.license-training-data",
}
# Every trait that brings one of the training items, so that each could appear.
_TRAINING_TRAITS = frozenset({"handles_personal_data", "generates_public_content"})


def _items_of(catalog, model_source, traits=_TRAINING_TRAITS, application="content-creation"):
    facts = ProjectFacts(application, frozenset(traits), model_source=model_source)
    return {i.key: i for i in generate_checklist(catalog, facts, [])}


def test_a_hosted_model_gets_no_work_that_assumes_training(real):
    items = _items_of(real, "hosted-third-party")

    assert not TRAINING_ITEMS & set(items)
    # What does not assume training stays: evaluation, review, the provider's vetting.
    assert "data-scientist.evaluate-model-performance" in items
    assert "value-chain.vet-third-party-models" in items


@pytest.mark.parametrize("source", ["fine-tuned", "trained-in-house"])
def test_a_model_the_project_trains_gets_it_and_says_why(real, source):
    items = _items_of(real, source)

    assert set(items) >= TRAINING_ITEMS
    for key in TRAINING_ITEMS:
        assert f"Model source {source}: the project trains its model" in items[key].because


def test_a_project_that_does_not_state_its_model_source_keeps_it_and_is_told(real):
    items = _items_of(real, None)

    assert set(items) >= TRAINING_ITEMS
    because = items["machine-learning-engineer.train-models"].because
    assert any("does not state its model_source" in line for line in because)


def test_a_third_party_model_source_implies_uses_third_party_models(real):
    for source in ("hosted-third-party", "fine-tuned"):
        facts = ProjectFacts("other", model_source=source)
        assert project_traits(real, facts) == (
            ["uses_third_party_models"],
            ["uses_third_party_models"],
        )
        vet = _items_of(real, source, (), "other")["value-chain.vet-third-party-models"]
        assert (
            f"Project trait uses_third_party_models (implied by model source {source}) "
            "applies this mitigation"
        ) in vet.because
    assert project_traits(real, ProjectFacts("other", model_source="trained-in-house")) == ([], [])
    declined = ProjectFacts(
        "other", declined=frozenset({"uses_third_party_models"}), model_source="fine-tuned"
    )
    assert project_traits(real, declined) == ([], [])


def test_a_code_assistant_reading_repositories_on_a_hosted_model(real):
    """The review's code assistant, with the traits that say what it does."""
    items = _items_of(
        real, "hosted-third-party", {"generates_code", "reads_untrusted_content"}, "other"
    )

    assert not TRAINING_ITEMS & set(items)
    injection = items["information-security.prompt-injection-testing"]
    assert injection.priority == "high"
    assert "Project trait reads_untrusted_content applies this mitigation" in injection.because
    assert items["information-security.limit-model-access"].priority == "high"
    assert "value-chain.vet-third-party-models" in items


# --- governance roles ----------------------------------------------------------------------


def test_a_clinic_requires_every_governance_role_and_says_why(real):
    required = required_roles(real, HEALTH)

    assert required["privacy-officer"] == (
        "Project trait handles_personal_data (implied by Healthcare Solutions) makes Privacy "
        "Officer required",
    )
    assert "domain-expert" in required and "accountable-executive" in required
    assert "security-lead" not in required  # not user-facing, reads no untrusted content
    assert "security-lead" in required_roles(
        real, ProjectFacts("other", frozenset({"reads_untrusted_content"}))
    )


def test_a_high_risk_classification_requires_the_accountable_executive(real):
    facts = ProjectFacts("other", risk_classification="high")

    assert required_roles(real, facts)["accountable-executive"] == (
        "Project context: risk classification high makes Accountable Executive required",
    )
    assert "accountable-executive" not in required_roles(real, ProjectFacts("other"))


def test_the_privacy_officer_signs_the_privacy_gates_and_the_clinician_the_accuracy_gate(real):
    people = {
        role: Member(role[:4], f"Person {role}")
        for role in (*KEY_ROLES, "product-manager", "privacy-officer", "domain-expert")
    }
    staffing = [StaffingEntry(member, role) for role, member in people.items()]
    items = by_key(generate_checklist(real, HEALTH, staffing))

    for key in (
        "data-privacy.privacy-impact-assessment",
        "data-privacy.health-data-regulatory-review",
    ):
        assert items[key].reviewer_roles == ("privacy-officer",), key
        assert items[key].reviewers == (people["privacy-officer"],), key
    accuracy = items["confabulation.measure-factual-accuracy"]
    assert accuracy.reviewer_roles == ("domain-expert",)
    assert people["ai-ethicist"] not in accuracy.reviewers
    assert people["product-manager"] not in accuracy.reviewers
    assert people["domain-expert"] in accuracy.reviewers
    go = items["accountable-executive.decide-go-no-go"]
    assert (go.priority, go.repeats, go.evidence_required) == ("high", "per-release", True)
    assert go.owners == ()  # required, nobody holds it: a finding says so
    assert "staffing.unfilled.accountable-executive" in items


# --------------------------------------------------------------------------- priorities (issue 19)

CODE_ASSISTANT = ProjectFacts(
    "other",
    frozenset({"generates_code", "reads_untrusted_content"}),
    model_source="hosted-third-party",
)


def test_priorities_follow_the_context_not_a_quota(real):
    """Issue 19, point 6: rules on application, traits and classification raise and lower."""
    clinic_facts = ProjectFacts("healthcare-solutions", frozenset({"user_facing"}))
    clinic = by_key(generate_checklist(real, clinic_facts, _full_team()))
    # In the clinic, labelling AI-drafted notes and incident response are at least high.
    for key in ("explainability.label-generated-content", "information-security.incident-response"):
        assert clinic[key].priority in ("high", "critical"), key
        assert clinic[key].evidence_required, key
        assert any("raised priority to high" in reason for reason in clinic[key].because), key
    # Bias evaluation is a gate where output informs decisions about people (the clinic) ...
    assert clinic["bias-and-fairness.evaluate-outputs-for-bias"].priority == "high"
    # ... and no higher than medium where no decision about a person rests on it.
    code = by_key(generate_checklist(real, CODE_ASSISTANT, _full_team()))
    bias = code["bias-and-fairness.evaluate-outputs-for-bias"]
    assert bias.priority == "medium"
    assert any(reason.startswith("Medium because no decision") for reason in bias.because)
    hiring = dataclasses.replace(
        CODE_ASSISTANT, traits=CODE_ASSISTANT.traits | {"affects_decisions_about_people"}
    )
    raised = by_key(generate_checklist(real, hiring, _full_team()))
    assert raised["bias-and-fairness.evaluate-outputs-for-bias"].priority == "high"
    # A code assistant reading repositories gets prompt-injection testing, at least high,
    # though nobody outside the team uses it.
    injection = code["information-security.prompt-injection-testing"]
    assert injection.priority in ("high", "critical")
    assert "Project trait reads_untrusted_content applies this mitigation" in injection.because
    # Outside a regulated domain the raises do not apply.
    assert code["information-security.incident-response"].priority == "medium"


# ---------------------------------------------------------- one review of outputs (issue 19, 6)


def test_the_clinic_has_one_review_of_outputs_that_carries_the_curators(real):
    """In healthcare the human review of outputs is the curator's review too: one critical
    item that the curator owns with the others, not a low curator item beside it."""
    clinic = ProjectFacts("healthcare-solutions", frozenset({"user_facing"}))
    items = by_key(generate_checklist(real, clinic, _full_team()))

    review = items["explainability.human-review-of-high-stakes-outputs"]
    assert "content-curator.review-generated-content" not in items
    assert "bias-and-fairness.review-generated-content" not in items
    assert review.priority == "critical"
    assert "content-curator" in review.roles
    assert TEAM["content-curator"] in review.owners
    assert [f["catalog_key"] for f in review.source["fulfils"]] == [
        "content-curator.review-generated-content"
    ]
    assert "content-curator.review-generated-content" in review.replaces


def test_where_both_reviews_apply_the_first_in_catalog_order_carries_the_curators(real):
    """A regulated project that publishes: the review before publication (earlier in the
    catalog) carries the curator's responsibility; the human review does not claim it too."""
    both = ProjectFacts("content-creation", frozenset({"regulated_domain"}))
    items = by_key(generate_checklist(real, both, _full_team()))

    publication = items["bias-and-fairness.review-generated-content"]
    review = items["explainability.human-review-of-high-stakes-outputs"]
    assert [f["catalog_key"] for f in publication.source["fulfils"]] == [
        "content-curator.review-generated-content"
    ]
    assert review.source["fulfils"] == []
    assert "content-curator.review-generated-content" not in items


def test_an_item_says_which_domain_pack_it_comes_with_where_the_pack_applies(real):
    clinic = by_key(generate_checklist(real, ProjectFacts("healthcare-solutions"), []))
    review = clinic["explainability.human-review-of-high-stakes-outputs"]
    assert review.because[-1] == "Part of the Clinical domain pack"
    assert "Part of the Clinical domain pack" in (
        clinic["confabulation.check-summaries-for-omissions"].because
    )
    # The same review in a regulated project outside healthcare comes with no pack.
    regulated = ProjectFacts("other", frozenset({"regulated_domain"}))
    review = by_key(generate_checklist(real, regulated, []))[
        "explainability.human-review-of-high-stakes-outputs"
    ]
    assert not [line for line in review.because if "domain pack" in line]
