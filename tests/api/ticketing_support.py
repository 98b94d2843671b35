"""Deliveries as GitHub, Jira, Linear and a Standard Webhooks sender make them: payloads in the
providers' documented shapes (trimmed of fields nobody reads), signed each provider's way."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from factories import create_project
from standardwebhooks import Webhook

# --------------------------------------------------------------------------- GitHub


def github_issue(
    action: str,
    *,
    repo: str = "acme/app",
    number: int = 12,
    state_reason: str | None = "completed",
    legacy: bool = False,
    body: str | None = "Steps are in the checklist.",
    sender: str = "octocat",
) -> dict[str, Any]:
    """An `issues` event. `legacy`: a payload from before GitHub added `state_reason`."""
    owner, name = repo.split("/")
    state = "closed" if action == "closed" else "open"
    issue: dict[str, Any] = {
        "url": f"https://api.github.com/repos/{repo}/issues/{number}",
        "repository_url": f"https://api.github.com/repos/{repo}",
        "html_url": f"https://github.com/{repo}/issues/{number}",
        "id": 1800000000 + number,
        "node_id": "I_kwDOJ0Xb3c5wQ1aZ",
        "number": number,
        "title": "Collect and preprocess data",
        "user": {"login": "ada-l", "id": 583231, "type": "User", "site_admin": False},
        "labels": [{"id": 1, "name": "checklist", "color": "0e8a16", "default": False}],
        "state": state,
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": 2,
        "created_at": "2026-03-01T16:02:11Z",
        "updated_at": "2026-03-02T09:15:27Z",
        "closed_at": "2026-03-02T09:15:27Z" if state == "closed" else None,
        "author_association": "MEMBER",
        "active_lock_reason": None,
        "body": body,
        "reactions": {"url": "…", "total_count": 0, "+1": 0, "-1": 0},
        "timeline_url": f"https://api.github.com/repos/{repo}/issues/{number}/timeline",
        "performed_via_github_app": None,
    }
    if not legacy:
        issue["state_reason"] = state_reason if action == "closed" else "reopened"
    payload: dict[str, Any] = {
        "action": action,
        "issue": issue,
        "repository": {
            "id": 612345678,
            "node_id": "R_kgDOJ0Xb3c",
            "name": name,
            "full_name": repo,
            "private": True,
            "owner": {"login": owner, "id": 9919, "type": "Organization"},
            "html_url": f"https://github.com/{repo}",
            "default_branch": "main",
        },
        "organization": {"login": owner, "id": 9919},
        "sender": {"login": sender, "id": 583231, "type": "User", "site_admin": False},
    }
    if action == "transferred":
        payload["changes"] = {
            "new_issue": {"number": 3, "html_url": "https://github.com/acme/other/issues/3"},
            "new_repository": {"full_name": "acme/other"},
        }
    return payload


def github_ping() -> dict[str, Any]:
    return {
        "zen": "Keep it logically awesome.",
        "hook_id": 470215581,
        "hook": {"type": "Repository", "id": 470215581, "events": ["issues"], "active": True},
        "repository": {"full_name": "acme/app"},
        "sender": {"login": "octocat"},
    }


def github_headers(
    secret: str, body: bytes, event: str = "issues", delivery: str | None = None
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/3b4a1c2",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "470215581",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "X-GitHub-Hook-Installation-Target-ID": "612345678",
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256=" + hex_hmac(secret, body),
    }


# --------------------------------------------------------------------------- Jira


def jira_issue_updated(
    key: str,
    *,
    category: str,
    status: str,
    from_status: str = "To Do",
    status_changed: bool = True,
    description: Any = "See the checklist.",
    site: str = "https://acme.atlassian.net",
) -> dict[str, Any]:
    """`jira:issue_updated` from Jira Cloud; the status category is what we map, `status`
    is the workflow's own (renamable) name."""
    categories = {"new": (2, "To Do", "blue-gray"), "indeterminate": (4, "In Progress", "yellow")}
    categories["done"] = (3, "Done", "green")
    cat_id, cat_name, color = categories.get(category, (9, category, "medium-gray"))
    items = [
        {
            "field": "status",
            "fieldtype": "jira",
            "fieldId": "status",
            "from": "10000",
            "fromString": from_status,
            "to": "10001",
            "toString": status,
        }
    ]
    if not status_changed:
        items = [
            {
                "field": "summary",
                "fieldtype": "jira",
                "fieldId": "summary",
                "from": None,
                "fromString": "Old title",
                "to": None,
                "toString": "New title",
            }
        ]
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {
            "self": f"{site}/rest/api/2/user?accountId=5b10a2844c20165700ede21g",
            "accountId": "5b10a2844c20165700ede21g",
            "displayName": "Ada Lovelace",
            "active": True,
            "timeZone": "Europe/London",
            "accountType": "atlassian",
        },
        "issue": {
            "id": "10042",
            "self": f"{site}/rest/api/2/10042",
            "key": key,
            "fields": {
                "summary": "Collect and preprocess data",
                "description": description,
                "issuetype": {"id": "10002", "name": "Task", "subtask": False},
                "project": {"id": "10000", "key": key.split("-")[0], "name": "Clinic"},
                "priority": {"id": "2", "name": "High"},
                "resolution": {"id": "10000", "name": "Done"} if category == "done" else None,
                "status": {
                    "self": f"{site}/rest/api/2/status/10001",
                    "description": "",
                    "iconUrl": f"{site}/images/icons/statuses/generic.png",
                    "name": status,
                    "id": "10001",
                    "statusCategory": {
                        "self": f"{site}/rest/api/2/statuscategory/{cat_id}",
                        "id": cat_id,
                        "key": category,
                        "colorName": color,
                        "name": cat_name,
                    },
                },
                "labels": [],
                "updated": "2026-03-02T09:15:27.513+0000",
            },
        },
        "changelog": {"id": "10300", "items": items},
    }


def jira_headers(secret: str, body: bytes, identifier: str | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=UTF-8",
        "User-Agent": "Atlassian Webhook HTTP Client",
        "X-Atlassian-Webhook-Identifier": identifier or str(uuid.uuid4()),
        "X-Atlassian-Webhook-Flow": "Primary",
        "X-Hub-Signature": "sha256=" + hex_hmac(secret, body),
    }


# --------------------------------------------------------------------------- Linear


def linear_issue_update(
    identifier: str,
    *,
    state_type: str,
    state_name: str,
    state_changed: bool = True,
    description: str | None = "From the checklist.",
    timestamp_ms: int | None = None,
    action: str = "update",
) -> dict[str, Any]:
    team_key, number = identifier.split("-")
    url = f"https://linear.app/acme/issue/{identifier}/collect-and-preprocess-data"
    updated_from: dict[str, Any] = {"updatedAt": "2026-03-02T09:15:20.000Z", "sortOrder": -12}
    if state_changed:
        updated_from["stateId"] = "8f1b6a10-1c2d-4e5f-9a0b-7c6d5e4f3a21"
    return {
        "action": action,
        "actor": {
            "id": "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b",
            "type": "user",
            "name": "Grace Hopper",
            "email": "grace@example.com",
            "url": "https://linear.app/acme/profiles/grace",
        },
        "createdAt": "2026-03-02T09:15:27.513Z",
        "data": {
            "id": "5c1f7d2e-0a4b-4c3d-8e9f-6a5b4c3d2e1f",
            "createdAt": "2026-03-01T16:02:11.204Z",
            "updatedAt": "2026-03-02T09:15:27.498Z",
            "number": int(number),
            "title": "Collect and preprocess data",
            "description": description,
            "priority": 2,
            "priorityLabel": "High",
            "identifier": identifier,
            "url": url,
            "teamId": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
            "stateId": "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d",
            "state": {
                "id": "3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d",
                "color": "#5e6ad2",
                "name": state_name,
                "type": state_type,
            },
            "team": {"id": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "key": team_key, "name": "Eng"},
            "labelIds": [],
            "labels": [],
        },
        "updatedFrom": updated_from,
        "url": url,
        "type": "Issue",
        "organizationId": "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a",
        "webhookTimestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
        "webhookId": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    }


def linear_headers(secret: str, body: bytes, delivery: str | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Linear-Webhook",
        "Linear-Delivery": delivery or str(uuid.uuid4()),
        "Linear-Event": "Issue",
        "Linear-Signature": hex_hmac(secret, body),
    }


# --------------------------------------------------------------------------- generic


def generic_headers(secret: str, body: bytes, message_id: str | None = None) -> dict[str, str]:
    """Signed by the reference Standard Webhooks library."""
    message_id = message_id or f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(message_id, now, body.decode())
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


# --------------------------------------------------------------------------- helpers


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def create_integration(api: Any, provider: str, **body: Any) -> dict[str, Any]:
    response = api.post(
        "/v1/integrations", json={"provider": provider, "name": f"{provider} issues", **body}
    )
    assert response.status_code == 201, response.json
    return response.json


def post_delivery(client: Any, integration: dict[str, Any], body: bytes, headers: dict, **kw):
    """POST as the ticketing system would: to the inbound URL's path, with no API key."""
    path = integration["inbound_url"].split("://", 1)[1].split("/", 1)[1]
    return client.post("/" + path, data=body, headers=headers, **kw)


def project_with_checklist(api: Any, **project: Any) -> dict[str, Any]:
    """A project (nobody staffed: the required roles' items exist all the same) with its
    checklist generated."""
    created = create_project(api, **{"application": "other", **project})
    response = api.post(f"/v1/projects/{created['id']}/checklist")
    assert response.status_code == 201, response.json
    return created
