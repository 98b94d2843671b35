"""The whole loop, with real processes on loopback: the API (gunicorn) and the delivery worker
on one database, `examples/ticket_bridge.py` as a webhook endpoint, and a fake GitHub.

An item is started → our event reaches the bridge, which verifies it → the bridge opens an
issue on the fake GitHub with our ticket text and links it back through the API → the issue is
closed on the fake GitHub, which sends a signed `issues` delivery to the integration's inbound
URL → the item is done, and the activity feed says why.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .fake_github import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
# High for a project handling personal data, and done without a sign-off or evidence.
KEY = "data-privacy.minimize-and-pseudonymize"


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


class Processes:
    """Processes of this repository's interpreter, their output in files, stopped at the end."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []

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
        self.running.append((process, log))

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for _, log in self.running)

    def stop(self) -> None:
        for process, _ in reversed(self.running):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The API and the worker on a fresh SQLite database, and a team's admin key."""
    api_port = free_port()
    base = f"http://127.0.0.1:{api_port}"
    processes = Processes(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'staffing.db'}",
            "PUBLIC_BASE_URL": base,
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
            "WEBHOOK_POLL_SECONDS": "0.1",
            "WEBHOOK_RETRY_SCHEDULE": "1,1,1",
            "LOG_LEVEL": "WARNING",
        },
        tmp_path,
    )
    try:
        processes.run("flask", "db", "upgrade")
        processes.run("flask", "seed")
        processes.run("flask", "teams", "create", "Clinic AI", "--slug", "clinic-ai")
        output = processes.run(
            "flask", "keys", "create", "clinic-ai", "--scopes", "read,write,admin"
        )
        token = output.strip().splitlines()[-1]
        processes.start(
            "api", "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{api_port}", "wsgi:app"
        )
        wait_until("the API", lambda: answers(f"{base}/readyz"))
        processes.start("worker", "-m", "flask", "webhooks", "worker")
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        yield {"base": base, "token": token, "api": client, "processes": processes}
    except BaseException:
        print(processes.logs())
        raise
    finally:
        processes.stop()


def test_an_item_ticketed_by_the_bridge_is_done_when_github_closes_the_issue(stack, tmp_path):
    api: httpx.Client = stack["api"]
    processes: Processes = stack["processes"]
    github = FakeGitHub(repo="acme/clinic-notes", token="ghp_fake_token").start()
    try:
        # The team's setup: a GitHub integration for the repository, and the bridge as an
        # endpoint for item events.
        integration = api.post(
            "/v1/integrations", json={"provider": "github", "name": "acme/clinic-notes"}
        ).json()
        github.hook_url, github.hook_secret = integration["inbound_url"], integration["secret"]
        bridge_port = free_port()
        endpoint = api.post(
            "/v1/webhooks",
            json={
                "url": f"http://127.0.0.1:{bridge_port}/hooks",
                "event_types": ["checklist.item.*"],
            },
        ).json()
        processes.start(
            "bridge",
            str(ROOT / "examples" / "ticket_bridge.py"),
            env={
                "BRIDGE_WEBHOOK_SECRET": endpoint["secret"],
                "STAFFING_API_KEY": stack["token"],
                "GITHUB_TOKEN": "ghp_fake_token",
                "GITHUB_REPO": "acme/clinic-notes",
                "GITHUB_API_URL": github.url,
                "BRIDGE_PORT": str(bridge_port),
            },
        )
        wait_until("the bridge", lambda: answers(f"http://127.0.0.1:{bridge_port}/healthz"))

        # A project's checklist; someone starts a high-priority item.
        project = api.post(
            "/v1/projects",
            json={
                "name": "Clinic notes",
                "slug": "clinic-notes",
                "application": "other",
                "traits": {"handles_personal_data": True},
            },
        ).json()
        assert api.post(f"/v1/projects/{project['id']}/checklist").status_code == 201
        item_url = f"/v1/projects/{project['id']}/checklist/items/{KEY}"
        started = api.patch(item_url, json={"status": "in_progress"})
        assert started.status_code == 200, started.text

        # The bridge opened the issue with our ticket text, and linked it back.
        issue = wait_until("the issue", lambda: github.issues and github.issues[0])
        assert (
            issue["title"]
            == "Clinic notes: Minimize and pseudonymize personal data before training"
        )
        assert issue["body"].splitlines()[-1] == f"checklist-item: clinic-notes/{KEY}"
        linked = wait_until("the link", lambda: api.get(item_url).json()["ticket"])
        assert linked == {
            "system": "github",
            "key": "acme/clinic-notes#1",
            "url": "https://github.com/acme/clinic-notes/issues/1",
        }
        # GitHub told the integration about the new issue: recorded, nothing to change.
        wait_until("the opened delivery", lambda: github.deliveries)
        assert github.deliveries[0][:2] == ("opened", 202)

        # The issue is closed on GitHub: the item follows.
        closed = github.close_issue(1, by="grace-h")
        assert closed is not None
        assert closed.status_code == 200, closed.text
        assert closed.json()["outcome"] == "applied"
        assert api.get(item_url).json()["status"] == "done"
        feed = api.get(
            f"/v1/projects/{project['id']}/events",
            params={"type": "checklist.item.status_changed"},
        ).json()["items"]
        assert feed[0]["actor"] == f"integration:{integration['id']}"
        assert feed[0]["payload"]["source"] == "github"
        assert feed[0]["payload"]["reason"] == (
            "GitHub issue acme/clinic-notes#1 was closed as completed by grace-h"
        )

        # Every item event reached the bridge (the worker delivered them all), and the bridge
        # opened one issue only.
        def all_delivered() -> bool:
            log = api.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()["items"]
            return len(log) >= 3 and all(d["status"] == "succeeded" for d in log)

        wait_until("the deliveries to the bridge", all_delivered)
        assert len(github.issues) == 1
        assert github.requests == [("POST", "/repos/acme/clinic-notes/issues")]
        deliveries = api.get(f"/v1/integrations/{integration['id']}/deliveries").json()["items"]
        assert [d["event"] for d in deliveries] == ["issues.closed", "issues.opened"]
    except BaseException:
        print(processes.logs())
        raise
    finally:
        github.stop()
