"""`flask dev`, the README's run command, run for real twice over one checkout: each run
answers its first write at once and delivers webhooks, a restart on the same port right after
a stop works, and a stop (TERM to the command, or Ctrl-C to its process group) leaves nothing
holding the database.

The checkout is a copy of the project's code in a temporary folder, so its `instance/` (the
SQLite file and the demo key) is the test's own, as in a fresh clone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webhooks.receiver import Receiver, Reply
from webhooks.support import verify, wait_until

ROOT = Path(__file__).resolve().parents[1]
# A write that waited on a lock held by the command would take the busy timeout (15 s) and
# then fail; a write that does not wait takes well under this on a busy two-core machine.
WRITE_TIMEOUT = 10.0
START_TIMEOUT = 90.0


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The project's code in a folder of its own, with no instance/ yet."""
    for name in ("app", "migrations", "seed"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "wsgi.py", tmp_path / "wsgi.py")
    return tmp_path


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def _ignore_int() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class DevRun:
    """One `flask dev` process (in a process group of its own, as a terminal would run it)."""

    def __init__(self, checkout: Path, port: int, *, int_ignored: bool = False) -> None:
        """`int_ignored`: started as a script's background job is, with INT ignored."""
        self.port = port
        self.output_path = checkout / f"dev-{time.monotonic_ns()}.log"
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "RATELIMIT_STORAGE_URI", "PROMETHEUS_MULTIPROC_DIR")
        }
        env["PYTHONUNBUFFERED"] = "1"
        with self.output_path.open("wb") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [sys.executable, "-m", "flask", "dev", "--port", str(port)],
                cwd=checkout,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_ignore_int if int_ignored else None,
            )
        self.base = f"http://127.0.0.1:{port}"

    @property
    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def started(self) -> str:
        """The demo key, once the API answers and the worker runs."""

        def ready() -> str | None:
            assert self.process.poll() is None, f"flask dev exited:\n{self.output}"
            keys = [line for line in self.output.splitlines() if "export API=" in line]
            if not keys or "delivering" not in self.output:
                return None
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as answer:  # noqa: S310
                    if answer.status != 200:
                        return None
            except OSError:
                return None
            return keys[0].split("KEY=")[1].strip()

        return wait_until(ready, "flask dev to serve", timeout=START_TIMEOUT, interval=0.2)

    def call(self, method: str, path: str, key: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 - a loopback URL of this test
            f"{self.base}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=WRITE_TIMEOUT) as answer:  # noqa: S310
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def stop(self, how: str) -> None:
        if how == "ctrl-c":  # what a terminal does: INT to every process of the group
            os.killpg(self.process.pid, signal.SIGINT)
        elif how == "int":  # to `flask dev` alone (`kill -INT`, a supervisor)
            self.process.send_signal(signal.SIGINT)
        else:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _write_and_deliver(run: DevRun, key: str, receiver: Receiver, name: str) -> None:
    """A write answered at once, and its event delivered, signed, by the run's worker."""
    started = time.monotonic()
    status, project = run.call(
        "POST", "/v1/projects", key, {"name": name, "application": "content-creation"}
    )
    took = time.monotonic() - started
    assert status == 201, (status, project, run.output[-3000:])
    assert took < WRITE_TIMEOUT
    # Answered, not only arrived: the receiver records a delivery before it writes the answer.
    delivered = wait_until(
        lambda: [r for r in receiver.answered("/hook") if project["id"].encode() in r.body],
        f"the delivery of {name}'s creation",
    )
    assert delivered[0].status == 204


def test_flask_dev_runs_again_and_again_in_one_checkout(checkout, receiver):
    port = _free_port()
    receiver.route("/hook", then=Reply(204))
    runs: list[DevRun] = []
    try:
        # First run: creates the demo team and key, and an endpoint for the receiver.
        runs.append(first := DevRun(checkout, port))
        key = first.started()
        status, endpoint = first.call(
            "POST", "/v1/webhooks", key, {"url": receiver.url("/hook"), "event_types": ["*"]}
        )
        assert status == 201, endpoint
        _write_and_deliver(first, key, receiver, "First run")
        # The banner says how to open the dashboard's page, and gives share links to it and
        # to the demo project's checklist page, which a browser opens with no key.
        assert (
            'curl -s $API/v1/dashboard -H "Authorization: Bearer $KEY" -H "Accept: text/html"'
            in first.output
        )
        links = _share_links(first)
        assert set(links) == {"dashboard", "checklist"}
        dashboard = _open(links["dashboard"])
        assert "Demo clinic notes" in dashboard and "<svg" in dashboard
        page = _open(links["checklist"])
        assert "Demo clinic notes" in page and "Sign-off sheet" in page
        first.stop("term")
        assert wait_until(lambda: _group_gone(first.process.pid), "the first run's processes")

        # Second run at once, same port and instance/: the same key, writes and deliveries.
        runs.append(second := DevRun(checkout, port))
        assert second.started() == key
        assert _share_links(second) == links  # kept in instance/, not made again
        _write_and_deliver(second, key, receiver, "Second run")
        (message,) = [
            verify(r, endpoint["secret"])
            for r in receiver.received("/hook")
            if b"Second run" in r.body
        ]
        assert message["type"] == "project.created"
        # The console: each request logged once, each delivery attempt once.
        assert second.output.count('"POST /v1/projects 201"') == 1
        # The worker logs an attempt once it is recorded, just after the receiver answered.
        attempts = wait_until(
            lambda: [line for line in second.output.splitlines() if "attempt 1 to" in line],
            "the worker's line for the delivery attempt",
        )
        assert len(attempts) == 1 and "succeeded" in attempts[0]
        second.stop("ctrl-c")
        assert wait_until(lambda: _group_gone(second.process.pid), "the second run's processes")

        # Nothing is left holding the database: a writer gets SQLite's lock at once.
        database = sqlite3.connect(checkout / "instance" / "staffing.db", timeout=0)
        try:
            database.execute("BEGIN IMMEDIATE")
            database.rollback()
        finally:
            database.close()

        # And a third run still starts on the port the second just left; started in the
        # background of a script (INT ignored), an INT to it alone still stops everything.
        runs.append(third := DevRun(checkout, port, int_ignored=True))
        assert third.started() == key
        _write_and_deliver(third, key, receiver, "Third run")
        third.stop("int")
        assert wait_until(lambda: _group_gone(third.process.pid), "the third run's processes")
    finally:
        for run in runs:
            run.kill()


def _share_links(run: DevRun) -> dict[str, str]:
    """The banner's share links, by what they open."""
    names = {"the team dashboard:": "dashboard", "the demo project's checklist:": "checklist"}
    links = {}
    for line in run.output.splitlines():
        for label, name in names.items():
            if label in line:
                links[name] = line.split(label)[1].strip()
    return links


def _open(url: str) -> str:
    """A page as a browser gets it: no key."""
    request = urllib.request.Request(url, headers={"Accept": "text/html"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=WRITE_TIMEOUT) as answer:  # noqa: S310
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/html")
        return answer.read().decode()


def test_flask_dev_refuses_a_port_something_listens_on(checkout):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = DevRun(checkout, port)
        try:
            assert run.process.wait(timeout=START_TIMEOUT) != 0
        finally:
            run.kill()
    assert f"127.0.0.1:{port} is in use" in run.output
    assert not (checkout / "instance" / "demo-api-key").exists()  # refused before anything
