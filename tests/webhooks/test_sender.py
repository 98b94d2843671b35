"""The sender's own send path (httpcore straight from `WebhookSender`, URLs parsed once):
what it sends, what it ignores, what it caches, and that caching changes nothing of the
address checks. Real receivers on loopback, no database."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpcore
import pytest

from app.services import webhook_transport
from app.services.webhook_transport import SendResult, WebhookSender

from .receiver import Receiver, Reply

BODY = b'{"type":"checklist.item.status_changed"}'


def resolving_to(*answers: str, asked: list[str] | None = None) -> Callable[[str, int], list[str]]:
    """A resolver answering each lookup with the next of `answers` (the last one then on),
    noting the names it is asked for."""
    remaining = list(answers)

    def resolve(host: str, port: int) -> list[str]:
        if asked is not None:
            asked.append(host)
        return [remaining.pop(0) if len(remaining) > 1 else remaining[0]]

    return resolve


@pytest.fixture
def make_sender() -> Iterator[Callable[..., WebhookSender]]:
    made: list[WebhookSender] = []

    def make(**options: Any) -> WebhookSender:
        options.setdefault("allow_private", True)
        options.setdefault("resolve", resolving_to("127.0.0.1"))
        sender = WebhookSender(**options)
        made.append(sender)
        return sender

    yield make
    for sender in made:
        sender.close()


def post(sender: WebhookSender, url: str, endpoint: str = "whk_1", **headers: str) -> SendResult:
    return sender.send(endpoint, url, {"Content-Type": "application/json", **headers}, BODY)


def test_the_request_carries_the_default_headers_the_callers_and_its_own_framing(
    receivers: Callable[..., Receiver], make_sender: Callable[..., WebhookSender]
) -> None:
    receiver = receivers()
    receiver.route("/in")
    url = f"http://receiver.test:{receiver.port}/in"
    sender = make_sender(user_agent="staffing-checklist-webhooks/1")

    assert post(sender, url, **{"webhook-id": "msg_1", "X-Team": "ml"}).status_code == 204
    [first] = receiver.received()
    assert first.method == "POST" and first.body == BODY
    assert first.headers == {
        "Host": f"receiver.test:{receiver.port}",
        "Accept": "*/*",
        "Connection": "keep-alive",
        "User-Agent": "staffing-checklist-webhooks/1",
        "Accept-Encoding": "identity",
        "Content-Type": "application/json",
        "webhook-id": "msg_1",
        "X-Team": "ml",
        "Content-Length": str(len(BODY)),
    }

    # A default is replaced by the caller's header of the same name, whatever its case; the
    # Host and the framing stay the sender's.
    headers = {"user-agent": "custom/2", "Host": "evil.test", "Content-Length": "1"}
    assert post(sender, url, **headers, **{"Transfer-Encoding": "chunked"}).status_code == 204
    second = receiver.received()[1]
    assert second.header("User-Agent") == "custom/2"
    assert "Staffing" not in str(second.headers)
    assert second.header("Host") == f"receiver.test:{receiver.port}"
    assert second.header("Content-Length") == str(len(BODY))
    assert second.header("Transfer-Encoding") is None
    assert second.body == BODY


def test_cookies_from_a_receiver_are_neither_kept_nor_sent_back(
    receivers: Callable[..., Receiver], make_sender: Callable[..., WebhookSender]
) -> None:
    receiver = receivers()
    url = receiver.route("/in", then=Reply(204, {"Set-Cookie": "session=abc; Path=/"}))
    sender = make_sender()
    for _ in range(3):
        assert post(sender, url).status_code == 204
    assert [r.header("Cookie") for r in receiver.received()] == [None, None, None]


def test_a_header_that_is_not_ascii_is_a_result_and_nothing_is_sent(
    receivers: Callable[..., Receiver], make_sender: Callable[..., WebhookSender]
) -> None:
    receiver = receivers()
    url = receiver.route("/in")
    result = post(make_sender(), url, **{"X-Note": "déjà"})
    assert result.status_code is None
    assert result.error == "invalid header: the value of X-Note is not ASCII text: 'déjà'"
    assert receiver.count() == 0


def test_urls_are_parsed_once_and_the_cache_is_bounded(
    receivers: Callable[..., Receiver], make_sender: Callable[..., WebhookSender]
) -> None:
    receiver = receivers()
    sender = make_sender(max_clients=2)
    urls = [receiver.route(f"/in/{n}") for n in range(3)]

    for _ in range(2):
        assert post(sender, urls[0]).status_code == 204
    cache = sender._parse_url.cache_info()
    assert (cache.hits, cache.misses, cache.currsize) == (1, 1, 1)

    for n, url in enumerate(urls):
        assert post(sender, url, f"whk_{n}").status_code == 204
    assert sender._parse_url.cache_info().currsize == 2  # max_clients URLs, no more

    # A URL that does not parse is refused on every attempt, and takes no room.
    for _ in range(2):
        result = post(sender, "ftp://receiver.test/in")
        assert result.error == "invalid URL: The URL must start with https:// or http://."
    assert sender._parse_url.cache_info().currsize == 2


def test_a_cached_url_is_still_resolved_and_vetted_on_every_attempt(
    receivers: Callable[..., Receiver], make_sender: Callable[..., WebhookSender]
) -> None:
    receiver = receivers()
    receiver.route("/in")
    url = f"http://receiver.test:{receiver.port}/in"
    asked: list[str] = []
    sender = make_sender(resolve=resolving_to("127.0.0.1", asked=asked))

    assert post(sender, url).status_code == 204  # a kept-alive connection, a cached URL
    sender.allow_private = False
    result = post(sender, url)
    assert (result.status_code, result.error) == (
        None,
        "refused: receiver.test resolves to 127.0.0.1, a loopback address",
    )
    assert asked == ["receiver.test", "receiver.test"]
    assert receiver.count() == 1


def test_a_reused_url_goes_only_to_the_address_just_resolved(
    receivers: Callable[..., Receiver], make_sender: Callable[..., WebhookSender]
) -> None:
    receiver = receivers()
    receiver.route("/in")
    url = f"http://receiver.test:{receiver.port}/in"
    # The name moves from 127.0.0.1 (where the receiver listens) to 127.0.0.2 (where nothing
    # does): the connection kept alive to the old address is not used for the new one.
    sender = make_sender(resolve=resolving_to("127.0.0.1", "127.0.0.2"))

    assert post(sender, url).status_code == 204
    moved = post(sender, url)
    assert (moved.status_code, moved.error) == (None, "connection refused")
    assert receiver.count() == 1


def test_the_backend_refuses_any_address_but_the_attempts(
    receivers: Callable[..., Receiver],
) -> None:
    receiver = receivers()
    backend = webhook_transport._PinnedBackend()
    with (
        webhook_transport._attempt_to("127.0.0.2", time.monotonic() + 5),
        pytest.raises(httpcore.ConnectError, match=re.escape("127.0.0.1 is not the vetted")),
    ):
        backend.connect_tcp("127.0.0.1", receiver.port)
    assert receiver.count() == 0


def test_threads_share_an_endpoints_kept_alive_connections(
    receivers: Callable[..., Receiver], make_sender: Callable[..., WebhookSender]
) -> None:
    receiver = receivers()
    url = receiver.route("/in")
    sender = make_sender(max_keepalive_per_endpoint=8)
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
    assert [r.status_code for r in results] == [204] * 200
    assert receiver.count() == 200
    assert len({r.peer_port for r in receiver.received()}) <= 8
    assert receiver.errors == []
