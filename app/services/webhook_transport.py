"""The outgoing HTTP side of webhooks: which URLs may be targets, and one delivery attempt.

No SSRF. A URL is vetted when an endpoint is saved (`vet_target_url`), and every attempt
resolves its host once more (`resolve_public`) and connects to exactly the address that was
vetted: the request URL's host is replaced by that IP, while the `Host` header, the TLS server
name (SNI) and the certificate's hostname check keep the original name. A DNS answer that
changes between the check and the connection (rebinding) cannot reach another address, because
nothing resolves the name again. The network backend under the connection pool refuses any
connection that is not to the address vetted for the attempt in progress.

An attempt has one deadline (`total_timeout`), from the DNS lookup to the last byte read: every
socket operation waits at most for what is left of it. At most `MAX_RESPONSE_BYTES` are read
from a response, and redirects are never followed. `WebhookSender.send` never raises for a
network failure: it returns a `SendResult` with `status_code=None` and a short `error`.

Pure Python: the settings come in as arguments (`WebhookSender.from_settings` reads them off
`app.config.Settings`).
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from app.errors import ValidationFailed

if TYPE_CHECKING:
    from app.config import Settings

__all__ = [
    "DEFAULT_USER_AGENT",
    "EXCERPT_BYTES",
    "MAX_RESPONSE_BYTES",
    "MAX_RETRY_AFTER",
    "MAX_URL_LENGTH",
    "Resolver",
    "SendResult",
    "TargetRefused",
    "TargetUnresolved",
    "WebhookSender",
    "non_public_reason",
    "parse_host_address",
    "parse_retry_after",
    "resolve_public",
    "system_resolve",
    "vet_target_url",
]

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_USER_AGENT = "staffing-checklist-webhooks/1"
MAX_URL_LENGTH = 2048
# The most read from the socket for one response, status line and headers included; the body
# is read to its end (so the connection can be kept) only when it fits.
MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_BYTES = 1024
MAX_RETRY_AFTER = 24 * 3600.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


# -- Addresses ---------------------------------------------------------------------------------


class TargetRefused(Exception):
    """A delivery target that must not be connected to; `reason` says why, for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TargetUnresolved(TargetRefused):
    """The target's host name does not resolve (or the lookup failed)."""


_RFC1918 = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_DOCUMENTATION = (
    ipaddress.IPv4Network("192.0.2.0/24"),
    ipaddress.IPv4Network("198.51.100.0/24"),
    ipaddress.IPv4Network("203.0.113.0/24"),
    ipaddress.IPv6Network("2001:db8::/32"),
    ipaddress.IPv6Network("3fff::/20"),
)
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def non_public_reason(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address (`"a private address"`, ...), or None if it is one.

    Public means globally routable (`is_global`) and not multicast; an IPv6 address that
    carries an IPv4 one (IPv4-mapped, 6to4, NAT64) is judged by the IPv4 address it carries.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded, how = _embedded_ipv4(ip)
        if embedded is not None:
            inner = non_public_reason(embedded)
            return None if inner is None else f"{how} {embedded}, {inner}"
        if ip in _NAT64_LOCAL:
            return "a local-use NAT64 address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in _CGNAT:
        return "a shared (CGNAT) address"
    if any(ip in net for net in _RFC1918) or ip in _UNIQUE_LOCAL:
        return "a private address"
    if any(ip in net for net in _DOCUMENTATION):
        return "a documentation address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a non-public address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, str]:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "the IPv4-mapped form of"
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour, "a 6to4 address for"
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "a NAT64 address for"
    return None, ""


_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)")


def parse_host_address(host: str) -> IPAddress | None:
    """The IP address a URL host denotes, or None for a DNS name.

    Besides the usual forms (IPv6 with or without brackets), IPv4 is read the way
    `inet_aton` and `getaddrinfo` read it: `2130706433`, `0177.0.0.1`, `0x7f.1` and `127.1`
    are all 127.0.0.1. A host whose last label is a number but that is no valid IPv4 address
    (`1.2.3.256`, `08.1.1.1`) raises `ValueError`, as it must not be sent to DNS either.
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in bare:
        if "%" in bare:
            raise ValueError(f"{host} has an IPv6 zone identifier")
        return ipaddress.IPv6Address(bare)
    name = bare[:-1] if bare.endswith(".") else bare
    parts = name.split(".")
    if not _NUMBER.fullmatch(parts[-1]):
        return None
    if len(parts) > 4 or not all(_NUMBER.fullmatch(p) for p in parts):
        raise ValueError(f"{host} is not a valid IPv4 address")
    numbers = [_inet_aton_part(p, host) for p in parts]
    *leading, last = numbers
    if any(n > 0xFF for n in leading) or last >= 1 << (8 * (5 - len(numbers))):
        raise ValueError(f"{host} is not a valid IPv4 address")
    value = last
    for index, number in enumerate(leading):
        value |= number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _inet_aton_part(part: str, host: str) -> int:
    try:
        if part[:2].lower() == "0x":
            return int(part[2:], 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10)
    except ValueError:
        raise ValueError(f"{host} is not a valid IPv4 address") from None


def system_resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (for TCP), in `getaddrinfo`'s order of preference."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_public(
    host: str, port: int, *, allow_private: bool, resolve: Resolver | None = None
) -> str:
    """Resolve `host` once and return the address to connect to.

    Raises `TargetRefused` if the host is, or resolves to, any non-public address (unless
    `allow_private`), and `TargetUnresolved` (a `TargetRefused`) if the name does not resolve.
    IP literals, odd IPv4 spellings included, are never sent to the resolver.
    """
    try:
        literal = parse_host_address(host)
    except ValueError as exc:
        raise TargetRefused(str(exc)) from None
    if literal is not None:
        reason = non_public_reason(literal)
        if reason and not allow_private:
            spelled = "" if str(literal) == host.strip("[]") else f" ({host})"
            raise TargetRefused(f"{literal}{spelled} is {reason}")
        return _connectable(literal)

    try:
        answers = (resolve or system_resolve)(host, port)
    except socket.gaierror as exc:
        raise TargetUnresolved(f"{host} does not resolve ({_gai_message(exc)})") from None
    except (OSError, UnicodeError) as exc:
        raise TargetUnresolved(f"{host} does not resolve ({exc})") from None
    if not answers:
        raise TargetUnresolved(f"{host} does not resolve (no address)")
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            addresses.append(ipaddress.ip_address(answer))
        except ValueError:
            raise TargetRefused(f"{host} resolves to {answer!r}, not an IP address") from None
    if not allow_private:
        for address in addresses:
            if reason := non_public_reason(address):
                raise TargetRefused(f"{host} resolves to {address}, {reason}")
    return _connectable(addresses[0])


def _connectable(ip: IPAddress) -> str:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def _gai_message(exc: socket.gaierror) -> str:
    if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)):
        return "no such name"
    if exc.errno == socket.EAI_AGAIN:
        return "temporary DNS failure"
    return str(exc.strerror or exc).lower()


# -- URLs --------------------------------------------------------------------------------------


class _BadURL(Exception):
    pass


@dataclass(frozen=True)
class _Target:
    url: httpx.URL
    scheme: str
    host: str  # as in the URL: ASCII (IDNA), lower case, IPv6 without brackets
    port: int  # the effective port
    host_header: str
    sni: str | None  # the TLS server name (None for an IP literal, or for http)

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)")
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?", re.IGNORECASE)
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


def _parse_target(url: object, *, require_https: bool) -> _Target:
    """The URL's parts, or `_BadURL(reason)`: every check that needs no DNS."""
    if not isinstance(url, str) or not url:
        raise _BadURL("A URL is required.")
    if len(url) > MAX_URL_LENGTH:
        raise _BadURL(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if _UNSAFE_CHARS.search(url):
        raise _BadURL("The URL must not contain spaces, control characters or backslashes.")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise _BadURL(f"Not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise _BadURL("The URL must start with https:// or http://.")
    if require_https and parsed.scheme != "https":
        raise _BadURL("The URL must start with https:// (plain http is not accepted).")
    authority = _AUTHORITY.match(url)
    if authority is None or not parsed.host:
        raise _BadURL("The URL must include a host.")
    if "@" in authority.group(1) or parsed.userinfo:
        raise _BadURL("The URL must not contain credentials (user:password@).")
    if "#" in url:
        raise _BadURL("The URL must not contain a fragment (#...).")
    port = parsed.port
    if port is not None and not 1 <= port <= 65535:
        raise _BadURL("The port must be between 1 and 65535.")
    host = parsed.raw_host.decode("ascii")
    try:
        literal = parse_host_address(host)
    except ValueError as exc:
        raise _BadURL(f"The host {exc}.") from None
    if literal is None:
        name = host[:-1] if host.endswith(".") else host
        if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in name.split(".")):
            raise _BadURL(f"The host {parsed.host!r} is not a valid host name.")
    netloc = parsed.netloc.decode("ascii")
    sni = None
    if parsed.scheme == "https" and literal is None:
        sni = host[:-1] if host.endswith(".") else host
    return _Target(
        url=parsed,
        scheme=parsed.scheme,
        host=host,
        port=port or _DEFAULT_PORTS[parsed.scheme],
        host_header=netloc,
        sni=sni,
    )


def vet_target_url(
    url: str,
    *,
    allow_private: bool,
    require_https: bool,
    resolve: Resolver | None = None,
) -> None:
    """Raise `ValidationFailed` naming `url` unless it may be a webhook target.

    Refused: what does not parse, schemes other than http(s) (https only when
    `require_https`), no host, credentials, fragments, bad ports, URLs over 2,048 characters,
    names that do not resolve, and (unless `allow_private`) hosts that are or resolve to a
    non-public address. Deliveries check the address again on every attempt.
    """
    try:
        target = _parse_target(url, require_https=require_https)
        resolve_public(target.host, target.port, allow_private=allow_private, resolve=resolve)
    except _BadURL as exc:
        reason = str(exc)
    except TargetUnresolved as exc:
        reason = f"The host does not resolve: {exc.reason}."
    except TargetRefused as exc:
        reason = f"Webhook targets must be public addresses: {exc.reason}."
    else:
        return
    raise ValidationFailed(f"The webhook URL is not accepted. {reason}", errors={"url": [reason]})


# -- Retry-After -------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (delay-seconds or HTTP-date), at most 24 h;
    None when absent or not understood. A date in the past is 0."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"[0-9]+", text):
        return min(float(int(text)), MAX_RETRY_AFTER)
    if not re.search(r"[A-Za-z]", text):
        return None  # "-5", "1.5": not delay-seconds, and no date either
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


# -- Sending -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendResult:
    """One delivery attempt. `status_code` is None when no complete answer came (then `error`
    says why, shortly); a 3xx is an answer like any other (redirects are not followed)."""

    status_code: int | None
    latency_ms: float
    error: str | None = None
    excerpt: str = ""
    retry_after: float | None = None


class _ReadCapReached(Exception):
    """The response has had its `MAX_RESPONSE_BYTES`; not a failure, the reading stops."""


class _Attempt(threading.local):
    """The attempt the current thread is making: the network backend's rules for it."""

    active: bool = False
    ip: str = ""
    deadline: float = 0.0
    left_to_read: int = 0


_attempt = _Attempt()


@contextmanager
def _attempt_to(ip: str, deadline: float) -> Iterator[None]:
    _attempt.active, _attempt.ip, _attempt.deadline = True, ip, deadline
    _attempt.left_to_read = MAX_RESPONSE_BYTES
    try:
        yield
    finally:
        _attempt.active = False


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
                raise _ReadCapReached
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


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        if hasattr(self._inner, "close"):
            self._inner.close()


class _PinnedTransport(httpx.BaseTransport):
    """httpx over an httpcore pool on the pinned backend (HTTP/1.1, no proxies, no env).

    httpcore's exceptions are passed on as they are: `_describe` reads them.
    """

    def __init__(
        self, ssl_context: ssl.SSLContext, *, max_keepalive: int, keepalive_expiry: float
    ) -> None:
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
        assert isinstance(request.stream, httpx.SyncByteStream)
        response = self._pool.handle_request(
            httpcore.Request(
                method=request.method,
                url=httpcore.URL(
                    scheme=request.url.raw_scheme,
                    host=request.url.raw_host,
                    port=request.url.port,
                    target=request.url.raw_path,
                ),
                headers=request.headers.raw,
                content=request.stream,
                extensions=request.extensions,
            )
        )
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


@dataclass(eq=False)
class _PooledClient:
    client: httpx.Client
    origin: tuple[str, str, int]
    users: int = 0
    retired: bool = False


class WebhookSender:
    """Sends webhook requests; one per worker process, shared by its threads.

    Each endpoint gets its own `httpx.Client` (keep-alive connections, made on first use; the
    least recently used are closed past `max_clients`, and an endpoint whose URL changed
    origin gets a new one). `close()` closes them all.
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
        self._max_clients = max_clients
        self._max_keepalive = max_keepalive_per_endpoint
        self._keepalive_expiry = keepalive_expiry
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, _PooledClient] = OrderedDict()

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
            return SendResult(None, _elapsed_ms(started), error=error)

        try:
            target = _parse_target(url, require_https=self.require_https)
        except _BadURL as exc:
            return failed(f"invalid URL: {exc}")
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

        pooled = self._acquire(endpoint_id, target.origin)
        try:
            with _attempt_to(ip, deadline):
                status, response_headers, excerpt = self._exchange(
                    pooled.client, target, ip, headers, body, deadline
                )
        except (httpcore.TimeoutException, httpx.TimeoutException) as exc:
            connecting = isinstance(exc, httpcore.ConnectTimeout | httpx.ConnectTimeout)
            if connecting and time.monotonic() < deadline - 0.01:
                return failed(f"connect timed out after {self.connect_timeout:g} s")
            return failed(f"timed out after {self.total_timeout:g} s")
        except _ReadCapReached:
            return failed(f"the response's head is longer than {MAX_RESPONSE_BYTES} bytes")
        except (
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.UnsupportedProtocol,
            httpx.HTTPError,
            OSError,
        ) as exc:
            return failed(_describe(exc))
        finally:
            self._release(pooled)
        return SendResult(
            status,
            _elapsed_ms(started),
            excerpt=excerpt,
            retry_after=parse_retry_after(response_headers.get("retry-after")),
        )

    def _exchange(
        self,
        client: httpx.Client,
        target: _Target,
        ip: str,
        headers: Mapping[str, str],
        body: bytes,
        deadline: float,
    ) -> tuple[int, httpx.Headers, str]:
        request_headers = httpx.Headers(headers)
        request_headers["Host"] = target.host_header
        left = max(deadline - time.monotonic(), 0.001)
        request = client.build_request(
            "POST",
            target.url.copy_with(host=ip),
            headers=request_headers,
            content=body,
            timeout=httpx.Timeout(left, connect=min(self.connect_timeout, left)),
            extensions={"sni_hostname": target.sni} if target.sni else None,
        )
        response = client.send(request, stream=True, follow_redirects=False)
        kept = bytearray()
        try:
            for chunk in response.iter_raw():
                kept += chunk[: EXCERPT_BYTES - len(kept)]
        except _ReadCapReached:
            pass  # a long answer: its start is all we keep; the connection is not reused
        finally:
            response.close()
        return response.status_code, response.headers, _decode(bytes(kept), response)

    def _new_client(self) -> httpx.Client:
        return httpx.Client(
            transport=_PinnedTransport(
                self._ssl_context,
                max_keepalive=self._max_keepalive,
                keepalive_expiry=self._keepalive_expiry,
            ),
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "identity"},
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            follow_redirects=False,
            trust_env=False,
        )

    def _acquire(self, endpoint_id: str, origin: tuple[str, str, int]) -> _PooledClient:
        to_close: list[_PooledClient] = []
        with self._lock:
            pooled = self._clients.get(endpoint_id)
            if pooled is not None and pooled.origin != origin:
                # Another host: never reuse a connection made (and verified) for the old one.
                del self._clients[endpoint_id]
                to_close += _retire(pooled)
                pooled = None
            if pooled is None:
                pooled = _PooledClient(self._new_client(), origin)
                self._clients[endpoint_id] = pooled
                while len(self._clients) > self._max_clients:
                    to_close += _retire(self._clients.popitem(last=False)[1])
            else:
                self._clients.move_to_end(endpoint_id)
            pooled.users += 1
        for old in to_close:
            old.client.close()
        return pooled

    def _release(self, pooled: _PooledClient) -> None:
        with self._lock:
            pooled.users -= 1
            close = pooled.retired and pooled.users == 0
        if close:
            pooled.client.close()

    def close(self) -> None:
        """Close every connection; clients in use close when their request ends. The sender
        can still send afterwards (it opens new connections)."""
        with self._lock:
            to_close = [c for pooled in self._clients.values() for c in _retire(pooled)]
            self._clients.clear()
        for pooled in to_close:
            pooled.client.close()


def _retire(pooled: _PooledClient) -> list[_PooledClient]:
    """Mark a client for closing; it is returned if nobody is using it (close it now)."""
    pooled.retired = True
    return [pooled] if pooled.users == 0 else []


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 2)


def _decode(raw: bytes, response: httpx.Response) -> str:
    """The excerpt as text, in the response's charset (UTF-8 by default), never failing."""
    try:
        return raw.decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


_ERRNO_MESSAGES = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by peer",
    errno.ECONNABORTED: "connection aborted",
    errno.EPIPE: "connection closed by peer",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ETIMEDOUT: "timed out connecting",
}


def _describe(exc: BaseException) -> str:
    """A short, human account of a failed attempt."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or cause.reason or "certificate verify failed"
            return _short(f"TLS: certificate verify failed: {detail}")
        if isinstance(cause, ssl.SSLError):
            detail = (cause.reason or str(cause)).replace("_", " ").lower()
            return _short(f"TLS: {detail}")
    for cause in chain:
        if isinstance(cause, OSError) and cause.errno in _ERRNO_MESSAGES:
            return _ERRNO_MESSAGES[cause.errno]
    if isinstance(exc, httpcore.RemoteProtocolError | httpx.RemoteProtocolError):
        return _short(f"protocol error: {_sentence(exc)}")
    if isinstance(exc, httpcore.ProtocolError | httpx.ProtocolError):
        return _short(f"protocol error: {_sentence(exc)}")
    if isinstance(exc, httpcore.ReadError | httpx.ReadError):
        return _short(f"read failed: {_sentence(exc)}")
    if isinstance(exc, httpcore.WriteError | httpx.WriteError):
        return _short(f"write failed: {_sentence(exc)}")
    if isinstance(exc, httpcore.ConnectError | httpx.ConnectError):
        return _short(f"connection failed: {_sentence(exc)}")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return _short(f"invalid URL: {_sentence(exc)}")
    return _short(f"{type(exc).__name__}: {_sentence(exc)}")


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return (text[:1].lower() + text[1:]).rstrip(".")


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
