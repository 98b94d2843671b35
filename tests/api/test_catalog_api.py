"""The catalog as users read it: the article's roles, challenges and applications, by key."""

from __future__ import annotations

from factories import ROLE_KEYS, assert_problem

from app.http.etags import make_etag

CHALLENGE_KEYS = [
    "data-privacy",
    "bias-and-fairness",
    "technical-complexity",
    "explainability",
    "confabulation",
    "information-security",
    "intellectual-property",
    "value-chain",
    "harmful-content",
]
APPLICATION_KEYS = [
    "content-creation",
    "product-design",
    "music-composition",
    "virtual-reality",
    "healthcare-solutions",
    "other",
]


def test_the_catalog_lists_the_articles_roles_challenges_and_applications(api):
    response = api.get("/v1/catalog")

    assert response.status_code == 200
    catalog = response.json
    assert catalog["version"]
    assert [r["key"] for r in catalog["roles"]] == ROLE_KEYS
    assert [c["key"] for c in catalog["challenges"]] == CHALLENGE_KEYS
    assert [a["key"] for a in catalog["applications"]] == APPLICATION_KEYS
    assert catalog["collaborations"]
    assert all(c["mitigations"] for c in catalog["challenges"])


def test_the_catalog_says_whose_words_each_entry_is_and_what_risks_it_addresses(api):
    catalog = api.get("/v1/catalog").json
    challenges = {c["key"]: c for c in catalog["challenges"]}
    mitigations = {m["key"]: m for c in catalog["challenges"] for m in c["mitigations"]}

    review = mitigations["bias-and-fairness.evaluate-outputs-for-bias"]
    assert review["source"] == {
        "kind": "authored",
        "section": "Bias and Fairness (evaluating what the model generates)",
        "quote": None,
        "elaborates": {
            "section": "Key Roles in Generative AI / 3. AI Ethicist",
            "quote": "Analyzing AI outputs for bias or harmful content.",
        },
    }
    assert review["genai_risks"] == [
        "Harmful Bias and Homogenization",
        "Dangerous, Violent, or Hateful Content",
    ]
    assert challenges["data-privacy"]["source"]["kind"] == "article"
    assert challenges["confabulation"]["source"]["kind"] == "authored"
    licensing = mitigations["intellectual-property.license-training-data"]
    assert licensing["replaces"] == ["data-privacy.license-music-training-data"]
    health = next(a for a in catalog["applications"] if a["key"] == "healthcare-solutions")
    assert health["implies_traits"] == ["handles_personal_data", "regulated_domain"]
    assert health["source"]["elaborates"]["quote"] == "Healthcare Solutions"
    scientist = catalog["roles"][0]
    # The article names skills only for a career as a whole: every role's skills are ours.
    assert scientist["article_skills"] == [] and scientist["skills"]


def test_each_of_the_five_key_roles_has_three_responsibilities_from_the_article(api):
    roles = {r["key"]: r for r in api.get("/v1/catalog").json["roles"]}

    for key in ROLE_KEYS[:5]:
        responsibilities = roles[key]["responsibilities"]
        assert len(responsibilities) == 3, key
        assert all(r["key"].startswith(f"{key}.") for r in responsibilities)
        assert roles[key]["source"]["kind"] == "article"


def test_a_curl_user_reads_one_role_by_its_key(api):
    response = api.get("/v1/catalog/roles/ai-ethicist")

    assert response.status_code == 200
    role = response.json
    assert role["key"] == "ai-ethicist"
    assert role["title"] == "AI Ethicist"
    assert set(role) >= {"summary", "required", "required_when", "skills", "responsibilities"}
    assert role["skills"]


def test_a_role_that_is_not_in_the_catalog_is_not_found(api):
    body = assert_problem(api.get("/v1/catalog/roles/astrologer"), 404)

    assert "astrologer" in body["detail"]


def test_the_catalog_is_the_same_for_every_team(api, other_api):
    assert api.get("/v1/catalog").json == other_api.get("/v1/catalog").json


def test_the_catalog_is_read_only(api):
    response = api.post("/v1/catalog", json={"roles": []})

    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_a_client_holding_the_catalog_gets_304_until_its_version_changes(api):
    first = api.get("/v1/catalog")
    etag = first.headers["ETag"]

    again = api.get("/v1/catalog", headers={"If-None-Match": etag})
    role = api.get("/v1/catalog/roles/ai-ethicist", headers={"If-None-Match": etag})

    # The one ETag mechanism: a digest of what the answer depends on, the catalog's version.
    assert etag.strip('"') == make_etag("catalog", first.json["version"])
    assert again.status_code == 304 and again.data == b""
    assert role.status_code == 304


def test_the_catalog_is_dumped_once_per_version(api, monkeypatch):
    from app.api import catalog as catalog_api

    dumps = []
    real_dump = catalog_api.CatalogOut.dump

    def counting_dump(self, obj, **kwargs):
        dumps.append(obj.version)
        return real_dump(self, obj, **kwargs)

    monkeypatch.setattr(catalog_api.CatalogOut, "dump", counting_dump)
    catalog_api._encoded.clear()

    answers = [api.get("/v1/catalog") for _ in range(3)]

    assert len(dumps) == 1
    assert all(a.status_code == 200 for a in answers)
    assert answers[0].get_data() == answers[2].get_data()
    assert answers[0].json["version"] == dumps[0]
