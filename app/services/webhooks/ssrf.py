"""The SSRF policy for webhook targets: which URLs, hosts and addresses a delivery may reach.

A URL is vetted when an endpoint is saved (`vet_target_url`), and every attempt resolves its
host once more (`resolve_public`): the sender then connects to exactly the address returned,
so a DNS answer that changes between the check and the connection (rebinding) cannot reach
another address. Public means globally routable and not multicast, in every spelling of an
address (odd IPv4 forms, IPv4-mapped, 6to4 and NAT64 IPv6); the operator may allow private
targets (`WEBHOOK_ALLOW_PRIVATE_TARGETS`) and require https (`WEBHOOK_REQUIRE_HTTPS`).

Plain Python: no request is sent from here. URLs are parsed and normalised by `httpx.URL`, the
same parser the sender's client uses, so that the URL checked is the URL sent to.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import idna

from app.errors import ValidationFailed

__all__ = [
    "MAX_URL_LENGTH",
    "BadURL",
    "Resolver",
    "Target",
    "TargetRefused",
    "TargetUnresolved",
    "non_public_reason",
    "parse_host_address",
    "parse_target",
    "resolve_public",
    "system_resolve",
    "vet_target_url",
]

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
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


class BadURL(Exception):
    """A URL that cannot be a webhook target whatever it resolves to; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """A webhook URL that passed every check needing no DNS, with what sending to it needs."""

    url: httpx.URL  # parsed and normalised: what the request is sent to
    scheme: str
    host: str  # as in the URL: ASCII (IDNA), lower case, IPv6 without brackets
    port: int  # the effective port
    server_name: str | None  # the name TLS sends and checks (None for an IP literal, or http)

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)")
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?", re.IGNORECASE)
_UNSAFE_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


def parse_target(url: object, *, require_https: bool) -> Target:
    """The URL's parts, or `BadURL(reason)`: every check that needs no DNS."""
    if not isinstance(url, str) or not url:
        raise BadURL("A URL is required.")
    if len(url) > MAX_URL_LENGTH:
        raise BadURL(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if _UNSAFE_CHARS.search(url):
        raise BadURL("The URL must not contain spaces, control characters or backslashes.")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise BadURL(f"Not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise BadURL("The URL must start with https:// or http://.")
    if require_https and parsed.scheme != "https":
        raise BadURL("The URL must start with https:// (plain http is not accepted).")
    authority = _AUTHORITY.match(url)
    # `raw_host`, not `host`: httpx decodes an A-label (`xn--…`) there, and raises for one
    # that is not valid IDNA; the names are checked below.
    if authority is None or not parsed.raw_host:
        raise BadURL("The URL must include a host.")
    if "@" in authority.group(1) or parsed.userinfo:
        raise BadURL("The URL must not contain credentials (user:password@).")
    if "#" in url:
        raise BadURL("The URL must not contain a fragment (#...).")
    port = parsed.port
    if port is not None and not 1 <= port <= 65535:
        raise BadURL("The port must be between 1 and 65535.")
    host = parsed.raw_host.decode("ascii")
    try:
        literal = parse_host_address(host)
    except ValueError as exc:
        raise BadURL(f"The host {exc}.") from None
    if literal is None:
        name = host[:-1] if host.endswith(".") else host
        labels = name.split(".")
        if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
            raise BadURL(f"The host {host!r} is not a valid host name.")
        if not all(_valid_a_label(label) for label in labels if label.startswith("xn--")):
            raise BadURL(f"The host {host!r} holds a label that is not valid IDNA (xn--…).")
    server_name = None
    if parsed.scheme == "https" and literal is None:
        server_name = host[:-1] if host.endswith(".") else host
    return Target(
        url=parsed,
        scheme=parsed.scheme,
        host=host,
        port=port or _DEFAULT_PORTS[parsed.scheme],
        server_name=server_name,
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
        target = parse_target(url, require_https=require_https)
        resolve_public(target.host, target.port, allow_private=allow_private, resolve=resolve)
    except BadURL as exc:
        reason = str(exc)
    except TargetUnresolved as exc:
        reason = f"The host does not resolve: {exc.reason}."
    except TargetRefused as exc:
        reason = f"Webhook targets must be public addresses: {exc.reason}."
    else:
        return
    raise ValidationFailed(f"The webhook URL is not accepted. {reason}", errors={"url": [reason]})
