"""A local stand-in for GitHub, the one system the end-to-end test cannot reach: the REST
endpoint that creates issues (which it records), and the repository webhook that tells a URL
about issues, signed with `X-Hub-Signature-256` as GitHub signs it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class FakeGitHub:
    """`repo` holds the issues; `hook_url` and `hook_secret` are the repository's webhook
    (set once the integration exists); every delivery sent is kept with its answer."""

    repo: str
    token: str
    hook_url: str | None = None
    hook_secret: str | None = None
    issues: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGitHub:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ----------------------------------------------------------------- the REST API

    def create_issue(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            number = len(self.issues) + 1
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            issue = {
                "url": f"https://api.github.com/repos/{self.repo}/issues/{number}",
                "html_url": f"https://github.com/{self.repo}/issues/{number}",
                "id": 2000000000 + number,
                "node_id": f"I_kwDOFake{number}",
                "number": number,
                "title": body["title"],
                "body": body.get("body"),
                "labels": [{"name": name} for name in body.get("labels") or []],
                "user": {"login": "ticket-bridge[bot]", "type": "Bot"},
                "state": "open",
                "state_reason": None,
                "locked": False,
                "assignees": [],
                "comments": 0,
                "created_at": now,
                "updated_at": now,
                "closed_at": None,
                "author_association": "NONE",
            }
            self.issues.append(issue)
        # GitHub tells the repository's webhook about the new issue too, soon after.
        threading.Thread(
            target=self.send_issue_event, args=("opened", dict(issue)), daemon=True
        ).start()
        return issue

    # ----------------------------------------------------------------- the webhook

    def close_issue(self, number: int, *, reason: str = "completed", by: str = "octocat") -> Any:
        issue = self.issues[number - 1]
        issue.update(state="closed", state_reason=reason, closed_at=issue["updated_at"])
        return self.send_issue_event("closed", issue, sender=by)

    def send_issue_event(
        self, action: str, issue: dict[str, Any], sender: str = "ticket-bridge[bot]"
    ) -> httpx.Response | None:
        if self.hook_url is None or self.hook_secret is None:
            return None
        owner, name = self.repo.split("/")
        payload = {
            "action": action,
            "issue": issue,
            "repository": {"name": name, "full_name": self.repo, "owner": {"login": owner}},
            "sender": {"login": sender, "type": "User"},
        }
        body = json.dumps(payload).encode()
        signature = hmac.new(self.hook_secret.encode(), body, hashlib.sha256).hexdigest()
        response = httpx.post(
            self.hook_url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "GitHub-Hookshot/fake",
                "X-GitHub-Event": "issues",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": f"sha256={signature}",
            },
            timeout=10,
        )
        with self._lock:
            self.deliveries.append((action, response.status_code, response.json()))
        return response


def _handler(github: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            github.requests.append(("POST", self.path))
            if self.path != f"/repos/{github.repo}/issues":
                return self._json(404, {"message": "Not Found"})
            if self.headers.get("Authorization") != f"Bearer {github.token}":
                return self._json(401, {"message": "Bad credentials"})
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict) or not body.get("title"):
                return self._json(422, {"message": "Validation Failed"})
            return self._json(201, github.create_issue(body))

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
