"""A stand-in Linear on loopback: the GraphQL endpoint native tickets call. Every request's query
is parsed and validated by graphql-core against Linear's own schema (`schema.graphql`, taken
from the npm package `@linear/sdk` by `extract_schema.py`), its variables coerced to their
declared types, and the answer made by executing the query on that schema: what is answered is
shaped as the schema says, field by field.

A query the schema refuses (an unknown field or argument, a wrong variable type) is recorded in
`violations` and answered 400 with GraphQL's errors, as Linear does; a test asserts there are
none. A request without the expected API key in `Authorization` is answered 401.

The team's workflow states: Triage (`triage`), Backlog (`backlog`), Todo (`unstarted`), In
Progress (`started`), Done (`completed`), Canceled (`canceled`). Labels exist by name
(`labels`); users who may be assigned are `assignable` (None: anyone).

Programmable: `hold_creates()` keeps the answers to `issueCreate` until `release()` (the issue
exists meanwhile); `rate_limit_next(n)` answers the next `n` requests 400 with a `RATELIMITED`
error and the `X-RateLimit-*` headers, as Linear's rate limits do. `move(identifier, state)`
moves an issue as a person in Linear and returns the `Issue` `update` webhook Linear sends.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLError,
    build_schema,
    execute,
    get_operation_ast,
    parse,
    validate,
)

from ..standin import Answer, Request, StandIn

HERE = Path(__file__).resolve().parent
SCHEMA = build_schema((HERE / "schema.graphql").read_text())

STATES = [
    ("Triage", "triage", 0.0),
    ("Backlog", "backlog", 1.0),
    ("Todo", "unstarted", 2.0),
    ("In Progress", "started", 3.0),
    ("Done", "completed", 4.0),
    ("Canceled", "canceled", 5.0),
]


@dataclass
class Call:
    operation: str | None
    query: str
    variables: dict[str, Any]
    headers: dict[str, str]
    status: int | None = None
    problems: list[str] = field(default_factory=list)


class LinearStandIn(StandIn[Call]):
    methods = ("POST",)

    def __init__(self, team_id: str, team_key: str, api_key: str, labels: list[str]) -> None:
        super().__init__("/graphql")
        self.worker_env = {"LINEAR_API_URL": self.url}
        self.team_id = team_id
        self.team_key = team_key
        self.api_key = api_key
        self.states = [
            {"id": str(uuid.uuid4()), "name": name, "type": kind, "position": position}
            for name, kind, position in STATES
        ]
        self.labels = {name: str(uuid.uuid4()) for name in labels}
        self.issues: dict[str, dict[str, Any]] = {}  # by identifier
        self.assignable: set[str] | None = None

    # -- programming it --------------------------------------------------------------------------

    def move(self, identifier: str, state_name: str, *, by: str = "user-grace") -> dict[str, Any]:
        """Move an issue as a person in Linear; the `Issue` `update` webhook Linear sends."""
        with self._lock:
            issue = self.issues[identifier]
            before = issue["state"]["id"]
            issue["state"] = self._state(state_name)
            issue["updatedAt"] = _now()
            data = {
                "id": issue["id"],
                "identifier": identifier,
                "title": issue["title"],
                "description": issue["description"],
                "url": issue["url"],
                "stateId": issue["state"]["id"],
                "state": {k: issue["state"][k] for k in ("id", "name", "type")},
                "teamId": self.team_id,
            }
            return {
                "action": "update",
                "type": "Issue",
                "actor": {"id": by, "name": "Grace Hopper", "type": "user"},
                "createdAt": _now(),
                "data": data,
                "updatedFrom": {"stateId": before, "updatedAt": _now()},
                "url": issue["url"],
                "webhookTimestamp": int(time.time() * 1000),
                "webhookId": str(uuid.uuid4()),
            }

    def state_of(self, identifier: str) -> str:
        with self._lock:
            return str(self.issues[identifier]["state"]["name"])

    def by_marker(self, marker: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                i for i in self.issues.values() if marker in (i["description"] or "").splitlines()
            ]

    # -- answering -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Answer:
        headers, body = request.headers, request.body
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            problem = "the body is not a GraphQL request (`query`, `variables`)"
            with self._lock:
                self.violations.append(problem)
            return 400, {}, {"errors": [{"message": problem}]}
        call = Call(None, body["query"], body.get("variables") or {}, headers)
        try:
            document = parse(call.query)
            errors = validate(SCHEMA, document)
        except GraphQLError as exc:
            errors = [exc]
            document = None
        operation = get_operation_ast(document) if document is not None else None
        call.operation = operation.name.value if operation and operation.name else None
        with self._lock:
            self.calls.append(call)
        if errors:
            return self._refuse(call, [e.message for e in errors])
        if headers.get("authorization") != self.api_key:
            call.status = 401
            error = {"message": "Authentication required", "extensions": {"code": "AUTH"}}
            return 401, {}, {"errors": [error]}
        if self._rate_limits_this_call():
            call.status = 400
            reset = str(int(time.time() * 1000) + 2000)
            limits = {
                "X-RateLimit-Requests-Limit": "1500",
                "X-RateLimit-Requests-Remaining": "0",
                "X-RateLimit-Requests-Reset": reset,
                "X-RateLimit-Complexity-Remaining": "250000",
            }
            error = {"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}
            return 400, limits, {"errors": [error]}
        assert document is not None
        result = execute(SCHEMA, document, root_value=self._root(), variable_values=call.variables)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            # Variables the schema refuses (no path: before any field ran) are violations; a
            # resolver's refusal (an entity not found) is Linear's answer to a valid request.
            coercion = [e.message for e in result.errors if not e.path]
            if coercion:
                return self._refuse(call, coercion)
            answer["errors"] = [
                {"message": e.message, "path": e.path, "extensions": {"code": "INPUT_ERROR"}}
                for e in result.errors
            ]
        call.status = 200
        return 200, {"X-RateLimit-Requests-Remaining": "1499"}, answer

    def _refuse(self, call: Call, problems: list[str]) -> Answer:
        with self._lock:
            call.problems = problems
            call.status = 400
            self.violations += [f"{call.operation}: {p}" for p in problems]
        errors = [
            {"message": p, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}} for p in problems
        ]
        return 400, {}, {"errors": errors}

    def _root(self) -> dict[str, Any]:
        return {
            "issueCreate": self._issue_create,
            "issueUpdate": self._issue_update,
            "issues": self._issues,
            "issueLabels": self._issue_labels,
            "workflowStates": self._workflow_states,
        }

    def _issue_create(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        if input["teamId"] != self.team_id:
            raise GraphQLError("Entity not found: Team")
        self._check_assignee(input)
        with self._lock:
            number = len(self.issues) + 1
            identifier = f"{self.team_key}-{number}"
            issue = {
                "id": str(uuid.uuid4()),
                "identifier": identifier,
                "title": input.get("title") or "",
                "description": None,
                "url": f"https://linear.app/acme/issue/{identifier.lower()}",
                "createdAt": _now(),
                "updatedAt": _now(),
                "state": self._state("Todo"),
                "assignee": None,
                "labelIds": [],
            }
            self._apply(issue, input)
            self.issues[identifier] = issue
        self._created()
        return {"success": True, "lastSyncId": float(number), "issue": issue}

    def _issue_update(self, _info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        self._check_assignee(input)
        with self._lock:
            found = [i for i in self.issues.values() if id in (i["id"], i["identifier"])]
            if not found:
                raise GraphQLError("Entity not found: Issue")
            issue = found[0]
            if "stateId" in input and input["stateId"] not in {s["id"] for s in self.states}:
                raise GraphQLError("Entity not found: WorkflowState")
            self._apply(issue, input)
            return {"success": True, "lastSyncId": 1.0, "issue": issue}

    def _issues(self, _info: Any, **args: Any) -> dict[str, Any]:
        issue_filter = args.get("filter") or {}
        unsupported = set(issue_filter) - {"team", "description"}
        if unsupported:
            self.violations.append(f"the stand-in does not filter issues by {unsupported}")
        team = (((issue_filter.get("team") or {}).get("id")) or {}).get("eq")
        contains = (issue_filter.get("description") or {}).get("contains")
        with self._lock:
            nodes = [
                i
                for i in self.issues.values()
                if (team is None or team == self.team_id)
                and (contains is None or contains in (i["description"] or ""))
            ]
        first = args.get("first") or 50
        return {"nodes": nodes[:first], "pageInfo": _page(len(nodes) > first)}

    def _issue_labels(self, _info: Any, **args: Any) -> dict[str, Any]:
        names = ((args.get("filter") or {}).get("name") or {}).get("in")
        nodes = [
            {"id": ident, "name": name}
            for name, ident in self.labels.items()
            if names is None or name in names
        ]
        return {"nodes": nodes, "pageInfo": _page(False)}

    def _workflow_states(self, _info: Any, **args: Any) -> dict[str, Any]:
        team = ((((args.get("filter") or {}).get("team") or {}).get("id")) or {}).get("eq")
        nodes = self.states if team in (None, self.team_id) else []
        return {"nodes": nodes, "pageInfo": _page(False)}

    def _check_assignee(self, given: dict[str, Any]) -> None:
        assignee = given.get("assigneeId")
        if assignee and self.assignable is not None and assignee not in self.assignable:
            raise GraphQLError("Entity not found: User - Could not find referenced assignee.")

    def _apply(self, issue: dict[str, Any], given: dict[str, Any]) -> None:
        for name in ("title", "description"):
            if name in given:
                issue[name] = given[name]
        if "assigneeId" in given:
            ident = given["assigneeId"]
            issue["assignee"] = None if ident is None else {"id": ident, "name": ident}
        if "labelIds" in given:
            issue["labelIds"] = list(given["labelIds"] or ())
        if "stateId" in given:
            issue["state"] = next(s for s in self.states if s["id"] == given["stateId"])
        issue["updatedAt"] = _now()

    def _state(self, name: str) -> dict[str, Any]:
        return next(s for s in self.states if s["name"] == name)


def _page(more: bool) -> dict[str, Any]:
    return {"hasNextPage": more, "hasPreviousPage": False, "endCursor": None, "startCursor": None}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
