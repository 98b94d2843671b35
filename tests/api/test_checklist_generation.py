"""Generating a project's checklist, and keeping it current as the project and its staffing
change."""

from __future__ import annotations

import pytest
from checklist_support import (
    COLLABORATION_PAIRS,
    CORE_RESPONSIBILITIES,
    generate,
    generated_events,
    in_days,
    item_for,
    item_path,
    items_by_key,
    own_items,
    owner_ids,
    patch_item,
    read_checklist,
    staffed_project,
)
from factories import assert_problem, assign, create_person, create_project
from sqlalchemy import select
from test_staffing_queries import MOVED_BOUND

from app.extensions import db
from app.models import Checklist, ChecklistItem

# --------------------------------------------------------------------------- generating


def test_the_first_generation_creates_the_checklist_and_later_ones_answer_200(api):
    project, _ = staffed_project(api)

    first = generate(api, project)
    again = generate(api, project)

    assert first.status_code == 201
    assert first.headers["Location"] == f"/v1/projects/{project['id']}/checklist"
    assert first.json["revision"] == 1
    assert first.json["checklist_id"].startswith("chk_")
    assert again.status_code == 200
    assert again.json["checklist_id"] == first.json["checklist_id"]
    # Nothing changed in between: same revision, no second event.
    assert again.json["revision"] == 1
    assert len(generated_events(api, project)) == 1


def test_a_fully_staffed_project_has_the_articles_responsibilities_and_collaborations(api):
    project, people = staffed_project(api)

    doc = generate(api, project, 201).json

    items = items_by_key(doc)
    responsibilities = [i for i in doc["items"] if i["kind"] == "responsibility"]
    # The article's fifteen: fourteen items of their own, and the ethicist's analysis of
    # outputs carried by the bias evaluation, which asks the same.
    assert len(responsibilities) == 14
    for role, keys in CORE_RESPONSIBILITIES.items():
        for key in keys:
            item = item_for(items, key)
            assert item["status"] == "open"
            if item["key"] != key:
                assert item["kind"] == "mitigation" and role in item["roles"]
                assert people[role]["id"] in owner_ids(item)
                assert key in [f["catalog_key"] for f in item["source"]["fulfils"]]
                continue
            assert item["kind"] == "responsibility"
            assert item["roles"] == [role]
            assert owner_ids(item) == [people[role]["id"]]
            assert [o["name"] for o in item["owners"]] == [people[role]["name"]]
            assert [o["email"] for o in item["owners"]] == [people[role]["email"]]
    # The article's six collaborating pairs are agreed in the one ownership item (issue 19,
    # point 8), each with its own row's outcomes, not in six items that say "collaborate".
    assert [i for i in doc["items"] if i["kind"] == "collaboration"] == []
    ownership = items["technical-complexity.document-ownership"]
    titles = {r["key"]: r["title"] for r in api.get("/v1/catalog").json["roles"]}
    for a, b in COLLABORATION_PAIRS:
        assert f"{titles[a]} with {titles[b]} (" in ownership["detail"]
    assert len(ownership["source"]["collaborations"]) == 5  # the table's five rows
    assert doc["summary"]["by_kind"]["responsibility"] == 14
    assert doc["summary"]["by_kind"]["collaboration"] == 0
    assert doc["summary"]["total"] == len(doc["items"])
    assert doc["summary"]["by_status"]["open"] == len(doc["items"])
    # Staffed with one person a role and nobody over-allocated: no staffing findings.
    assert doc["summary"]["by_kind"]["staffing"] == 0


def test_reading_the_checklist_returns_what_generating_it_returned(api):
    project, _ = staffed_project(api)
    generated = generate(api, project, 201).json

    assert read_checklist(api, project) == generated
    # By slug too.
    by_slug = api.get(f"/v1/projects/{project['slug']}/checklist")
    assert by_slug.status_code == 200
    assert by_slug.json == generated


def test_generating_records_an_event_with_a_summary_and_a_diff(api):
    project, _ = staffed_project(api)

    doc = generate(api, project, 201).json

    (event,) = generated_events(api, project)
    payload = event["payload"]
    assert event["project_id"] == project["id"]
    assert payload["project"]["id"] == project["id"]
    assert payload["checklist"] == {
        "id": doc["checklist_id"],
        "revision": 1,
        "catalog_version": doc["catalog_version"],
    }
    assert payload["summary"] == doc["summary"]
    assert sorted(payload["diff"]["added"]) == sorted(i["key"] for i in doc["items"])
    assert payload["diff"]["obsoleted"] == []
    assert payload["diff"]["owners_changed"] == []


def test_a_retried_generation_with_an_idempotency_key_does_the_work_once(api):
    project, _ = staffed_project(api)
    headers = {"Idempotency-Key": "generate-once-1"}

    first = generate(api, project, 201, headers=headers)
    retry = generate(api, project, headers=headers)

    assert retry.status_code == 201
    assert retry.json == first.json
    assert len(generated_events(api, project)) == 1


def test_a_project_of_another_team_cannot_be_generated_or_read(api, other_api):
    project, _ = staffed_project(api)
    generate(api, project, 201)

    assert_problem(other_api.post(f"/v1/projects/{project['id']}/checklist"), 404)
    assert_problem(other_api.get(f"/v1/projects/{project['id']}/checklist"), 404)
    assert_problem(other_api.get(f"/v1/projects/{project['slug']}/checklist"), 404)


# --------------------------------------------------------------------------- staying current


def _ds_and_mle_project(api, **project):
    created = create_project(api, **{"application": "other", **project})
    ds = create_person(api, name="Dana Scientist")
    mle = create_person(api, name="Milo Engineer")
    assign(api, created, "data-scientist", ds)
    assign(api, created, "machine-learning-engineer", mle)
    generate(api, created, 201)
    return created, ds, mle


def test_adding_an_assignment_regenerates_the_checklist_in_the_same_request(api):
    project, ds, _ = _ds_and_mle_project(api)
    ethicist = create_person(api, name="Eve Ethicist")

    response = api.post(
        f"/v1/projects/{project['id']}/assignments",
        json={"role": "ai-ethicist", "person_id": ethicist["id"]},
    )

    assert response.status_code == 201
    latest = generated_events(api, project)[0]
    assert latest["request_id"] == response.headers["X-Request-ID"]
    diff = latest["payload"]["diff"]
    assert set(own_items(CORE_RESPONSIBILITIES["ai-ethicist"])) <= set(diff["added"])
    assert not [k for k in diff["added"] if k.startswith("collaboration.")]
    assert {
        "key": "bias-and-fairness.define-fairness-metrics",
        "before": [ds["id"]],
        "after": [ethicist["id"], ds["id"]],
    } in diff["owners_changed"]
    doc = read_checklist(api, project)
    assert doc["revision"] == 2
    assert latest["payload"]["checklist"]["revision"] == 2
    items = items_by_key(doc)
    assert owner_ids(items["ai-ethicist.educate-teams"]) == [ethicist["id"]]
    # The new pair is agreed in the ownership record.
    ownership = items["technical-complexity.document-ownership"]
    assert "Data Scientist with AI Ethicist (" in ownership["detail"]


def test_removing_an_assignment_obsoletes_what_only_that_role_needed(api):
    project, ds, mle = _ds_and_mle_project(api)
    ethicist = create_person(api)
    assignment = assign(api, project, "ai-ethicist", ethicist)

    response = api.delete(f"/v1/projects/{project['id']}/assignments/{assignment['id']}")

    assert response.status_code == 204
    latest = generated_events(api, project)[0]
    assert set(latest["payload"]["diff"]["obsoleted"]) == {
        *own_items(CORE_RESPONSIBILITIES["ai-ethicist"]),
    }
    doc = read_checklist(api, project)
    assert doc["revision"] == 3
    items = items_by_key(doc)
    for key in own_items(CORE_RESPONSIBILITIES["ai-ethicist"]):
        assert items[key]["status"] == "obsolete"
    assert doc["summary"]["by_status"]["obsolete"] == 2
    assert owner_ids(items["bias-and-fairness.define-fairness-metrics"]) == [ds["id"]]
    assert owner_ids(items["data-scientist.collect-and-preprocess-data"]) == [ds["id"]]
    assert owner_ids(items["machine-learning-engineer.deploy-models"]) == [mle["id"]]
    # Without the ethicist, the ownership record no longer names the pair.
    assert "AI Ethicist" not in items["technical-complexity.document-ownership"]["detail"]


def test_replacing_the_staffing_changes_owners_and_says_so_in_the_diff(api):
    project, ds, mle = _ds_and_mle_project(api)
    newcomer = create_person(api, name="Nora Newcomer")

    response = api.put(
        f"/v1/projects/{project['id']}/assignments",
        json={
            "assignments": [
                {"role": "data-scientist", "person_id": newcomer["id"]},
                {"role": "machine-learning-engineer", "person_id": mle["id"]},
            ]
        },
    )

    assert response.status_code == 200
    diff = generated_events(api, project)[0]["payload"]["diff"]
    assert {
        "key": "data-scientist.evaluate-model-performance",
        "before": [ds["id"]],
        "after": [newcomer["id"]],
    } in diff["owners_changed"]
    assert diff["added"] == []
    assert diff["obsoleted"] == []
    doc = read_checklist(api, project)
    assert doc["revision"] == 2
    items = items_by_key(doc)
    assert owner_ids(items["data-scientist.evaluate-model-performance"]) == [newcomer["id"]]
    assert set(owner_ids(items["technical-complexity.document-ownership"])) == {
        newcomer["id"],
        mle["id"],
    }


def test_changing_a_trait_regenerates_the_checklist(api):
    project, _, _ = _ds_and_mle_project(api)

    response = api.patch(f"/v1/projects/{project['id']}", json={"traits": {"user_facing": True}})

    assert response.status_code == 200
    latest = generated_events(api, project)[0]
    assert latest["request_id"] == response.headers["X-Request-ID"]
    added = set(latest["payload"]["diff"]["added"])
    assert {
        "explainability.design-understandable-explanations",
        "data-privacy.disclose-use-of-user-inputs",
        "staffing.unfilled.product-manager",
        "staffing.unfilled.ux-designer",
    } <= added
    doc = read_checklist(api, project)
    assert doc["revision"] == 2
    assert doc["project"]["traits"] == ["user_facing"]
    items = items_by_key(doc)
    # The monitoring mitigation is raised for user-facing projects.
    assert items["technical-complexity.monitor-production-models"]["priority"] == "high"


def test_changing_the_application_regenerates_the_checklist(api):
    project, _, _ = _ds_and_mle_project(api)

    response = api.patch(f"/v1/projects/{project['id']}", json={"application": "virtual-reality"})

    assert response.status_code == 200
    diff = generated_events(api, project)[0]["payload"]["diff"]
    assert "technical-complexity.vr-user-safety-testing" in diff["added"]
    assert "staffing.unfilled.ux-designer" in diff["added"]
    doc = read_checklist(api, project)
    assert doc["revision"] == 2
    assert doc["project"]["application"] == "virtual-reality"


def test_a_change_that_does_not_touch_the_checklist_leaves_its_revision(api):
    project, _, _ = _ds_and_mle_project(api)

    response = api.patch(f"/v1/projects/{project['id']}", json={"description": "Now described"})

    assert response.status_code == 200
    assert read_checklist(api, project)["revision"] == 1
    assert len(generated_events(api, project)) == 1


def test_item_state_is_kept_by_key_across_regeneration(api):
    project, _, _ = _ds_and_mle_project(api)
    done = "data-scientist.collect-and-preprocess-data"
    waived = "explainability.trace-model-outputs"
    ticketed = "machine-learning-engineer.deploy-models"
    progressing = "technical-complexity.reproducible-pipeline"
    assert (
        patch_item(api, project, done, {"status": "done", "note": "Pipeline in place"}).status_code
        == 200
    )
    assert (
        patch_item(
            api,
            project,
            waived,
            {"waiver": {"reason": "Internal demo, no users yet", "expires_on": in_days(60)}},
        ).status_code
        == 200
    )
    ticket = {"system": "jira", "key": "PROJ-7", "url": "https://jira.example.com/PROJ-7"}
    assert patch_item(api, project, ticketed, {"ticket": ticket}).status_code == 200
    assert patch_item(api, project, progressing, {"status": "in_progress"}).status_code == 200
    before = items_by_key(read_checklist(api, project))

    assign(api, project, "ai-ethicist", create_person(api))
    api.patch(f"/v1/projects/{project['id']}", json={"traits": {"user_facing": True}})

    doc = read_checklist(api, project)
    # One revision a transaction that changed it: generated, four items worked, two regenerations.
    assert doc["revision"] == 7
    after = items_by_key(doc)
    assert after[done]["status"] == "done"
    assert after[done]["note"] == "Pipeline in place"
    assert after[waived]["status"] == "waived"
    assert after[waived]["waiver"]["reason"] == "Internal demo, no users yet"
    assert after[waived]["waiver"] == before[waived]["waiver"]
    assert after[ticketed]["ticket"] == ticket
    assert after[progressing]["status"] == "in_progress"
    for key in (done, waived, ticketed, progressing):
        assert after[key]["id"] == before[key]["id"]


def test_an_item_that_applies_again_comes_back_with_its_old_status(api):
    project = create_project(api, application="other", traits={"handles_personal_data": True})
    assign(api, project, "data-scientist", create_person(api))
    assign(api, project, "machine-learning-engineer", create_person(api))
    ethicist = create_person(api, name="Eve Ethicist")
    assignment = assign(api, project, "ai-ethicist", ethicist)
    generate(api, project, 201)
    key = "ai-ethicist.establish-ethical-guidelines"
    guidelines = {"add": [{"title": "Guidelines", "url": "https://wiki.example.com/ethics"}]}
    done = {"status": "done", "evidence": guidelines}
    assert patch_item(api, project, key, done).status_code == 200

    # Without the ethicist and without the trait that required one, the item no longer applies.
    api.delete(f"/v1/projects/{project['id']}/assignments/{assignment['id']}")
    api.patch(f"/v1/projects/{project['id']}", json={"traits": {"handles_personal_data": False}})
    gone = items_by_key(read_checklist(api, project))[key]
    assert gone["status"] == "obsolete"
    assert gone["owners"] == []
    assert key in generated_events(api, project)[0]["payload"]["diff"]["obsoleted"]

    # The ethicist is back: so is the item, done as it was.
    assign(api, project, "ai-ethicist", ethicist)
    back = items_by_key(read_checklist(api, project))[key]
    assert back["status"] == "done"
    assert back["id"] == gone["id"]
    assert owner_ids(back) == [ethicist["id"]]
    assert key in generated_events(api, project)[0]["payload"]["diff"]["restored"]


# --------------------------------------------------------------------------- staffing findings


def test_an_unfilled_required_role_is_a_high_priority_item_without_owners(api):
    project = create_project(api, application="other")
    assign(api, project, "data-scientist", create_person(api))

    items = items_by_key(generate(api, project, 201).json)

    finding = items["staffing.unfilled.machine-learning-engineer"]
    assert finding["kind"] == "staffing"
    assert finding["priority"] == "high"
    assert finding["owners"] == []
    assert finding["roles"] == ["machine-learning-engineer"]
    assert "staffing.unfilled.data-scientist" not in items
    # Required roles bring their responsibilities, unowned until someone is staffed.
    assert items["machine-learning-engineer.train-models"]["owners"] == []
    assert items["machine-learning-engineer.train-models"]["priority"] == "medium"
    # Roles that are neither required nor staffed bring nothing.
    assert not any(k.startswith("ai-ethicist.") for k in items)


def test_filling_the_role_obsoletes_the_unfilled_finding(api):
    project = create_project(api, application="other")
    assign(api, project, "data-scientist", create_person(api))
    generate(api, project, 201)

    assign(api, project, "machine-learning-engineer", create_person(api))

    items = items_by_key(read_checklist(api, project))
    assert items["staffing.unfilled.machine-learning-engineer"]["status"] == "obsolete"


@pytest.mark.parametrize(
    ("other_role", "pair"),
    [
        ("data-scientist", "data-scientist.ai-ethicist"),
        ("content-curator", "ai-ethicist.content-curator"),
        ("machine-learning-engineer", "machine-learning-engineer.ai-ethicist"),
    ],
)
def test_one_person_in_roles_that_check_each_other_is_a_separation_of_duties_finding(
    api, other_role, pair
):
    project, _ = staffed_project(api)
    both = create_person(api, name="Sam Both")
    assign(api, project, "ai-ethicist", both)
    assign(api, project, other_role, both)

    items = items_by_key(generate(api, project, 201).json)

    finding = items[f"staffing.separation-of-duties.{both['id']}.{pair}"]
    assert finding["kind"] == "staffing"
    assert finding["priority"] == "high"
    # About Sam, not owned by Sam: nobody leads this project, so nobody is named yet.
    assert owner_ids(finding) == []
    assert finding["source"]["people"] == [both["id"]]
    assert finding["roles"] == pair.split(".")
    assert "Sam Both" in finding["title"]
    assert not any(
        k.startswith("staffing.separation-of-duties.") and both["id"] not in k for k in items
    )


def test_one_person_in_roles_that_do_not_check_each_other_is_no_finding(api):
    project, _ = staffed_project(api)
    both = create_person(api)
    assign(api, project, "data-scientist", both)
    assign(api, project, "machine-learning-engineer", both)

    items = generate(api, project, 201).json["items"]

    assert not any(i["key"].startswith("staffing.separation-of-duties.") for i in items)


def test_more_than_two_roles_for_one_person_is_a_finding(api):
    project = create_project(api, application="other")
    busy = create_person(api, name="Busy Bee")
    two_roles = create_person(api)
    for role in ("data-scientist", "machine-learning-engineer", "ux-designer"):
        assign(api, project, role, busy)
    for role in ("content-curator", "product-manager"):
        assign(api, project, role, two_roles)

    items = items_by_key(generate(api, project, 201).json)

    finding = items[f"staffing.too-many-roles.{busy['id']}"]
    assert finding["priority"] == "medium"
    # Owned by whoever can resolve it, the product manager, not by the person it is about.
    assert owner_ids(finding) == [two_roles["id"]]
    assert finding["source"]["people"] == [busy["id"]]
    assert finding["roles"] == ["data-scientist", "machine-learning-engineer", "ux-designer"]
    assert f"staffing.too-many-roles.{two_roles['id']}" not in items


def test_allocation_over_100_percent_across_active_projects_is_a_finding_on_both(api):
    here = create_project(api, application="other")
    there = create_project(api, application="other")
    generate(api, here, 201)
    generate(api, there, 201)
    stretched = create_person(api, name="Stretched Sue")
    key = f"staffing.over-allocated.{stretched['id']}"

    assign(api, here, "data-scientist", stretched, allocation=60)
    assert key not in items_by_key(read_checklist(api, here))
    # Staffing the other project regenerates this one too: the total is now 110%.
    assign(api, there, "machine-learning-engineer", stretched, allocation=50)

    for project in (here, there):
        finding = items_by_key(read_checklist(api, project))[key]
        assert finding["status"] == "open"
        assert finding["priority"] == "high"
        assert stretched["id"] not in owner_ids(finding)
        assert finding["source"]["people"] == [stretched["id"]]
        assert "110%" in finding["title"]

    # Archiving the other project takes its allocation out of the count.
    assert api.delete(f"/v1/projects/{there['id']}").status_code == 200
    assert items_by_key(read_checklist(api, here))[key]["status"] == "obsolete"


def test_lowering_or_removing_the_other_allocation_settles_the_finding(api):
    here = create_project(api, application="other")
    there = create_project(api, application="other")
    stretched = create_person(api)
    key = f"staffing.over-allocated.{stretched['id']}"
    assign(api, here, "data-scientist", stretched, allocation=60)
    elsewhere = assign(api, there, "data-scientist", stretched, allocation=50)
    generate(api, here, 201)
    assert items_by_key(read_checklist(api, here))[key]["status"] == "open"

    def allocate_there(percent: int) -> None:
        staffing = [{"role": "data-scientist", "person_id": stretched["id"], "allocation": percent}]
        path = f"/v1/projects/{there['id']}/assignments"
        assert api.put(path, json={"assignments": staffing}).status_code == 200

    # Lowered on the other project by replacing its staffing: 60% + 40% is fine.
    allocate_there(40)
    assert items_by_key(read_checklist(api, here))[key]["status"] == "obsolete"

    # Raised again, then taken off the other project.
    allocate_there(90)
    assert items_by_key(read_checklist(api, here))[key]["status"] == "open"
    (current,) = api.get(f"/v1/projects/{there['id']}/assignments").json["items"]
    assert current["id"] == elsewhere["id"]
    api.delete(f"/v1/projects/{there['id']}/assignments/{current['id']}")
    assert items_by_key(read_checklist(api, here))[key]["status"] == "obsolete"


def test_reactivating_an_archived_project_brings_its_allocation_back(api):
    here = create_project(api, application="other")
    there = create_project(api, application="other")
    stretched = create_person(api)
    key = f"staffing.over-allocated.{stretched['id']}"
    assign(api, here, "data-scientist", stretched, allocation=60)
    assign(api, there, "data-scientist", stretched, allocation=50)
    generate(api, here, 201)
    api.delete(f"/v1/projects/{there['id']}")
    assert items_by_key(read_checklist(api, here))[key]["status"] == "obsolete"

    response = api.patch(f"/v1/projects/{there['id']}", json={"status": "active"})

    assert response.status_code == 200
    assert items_by_key(read_checklist(api, here))[key]["status"] == "open"


def test_100_percent_across_projects_is_no_finding(api):
    here = create_project(api, application="other")
    there = create_project(api, application="other")
    person = create_person(api)
    assign(api, here, "data-scientist", person, allocation=60)
    assign(api, there, "data-scientist", person, allocation=40)

    items = generate(api, here, 201).json["items"]

    assert not any(i["key"].startswith("staffing.over-allocated.") for i in items)


def test_several_people_in_one_role_without_a_lead_is_a_finding(api):
    project, people = staffed_project(api)
    second = create_person(api, name="Second Scientist")
    assign(api, project, "data-scientist", second)

    items = items_by_key(generate(api, project, 201).json)

    finding = items["staffing.no-lead.data-scientist"]
    assert finding["priority"] == "low"
    assert set(finding["source"]["people"]) == {people["data-scientist"]["id"], second["id"]}
    assert owner_ids(finding) == []
    assert set(owner_ids(items["data-scientist.collect-and-preprocess-data"])) == {
        people["data-scientist"]["id"],
        second["id"],
    }

    # Naming a lead settles it.
    assign(api, project, "data-scientist", create_person(api), lead=True)
    items = items_by_key(read_checklist(api, project))
    assert items["staffing.no-lead.data-scientist"]["status"] == "obsolete"


# --------------------------------------------------------------------------- applications


@pytest.mark.parametrize(
    ("application", "key", "priority"),
    [
        ("music-composition", "intellectual-property.check-outputs-for-copies", "high"),
        ("content-creation", "bias-and-fairness.review-generated-content", "high"),
        ("virtual-reality", "technical-complexity.vr-user-safety-testing", "high"),
        ("product-design", "technical-complexity.validate-design-usability", "high"),
        ("healthcare-solutions", "data-privacy.health-data-regulatory-review", "critical"),
    ],
)
def test_each_application_adds_its_own_mitigation(api, application, key, priority):
    project, people = staffed_project(api, application=application)
    plain, _ = staffed_project(api, application="other")

    items = items_by_key(generate(api, project, 201).json)

    assert items[key]["kind"] == "mitigation"
    assert items[key]["priority"] == priority
    assert items[key]["owners"], "staffed owner roles make owners"
    assert set(owner_ids(items[key])) <= {p["id"] for p in people.values()}
    assert any(application.replace("-", " ") in b.lower() for b in items[key]["because"])
    assert key not in items_by_key(generate(api, plain, 201).json)


def test_healthcare_requires_an_ethicist_and_raises_data_privacy(api):
    healthcare = create_project(api, application="healthcare-solutions")
    plain = create_project(api, application="other")
    for project in (healthcare, plain):
        assign(api, project, "data-scientist", create_person(api))
        assign(api, project, "machine-learning-engineer", create_person(api))

    items = items_by_key(generate(api, healthcare, 201).json)
    plain_items = items_by_key(generate(api, plain, 201).json)

    assert items["staffing.unfilled.ai-ethicist"]["priority"] == "high"
    assert "staffing.unfilled.ai-ethicist" not in plain_items
    for key in own_items(CORE_RESPONSIBILITIES["ai-ethicist"]):
        assert items[key]["priority"] == "medium"
    # Healthcare implies personal data: the leakage test gates the release.
    leakage = "data-privacy.test-for-training-data-leakage"
    assert plain_items[leakage]["priority"] == "medium"
    assert items[leakage]["priority"] == "high"
    assert items["data-privacy.privacy-impact-assessment"]["priority"] == "critical"
    assert "explainability.human-review-of-high-stakes-outputs" in items


def test_an_application_implies_traits_and_a_project_may_decline_them(api):
    project = create_project(api, application="healthcare-solutions")
    assign(api, project, "data-scientist", create_person(api))
    pia = "data-privacy.privacy-impact-assessment"

    doc = generate(api, project, 201).json

    # The project ticked nothing; healthcare implies personal data and a regulated domain.
    assert doc["project"]["traits"] == ["handles_personal_data", "regulated_domain"]
    assert doc["project"]["implied_traits"] == ["handles_personal_data", "regulated_domain"]
    item = items_by_key(doc)[pia]
    assert (
        "Project trait handles_personal_data (implied by Healthcare Solutions) "
        "applies this mitigation" in item["because"]
    )
    # Stating a trait makes it the project's own; stating it false declines it.
    api.patch(
        f"/v1/projects/{project['id']}",
        json={"traits": {"handles_personal_data": True, "regulated_domain": False}},
    )
    doc = read_checklist(api, project)
    assert doc["project"]["traits"] == ["handles_personal_data"]
    assert doc["project"]["implied_traits"] == []
    assert (
        "Project trait handles_personal_data applies this mitigation"
        in (items_by_key(doc)[pia]["because"])
    )
    api.patch(f"/v1/projects/{project['id']}", json={"traits": {"handles_personal_data": False}})
    assert items_by_key(read_checklist(api, project))[pia]["status"] == "obsolete"
    # null takes the statement back: the application decides again.
    response = api.patch(
        f"/v1/projects/{project['id']}",
        json={"traits": {"handles_personal_data": None, "regulated_domain": None}},
    )
    assert response.json["traits"]["handles_personal_data"] is None
    assert items_by_key(read_checklist(api, project))[pia]["status"] == "open"


def test_an_item_whose_key_changed_hands_its_state_to_the_new_key(app, api):
    """The catalog moved the music licensing mitigation to `intellectual-property.…`: a
    checklist generated before keeps its work under the new key."""
    project = create_project(api, application="music-composition")
    assign(api, project, "data-scientist", create_person(api))
    # Who may accept the risk of a high or critical item (the waiver policy).
    manager = create_person(api, name="Pam Manager")
    assign(api, project, "product-manager", manager)
    generate(api, project, 201)
    new_key = "intellectual-property.license-training-data"
    old_key = "data-privacy.license-music-training-data"
    waiver = {
        "reason": "Only our own recordings",
        "expires_on": in_days(60),
        "approved_by": manager["id"],
        "residual_risk": "A recording of ours holds a sample we have no licence for",
    }
    assert patch_item(api, project, new_key, {"waiver": waiver}).status_code == 200
    ticket = {"system": "jira", "key": "MUS-4"}
    assert patch_item(api, project, new_key, {"ticket": ticket}).status_code == 200
    with app.app_context():
        # As the previous catalog stored it.
        item = db.session.scalar(select(ChecklistItem).where(ChecklistItem.key == new_key))
        item.key = old_key
        db.session.commit()

    doc = generate(api, project, 200).json

    items = items_by_key(doc)
    assert items[old_key]["status"] == "obsolete"
    carried = items[new_key]
    assert carried["status"] == "waived"
    assert carried["waiver"]["reason"] == "Only our own recordings"
    assert carried["ticket"]["key"] == "MUS-4"
    (event, *_) = generated_events(api, project)
    assert event["payload"]["diff"]["carried_over"] == [{"key": new_key, "replaces": old_key}]
    # The waiver keeps working: its expiry is the checklist's next one.
    with app.app_context():
        checklist = db.session.scalar(select(Checklist))
        assert checklist.next_waiver_expiry.isoformat() == in_days(60)


def test_content_creation_needs_a_content_curator(api):
    project = create_project(api, application="content-creation")
    assign(api, project, "data-scientist", create_person(api))
    assign(api, project, "machine-learning-engineer", create_person(api))

    items = items_by_key(generate(api, project, 201).json)

    assert items["staffing.unfilled.content-curator"]["status"] == "open"
    # The curator's review is the review before publication here: one item, nobody to own it.
    assert "content-curator.review-generated-content" not in items
    assert items["bias-and-fairness.review-generated-content"]["owners"] == []


def test_every_generated_item_can_be_read_by_its_key(api):
    project, _ = staffed_project(api)
    doc = generate(api, project, 201).json

    for item in doc["items"]:
        response = api.get(item_path(project, item["key"]))
        assert response.status_code == 200
        assert response.json["id"] == item["id"]
        assert response.json["status"] == item["status"]


# --------------------------------------------------------------------------- cost


def _statements_to_drop_the_last_of(api, count_queries, size: int) -> int:
    """Staff `size` people over the five key roles (every role held by two or more), generate,
    then take the last person out: only owners change, whatever the size."""
    roles = [
        "data-scientist",
        "machine-learning-engineer",
        "ai-ethicist",
        "ux-designer",
        "content-curator",
    ]
    project = create_project(api, application="other")
    staffing = [
        {
            "role": roles[i % 5],
            "person": {"name": f"Person {i}", "email": f"p{i}-of-{size}@example.com"},
        }
        for i in range(size)
    ]
    path = f"/v1/projects/{project['id']}/assignments"
    assert api.put(path, json={"assignments": staffing}).status_code == 200
    generate(api, project, 201)
    with count_queries() as counter:
        response = api.put(path, json={"assignments": staffing[:-1]})
    assert response.status_code == 200
    assert read_checklist(api, project)["revision"] == 2
    return counter.count


def test_a_staffing_change_regenerates_in_the_same_number_of_statements_at_any_size(
    api, count_queries
):
    small = _statements_to_drop_the_last_of(api, count_queries, 11)
    large = _statements_to_drop_the_last_of(api, count_queries, 61)

    assert small == large
    assert small <= MOVED_BOUND
