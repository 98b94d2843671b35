"""The httpx transport that connects to the vetted address only, within an attempt's deadline.

httpx sends the request; what it lacks is pinning: connecting to the address the SSRF policy
vetted for this attempt (`ssrf.resolve_public`) rather than resolving the URL's name again,
which a DNS answer that changed since (rebinding) could point anywhere. `PinnedTransport`
replaces the URL's host by that address; the `Host` header, the TLS server name (the request's
`sni_hostname` extension) and the certificate's hostname check keep the original name. No
second lookup happens: httpcore connects to an IP literal.

Below it, the network backend (`_PinnedBackend`, on httpcore's public backend interface, which
httpx 0.28 cannot be given: encode/httpx#3749) refuses any connection that is not to the
address vetted for the attempt in progress, and holds each socket operation to the attempt's
one deadline and each response to `MAX_RESPONSE_BYTES` read. An attempt is a scope
(`pinned_attempt`) on the sending thread, around the request and the reading of its answer.
"""

from __future__ import annotations

import functools
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import httpcore
import httpx

__all__ = ["MAX_RESPONSE_BYTES", "PinnedTransport", "ReadCapReached", "pinned_attempt"]

# The most read from the socket for one response, status line and headers included; the body
# is read to its end (so the connection can be kept) only when it fits.
MAX_RESPONSE_BYTES = 64 * 1024


class ReadCapReached(Exception):
    """The response has had its `MAX_RESPONSE_BYTES`; not a failure, the reading stops."""


class _Attempt(threading.local):
    """The attempt the current thread is making: the network backend's rules for it."""

    active: bool = False
    ip: str = ""
    deadline: float = 0.0
    left_to_read: int = 0


_attempt = _Attempt()


@contextmanager
def _attempt_to(ip: str, deadline: float, max_bytes: int) -> Iterator[None]:
    _attempt.active, _attempt.ip, _attempt.deadline = True, ip, deadline
    _attempt.left_to_read = max_bytes
    try:
        yield
    finally:
        _attempt.active = False


def pinned_attempt(
    ip: str, deadline: float, max_bytes: int = MAX_RESPONSE_BYTES
) -> AbstractContextManager[None]:
    """Within it, this thread's requests through a `PinnedTransport` go to `ip` only, no
    socket operation outlasts `deadline` (a `time.monotonic()` reading), and at most
    `max_bytes` (`MAX_RESPONSE_BYTES` for a webhook) are read."""
    return _attempt_to(ip, deadline, max_bytes)


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    """`timeout` cut to what is left of the attempt's deadline."""
    if not _attempt.active:
        return timeout
    left = _attempt.deadline - time.monotonic()
    if left <= 0:
        raise expired("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _GuardedStream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most until the attempt's deadline,
    and whose reads stop at the attempt's byte budget."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        timeout = _bounded(timeout, httpcore.ReadTimeout)
        if _attempt.active:
            if _attempt.left_to_read <= 0:
                raise ReadCapReached
            max_bytes = min(max_bytes, _attempt.left_to_read)
        data = self._inner.read(max_bytes, timeout)
        if _attempt.active:
            _attempt.left_to_read -= len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        return _GuardedStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to the address vetted for the attempt in progress."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        if not _attempt.active or host != _attempt.ip:
            raise httpcore.ConnectError(f"refused: {host} is not the vetted address")
        timeout = _bounded(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _GuardedStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("refused: webhooks do not use Unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport (HTTP/1.1, no proxy, nothing from the environment) whose requests
    go to the address vetted for the attempt in progress, over the pinned backend.

    httpx's exception mapping, request and response conversion are kept; only the pool is
    built again, the same as httpx builds it but on `_PinnedBackend`.
    """

    def __init__(
        self, ssl_context: ssl.SSLContext, *, max_keepalive: int, keepalive_expiry: float
    ) -> None:
        super().__init__(verify=ssl_context, trust_env=False, http1=True, http2=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=None,
            max_keepalive_connections=max_keepalive,
            keepalive_expiry=keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=_PinnedBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not _attempt.active:
            raise httpx.ConnectError("refused: no address was vetted for this request")
        # The URL's host becomes the vetted address; the Host header was set from the URL
        # when the request was built, and the server name travels as `sni_hostname`.
        request.url = _pinned_url(request.url, _attempt.ip)
        return super().handle_request(request)


@functools.lru_cache(maxsize=1024)
def _pinned_url(url: httpx.URL, ip: str) -> httpx.URL:
    """`url` with `ip` for its host (cached: an endpoint's URL and address rarely change, and
    httpx parses the whole URL again to replace a part)."""
    return url.copy_with(host=ip)
