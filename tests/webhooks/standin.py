"""What the stand-in trackers (`github/`, `jira/`, `linear/`) share: an HTTP server on loopback
that reads JSON requests and writes JSON answers, the log of calls and of violations, and the
switches a test programs (held creations, rate limits).

Each tracker's stand-in subclasses `StandIn` and answers in `handle(request)`: what a request
must look like, how it authenticates and what is answered stay the tracker's own.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, TypeVar

# What `handle` answers: the status, extra headers, and the JSON body (None: no body).
Answer = tuple[int, dict[str, str], Any]


class _Call(Protocol):
    operation: str | None


CallT = TypeVar("CallT", bound=_Call)


@dataclass
class Request:
    """A request as it came: the header names in lower case; the body as JSON, as text when it
    is not JSON, or None when there is none."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class StandIn(Generic[CallT]):
    """A tracker on loopback at `url`, serving the HTTP `methods` it takes (others: 501)."""

    methods: tuple[str, ...] = ("GET", "POST")
    content_type = "application/json; charset=utf-8"
    issues: dict[Any, dict[str, Any]]  # by the tracker's own key (a number, a key, ...)
    # What a worker is given to call this stand-in (a tracker found through the integration's
    # own settings needs nothing).
    worker_env: dict[str, str]

    def __init__(self, path: str = "") -> None:
        self.calls: list[CallT] = []
        self.violations: list[str] = []
        self.created = threading.Event()  # set when an issue is created
        self.worker_env = {}
        self._lock = threading.Lock()
        self._hold = threading.Event()
        self._hold.set()
        self._rate_limited = 0
        handler = type("Handler", (_Handler,), {f"do_{m}": _Handler.serve for m in self.methods})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.standin = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._hold.set()
        self.server.shutdown()
        self.server.server_close()

    def handle(self, request: Request) -> Answer:
        raise NotImplementedError

    def by_marker(self, marker: str) -> list[dict[str, Any]]:
        """The issues whose text has the line `marker`."""
        raise NotImplementedError

    # -- programming it --------------------------------------------------------------------------

    def hold_creates(self) -> None:
        self._hold.clear()

    def release(self) -> None:
        self._hold.set()

    def rate_limit_next(self, calls: int) -> None:
        self._rate_limited = calls

    def calls_to(self, operation: str) -> list[CallT]:
        with self._lock:
            return [c for c in self.calls if c.operation == operation]

    # -- for the subclasses' answers -------------------------------------------------------------

    def _rate_limits_this_call(self) -> bool:
        """Whether this call is one of those `rate_limit_next` asked to refuse (counting it)."""
        with self._lock:
            if self._rate_limited > 0:
                self._rate_limited -= 1
                return True
            return False

    def _created(self) -> None:
        """An issue exists: say so, and keep the answer while `hold_creates` holds it."""
        self.created.set()
        self._hold.wait(timeout=60)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def serve(self) -> None:
        standin: StandIn[Any] = self.server.standin  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, answer = standin.handle(Request(self.command, self.path, headers, body))
        payload = b"" if answer is None else json.dumps(answer).encode()
        try:
            self.send_response(status)
            if payload:
                self.send_header("Content-Type", standin.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the caller went away (a killed worker)

    def log_message(self, format: str, *args: Any) -> None:
        pass
