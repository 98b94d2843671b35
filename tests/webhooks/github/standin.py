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
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openapi_schema_validator import OAS30Validator, oas30_format_checker

DESCRIPTION = json.loads((Path(__file__).with_name("issues.openapi.json")).read_text())


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


class GitHubStandIn:
    def __init__(self, repository: str, token: str, *, bot: str = "checklist-bot") -> None:
        self.repository = repository
        self.token = token
        self.bot = bot
        self.issues: dict[int, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.created = threading.Event()  # set when an issue is created
        self._lock = threading.Lock()
        self._hold = threading.Event()
        self._hold.set()
        self._rate_limited = 0
        # Who may be assigned (None: anyone); others make GitHub answer 422.
        self.collaborators: set[str] | None = None
        self._validators = self._compile()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.standin = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._hold.set()
        self._server.shutdown()
        self._server.server_close()

    # -- programming -----------------------------------------------------------------------------

    def hold_creates(self) -> None:
        self._hold.clear()

    def release(self) -> None:
        self._hold.set()

    def rate_limit_next(self, calls: int) -> None:
        self._rate_limited = calls

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

    def calls_to(self, operation: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.operation == operation]

    # -- the description -------------------------------------------------------------------------

    def _compile(self) -> list[tuple[str, re.Pattern[str], dict[str, Any]]]:
        operations = []
        for path, methods in DESCRIPTION["paths"].items():
            pattern = re.compile(
                "^" + re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
            )
            for method, operation in methods.items():
                operations.append((method.upper(), pattern, operation))
        return operations

    def _validate(self, call: Call) -> tuple[dict[str, Any] | None, dict[str, str], list[str]]:
        """The operation a request is, its path parameters, and what the description refuses
        in it."""
        path = urlsplit(call.path).path
        for method, pattern, operation in self._validators:
            match = pattern.match(path)
            if method != call.method or not match:
                continue
            problems: list[str] = []
            params = match.groupdict()
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
                problems += _errors(parameter.get("schema", {}), _typed(value, parameter))
            for name in call.query:
                if name not in {p["name"] for p in operation["parameters"] if p["in"] == "query"}:
                    problems.append(f"query parameter {name} is not in the description")
            schema = operation.get("requestBody")
            if schema is not None:
                problems += [f"body: {e}" for e in _errors(schema, call.body)]
            elif call.body is not None:
                problems.append("a body where the operation takes none")
            return operation, params, problems
        return None, {}, [f"{call.method} {path} is not an operation of the description"]

    # -- answering -------------------------------------------------------------------------------

    def handle(self, call: Call) -> tuple[int, dict[str, str], Any]:
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
        if self._rate_limited > 0:
            self._rate_limited -= 1
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
            for error in _errors(schema, answer):
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
            self.created.set()
            self._hold.wait(timeout=60)
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


def _typed(value: str, parameter: dict[str, Any]) -> Any:
    kind = parameter.get("schema", {}).get("type")
    if kind == "integer":
        try:
            return int(value)
        except ValueError:
            return value
    return value


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
        for e in validator.iter_errors(instance)
    ]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        standin: GitHubStandIn = self.server.standin  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        split = urlsplit(self.path)
        call = Call(
            method=self.command,
            path=self.path,
            query=dict(parse_qsl(split.query)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            operation=None,
        )
        status, headers, answer = standin.handle(call)
        call.status = status
        payload = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the caller went away (a killed worker)

    do_GET = do_POST = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass
