"""The seed catalog's content and the loader's strict validation (no database, no app)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from nist_reference import (
    AI_RMF_CORE_STATEMENTS,
    AI_RMF_CORE_SUBCATEGORIES,
    GENAI_PROFILE_RISKS,
)

from app.services.catalog.model import (
    Catalog,
    Condition,
    SourceRef,
)
from app.services.catalog.traits import brings, training_items
from app.vocabulary import (
    GENAI_RISKS,
    PHASES,
    PRIORITIES,
    TRAIT_FIELDS,
    TRAITS,
    ModelSource,
    genai_risk_section,
    values,
)
from seed.loader import ARTICLE_PATH, DEFAULT_PATH, CatalogError, load_catalog

ARTICLE = ARTICLE_PATH.read_text(encoding="utf-8")
FAQ_SKILLS = (
    "Essential skills for a career in generative AI include programming, mathematics, data "
    "analysis, and a strong understanding of machine learning concepts."
)

ARTICLE_ROLES = {
    "data-scientist": [
        "Collecting and preprocessing data from various sources.",
        "Developing algorithms and models to understand patterns.",
        "Evaluating model performance and making necessary adjustments.",
    ],
    "machine-learning-engineer": [
        "Building and optimizing neural networks.",
        "Training models on large datasets to improve accuracy.",
        "Deploying models in production environments.",
    ],
    "ai-ethicist": [
        "Establishing guidelines for ethical AI use.",
        "Analyzing AI outputs for bias or harmful content.",
        "Educating teams on ethical considerations in AI development.",
    ],
    "ux-designer": [
        "Designing user-friendly interactions with AI-generated content.",
        "Conducting user research to understand needs and preferences.",
        "Iterating designs based on feedback and usability testing.",
    ],
    "content-curator": [
        "Reviewing AI-generated content for accuracy and appropriateness.",
        "Providing feedback to improve the underlying models.",
        "Curating datasets to train AI systems effectively.",
    ],
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def all_sources(catalog: Catalog) -> list[tuple[str, SourceRef]]:
    sources = []
    for role in catalog.roles:
        sources.append((role.key, role.source))
        sources += [(r.key, r.source) for r in role.responsibilities]
    sources += [(f"collaboration {c.key}", c.source) for c in catalog.collaborations]
    for challenge in catalog.challenges:
        sources.append((challenge.key, challenge.source))
        sources += [(m.key, m.source) for m in challenge.mitigations]
    sources += [(a.key, a.source) for a in catalog.applications]
    sources += [(c.key, c.source) for c in catalog.context_items]
    return sources


# --- Content -------------------------------------------------------------------------------


def test_role_keys_and_order(catalog: Catalog) -> None:
    assert catalog.role_keys == (
        "data-scientist",
        "machine-learning-engineer",
        "ai-ethicist",
        "ux-designer",
        "content-curator",
        "ai-researcher",
        "product-manager",
        "privacy-officer",
        "security-lead",
        "domain-expert",
        "accountable-executive",
    )
    assert [r.position for r in catalog.roles] == list(range(11))


@pytest.mark.parametrize("role_key", list(ARTICLE_ROLES))
def test_article_roles_have_their_three_responsibilities_verbatim(
    catalog: Catalog, role_key: str
) -> None:
    role = catalog.role(role_key)
    assert role is not None
    assert [r.text for r in role.responsibilities] == ARTICLE_ROLES[role_key]
    for position, resp in enumerate(role.responsibilities):
        assert resp.text in ARTICLE
        assert resp.role_key == role_key
        assert resp.position == position
        assert resp.key.startswith(f"{role_key}.")
        assert resp.source.kind == "article"
        assert resp.source.quote == resp.text
        assert resp.title and resp.title[0].isupper() and not resp.title.endswith(".")
    assert role.summary in ARTICLE
    assert role.source.kind == "article"


def test_responsibility_key_and_title_examples(catalog: Catalog) -> None:
    first = catalog.roles[0].responsibilities[0]
    assert first.key == "data-scientist.collect-and-preprocess-data"
    assert first.title == "Collect and preprocess data"


def test_faq_roles(catalog: Catalog) -> None:
    researcher = catalog.role("ai-researcher")
    assert researcher is not None and researcher.title == "AI Researcher"
    # The FAQ names what they do in one sentence each; the tasks are ours, built on its words.
    assert [r.source.elaborates.quote for r in researcher.responsibilities] == [
        "exploring new algorithms",
        "publishing findings",
        "advancing the theoretical foundations of generative AI",
    ]
    manager = catalog.role("product-manager")
    assert manager is not None and manager.title == "Product Manager"
    assert [r.source.elaborates.quote for r in manager.responsibilities] == [
        "bridge the gap between technical teams and stakeholders",
        "defining the vision and strategy for generative AI products",
    ]
    for role in (researcher, manager):
        assert role.summary in ARTICLE
        assert role.source.kind == "article" and role.source.section.startswith("FAQ")
        assert not role.required
        for resp in role.responsibilities:
            assert resp.source.kind == "authored" and resp.source.quote is None
            assert resp.source.elaborates.section.startswith("FAQ")


def test_required_policy(catalog: Catalog) -> None:
    def role(key: str):
        found = catalog.role(key)
        assert found is not None
        return found

    assert role("data-scientist").required and role("data-scientist").required_when is None
    assert role("machine-learning-engineer").required
    assert role("ai-ethicist").required_when == Condition(
        traits_any=frozenset(
            {
                "handles_personal_data",
                "generates_public_content",
                "regulated_domain",
                "minors_may_use",
            }
        ),
        applications_any=frozenset({"healthcare-solutions"}),
    )
    assert role("ux-designer").required_when == Condition(
        traits_any=frozenset({"user_facing"}),
        applications_any=frozenset({"product-design", "virtual-reality"}),
    )
    assert role("content-curator").required_when == Condition(
        traits_any=frozenset({"generates_public_content"}),
        applications_any=frozenset({"content-creation", "music-composition"}),
    )
    assert role("ai-researcher").required_when is None
    for key in (
        "ai-ethicist",
        "ux-designer",
        "content-curator",
        "ai-researcher",
        "product-manager",
    ):
        assert role(key).required is False


def test_skills_are_ours_because_the_article_names_none_for_a_role(catalog: Catalog) -> None:
    """The FAQ names the skills of a career in generative AI as a whole; crediting them to one
    role would put words in the article's mouth (issue 19, point 9)."""
    assert FAQ_SKILLS in ARTICLE
    for role in catalog.roles:
        assert len(role.skills) >= 3, role.key
        assert len(set(role.skills)) == len(role.skills), role.key
        assert role.article_skills == (), role.key


def test_collaboration_table(catalog: Catalog) -> None:
    rows = {
        c.key: (c.role_key, c.collaborates_with, c.outcomes, c.position)
        for c in catalog.collaborations
    }
    assert rows == {
        "data-scientist": (
            "data-scientist",
            ("machine-learning-engineer", "ai-ethicist"),
            ("Model refinement", "ethical data usage"),
            0,
        ),
        "machine-learning-engineer": (
            "machine-learning-engineer",
            ("data-scientist", "ux-designer"),
            ("Optimized interfaces and model deployment",),
            1,
        ),
        "ai-ethicist": (
            "ai-ethicist",
            ("data-scientist", "content-curator"),
            ("Ethical guidelines", "content accuracy"),
            2,
        ),
        "ux-designer": (
            "ux-designer",
            ("machine-learning-engineer", "content-curator"),
            ("User satisfaction", "intuitive design"),
            3,
        ),
        "content-curator": (
            "content-curator",
            ("data-scientist", "ai-ethicist"),
            ("Quality assurance", "data relevance"),
            4,
        ),
    }
    for collaboration in catalog.collaborations:
        quote = collaboration.source.quote
        assert quote is not None and quote.startswith("| ") and quote in ARTICLE
        assert f"| {', '.join(collaboration.outcomes)} |" in quote


def test_challenges(catalog: Catalog) -> None:
    assert [c.key for c in catalog.challenges] == [
        "data-privacy",
        "bias-and-fairness",
        "technical-complexity",
        "explainability",
        # Ours, for the NIST AI 600-1 risks the article's challenges do not reach.
        "confabulation",
        "information-security",
        "intellectual-property",
        "value-chain",
        "harmful-content",
    ]
    for challenge in catalog.challenges[:3]:
        assert f"{challenge.title}: {challenge.description}" in ARTICLE
        assert challenge.source.kind == "article"
    explainability = catalog.challenge("explainability")
    assert explainability is not None
    assert explainability.description in ARTICLE
    assert "Greater Emphasis on Explainability" in explainability.source.section
    for challenge in catalog.challenges[4:]:
        assert challenge.source.kind == "authored", challenge.key
        assert challenge.source.elaborates is not None, challenge.key
        assert "NIST AI 600-1" in challenge.source.section, challenge.key
        assert challenge.description not in ARTICLE


def test_applications(catalog: Catalog) -> None:
    assert catalog.application_keys == (
        "content-creation",
        "product-design",
        "music-composition",
        "virtual-reality",
        "healthcare-solutions",
        "other",
    )
    for app in catalog.applications[:5]:
        # The titles are the article's list; the descriptions are ours, building on it.
        assert f"- {app.title}\n" in ARTICLE
        assert app.source.kind == "authored"
        assert app.source.elaborates is not None and app.source.elaborates.quote == app.title
        assert app.description not in ARTICLE
    other = catalog.application("other")
    assert other is not None and other.source.kind == "authored"
    assert other.requires_roles == () and other.raises == () and other.implies_traits == ()
    health = catalog.application("healthcare-solutions")
    assert health is not None
    assert "ai-ethicist" in health.requires_roles
    assert health.implies_traits == ("handles_personal_data", "regulated_domain")
    assert list(health.raises) == sorted(health.raises)


def test_mitigations_are_complete(catalog: Catalog) -> None:
    role_keys = set(catalog.role_keys)
    for challenge in catalog.challenges:
        assert len(challenge.mitigations) >= 3, challenge.key
        assert [m.position for m in challenge.mitigations] == list(
            range(len(challenge.mitigations))
        )
        for m in challenge.mitigations:
            assert m.key.startswith(f"{challenge.key}.") and m.challenge_key == challenge.key
            assert m.owner_roles and set(m.owner_roles) <= role_keys, m.key
            assert m.priority in PRIORITIES
            assert 1 <= len(re.findall(r"[.!?](?:\s|$)", m.detail)) <= 3, m.key
            assert m.applies_when.traits_any <= set(TRAITS)
        # at least one NIST subcategory and one NIST AI 600-1 risk fit every challenge
        assert any(m.nist for m in challenge.mitigations), challenge.key
        assert any(m.genai_risks for m in challenge.mitigations), challenge.key
    privacy = catalog.challenge("data-privacy")
    bias = catalog.challenge("bias-and-fairness")
    assert privacy is not None and bias is not None
    assert {"MEASURE 2.10"} <= {n for m in privacy.mitigations for n in m.nist}
    assert {"MEASURE 2.11", "MAP 2.3"} <= {n for m in bias.mitigations for n in m.nist}


def all_mitigations(catalog: Catalog) -> list[Any]:
    return [m for c in catalog.challenges for m in c.mitigations]


def test_references_the_review_found_weak_are_gone(catalog: Catalog) -> None:
    """A walkthrough inside the team is not communicating impacts broadly (GOVERN 4.2) nor a
    human-AI configuration risk; a log of generations is accountability, not information
    integrity."""
    mitigations = {m.key: m for m in all_mitigations(catalog)}
    walkthrough = mitigations["technical-complexity.stakeholder-model-reviews"]
    assert "GOVERN 4.2" not in walkthrough.nist
    assert "Human-AI Configuration" not in walkthrough.genai_risks
    trail = mitigations["explainability.trace-model-outputs"]
    assert "Information Integrity" not in trail.genai_risks and "MEASURE 2.8" in trail.nist


def test_nist_references_are_real_ai_rmf_core_subcategories(catalog: Catalog) -> None:
    assert len(AI_RMF_CORE_SUBCATEGORIES) == 72
    assert {"GOVERN 1.7", "GOVERN 6.2", "MAP 1.6", "MAP 5.2", "MEASURE 2.13", "MANAGE 4.3"} <= (
        AI_RMF_CORE_SUBCATEGORIES
    )
    assert not {"GOVERN 1.8", "MAP 2.4", "MEASURE 2.14", "MANAGE 3.3"} & AI_RMF_CORE_SUBCATEGORIES
    responsibilities = [r for role in catalog.roles for r in role.responsibilities]
    for m in [*all_mitigations(catalog), *responsibilities]:
        assert len(set(m.nist)) == len(m.nist), m.key
        for ref in m.nist:
            assert ref in AI_RMF_CORE_SUBCATEGORIES, (m.key, ref)


def test_every_cited_subcategory_is_held_to_its_statement(catalog: Catalog) -> None:
    """The statements kept from NIST AI 100-1 cover the Core exactly, and every id the catalog
    cites is one of them (a reader can look up what it says)."""
    assert set(AI_RMF_CORE_STATEMENTS) == AI_RMF_CORE_SUBCATEGORIES
    assert all(s.endswith(".") and len(s) > 40 for s in AI_RMF_CORE_STATEMENTS.values())
    assert AI_RMF_CORE_STATEMENTS["MANAGE 1.1"].startswith("A determination is made")
    entries = [*all_mitigations(catalog), *(r for o in catalog.roles for r in o.responsibilities)]
    cited = {(m.key, ref) for m in entries for ref in m.nist}
    assert cited
    assert not {(key, ref) for key, ref in cited if ref not in AI_RMF_CORE_STATEMENTS}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        # Responsibilities name the subcategory they serve where one clearly fits (issue 19,
        # point 9, from the governance lead's candidates): training is GOVERN 2.2; ethical
        # guidelines put trustworthy AI into policy (GOVERN 1.2) and a safety-first mindset
        # (GOVERN 4.1); the vision documents the intended purpose and the mission (MAP 1.1,
        # MAP 1.3) and the application's scope (MAP 3.3); evaluating performance documents test
        # sets and metrics (MEASURE 2.1) and demonstrates validity (MEASURE 2.3, MEASURE 2.5);
        # go or no-go is MANAGE 1.1, by executive leadership (GOVERN 2.3), against the risk
        # tolerance (MAP 1.5).
        ("ai-ethicist.educate-teams", {"GOVERN 2.2"}),
        ("ai-ethicist.establish-ethical-guidelines", {"GOVERN 1.2", "GOVERN 4.1"}),
        ("product-manager.define-vision-and-strategy", {"MAP 1.1", "MAP 1.3", "MAP 3.3"}),
        ("data-scientist.evaluate-model-performance", {"MEASURE 2.1", "MEASURE 2.3"}),
        ("accountable-executive.decide-go-no-go", {"MANAGE 1.1", "GOVERN 2.3", "MAP 1.5"}),
        ("security-lead.set-the-security-bar", {"MEASURE 2.7"}),
        ("privacy-officer.own-data-protection-compliance", {"GOVERN 1.1"}),
    ],
)
def test_responsibilities_name_the_subcategory_they_serve(
    catalog: Catalog, key: str, expected: set[str]
) -> None:
    (resp,) = [r for role in catalog.roles for r in role.responsibilities if r.key == key]
    assert expected <= set(resp.nist)


def test_the_subcategories_the_review_found_unused_are_cited_where_they_belong(
    catalog: Catalog,
) -> None:
    """The governance lead listed go/no-go (MANAGE 1.1), risk tolerance (MAP 1.5), executive
    accountability (GOVERN 2.3), decommissioning (GOVERN 1.7), training (GOVERN 2.2) and
    environmental impact (MEASURE 2.12) among the unused subcategories."""
    entries = [*all_mitigations(catalog), *(r for o in catalog.roles for r in o.responsibilities)]
    cited = {ref: key for e in entries for ref in e.nist for key in [e.key]}
    for ref in ("MANAGE 1.1", "MAP 1.5", "GOVERN 2.3", "GOVERN 1.7", "GOVERN 2.2", "MEASURE 2.12"):
        assert ref in cited, ref
    assert cited["GOVERN 1.7"] == "technical-complexity.plan-decommissioning"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        # Human oversight is MAP 3.5 and GOVERN 3.2, not the explanation of a model (MEASURE 2.9).
        ("explainability.human-review-of-high-stakes-outputs", {"MAP 3.5", "GOVERN 3.2"}),
        # Review by people who did not build the system is MEASURE 1.3.
        ("bias-and-fairness.interdisciplinary-review", {"MEASURE 1.3"}),
        # A regulatory review starts from the legal requirements: GOVERN 1.1.
        ("data-privacy.health-data-regulatory-review", {"GOVERN 1.1"}),
        # Licences of training data: mapping legal risks of components, third-party IP.
        ("intellectual-property.license-training-data", {"MAP 4.1", "GOVERN 6.1"}),
        # Users reporting problems: MEASURE 3.3; monitoring in production: MEASURE 2.4.
        ("bias-and-fairness.user-reporting-channel", {"MEASURE 3.3"}),
        ("technical-complexity.monitor-production-models", {"MEASURE 2.4"}),
        ("information-security.prompt-injection-testing", {"MEASURE 2.7"}),
        ("value-chain.vet-third-party-models", {"GOVERN 6.1"}),
        # The governance lead's review (issue 19): a post-deployment monitoring plan is
        # MANAGE 4.1; a privacy impact assessment examines privacy risk (MEASURE 2.10), it is
        # not the intended purpose (MAP 1.1); minimising data is a system requirement (MAP 1.6),
        # not the examination of privacy risk; checking output for copies answers third-party
        # IP policy (GOVERN 6.1), it maps nothing (MAP 4.1); a threat model evaluates security
        # (MEASURE 2.7), not the likelihood and magnitude of impacts (MAP 5.1).
        ("technical-complexity.monitor-production-models", {"MANAGE 4.1"}),
        ("data-privacy.privacy-impact-assessment", {"MEASURE 2.10"}),
        ("data-privacy.minimize-and-pseudonymize", {"MAP 1.6"}),
        ("intellectual-property.check-outputs-for-copies", {"GOVERN 6.1"}),
        ("information-security.threat-model", {"MEASURE 2.7"}),
    ],
)
def test_nist_references_fit(catalog: Catalog, key: str, expected: set[str]) -> None:
    (mitigation,) = [m for m in all_mitigations(catalog) if m.key == key]
    assert expected <= set(mitigation.nist)
    weak = {
        "data-privacy.privacy-impact-assessment": "MAP 1.1",
        "data-privacy.minimize-and-pseudonymize": "MEASURE 2.10",
        "intellectual-property.check-outputs-for-copies": "MAP 4.1",
        "information-security.threat-model": "MAP 5.1",
    }
    assert weak.get(key) not in mitigation.nist
    if key.startswith("explainability.human-review"):
        assert "MEASURE 2.9" not in mitigation.nist
    if key.startswith("bias-and-fairness.interdisciplinary"):
        assert "MAP 1.2" not in mitigation.nist


def test_genai_risks_are_named_as_the_profile_names_them(catalog: Catalog) -> None:
    assert GENAI_RISKS == GENAI_PROFILE_RISKS
    for m in all_mitigations(catalog):
        assert set(m.genai_risks) <= set(GENAI_PROFILE_RISKS), m.key
    addressed = {r for m in all_mitigations(catalog) for r in m.genai_risks}
    # Every risk has a control for the projects it applies to (issue 19, point 3).
    assert set(GENAI_PROFILE_RISKS) == addressed


@pytest.mark.parametrize(
    ("challenge", "risk"),
    [
        ("confabulation", "Confabulation"),
        ("information-security", "Information Security"),
        ("intellectual-property", "Intellectual Property"),
        ("value-chain", "Value Chain and Component Integration"),
    ],
)
def test_authored_challenges_cover_their_genai_risk(
    catalog: Catalog, challenge: str, risk: str
) -> None:
    found = catalog.challenge(challenge)
    assert found is not None
    for m in found.mitigations:
        assert m.source.kind == "authored" and m.owner_roles and m.nist + m.genai_risks, m.key
    assert all(risk in m.genai_risks for m in found.mitigations), challenge


def test_value_chain_mitigations_follow_the_third_party_models_trait(catalog: Catalog) -> None:
    chain = catalog.challenge("value-chain")
    assert chain is not None
    for m in chain.mitigations:
        assert m.applies_when.traits_any == {"uses_third_party_models"}, m.key
        others = set(TRAITS) - {"uses_third_party_models"}
        assert not m.applies_when.holds("healthcare-solutions", others)
        assert m.applies_when.holds("other", {"uses_third_party_models"})


def test_user_facing_projects_get_prompt_injection_testing(catalog: Catalog) -> None:
    key = "information-security.prompt-injection-testing"
    (testing,) = [m for m in all_mitigations(catalog) if m.key == key]
    assert testing.applies_when.holds("other", {"user_facing"})
    assert not testing.applies_when.holds("other", set())
    assert "prompt injection" in testing.detail


def test_healthcare_makes_confabulation_checks_critical(catalog: Catalog) -> None:
    (measure,) = [
        m for m in all_mitigations(catalog) if m.key == "confabulation.measure-factual-accuracy"
    ]
    assert effective_priority(measure, "healthcare-solutions", set()) == "critical"
    assert effective_priority(measure, "content-creation", {"user_facing"}) == "high"


def test_no_mitigation_claims_the_articles_words(catalog: Catalog) -> None:
    """A mitigation's text is always ours: it is `authored`, and names the passage it builds
    on in `elaborates` rather than borrowing the article's authority through a loose quote."""
    for m in all_mitigations(catalog):
        assert m.source.kind == "authored", m.key
        assert m.source.quote is None, m.key
        assert m.detail not in ARTICLE, m.key


def test_article_sources_mark_the_articles_own_words(catalog: Catalog) -> None:
    """`article` is claimed only for text that is the article's, verbatim: a role's summary,
    a responsibility's text, a challenge's description."""
    for role in catalog.roles:
        if role.source.kind == "article":
            assert role.summary in ARTICLE, role.key
        for resp in role.responsibilities:
            if resp.source.kind == "article":
                assert resp.text in ARTICLE and resp.source.quote == resp.text, resp.key
            elif role.source.kind == "article":
                # The article's roles: our tasks build on the passage they come from.
                assert resp.source.elaborates is not None, resp.key
            else:
                # Roles beyond the article are ours through and through: they claim nothing.
                assert resp.source.elaborates is None, resp.key
    for challenge in catalog.challenges:
        if challenge.source.kind == "article":
            assert challenge.description in ARTICLE, challenge.key
    for app in catalog.applications:
        if app.source.kind == "article":
            assert app.description in ARTICLE, app.key


def all_responsibilities(catalog: Catalog) -> list[Any]:
    return [r for role in catalog.roles for r in role.responsibilities]


def test_every_task_says_what_to_do_when_and_what_done_means(catalog: Catalog) -> None:
    """No entry reads like a job description: each has our concrete guidance (`detail`),
    a `done_when` one can check, and a lifecycle phase."""
    entries = [*all_responsibilities(catalog), *all_mitigations(catalog)]
    for entry in entries:
        assert entry.phase in PHASES, entry.key
        assert entry.detail.strip() and entry.done_when.strip(), entry.key
        assert entry.detail != entry.done_when, entry.key
        assert entry.done_when.endswith("."), entry.key
        assert entry.title[0].isupper() and not entry.title.endswith("."), entry.key
    for resp in all_responsibilities(catalog):
        # The article's sentence is the quote; the detail says what to do about it.
        assert resp.detail != resp.text and resp.text not in resp.detail, resp.key
    used = {entry.phase for entry in entries}
    assert used == set(PHASES)
    # Folded YAML must not leave a word broken at a hyphen ("personal- data").
    for entry in entries:
        for text in (entry.detail, entry.done_when):
            assert not re.search(r"\w- \w", text), (entry.key, text)


ROLE_WORDS = re.compile(
    r"\b(data scientists?|machine learning engineers?|ML engineers?|(AI )?ethicists?|"
    r"UX designers?|(content )?curators?|(AI )?researchers?|product managers?)\b",
    re.IGNORECASE,
)


def test_guidance_never_names_a_role(catalog: Catalog) -> None:
    """Details and done-whens speak of tasks, not of roles: a project without an ethicist
    must not read that "the AI ethicist reviews each failure". Owners are the item's roles."""
    for entry in [*all_responsibilities(catalog), *all_mitigations(catalog)]:
        for text in (entry.detail, entry.done_when):
            assert not ROLE_WORDS.search(text), (entry.key, ROLE_WORDS.search(text))


def test_one_item_per_obligation(catalog: Catalog) -> None:
    """A mitigation built on a responsibility's own sentence asks the same thing: it must say
    that it stands for that responsibility (`fulfils`), so that one item remains."""
    sentences = {r.text: r.key for r in all_responsibilities(catalog)}
    overlaps = {}
    for m in all_mitigations(catalog):
        passage = m.source.elaborates
        if passage is None:
            continue
        for text, key in sentences.items():
            if passage.quote in text or text in passage.quote:
                overlaps[m.key] = key
    for mitigation, responsibility in overlaps.items():
        (m,) = [x for x in all_mitigations(catalog) if x.key == mitigation]
        assert responsibility in m.fulfils, (
            f"{mitigation} builds on {responsibility}'s sentence: declare `fulfils`"
        )
    assert overlaps == {
        "bias-and-fairness.evaluate-outputs-for-bias": "ai-ethicist.analyze-outputs-for-bias",
        "bias-and-fairness.review-generated-content": "content-curator.review-generated-content",
    }
    for m in all_mitigations(catalog):
        for key in m.fulfils:
            (resp,) = [r for r in all_responsibilities(catalog) if r.key == key]
            assert resp.role_key in m.owner_roles, (m.key, key)


def test_a_critical_base_priority_says_why(catalog: Catalog) -> None:
    for m in all_mitigations(catalog):
        if m.priority == "critical":
            assert m.priority_because, m.key


def _highest_priority(catalog: Catalog, mitigation: Any, challenge: str) -> str:
    """The most a mitigation can be for any project: its base priority, every raise, and the
    floor any application sets for its challenge."""
    reachable = [mitigation.priority, *(rule.priority for rule in mitigation.raised_when)]
    reachable += [p for a in catalog.applications for c, p in a.raises if c == challenge]
    return max(reachable, key=PRIORITIES.index)


def test_every_gate_needs_evidence(catalog: Catalog) -> None:
    """Issue 19, point 7: every item that can be high or critical, for any project, is done
    only with evidence (its `done_when` says what the evidence shows)."""
    gates = [
        *(
            (m.key, _highest_priority(catalog, m, c.key), m.evidence_required, m.done_when)
            for c in catalog.challenges
            for m in c.mitigations
        ),
        *(
            (r.key, r.priority, r.evidence_required, r.done_when)
            for role in catalog.roles
            for r in role.responsibilities
        ),
        *((x.key, x.priority, x.evidence_required, x.done_when) for x in catalog.context_items),
    ]
    high = [(k, done) for k, p, evidence, done in gates if PRIORITIES.index(p) >= 2]
    assert len(high) > 20
    missing = [k for k, p, evidence, _ in gates if PRIORITIES.index(p) >= 2 and not evidence]
    assert missing == []
    for key, done_when in high:
        assert done_when.strip(), key


def test_every_elaborated_passage_is_verbatim(catalog: Catalog) -> None:
    elaborated = [(w, s.elaborates) for w, s in all_sources(catalog) if s.elaborates]
    assert len(elaborated) >= 30
    for where, passage in elaborated:
        assert passage.quote in ARTICLE, where
        assert passage.section.strip(), where
    quotes = {p.quote for _, p in elaborated}
    # The governance lead's review (issue 19, point 9): the article's predictions of new
    # platforms and automation tools are no ground for an ownership record or a reproducible
    # pipeline; they build on what the article says of the team and of the challenge.
    assert not any("New collaborative platforms will emerge" in q for q in quotes)
    assert not any("Automation tools will streamline" in q for q in quotes)
    pipeline = dict(elaborated)["technical-complexity.reproducible-pipeline"]
    assert pipeline.quote == "Managing the intricate nature of machine learning models"
    ownership = dict(elaborated)["technical-complexity.document-ownership"]
    assert ownership.quote.startswith("Effective collaboration between these roles")
    assert any(q.startswith("Data scientists analyze and prepare data") for q in quotes)
    assert "ensuring they perform effectively in real-world applications" in quotes


def mitigations_applying_to(catalog: Catalog, application: str) -> list[Any]:
    """Mitigations that the application adds, or whose priority it raises."""
    return [
        m
        for c in catalog.challenges
        for m in c.mitigations
        if application in m.applies_when.applications_any
        or any(application in r.when.applications_any for r in m.raised_when)
    ]


@pytest.mark.parametrize(
    ("application", "words", "min_priority"),
    [
        ("healthcare-solutions", ("regulat",), "critical"),
        ("music-composition", ("licen",), "high"),
        ("music-composition", ("melodies", "protected"), "high"),
        ("content-creation", ("harmful", "inaccurate"), "high"),
        ("virtual-reality", ("safety",), "high"),
        ("product-design", ("usability",), "high"),
    ],
)
def test_application_specific_mitigations(
    catalog: Catalog, application: str, words: tuple[str, ...], min_priority: str
) -> None:
    found = mitigations_applying_to(catalog, application)
    matching = [
        m
        for m in found
        if all(w in (m.title + " " + m.detail).lower() for w in words)
        and PRIORITIES.index(effective_priority(m, application, set()))
        >= PRIORITIES.index(min_priority)
    ]
    assert matching, f"no {min_priority}+ mitigation about {words} for {application}"


def effective_priority(mitigation: Any, application: str, traits: set[str]) -> str:
    raised = [r.priority for r in mitigation.raised_when if r.when.holds(application, traits)]
    return max([mitigation.priority, *raised], key=PRIORITIES.index)


def test_traits_raise_priorities(catalog: Catalog) -> None:
    def raised_by(challenge_key: str, trait: str) -> list[str]:
        challenge = catalog.challenge(challenge_key)
        assert challenge is not None
        return [
            m.key
            for m in challenge.mitigations
            if m.applies_when.holds("other", {trait})
            and PRIORITIES.index(effective_priority(m, "other", {trait}))
            > PRIORITIES.index(effective_priority(m, "other", set()))
        ]

    assert "data-privacy.test-for-training-data-leakage" in raised_by(
        "data-privacy", "handles_personal_data"
    )
    assert "explainability.explain-outputs" in raised_by("explainability", "regulated_domain")
    assert "bias-and-fairness.review-generated-content" in raised_by(
        "bias-and-fairness", "generates_public_content"
    )
    minimize = next(
        m for m in catalog.challenges[0].mitigations if m.key.endswith("minimize-and-pseudonymize")
    )
    assert not minimize.applies_when.holds("other", set())
    assert minimize.applies_when.holds("other", {"handles_personal_data"})


def test_every_article_quote_is_verbatim(catalog: Catalog) -> None:
    sources = all_sources(catalog)
    assert len(sources) > 60
    for where, source in sources:
        if source.kind == "article":
            assert source.quote and source.quote in ARTICLE, where
            assert source.elaborates is None, where
        else:
            assert source.kind == "authored" and source.quote is None, where
        assert source.section.strip(), where


def test_all_keys_are_unique(catalog: Catalog) -> None:
    keys = [k for k, _ in all_sources(catalog) if not k.startswith("collaboration ")]
    assert len(keys) == len(set(keys))


def test_context_items_are_ours_and_cite_no_outside_text(catalog: Catalog) -> None:
    assert [c.key for c in catalog.context_items][:2] == [
        "context.classify-risk",
        "context.prohibited-use",
    ]
    classify, stop = catalog.context_items[:2]
    assert (classify.priority, classify.owner_roles, classify.reviewer_roles) == (
        "high",
        ("product-manager",),
        ("accountable-executive", "ai-ethicist"),
    )
    assert classify.applies_when.matches("unclassified", ["EU"])
    assert not classify.applies_when.matches("minimal", ["EU"])
    assert not classify.applies_when.matches("unclassified", ["US"])
    assert stop.priority == "critical" and stop.signoff_required
    assert stop.applies_when.matches("prohibited", [])
    for item in catalog.context_items:
        assert item.source.kind == "authored" and item.source.elaborates is None
        text = " ".join((item.title, item.detail, item.done_when, item.priority_because or ""))
        # No article, annex or paragraph of a regulation is cited in the text: the EU AI Act
        # items name theirs in `eu_ai_act`, checked against the list of its articles.
        assert not re.search(r"\b(Art\.|Article \d|Annex|Recital|NIST)", text), item.key


def test_the_waiver_policy_is_catalog_data(catalog: Catalog) -> None:
    policy = catalog.waiver_policy
    assert policy is not None and policy.source.kind == "authored"
    assert policy.accountable_roles == ("accountable-executive", "product-manager", "ai-ethicist")
    assert {
        rule.priority: (rule.approver, rule.max_days, rule.reason_min_chars)
        for rule in policy.rules
    } == {
        "critical": ("accountable-role", 90, 20),
        "high": ("independent", 180, 20),
        "medium": ("as-the-item-needs", 365, 20),
        "low": ("as-the-item-needs", 365, 20),
    }
    assert [r.priority for r in policy.rules if r.residual_risk_required] == ["critical", "high"]
    assert [n.key for n in policy.never_waived] == ["context.prohibited-use"]


# --- Version ---------------------------------------------------------------------------------


def test_version_is_a_stable_content_hash(tmp_path: Path) -> None:
    first = load_catalog()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", first.version)
    assert load_catalog().version == first.version
    assert load_catalog(DEFAULT_PATH).version == first.version

    text = DEFAULT_PATH.read_text(encoding="utf-8")
    reformatted = tmp_path / "comments.yaml"
    reformatted.write_text("# another comment\n" + text + "\n\n# trailing\n", encoding="utf-8")
    assert load_catalog(reformatted).version == first.version

    changed = tmp_path / "changed.yaml"
    old = "title: Collect and preprocess data"
    assert old in text
    changed.write_text(text.replace(old, "title: Collect and clean data"), encoding="utf-8")
    modified = load_catalog(changed)
    assert modified.version != first.version
    assert modified.roles[0].responsibilities[0].title == "Collect and clean data"


# --- Validation ------------------------------------------------------------------------------


def _source(quote: str, section: str = "test") -> dict[str, str]:
    return {"kind": "article", "section": section, "quote": quote}


def _trait(key: str) -> dict[str, Any]:
    """A trait's definition; `model_source` with its values."""
    trait: dict[str, Any] = {
        "key": key,
        "title": key.replace("_", " ").capitalize(),
        "definition": f"The project {key.replace('_', ' ')}.",
        "source": {"kind": "authored", "section": "test"},
    }
    if key == "model_source":
        trait["values"] = [{"key": v, "definition": f"{v}."} for v in values(ModelSource)]
    return trait


def minimal() -> dict[str, Any]:
    """The smallest valid catalog: one of everything."""
    return {
        "roles": [
            {
                "key": "data-scientist",
                "title": "Data Scientist",
                "summary": "Data scientists are at the heart of generative AI projects.",
                "required": True,
                "skills": {"authored": ["programming", "statistics"]},
                "source": _source("1. Data Scientist"),
                "responsibilities": [
                    {
                        "key": "data-scientist.collect",
                        "title": "Collect data",
                        "text": "Collecting and preprocessing data from various sources.",
                        "detail": "Script the collection.",
                        "done_when": "The data can be rebuilt.",
                        "phase": "collect-and-process-data",
                        "source": _source("Collecting and preprocessing data"),
                    }
                ],
            },
            {
                "key": "ai-ethicist",
                "title": "AI Ethicist",
                "summary": "Ethics.",
                "required": False,
                "required_when": {"traits_any": ["regulated_domain"]},
                "skills": {"authored": ["ethics"]},
                "source": {"kind": "authored", "section": "test"},
                "responsibilities": [
                    {
                        "key": "ai-ethicist.guide",
                        "title": "Guide",
                        "text": "Guiding.",
                        "detail": "Guide the team.",
                        "done_when": "The team is guided.",
                        "phase": "plan-and-design",
                        "priority": "low",
                        "source": {"kind": "authored", "section": "test"},
                    }
                ],
            },
        ],
        "collaborations": [
            {
                "key": "data-scientist",
                "role": "data-scientist",
                "collaborates_with": ["ai-ethicist"],
                "outcomes": ["Model refinement"],
                "source": _source("Model refinement"),
            }
        ],
        "challenges": [
            {
                "key": "data-privacy",
                "title": "Data Privacy",
                "description": "Privacy.",
                "source": {
                    "kind": "authored",
                    "section": "test",
                    "elaborates": {"section": "Challenges", "quote": "Data Privacy"},
                },
                "mitigations": [
                    {
                        "key": "data-privacy.minimize",
                        "title": "Minimize data",
                        "detail": "Drop what you do not need.",
                        "done_when": "Only needed fields are kept.",
                        "phase": "collect-and-process-data",
                        "fulfils": ["data-scientist.collect"],
                        "owner_roles": ["data-scientist"],
                        "priority": "medium",
                        "applies_when": {"applications_any": ["healthcare-solutions"]},
                        "raised_when": [
                            {"when": {"traits_any": ["handles_personal_data"]}, "priority": "high"}
                        ],
                        "nist": ["MEASURE 2.10"],
                        "genai_risks": ["Data Privacy"],
                        "source": {"kind": "authored", "section": "test"},
                    }
                ],
            }
        ],
        "applications": [
            {
                "key": "healthcare-solutions",
                "title": "Healthcare Solutions",
                "description": "Health.",
                "source": {"kind": "authored", "section": "test"},
                "requires_roles": ["ai-ethicist"],
                "raises": {"data-privacy": "high"},
                "implies_traits": ["handles_personal_data"],
            }
        ],
        "context_items": [
            {
                "key": "context.classify-risk",
                "title": "Classify the risk",
                "detail": "Decide the risk category.",
                "done_when": "A classification is recorded.",
                "phase": "plan-and-design",
                "owner_roles": ["data-scientist"],
                "priority": "high",
                "signoff_required": True,
                "reviewer_roles": ["ai-ethicist"],
                "applies_when": {
                    "risk_classifications": ["unclassified"],
                    "jurisdictions_any": ["EU"],
                },
                "source": {"kind": "authored", "section": "test"},
            }
        ],
        "traits": [_trait(key) for key in TRAIT_FIELDS],
        "waiver_policy": {
            "source": {"kind": "authored", "section": "test"},
            "accountable_roles": ["ai-ethicist"],
            "rules": [
                {
                    "priority": priority,
                    "approver": "independent",
                    "max_days": 30,
                    "reason_min_chars": 10,
                    "residual_risk_required": False,
                }
                for priority in ("critical", "high", "medium", "low")
            ],
            "never_waived": [{"key": "context.classify-risk", "because": "it must be done."}],
        },
    }


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_minimal_catalog_loads(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, minimal()))
    (context,) = catalog.context_items
    assert (context.key, context.position, context.owner_roles) == (
        "context.classify-risk",
        0,
        ("data-scientist",),
    )
    assert context.applies_when.matches("unclassified", ["US", "EU"]) == (
        "risk_classification:unclassified",
        "jurisdiction:EU",
    )
    assert context.applies_when.matches("unclassified", ["US"]) == ()
    policy = catalog.waiver_policy
    assert policy is not None and policy.accountable_roles == ("ai-ethicist",)
    assert policy.rule_for("high").max_days == 30
    assert policy.never_waived_because("context.classify-risk") == "it must be done."
    assert catalog.role_keys == ("data-scientist", "ai-ethicist")
    mitigation = catalog.challenges[0].mitigations[0]
    assert mitigation.applies_when.applications_any == {"healthcare-solutions"}
    assert mitigation.raised_when[0].priority == "high"
    assert mitigation.genai_risks == ("Data Privacy",)
    assert catalog.applications[0].raises == (("data-privacy", "high"),)
    assert catalog.applications[0].implies_traits == ("handles_personal_data",)
    assert catalog.roles[0].article_skills == ()
    collect = catalog.roles[0].responsibilities[0]
    assert (collect.phase, collect.priority) == ("collect-and-process-data", "medium")
    assert catalog.roles[1].responsibilities[0].priority == "low"
    assert (mitigation.phase, mitigation.fulfils) == ("collect-and-process-data", (collect.key,))
    assert mitigation.done_when == "Only needed fields are kept."
    assert catalog.roles[0].skills == ("programming", "statistics")


def _mutate(path: str, value: Any) -> dict[str, Any]:
    """Copy of minimal() with the value at a dotted path (list indices as digits) replaced;
    the value `DELETE` removes the field."""
    data = copy.deepcopy(minimal())
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return data


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("roles.0.colour", "blue", r"roles\[data-scientist\]: unknown field\(s\) colour"),
        ("roles.0.title", DELETE, r"roles\[data-scientist\]: missing field\(s\) title"),
        ("roles.0.required", "yes", r"roles\[data-scientist\]\.required: expected true or false"),
        (
            "roles.1.required_when",
            {"traits_any": ["rich"]},
            r"roles\[ai-ethicist\]\.required_when\.traits_any: unknown trait 'rich'",
        ),
        (
            "roles.1.required_when",
            {"applications_any": ["gaming"]},
            r"roles\[ai-ethicist\]\.required_when\.applications_any: unknown application 'gaming'",
        ),
        (
            "roles.0.responsibilities.0.source.quote",
            "Collecting data from everywhere.",
            r"responsibilities\[data-scientist\.collect\]\.source\.quote: not a verbatim excerpt",
        ),
        (
            "roles.0.responsibilities.0.key",
            "ai-ethicist.collect",
            r"responsibilities\[0\]\.key: 'ai-ethicist\.collect' must look like 'data-scientist\.",
        ),
        ("roles.1.key", "data-scientist", r"roles\[1\]\.key: duplicate key 'data-scientist'"),
        ("roles.1.key", "AI Ethicist", r"roles\[1\]\.key: 'AI Ethicist' does not match"),
        (
            "roles.1.source",
            {"kind": "authored", "section": "x", "quote": "Data Privacy"},
            r"roles\[ai-ethicist\]\.source\.quote: authored sources carry no quote",
        ),
        (
            "roles.1.source",
            {"kind": "blog", "section": "x"},
            r"roles\[ai-ethicist\]\.source\.kind: expected 'article' or 'authored'",
        ),
        (
            "roles.0.source",
            {"kind": "article", "section": "x"},
            r"roles\[data-scientist\]\.source\.quote: missing",
        ),
        (
            "collaborations.0.collaborates_with",
            ["ai-ethicist", "product-owner"],
            r"collaborations\[data-scientist\]\.collaborates_with: unknown role 'product-owner'",
        ),
        (
            "collaborations.0.role",
            "ml-engineer",
            r"collaborations\[data-scientist\]\.role: unknown role 'ml-engineer'",
        ),
        (
            "challenges.0.mitigations.0.owner_roles",
            ["data-scientist", "lawyer"],
            r"mitigations\[data-privacy\.minimize\]\.owner_roles: unknown role 'lawyer'",
        ),
        (
            "challenges.0.mitigations.0.owner_roles",
            [],
            r"mitigations\[data-privacy\.minimize\]\.owner_roles: must not be empty",
        ),
        (
            "challenges.0.mitigations.0.priority",
            "urgent",
            r"mitigations\[data-privacy\.minimize\]\.priority: unknown priority 'urgent'",
        ),
        (
            "challenges.0.mitigations.0.raised_when",
            [{"when": {"traits_any": ["user_facing"]}, "priority": "low"}],
            r"raised_when\[0\]\.priority: 'low' does not raise 'medium'",
        ),
        (
            "challenges.0.mitigations.0.raised_when",
            [{"when": {"traits_any": ["is_fun"]}, "priority": "high"}],
            r"raised_when\[0\]\.when\.traits_any: unknown trait 'is_fun'",
        ),
        (
            "challenges.0.mitigations.0.applies_when",
            {},
            r"mitigations\[data-privacy\.minimize\]\.applies_when: empty condition",
        ),
        (
            "challenges.0.mitigations.0.nist",
            ["MEASURE-2.10"],
            r"mitigations\[data-privacy\.minimize\]\.nist: 'MEASURE-2\.10' is not like",
        ),
        (
            "challenges.0.mitigations.0.key",
            "privacy.minimize",
            r"mitigations\[0\]\.key: 'privacy\.minimize' must look like 'data-privacy\.<slug>'",
        ),
        (
            "applications.0.requires_roles",
            ["ux-designer"],
            r"applications\[healthcare-solutions\]\.requires_roles: unknown role 'ux-designer'",
        ),
        (
            "applications.0.raises",
            {"security": "high"},
            r"applications\[healthcare-solutions\]\.raises: unknown challenge 'security'",
        ),
        (
            "applications.0.raises",
            {"data-privacy": "extreme"},
            r"raises\.data-privacy: unknown priority 'extreme'",
        ),
        ("applications", [], r"applications: must not be empty"),
        (
            "challenges.0.mitigations.0.genai_risks",
            ["Hallucination"],
            r"mitigations\[data-privacy\.minimize\]\.genai_risks: unknown NIST AI 600-1 risk",
        ),
        (
            "applications.0.implies_traits",
            ["is_big"],
            r"applications\[healthcare-solutions\]\.implies_traits: unknown trait 'is_big'",
        ),
        (
            "roles.0.summary",
            "Data scientists are wizards.",
            r"roles\[data-scientist\]\.source\.kind: 'article' claims the entry's text",
        ),
        (
            "roles.0.responsibilities.0.text",
            "Collecting data.",
            r"responsibilities\[data-scientist\.collect\]\.source\.kind: 'article' claims",
        ),
        (
            "roles.0.skills",
            {"article": ["programming"], "authored": ["statistics"]},
            r"roles\[data-scientist\]\.skills\.article: the article names no skills for a role",
        ),
        (
            "challenges.0.source",
            {"kind": "authored", "section": "x", "elaborates": {"section": "y", "quote": "Nope"}},
            r"challenges\[data-privacy\]\.source\.elaborates\.quote: not a verbatim excerpt",
        ),
        (
            "challenges.0.mitigations.0.phase",
            "someday",
            r"mitigations\[data-privacy\.minimize\]\.phase: unknown phase 'someday'",
        ),
        (
            "roles.0.responsibilities.0.done_when",
            DELETE,
            r"responsibilities\[0\]: missing field\(s\) done_when",
        ),
        (
            "challenges.0.mitigations.0.priority",
            "critical",
            r"minimize\]\.priority_because: required when the priority is critical",
        ),
        (
            "challenges.0.mitigations.0.fulfils",
            ["data-scientist.dream"],
            r"minimize\]\.fulfils: unknown responsibility 'data-scientist\.dream'",
        ),
        (
            "challenges.0.mitigations.0.replaces",
            ["data-privacy.minimize"],
            r"replaces: 'data-privacy\.minimize' is still a key of the catalog",
        ),
        (
            "context_items.0.key",
            "classify-risk",
            r"context_items\[0\]\.key: 'classify-risk' must look like 'context\.<slug>'",
        ),
        (
            "context_items.0.applies_when",
            {},
            r"context_items\[context\.classify-risk\]\.applies_when: empty condition",
        ),
        (
            "context_items.0.applies_when",
            {"risk_classifications": ["grave"]},
            r"applies_when\.risk_classifications: unknown risk classification 'grave'",
        ),
        (
            "context_items.0.source",
            {"kind": "article", "section": "test", "quote": "Data Privacy"},
            r"context_items\[context\.classify-risk\]\.source\.kind: must be 'authored'",
        ),
        (
            "context_items.0.priority",
            "critical",
            r"context_items\[context\.classify-risk\]\.priority_because: required when",
        ),
        ("waiver_policy", DELETE, r"catalog: missing field\(s\) waiver_policy"),
        (
            "waiver_policy.rules",
            [],
            r"waiver_policy\.rules: no rule for priority 'critical'",
        ),
        (
            "waiver_policy.rules.0.approver",
            "anyone",
            r"waiver_policy\.rules\[0\]\.approver: unknown approver",
        ),
        (
            "waiver_policy.rules.0.max_days",
            0,
            r"waiver_policy\.rules\[0\]\.max_days: must be at least 1",
        ),
        (
            "waiver_policy.rules.0.residual_risk_required",
            True,
            r"residual_risk_min_chars: given when, and only when, residual_risk_required is true",
        ),
        (
            "waiver_policy.accountable_roles",
            ["chief-of-ethics"],
            r"waiver_policy\.accountable_roles: unknown role 'chief-of-ethics'",
        ),
        (
            "waiver_policy.never_waived.0.key",
            "context.nothing",
            r"never_waived\[0\]\.key: unknown item key 'context\.nothing'",
        ),
        (
            "traits",
            [_trait(key) for key in reversed(TRAIT_FIELDS)],
            r"traits: expected every trait once, in this order",
        ),
        ("traits.0.key", "handles_secrets", r"traits\[0\]\.key: Must be one of"),
        (
            "traits.0.definition",
            "  ",
            r"traits\[handles_personal_data\]\.definition: expected a non-empty",
        ),
        (
            "traits.0.values",
            [{"key": "yes", "definition": "Yes."}],
            r"traits\[handles_personal_data\]\.values: "
            r"expected the values none \(a true-or-false trait\)",
        ),
        (
            f"traits.{TRAIT_FIELDS.index('model_source')}.values",
            [{"key": "fine-tuned", "definition": "Tuned."}],
            r"traits\[model_source\]\.values: expected the values hosted-third-party, fine-tuned, "
            r"trained-in-house, in order",
        ),
        (
            "traits.2.source",
            {"kind": "article", "section": "test", "quote": "Data Privacy"},
            r"traits\[generates_public_content\]\.source\.kind: must be 'authored'",
        ),
        (
            "roles.0.responsibilities.0.assumes_training",
            "yes",
            r"assumes_training: expected true or false",
        ),
    ],
)
def test_validation_errors(tmp_path: Path, path: str, value: Any, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        load_catalog(write(tmp_path, _mutate(path, value)))


def test_unknown_and_missing_top_level_sections(tmp_path: Path) -> None:
    data = minimal()
    data["teams"] = []
    with pytest.raises(CatalogError, match=r"catalog: unknown field\(s\) teams"):
        load_catalog(write(tmp_path, data))
    del data["teams"], data["challenges"]
    with pytest.raises(CatalogError, match=r"catalog: missing field\(s\) challenges"):
        load_catalog(write(tmp_path, data))


def test_duplicate_yaml_keys_are_rejected(tmp_path: Path) -> None:
    text = yaml.safe_dump(minimal(), sort_keys=False)
    assert "  title: Data Scientist\n" in text
    broken = text.replace(
        "  title: Data Scientist\n", "  title: Data Scientist\n  title: Data Wizard\n", 1
    )
    path = tmp_path / "dup.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(
        CatalogError, match=r"catalog\.roles\[0\]: duplicate key 'title' \(line \d+\)"
    ):
        load_catalog(path)


def test_invalid_yaml_is_a_catalog_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("roles: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"bad\.yaml: invalid YAML"):
        load_catalog(path)


def test_catalog_error_is_a_value_error() -> None:
    assert issubclass(CatalogError, ValueError)


# --- Traits --------------------------------------------------------------------------------

# The responsibilities and mitigations that ask for training or fine-tuning.
TRAINING_ITEMS = {
    "machine-learning-engineer.train-models",
    "content-curator.curate-training-datasets",
    "data-privacy.minimize-and-pseudonymize",
    "data-privacy.test-for-training-data-leakage",
    "bias-and-fairness.audit-dataset-representativeness",
    "intellectual-property.license-training-data",
    "technical-complexity.report-training-energy",
}


def test_every_trait_is_defined_in_our_words_and_brings_something(catalog: Catalog) -> None:
    assert tuple(t.key for t in catalog.traits) == TRAIT_FIELDS
    for trait in catalog.traits:
        assert trait.source.kind == "authored" and trait.source.quote is None, trait.key
        assert len(trait.definition) > 40, trait.key
        if trait.key == "model_source":
            assert [v.key for v in trait.values] == list(values(ModelSource))
            continue
        brought = brings(catalog, trait.key)
        assert brought["requires_roles"] or brought["applies"] or brought["raises"], trait.key


def test_items_that_assume_training_are_marked(catalog: Catalog) -> None:
    assert set(training_items(catalog)) == TRAINING_ITEMS


def test_the_new_traits_bring_what_they_are_for(catalog: Catalog) -> None:
    def raises(trait: str) -> dict[str, str]:
        return {r["key"]: r["priority"] for r in brings(catalog, trait)["raises"]}

    injection = "information-security.prompt-injection-testing"
    assert injection in brings(catalog, "reads_untrusted_content")["applies"]
    assert {
        "confabulation.measure-factual-accuracy",
        "confabulation.ground-outputs-in-sources",
    } <= set(brings(catalog, "states_facts")["applies"])
    # Being user-facing or publishing says nothing of facts: a published melody states none.
    for trait in ("user_facing", "generates_public_content"):
        assert "confabulation.measure-factual-accuracy" not in brings(catalog, trait)["applies"]
    assert brings(catalog, "affects_decisions_about_people")["applies"] == [
        "explainability.human-review-of-high-stakes-outputs"
    ]
    assert raises("synthetic_media")["explainability.label-generated-content"] == "high"
    assert raises("generates_code") == {
        "information-security.limit-model-access": "high",
        # Proprietary code sent to a hosted model is the company's data.
        "value-chain.restrict-provider-use-of-data": "high",
    }
    assert brings(catalog, "minors_may_use")["requires_roles"] == ["ai-ethicist"]
    assert brings(catalog, "regulated_domain")["implied_by"] == ["healthcare-solutions"]


# --- Governance roles ------------------------------------------------------------------------

GOVERNANCE_ROLES = ("privacy-officer", "security-lead", "domain-expert", "accountable-executive")


def test_governance_roles_are_ours_and_cite_what_calls_for_them(catalog: Catalog) -> None:
    for key in GOVERNANCE_ROLES:
        role = catalog.role(key)
        assert role is not None and not role.required, key
        assert role.source.kind == "authored" and role.source.elaborates is None, key
        assert not role.article_skills, key
        assert role.nist and set(role.nist) <= set(AI_RMF_CORE_STATEMENTS), key
        for resp in role.responsibilities:
            assert resp.source.kind == "authored", resp.key
            assert resp.priority == "high" and resp.evidence_required, resp.key
    cited = {ref for role in catalog.roles for ref in role.nist}
    assert {"GOVERN 2.3", "MANAGE 1.1", "GOVERN 1.1", "MEASURE 2.7"} <= cited


def test_governance_roles_are_required_by_context(catalog: Catalog) -> None:
    def required_when(key: str) -> tuple[Condition | None, tuple[str, ...]]:
        role = catalog.role(key)
        assert role is not None
        return role.required_when, role.required_when_classified

    assert required_when("privacy-officer") == (
        Condition(traits_any=frozenset({"handles_personal_data"})),
        (),
    )
    assert required_when("security-lead") == (
        Condition(traits_any=frozenset({"user_facing", "reads_untrusted_content"})),
        (),
    )
    assert required_when("domain-expert") == (
        Condition(traits_any=frozenset({"regulated_domain"})),
        (),
    )
    assert required_when("accountable-executive") == (
        Condition(traits_any=frozenset({"regulated_domain"})),
        ("high",),
    )


@pytest.mark.parametrize(
    ("key", "reviewer"),
    [
        ("data-privacy.privacy-impact-assessment", "privacy-officer"),
        ("data-privacy.health-data-regulatory-review", "privacy-officer"),
        ("information-security.prompt-injection-testing", "security-lead"),
        ("confabulation.measure-factual-accuracy", "domain-expert"),
        ("explainability.human-review-of-high-stakes-outputs", "domain-expert"),
    ],
)
def test_reviews_are_routed_to_the_role_of_their_field(
    catalog: Catalog, key: str, reviewer: str
) -> None:
    (mitigation,) = [m for m in all_mitigations(catalog) if m.key == key]
    assert mitigation.signoff_required and mitigation.reviewer_roles[0] == reviewer
    # A product manager defines the product; they do not sign off its accuracy.
    assert "product-manager" not in mitigation.reviewer_roles


def test_critical_waivers_and_stops_go_to_the_accountable_executive(catalog: Catalog) -> None:
    policy = catalog.waiver_policy
    assert policy is not None and policy.accountable_roles[0] == "accountable-executive"
    (stop,) = [c for c in catalog.context_items if c.key == "context.prohibited-use"]
    assert stop.reviewer_roles[0] == "accountable-executive"


# --- The risk register and its controls (issue 19, point 3) -----------------------------------

HEADINGS_PATH = Path(__file__).parent / "nist_ai_600_1_headings.txt"


def _profile_headings() -> list[tuple[str, str]]:
    """The section 2 headings of NIST AI 600-1 as kept in the repo (secondary transcriptions,
    their provenance in the file): (number, heading)."""
    lines = HEADINGS_PATH.read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return [(number, heading) for number, heading in rows]


def test_the_twelve_risk_names_are_the_profiles_section_2_headings() -> None:
    headings = _profile_headings()
    assert [number for number, _ in headings] == [f"2.{n}" for n in range(1, 13)]
    assert tuple(heading for _, heading in headings) == GENAI_PROFILE_RISKS == GENAI_RISKS
    assert [genai_risk_section(risk) for risk in GENAI_RISKS] == [n for n, _ in headings]
    # The file says what it is: transcriptions, not the PDF, and where they came from.
    text = HEADINGS_PATH.read_text(encoding="utf-8")
    assert "SECONDARY TRANSCRIPTIONS" in text
    assert "https://nvlpubs.nist.gov/nistpubs/ai/NIST.AI.600-1.pdf" in text


def test_every_risk_has_one_rule_of_ours_in_the_profiles_order(catalog: Catalog) -> None:
    assert tuple(rule.risk for rule in catalog.risk_rules) == GENAI_PROFILE_RISKS
    for rule in catalog.risk_rules:
        assert rule.source.kind == "authored" and rule.source.quote is None, rule.key
        assert rule.rule.startswith("Applies "), rule.key
        # A conditional rule names in words the traits it turns on; a blanket "n/a" never.
        for trait in rule.applies_when.traits_any:
            assert trait in rule.rule, (rule.key, trait)
        if rule.applies_when.always:
            assert "every project" in rule.rule, rule.key
    cbrn = catalog.risk_rules[0]
    assert cbrn.applies_when.traits_any == {"general_purpose_assistant"}
    assert not cbrn.applies_when.applications_any


def test_the_rules_and_the_controls_agree(catalog: Catalog) -> None:
    """Where a risk applies by its rule, some control of the catalog can address it: a risk
    that applies only under a condition has a control applying under (part of) it."""
    for rule in catalog.risk_rules:
        controls = [m for m in all_mitigations(catalog) if rule.risk in m.genai_risks]
        assert controls, rule.risk
        if not rule.applies_when.always:
            trait = sorted(rule.applies_when.traits_any)[0]
            assert any(m.applies_when.holds("other", {trait}) for m in controls), rule.risk


@pytest.mark.parametrize(
    ("key", "risk", "nist"),
    [
        ("technical-complexity.report-inference-energy", "Environmental Impacts", "MEASURE 2.12"),
        ("technical-complexity.report-training-energy", "Environmental Impacts", "MEASURE 2.12"),
        ("harmful-content.test-cbrn-misuse", "CBRN Information or Capabilities", "MEASURE 2.6"),
        (
            "harmful-content.filter-obscene-and-degrading-output",
            "Obscene, Degrading, and/or Abusive Content",
            "MEASURE 2.6",
        ),
        (
            "harmful-content.report-abusive-images",
            "Obscene, Degrading, and/or Abusive Content",
            "MEASURE 3.3",
        ),
        (
            "value-chain.sign-provider-agreement",
            "Value Chain and Component Integration",
            "GOVERN 6.1",
        ),
        (
            "value-chain.restrict-provider-use-of-data",
            "Value Chain and Component Integration",
            "MANAGE 3.1",
        ),
        ("explainability.train-against-over-reliance", "Human-AI Configuration", "GOVERN 2.2"),
    ],
)
def test_the_five_missing_controls(catalog: Catalog, key: str, risk: str, nist: str) -> None:
    (control,) = [m for m in all_mitigations(catalog) if m.key == key]
    assert control.source.kind == "authored" and control.source.quote is None
    assert risk in control.genai_risks and nist in control.nist
    assert set(control.nist) <= set(AI_RMF_CORE_STATEMENTS)
    assert control.evidence_required


def test_the_controls_are_triggered_by_the_traits_they_are_for(catalog: Catalog) -> None:
    def control(key: str) -> Any:
        (found,) = [m for m in all_mitigations(catalog) if m.key == key]
        return found

    inference = control("technical-complexity.report-inference-energy")
    training = control("technical-complexity.report-training-energy")
    assert inference.applies_when.always and not inference.assumes_training
    assert training.assumes_training
    cbrn = control("harmful-content.test-cbrn-misuse")
    assert cbrn.applies_when.holds("other", {"general_purpose_assistant"})
    assert not cbrn.applies_when.holds("other", set(TRAITS) - {"general_purpose_assistant"})
    images = control("harmful-content.report-abusive-images")
    assert images.applies_when.holds("other", {"synthetic_media"})
    assert images.applies_when.holds("virtual-reality", set())
    assert not images.applies_when.holds("healthcare-solutions", {"user_facing"})
    agreement = control("value-chain.sign-provider-agreement")
    assert agreement.applies_when.traits_any == {"uses_third_party_models"}
    assert "business associate agreement" in agreement.done_when
    # Health data going to a provider makes the agreement a critical gate, signed off by the
    # privacy officer where the project has one.
    assert agreement.raised_when[-1].when.applications_any == {"healthcare-solutions"}
    assert agreement.raised_when[-1].priority == "critical"
    assert catalog.route(agreement.reviewer_roles, {"privacy-officer"}) == ("privacy-officer",)
    assert catalog.route(cbrn.reviewer_roles, {"security-lead"}) == ("security-lead",)
    assert catalog.route(cbrn.reviewer_roles, set()) == ("ai-ethicist",)
    training_people = control("explainability.train-against-over-reliance")
    assert training_people.applies_when.always
    assert "automation bias" in training_people.title
    assert brings(catalog, "general_purpose_assistant") == {
        "requires_roles": [],
        "applies": [
            # An assistant that answers any question states facts.
            "confabulation.measure-factual-accuracy",
            "confabulation.ground-outputs-in-sources",
            "harmful-content.filter-obscene-and-degrading-output",
            "harmful-content.test-cbrn-misuse",
        ],
        "raises": [
            {"key": "harmful-content.filter-obscene-and-degrading-output", "priority": "high"}
        ],
        "implied_by": [],
        "risks": [
            "CBRN Information or Capabilities",
            "Confabulation",
            "Information Integrity",
            "Obscene, Degrading, and/or Abusive Content",
        ],
        # A general-purpose assistant is no domain: no pack comes with it.
        "packs": [],
    }


# --- One item per obligation (issue 19, point 8) --------------------------------------------

_FILLER = frozenset(
    re.findall(
        r"\w+",
        "a an the and or of to in on for with by is are be it its at as from that this each every "
        "who what when which not no any their they them than then into before after about can "
        "must has have been was were do does done under over more only one all per so if how "
        "where",
    )
)


def _words(entry: Any) -> frozenset[str]:
    text = " ".join((entry.title, entry.detail, entry.done_when)).lower()
    return frozenset(w for w in re.findall(r"[a-z]+", text) if len(w) > 2 and w not in _FILLER)


def _likeness(a: Any, b: Any) -> float:
    """The share of the content words of two entries' title, detail and done-when they share."""
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / len(wa | wb)


# Above this likeness two entries ask the same thing: fold them into one (`fulfils` where a
# mitigation asks what a role's task asks). The nearest unlinked pair of the catalog is below
# 0.3; the stakeholder review and the product manager's bridge, folded, are at 0.39.
NEAR_DUPLICATE = 0.33


def test_no_two_entries_ask_the_same_unless_one_stands_for_the_other(catalog: Catalog) -> None:
    entries = [
        *all_responsibilities(catalog),
        *all_mitigations(catalog),
        *catalog.context_items,
    ]
    linked = {frozenset((m.key, r)) for m in all_mitigations(catalog) for r in m.fulfils}
    near = [
        (round(_likeness(a, b), 2), a.key, b.key)
        for n, a in enumerate(entries)
        for b in entries[n + 1 :]
        if _likeness(a, b) >= NEAR_DUPLICATE and frozenset((a.key, b.key)) not in linked
    ]
    assert near == []
    # The measure sees a fold: the two stakeholder entries are one item, and alike.
    (bridge,) = [r for r in all_responsibilities(catalog) if "bridge" in r.key]
    (walk,) = [m for m in all_mitigations(catalog) if m.key.endswith("stakeholder-model-reviews")]
    assert bridge.key in walk.fulfils and _likeness(bridge, walk) >= NEAR_DUPLICATE


@pytest.mark.parametrize(
    ("obligation", "pattern", "the_one"),
    [
        # Show what an output rests on: its sources, inputs or context.
        (
            "show sources",
            r"\bshows?\b[^.]*\bsources?\b|\bsources?\b[^.]*\bshown\b|\bcites?\b[^.]*\bsources?\b",
            "explainability.explain-outputs",
        ),
        # Present the model, its limits and risks to the stakeholders, in plain language.
        (
            "stakeholder review",
            r"\bstakeholders\b[^.]*\bplain\b|\bplain\b[^.]*\bstakeholders\b",
            "technical-complexity.stakeholder-model-reviews",
        ),
        # Agree who hands what to whom: the one ownership record.
        (
            "collaboration",
            r"\bcollaborat|\bhands? (each|the) other",
            "technical-complexity.document-ownership",
        ),
    ],
)
def test_each_obligation_is_asked_by_one_entry(
    catalog: Catalog, obligation: str, pattern: str, the_one: str
) -> None:
    """The governance lead counted three "show sources" items, three stakeholder reviews and
    six "X and Y collaborate" items on one checklist; each is one entry now."""
    asking = [
        e.key
        for e in [*all_responsibilities(catalog), *all_mitigations(catalog)]
        if re.search(pattern, f"{e.title}. {e.detail} {e.done_when}", re.IGNORECASE)
    ]
    assert asking == [the_one], obligation


# --- Domain packs (issue 19, point 4) ---------------------------------------------------------

PACKS = {
    "clinical": (
        Condition(applications_any=frozenset({"healthcare-solutions"})),
        [
            "confabulation.check-summaries-for-omissions",
            "explainability.human-review-of-high-stakes-outputs",
            "technical-complexity.classify-as-medical-device",
            "data-privacy.inform-patients-and-record-consent",
        ],
    ),
    "code": (
        Condition(traits_any=frozenset({"generates_code"})),
        [
            "information-security.scan-generated-code",
            "intellectual-property.detect-licensed-code-in-suggestions",
            "information-security.keep-secrets-out-of-model-context",
            "information-security.verify-suggested-dependencies",
        ],
    ),
    "synthetic-media": (
        Condition(traits_any=frozenset({"synthetic_media"})),
        [
            "data-privacy.consent-for-voice-and-likeness",
            "explainability.label-generated-content",
            "explainability.embed-provenance-in-generated-media",
        ],
    ),
    "advertising": (
        Condition(traits_any=frozenset({"advertises"})),
        [
            "confabulation.substantiate-product-claims",
            "intellectual-property.clear-generated-names-and-logos",
        ],
    ),
}


def test_the_domain_packs_and_their_conditions(catalog: Catalog) -> None:
    assert {p.key: (p.applies_when, list(p.items)) for p in catalog.packs} == PACKS
    for pack in catalog.packs:
        assert pack.source.kind == "authored" and pack.source.elaborates is None, pack.key
        assert pack.description.strip() and pack.title.strip(), pack.key


def test_every_pack_item_applies_exactly_where_the_pack_does_or_more(catalog: Catalog) -> None:
    """A pack's items apply to every project the pack applies to; those the pack brings alone
    apply to no project it does not apply to."""
    mitigations = {m.key: m for m in all_mitigations(catalog)}
    everything = set(TRAITS)
    for pack in catalog.packs:
        (application,) = pack.applies_when.applications_any or {"other"}
        holding = set(pack.applies_when.traits_any)
        for key in pack.items:
            item = mitigations[key]
            assert not item.assumes_training, key
            assert item.applies_when.holds(application, holding), key
            if item.applies_when == pack.applies_when:
                # Not for any other project: every other trait, every other application.
                others = everything - holding
                for app in catalog.application_keys:
                    if app not in pack.applies_when.applications_any:
                        assert not item.applies_when.holds(app, others), (key, app)


# Gates whose acceptance is a recorded decision rather than a measured rate.
DECISION_CRITERIA = {
    "technical-complexity.classify-as-medical-device": (
        "no device was put into use before its conformity assessment was complete"
    ),
    "intellectual-property.clear-generated-names-and-logos": "found no conflicting mark",
}


def test_the_pack_items_are_gates_with_evidence_and_routed_reviews(catalog: Catalog) -> None:
    mitigations = {m.key: m for m in all_mitigations(catalog)}
    new = [k for _, keys in PACKS.values() for k in keys if not k.startswith("explainability.")]
    new.append("explainability.embed-provenance-in-generated-media")
    for key in new:
        item = mitigations[key]
        assert item.source.kind == "authored" and item.source.elaborates is None, key
        assert item.evidence_required, key
        # A gate by nature says why; one raised by the context names the raise instead.
        assert item.priority_because or item.raised_when, key
        # A threshold a reviewer can check (a number in done_when), or where the gate is a
        # decision, the acceptance criterion it is held to.
        criterion = DECISION_CRITERIA.get(key)
        if criterion is None:
            assert re.search(r"\d", item.done_when), key
        else:
            assert criterion in item.done_when, key
        assert item.genai_risks or key.endswith("medical-device"), key
    route = catalog.route
    omissions = mitigations["confabulation.check-summaries-for-omissions"]
    assert route(omissions.reviewer_roles, {"domain-expert"}) == ("domain-expert",)
    device = mitigations["technical-complexity.classify-as-medical-device"]
    assert route(device.reviewer_roles, {"accountable-executive"}) == ("accountable-executive",)
    # The EU AI Act is named, never cited by article here: its references are the EU helper's.
    assert "EU AI Act" in device.detail and "Art" not in device.detail + device.done_when
    patients = mitigations["data-privacy.inform-patients-and-record-consent"]
    consent = mitigations["data-privacy.consent-for-voice-and-likeness"]
    for gate in (patients, consent):
        assert route(gate.reviewer_roles, {"privacy-officer"}) == ("privacy-officer",)
    for key in (
        "information-security.scan-generated-code",
        "information-security.verify-suggested-dependencies",
    ):
        assert mitigations[key].reviewer_roles == ("security-lead",), key
    secrets = mitigations["information-security.keep-secrets-out-of-model-context"]
    assert secrets.priority == "medium"
    assert [(r.when.traits_any, r.priority) for r in secrets.raised_when] == [
        ({"uses_third_party_models"}, "high")
    ]
    claims = mitigations["confabulation.substantiate-product-claims"]
    assert "Product Manager" not in claims.reviewer_roles and "product-manager" not in (
        claims.reviewer_roles
    )


def test_advertises_is_ours_and_makes_claims_risks_apply(catalog: Catalog) -> None:
    (trait,) = [t for t in catalog.traits if t.key == "advertises"]
    assert trait.source.kind == "authored" and "advertising" in trait.definition
    assert "advertising" not in catalog.application_keys
    brought = brings(catalog, "advertises")
    assert brought["packs"] == ["advertising"]
    assert {"Confabulation", "Information Integrity"} <= set(brought["risks"])


@pytest.mark.parametrize(
    ("pack", "item", "message"),
    [
        (
            1,
            "value-chain.restrict-provider-use-of-data",
            r"packs\[code\]\.items: 'value-chain\.restrict-provider-use-of-data' does not apply "
            r"wherever the pack applies",
        ),
        (
            1,
            "intellectual-property.license-training-data",
            r"packs\[code\]\.items: 'intellectual-property\.license-training-data' assumes "
            r"training",
        ),
        (
            3,
            "information-security.scan-generated-code",
            r"'information-security\.scan-generated-code' is in the pack 'code' already",
        ),
        (3, "information-security.no-such", r"unknown mitigation 'information-security\.no-such'"),
    ],
)
def test_the_loader_refuses_a_pack_item_that_does_not_come_with_the_pack(
    tmp_path: Path, pack: int, item: str, message: str
) -> None:
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["packs"][pack]["items"].append(item)

    with pytest.raises(CatalogError, match=message):
        load_catalog(write(tmp_path, data))
