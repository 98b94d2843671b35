"""Domain packs through the API: a checklist holds a pack's items exactly when the pack's
condition holds (the code assistant that reads repositories on a hosted model gets the code
pack, a melody generator does not, a project that advertises gets the claims review), and
`GET /v1/catalog` lists the packs and, per trait, the packs it brings."""

from __future__ import annotations

from typing import Any

import pytest

PATH = "/v1/checklists/preview"
SCAN = "information-security.scan-generated-code"
LICENSED = "intellectual-property.detect-licensed-code-in-suggestions"
SECRETS = "information-security.keep-secrets-out-of-model-context"
PACKAGES = "information-security.verify-suggested-dependencies"
CLAIMS = "confabulation.substantiate-product-claims"
TRADEMARKS = "intellectual-property.clear-generated-names-and-logos"
OMISSIONS = "confabulation.check-summaries-for-omissions"
DEVICE = "technical-complexity.classify-as-medical-device"
PATIENTS = "data-privacy.inform-patients-and-record-consent"
CONSENT = "data-privacy.consent-for-voice-and-likeness"
PROVENANCE = "explainability.embed-provenance-in-generated-media"


def _person(role: str, name: str, **extra: Any) -> dict[str, Any]:
    email = f"{name.split()[0].lower()}@example.com"
    return {"role": role, "person": {"name": name, "email": email}, **extra}


# An internal code assistant that reads the company's repositories, on a hosted model: nobody
# outside the team uses it, yet it reads content nobody wrote for it.
CODE_ASSISTANT: dict[str, Any] = {
    "project": {
        "name": "Internal code assistant",
        "application": "other",
        "traits": {
            "generates_code": True,
            "reads_untrusted_content": True,
            "model_source": "hosted-third-party",
        },
    },
    "assignments": [
        _person("data-scientist", "Dana Scott", lead=True),
        _person("machine-learning-engineer", "Milo Chen"),
        _person("security-lead", "Sam Ortiz"),
    ],
}
MUSIC: dict[str, Any] = {
    "project": {"name": "Game soundtrack generator", "application": "music-composition"},
    "assignments": [_person("data-scientist", "Dana Scott", lead=True)],
}


def _preview(api, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    response = api.post(PATH, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["key"]: item for item in response.json["items"]}


def _project(application: str = "other", **traits: Any) -> dict[str, Any]:
    return {
        "project": {"name": "Pack probe", "application": application, "traits": traits},
        "assignments": [_person("data-scientist", "Dana Scott", lead=True)],
    }


def test_the_catalog_lists_the_four_packs_and_each_trait_the_packs_it_brings(api):
    catalog = api.get("/v1/catalog").json
    packs = {pack["key"]: pack for pack in catalog["packs"]}

    assert list(packs) == ["clinical", "code", "synthetic-media", "advertising"]
    assert packs["code"]["applies_when"] == {
        "traits_any": ["generates_code"],
        "applications_any": [],
    }
    assert packs["code"]["items"] == [SCAN, LICENSED, SECRETS, PACKAGES]
    assert packs["clinical"]["applies_when"]["applications_any"] == ["healthcare-solutions"]
    assert packs["clinical"]["items"] == [
        OMISSIONS,
        # The clinician's review is the human review of high-stakes outputs, not a second item.
        "explainability.human-review-of-high-stakes-outputs",
        DEVICE,
        PATIENTS,
    ]
    assert packs["synthetic-media"]["items"] == [
        CONSENT,
        "explainability.label-generated-content",
        PROVENANCE,
    ]
    assert packs["advertising"]["items"] == [CLAIMS, TRADEMARKS]
    for pack in packs.values():
        assert pack["source"]["kind"] == "authored" and pack["source"]["quote"] is None
    brings = {trait["key"]: trait["brings"] for trait in catalog["traits"]}
    assert brings["generates_code"]["packs"] == ["code"]
    assert brings["synthetic_media"]["packs"] == ["synthetic-media"]
    assert brings["advertises"]["packs"] == ["advertising"]
    assert brings["advertises"]["applies"] == [CLAIMS, TRADEMARKS]
    assert {"Confabulation", "Information Integrity"} <= set(brings["advertises"]["risks"])
    assert brings["user_facing"]["packs"] == []


@pytest.mark.parametrize(
    ("body", "holding"),
    [
        (CODE_ASSISTANT, {"code"}),
        (MUSIC, set()),
        (_project("healthcare-solutions"), {"clinical"}),
        # A clinic that says it is not a regulated domain is still a clinic.
        (_project("healthcare-solutions", regulated_domain=False), {"clinical"}),
        (_project(generates_code=True, model_source="trained-in-house"), {"code"}),
        (_project("content-creation", synthetic_media=True), {"synthetic-media"}),
        (
            _project("content-creation", advertises=True, generates_public_content=True),
            {"advertising"},
        ),
        (_project("content-creation", generates_public_content=True, user_facing=True), set()),
        (
            _project(advertises=True, generates_code=True, synthetic_media=True),
            {"advertising", "code", "synthetic-media"},
        ),
    ],
)
def test_a_checklist_holds_a_pack_exactly_when_its_condition_holds(api, body, holding):
    catalog = api.get("/v1/catalog").json
    conditions = {
        m["key"]: m["applies_when"] for c in catalog["challenges"] for m in c["mitigations"]
    }
    packs = {pack["key"]: pack for pack in catalog["packs"]}
    keys = set(_preview(api, body))

    held = {key for key, pack in packs.items() if set(pack["items"]) <= keys}
    assert held == holding
    # A pack not held brings none of the items that apply under its condition alone (those
    # it names that other conditions also apply, such as labelling generated content, may be
    # there by those).
    for key, pack in packs.items():
        alone = {k for k in pack["items"] if conditions[k] == pack["applies_when"]}
        assert len(alone) >= 2, key
        if key not in holding:
            assert not keys & alone, key


def test_the_code_assistant_that_reads_repositories_gets_the_code_pack_routed_to_security(api):
    items = _preview(api, CODE_ASSISTANT)

    for key in (SCAN, LICENSED, SECRETS, PACKAGES):
        assert items[key]["priority"] == "high", key
        assert items[key]["evidence_required"], key
    # Its code goes to a hosted model: keeping secrets and excluded code out is raised to high.
    assert any("uses_third_party_models" in reason for reason in items[SECRETS]["because"])
    # Security tests are signed off by the security lead, whom reading repositories requires.
    for key in (SCAN, PACKAGES):
        assert items[key]["signoff_required"]
        assert [r["name"] for r in items[key]["reviewers"]] == ["Sam Ortiz"]
    assert items["information-security.prompt-injection-testing"]["priority"] == "high"
    assert not {OMISSIONS, DEVICE, PATIENTS, CONSENT, PROVENANCE, CLAIMS, TRADEMARKS} & set(items)


def test_secrets_sent_nowhere_else_stay_medium(api):
    items = _preview(api, _project(generates_code=True, model_source="trained-in-house"))

    assert items[SECRETS]["priority"] == "medium"


def test_a_melody_generator_gets_no_pack(api):
    items = _preview(api, MUSIC)

    assert not {SCAN, LICENSED, SECRETS, PACKAGES, CLAIMS, TRADEMARKS, CONSENT} & set(items)
    assert not {OMISSIONS, DEVICE, PATIENTS, PROVENANCE} & set(items)


def test_a_project_that_advertises_gets_claims_review_and_trademarks(api):
    body = _project("content-creation", advertises=True, generates_public_content=True)
    items = _preview(api, body)

    assert items[CLAIMS]["priority"] == "high" and items[CLAIMS]["signoff_required"]
    assert items[TRADEMARKS]["priority"] == "high" and items[TRADEMARKS]["evidence_required"]
    assert any("advertises" in reason for reason in items[CLAIMS]["because"])
    response = api.post(PATH, json=body)
    register = {entry["risk"]: entry for entry in response.json["risk_register"]}
    assert CLAIMS in register["Confabulation"]["items"]
    assert TRADEMARKS in register["Intellectual Property"]["items"]
    # The same marketing tool that does not advertise: no claims review.
    items = _preview(api, _project("content-creation", generates_public_content=True))
    assert CLAIMS not in items and TRADEMARKS not in items


def test_a_project_states_advertises_and_its_checklist_follows(api):
    created = api.post(
        "/v1/projects",
        json={"name": "Campaign writer", "application": "content-creation"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    project = created.json
    assert project["traits"]["advertises"] is None
    generated = api.post(f"/v1/projects/{project['id']}/checklist")
    assert generated.status_code == 201
    assert CLAIMS not in {i["key"] for i in generated.json["items"]}

    changed = api.patch(f"/v1/projects/{project['id']}", json={"traits": {"advertises": True}})

    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.json["traits"]["advertises"] is True
    doc = api.get(f"/v1/projects/{project['id']}/checklist").json
    assert {CLAIMS, TRADEMARKS} <= {i["key"] for i in doc["items"] if i["status"] != "obsolete"}


def test_a_clinic_gets_the_clinical_pack_signed_by_the_fields_roles(api):
    body = _project("healthcare-solutions")
    body["assignments"] += [
        _person("domain-expert", "Cleo Park"),
        _person("privacy-officer", "Priya Shah"),
        _person("accountable-executive", "Erin Walsh"),
        _person("product-manager", "Pam Lee"),
    ]
    items = _preview(api, body)

    assert items[OMISSIONS]["priority"] == "critical"
    assert [r["name"] for r in items[OMISSIONS]["reviewers"]] == ["Cleo Park"]
    assert items[DEVICE]["priority"] == "critical"
    assert [r["name"] for r in items[DEVICE]["reviewers"]] == ["Erin Walsh"]
    assert items[PATIENTS]["priority"] == "high"
    assert [r["name"] for r in items[PATIENTS]["reviewers"]] == ["Priya Shah"]
    human_review = items["explainability.human-review-of-high-stakes-outputs"]
    assert human_review["priority"] == "critical"
    assert [r["name"] for r in human_review["reviewers"]] == ["Cleo Park"]
