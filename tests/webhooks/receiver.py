"""A real HTTP receiver for webhook deliveries, on loopback, whose answers a test programs.

`Receiver` is a `ThreadingHTTPServer` on 127.0.0.1 served from a thread. Each path answers with
a script: a list of `Reply`s used in turn (one per request to that path), then a default reply
for every request after them: `receiver.route("/hook", Reply(500), Reply(500), then=Reply(204))`
fails twice, then succeeds. A reply may sleep before answering (`delay`), to outlast the
worker's timeout or widen the window in which two requests could overlap.

Every request is recorded (`Received`: path, headers, raw body, when it arrived and was
answered, which process sent it when `owner_of` is set). Per `webhook-id`, the receiver counts
requests in flight and records an overlap whenever a request arrives while another with the
same id is still being answered.

Bounded: at most `max_connections` connections at once (more are refused and recorded as
errors), an idle keep-alive connection is closed after `idle_timeout`, and `stop()` ends every
connection and wakes every sleeping reply.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Reply:
    """What the receiver answers to one request."""

    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds to wait before answering


@dataclass
class Received:
    """One request as the receiver got it."""

    method: str
    path: str
    headers: dict[str, str]  # as sent (names in the sender's case)
    body: bytes
    arrived: float  # time.monotonic() once the body was read
    arrived_wall: float  # time.time() at the same moment
    peer_port: int
    owner: int | None = None  # pid of the process that sent it (see SocketOwners)
    answered: float | None = None  # time.monotonic() once the answer was written (or failed)
    status: int | None = None  # what was answered; None if the answer could not be written
    error: str | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    @property
    def webhook_id(self) -> str | None:
        return self.header("webhook-id")


class _Route:
    def __init__(self, replies: Iterable[Reply], then: Reply) -> None:
        self.replies = deque(replies)
        self.then = then

    def next(self) -> Reply:
        return self.replies.popleft() if self.replies else self.then


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self.receiver._admit(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A sender that went away mid-answer (a timeout, a killed worker): recorded, not printed.
        self.receiver._note_error(f"connection from {client_address}: error while handling")

    def shutdown_request(self, request: Any) -> None:
        self.receiver._forget(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the worker pools its connections
    server_version = "webhook-test-receiver"
    server: _Server

    def setup(self) -> None:
        self.timeout = self.server.receiver.idle_timeout
        super().setup()

    def do_POST(self) -> None:
        self.server.receiver._serve(self)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """A programmable webhook receiver on 127.0.0.1 (see the module's docstring)."""

    def __init__(
        self,
        name: str = "receiver",
        *,
        default: Reply | None = None,
        max_connections: int = 64,
        idle_timeout: float = 10.0,
        port: int = 0,
    ) -> None:
        self.name = name
        self.default = default or Reply(204)
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.owner_of: Callable[[int], int | None] | None = None
        self.requests: list[Received] = []
        self.errors: list[str] = []
        self.overlaps: list[str] = []
        self.max_in_flight = 0
        self._in_flight: Counter[str] = Counter()
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self.start()

    # -- programming ---------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, *replies: Reply, then: Reply | None = None) -> str:
        """Answer requests to `path` with `replies` in turn, then `then` (the receiver's
        default reply when not given); returns the path's URL."""
        with self._lock:
            self._routes[path] = _Route(replies, then or self.default)
        return self.url(path)

    # -- reading what arrived ------------------------------------------------------------------

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def answered(self, path: str | None = None) -> list[Received]:
        """Requests whose answer was written (or failed to be)."""
        return [r for r in self.received(path) if r.answered is not None]

    def count(self, path: str | None = None) -> int:
        return len(self.received(path))

    # -- life ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Listen (again) on `port`, the same port as before after a `stop()`."""
        assert self._server is None, "already running"
        self._closing.clear()
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.receiver = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Close the port and every open connection; sleeping replies end at once."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._closing.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    # -- the server's side ---------------------------------------------------------------------

    def _admit(self, request: socket.socket) -> bool:
        with self._lock:
            if len(self._connections) >= self.max_connections:
                self.errors.append(f"more than {self.max_connections} connections at once")
                return False
            self._connections.add(request)
            return True

    def _forget(self, request: socket.socket) -> None:
        with self._lock:
            self._connections.discard(request)

    def _note_error(self, what: str) -> None:
        with self._lock:
            self.errors.append(what)

    def _serve(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        record = Received(
            method=handler.command,
            path=handler.path,
            headers=dict(handler.headers.items()),
            body=body,
            arrived=time.monotonic(),
            arrived_wall=time.time(),
            peer_port=handler.client_address[1],
        )
        if self.owner_of is not None:
            record.owner = self.owner_of(record.peer_port)
        message_id = record.webhook_id or ""
        with self._lock:
            route = self._routes.get(record.path)
            reply = route.next() if route is not None else self.default
            if self._in_flight[message_id] > 0 and message_id:
                self.overlaps.append(message_id)
            self._in_flight[message_id] += 1
            self.max_in_flight = max(self.max_in_flight, sum(self._in_flight.values()))
            self.requests.append(record)
        try:
            if reply.delay:
                self._closing.wait(reply.delay)
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            handler.wfile.write(reply.body)
            handler.wfile.flush()
            record.status = reply.status
        except OSError as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            handler.close_connection = True
        finally:
            with self._lock:
                record.answered = time.monotonic()
                self._in_flight[message_id] -= 1


class SocketOwners:
    """Which of some processes owns the client end of a TCP connection to a local port.

    Linux only: the connection's socket inode is read from /proc/net/tcp (its local port is
    the peer port the receiver sees, its remote port the receiver's), then looked for among
    the file descriptors of each process. Results are cached per peer port (keep-alive
    connections are reused).
    """

    def __init__(self, pids: Iterable[int], server_port: int) -> None:
        self.pids = list(pids)
        self.server_port = server_port
        self._cache: dict[int, int | None] = {}
        self._lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        return Path("/proc/net/tcp").exists()

    def __call__(self, peer_port: int) -> int | None:
        with self._lock:
            if peer_port in self._cache:
                return self._cache[peer_port]
        owner = self._find(peer_port)
        with self._lock:
            self._cache[peer_port] = owner
        return owner

    def _find(self, peer_port: int) -> int | None:
        inode = self._inode(peer_port)
        if inode is None:
            return None
        wanted = f"socket:[{inode}]"
        for pid in self.pids:
            fd_dir = Path(f"/proc/{pid}/fd")
            try:
                names = list(fd_dir.iterdir())
            except OSError:
                continue
            for fd in names:
                try:
                    if fd.readlink().as_posix() == wanted:
                        return pid
                except OSError:
                    continue
        return None

    def _inode(self, peer_port: int) -> str | None:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if (
                    int(local.rsplit(":", 1)[1], 16) == peer_port
                    and int(remote.rsplit(":", 1)[1], 16) == self.server_port
                ):
                    return inode
        return None
