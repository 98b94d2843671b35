"""A body the description says is required is required: every such operation refuses a request
without one (a PATCH included, which would otherwise change nothing and answer 200)."""

from __future__ import annotations

import re

from factories import assert_problem, create_person


def _required_bodies(spec: dict) -> list[tuple[str, str]]:
    """(method, path) of the API-key operations whose request body is documented required."""
    return sorted(
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        and operation.get("requestBody", {}).get("required")
        and operation.get("security") != []  # the inbound URL: the signature comes first
    )


def test_every_operation_whose_body_is_required_refuses_a_request_without_one(api, client):
    operations = _required_bodies(client.get("/openapi.json").json)
    assert ("PATCH", "/v1/people/{person_id}") in operations
    assert ("PATCH", "/v1/projects/{project_ref}/checklist/items/{item_ref}") in operations

    for method, path in operations:
        # The body is checked before the path's resources are looked up.
        url = re.sub(r"\{[^}]+\}", "nothing", path)
        problem = assert_problem(api.request(method, url), 422)
        assert problem["errors"] == {"_body": ["A JSON body is required."]}, (method, path)


def test_a_patch_without_a_body_changes_nothing_and_an_empty_object_is_a_valid_one(api):
    person = create_person(api, name="Ada")
    url = f"/v1/people/{person['id']}"

    assert_problem(api.patch(url), 422)
    assert api.get(url).json == person
    assert api.patch(url, json={}).status_code == 200


def test_each_body_documents_as_required_the_fields_the_server_requires(api, client):
    spec = client.get("/openapi.json").json
    components = spec["components"]["schemas"]
    checked = set()

    for method, path in _required_bodies(spec):
        content = spec["paths"][path][method.lower()]["requestBody"]["content"]
        schema = content["application/json"]["schema"]
        while "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[-1]]
        if "oneOf" in schema:  # what a shape requires depends on its other fields
            continue
        # Fields are checked before the path's resources are looked up.
        response = api.request(method, re.sub(r"\{[^}]+\}", "nothing", path), json={})
        errors = response.json.get("errors", {}) if response.status_code == 422 else {}
        missing = {
            f for f, messages in errors.items() if "Missing data for required field." in messages
        }

        assert missing == set(schema.get("required", [])), (method, path)
        checked.add((method, path))
    known = {("POST", "/v1/webhooks"), ("POST", "/v1/people"), ("PATCH", "/v1/people/{person_id}")}
    assert known <= checked
