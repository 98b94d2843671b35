"""What the ticket syncer asks of a tracker, whichever it is: one shape (`TicketClient`) that
the GitHub, Jira and Linear clients each take, and the HTTP call they share.

A client finds a ticket by the item's marker line, opens one, and brings one up to the item
(title, body, assignees, labels, and its state: open, or closed as completed or not planned).
It raises `TrackerError` for whatever the tracker refused or did not answer, with
`retry_after` when the tracker said when to try again (rate limits).

Every call goes where the webhooks go, under the same rules (`app/services/webhooks/ssrf.py`):
the URL is parsed, its host resolved again and vetted, and the request sent through a
`PinnedTransport` to exactly that address, within `WEBHOOK_TIMEOUT`, no redirect followed, no
proxy or cookie. Tokens travel in the `Authorization` header only: no error, log line or
exception here carries one.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx

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

__all__ = ["Draft", "HttpTracker", "Ticket", "TicketClient", "TrackerError"]

USER_AGENT = "staffing-checklist-tickets/1"
# A page of tickets (the marker look-up) is larger than a webhook's answer.
MAX_TRACKER_RESPONSE = 4 * 1024 * 1024


class TrackerError(Exception):
    """A call that did not do what it asked; `retry_after` when the tracker said when to try
    again (rate limits)."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.status = status  # the tracker's answer, when there was one


@dataclass(frozen=True)
class Ticket:
    """A ticket as the tracker has it, in the syncer's terms."""

    key: str  # as people and inbound deliveries write it: `acme/app#12`, `CLIN-7`, `ENG-42`
    ref: str  # what the tracker's API addresses it by: the issue number, Jira id, Linear id
    url: str
    state: str  # `open` or `closed`
    reason: str | None  # when closed: `completed` or `not_planned`
    body: str | None = None  # the body in the item's Markdown, when the tracker gives it back


@dataclass(frozen=True)
class Draft:
    """What the item asks its ticket to show."""

    title: str
    body: str  # Markdown, ending with the marker line
    marker: str
    labels: list[str]
    assignees: list[str]  # the owners' handles for this tracker


class TicketClient(Protocol):
    """A tracker, as the syncer calls it. `where` is the integration's `tickets` settings
    (repository; site, project and issue type; team) and `token` its decrypted credential."""

    system: str  # the ticket system of the item's link: `github`, `jira`, `linear`
    noun: str  # how a reason names its tickets: `GitHub issue`

    def find(
        self, token: str, where: Mapping[str, Any], marker: str, since: datetime
    ) -> Ticket | None:
        """The ticket whose body has the marker line, among those made since `since`."""
        ...

    def create(self, token: str, where: Mapping[str, Any], draft: Draft) -> Ticket:
        """A new open ticket showing `draft`."""
        ...

    def update(
        self,
        token: str,
        where: Mapping[str, Any],
        ref: str,
        draft: Draft,
        state: tuple[str, str | None] | None,
    ) -> Ticket:
        """The ticket brought up to `draft`, and moved to `state` when given."""
        ...

    def close(self) -> None: ...


class HttpTracker:
    """The HTTP call of a tracker's client; one per worker, its connections pooled."""

    name = "The tracker"
    setting = "the tracker's URL"

    def __init__(self, settings: Settings, *, resolve: Resolver | None = None) -> None:
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

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request to `url`, to the address vetted for it; the answer read whole."""
        deadline = time.monotonic() + self.timeout
        try:
            target = parse_target(url, require_https=self.require_https)
            ip = resolve_public(
                target.host, target.port, allow_private=self.allow_private, resolve=self._resolve
            )
        except BadURL as exc:
            raise TrackerError(f"{self.setting} is not usable: {exc}") from None
        except TargetRefused as exc:
            raise TrackerError(f"refused: {exc.reason}") from None
        try:
            with pinned_attempt(ip, deadline, MAX_TRACKER_RESPONSE):
                request = self._client.build_request(
                    method,
                    target.url,
                    params=params,
                    json=json,
                    headers={"User-Agent": USER_AGENT, **headers},
                    timeout=httpx.Timeout(self.timeout, connect=self.connect_timeout),
                    extensions={"sni_hostname": target.server_name} if target.server_name else None,
                )
                response = self._client.send(request)
                response.read()
                self._client.cookies.clear()  # nothing of one call carries to the next
        except httpx.TimeoutException:
            raise TrackerError(f"{self.name} did not answer within {self.timeout:g} s") from None
        except ReadCapReached:
            raise TrackerError(
                f"{self.name}'s answer is longer than {MAX_TRACKER_RESPONSE} bytes"
            ) from None
        except (httpx.TransportError, OSError) as exc:
            raise TrackerError(f"{self.name} could not be reached: {type(exc).__name__}") from None
        return response


def json_of(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise TrackerError(f"{what} is not JSON") from None
