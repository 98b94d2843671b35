"""GitHub's REST API for native tickets: open, update, close and find issues.

Calls go through `HttpTracker.send` (`trackers.py`: the webhooks' SSRF rules, pinned to the
vetted address) to `GITHUB_API_URL`.

Rate limits: a 429, or a 403 with `X-RateLimit-Remaining: 0` or a `Retry-After` (GitHub's
secondary limits), is a `TrackerError` whose `retry_after` says when to try again
(`Retry-After`, else `X-RateLimit-Reset`).

Assignees GitHub refuses (422: people who may not be assigned in the repository) are left out:
that call alone is sent again without them, so an issue just opened is never opened twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from app.services.ticketing.trackers import Draft, HttpTracker, Ticket, TrackerError, json_of
from app.services.webhooks.outcome import parse_retry_after
from app.services.webhooks.ssrf import Resolver

if TYPE_CHECKING:
    from app.config import Settings

__all__ = ["GitHubClient"]

log = logging.getLogger(__name__)

# GitHub's REST API version this client is written against (its `X-GitHub-Api-Version`).
API_VERSION = "2022-11-28"
# The look-up reads issues updated since the intent, newest first, this many pages at most.
LOOKUP_PAGES = 5
LOOKUP_PER_PAGE = 100


class GitHubClient(HttpTracker):
    """GitHub issues, as a `TicketClient`."""

    system = "github"
    noun = "GitHub issue"
    name = "GitHub"
    setting = "GITHUB_API_URL"

    def __init__(self, settings: Settings, *, resolve: Resolver | None = None) -> None:
        super().__init__(settings, resolve=resolve)
        self.base = settings.github_api_url.rstrip("/")

    # -- the calls -------------------------------------------------------------------------------

    def create(self, token: str, where: Mapping[str, Any], draft: Draft) -> Ticket:
        repository = where["repository"]

        def call(assignees: list[str]) -> Ticket:
            payload: dict[str, Any] = {"title": draft.title, "body": draft.body}
            if draft.labels:
                payload["labels"] = draft.labels
            if assignees:
                payload["assignees"] = assignees
            path = f"/repos/{_repo(repository)}/issues"
            return _issue(repository, self._call("POST", path, token, json=payload))

        return self._with_assignees(draft, call)

    def update(
        self,
        token: str,
        where: Mapping[str, Any],
        ref: str,
        draft: Draft,
        state: tuple[str, str | None] | None,
    ) -> Ticket:
        repository = where["repository"]
        fields: dict[str, Any] = {"title": draft.title, "body": draft.body}
        if state is not None:
            fields["state"] = state[0]
            fields["state_reason"] = state[1] if state[0] == "closed" else "reopened"
        path = f"/repos/{_repo(repository)}/issues/{int(ref)}"

        def call(assignees: list[str]) -> Ticket:
            answer = self._call("PATCH", path, token, json={**fields, "assignees": assignees})
            return _issue(repository, answer)

        return self._with_assignees(draft, call)

    def find(
        self, token: str, where: Mapping[str, Any], marker: str, since: datetime
    ) -> Ticket | None:
        """The issue whose body holds the marker line, among those updated since `since`
        (the list of a repository's issues is consistent at once, unlike the search API)."""
        repository = where["repository"]
        for page in range(1, LOOKUP_PAGES + 1):
            params = {
                "state": "all",
                "since": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "sort": "created",
                "direction": "desc",
                "per_page": str(LOOKUP_PER_PAGE),
                "page": str(page),
            }
            found = self._call("GET", f"/repos/{_repo(repository)}/issues", token, params=params)
            if not isinstance(found, list):
                raise TrackerError("GitHub's list of issues is not a list")
            for entry in found:
                if "pull_request" in entry:
                    continue
                lines = (entry.get("body") or "").splitlines()
                if marker in (line.strip() for line in lines):
                    return _issue(repository, entry)
            if len(found) < LOOKUP_PER_PAGE:
                return None
        return None

    def _with_assignees(self, draft: Draft, call: Callable[[list[str]], Ticket]) -> Ticket:
        """`call` with the item's assignees; again without them when GitHub refuses them."""
        try:
            return call(draft.assignees)
        except TrackerError as exc:
            if exc.status != 422 or not draft.assignees:
                raise
            log.warning("GitHub refused an issue's assignees; sent without them")
            return call([])

    # -- one request -----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        token: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": API_VERSION,
        }
        response = self.send(method, self.base + path, headers, json=json, params=params)
        if response.status_code >= 300:
            raise TrackerError(
                f"GitHub answered {method} {path.split('?')[0]} with {response.status_code}: "
                f"{_message(response)}",
                retry_after=_retry_after(response),
                status=response.status_code,
            )
        return json_of(response, f"GitHub's answer to {method} {path}")


def _repo(repository: str) -> str:
    owner, _, name = repository.partition("/")
    return f"{quote(owner, safe='')}/{quote(name, safe='')}"


def _issue(repository: str, answer: Any) -> Ticket:
    try:
        number = int(answer["number"])
        state = str(answer["state"])
        reason = answer.get("state_reason") if state == "closed" else None
        return Ticket(
            key=f"{repository}#{number}",
            ref=str(number),
            url=str(answer["html_url"]),
            state=state,
            reason=None if reason is None else str(reason),
            body=answer.get("body") or "",
        )
    except (KeyError, TypeError, ValueError):
        raise TrackerError("GitHub's answer is not an issue") from None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "no message"
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or response.reason_phrase or "no message")[:200]


def _retry_after(response: httpx.Response) -> float | None:
    """When a rate-limited call may be made again (None: not a rate limit)."""
    if response.status_code not in (403, 429):
        return None
    given = parse_retry_after(response.headers.get("Retry-After"))
    if given is not None:
        return given
    if response.headers.get("X-RateLimit-Remaining") == "0":
        try:
            reset = float(response.headers["X-RateLimit-Reset"])
        except (KeyError, ValueError):
            return 60.0
        return max(0.0, min(reset - time.time(), 3600.0))
    return 60.0 if response.status_code == 429 else None
