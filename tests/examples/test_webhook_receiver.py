"""examples/webhook_receiver.py verifies with the standard library alone what the reference
`standardwebhooks` library signs, and refuses the rest: a tampered body, another secret, a
stale timestamp, a malformed signature. The receiver runs as a process on a free port."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from standardwebhooks import Webhook

from .support import EXAMPLES, Processes, answers, free_port, wait_until


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


SECRET = new_secret()
BODY = json.dumps(
    {
        "type": "checklist.item.status_changed",
        "timestamp": "2026-12-07T06:00:00+00:00",
        "data": {"item": {"key": "data-scientist.collect-and-preprocess-data", "version": 3}},
    }
)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Processes]]:
    processes = Processes({"WEBHOOK_SECRET": SECRET}, tmp_path)
    port = free_port()
    try:
        processes.start("receiver", str(EXAMPLES / "webhook_receiver.py"), "--port", str(port))
        base = f"http://127.0.0.1:{port}"
        wait_until("the receiver", lambda: answers(f"{base}/healthz"))
        assert processes.output("receiver").startswith(f"listening on {base}/")
        yield f"{base}/hook", processes
    finally:
        print(processes.logs())  # shown when the test fails
        processes.stop()


def signed(
    body: str = BODY, *, secret: str = SECRET, at: datetime | None = None, msg_id: str = "msg_1"
) -> dict[str, str]:
    at = at or datetime.now(UTC)
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }


def test_it_accepts_what_the_reference_library_signs_and_prints_the_event(receiver):
    url, processes = receiver
    answer = httpx.post(url, content=BODY, headers=signed(msg_id="msg_accepted"))
    assert answer.status_code == 204
    printed = processes.output("receiver").splitlines()[-1]
    assert printed.startswith("msg_accepted checklist.item.status_changed {")
    # During a rotation the service sends one signature per secret: any may match.
    rotation = signed(msg_id="msg_rotation")
    other = signed(secret=new_secret(), msg_id="msg_rotation")["webhook-signature"]
    rotation["webhook-signature"] = f"{other} {rotation['webhook-signature']}"
    assert httpx.post(url, content=BODY, headers=rotation).status_code == 204


@pytest.mark.parametrize(
    ("case", "body", "sign"),
    [
        ("tampered body", BODY.replace('"version": 3', '"version": 4'), lambda: signed()),
        ("another secret", BODY, lambda: signed(secret=new_secret())),
        ("signed 6 minutes ago", BODY, lambda: signed(at=datetime.now(UTC) - timedelta(minutes=6))),
        ("6 minutes ahead", BODY, lambda: signed(at=datetime.now(UTC) + timedelta(minutes=6))),
        ("another id", BODY, lambda: {**signed(), "webhook-id": "msg_2"}),
        (
            "no v1 prefix",
            BODY,
            lambda: {**signed(), "webhook-signature": "K5oZfzN95Z9UVu1EsfQmfVNQ="},
        ),
        ("not base64", BODY, lambda: {**signed(), "webhook-signature": "v1,%%%"}),
        (
            "no signature",
            BODY,
            lambda: {k: v for k, v in signed().items() if k != "webhook-signature"},
        ),
        ("timestamp not a number", BODY, lambda: {**signed(), "webhook-timestamp": "soon"}),
    ],
)
def test_it_refuses_what_is_not_signed_with_its_secret_now(receiver, case, body, sign):
    url, processes = receiver
    # Signed when the test runs, not when it was collected: "6 minutes ahead" stays so.
    headers = sign()
    # The reference library refuses it too: the two agree.
    with pytest.raises(Exception):  # noqa: B017 - its errors differ by case
        Webhook(SECRET).verify(body, headers)
    answer = httpx.post(url, content=body, headers=headers)
    assert answer.status_code == 401, case
    assert processes.output("receiver").splitlines()[-1].startswith("refused a delivery: ")
