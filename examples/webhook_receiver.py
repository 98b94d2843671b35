"""A webhook receiver that verifies Standard Webhooks signatures with the standard library alone
and prints each event it accepts: a starting point for yours, and the receiver of the
five-minute walk-through in docs/webhooks.md.

    WEBHOOK_SECRET=whsec_… python examples/webhook_receiver.py --port 9000

It listens on http://127.0.0.1:<port>/ (any path), answers 204 to a delivery whose signature
matches, 401 to one that does not (or whose timestamp is more than five minutes from now), and
prints `<webhook-id> <type> <data, shortened>` for each one it accepts. `verify()` is what to
copy into a receiver of your own; the reference `standardwebhooks` library
(`pip install standardwebhooks`) does the same.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import signal
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 5 * 60
MAX_BODY_BYTES = 1024 * 1024


class InvalidSignature(Exception):
    """The delivery is not signed with our secret, or not now: refuse it, read nothing of it."""


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> Any:
    """The delivery's JSON once its signature is checked, as the Standard Webhooks spec says:
    HMAC-SHA256 keyed with the base64 part of `whsec_…`, over `{id}.{timestamp}.{body}`; any
    `v1,` entry of `webhook-signature` may match (two are sent during a secret rotation)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not msg_id or not timestamp.isdigit() or not signatures:
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    # A captured delivery replayed later is refused; so is one from a clock far ahead.
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        raise InvalidSignature("timestamp too far from now")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error as exc:
        raise InvalidSignature("the secret is not whsec_ + base64") from exc
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for entry in signatures.split():
        version, _, signature = entry.partition(",")
        # compare_digest: the time taken says nothing of how much of a guess was right.
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return json.loads(body)
    raise InvalidSignature("no signature matches")


def make_handler(secret: str) -> type[BaseHTTPRequestHandler]:
    class Receiver(BaseHTTPRequestHandler):
        server_version = "webhook-receiver/1"

        def do_GET(self) -> None:
            self._answer(200 if self.path == "/healthz" else 404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY_BYTES:
                return self._answer(413 if length else 400)
            body = self.rfile.read(length)
            try:
                message = verify(secret, dict(self.headers.items()), body)
            except InvalidSignature as exc:
                print(f"refused a delivery: {exc}", flush=True)
                return self._answer(401)
            except ValueError:  # signed by us, yet not JSON: nothing we sent
                return self._answer(400)
            data = json.dumps(message.get("data"))[:120] if isinstance(message, dict) else ""
            kind = message.get("type") if isinstance(message, dict) else None
            print(self.headers["webhook-id"], kind, data, flush=True)
            self._answer(204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per event (above) is the useful output

    return Receiver


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="where to listen")
    parser.add_argument("--host", default="127.0.0.1", help="(default: %(default)s)")
    args = parser.parse_args(argv)
    secret = os.environ.get("WEBHOOK_SECRET", "")
    if not secret.startswith("whsec_"):
        parser.error("set WEBHOOK_SECRET to the endpoint's whsec_… secret")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(secret))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"listening on http://{args.host}:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
