"""The findings a governance lead raises about who owns and reviews the work: items nobody owns,
high and critical items resting on one person, a model's builder holding its critical reviews.
Each appears with its priority, reasons and remedy, goes when fixed, and a staffing change leaves
the checklist as regenerating it whole would."""

from __future__ import annotations

from typing import Any

from checklist_support import generate, generated_events, items_by_key, read_checklist
from factories import assign, create_person, create_project

PREVIEW = "/v1/checklists/preview"


def _put(api: Any, project: dict[str, Any], *entries: tuple[str, dict[str, Any]]) -> None:
    body = [{"role": role, "person_id": person["id"]} for role, person in entries]
    response = api.put(f"/v1/projects/{project['id']}/assignments", json={"assignments": body})
    assert response.status_code == 200, response.get_data(as_text=True)


def _open(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: i for k, i in items_by_key(doc).items() if i["status"] != "obsolete"}


def _assert_whole(api: Any, project: dict[str, Any]) -> dict[str, Any]:
    """The checklist as the staffing change left it is what regenerating it whole gives: the
    regeneration changes nothing (same revision, no new event)."""
    before = read_checklist(api, project)
    events = len(generated_events(api, project))
    again = generate(api, project, 200).json
    assert again["revision"] == before["revision"]
    assert again["items"] == before["items"]
    assert len(generated_events(api, project)) == events
    return before


def _inline(name: str) -> dict[str, str]:
    return {"name": name, "email": f"{name.lower()}@example.com"}


def _person(api: Any, name: str) -> dict[str, Any]:
    return create_person(api, name=name, email=f"{name.split()[0].lower()}@example.com")


# --------------------------------------------------------------------------- items nobody owns


def test_items_nobody_owns_are_one_finding_per_role_that_would_own_them(api):
    project = create_project(api, application="other", traits={"uses_third_party_models": True})
    ada, bob, pam = _person(api, "Ada Data"), _person(api, "Bob Engineer"), _person(api, "Pam PM")
    _put(api, project, ("data-scientist", ada), ("machine-learning-engineer", bob))
    generate(api, project, 201)
    items = _open(read_checklist(api, project))

    unowned = {k: i for k, i in items.items() if k.startswith("staffing.unowned.")}
    assert set(unowned) == {"staffing.unowned.ai-ethicist", "staffing.unowned.product-manager"}
    ethicist = unowned["staffing.unowned.ai-ethicist"]
    assert ethicist["title"] == (
        "Nobody owns 1 item: staff the role AI Ethicist or reassign its items"
    )
    assert ethicist["kind"] == "staffing" and ethicist["roles"] == ["ai-ethicist"]
    assert ethicist["source"]["kind"] == "authored"
    assert ethicist["source"]["finding"] == "unowned_items"
    assert "Staff the role AI Ethicist or reassign its items" in ethicist["detail"]
    # Medium: nothing high or critical waits, and the most urgent item waiting is medium.
    assert ethicist["priority"] == "medium"
    assert ethicist["because"] == [
        "1 item that AI Ethicist would own waits for an owner: Have evaluation results reviewed "
        "by people outside the model team (bias-and-fairness.interdisciplinary-review, medium)",
        "Nobody on the project holds AI Ethicist, and the project does not require it",
        "None of them is high or critical: medium, as the most urgent of them",
    ]
    # The record of accepted risks and the training against over-reliance could be either
    # role's: each waits for the one that would give the most items an owner, the Product
    # Manager (four items, the agreement with the model provider among them), never for both.
    manager = unowned["staffing.unowned.product-manager"]
    assert manager["title"] == (
        "Nobody owns 4 items: staff the role Product Manager or reassign its items"
    )
    assert manager["priority"] == "medium"
    for key in (
        "technical-complexity.record-accepted-risks",
        "explainability.train-against-over-reliance",
        "intellectual-property.terms-of-generated-content",
        "value-chain.sign-provider-agreement",
    ):
        assert key in manager["because"][0]
        assert key not in ethicist["because"][0]
    # The items counted have no owner and name no role; no item is counted for two roles.
    for key in (
        "bias-and-fairness.interdisciplinary-review",
        "technical-complexity.record-accepted-risks",
        "intellectual-property.terms-of-generated-content",
    ):
        assert items[key]["owners"] == [] and items[key]["roles"] == []

    # Staffing the role fixes it: the finding is obsolete, the items are Pam's.
    assign(api, project, "product-manager", pam)
    doc = _assert_whole(api, project)
    items = _open(doc)
    assert "staffing.unowned.product-manager" not in items
    assert items["intellectual-property.terms-of-generated-content"]["owners"][0]["id"] == pam["id"]
    assert items["technical-complexity.record-accepted-risks"]["owners"][0]["id"] == pam["id"]
    # The ethicist's finding still counts the one item only that role would own.
    assert items["staffing.unowned.ai-ethicist"]["title"] == (
        "Nobody owns 1 item: staff the role AI Ethicist or reassign its items"
    )
    diff = generated_events(api, project)[0]["payload"]["diff"]
    assert "staffing.unowned.product-manager" in diff["obsoleted"]


def test_a_required_role_nobody_holds_has_its_own_finding_and_no_second_one(api):
    response = api.post(
        PREVIEW,
        json={
            "project": {"name": "Soundtracks", "application": "music-composition"},
            "assignments": [
                {"role": "data-scientist", "person": _inline("Dana")},
                {"role": "machine-learning-engineer", "person": _inline("Milo")},
            ],
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    items = items_by_key(response.json)
    assert "staffing.unfilled.content-curator" in items
    assert items["content-curator.curate-training-datasets"]["owners"] == []
    assert "staffing.unowned.content-curator" not in items


# --------------------------------------------------------------------------- concentration


def test_one_person_owning_most_high_and_critical_items_alone_is_a_concentration(api):
    project = create_project(api, application="other", traits={"handles_personal_data": True})
    ada, bob = _person(api, "Ada Both"), _person(api, "Bob Engineer")
    _put(api, project, ("data-scientist", ada), ("machine-learning-engineer", ada))
    generate(api, project, 201)
    items = _open(read_checklist(api, project))
    key = f"staffing.concentration.{ada['id']}"
    finding = items[key]
    # Exactly the threshold: the project's four high items (the fourth waits for the privacy
    # officer the project requires), three of them Ada's alone, more than half.
    urgent = [
        i
        for i in items.values()
        if i["kind"] != "staffing" and i["priority"] in {"high", "critical"}
    ]
    assert len(urgent) == 4
    alone = [i["key"] for i in urgent if [o["id"] for o in i["owners"]] == [ada["id"]]]
    assert len(alone) == 3
    assert finding["title"] == "Ada Both alone owns 3 of the project's 4 high and critical items"
    assert finding["priority"] == "medium"
    assert finding["because"] == [
        "Ada Both is the only owner of 3 of the project's 4 high and critical items, "
        "more than half",
        "The project has 4 high and critical items, at least 4",
        "No critical item among them: medium",
    ]
    assert "Spread ownership: name a second owner" in finding["detail"]
    assert finding["source"]["people"] == [ada["id"]] and finding["source"]["kind"] == "authored"
    # Never owned by the person it concerns.
    assert ada["id"] not in [o["id"] for o in finding["owners"]]

    # A second owner fixes it: Bob as a second engineer shares the items.
    assign(api, project, "machine-learning-engineer", bob)
    items = _open(_assert_whole(api, project))
    assert key not in items
    assert not any(k.startswith("staffing.concentration.") for k in items)


def test_concentration_over_critical_items_is_high(api):
    response = api.post(
        PREVIEW,
        json={
            "project": {"name": "Clinic notes", "application": "healthcare-solutions"},
            "assignments": [
                {"role": "data-scientist", "person": _inline("Ada")},
                {"role": "machine-learning-engineer", "person": _inline("Ada")},
                {"role": "ai-ethicist", "person": _inline("Eve")},
                # The governance roles a clinic requires, so that none is unfilled.
                {"role": "privacy-officer", "person": _inline("Pia")},
                {"role": "domain-expert", "person": _inline("Dora")},
                {"role": "accountable-executive", "person": _inline("Exa")},
            ],
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    (finding,) = [i for i in response.json["items"] if i["key"].startswith("staffing.concentr")]
    # The governance roles' own tasks count too (each its holder's).
    # The clinical pack adds the omissions test (Ada's, critical) and two items nobody here owns.
    assert finding["title"] == "Ada alone owns 10 of the project's 18 high and critical items"
    assert finding["priority"] == "high"
    assert finding["because"][-1] == (
        "5 critical items among them, so a milestone's gate rests on one person: high"
    )


def test_below_the_threshold_one_owner_of_every_high_item_is_no_finding(api):
    response = api.post(
        PREVIEW,
        json={
            "project": {
                "name": "Code assistant",
                "application": "other",
                "traits": {"uses_third_party_models": True, "reads_untrusted_content": True},
            },
            "assignments": [
                {"role": "data-scientist", "person": _inline("Ada")},
                {"role": "machine-learning-engineer", "person": _inline("Ada")},
                {"role": "security-lead", "person": _inline("Ada")},
            ],
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    items = response.json["items"]
    urgent = [i for i in items if i["kind"] != "staffing" and i["priority"] in {"high", "critical"}]
    # Three, one short of the threshold, every one Ada's alone.
    assert len(urgent) == 3 and all([o["name"] for o in i["owners"]] == ["Ada"] for i in urgent)
    assert not any(i["key"].startswith("staffing.concentration.") for i in items)


# --------------------------------------------------------------------------- builder reviews


def test_a_builder_who_can_sign_off_a_critical_review_of_the_output_is_a_finding(api):
    project = create_project(
        api, application="content-creation", traits={"generates_public_content": True}
    )
    ada, bob = _person(api, "Ada Data"), _person(api, "Bob Builder")
    cleo, pam = _person(api, "Cleo Curator"), _person(api, "Pam Manager")
    staffing = [
        ("data-scientist", ada),
        ("machine-learning-engineer", bob),
        ("product-manager", bob),
        ("content-curator", cleo),
    ]
    _put(api, project, *staffing)
    generate(api, project, 201)
    items = _open(read_checklist(api, project))
    gate = items["bias-and-fairness.review-generated-content"]
    assert gate["priority"] == "critical" and gate["signoff_required"]
    assert [r["id"] for r in gate["reviewers"]] == [bob["id"]]
    key = f"staffing.builder-reviews-own-work.{bob['id']}"
    finding = items[key]
    assert finding["title"] == (
        "Bob Builder builds the model and reviews its output: name an independent reviewer"
    )
    assert finding["priority"] == "high"
    assert finding["roles"] == ["machine-learning-engineer", "product-manager"]
    assert finding["because"] == [
        "Bob Builder holds Machine Learning Engineer, a role that builds the model",
        "Bob Builder can sign off Review generated content for harmful or inaccurate material "
        "before publication (bias-and-fairness.review-generated-content) as Product Manager",
        "A critical review of the model's output must be independent of who built the model: "
        "high, the same as any staffing problem that blocks a review",
    ]
    assert "Name an independent reviewer: give Product Manager to someone" in finding["detail"]
    assert finding["source"]["finding"] == "builder_reviews_own_work"

    # Another reviewer: Pam is the Product Manager; the finding goes, Pam can sign off.
    _put(api, project, *staffing[:2], ("product-manager", pam), staffing[3])
    items = _open(_assert_whole(api, project))
    assert key not in items
    assert [r["id"] for r in items["bias-and-fairness.review-generated-content"]["reviewers"]] == [
        pam["id"]
    ]


def test_a_builder_as_ethicist_is_a_separation_finding_only(api):
    response = api.post(
        PREVIEW,
        json={
            "project": {
                "name": "Blog",
                "application": "content-creation",
                "traits": {"generates_public_content": True},
            },
            "assignments": [
                {"role": "data-scientist", "person": _inline("Ada")},
                {"role": "ai-ethicist", "person": _inline("Ada")},
                {"role": "machine-learning-engineer", "person": _inline("Bob")},
                {"role": "content-curator", "person": _inline("Cleo")},
                {"role": "product-manager", "person": _inline("Pam")},
            ],
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    items = items_by_key(response.json)
    gate = items["bias-and-fairness.review-generated-content"]
    assert gate["priority"] == "critical"
    assert "Ada" in [r["name"] for r in gate["reviewers"]]
    assert any(k.startswith("staffing.separation-of-duties.") for k in items)
    assert not any(k.startswith("staffing.builder-reviews-own-work.") for k in items)


def test_the_preview_gives_the_stored_checklists_findings(api):
    project = create_project(
        api, application="content-creation", traits={"generates_public_content": True}
    )
    ada, bob, cleo = _person(api, "Ada Data"), _person(api, "Bob Builder"), _person(api, "Cleo C")
    _put(
        api,
        project,
        ("data-scientist", ada),
        ("machine-learning-engineer", bob),
        ("product-manager", bob),
        ("content-curator", cleo),
    )
    stored = generate(api, project, 201).json
    response = api.post(
        PREVIEW,
        json={
            "project": {
                "name": "Preview",
                "application": "content-creation",
                "traits": {"generates_public_content": True},
            },
            "assignments": [
                {"role": "data-scientist", "person_id": ada["id"]},
                {"role": "machine-learning-engineer", "person_id": bob["id"]},
                {"role": "product-manager", "person_id": bob["id"]},
                {"role": "content-curator", "person_id": cleo["id"]},
            ],
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)

    def findings(doc: dict[str, Any]) -> list[tuple[str, str, str, list[str]]]:
        return [
            (i["key"], i["title"], i["priority"], i["because"], i["detail"])
            for i in doc["items"]
            if i["kind"] == "staffing"
        ]

    assert findings(response.json) == findings(stored)
    assert f"staffing.builder-reviews-own-work.{bob['id']}" in [k for k, *_ in findings(stored)]
