"""Jira Cloud's REST API (platform, v3) for native tickets: open, update, transition and find
issues in one project of a site.

Calls go through `HttpTracker.send` (`trackers.py`: the webhooks' SSRF rules, pinned to the
vetted address) to the integration's `site` (`https://acme.atlassian.net`), with HTTP basic
authentication: the account's email and an API token.

- **Open**: `POST /rest/api/3/issue` with the project, the issue type, the summary, the
  description in the Atlassian Document Format (`adf.py`), the labels and the assignee (the
  first owner's Jira account id). An assignee Jira refuses (400 naming `assignee`) is left
  out, for that call alone.
- **Update**: `PUT /rest/api/3/issue/{id}` with the same fields; a change of state is a
  transition (`GET` then `POST /rest/api/3/issue/{id}/transitions`) chosen by the status
  category of its target (never a workflow's status names, which teams rename): `done` to
  close (for `not_planned`, a done status named like *Won't do*, *Cancelled*, *Declined*
  first), `new` (else `indeterminate`) to reopen.
- **Find**: `GET /rest/api/3/search` with the JQL `project = KEY AND created >= "-Nm"` (a
  relative date: no time zone to get wrong), then the descriptions are read for the marker
  line (Jira's text search tokenises; the marker is compared whole here).

Rate limits: a 429 (or a 503 with `Retry-After`) is retried after `Retry-After`.
"""

from __future__ import annotations

import base64
import logging
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from app.models import utcnow
from app.services.ticketing.adf import markdown_to_adf
from app.services.ticketing.payloads import jira_text
from app.services.ticketing.trackers import Draft, HttpTracker, Ticket, TrackerError, json_of
from app.services.webhooks.outcome import parse_retry_after

if TYPE_CHECKING:
    pass

__all__ = ["JiraClient"]

log = logging.getLogger(__name__)

LOOKUP_PAGES = 5
LOOKUP_PER_PAGE = 50
# Done statuses that mean "not done": a close as not planned picks one of these first.
NOT_PLANNED = re.compile(r"won.?t|cancel|declin|reject|not planned|obsolete|duplicate", re.I)


class JiraClient(HttpTracker):
    """Jira Cloud issues, as a `TicketClient`."""

    system = "jira"
    noun = "Jira issue"
    name = "Jira"
    setting = "The Jira site"

    # -- the calls -------------------------------------------------------------------------------

    def create(self, token: str, where: Mapping[str, Any], draft: Draft) -> Ticket:
        def call(assignee: str | None) -> Ticket:
            fields = {
                "project": {"key": where["project"]},
                "issuetype": {"name": where["issue_type"]},
                **self._fields(draft, assignee),
            }
            created = self._call(where, token, "POST", "/rest/api/3/issue", json={"fields": fields})
            try:
                ref, key = str(created["id"]), str(created["key"])
            except (KeyError, TypeError):
                raise TrackerError("Jira's answer is not a created issue") from None
            return Ticket(
                key=key, ref=ref, url=_browse(where, key), state="open", reason=None, body=None
            )

        return self._with_assignee(draft, call)

    def update(
        self,
        token: str,
        where: Mapping[str, Any],
        ref: str,
        draft: Draft,
        state: tuple[str, str | None] | None,
    ) -> Ticket:
        path = f"/rest/api/3/issue/{_id(ref)}"

        def call(assignee: str | None) -> None:
            fields = self._fields(draft, assignee)
            if assignee is None:
                fields["assignee"] = None  # unassigned: the owners cannot be
            self._call(where, token, "PUT", path, json={"fields": fields})

        self._with_assignee(draft, call)
        if state is not None:
            self._transition(token, where, ref, state)
        return self._read(token, where, ref)

    def find(
        self, token: str, where: Mapping[str, Any], marker: str, since: datetime
    ) -> Ticket | None:
        minutes = max(1, math.ceil((utcnow() - since).total_seconds() / 60) + 1)
        jql = f'project = "{where["project"]}" AND created >= "-{minutes}m" ORDER BY created DESC'
        for page in range(LOOKUP_PAGES):
            params = {
                "jql": jql,
                "startAt": str(page * LOOKUP_PER_PAGE),
                "maxResults": str(LOOKUP_PER_PAGE),
                "fields": ["description", "status"],
            }
            found = self._call(where, token, "GET", "/rest/api/3/search", params=params)
            issues = found.get("issues") if isinstance(found, dict) else None
            if not isinstance(issues, list):
                raise TrackerError("Jira's search answer has no list of issues")
            for issue in issues:
                description = jira_text(((issue or {}).get("fields") or {}).get("description"))
                lines = (description or "").splitlines()
                if marker in (line.strip() for line in lines):
                    return _ticket(where, issue)
            if len(issues) < LOOKUP_PER_PAGE:
                return None
        return None

    # -- helpers ---------------------------------------------------------------------------------

    def _fields(self, draft: Draft, assignee: str | None) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "summary": draft.title,
            "description": markdown_to_adf(draft.body),
            "labels": draft.labels,
        }
        if assignee is not None:
            fields["assignee"] = {"accountId": assignee}
        return fields

    def _with_assignee(self, draft: Draft, call: Callable[[str | None], Any]) -> Any:
        """`call` with the first owner's account; again with none when Jira refuses it."""
        assignee = draft.assignees[0] if draft.assignees else None
        try:
            return call(assignee)
        except TrackerError as exc:
            if exc.status != 400 or assignee is None or "assignee" not in exc.message:
                raise
            log.warning("Jira refused an issue's assignee; sent without one")
            return call(None)

    def _transition(
        self, token: str, where: Mapping[str, Any], ref: str, state: tuple[str, str | None]
    ) -> None:
        path = f"/rest/api/3/issue/{_id(ref)}/transitions"
        offered = self._call(where, token, "GET", path)
        transitions = offered.get("transitions") if isinstance(offered, dict) else None
        if not isinstance(transitions, list):
            raise TrackerError("Jira's answer has no list of transitions")
        chosen = _choose(transitions, state)
        if chosen is None:
            wanted = "done" if state[0] == "closed" else "to do"
            raise TrackerError(
                f"Jira offers no transition of issue {ref} to a status of the {wanted} "
                "category: add one to the project's workflow"
            )
        self._call(where, token, "POST", path, json={"transition": {"id": chosen}})

    def _read(self, token: str, where: Mapping[str, Any], ref: str) -> Ticket:
        params = {"fields": ["status"]}
        issue = self._call(where, token, "GET", f"/rest/api/3/issue/{_id(ref)}", params=params)
        return _ticket(where, issue)

    def _call(
        self,
        where: Mapping[str, Any],
        token: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        credentials = base64.b64encode(f"{where['email']}:{token}".encode()).decode("ascii")
        headers = {"Accept": "application/json", "Authorization": f"Basic {credentials}"}
        url = str(where["site"]).rstrip("/") + path
        response = self.send(method, url, headers, json=json, params=params)
        if response.status_code >= 300:
            raise TrackerError(
                f"Jira answered {method} {path} with {response.status_code}: {_message(response)}",
                retry_after=_retry_after(response),
                status=response.status_code,
            )
        if response.status_code == 204 or not response.content:
            return None
        return json_of(response, f"Jira's answer to {method} {path}")


def _id(ref: str) -> str:
    if not ref.isdigit():
        raise TrackerError(f"not a Jira issue id: {ref[:40]!r}")
    return ref


def _browse(where: Mapping[str, Any], key: str) -> str:
    return f"{str(where['site']).rstrip('/')}/browse/{key}"


def _ticket(where: Mapping[str, Any], issue: Any) -> Ticket:
    try:
        key = str(issue["key"])
        status = issue["fields"]["status"]
        category = str(status["statusCategory"]["key"])
        name = str(status.get("name") or "")
        ref = str(issue["id"])
    except (KeyError, TypeError):
        raise TrackerError("Jira's answer is not an issue with its status") from None
    closed = category == "done"
    reason = ("not_planned" if NOT_PLANNED.search(name) else "completed") if closed else None
    return Ticket(
        key=key,
        ref=ref,
        url=_browse(where, key),
        state="closed" if closed else "open",
        reason=reason,
        body=None,
    )


def _choose(transitions: list[Any], state: tuple[str, str | None]) -> str | None:
    """The id of the transition to a status of the category `state` asks for."""

    def category(t: Any) -> str:
        return str(((t.get("to") or {}).get("statusCategory") or {}).get("key") or "")

    def name(t: Any) -> str:
        return f"{t.get('name') or ''} {(t.get('to') or {}).get('name') or ''}"

    usable = [t for t in transitions if isinstance(t, dict) and t.get("id") is not None]
    if state[0] == "closed":
        done = [t for t in usable if category(t) == "done"]
        not_planned = [t for t in done if NOT_PLANNED.search(name(t))]
        planned = [t for t in done if not NOT_PLANNED.search(name(t))]
        ranked = (not_planned + planned) if state[1] == "not_planned" else (planned + done)
    else:
        ranked = [t for t in usable if category(t) == "new"]
        ranked += [t for t in usable if category(t) == "indeterminate"]
    return str(ranked[0]["id"]) if ranked else None


def _message(response: httpx.Response) -> str:
    """Jira's `errorMessages` and `errors` (field: message), never a header."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "no message"
    if not isinstance(body, dict):
        return response.reason_phrase or "no message"
    parts = [str(m) for m in body.get("errorMessages") or () if m]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{field}: {message}" for field, message in errors.items()]
    return ("; ".join(parts) or response.reason_phrase or "no message")[:300]


def _retry_after(response: httpx.Response) -> float | None:
    """When a rate-limited call may be made again (None: not a rate limit)."""
    if response.status_code not in (429, 503):
        return None
    given = parse_retry_after(response.headers.get("Retry-After"))
    if given is not None:
        return given
    return 60.0 if response.status_code == 429 else None
