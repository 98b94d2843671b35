"""Real processes on loopback for the examples' tests (and the docs' walk-throughs): free ports,
this interpreter's processes with their output in files, and waiting for what they print."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class Processes:
    """Processes of this repository's interpreter, their output in files, stopped at the end."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.running: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

    def run(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603 - our interpreter, our arguments
            [sys.executable, "-m", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result.stdout

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603
                [sys.executable, *args],
                cwd=ROOT,
                env={**self.env, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.running[name] = (process, log)

    def stop_one(self, name: str) -> None:
        process = self.running[name][0]
        process.terminate()
        process.wait(timeout=20)

    def output(self, name: str) -> str:
        return self.running[name][1].read_text()

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text()[-4000:]}" for _, log in self.running.values()
        )

    def stop(self) -> None:
        for process, _ in reversed(self.running.values()):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


class Tracker:
    """examples/local_tracker.py as a process, and its issues read through its API."""

    def __init__(
        self, processes: Processes, repo: str, token: str, port: int = 0, **hook: str
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.repo = repo
        self.token = token
        args = ["--port", str(self.port), "--repo", repo, "--user", "grace-h"]
        env = {"TRACKER_TOKEN": token}
        if hook:
            args += ["--hook-url", hook["url"]]
            env["TRACKER_HOOK_SECRET"] = hook["secret"]
        processes.start("tracker", str(EXAMPLES / "local_tracker.py"), *args, env=env)
        wait_until("the tracker", lambda: answers(f"{self.url}/healthz"))

    def issues(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/repos/{self.repo}/issues", params={"state": "all"})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def close(self, number: int) -> httpx.Response:
        return self.change(number, {"state": "closed", "state_reason": "completed"})

    def change(
        self, number: int, fields: dict[str, Any], token: str | None = None
    ) -> httpx.Response:
        return httpx.patch(
            f"{self.url}/repos/{self.repo}/issues/{number}",
            json=fields,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30,
        )


def start_bridge(
    processes: Processes, *, port: int, secret: str, api_key: str, tracker: Tracker
) -> None:
    """examples/ticket_bridge.py as a process on `port`, driving `tracker`."""
    processes.start(
        "bridge",
        str(EXAMPLES / "ticket_bridge.py"),
        "--port",
        str(port),
        "--repo",
        tracker.repo,
        "--github-api-url",
        tracker.url,
        env={
            "BRIDGE_WEBHOOK_SECRET": secret,
            "STAFFING_API_KEY": api_key,
            "GITHUB_TOKEN": tracker.token,
        },
    )
    wait_until("the bridge", lambda: answers(f"http://127.0.0.1:{port}/healthz"))
