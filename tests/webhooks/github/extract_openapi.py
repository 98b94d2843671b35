"""Take the issues operations the stand-in GitHub serves out of GitHub's official REST
description, into `issues.openapi.json` beside this file.

The description is the npm package `@octokit/openapi` (GitHub's own, published from
github/rest-api-description). To extract it again, or from a newer release:

    npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
    .venv/bin/python tests/webhooks/github/extract_openapi.py \\
        package/generated/api.github.com.deref.json

The dereferenced variant is used, so every schema is whole (no `$ref`); descriptions and
examples are dropped to keep the file small: what validates is kept as published.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "issues.openapi.json"

# (path, method): the calls native tickets make.
OPERATIONS = [
    ("/repos/{owner}/{repo}/issues", "post"),
    ("/repos/{owner}/{repo}/issues", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}", "patch"),
    ("/repos/{owner}/{repo}/issues/{issue_number}", "get"),
]
_DROPPED = {"description", "example", "examples", "summary", "externalDocs", "x-github"}


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in _DROPPED}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def extract(description: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, method in OPERATIONS:
        operation = description["paths"][path][method]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        responses = {}
        for status, response in operation["responses"].items():
            content = (response.get("content") or {}).get("application/json")
            if status.startswith("2") and content:
                responses[status] = _strip(content["schema"])
        paths.setdefault(path, {})[method] = {
            "operationId": operation["operationId"],
            "parameters": _strip(operation.get("parameters", [])),
            "requestBody": _strip(body["schema"]) if body else None,
            "responses": responses,
        }
    return {
        "source": "npm @octokit/openapi, generated/api.github.com.deref.json",
        "openapi": description["openapi"],
        "version": description["info"]["version"],
        "paths": paths,
    }


def main(argv: list[str]) -> None:
    description = json.loads(Path(argv[1]).read_text())
    extracted = extract(description)
    OUTPUT.write_text(json.dumps(extracted, indent=1, sort_keys=True) + "\n")
    print(f"{OUTPUT}: {len(OPERATIONS)} operations of @octokit/openapi {extracted['version']}")


if __name__ == "__main__":
    main(sys.argv)
