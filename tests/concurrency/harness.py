"""The machinery of the concurrency suite: real gunicorn servers, one HTTP connection per client
thread, requests released together by a barrier, and the figures every race reports.

Nothing here imports the application: the suite talks to it as its clients do, over HTTP, and
operates it as its operators do, with the `flask` CLI.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Every socket operation of a client waits at most this long.
REQUEST_TIMEOUT = 30.0
# A barrier that is not reached in this time means a client thread died before its request.
BARRIER_TIMEOUT = 30.0
# gunicorn closes an idle keep-alive connection after 2 s: a client reconnects before that
# rather than sending on a connection the server may be closing.
IDLE_RECONNECT = 1.5
MAX_THREADS = 8
PROBLEM_TYPE_SUFFIX_CONCURRENT = "concurrent-update"


# --------------------------------------------------------------------------- figures


@dataclass
class RaceFigures:
    """What one race measured: every status answered, and named counts (mismatches, lost
    updates, ...). The session summary prints them; docs/reliability.md quotes them."""

    title: str
    statuses: Counter[int] = field(default_factory=Counter)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1

    def record_transport_error(self, what: str) -> None:
        with self._lock:
            self.transport_errors.append(what)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + amount

    def zero(self, *names: str) -> None:
        """Name the counts this race reports, so that a zero is printed too."""
        with self._lock:
            for name in names:
                self.counts.setdefault(name, 0)

    def set(self, name: str, value: int) -> None:
        with self._lock:
            self.counts[name] = value

    def note(self, text: str) -> None:
        with self._lock:
            self.notes.append(text)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def assert_no_server_errors(self) -> None:
        """Zero 5xx and zero dropped connections: asserted by every race, before its own
        assertions, so a crash is never hidden behind a mismatch."""
        assert not self.transport_errors, (
            f"{len(self.transport_errors)} request(s) got no HTTP answer: "
            f"{self.transport_errors[:3]}"
        )
        assert self.server_errors == 0, f"5xx answers: {dict(self.statuses)}"


class Figures:
    """Every race's figures of the session, in the order the races ran."""

    def __init__(self) -> None:
        self.races: dict[str, RaceFigures] = {}
        self.server_logs: dict[str, Path] = {}

    def race(self, name: str, title: str) -> RaceFigures:
        if name not in self.races:
            self.races[name] = RaceFigures(title)
        return self.races[name]

    def lines(self) -> list[str]:
        out = []
        for name, race in self.races.items():
            statuses = ", ".join(f"{s}: {n}" for s, n in sorted(race.statuses.items()))
            counts = ", ".join(f"{k}={v}" for k, v in race.counts.items())
            out.append(
                f"{name}: {race.title} -- {race.requests} requests in {race.seconds:.1f} s, "
                f"5xx={race.server_errors}, no answer={len(race.transport_errors)}"
            )
            out.append(f"    statuses {{{statuses}}}")
            if counts:
                out.append(f"    {counts}")
            out.extend(f"    {note}" for note in race.notes)
        for name, path in self.server_logs.items():
            out.append(f"server log ({name}): {path}")
        return out


# --------------------------------------------------------------------------- HTTP


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    method: str
    path: str

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def is_concurrent_update(self) -> bool:
        """A 409 the service gives when it could not serialise a write: retry it later."""
        if self.status != 409 or not self.header("Retry-After"):
            return False
        try:
            problem_type = self.json.get("type", "")
        except ValueError:
            return False
        return str(problem_type).endswith(PROBLEM_TYPE_SUFFIX_CONCURRENT)

    def describe(self) -> str:
        return f"{self.method} {self.path} -> {self.status} {self.body[:300]!r}"


class TransportError(AssertionError):
    """The server closed the connection or did not answer in time: never acceptable."""


_OPEN_CLIENTS: list[Client] = []
_OPEN_LOCK = threading.Lock()


def close_all_clients() -> None:
    """Close every connection a test opened (one it forgot included: no socket leaks)."""
    with _OPEN_LOCK:
        clients = list(_OPEN_CLIENTS)
        _OPEN_CLIENTS.clear()
    for client in clients:
        client.close()


class Client:
    """One keep-alive HTTP connection of one API key. Not shared between threads: every
    concurrent client has its own, as separate programs would."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        figures: RaceFigures | None = None,
        *,
        authorization: str | None = None,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 80
        self.authorization = authorization or (f"Bearer {token}" if token else None)
        self.figures = figures
        self._conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        self._last_used = 0.0
        with _OPEN_LOCK:
            _OPEN_CLIENTS.append(self)

    def close(self) -> None:
        self._conn.close()

    def connect(self) -> None:
        """Open the connection now, before its first request: a sync worker accepts it and
        waits for that request, taking no other connection meanwhile."""
        self._conn.connect()
        self._last_used = time.monotonic()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        authorization: str | None = None,
    ) -> Answer:
        if query:
            path = f"{path}?{urllib.parse.urlencode(query)}"
        sent = {"Accept": "application/json"}
        auth = authorization if authorization is not None else self.authorization
        if auth is not None:
            sent["Authorization"] = auth
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        if time.monotonic() - self._last_used > IDLE_RECONNECT:
            self._conn.close()  # the next request connects again
        try:
            self._conn.request(method, path, body=body, headers=sent)
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            what = f"{method} {path}: {type(exc).__name__}: {exc}"
            if self.figures is not None:
                self.figures.record_transport_error(what)
            raise TransportError(what) from exc
        finally:
            self._last_used = time.monotonic()
        answer = Answer(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            data,
            method,
            path,
        )
        if self.figures is not None:
            self.figures.record(answer.status)
        if response.will_close:
            self._conn.close()
        return answer

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.request("POST", path, json_body=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.request("PUT", path, json_body=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.request("PATCH", path, json_body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Answer:
        return self.request("DELETE", path, **kwargs)

    # Helpers for setting up and reading back, where anything but the expected status is a
    # broken harness or a broken service, not a race outcome.

    def expect(self, answer: Answer, *statuses: int) -> Any:
        assert answer.status in statuses, answer.describe()
        return answer.json if answer.body else None

    def all_pages(self, path: str, **query: Any) -> list[dict[str, Any]]:
        """Every item of a cursor-paginated list, following `next_cursor`."""
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(1000):
            params = {"limit": 200, **query}
            if cursor:
                params["cursor"] = cursor
            page = self.expect(self.get(path, query=params), 200)
            items.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return items
        raise AssertionError(f"{path}: more than 1000 pages")


@dataclass
class Server:
    """A running gunicorn: its URL and the API keys made for it."""

    name: str
    base_url: str
    tokens: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self, figures: RaceFigures | None = None, key: str = "main") -> Client:
        return Client(self.base_url, self.tokens[key], figures)


# --------------------------------------------------------------------------- concurrency


def run_together(
    tasks: Sequence[Callable[[Client], Any]],
    make_client: Callable[[], Client],
) -> list[Any]:
    """Run each task on a thread of its own with a client (connection) of its own; the
    connections are opened first and the first requests released together by a barrier.
    Returns the tasks' results in order; a task's exception is raised here."""
    assert 0 < len(tasks) <= MAX_THREADS
    barrier = threading.Barrier(len(tasks), timeout=BARRIER_TIMEOUT)

    def run(task: Callable[[Client], Any]) -> Any:
        with make_client() as client:
            try:
                # Open the TCP connection before the barrier, so that the requests leave at once.
                client._conn.connect()
                client._last_used = time.monotonic()
            except OSError:
                barrier.abort()
                raise
            barrier.wait()
            return task(client)

    with ThreadPoolExecutor(len(tasks)) as pool:
        futures = [pool.submit(run, task) for task in tasks]
        return [future.result(timeout=BARRIER_TIMEOUT + 4 * REQUEST_TIMEOUT) for future in futures]


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(env: Mapping[str, str], *args: str) -> str:
    """Run `flask <args>` of this repository (the operator's CLI); returns its stdout."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"flask {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def create_key(env: Mapping[str, str], team_slug: str, scopes: str, name: str) -> str:
    """`flask keys create`: the key is the last line of its output."""
    return new_key(env, team_slug, scopes, name)[1]


def new_key(env: Mapping[str, str], team_slug: str, scopes: str, name: str) -> tuple[str, str]:
    """`flask keys create`: (the key's id, the key)."""
    output = run_cli(env, "keys", "create", team_slug, "--scopes", scopes, "--name", name)
    lines = output.strip().splitlines()
    key_id = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("id:"))
    assert lines[-1].startswith("sck_"), output
    return key_id, lines[-1].strip()


@dataclass
class GunicornSpec:
    name: str
    env: dict[str, str]
    workers: int = 4
    threads: int = 4
    # Python run before gunicorn starts, in the server process (`-c`); the clock shift uses it.
    prelude: str = ""


def start_gunicorn(spec: GunicornSpec, log_dir: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log_path = log_dir / f"gunicorn-{spec.name}.log"
    argv = [
        "-w",
        str(spec.workers),
        "--threads",
        str(spec.threads),
        "-b",
        f"127.0.0.1:{port}",
        "wsgi:app",
    ]
    if spec.prelude:
        code = spec.prelude + "\nfrom gunicorn.app.wsgiapp import run\nrun()\n"
        command = [sys.executable, "-c", code, *argv]
    else:
        command = [sys.executable, "-m", "gunicorn", *argv]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command,
            cwd=ROOT,
            env={**os.environ, **spec.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, f"http://127.0.0.1:{port}", log_path


def wait_ready(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    """Poll `/readyz` until it answers 200 (database reachable and migrated)."""
    deadline = time.monotonic() + 60
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"gunicorn exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
            )
        try:
            with Client(base_url, None) as probe:
                answer = probe.get("/readyz")
            if answer.status == 200:
                return
            last = answer.describe()
        except TransportError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise AssertionError(f"gunicorn at {base_url} not ready after 60 s: {last}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def serve(spec: GunicornSpec, log_dir: Path, tokens: dict[str, str]) -> Iterator[Server]:
    process, base_url, log_path = start_gunicorn(spec, log_dir)
    try:
        wait_ready(process, base_url, log_path)
        yield Server(spec.name, base_url, tokens, process, log_path)
    finally:
        stop(process)


# The server process's clock, `CLOCK_SHIFT_DAYS` days ahead, for `datetime.now()` and
# `datetime.utcnow()`: how the waiver race sees what the service does once a date has passed,
# without waiting for it. The monotonic and wall clocks (`time`) are untouched, so gunicorn's
# timeouts and heartbeats work as ever.
CLOCK_SHIFT_PRELUDE = '''
import datetime as _dt
import os as _os

_SHIFT = _dt.timedelta(days=int(_os.environ["CLOCK_SHIFT_DAYS"]))


class _ShiftedDatetime(_dt.datetime):
    """datetime whose `now` is some days ahead."""

    @classmethod
    def now(cls, tz=None):
        return _REAL.now(tz) + _SHIFT

    @classmethod
    def utcnow(cls):
        return _REAL.utcnow() + _SHIFT

    @classmethod
    def today(cls):
        return _REAL.today() + _SHIFT


_REAL = _dt.datetime
_dt.datetime = _ShiftedDatetime
'''
