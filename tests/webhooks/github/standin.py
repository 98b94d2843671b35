"""A stand-in GitHub on loopback: the issues calls of native tickets, each request validated
against GitHub's own REST description (`issues.openapi.json`, taken from `@octokit/openapi` by
`extract_openapi.py`), and each answer too, before it is sent.

A request that the description does not allow (an unknown path or method, a missing or
ill-typed parameter, a body that fails the operation's schema) is recorded in `violations` and
answered 422 as GitHub would; a test asserts there are none. Requests without the expected
token are answered 401.

Programmable: `hold_creates()` keeps the answers to issue creations until `release()` (the
issue exists meanwhile: a worker killed then has not seen the answer); `rate_limit_next(n)`
answers the next `n` calls 403 with `X-RateLimit-Remaining: 0` and a `Retry-After`, as GitHub's
rate limits do. `close(number, reason)` closes an issue as a person would in GitHub and returns
the `issues` webhook payload GitHub would send.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..openapi_check import compile_operations, find_operation, schema_errors, typed
from ..standin import Answer, Request, StandIn

DESCRIPTION = json.loads((Path(__file__).with_name("issues.openapi.json")).read_text())
OPERATIONS = compile_operations(DESCRIPTION)


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    operation: str | None
    status: int = 0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user(login: str, number: int) -> dict[str, Any]:
    base = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": number,
        "node_id": f"U_{number}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{number}",
        "gravatar_id": "",
        "url": base,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{base}/followers",
        "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}",
        "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions",
        "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos",
        "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events",
        "type": "User",
        "site_admin": False,
    }


class GitHubStandIn(StandIn[Call]):
    methods = ("GET", "POST", "PATCH")

    def __init__(self, repository: str, token: str, *, bot: str = "checklist-bot") -> None:
        super().__init__()
        self.worker_env = {"GITHUB_API_URL": self.url}
        self.repository = repository
        self.token = token
        self.bot = bot
        self.issues: dict[int, dict[str, Any]] = {}
        # Who may be assigned (None: anyone); others make GitHub answer 422.
        self.collaborators: set[str] | None = None

    # -- programming -----------------------------------------------------------------------------

    def close(self, number: int, reason: str, *, by: str = "grace-h") -> dict[str, Any]:
        """Close an issue as a person in GitHub; the `issues` event GitHub would deliver."""
        with self._lock:
            issue = self.issues[number]
            issue.update(state="closed", state_reason=reason, closed_at=_now(), updated_at=_now())
            return self._event("closed", issue, by)

    def _event(self, action: str, issue: dict[str, Any], by: str) -> dict[str, Any]:
        return {
            "action": action,
            "issue": dict(issue),
            "repository": {"full_name": self.repository},
            "sender": {"login": by},
        }

    def by_marker(self, marker: str) -> list[dict[str, Any]]:
        with self._lock:
            return [i for i in self.issues.values() if marker in (i["body"] or "").splitlines()]

    # -- the description -------------------------------------------------------------------------

    def _validate(self, call: Call) -> tuple[dict[str, Any] | None, dict[str, str], list[str]]:
        """The operation a request is, its path parameters, and what the description refuses
        in it."""
        path = urlsplit(call.path).path
        found = find_operation(OPERATIONS, call.method, path)
        if found is None:
            return None, {}, [f"{call.method} {path} is not an operation of the description"]
        operation, params = found
        problems: list[str] = []
        for parameter in operation["parameters"]:
            where = parameter["in"]
            value = params.get(parameter["name"]) if where == "path" else None
            if where == "query":
                value = call.query.get(parameter["name"])
            if where not in ("path", "query"):
                continue
            if value is None:
                if parameter.get("required"):
                    problems.append(f"{parameter['name']} ({where}) is required")
                continue
            schema = parameter.get("schema", {})
            problems += schema_errors(schema, typed(value, schema))
        for name in call.query:
            if name not in {p["name"] for p in operation["parameters"] if p["in"] == "query"}:
                problems.append(f"query parameter {name} is not in the description")
        schema = operation.get("requestBody")
        if schema is not None:
            problems += [f"body: {e}" for e in schema_errors(schema, call.body)]
        elif call.body is not None:
            problems.append("a body where the operation takes none")
        return operation, params, problems

    # -- answering -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Answer:
        query = dict(parse_qsl(urlsplit(request.path).query))
        call = Call(request.method, request.path, query, request.headers, request.body, None)
        status, headers, answer = self._handle(call)
        call.status = status
        return status, headers, answer

    def _handle(self, call: Call) -> Answer:
        operation, params, problems = self._validate(call)
        with self._lock:
            self.calls.append(call)
            call.operation = operation["operationId"] if operation else None
            if problems:
                self.violations += [f"{call.method} {call.path}: {p}" for p in problems]
        if problems:
            return 422, {}, {"message": "Validation Failed", "errors": problems}
        assert operation is not None
        if call.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, {"message": "Bad credentials"}
        if f"{params['owner']}/{params['repo']}" != self.repository:
            return 404, {}, {"message": "Not Found"}
        if self._rate_limits_this_call():
            reset = int(datetime.now(UTC).timestamp()) + 2
            headers = {
                "Retry-After": "2",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
            }
            return 403, headers, {"message": "API rate limit exceeded"}
        refused = self._unassignable(call.body)
        if refused:
            errors = [{"resource": "Issue", "code": "invalid", "field": "assignees"}]
            return 422, {}, {"message": "Validation Failed", "errors": errors}
        status, answer = self._answer(call.operation or "", params, call)
        answer = [_shown(i) for i in answer] if isinstance(answer, list) else _shown(answer)
        if status < 300:
            schema = operation["responses"][str(status)]
            for error in schema_errors(schema, answer):
                self.violations.append(f"the stand-in's own answer: {error}")
        return status, {"X-RateLimit-Remaining": "4999"}, answer

    def _unassignable(self, body: Any) -> list[str]:
        if self.collaborators is None or not isinstance(body, dict):
            return []
        return [a for a in body.get("assignees") or () if a not in self.collaborators]

    def _answer(self, operation: str, params: dict[str, str], call: Call) -> tuple[int, Any]:
        if operation == "issues/create":
            with self._lock:
                number = len(self.issues) + 1
                issue = self._new_issue(number, call.body)
                self.issues[number] = issue
            self._created()
            return 201, issue
        if operation == "issues/list-for-repo":
            since = call.query.get("since")
            with self._lock:
                found = [
                    i
                    for i in self.issues.values()
                    if call.query.get("state") == "all" or i["state"] == "open"
                    if since is None or i["updated_at"] >= since
                ]
            found.sort(key=lambda i: i["number"], reverse=True)
            per_page = int(call.query.get("per_page", "30"))
            page = int(call.query.get("page", "1"))
            return 200, found[(page - 1) * per_page : page * per_page]
        number = int(params["issue_number"])
        with self._lock:
            issue = self.issues.get(number)
            if issue is None:
                return 404, {"message": "Not Found"}
            if operation == "issues/update":
                self._apply(issue, call.body)
            return 200, dict(issue)

    def _new_issue(self, number: int, body: dict[str, Any]) -> dict[str, Any]:
        base = f"https://api.github.com/repos/{self.repository}/issues/{number}"
        now = _now()
        issue: dict[str, Any] = {
            "id": 1000 + number,
            "node_id": f"I_{number}",
            "url": base,
            "repository_url": f"https://api.github.com/repos/{self.repository}",
            "labels_url": f"{base}/labels{{/name}}",
            "comments_url": f"{base}/comments",
            "events_url": f"{base}/events",
            "html_url": f"https://github.com/{self.repository}/issues/{number}",
            "number": number,
            "state": "open",
            "state_reason": None,
            "title": str(body["title"]),
            "body": body.get("body"),
            "user": _user(self.bot, 1),
            "labels": [],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "comments": 0,
            "closed_at": None,
            "created_at": now,
            "updated_at": now,
        }
        self._apply(issue, {k: v for k, v in body.items() if k in ("labels", "assignees")})
        return issue

    def _apply(self, issue: dict[str, Any], body: dict[str, Any]) -> None:
        for name in ("title", "body"):
            if name in body:
                issue[name] = body[name]
        if "labels" in body:
            issue["labels"] = [
                {
                    "id": 5000 + i,
                    "node_id": f"L_{i}",
                    "url": f"https://api.github.com/repos/{self.repository}/labels/{i}",
                    "name": name,
                    "description": None,
                    "color": "ededed",
                    "default": False,
                }
                for i, name in enumerate(body["labels"])
            ]
        if "assignees" in body:
            issue["assignees"] = [
                _user(login, 100 + i) for i, login in enumerate(body["assignees"])
            ]
            issue["assignee"] = issue["assignees"][0] if issue["assignees"] else None
        if "state" in body and body["state"] != issue["state"]:
            issue["state"] = body["state"]
            issue["closed_at"] = _now() if body["state"] == "closed" else None
            issue["state_reason"] = body.get("state_reason")
        elif "state_reason" in body and issue["state"] == "closed":
            issue["state_reason"] = body["state_reason"]
        issue["updated_at"] = _now()


def _shown(issue: Any) -> Any:
    """An issue as answered: an open issue's `state_reason` is left out (GitHub sends null,
    which its description's enum, under OpenAPI 3.0.3's reading of `nullable`, does not
    allow; leaving it out is what the description allows)."""
    if isinstance(issue, dict) and "number" in issue and issue.get("state_reason") is None:
        return {k: v for k, v in issue.items() if k != "state_reason"}
    return issue
