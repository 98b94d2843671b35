"""GitHub's REST API for native tickets: open, update, close and find issues.

Every call goes where the webhooks go, under the same rules (`app/services/webhooks/ssrf.py`):
the URL (`GITHUB_API_URL` + the path) is parsed, its host resolved again and vetted, and the
request sent through a `PinnedTransport` to exactly that address, within `WEBHOOK_TIMEOUT`, no
redirect followed, no proxy or cookie. The token travels in the `Authorization` header only: no
error, log line or exception here carries it.

Rate limits: a 429, or a 403 with `X-RateLimit-Remaining: 0` or a `Retry-After` (GitHub's
secondary limits), is a `TrackerError` whose `retry_after` says when to try again
(`Retry-After`, else `X-RateLimit-Reset`).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from app.services.webhooks.outcome import parse_retry_after
from app.services.webhooks.pinning import PinnedTransport, ReadCapReached, pinned_attempt
from app.services.webhooks.ssrf import (
    BadURL,
    Resolver,
    TargetRefused,
    parse_target,
    resolve_public,
    system_resolve,
)

if TYPE_CHECKING:
    from app.config import Settings

__all__ = ["GitHubClient", "Issue", "TrackerError"]

# GitHub's REST API version this client is written against (its `X-GitHub-Api-Version`).
API_VERSION = "2022-11-28"
USER_AGENT = "staffing-checklist-tickets/1"
# A page of issues (the marker look-up) is larger than a webhook's answer.
MAX_TRACKER_RESPONSE = 4 * 1024 * 1024
# The look-up reads issues updated since the intent, newest first, this many pages at most.
LOOKUP_PAGES = 5
LOOKUP_PER_PAGE = 100


class TrackerError(Exception):
    """A call that did not do what it asked; `retry_after` when the tracker said when to try
    again (rate limits)."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.status = status  # GitHub's answer, when there was one


@dataclass(frozen=True)
class Issue:
    number: int
    url: str
    state: str
    state_reason: str | None
    body: str


class GitHubClient:
    """One per worker; its connections are pooled (to the API's one origin)."""

    def __init__(self, settings: Settings, *, resolve: Resolver | None = None) -> None:
        self.base = settings.github_api_url.rstrip("/")
        self.allow_private = settings.webhook_allow_private_targets
        self.require_https = settings.webhook_require_https
        self.timeout = float(settings.webhook_timeout)
        self.connect_timeout = float(settings.webhook_connect_timeout)
        self._resolve = resolve or system_resolve
        self._client = httpx.Client(
            transport=PinnedTransport(
                ssl.create_default_context(), max_keepalive=4, keepalive_expiry=30.0
            ),
            follow_redirects=False,
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    # -- the calls -------------------------------------------------------------------------------

    def create_issue(
        self,
        token: str,
        repository: str,
        *,
        title: str,
        body: str,
        labels: list[str],
        assignees: list[str],
    ) -> Issue:
        payload: dict[str, Any] = {"title": title, "body": body}
        if labels:
            payload["labels"] = labels
        if assignees:
            payload["assignees"] = assignees
        answer = self._call("POST", f"/repos/{_repo(repository)}/issues", token, json=payload)
        return _issue(answer)

    def update_issue(
        self, token: str, repository: str, number: int, fields: Mapping[str, Any]
    ) -> Issue:
        path = f"/repos/{_repo(repository)}/issues/{int(number)}"
        return _issue(self._call("PATCH", path, token, json=dict(fields)))

    def find_by_marker(
        self, token: str, repository: str, marker: str, since: datetime
    ) -> Issue | None:
        """The issue whose body holds the marker line, among those updated since `since`
        (the list of a repository's issues is consistent at once, unlike the search API)."""
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
                    return _issue(entry)
            if len(found) < LOOKUP_PER_PAGE:
                return None
        return None

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
        started = time.monotonic()
        deadline = started + self.timeout
        try:
            target = parse_target(self.base + path, require_https=self.require_https)
            ip = resolve_public(
                target.host, target.port, allow_private=self.allow_private, resolve=self._resolve
            )
        except BadURL as exc:
            raise TrackerError(f"GITHUB_API_URL is not usable: {exc}") from None
        except TargetRefused as exc:
            raise TrackerError(f"refused: {exc.reason}") from None
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        try:
            with pinned_attempt(ip, deadline, MAX_TRACKER_RESPONSE):
                request = self._client.build_request(
                    method,
                    target.url,
                    params=params,
                    json=json,
                    headers=headers,
                    timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
                    extensions={"sni_hostname": target.server_name} if target.server_name else None,
                )
                response = self._client.send(request)
                response.read()
                self._client.cookies.clear()  # nothing of one call carries to the next
        except httpx.TimeoutException:
            raise TrackerError(f"GitHub did not answer within {self.timeout:g} s") from None
        except ReadCapReached:
            raise TrackerError(
                f"GitHub's answer is longer than {MAX_TRACKER_RESPONSE} bytes"
            ) from None
        except (httpx.TransportError, OSError) as exc:
            raise TrackerError(f"GitHub could not be reached: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise TrackerError(
                f"GitHub answered {method} {path.split('?')[0]} with {response.status_code}: "
                f"{_message(response)}",
                retry_after=_retry_after(response),
                status=response.status_code,
            )
        try:
            return response.json()
        except ValueError:
            raise TrackerError(f"GitHub's answer to {method} {path} is not JSON") from None


def _repo(repository: str) -> str:
    owner, _, name = repository.partition("/")
    return f"{quote(owner, safe='')}/{quote(name, safe='')}"


def _issue(answer: Any) -> Issue:
    try:
        return Issue(
            number=int(answer["number"]),
            url=str(answer["html_url"]),
            state=str(answer["state"]),
            state_reason=answer.get("state_reason"),
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
