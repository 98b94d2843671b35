"""`/openapi.json` is a valid OpenAPI 3 description that says what the server enforces."""

from __future__ import annotations

from openapi_spec_validator import validate

from seed.loader import load_catalog


def test_the_description_validates(client):
    validate(client.get("/openapi.json").json)


def test_catalog_keys_are_enums_of_the_seeded_catalog(client):
    schemas = client.get("/openapi.json").json["components"]["schemas"]
    catalog = load_catalog()

    assert schemas["ProjectCreate"]["properties"]["application"]["enum"] == [
        a.key for a in catalog.applications
    ]
    for shape in schemas["AssignmentCreate"]["oneOf"]:  # with person_id, with an inline person
        assert shape["properties"]["role"]["enum"] == [r.key for r in catalog.roles]


def test_the_probes_answer_documented_bodies(client):
    spec = client.get("/openapi.json").json
    for path, schema in (("/healthz", "HealthOut"), ("/readyz", "ReadyOut")):
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert content["application/json"]["schema"]["$ref"].endswith(schema)
        documented = spec["components"]["schemas"][schema]["properties"]
        assert set(client.get(path).json) <= set(documented)


def test_header_limits_are_the_enforced_ones(client, api):
    parameters = {
        p["name"]: p["schema"]
        for p in client.get("/openapi.json").json["paths"]["/v1/people"]["post"]["parameters"]
    }
    # A request id the server does not keep is replaced, not refused: no limit to document.
    assert parameters["X-Request-ID"] == {"type": "string", "example": "req-2f6c1a"}
    long_id = "r" * 129
    answer = api.get("/v1/people", headers={"X-Request-ID": long_id})
    assert answer.status_code == 200 and answer.headers["X-Request-ID"] != long_id
    # The idempotency key is refused past 255 characters, as documented.
    assert parameters["Idempotency-Key"]["maxLength"] == 255
    person = {"name": "Ada", "email": "ada@example.com"}
    assert api.post("/v1/people", person, headers={"Idempotency-Key": "k" * 256}).status_code == 422
    assert api.post("/v1/people", person, headers={"Idempotency-Key": "k" * 255}).status_code == 201
