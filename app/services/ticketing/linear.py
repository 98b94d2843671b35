"""Linear's GraphQL API for native tickets: open, update, move and find issues of one team.

Calls go through `HttpTracker.send` (`trackers.py`: the webhooks' SSRF rules, pinned to the
vetted address) to `LINEAR_API_URL` (`https://api.linear.app/graphql`), with the personal API
key in `Authorization`.

- **Open**: `issueCreate` with the team, title, Markdown description, the first owner's Linear
  user id as assignee and the ids of the labels (found by name with `issueLabels`; a label
  that does not exist in the workspace or the team is left out).
- **Update**: `issueUpdate` with the same, and a workflow state when the item asks another:
  the team's first state (by position) of type `completed` to close as completed, `canceled`
  to close as not planned, `unstarted` (else `backlog`, `triage`) to reopen.
- **Find**: `issues` filtered by the team and a description containing the marker; the marker
  line is compared whole.

Rate limits: Linear answers a request over its request or complexity budget with an error
whose `extensions.code` is `RATELIMITED` (HTTP 400, or 429): it is retried when the budget
resets (`X-RateLimit-Requests-Reset` / `X-RateLimit-Complexity-Reset`, UTC epoch
milliseconds).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from app.services.ticketing.trackers import Draft, HttpTracker, Ticket, TrackerError, json_of
from app.services.webhooks.ssrf import Resolver

if TYPE_CHECKING:
    from app.config import Settings

__all__ = ["LinearClient"]

log = logging.getLogger(__name__)

LOOKUP_PAGES = 5
_ISSUE = "id identifier url description state { type name }"
ISSUE_CREATE = (
    "mutation IssueCreate($input: IssueCreateInput!) {"
    f" issueCreate(input: $input) {{ success issue {{ {_ISSUE} }} }} }}"
)
ISSUE_UPDATE = (
    "mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) {"
    f" issueUpdate(id: $id, input: $input) {{ success issue {{ {_ISSUE} }} }} }}"
)
ISSUES_BY_MARKER = (
    "query IssuesByMarker($filter: IssueFilter, $after: String) {"
    f" issues(filter: $filter, first: 50, after: $after) {{ nodes {{ {_ISSUE} }}"
    " pageInfo { hasNextPage endCursor } } }"
)
TEAM_STATES = (
    "query TeamStates($filter: WorkflowStateFilter) {"
    " workflowStates(filter: $filter, first: 100) { nodes { id name type position } } }"
)
LABELS = (
    "query Labels($filter: IssueLabelFilter) {"
    " issueLabels(filter: $filter, first: 100) { nodes { id name } } }"
)
# The state types a ticket state asks for, the first found first.
_STATE_TYPES = {
    ("closed", "completed"): ("completed",),
    ("closed", "not_planned"): ("canceled",),
    ("open", None): ("unstarted", "backlog", "triage"),
}


class LinearClient(HttpTracker):
    """Linear issues, as a `TicketClient`."""

    system = "linear"
    noun = "Linear issue"
    name = "Linear"
    setting = "LINEAR_API_URL"

    def __init__(self, settings: Settings, *, resolve: Resolver | None = None) -> None:
        super().__init__(settings, resolve=resolve)
        self.url = settings.linear_api_url

    # -- the calls -------------------------------------------------------------------------------

    def create(self, token: str, where: Mapping[str, Any], draft: Draft) -> Ticket:
        fields = {"teamId": where["team"], **self._fields(token, draft)}
        return self._with_assignee(
            draft,
            lambda assignee: self._issue(
                self._call(token, ISSUE_CREATE, {"input": {**fields, **assignee}}), "issueCreate"
            ),
        )

    def update(
        self,
        token: str,
        where: Mapping[str, Any],
        ref: str,
        draft: Draft,
        state: tuple[str, str | None] | None,
    ) -> Ticket:
        fields = self._fields(token, draft)
        if state is not None:
            fields["stateId"] = self._state_id(token, where, state)
        return self._with_assignee(
            draft,
            lambda assignee: self._issue(
                self._call(token, ISSUE_UPDATE, {"id": ref, "input": {**fields, **assignee}}),
                "issueUpdate",
            ),
            unassign=True,
        )

    def find(
        self, token: str, where: Mapping[str, Any], marker: str, since: datetime
    ) -> Ticket | None:
        issue_filter = {"team": {"id": {"eq": where["team"]}}, "description": {"contains": marker}}
        after: str | None = None
        for _ in range(LOOKUP_PAGES):
            data = self._call(token, ISSUES_BY_MARKER, {"filter": issue_filter, "after": after})
            issues = _get(data, "issues")
            for node in issues.get("nodes") or ():
                lines = str((node or {}).get("description") or "").splitlines()
                if marker in (line.strip() for line in lines):
                    return _ticket(node)
            page = issues.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return None
            after = page.get("endCursor")
        return None

    # -- helpers ---------------------------------------------------------------------------------

    def _fields(self, token: str, draft: Draft) -> dict[str, Any]:
        fields: dict[str, Any] = {"title": draft.title, "description": draft.body}
        if draft.labels:
            fields["labelIds"] = self._label_ids(token, draft.labels)
        return fields

    def _with_assignee(self, draft: Draft, call: Any, *, unassign: bool = False) -> Ticket:
        """`call` with the first owner as assignee; again without when Linear refuses it."""
        assignee = draft.assignees[0] if draft.assignees else None
        given: dict[str, Any] = {"assigneeId": assignee} if assignee else {}
        if not given and unassign:
            given = {"assigneeId": None}
        try:
            ticket: Ticket = call(given)
            return ticket
        except TrackerError as exc:
            if assignee is None or exc.retry_after is not None or "assignee" not in exc.message:
                raise
            log.warning("Linear refused an issue's assignee; sent without one")
            ticket = call({"assigneeId": None} if unassign else {})
            return ticket

    def _label_ids(self, token: str, names: list[str]) -> list[str]:
        data = self._call(token, LABELS, {"filter": {"name": {"in": names}}})
        found = {str(n.get("name")): str(n.get("id")) for n in _get(data, "issueLabels")["nodes"]}
        return [found[name] for name in names if name in found]

    def _state_id(self, token: str, where: Mapping[str, Any], state: tuple[str, str | None]) -> str:
        data = self._call(token, TEAM_STATES, {"filter": {"team": {"id": {"eq": where["team"]}}}})
        states = sorted(
            (s for s in _get(data, "workflowStates")["nodes"] if isinstance(s, dict)),
            key=lambda s: float(s.get("position") or 0),
        )
        for wanted in _STATE_TYPES.get(state, ("unstarted",)):
            for found in states:
                if found.get("type") == wanted:
                    return str(found["id"])
        raise TrackerError(f"Linear's team has no workflow state of type {_STATE_TYPES.get(state)}")

    def _issue(self, data: Any, mutation: str) -> Ticket:
        payload = _get(data, mutation)
        if not payload.get("success") or not isinstance(payload.get("issue"), dict):
            raise TrackerError(f"Linear's {mutation} did not succeed")
        return _ticket(payload["issue"])

    def _call(self, token: str, query: str, variables: Mapping[str, Any]) -> Any:
        headers = {"Accept": "application/json", "Authorization": token}
        body = {"query": query, "variables": dict(variables)}
        response = self.send("POST", self.url, headers, json=body)
        operation = query.split("(", 1)[0].split()[-1]
        answer = json_of(response, f"Linear's answer to {operation}") if response.content else {}
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if response.status_code >= 300 or errors:
            raise TrackerError(
                f"Linear answered {operation} with {response.status_code}: {_message(errors)}",
                retry_after=_retry_after(response, errors),
                status=response.status_code,
            )
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
            raise TrackerError(f"Linear's answer to {operation} has no data")
        return answer["data"]


def _get(data: Any, name: str) -> dict[str, Any]:
    found = data.get(name) if isinstance(data, dict) else None
    if not isinstance(found, dict):
        raise TrackerError(f"Linear's answer has no {name}")
    return found


def _ticket(issue: Mapping[str, Any]) -> Ticket:
    try:
        kind = str((issue.get("state") or {}).get("type") or "")
        reason = {"completed": "completed", "canceled": "not_planned"}.get(kind)
        return Ticket(
            key=str(issue["identifier"]),
            ref=str(issue["id"]),
            url=str(issue["url"]),
            state="closed" if reason else "open",
            reason=reason,
            body=issue.get("description"),
        )
    except (KeyError, TypeError, AttributeError):
        raise TrackerError("Linear's answer is not an issue") from None


def _message(errors: Any) -> str:
    if not isinstance(errors, list) or not errors:
        return "no message"
    parts = []
    for error in errors[:3]:
        if isinstance(error, dict):
            extensions = error.get("extensions") or {}
            told = extensions.get("userPresentableMessage") or error.get("message")
            parts.append(str(told))
    return "; ".join(parts)[:300] or "no message"


def _retry_after(response: httpx.Response, errors: Any) -> float | None:
    """When a rate-limited call may be made again (None: not a rate limit)."""
    limited = response.status_code == 429 or any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "RATELIMITED"
        for e in errors or ()
    )
    if not limited:
        return None
    resets = []
    for name in ("X-RateLimit-Requests-Reset", "X-RateLimit-Complexity-Reset"):
        try:
            resets.append(float(response.headers[name]) / 1000.0)
        except (KeyError, ValueError):
            continue
    if not resets:
        return 60.0
    return max(1.0, min(max(resets) - time.time(), 3600.0))
