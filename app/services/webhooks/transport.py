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

How a request is sent: httpx is the service's outgoing-HTTP library, and it parses and
normalises the URLs here (`httpx.URL`) and makes the TLS context (`httpx.create_ssl_context`:
certificates checked against certifi's roots). The attempt itself goes straight to an httpcore
connection pool (httpcore is httpx's own transport layer, a declared dependency too), one pool
per endpoint on the pinned network backend, with the request already in httpcore's terms: the
headers as byte pairs, the timeouts (connect, read, write, pool) and the TLS server name as
request extensions. `httpx.Client` adds nothing an attempt needs (request and response models,
a cookie jar, auth and redirect handling, all unused) and took a third of its CPU. What
the client gave is kept: the default headers (`Accept`, `Accept-Encoding: identity`,
`Connection`, `User-Agent`, which an endpoint's own headers may replace), `Host` and
`Content-Length` always the sender's, cookies neither stored nor sent, redirects returned as
answers. A URL is parsed once per sender (a bounded cache: URLs are immutable strings), not
on every attempt.

Pure Python: the settings come in as arguments (`WebhookSender.from_settings` reads them off
`app.config.Settings`).
"""

from __future__ import annotations

import email.message
import errno
import functools
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpcore
import httpx
import idna

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


@dataclass(frozen=True, slots=True)
class _Target:
    """A parsed URL, with what a request to it needs in httpcore's terms (bytes)."""

    scheme: str
    host: str  # as in the URL: ASCII (IDNA), lower case, IPv6 without brackets
    port: int  # the effective port
    host_header: bytes  # the URL's host[:port], as the Host header carries it
    path: bytes  # the request target: the path and query, percent-encoded as httpx does
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
    # `raw_host`, not `host`: httpx decodes an A-label (`xn--…`) there, and raises for one
    # that is not valid IDNA; the names are checked below.
    if authority is None or not parsed.raw_host:
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
        labels = name.split(".")
        if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
            raise _BadURL(f"The host {host!r} is not a valid host name.")
        if not all(_valid_a_label(label) for label in labels if label.startswith("xn--")):
            raise _BadURL(f"The host {host!r} holds a label that is not valid IDNA (xn--…).")
    sni = None
    if parsed.scheme == "https" and literal is None:
        sni = host[:-1] if host.endswith(".") else host
    return _Target(
        scheme=parsed.scheme,
        host=host,
        port=port or _DEFAULT_PORTS[parsed.scheme],
        host_header=parsed.netloc,
        path=parsed.raw_path,
        sni=sni,
    )


def _valid_a_label(label: str) -> bool:
    """An `xn--` label that decodes, under IDNA 2008, to a name that encodes back to it."""
    try:
        return idna.encode(idna.decode(label)).decode("ascii") == label
    except (idna.IDNAError, UnicodeError):
        return False


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


def _new_pool(
    ssl_context: ssl.SSLContext, *, max_keepalive: int, keepalive_expiry: float
) -> httpcore.ConnectionPool:
    """An endpoint's connections: HTTP/1.1 on the pinned backend, no proxies, no environment.

    httpcore's exceptions are passed on as they are: `_describe` reads them.
    """
    return httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=None,
        max_keepalive_connections=max_keepalive,
        keepalive_expiry=keepalive_expiry,
        http1=True,
        http2=False,
        network_backend=_PinnedBackend(),
    )


@dataclass(eq=False)
class _EndpointPool:
    pool: httpcore.ConnectionPool
    origin: tuple[str, str, int]
    users: int = 0
    retired: bool = False


class _BadHeader(ValueError):
    pass


# Set by the sender whatever the caller passes.
_SENDER_HEADERS = frozenset({"host", "content-length", "transfer-encoding"})


class WebhookSender:
    """Sends webhook requests; one per worker process, shared by its threads.

    Each endpoint gets its own httpcore connection pool (keep-alive connections, made on
    first use; the least recently used are closed past `max_clients`, and an endpoint whose
    URL changed origin gets a new one). `close()` closes them all. As many parsed URLs as
    `max_clients` are kept.
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
        self._pools: OrderedDict[str, _EndpointPool] = OrderedDict()
        # (lower-case name, name, value): what httpx.Client sent by default, in its order.
        self._default_headers = tuple(
            (name.lower(), name, value)
            for name, value in (
                (b"Accept", b"*/*"),
                (b"Connection", b"keep-alive"),
                (b"User-Agent", _ascii(user_agent, "the user agent")),
                (b"Accept-Encoding", b"identity"),
            )
        )
        # Failures are not cached (a bad URL is parsed again each time it is sent to).
        self._parse_url = functools.lru_cache(maxsize=max_clients)(_parse_target)

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
            if isinstance(url, str):
                target = self._parse_url(url, require_https=self.require_https)
            else:
                target = _parse_target(url, require_https=self.require_https)
        except _BadURL as exc:
            return failed(f"invalid URL: {exc}")
        try:
            request_headers = self._request_headers(target, headers, len(body))
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

        endpoint = self._acquire(endpoint_id, target.origin)
        try:
            with _attempt_to(ip, deadline):
                status, retry_after, excerpt = self._exchange(
                    endpoint.pool, target, ip, request_headers, body, deadline
                )
        except httpcore.TimeoutException as exc:
            connecting = isinstance(exc, httpcore.ConnectTimeout)
            if connecting and time.monotonic() < deadline - 0.01:
                return failed(f"connect timed out after {self.connect_timeout:g} s")
            return failed(f"timed out after {self.total_timeout:g} s")
        except _ReadCapReached:
            return failed(f"the response's head is longer than {MAX_RESPONSE_BYTES} bytes")
        except (
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.UnsupportedProtocol,
            OSError,
        ) as exc:
            return failed(_describe(exc))
        finally:
            self._release(endpoint)
        return SendResult(
            status,
            _elapsed_ms(started),
            excerpt=excerpt,
            retry_after=parse_retry_after(retry_after),
        )

    def _request_headers(
        self, target: _Target, headers: Mapping[str, str], length: int
    ) -> list[tuple[bytes, bytes]]:
        """The request's headers: `Host`, the defaults the caller does not replace, the
        caller's, `Content-Length`."""
        given: list[tuple[bytes, bytes]] = []
        replaced: set[bytes] = set()
        for name, value in headers.items():
            if name.lower() in _SENDER_HEADERS:
                continue
            raw_name = _ascii(name, "the header name")
            replaced.add(raw_name.lower())
            given.append((raw_name, _ascii(value, f"the value of {name}")))
        request_headers = [(b"Host", target.host_header)]
        request_headers += [
            (n, v) for lower, n, v in self._default_headers if lower not in replaced
        ]
        request_headers += given
        request_headers.append((b"Content-Length", b"%d" % length))
        return request_headers

    def _exchange(
        self,
        pool: httpcore.ConnectionPool,
        target: _Target,
        ip: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        deadline: float,
    ) -> tuple[int, str | None, str]:
        """One request and the start of its answer: the status, `Retry-After` and the
        excerpt."""
        left = max(deadline - time.monotonic(), 0.001)
        extensions: dict[str, Any] = {
            "timeout": {
                "connect": min(self.connect_timeout, left),
                "read": left,
                "write": left,
                "pool": left,
            }
        }
        if target.sni:
            extensions["sni_hostname"] = target.sni
        request = httpcore.Request(
            b"POST",
            httpcore.URL(
                scheme=target.scheme.encode(),
                host=ip.encode("ascii"),
                port=target.port,
                target=target.path,
            ),
            headers=headers,
            content=body,
            extensions=extensions,
        )
        response = pool.handle_request(request)
        kept = bytearray()
        stream = response.stream
        assert isinstance(stream, Iterable)  # a sync pool's answer streams synchronously
        try:
            for chunk in stream:
                kept += chunk[: EXCERPT_BYTES - len(kept)]
        except _ReadCapReached:
            pass  # a long answer: its start is all we keep; the connection is not reused
        finally:
            response.close()
        retry_after = _header(response.headers, b"retry-after")
        excerpt = _decode(bytes(kept), _header(response.headers, b"content-type"))
        return response.status, retry_after, excerpt

    def _acquire(self, endpoint_id: str, origin: tuple[str, str, int]) -> _EndpointPool:
        to_close: list[_EndpointPool] = []
        with self._lock:
            endpoint = self._pools.get(endpoint_id)
            if endpoint is not None and endpoint.origin != origin:
                # Another host: never reuse a connection made (and verified) for the old one.
                del self._pools[endpoint_id]
                to_close += _retire(endpoint)
                endpoint = None
            if endpoint is None:
                endpoint = _EndpointPool(
                    _new_pool(
                        self._ssl_context,
                        max_keepalive=self._max_keepalive,
                        keepalive_expiry=self._keepalive_expiry,
                    ),
                    origin,
                )
                self._pools[endpoint_id] = endpoint
                while len(self._pools) > self._max_clients:
                    to_close += _retire(self._pools.popitem(last=False)[1])
            else:
                self._pools.move_to_end(endpoint_id)
            endpoint.users += 1
        for old in to_close:
            old.pool.close()
        return endpoint

    def _release(self, endpoint: _EndpointPool) -> None:
        with self._lock:
            endpoint.users -= 1
            close = endpoint.retired and endpoint.users == 0
        if close:
            endpoint.pool.close()

    def close(self) -> None:
        """Close every connection; pools in use close when their request ends. The sender
        can still send afterwards (it opens new connections)."""
        with self._lock:
            to_close = [e for endpoint in self._pools.values() for e in _retire(endpoint)]
            self._pools.clear()
        for endpoint in to_close:
            endpoint.pool.close()


def _retire(endpoint: _EndpointPool) -> list[_EndpointPool]:
    """Mark a pool for closing; it is returned if nobody is using it (close it now)."""
    endpoint.retired = True
    return [endpoint] if endpoint.users == 0 else []


def _ascii(text: str, what: str) -> bytes:
    try:
        return text.encode("ascii")
    except (AttributeError, UnicodeEncodeError):
        raise _BadHeader(f"{what} is not ASCII text: {text!r}") from None


def _header(headers: list[tuple[bytes, bytes]], lower_name: bytes) -> str | None:
    """A response header's value (several are joined with ", ", as httpx does), or None."""
    values = [value for name, value in headers if name.lower() == lower_name]
    return b", ".join(values).decode("latin-1") if values else None


def _elapsed_ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 2)


def _decode(raw: bytes, content_type: str | None) -> str:
    """The excerpt as text, in the response's charset (UTF-8 by default), never failing."""
    charset = None
    if content_type is not None:
        message = email.message.Message()
        message["content-type"] = content_type
        charset = message.get_content_charset(failobj=None)
    try:
        return raw.decode(charset or "utf-8", errors="replace")
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
    if isinstance(exc, httpcore.ProtocolError):  # the remote's, or ours (h11 refused a header)
        return _short(f"protocol error: {_sentence(exc)}")
    if isinstance(exc, httpcore.ReadError):
        return _short(f"read failed: {_sentence(exc)}")
    if isinstance(exc, httpcore.WriteError):
        return _short(f"write failed: {_sentence(exc)}")
    if isinstance(exc, httpcore.ConnectError):
        return _short(f"connection failed: {_sentence(exc)}")
    if isinstance(exc, httpcore.UnsupportedProtocol):
        return _short(f"invalid URL: {_sentence(exc)}")
    return _short(f"{type(exc).__name__}: {_sentence(exc)}")


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return (text[:1].lower() + text[1:]).rstrip(".")


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
