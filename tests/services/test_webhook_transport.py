"""The outgoing webhook transport: which targets are refused, and one attempt against real
loopback servers (pinning, keep-alive, what a request carries, the URL cache, redirects,
deadlines, caps, TLS). No database."""

from __future__ import annotations

import dataclasses
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpcore
import pytest

from app.config import Settings
from app.errors import ValidationFailed
from app.services.webhooks import pinning as webhook_transport
from app.services.webhooks import ssrf
from app.services.webhooks.outcome import EXCERPT_BYTES, SendResult, parse_retry_after
from app.services.webhooks.pinning import MAX_RESPONSE_BYTES
from app.services.webhooks.sender import WebhookSender
from app.services.webhooks.ssrf import (
    TargetRefused,
    TargetUnresolved,
    non_public_reason,
    parse_host_address,
    resolve_public,
    vet_target_url,
)

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:4700::1"


def fixed(*answers: str) -> Callable[[str, int], list[str]]:
    """A resolver (the DNS is the outside world here) answering `answers` for every name."""
    return lambda host, port: list(answers)


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} should not have been looked up")


def unresolvable(host: str, port: int) -> list[str]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


# -- Addresses ---------------------------------------------------------------------------------

NON_PUBLIC = [
    # host, the address it denotes (what a refusal names)
    ("127.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0x7f.0.0.0x1", "127.0.0.1"),
    ("127.0.0.1.", "127.0.0.1"),
    ("0", "0.0.0.0"),  # noqa: S104
    ("0.0.0.0", "0.0.0.0"),  # noqa: S104
    ("10.0.0.5", "10.0.0.5"),
    ("012.0.0.5", "10.0.0.5"),
    ("172.16.3.4", "172.16.3.4"),
    ("192.168.1.1", "192.168.1.1"),
    ("3232235777", "192.168.1.1"),
    ("169.254.169.254", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("100.64.0.1", "100.64.0.1"),
    ("100.127.255.254", "100.127.255.254"),
    ("224.0.0.1", "224.0.0.1"),
    ("239.255.255.250", "239.255.255.250"),
    ("255.255.255.255", "255.255.255.255"),
    ("240.0.0.1", "240.0.0.1"),
    ("192.0.2.10", "192.0.2.10"),
    ("198.51.100.7", "198.51.100.7"),
    ("203.0.113.9", "203.0.113.9"),
    ("198.18.0.1", "198.18.0.1"),
    ("::1", "::1"),
    ("[::1]", "::1"),
    ("::", "::"),
    ("::ffff:127.0.0.1", "::ffff:7f00:1"),
    ("::ffff:7f00:1", "::ffff:7f00:1"),
    ("::ffff:10.0.0.1", "::ffff:a00:1"),
    ("::ffff:169.254.169.254", "::ffff:a9fe:a9fe"),
    ("::127.0.0.1", "::7f00:1"),
    ("fe80::1", "fe80::1"),
    ("fc00::1", "fc00::1"),
    ("fd12:3456:789a::1", "fd12:3456:789a::1"),
    ("fd00:ec2::254", "fd00:ec2::254"),
    ("ff02::1", "ff02::1"),
    ("2001:db8::1", "2001:db8::1"),
    ("2001::1", "2001::1"),  # Teredo
    ("2002:7f00:1::1", "2002:7f00:1::1"),  # 6to4 of 127.0.0.1
    ("2002:a00:5::", "2002:a00:5::"),  # 6to4 of 10.0.0.5
    ("64:ff9b::a00:5", "64:ff9b::a00:5"),  # NAT64 of 10.0.0.5
    ("64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe"),  # NAT64 of 169.254.169.254
    ("64:ff9b:1::1", "64:ff9b:1::1"),
]

PUBLIC = [
    (PUBLIC_V4, PUBLIC_V4),
    ("8.8.8.8", "8.8.8.8"),
    ("1.1.1.1", "1.1.1.1"),
    ("1572395042", PUBLIC_V4),  # decimal spelling of a public address
    ("100.128.0.1", "100.128.0.1"),  # just past CGNAT
    ("172.32.0.1", "172.32.0.1"),  # just past 172.16/12
    (PUBLIC_V6, PUBLIC_V6),
    (f"[{PUBLIC_V6}]", PUBLIC_V6),
    ("2a00:1450:4001:80b::200e", "2a00:1450:4001:80b::200e"),
    ("::ffff:93.184.216.34", PUBLIC_V4),  # mapped: connect to the IPv4 address itself
    ("2002:5db8:d822::1", "2002:5db8:d822::1"),  # 6to4 of a public address
    ("64:ff9b::5db8:d822", "64:ff9b::5db8:d822"),  # NAT64 (DNS64 networks) of a public address
]


@pytest.mark.parametrize(("host", "address"), NON_PUBLIC)
def test_non_public_addresses_are_refused_in_every_spelling(host: str, address: str) -> None:
    with pytest.raises(TargetRefused) as info:
        resolve_public(host, 443, allow_private=False, resolve=no_dns)
    assert info.value.reason.startswith(address)
    assert " is " in info.value.reason
    # The operator's switch lets them through, normalised.
    ip = parse_host_address(host)
    expected = getattr(ip, "ipv4_mapped", None) or ip
    assert resolve_public(host, 443, allow_private=True, resolve=no_dns) == str(expected)


@pytest.mark.parametrize(("host", "address"), PUBLIC)
def test_public_addresses_are_accepted(host: str, address: str) -> None:
    assert resolve_public(host, 443, allow_private=False, resolve=no_dns) == address


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("10.0.0.5", "10.0.0.5 is a private address"),
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),
        ("100.64.0.1", "100.64.0.1 is a shared (CGNAT) address"),
        ("0x7f.1", "127.0.0.1 (0x7f.1) is a loopback address"),
        ("::ffff:127.0.0.1", "is the IPv4-mapped form of 127.0.0.1, a loopback address"),
        ("2002:a00:5::", "is a 6to4 address for 10.0.0.5, a private address"),
        ("224.0.0.1", "224.0.0.1 is a multicast address"),
    ],
)
def test_refusals_say_why(host: str, reason: str) -> None:
    with pytest.raises(TargetRefused) as info:
        resolve_public(host, 80, allow_private=False, resolve=no_dns)
    assert reason in info.value.reason


@pytest.mark.parametrize(
    "spelling",
    ["127.1", "2130706433", "0177.0.0.1", "0x7f.1", "0x7F.0.0.1", "10.1.2", "012.0x1.3", "1.0.0"],
)
def test_odd_ipv4_spellings_read_like_inet_aton(spelling: str) -> None:
    assert str(parse_host_address(spelling)) == socket.inet_ntoa(socket.inet_aton(spelling))


@pytest.mark.parametrize("host", ["1.2.3.256", "08.1.1.1", "1.2.3.4.5", "0x", "4294967296", "a.1"])
def test_hosts_ending_in_a_number_must_be_valid_ipv4(host: str) -> None:
    with pytest.raises(ValueError):
        parse_host_address(host)
    with pytest.raises(TargetRefused):
        resolve_public(host, 80, allow_private=True, resolve=no_dns)


@pytest.mark.parametrize("host", ["example.com", "hooks.example.com.", "cafe", "xn--bcher-kva.ch"])
def test_names_are_not_addresses(host: str) -> None:
    assert parse_host_address(host) is None


def test_every_address_a_name_resolves_to_must_be_public() -> None:
    assert resolve_public("hooks.test", 443, allow_private=False, resolve=fixed(PUBLIC_V4)) == (
        PUBLIC_V4
    )
    for answers in [("10.0.0.5",), (PUBLIC_V4, "127.0.0.1"), (PUBLIC_V6, "fd00::1")]:
        with pytest.raises(TargetRefused) as info:
            resolve_public("hooks.test", 443, allow_private=False, resolve=fixed(*answers))
        assert info.value.reason.startswith("hooks.test resolves to ")
    # The first answer is the one connected to.
    assert resolve_public(
        "hooks.test", 443, allow_private=True, resolve=fixed("10.0.0.5", "10.0.0.6")
    ) == ("10.0.0.5")


def test_names_that_do_not_resolve_are_refused() -> None:
    with pytest.raises(TargetUnresolved, match=r"hooks\.test does not resolve"):
        resolve_public("hooks.test", 443, allow_private=True, resolve=unresolvable)
    with pytest.raises(TargetUnresolved):
        resolve_public("hooks.test", 443, allow_private=True, resolve=fixed())
    with pytest.raises(TargetRefused, match="not an IP address"):
        resolve_public("hooks.test", 443, allow_private=True, resolve=fixed("nonsense"))


def test_the_system_resolver_is_used_by_default() -> None:
    # `localhost` comes from the hosts file: no network needed.
    with pytest.raises(TargetRefused, match=r"localhost resolves to .*, a loopback address"):
        resolve_public("localhost", 80, allow_private=False)


def test_non_public_reason_covers_what_is_global_misses() -> None:
    import ipaddress

    for text in ["224.0.0.1", "ff02::1", "2002:7f00:1::"]:
        assert ipaddress.ip_address(text).is_global  # Python 3.11 calls these global
        assert non_public_reason(ipaddress.ip_address(text)) is not None


# -- URLs --------------------------------------------------------------------------------------


def vet(url: Any, *, allow_private: bool = False, require_https: bool = False, resolve=None):
    return vet_target_url(
        url,
        allow_private=allow_private,
        require_https=require_https,
        resolve=resolve or fixed(PUBLIC_V4),
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "A URL is required"),
        (None, "A URL is required"),
        ("not a url", "spaces"),
        ("hooks.example.com/x", "https:// or http://"),
        ("ftp://hooks.example.com/", "https:// or http://"),
        ("file:///etc/passwd", "https:// or http://"),
        ("javascript:alert(1)", "https:// or http://"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "https:// or http://"),
        ("https:///path", "must include a host"),
        ("http:hooks.example.com", "must include a host"),
        ("https://user:pass@hooks.example.com/", "credentials"),
        ("https://user@hooks.example.com/", "credentials"),
        ("https://@hooks.example.com/", "credentials"),
        ("https://hooks.example.com@10.0.0.5/", "credentials"),
        ("https://hooks.example.com/x#frag", "fragment"),
        ("https://hooks.example.com/#", "fragment"),
        ("https://hooks.example.com:0/", "between 1 and 65535"),
        ("https://hooks.example.com:65536/", "between 1 and 65535"),
        ("https://hooks.example.com:99999/", "between 1 and 65535"),
        ("https://hooks.example.com:abc/", "Not a valid URL"),
        ("https://hooks.example.com/" + "a" * 2048, "longer than 2048"),
        ("https://hooks.example.com/a b", "spaces"),
        (" https://hooks.example.com/", "spaces"),
        ("https://hooks.example.com/\n", "control characters"),
        ("https://hooks.example.com\\@10.0.0.5/", "backslashes"),
        ("https://-bad-.example/", "not a valid host name"),
        ("https://a..b/", "not a valid host name"),
        ("https://[fe80::1%25eth0]/", "zone identifier"),
        ("https://1.2.3.256/", "Invalid IPv4"),
        ("https://1.2.3.4.5/", "not a valid IPv4 address"),
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://2130706433/", "127.0.0.1 (2130706433) is a loopback address"),
        ("http://0x7f.1:8080/", "is a loopback address"),
        ("http://0177.0.0.1/", "Invalid IPv4"),
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped form of 127.0.0.1"),
        ("http://[::1]:8080/", "::1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fd00:ec2::254]/", "a private address"),
    ],
)
def test_bad_urls_are_422_naming_the_url(url: Any, message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        vet(url)
    assert info.value.status == 422
    assert list(info.value.errors) == ["url"]
    assert message in info.value.errors["url"][0], info.value.errors
    assert message in info.value.detail


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/",
        "https://hooks.example.com/x/y?z=1&w=%20",
        "http://hooks.example.com:8080/hook",
        "https://HOOKS.Example.COM/",
        "https://hooks.example.com./",
        "https://bücher.example/hook",
        "https://my_service.example.com/",
        f"https://{PUBLIC_V4}/hook",
        f"https://[{PUBLIC_V6}]:8443/hook",
        "https://hooks.example.com/" + "a" * 2000,
    ],
)
def test_good_urls_pass(url: str) -> None:
    vet(url)


def test_require_https_refuses_plain_http() -> None:
    vet("https://hooks.example.com/", require_https=True)
    with pytest.raises(ValidationFailed) as info:
        vet("http://hooks.example.com/", require_https=True)
    assert "https://" in info.value.errors["url"][0]


def test_names_are_resolved_ascii_with_their_port() -> None:
    asked: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return [PUBLIC_V4]

    vet("https://bücher.example/hook", resolve=resolve)
    vet("http://hooks.example.com:8080/", resolve=resolve)
    vet("http://hooks.example.com/", resolve=resolve)
    assert asked == [
        ("xn--bcher-kva.example", 443),
        ("hooks.example.com", 8080),
        ("hooks.example.com", 80),
    ]


def test_names_resolving_to_private_addresses_are_422_unless_allowed() -> None:
    with pytest.raises(ValidationFailed) as info:
        vet("https://hooks.example.com/", resolve=fixed("10.0.0.5"))
    [message] = info.value.errors["url"]
    assert "hooks.example.com resolves to 10.0.0.5, a private address" in message
    with pytest.raises(ValidationFailed):
        vet("https://hooks.example.com/", resolve=fixed(PUBLIC_V4, "169.254.169.254"))
    vet("https://hooks.example.com/", resolve=fixed("10.0.0.5"), allow_private=True)
    vet("http://127.0.0.1:8000/hook", allow_private=True)


def test_names_that_do_not_resolve_are_422_even_when_private_targets_are_allowed() -> None:
    for allow_private in (False, True):
        with pytest.raises(ValidationFailed) as info:
            vet("https://typo.example.com/", resolve=unresolvable, allow_private=allow_private)
        assert info.value.errors["url"] == [
            "The host does not resolve: typo.example.com does not resolve (no such name)."
        ]


# -- Retry-After -------------------------------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("86400", 86400.0),
        ("999999999", 86400.0),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        ("Sun, 01 Mar 2026 12:05:00 GMT", 300.0),
        ("Sunday, 01-Mar-26 12:01:00 GMT", 60.0),  # RFC 850
        ("Sun Mar  1 12:00:30 2026", 30.0),  # asctime
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),  # in the past
        ("Thu, 01 Jan 2099 00:00:00 GMT", 86400.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("12abc", None),
        ("Sun, 99 Foo 2026 12:00:00 GMT", None),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


# -- Settings ----------------------------------------------------------------------------------


def test_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "WEBHOOK_REQUIRE_HTTPS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("WEBHOOK_CONNECT_TIMEOUT", raising=False)
    monkeypatch.delenv("WEBHOOK_TIMEOUT", raising=False)
    settings = Settings.from_env()
    assert settings.webhook_allow_private_targets is False
    assert settings.webhook_require_https is False
    assert (settings.webhook_connect_timeout, settings.webhook_timeout) == (5.0, 15.0)

    for raw, value in [("1", True), ("TRUE", True), ("yes", True), ("On", True), ("0", False)]:
        monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", raw)
        assert Settings.from_env().webhook_allow_private_targets is value
    monkeypatch.setenv("WEBHOOK_REQUIRE_HTTPS", "on")
    monkeypatch.setenv("WEBHOOK_CONNECT_TIMEOUT", "2.5")
    monkeypatch.setenv("WEBHOOK_TIMEOUT", "30")
    settings = Settings.from_env()
    assert settings.webhook_require_https is True
    assert (settings.webhook_connect_timeout, settings.webhook_timeout) == (2.5, 30.0)
    sender = WebhookSender.from_settings(settings, user_agent="x/1")
    assert (sender.connect_timeout, sender.total_timeout, sender.user_agent) == (2.5, 30.0, "x/1")
    assert sender.allow_private is False and sender.require_https is True

    monkeypatch.setenv("WEBHOOK_REQUIRE_HTTPS", "maybe")
    with pytest.raises(RuntimeError, match="WEBHOOK_REQUIRE_HTTPS"):
        Settings.from_env()
    monkeypatch.setenv("WEBHOOK_REQUIRE_HTTPS", "")
    for raw in ("fast", "nan", "inf"):
        monkeypatch.setenv("WEBHOOK_TIMEOUT", raw)
        with pytest.raises(RuntimeError, match="WEBHOOK_TIMEOUT"):
            Settings.from_env()


# -- Sending: loopback servers -----------------------------------------------------------------


@dataclasses.dataclass
class Seen:
    client_port: int
    host: str | None
    path: str
    headers: dict[str, str]
    body: bytes


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(
            Seen(self.client_address[1], self.headers["Host"], self.path, dict(self.headers), body)
        )
        self.server.behaviour(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def reply(
    handler: BaseHTTPRequestHandler,
    status: int = 200,
    body: bytes = b"ok",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: str, behaviour: Callable[[Handler], None]) -> None:
        super().__init__((address, 0), Handler)
        self.behaviour = behaviour
        self.seen: list[Seen] = []
        self.connections = 0
        self.release = threading.Event()  # ends whatever a handler is waiting for
        self.server_names: list[str | None] = []

    @property
    def port(self) -> int:
        return self.server_address[1]

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up early is what several tests are about


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(
        behaviour: Callable[[Handler], None] = reply,
        *,
        address: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> Server:
        server = Server(address, behaviour)
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: server.server_names.append(name)
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def make_sender() -> Iterator[Callable[..., WebhookSender]]:
    senders: list[WebhookSender] = []

    def make(**options: Any) -> WebhookSender:
        options.setdefault("allow_private", True)
        options.setdefault("resolve", fixed("127.0.0.1"))
        sender = WebhookSender(**options)
        senders.append(sender)
        return sender

    yield make
    for sender in senders:
        sender.close()


def post(sender: WebhookSender, url: str, endpoint: str = "ep_1", **headers: str) -> SendResult:
    return sender.send(endpoint, url, {"Content-Type": "application/json", **headers}, b'{"a":1}')


def test_a_delivery_goes_to_the_vetted_address_with_the_original_host(serve, make_sender) -> None:
    server = serve(lambda h: reply(h, 202, b"accepted"))
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    sender = make_sender(resolve=resolve, user_agent="staffing-checklist-webhooks/1")
    result = post(sender, f"http://receiver.test:{server.port}/hooks/in?x=1", **{"webhook-id": "m"})

    assert result == SendResult(202, result.latency_ms, None, "accepted", None)
    assert result.latency_ms > 0
    assert asked == ["receiver.test"]  # resolved once, by us
    [seen] = server.seen
    assert seen.host == f"receiver.test:{server.port}"
    assert seen.path == "/hooks/in?x=1"
    assert seen.body == b'{"a":1}'
    assert seen.headers["User-Agent"] == "staffing-checklist-webhooks/1"
    assert seen.headers["webhook-id"] == "m"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Accept-Encoding"] == "identity"


def test_the_connection_goes_to_exactly_the_resolved_address(serve, make_sender) -> None:
    server = serve(address="127.0.0.2")
    sender = make_sender(resolve=fixed("127.0.0.2"))
    assert post(sender, f"http://receiver.test:{server.port}/").status_code == 200
    assert server.seen[0].host == f"receiver.test:{server.port}"
    # A Host header passed in cannot point the request elsewhere.
    post(sender, f"http://receiver.test:{server.port}/", Host="evil.test")
    assert server.seen[1].host == f"receiver.test:{server.port}"


def test_dns_rebinding_after_the_check_is_refused_and_nothing_connects(serve, make_sender) -> None:
    server = serve()
    answers = iter([[PUBLIC_V4], ["127.0.0.1"]])
    resolve = lambda host, port: next(answers)  # noqa: E731
    url = f"http://receiver.test:{server.port}/"

    vet_target_url(url, allow_private=False, require_https=False, resolve=resolve)
    result = post(make_sender(allow_private=False, resolve=resolve), url)

    assert result.status_code is None
    assert result.error == "refused: receiver.test resolves to 127.0.0.1, a loopback address"
    assert server.connections == 0


def test_literal_private_targets_are_refused_at_send_time(serve, make_sender) -> None:
    server = serve()
    sender = make_sender(allow_private=False, resolve=no_dns)
    for host in ("127.0.0.1", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]"):
        result = post(sender, f"http://{host}:{server.port}/")
        assert result.status_code is None
        assert result.error.startswith("refused: ")
        assert "loopback" in result.error
    assert server.connections == 0


def test_the_backend_opens_no_connection_outside_a_vetted_attempt(serve) -> None:
    server = serve()
    with pytest.raises(httpcore.ConnectError, match="not the vetted address"):
        webhook_transport._PinnedBackend().connect_tcp("127.0.0.1", server.port)
    # Nor, within an attempt, to any address but the one vetted for it.
    with (
        webhook_transport.pinned_attempt("127.0.0.2", time.monotonic() + 5),
        pytest.raises(httpcore.ConnectError, match=re.escape("127.0.0.1 is not the vetted")),
    ):
        webhook_transport._PinnedBackend().connect_tcp("127.0.0.1", server.port)
    assert server.connections == 0


def test_the_httpx_transport_sends_nothing_outside_a_vetted_attempt(serve) -> None:
    import httpx

    server = serve()
    transport = webhook_transport.PinnedTransport(
        ssl.create_default_context(), max_keepalive=1, keepalive_expiry=5
    )
    with (
        httpx.Client(transport=transport) as client,
        pytest.raises(httpx.ConnectError, match="no address was vetted"),
    ):
        client.post(f"http://127.0.0.1:{server.port}/")
    # (That its pool is on the pinned backend, `test_only_the_start_of_a_huge_answer_is_read`
    # shows: every byte read is counted by the backend's stream.)
    assert server.connections == 0


def test_proxies_from_the_environment_are_not_used(
    serve, make_sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve()
    proxy = serve()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
    assert post(make_sender(), f"http://receiver.test:{server.port}/").status_code == 200
    assert (len(server.seen), proxy.connections) == (1, 0)


def test_an_ipv6_address_is_pinned_like_an_ipv4_one(serve, make_sender) -> None:
    try:
        server = serve(address="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    sender = make_sender(resolve=fixed("::1"))
    result = post(sender, f"http://receiver.test:{server.port}/")
    assert (result.status_code, result.error) == (200, None)
    assert server.seen[0].host == f"receiver.test:{server.port}"


def test_keep_alive_reuses_one_connection_per_endpoint(serve, make_sender) -> None:
    server = serve()
    sender = make_sender()
    url = f"http://receiver.test:{server.port}/"
    for _ in range(4):
        assert post(sender, url).status_code == 200
    assert len(server.seen) == 4
    assert len({seen.client_port for seen in server.seen}) == 1
    assert server.connections == 1


def test_clients_are_lru_bounded_and_follow_the_endpoint_url(serve, make_sender) -> None:
    server = serve()
    sender = make_sender(max_clients=1)
    url = f"http://receiver.test:{server.port}/"
    post(sender, url, "ep_a")
    post(sender, url, "ep_a")
    assert server.connections == 1
    post(sender, url, "ep_b")  # evicts (and closes) ep_a's client
    post(sender, url, "ep_a")
    assert server.connections == 3
    # The same endpoint with another host: a connection made for the old host is not reused.
    post(sender, f"http://other.test:{server.port}/", "ep_a")
    assert server.connections == 4
    assert server.seen[-1].host == f"other.test:{server.port}"


def test_close_then_send_again(serve, make_sender) -> None:
    server = serve()
    sender = make_sender()
    url = f"http://receiver.test:{server.port}/"
    post(sender, url)
    sender.close()
    assert post(sender, url).status_code == 200
    assert server.connections == 2


def test_concurrent_sends_from_many_threads(serve, make_sender) -> None:
    server = serve()
    sender = make_sender()
    url = f"http://receiver.test:{server.port}/"
    results: list[SendResult] = []

    def work(index: int) -> None:
        for _ in range(5):
            results.append(post(sender, url, f"ep_{index % 3}"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200] * 40
    assert len(server.seen) == 40


def test_threads_share_an_endpoints_kept_alive_connections(serve, make_sender) -> None:
    server = serve()
    sender = make_sender(max_keepalive_per_endpoint=8)
    url = f"http://receiver.test:{server.port}/"
    results: list[SendResult] = []
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        results.extend(post(sender, url) for _ in range(25))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200] * 200
    assert len(server.seen) == 200
    assert server.connections <= 8


def test_the_request_carries_the_default_headers_the_callers_and_its_own_framing(
    serve, make_sender
) -> None:
    server = serve()
    url = f"http://receiver.test:{server.port}/in"
    sender = make_sender(user_agent="staffing-checklist-webhooks/1")

    assert post(sender, url, **{"webhook-id": "msg_1", "X-Team": "ml"}).status_code == 200
    [first] = server.seen
    assert first.body == b'{"a":1}'
    assert first.headers == {
        "Host": f"receiver.test:{server.port}",
        "Accept": "*/*",
        "Connection": "keep-alive",
        "User-Agent": "staffing-checklist-webhooks/1",
        "Accept-Encoding": "identity",
        "Content-Type": "application/json",
        "webhook-id": "msg_1",
        "X-Team": "ml",
        "Content-Length": "7",
    }

    # A default is replaced by the caller's header of the same name, whatever its case; the
    # Host and the framing stay the sender's.
    headers = {"user-agent": "custom/2", "Host": "evil.test", "Content-Length": "1"}
    assert post(sender, url, **headers, **{"Transfer-Encoding": "chunked"}).status_code == 200
    second = server.seen[1]
    names = [name.lower() for name in second.headers]
    assert len(names) == len(set(names))  # each header once: no default beside the caller's
    lowered = {name.lower(): value for name, value in second.headers.items()}
    assert lowered["user-agent"] == "custom/2"
    assert lowered["host"] == f"receiver.test:{server.port}"
    assert lowered["content-length"] == "7"
    assert "transfer-encoding" not in lowered
    assert second.body == b'{"a":1}'


def test_cookies_from_a_receiver_are_neither_kept_nor_sent_back(serve, make_sender) -> None:
    server = serve(lambda h: reply(h, 204, b"", {"Set-Cookie": "session=abc; Path=/"}))
    sender = make_sender()
    for _ in range(3):
        assert post(sender, f"http://receiver.test:{server.port}/").status_code == 204
    assert [seen.headers.get("Cookie") for seen in server.seen] == [None, None, None]


def test_a_header_that_is_not_ascii_is_a_result_and_nothing_is_sent(serve, make_sender) -> None:
    server = serve()
    result = post(make_sender(), f"http://receiver.test:{server.port}/", **{"X-Note": "déjà"})
    assert result.status_code is None
    assert result.error == "invalid header: the value of X-Note is not ASCII text: 'déjà'"
    assert server.connections == 0


def test_urls_are_parsed_once_and_the_cache_is_bounded(serve, make_sender) -> None:
    server = serve()
    sender = make_sender(max_clients=2)
    urls = [f"http://receiver.test:{server.port}/in/{n}" for n in range(3)]

    for _ in range(2):
        assert post(sender, urls[0]).status_code == 200
    cache = sender._parse_url.cache_info()
    assert (cache.hits, cache.misses, cache.currsize) == (1, 1, 1)

    for n, url in enumerate(urls):
        assert post(sender, url, f"ep_{n}").status_code == 200
    assert sender._parse_url.cache_info().currsize == 2  # max_clients URLs, no more

    # A URL that does not parse is refused on every attempt, and takes no room.
    for _ in range(2):
        result = post(sender, "ftp://receiver.test/in")
        assert result.error == "invalid URL: The URL must start with https:// or http://."
    assert sender._parse_url.cache_info().currsize == 2


def test_a_cached_url_is_still_resolved_and_vetted_on_every_attempt(serve, make_sender) -> None:
    server = serve()
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    sender = make_sender(resolve=resolve)
    url = f"http://receiver.test:{server.port}/"
    assert post(sender, url).status_code == 200  # a kept-alive connection, a cached URL
    sender.allow_private = False
    result = post(sender, url)
    assert (result.status_code, result.error) == (
        None,
        "refused: receiver.test resolves to 127.0.0.1, a loopback address",
    )
    assert asked == ["receiver.test", "receiver.test"]
    assert len(server.seen) == 1


def test_a_reused_url_goes_only_to_the_address_just_resolved(serve, make_sender) -> None:
    server = serve()
    # The name moves from 127.0.0.1 (where the server listens) to 127.0.0.2 (where nothing
    # does): the connection kept alive to the old address is not used for the new one.
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])
    sender = make_sender(resolve=lambda host, port: next(answers))
    url = f"http://receiver.test:{server.port}/"

    assert post(sender, url).status_code == 200
    moved = post(sender, url)
    assert (moved.status_code, moved.error) == (None, "connection refused")
    assert len(server.seen) == 1


def test_redirects_are_returned_not_followed(serve, make_sender) -> None:
    elsewhere = serve()
    server = serve(
        lambda h: reply(h, 302, b"", {"Location": f"http://127.0.0.1:{elsewhere.port}/"})
    )
    result = post(make_sender(), f"http://receiver.test:{server.port}/")
    assert (result.status_code, result.error) == (302, None)
    assert elsewhere.connections == 0


def test_error_statuses_and_retry_after_are_returned(serve, make_sender) -> None:
    server = serve(lambda h: reply(h, 429, b"slow down", {"Retry-After": "30"}))
    result = post(make_sender(), f"http://receiver.test:{server.port}/")
    assert (result.status_code, result.retry_after, result.excerpt) == (429, 30.0, "slow down")
    assert result.error is None


def test_a_slow_answer_times_out_at_the_total_deadline(serve, make_sender) -> None:
    # The receiver would hold the answer for a minute: ending in seconds is the deadline's
    # doing, with room for a busy machine.
    server = serve(lambda h: h.server.release.wait(60))
    sender = make_sender(total_timeout=0.4)
    started = time.monotonic()
    result = post(sender, f"http://receiver.test:{server.port}/")
    elapsed = time.monotonic() - started
    assert (result.status_code, result.error) == (None, "timed out after 0.4 s")
    assert 0.35 < elapsed < 15
    assert result.latency_ms >= 350


def dribble(handler: Handler) -> None:
    """Headers at once, then one byte of the body every 50 ms: each read is quick."""
    handler.send_response(200)
    handler.send_header("Content-Length", "10000")
    handler.end_headers()
    while not handler.server.release.wait(0.05):
        handler.wfile.write(b"x")


def test_the_deadline_holds_for_an_answer_that_never_ends(serve, make_sender) -> None:
    server = serve(dribble)
    started = time.monotonic()
    result = post(make_sender(total_timeout=0.5), f"http://receiver.test:{server.port}/")
    elapsed = time.monotonic() - started
    assert (result.status_code, result.error) == (None, "timed out after 0.5 s")
    # 10,000 bytes at one every 50 ms would take 500 s; the read timeout alone never fires.
    assert elapsed < 15


def test_only_the_start_of_a_huge_answer_is_read(
    serve, make_sender, monkeypatch: pytest.MonkeyPatch
) -> None:
    def flood(handler: Handler) -> None:
        handler.send_response(500)
        handler.send_header("Content-Type", "text/plain; charset=utf-8")
        handler.send_header("Content-Length", str(1 << 30))
        handler.end_headers()
        chunk = ("é" * 32 * 1024).encode()
        while not handler.server.release.is_set():
            handler.wfile.write(chunk)

    read: list[int] = []
    original = webhook_transport._GuardedStream.read

    def counting(self: Any, max_bytes: int, timeout: float | None = None) -> bytes:
        data = original(self, max_bytes, timeout)
        read.append(len(data))
        return data

    monkeypatch.setattr(webhook_transport._GuardedStream, "read", counting)
    server = serve(flood)
    sender = make_sender()
    started = time.monotonic()
    result = post(sender, f"http://receiver.test:{server.port}/")
    assert time.monotonic() - started < 30  # the gigabyte would take minutes
    assert (result.status_code, result.error) == (500, None)
    assert result.excerpt == "é" * (EXCERPT_BYTES // 2)
    assert sum(read) == MAX_RESPONSE_BYTES
    # That connection is not reused: the next attempt gets a fresh one.
    server.behaviour = reply
    assert post(sender, f"http://receiver.test:{server.port}/").status_code == 200
    assert server.connections == 2


def test_excerpts_are_decoded_leniently(serve, make_sender) -> None:
    server = serve(
        lambda h: reply(h, 400, "d\xe9j\xe0 vu".encode("latin-1"), {"Content-Type": "text/plain"})
    )
    assert post(make_sender(), f"http://receiver.test:{server.port}/").excerpt == "d�j� vu"
    server.behaviour = lambda h: reply(
        h, 400, "déjà".encode("latin-1"), {"Content-Type": "text/plain; charset=iso-8859-1"}
    )
    assert post(make_sender(), f"http://receiver.test:{server.port}/").excerpt == "déjà"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_network_failures_are_results(serve, make_sender) -> None:
    sender = make_sender()
    refused = post(sender, f"http://receiver.test:{free_port()}/")
    assert (refused.status_code, refused.error) == (None, "connection refused")

    def hang_up_now(handler: Handler) -> None:
        handler.close_connection = True  # reads the request, answers nothing

    hang_up = serve(hang_up_now)
    result = post(sender, f"http://receiver.test:{hang_up.port}/")
    assert result.status_code is None
    assert result.error == "protocol error: server disconnected without sending a response"

    garbage = serve(lambda h: h.wfile.write(b"NOT HTTP\r\n\r\n"))
    result = post(sender, f"http://receiver.test:{garbage.port}/")
    assert result.status_code is None and result.error.startswith("protocol error: ")


def test_bad_urls_and_names_at_send_time_are_results(make_sender) -> None:
    sender = make_sender(resolve=unresolvable)
    result = post(sender, "http://typo.test/")
    assert (result.status_code, result.error) == (
        None,
        "DNS: typo.test does not resolve (no such name)",
    )
    assert post(sender, "ftp://typo.test/").error.startswith("invalid URL: ")
    assert post(sender, "http://u:p@typo.test/").error.startswith("invalid URL: ")
    https_only = make_sender(require_https=True)
    assert post(https_only, "http://receiver.test/").error.startswith("invalid URL: ")


def test_a_connect_timeout_is_named(make_sender) -> None:
    # A listener whose accept queue is full: the kernel drops further SYNs, connect() hangs.
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(8):
            filler = socket.socket()
            filler.settimeout(0.2)
            fillers.append(filler)
            try:
                filler.connect(("127.0.0.1", port))
            except TimeoutError:
                break
        else:
            pytest.skip("this kernel does not drop connections to a full accept queue")
        started = time.monotonic()
        result = post(make_sender(connect_timeout=0.3, total_timeout=60), f"http://r.test:{port}/")
        assert (result.status_code, result.error) == (None, "connect timed out after 0.3 s")
        assert time.monotonic() - started < 15  # the connect timeout, not the minute's deadline
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


# -- TLS: the original name is the server name and the name checked ----------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA and a certificate for `localhost` and 127.0.0.1, made with the openssl command
    (neither `cryptography` nor `trustme` is installed)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=d, check=True, capture_output=True, timeout=30)  # noqa: S603

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj",
        "/CN=Webhook test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    run("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost")
    (d / "leaf.ext").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
    )
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext")  # fmt: skip
    return {"ca": d / "ca.pem", "cert": d / "leaf.pem", "key": d / "leaf.key"}


@pytest.fixture
def tls_server(serve, tls_files: dict[str, Path]) -> Server:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files["cert"], tls_files["key"])
    return serve(tls=context)


def test_tls_keeps_the_server_name_and_checks_the_certificate_against_it(
    tls_server: Server, tls_files: dict[str, Path], make_sender
) -> None:
    trusting = ssl.create_default_context(cafile=str(tls_files["ca"]))
    sender = make_sender(ssl_context=trusting)

    # `localhost` pinned to 127.0.0.1: the certificate is checked for `localhost`.
    result = post(sender, f"https://localhost:{tls_server.port}/hook")
    assert (result.status_code, result.error) == (200, None)
    assert tls_server.server_names == ["localhost"]
    assert tls_server.seen[0].host == f"localhost:{tls_server.port}"

    # Another name pinned to the same 127.0.0.1 (which the certificate also covers): refused,
    # so the name checked is the URL's, not the address connected to.
    result = post(sender, f"https://receiver.test:{tls_server.port}/hook", "ep_2")
    assert result.status_code is None
    assert result.error.startswith("TLS: certificate verify failed: Hostname mismatch")
    assert "receiver.test" in result.error
    assert tls_server.server_names[-1] == "receiver.test"
    assert len(tls_server.seen) == 1

    # An IP literal sends no server name and is checked as an address.
    result = post(sender, f"https://127.0.0.1:{tls_server.port}/hook", "ep_3")
    assert (result.status_code, result.error) == (200, None)
    assert tls_server.server_names[-1] is None


def test_tls_refuses_an_untrusted_certificate(tls_server: Server, make_sender) -> None:
    result = post(make_sender(), f"https://localhost:{tls_server.port}/hook")
    assert result.status_code is None
    assert result.error.startswith("TLS: certificate verify failed: ")
    assert len(tls_server.seen) == 0


def test_tls_to_a_plain_http_server_is_a_short_error(serve, make_sender) -> None:
    server = serve()
    result = post(make_sender(), f"https://localhost:{server.port}/")
    assert result.status_code is None
    assert result.error.startswith("TLS: ")


@pytest.mark.parametrize(
    "url",
    ["http://xn--bcher-kva.example/h", "http://XN--BCHER-KVA.example/h", "http://bücher.example/"],
)
def test_a_host_with_a_valid_idna_label_is_vetted_by_its_address(url):
    looked_up: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["93.184.216.34"]

    ssrf.vet_target_url(url, allow_private=False, require_https=False, resolve=resolve)

    assert looked_up == ["xn--bcher-kva.example"]
