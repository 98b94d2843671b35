"""Sending webhook attempts: `WebhookSender`, one POST at a time through `httpx.Client`.

An attempt parses the URL (once per sender: a bounded cache, URLs are immutable strings),
resolves and vets its host again (`ssrf.resolve_public`), then posts through the endpoint's
client, whose `PinnedTransport` connects to exactly that address. It has one deadline
(`total_timeout`), from the DNS lookup to the last byte read; redirects are answers, never
followed; cookies are neither kept nor sent; nothing is taken from the environment (no proxy,
no certificate bundle). `send` never raises for a network failure: it returns a `SendResult`
with `status_code=None` and a short `error`.

Each endpoint has its own client and keep-alive connections: a connection made, and its
certificate checked, for one host never carries another host's request (many hosts share the
addresses of a CDN). An endpoint whose URL moves to another origin gets a new client.

Pure Python: the settings come in as arguments (`WebhookSender.from_settings` reads them off
`app.config.Settings`).
"""

from __future__ import annotations

import functools
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookiejar import Cookie, CookieJar
from typing import TYPE_CHECKING, Any

import httpx

from app.services.webhooks.outcome import (
    EXCERPT_BYTES,
    SendResult,
    decode_excerpt,
    describe_failure,
    elapsed_ms,
    parse_retry_after,
)
from app.services.webhooks.pinning import (
    MAX_RESPONSE_BYTES,
    PinnedTransport,
    ReadCapReached,
    pinned_attempt,
)
from app.services.webhooks.ssrf import (
    BadURL,
    Resolver,
    Target,
    TargetRefused,
    TargetUnresolved,
    parse_target,
    resolve_public,
    system_resolve,
)

if TYPE_CHECKING:
    from app.config import Settings

__all__ = ["DEFAULT_USER_AGENT", "WebhookSender"]

DEFAULT_USER_AGENT = "staffing-checklist-webhooks/1"

# Set by the sender whatever the caller passes.
_SENDER_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})


class _BadHeader(ValueError):
    pass


class WebhookSender:
    """Sends webhook requests; one per worker process, shared by its threads.

    Clients are made on an endpoint's first attempt; past `max_clients` the least recently
    used is closed. `close()` closes them all. As many parsed URLs as `max_clients` are kept.
    """

    def __init__(
        self,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        connect_timeout: float = 5.0,
        total_timeout: float = 15.0,
        allow_private: bool = False,
        require_https: bool = False,
        resolve: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_clients: int = 256,
        max_keepalive_per_endpoint: int = 4,
        keepalive_expiry: float = 30.0,
    ) -> None:
        if not connect_timeout > 0 or not total_timeout > 0:
            raise ValueError("webhook timeouts must be positive")
        if max_clients < 1:
            raise ValueError("max_clients must be at least 1")
        self.user_agent = user_agent
        self.connect_timeout = float(connect_timeout)
        self.total_timeout = float(total_timeout)
        self.allow_private = allow_private
        self.require_https = require_https
        self._resolve = resolve or system_resolve
        self._ssl_context = ssl_context or httpx.create_ssl_context()
        self._max_keepalive = max_keepalive_per_endpoint
        self._keepalive_expiry = keepalive_expiry
        _ascii(user_agent, "the user agent")
        self._clients = _EndpointClients(self._new_client, max_clients)
        # Failures are not cached (a bad URL is parsed again each time it is sent to).
        self._parse_url = functools.lru_cache(maxsize=max_clients)(parse_target)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> WebhookSender:
        """A sender configured by the `webhook_*` settings; `options` are passed on."""
        return cls(
            connect_timeout=settings.webhook_connect_timeout,
            total_timeout=settings.webhook_timeout,
            allow_private=settings.webhook_allow_private_targets,
            require_https=settings.webhook_require_https,
            **options,
        )

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(
        self, endpoint_id: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> SendResult:
        """POST `body` to `url` once. Network failures, refused targets and bad URLs are
        results with `status_code=None`, never exceptions."""
        started = time.monotonic()
        deadline = started + self.total_timeout

        def failed(error: str) -> SendResult:
            return SendResult(None, elapsed_ms(started), error=error)

        try:
            if isinstance(url, str):
                target = self._parse_url(url, require_https=self.require_https)
            else:
                target = parse_target(url, require_https=self.require_https)
        except BadURL as exc:
            return failed(f"invalid URL: {exc}")
        try:
            request_headers = _request_headers(headers)
        except _BadHeader as exc:
            return failed(f"invalid header: {exc}")
        try:
            ip = resolve_public(
                target.host, target.port, allow_private=self.allow_private, resolve=self._resolve
            )
        except TargetUnresolved as exc:
            return failed(f"DNS: {exc.reason}")
        except TargetRefused as exc:
            return failed(f"refused: {exc.reason}")
        if time.monotonic() >= deadline:
            return failed(f"timed out after {self.total_timeout:g} s (resolving {target.host})")

        try:
            with (
                self._clients.use(endpoint_id, target.origin) as client,
                pinned_attempt(ip, deadline),
            ):
                status, retry_after, excerpt = self._exchange(
                    client, target, request_headers, body, deadline
                )
        except httpx.TimeoutException as exc:
            connecting = isinstance(exc, httpx.ConnectTimeout)
            if connecting and time.monotonic() < deadline - 0.01:
                return failed(f"connect timed out after {self.connect_timeout:g} s")
            return failed(f"timed out after {self.total_timeout:g} s")
        except ReadCapReached:
            return failed(f"the response's head is longer than {MAX_RESPONSE_BYTES} bytes")
        except (httpx.TransportError, OSError) as exc:
            return failed(describe_failure(exc))
        return SendResult(
            status,
            elapsed_ms(started),
            excerpt=excerpt,
            retry_after=parse_retry_after(retry_after),
        )

    def _exchange(
        self,
        client: httpx.Client,
        target: Target,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        deadline: float,
    ) -> tuple[int, str | None, str]:
        """One request and the start of its answer: the status, `Retry-After` and the
        excerpt."""
        left = max(deadline - time.monotonic(), 0.001)
        request = client.build_request(
            "POST",
            target.url,
            headers=headers,
            content=body,
            timeout=httpx.Timeout(left, connect=min(self.connect_timeout, left)),
            extensions={"sni_hostname": target.server_name} if target.server_name else None,
        )
        response = client.send(request, stream=True)
        kept = bytearray()
        try:
            for chunk in response.iter_raw():
                kept += chunk[: EXCERPT_BYTES - len(kept)]
        except ReadCapReached:
            pass  # a long answer: its start is all we keep; the connection is not reused
        finally:
            response.close()
        excerpt = decode_excerpt(bytes(kept), response.headers.get("content-type"))
        return response.status_code, response.headers.get("retry-after"), excerpt

    def _new_client(self) -> httpx.Client:
        return httpx.Client(
            transport=PinnedTransport(
                self._ssl_context,
                max_keepalive=self._max_keepalive,
                keepalive_expiry=self._keepalive_expiry,
            ),
            # httpx's defaults, but no compression (the excerpt is read raw) and our name.
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "identity"},
            cookies=_NoCookies(),
            follow_redirects=False,
            # Environment proxies would be mounted beside our transport, unpinned.
            trust_env=False,
        )

    def close(self) -> None:
        """Close every connection; clients in use close when their request ends. The sender
        can still send afterwards (it opens new connections)."""
        self._clients.close()


class _NoCookies(CookieJar):
    """A receiver's cookies are neither kept nor sent back: deliveries are not a session."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass

    def set_cookie(self, cookie: Cookie) -> None:
        pass


@dataclass(eq=False)
class _Entry:
    client: httpx.Client
    origin: tuple[str, str, int]
    users: int = 0
    retired: bool = False


class _EndpointClients:
    """A client per endpoint, the least recently used closed past `limit`; a client is closed
    once no attempt uses it (closing it earlier would break the attempts in flight)."""

    def __init__(self, make: Callable[[], httpx.Client], limit: int) -> None:
        self._make = make
        self._limit = limit
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    @contextmanager
    def use(self, endpoint_id: str, origin: tuple[str, str, int]) -> Iterator[httpx.Client]:
        """The endpoint's client for `origin`, made if needed, held while in the block."""
        to_close: list[_Entry] = []
        with self._lock:
            entry = self._entries.get(endpoint_id)
            if entry is not None and entry.origin != origin:
                # Another host: never reuse a connection made (and verified) for the old one.
                del self._entries[endpoint_id]
                to_close += _retire(entry)
                entry = None
            if entry is None:
                entry = _Entry(self._make(), origin)
                self._entries[endpoint_id] = entry
                while len(self._entries) > self._limit:
                    to_close += _retire(self._entries.popitem(last=False)[1])
            else:
                self._entries.move_to_end(endpoint_id)
            entry.users += 1
        for old in to_close:
            old.client.close()
        try:
            yield entry.client
        finally:
            with self._lock:
                entry.users -= 1
                close = entry.retired and entry.users == 0
            if close:
                entry.client.close()

    def close(self) -> None:
        with self._lock:
            to_close = [e for entry in self._entries.values() for e in _retire(entry)]
            self._entries.clear()
        for entry in to_close:
            entry.client.close()


def _retire(entry: _Entry) -> list[_Entry]:
    """Mark a client for closing; it is returned if nobody is using it (close it now)."""
    entry.retired = True
    return [entry] if entry.users == 0 else []


def _request_headers(headers: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    """The caller's headers, checked, without those the sender sets (`Host` and the framing).
    The client adds its defaults for the names not given here."""
    checked = []
    for name, value in headers.items():
        if name.lower() not in _SENDER_HEADERS:
            checked.append((_ascii(name, "the header name"), _ascii(value, f"the value of {name}")))
    return checked


def _ascii(text: str, what: str) -> bytes:
    try:
        return text.encode("ascii")
    except (AttributeError, UnicodeEncodeError):
        raise _BadHeader(f"{what} is not ASCII text: {text!r}") from None
