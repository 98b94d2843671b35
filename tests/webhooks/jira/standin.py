"""A stand-in Jira Cloud site on loopback: the REST API v3 calls of native tickets, each request
validated against Atlassian's published description of the platform REST API
(`platform.openapi.json`, taken by `extract_openapi.py`), each issue description against the
Atlassian Document Format's published JSON schema (`adf.full.json`, the npm package
`@atlaskit/adf-schema` 57.7.22, `json-schema/v1/full.json`), and each answer too.

A request the description does not allow (an unknown path or method, a missing or ill-typed
parameter, a body that fails the operation's schema, a description that is not ADF) is
recorded in `violations` and answered 400 as Jira would; a test asserts there are none.
Requests without the expected basic credentials (email and API token) are answered 401.

The project's workflow: `To Do` (category `new`), `In Progress` (`indeterminate`), `Done` and
`Won't Do` (both `done`), with a global transition to each. Searches take the JQL native
tickets send (`project = "KEY" AND created >= "-Nm" ORDER BY created DESC`); another is a
violation.

Programmable: `hold_creates()` keeps the answers to issue creations until `release()` (the
issue exists meanwhile); `rate_limit_next(n)` answers the next `n` calls 429 with a
`Retry-After`, as Jira's rate limits do; `assignable` (a set of account ids, or None for
anyone) refuses other assignees with Jira's 400 naming `assignee`. `transition(key, status)`
moves an issue as a person would in Jira and returns the `jira:issue_updated` webhook Jira
would send.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema

from ..openapi_check import compile_operations, find_operation, schema_errors, typed
from ..standin import Answer, Request, StandIn

HERE = Path(__file__).resolve().parent
DESCRIPTION = json.loads((HERE / "platform.openapi.json").read_text())
ADF_SCHEMA = json.loads((HERE / "adf.full.json").read_text())
COMPONENTS = DESCRIPTION["components"]
OPERATIONS = compile_operations(DESCRIPTION)

# name: (id, status category key, category id, category name)
STATUSES = {
    "To Do": ("10000", "new", 2, "To Do"),
    "In Progress": ("10001", "indeterminate", 4, "In Progress"),
    "Done": ("10002", "done", 3, "Done"),
    "Won't Do": ("10003", "done", 3, "Done"),
}
# Global transitions: id, name, to.
TRANSITIONS = [("11", "To Do", "To Do"), ("21", "Start", "In Progress"), ("31", "Done", "Done")]
TRANSITIONS.append(("41", "Won't do", "Won't Do"))
_JQL = re.compile(
    r'^project = "(?P<project>[A-Z][A-Z0-9_]+)" AND created >= "-(?P<minutes>\d+)m" '
    r"ORDER BY created DESC$"
)


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    operation: str | None = None
    status: int | None = None
    problems: list[str] = field(default_factory=list)


class JiraStandIn(StandIn[Call]):
    methods = ("GET", "POST", "PUT")
    content_type = "application/json;charset=UTF-8"

    def __init__(self, project: str, email: str, token: str) -> None:
        super().__init__()
        self.project = project
        self.auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.issues: dict[str, dict[str, Any]] = {}  # by key
        self.assignable: set[str] | None = None

    # -- programming it --------------------------------------------------------------------------

    def transition(self, key: str, status: str, *, by: str = "acct-grace") -> dict[str, Any]:
        """Move an issue as a person in Jira; the `jira:issue_updated` event Jira would send."""
        with self._lock:
            issue = self.issues[key]
            before = issue["fields"]["status"]["name"]
            self._move(issue, status)
            return {
                "timestamp": int(datetime.now(UTC).timestamp() * 1000),
                "webhookEvent": "jira:issue_updated",
                "issue_event_type_name": "issue_generic",
                "user": {"accountId": by, "displayName": "Grace Hopper"},
                "issue": json.loads(json.dumps(issue)),
                "changelog": {
                    "id": "10100",
                    "items": [
                        {
                            "field": "status",
                            "fieldtype": "jira",
                            "fieldId": "status",
                            "from": STATUSES[before][0],
                            "fromString": before,
                            "to": STATUSES[status][0],
                            "toString": status,
                        }
                    ],
                },
            }

    def status_of(self, key: str) -> str:
        with self._lock:
            return str(self.issues[key]["fields"]["status"]["name"])

    def by_marker(self, marker: str) -> list[dict[str, Any]]:
        with self._lock:
            return [i for i in self.issues.values() if marker in _text(i["fields"]["description"])]

    # -- the description -------------------------------------------------------------------------

    def _validate(self, call: Call) -> tuple[dict[str, Any] | None, dict[str, str], list[str]]:
        path = urlsplit(call.path).path
        found = find_operation(OPERATIONS, call.method, path)
        if found is None:
            return None, {}, [f"{call.method} {path} is not an operation of the description"]
        operation, params = found
        problems: list[str] = []
        declared = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        for parameter in operation["parameters"]:
            name, where = parameter["name"], parameter["in"]
            schema = parameter.get("schema", {})
            if where == "path":
                value: Any = params.get(name)
            elif where == "query":
                values = call.query.get(name)
                if values is None:
                    value = None
                elif schema.get("type") == "array":
                    value = [typed(v, schema.get("items", {})) for v in values]
                elif len(values) > 1:
                    problems.append(f"query parameter {name} is given {len(values)} times")
                    continue
                else:
                    value = typed(values[0], schema)
            else:
                continue
            if value is None:
                if parameter.get("required"):
                    problems.append(f"{name} ({where}) is required")
                continue
            problems += [f"{name}: {e}" for e in schema_errors(schema, value, COMPONENTS)]
        problems += [
            f"query parameter {name} is not in the description"
            for name in call.query
            if name not in declared
        ]
        schema = operation.get("requestBody")
        if schema is not None:
            if call.body is None and operation.get("requestBodyRequired"):
                problems.append("the body is required")
            elif call.body is not None:
                problems += [f"body: {e}" for e in schema_errors(schema, call.body, COMPONENTS)]
                problems += self._adf_problems(call.body)
        elif call.body is not None:
            problems.append("a body where the operation takes none")
        return operation, params, problems

    def _adf_problems(self, body: Any) -> list[str]:
        fields = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict) or "description" not in fields:
            return []
        if fields["description"] is None:
            return []
        validator = jsonschema.Draft4Validator(ADF_SCHEMA)
        return [
            f"fields.description is not ADF: {'/'.join(map(str, e.absolute_path))}: "
            f"{e.message[:200]}"
            for e in validator.iter_errors(fields["description"])
        ]

    # -- answering -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Answer:
        query = parse_qs(urlsplit(request.path).query)
        call = Call(request.method, request.path, query, request.headers, request.body)
        status, headers, answer = self._handle(call)
        call.status = status
        return status, headers, answer

    def _handle(self, call: Call) -> Answer:
        operation, params, problems = self._validate(call)
        with self._lock:
            self.calls.append(call)
            call.operation = operation["operationId"] if operation else None
            call.problems = problems
            if problems:
                self.violations += [f"{call.method} {call.path}: {p}" for p in problems]
        if problems:
            return 400, {}, {"errorMessages": problems, "errors": {}}
        assert operation is not None
        if call.headers.get("authorization") != self.auth:
            return 401, {}, {"errorMessages": ["You are not authenticated."], "errors": {}}
        if self._rate_limits_this_call():
            return 429, {"Retry-After": "2"}, {"errorMessages": ["Rate limit exceeded."]}
        status, answer = self._answer(call.operation or "", params, call)
        if 200 <= status < 300 and status != 204:
            schema = operation["responses"].get(str(status))
            if schema is None:
                self.violations.append(f"the stand-in answered {status}, not in the description")
            else:
                for error in schema_errors(schema, answer, COMPONENTS):
                    self.violations.append(f"the stand-in's own answer: {error}")
        return status, {}, answer

    def _answer(self, operation: str, params: dict[str, str], call: Call) -> tuple[int, Any]:
        body = call.body if isinstance(call.body, dict) else {}
        if operation == "createIssue":
            fields = body.get("fields") or {}
            if (fields.get("project") or {}).get("key") != self.project:
                return 400, {"errorMessages": [], "errors": {"project": "valid project required"}}
            refused = self._refused(fields)
            if refused:
                return 400, refused
            with self._lock:
                number = len(self.issues) + 1
                key = f"{self.project}-{number}"
                issue = self._new_issue(number, key, fields)
                self.issues[key] = issue
            self._created()
            return 201, {"id": issue["id"], "key": key, "self": issue["self"]}
        if operation == "searchForIssuesUsingJql":
            return self._search(call)
        with self._lock:
            issue = self._find(params["issueIdOrKey"])
            if issue is None:
                return 404, {"errorMessages": ["Issue does not exist"], "errors": {}}
            if operation == "getIssue":
                return 200, self._shown(issue, call.query.get("fields"))
            if operation == "editIssue":
                fields = body.get("fields") or {}
                refused = self._refused(fields)
                if refused:
                    return 400, refused
                self._apply(issue, fields)
                return 204, None
            if operation == "getTransitions":
                return 200, {"transitions": [_transition(*t) for t in TRANSITIONS]}
            if operation == "doTransition":
                wanted = str((body.get("transition") or {}).get("id"))
                found = [t for t in TRANSITIONS if t[0] == wanted]
                if not found:
                    return 400, {"errorMessages": ["Transition id is not valid"], "errors": {}}
                self._move(issue, found[0][2])
                return 204, None
        return 404, {"errorMessages": ["Not found"], "errors": {}}

    def _search(self, call: Call) -> tuple[int, Any]:
        jql = (call.query.get("jql") or [""])[0]
        match = _JQL.match(jql)
        if not match:
            self.violations.append(f"a JQL query the stand-in does not take: {jql!r}")
            return 400, {"errorMessages": [f"Unsupported JQL: {jql}"], "errors": {}}
        since = datetime.now(UTC) - timedelta(minutes=int(match["minutes"]))
        with self._lock:
            found = [
                i
                for i in self.issues.values()
                if i["fields"]["project"]["key"] == match["project"]
                and datetime.fromisoformat(i["fields"]["created"]) >= since
            ]
            found.sort(key=lambda i: int(i["id"]), reverse=True)
            start = int((call.query.get("startAt") or ["0"])[0])
            size = int((call.query.get("maxResults") or ["50"])[0])
            page = [self._shown(i, call.query.get("fields")) for i in found[start : start + size]]
        return 200, {"startAt": start, "maxResults": size, "total": len(found), "issues": page}

    def _refused(self, fields: dict[str, Any]) -> dict[str, Any] | None:
        assignee = fields.get("assignee")
        if self.assignable is None or not isinstance(assignee, dict):
            return None
        if assignee.get("accountId") in self.assignable:
            return None
        message = f"User '{assignee.get('accountId')}' cannot be assigned issues."
        return {"errorMessages": [], "errors": {"assignee": message}}

    def _find(self, id_or_key: str) -> dict[str, Any] | None:
        for issue in self.issues.values():
            if id_or_key in (issue["id"], issue["key"]):
                return issue
        return None

    def _new_issue(self, number: int, key: str, fields: dict[str, Any]) -> dict[str, Any]:
        issue_id = str(10000 + number)
        now = _now()
        issue = {
            "id": issue_id,
            "key": key,
            "self": f"{self.url}/rest/api/3/issue/{issue_id}",
            "fields": {
                "project": {"key": self.project, "id": "10000"},
                "issuetype": {"name": (fields.get("issuetype") or {}).get("name")},
                "summary": None,
                "description": None,
                "labels": [],
                "assignee": None,
                "status": None,
                "created": now,
                "updated": now,
            },
        }
        self._move(issue, "To Do")
        self._apply(issue, fields)
        return issue

    def _apply(self, issue: dict[str, Any], fields: dict[str, Any]) -> None:
        target = issue["fields"]
        for name in ("summary", "description", "labels"):
            if name in fields:
                target[name] = fields[name]
        if "assignee" in fields:
            given = fields["assignee"]
            target["assignee"] = (
                None
                if not given
                else {"accountId": given["accountId"], "displayName": given["accountId"]}
            )
        target["updated"] = _now()

    def _move(self, issue: dict[str, Any], status: str) -> None:
        ident, category, category_id, category_name = STATUSES[status]
        issue["fields"]["status"] = {
            "self": f"{self.url}/rest/api/3/status/{ident}",
            "id": ident,
            "name": status,
            "statusCategory": {"id": category_id, "key": category, "name": category_name},
        }
        issue["fields"]["updated"] = _now()

    def _shown(self, issue: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
        names = set(",".join(fields or ["*all"]).split(","))
        shown = {k: v for k, v in issue["fields"].items() if "*all" in names or k in names}
        return {"id": issue["id"], "key": issue["key"], "self": issue["self"], "fields": shown}


def _transition(ident: str, name: str, to: str) -> dict[str, Any]:
    status_id, category, category_id, category_name = STATUSES[to]
    return {
        "id": ident,
        "name": name,
        "to": {
            "id": status_id,
            "name": to,
            "statusCategory": {"id": category_id, "key": category, "name": category_name},
        },
        "hasScreen": False,
        "isGlobal": True,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
    }


def _text(document: Any) -> list[str]:
    """The lines of an ADF document's paragraphs (the marker line is one)."""
    lines: list[str] = []

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if node.get("type") == "paragraph":
            lines.append("".join(c.get("text", "") for c in node.get("content") or ()))
            return
        for child in node.get("content") or ():
            walk(child)

    walk(document)
    return lines


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
