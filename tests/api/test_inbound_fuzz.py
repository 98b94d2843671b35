"""Nothing a sender controls causes a 500: bodies of every shape, correctly signed (so that they
get past the signature, where parsing starts), and the headers the providers send, generated."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ticketing_support import (
    create_integration,
    generic_headers,
    github_headers,
    github_issue,
    hex_hmac,
    jira_issue_updated,
    linear_issue_update,
    post_delivery,
    project_with_checklist,
)

# The names the parsers look for, so that generated bodies reach deep into them.
NAMES = [
    "action",
    "issue",
    "number",
    "repository",
    "full_name",
    "state_reason",
    "html_url",
    "body",
    "sender",
    "login",
    "webhookEvent",
    "changelog",
    "items",
    "field",
    "fieldId",
    "fields",
    "status",
    "statusCategory",
    "key",
    "name",
    "self",
    "description",
    "data",
    "identifier",
    "state",
    "type",
    "updatedFrom",
    "stateId",
    "url",
    "webhookTimestamp",
    "ticket",
    "system",
    "content",
    "text",
]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "closed",
            "reopened",
            "deleted",
            "transferred",
            "completed",
            "not_planned",
            "acme/app",
            "CLIN-12",
            "ENG-42",
            "done",
            "canceled",
            "Issue",
            "update",
            "remove",
            "jira:issue_updated",
            "jira:issue_deleted",
            "github",
            "jira",
            "linear",
            "other",
            "http://[::1",
            "https://acme.atlassian.net/rest/api/2/1",
            "checklist-item: p/k",
            "\x00",
            "\ud800",
            "x" * 300,
        ]
    ),
    st.text(max_size=30),
)
JSON = st.recursive(
    VALUES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=8), children, max_size=6),
    ),
    max_leaves=30,
)


def _mutations(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A realistic payload with one part replaced by anything."""

    @st.composite
    def mutate(draw: Any) -> Any:
        payload = json.loads(json.dumps(base))
        node = payload
        for _ in range(draw(st.integers(0, 3))):
            if not isinstance(node, dict) or not node:
                break
            key = draw(st.sampled_from(sorted(node)))
            if isinstance(node[key], dict) and draw(st.booleans()):
                node = node[key]
                continue
            node[key] = draw(JSON)
            break
        return payload

    return mutate()


PAYLOADS = {
    "github": st.one_of(
        JSON, _mutations(github_issue("closed")), _mutations(github_issue("reopened"))
    ),
    "jira": st.one_of(
        JSON, _mutations(jira_issue_updated("CLIN-12", category="done", status="Done"))
    ),
    "linear": st.one_of(
        JSON, _mutations(linear_issue_update("ENG-42", state_type="completed", state_name="Done"))
    ),
    "generic": st.one_of(
        JSON, _mutations({"ticket": {"system": "jira", "key": "CLIN-12", "status": "done"}})
    ),
}


def _headers(provider: str, secret: str, body: bytes, event: str) -> dict[str, str]:
    if provider == "github":
        return github_headers(secret, body, event=event)
    if provider == "jira":
        return {
            "Content-Type": "application/json",
            "X-Hub-Signature": "sha256=" + hex_hmac(secret, body),
        }
    if provider == "linear":
        return {"Content-Type": "application/json", "Linear-Signature": hex_hmac(secret, body)}
    return generic_headers(secret, body)


@pytest.mark.parametrize("provider", ["github", "jira", "linear", "generic"])
def test_no_signed_body_breaks_the_service(api, client, provider):
    project_with_checklist(api, name="Fuzzed", slug="p")
    integration = create_integration(api, provider)

    @given(
        payload=PAYLOADS[provider],
        event=st.sampled_from(["issues", "ping", "push", "", "é"]),
        cut=st.integers(0, 4),
    )
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def deliver(payload: Any, event: str, cut: int) -> None:
        if provider == "linear" and isinstance(payload, dict) and "webhookTimestamp" in payload:
            payload["webhookTimestamp"] = int(time.time() * 1000)
        body = json.dumps(payload).encode()
        if cut == 0:  # now and then, not JSON after all
            body = body[: len(body) // 2]
        headers = _headers(provider, integration["secret"], body, event)
        response = post_delivery(client, integration, body, headers)
        assert response.status_code in (200, 202, 400, 401), response.get_data(as_text=True)
        assert response.is_json

    deliver()
