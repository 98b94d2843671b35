"""The traits a project states, defined in the catalog: `GET /v1/catalog` says what each means
and brings; a project states the new ones, its model source among them, and the checklist
follows (work that assumes training only for a model the project trains)."""

from __future__ import annotations

import pytest
from checklist_support import generate, read_checklist
from factories import assert_problem, create_project, events_of

TRAIT_KEYS = [
    "handles_personal_data",
    "user_facing",
    "generates_public_content",
    "regulated_domain",
    "uses_third_party_models",
    "generates_code",
    "reads_untrusted_content",
    "states_facts",
    "affects_decisions_about_people",
    "synthetic_media",
    "minors_may_use",
    "general_purpose_assistant",
    "advertises",
    "model_source",
]
TRAINING = {
    "machine-learning-engineer.train-models",
    "bias-and-fairness.audit-dataset-representativeness",
    "intellectual-property.license-training-data",
    "data-privacy.test-for-training-data-leakage",
}


def test_the_catalog_defines_every_trait_and_what_it_brings(api):
    traits = {t["key"]: t for t in api.get("/v1/catalog").json["traits"]}

    assert list(traits) == TRAIT_KEYS
    untrusted = traits["reads_untrusted_content"]
    assert untrusted["title"] == "Reads untrusted content"
    assert "indirect prompt injection" in untrusted["definition"]
    assert untrusted["source"]["kind"] == "authored"
    assert untrusted["values"] == []
    assert "information-security.prompt-injection-testing" in untrusted["brings"]["applies"]
    assert traits["handles_personal_data"]["brings"]["implied_by"] == ["healthcare-solutions"]
    assert "ai-ethicist" in traits["handles_personal_data"]["brings"]["requires_roles"]
    assert {"key": "information-security.limit-model-access", "priority": "high"} in traits[
        "generates_code"
    ]["brings"]["raises"]
    source = traits["model_source"]
    assert source["brings"] is None
    values = {v["key"]: v for v in source["values"]}
    assert list(values) == ["hosted-third-party", "fine-tuned", "trained-in-house"]
    assert values["hosted-third-party"]["implies_traits"] == ["uses_third_party_models"]
    assert values["hosted-third-party"]["applies"] == []
    assert set(values["fine-tuned"]["applies"]) >= TRAINING
    assert values["trained-in-house"]["implies_traits"] == []


def test_a_project_states_the_new_traits_and_reads_them_back(api):
    stated = {
        "generates_code": True,
        "reads_untrusted_content": True,
        "states_facts": False,
        "model_source": "hosted-third-party",
    }
    project = create_project(api, application="other", traits=stated)

    assert {k: project["traits"][k] for k in stated} == stated
    assert project["traits"]["uses_third_party_models"] is None  # not stated: it follows
    (created,) = events_of(api, f"/v1/projects/{project['id']}/events", type="project.created")
    assert created["payload"]["project"]["traits"]["model_source"] == "hosted-third-party"
    generate(api, project, 201)
    checklist = read_checklist(api, project)
    assert checklist["project"]["model_source"] == "hosted-third-party"
    assert checklist["project"]["implied_traits"] == ["uses_third_party_models"]
    assert {"generates_code", "reads_untrusted_content", "uses_third_party_models"} <= set(
        checklist["project"]["traits"]
    )
    keys = {i["key"] for i in checklist["items"]}
    assert not TRAINING & keys
    assert "information-security.prompt-injection-testing" in keys


def test_a_model_source_change_brings_or_drops_the_training_work(api):
    project = create_project(api, application="other", traits={"model_source": "fine-tuned"})
    generate(api, project, 201)
    path = f"/v1/projects/{project['id']}"
    train = "machine-learning-engineer.train-models"
    done = api.patch(f"{path}/checklist/items/{train}", json={"status": "in_progress"})
    assert done.status_code == 200, done.json

    hosted = api.patch(path, json={"traits": {"model_source": "hosted-third-party"}})

    assert hosted.status_code == 200, hosted.json
    items = {i["key"]: i for i in read_checklist(api, project)["items"]}
    assert {items[k]["status"] for k in TRAINING} == {"obsolete"}
    back = api.patch(path, json={"traits": {"model_source": "trained-in-house"}})
    assert back.status_code == 200, back.json
    items = {i["key"]: i for i in read_checklist(api, project)["items"]}
    # Back on the checklist, with the state it had.
    assert items[train]["status"] == "in_progress"
    assert "Model source trained-in-house: the project trains its model" in items[train]["because"]


@pytest.mark.parametrize(
    ("fmt", "line"),
    [
        ("markdown", "- **Model source:** fine-tuned"),
        ("text", "Model source: fine-tuned"),
        ("html", "Model source"),
    ],
)
def test_every_format_says_where_the_model_comes_from(api, fmt, line):
    project = create_project(api, traits={"model_source": "fine-tuned"})
    generate(api, project, 201)

    shown = api.get(f"/v1/projects/{project['id']}/checklist?format={fmt}").get_data(as_text=True)

    assert line in " ".join(shown.split())  # the text format wraps its lines
    unstated = create_project(api)
    generate(api, unstated, 201)
    markdown = api.get(f"/v1/projects/{unstated['id']}/checklist?format=markdown").text
    assert "- **Model source:** not stated" in markdown


def test_the_preview_takes_the_new_traits(api):
    response = api.post(
        "/v1/checklists/preview",
        json={
            "project": {
                "name": "Code assistant",
                "application": "other",
                "traits": {"reads_untrusted_content": True, "model_source": "hosted-third-party"},
            }
        },
    )

    assert response.status_code == 200, response.json
    assert response.json["project"]["model_source"] == "hosted-third-party"
    keys = {i["key"] for i in response.json["items"]}
    assert "information-security.prompt-injection-testing" in keys
    assert not TRAINING & keys


@pytest.mark.parametrize(
    ("traits", "error"),
    [
        ({"model_source": "open-weights"}, "traits.model_source"),
        ({"model_source": 3}, "traits.model_source"),
        ({"states_facts": "yes"}, "traits.states_facts"),
        ({"minors_may_use": 1}, "traits.minors_may_use"),
        (
            {"model_source": "trained-in-house", "uses_third_party_models": True},
            "traits.uses_third_party_models",
        ),
        (
            {"model_source": "hosted-third-party", "uses_third_party_models": False},
            "traits.uses_third_party_models",
        ),
    ],
)
def test_bad_traits_are_refused_naming_the_field_and_change_nothing(api, traits, error):
    project = create_project(api, application="other")

    created = api.post(
        "/v1/projects", json={"name": "Bad", "application": "other", "traits": traits}
    )
    updated = api.patch(f"/v1/projects/{project['id']}", json={"traits": traits})
    previewed = api.post(
        "/v1/checklists/preview", json={"project": {"application": "other", "traits": traits}}
    )

    assert error in assert_problem(created, 422)["errors"]
    assert error in assert_problem(updated, 422)["errors"]
    assert f"project.{error}" in assert_problem(previewed, 422)["errors"]
    assert api.get(f"/v1/projects/{project['id']}").json["traits"] == project["traits"]


def test_a_change_that_would_contradict_the_stored_model_source_is_refused(api):
    project = create_project(
        api, application="other", traits={"model_source": "hosted-third-party"}
    )

    refused = api.patch(
        f"/v1/projects/{project['id']}", json={"traits": {"uses_third_party_models": False}}
    )

    problem = assert_problem(refused, 422)
    assert "traits.uses_third_party_models" in problem["errors"]
    assert "hosted-third-party" in problem["detail"]
    assert api.get(f"/v1/projects/{project['id']}").json["traits"] == project["traits"]
    both = api.patch(
        f"/v1/projects/{project['id']}",
        json={"traits": {"uses_third_party_models": False, "model_source": "trained-in-house"}},
    )
    assert both.status_code == 200, both.json
