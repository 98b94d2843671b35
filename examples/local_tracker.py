"""A local stand-in for GitHub issues, so that the ticket bridge runs end to end on one machine:
the REST calls the bridge makes, and the repository webhook that tells an integration about
issues, signed with `X-Hub-Signature-256` as GitHub signs it.

    TRACKER_TOKEN=ghp_local TRACKER_HOOK_SECRET=<integration secret> \\
    python examples/local_tracker.py --port 9100 --repo acme/app --hook-url <inbound_url>

Its API, a small part of GitHub's (`Authorization: Bearer $TRACKER_TOKEN` on writes):

    POST  /repos/{owner}/{repo}/issues        {"title", "body", "labels"}: 201, the issue
    GET   /repos/{owner}/{repo}/issues        the open ones (?state=all or closed for others)
    GET   /repos/{owner}/{repo}/issues/{n}
    PATCH /repos/{owner}/{repo}/issues/{n}    {"state": "closed", "state_reason": "completed"}
                                              (or "not_planned"), or {"state": "open"}

Each change (opened, closed, reopened) is posted to `--hook-url` as an `issues` delivery before
the request is answered (GitHub sends it a moment later), and printed with the answer it got.
Issues live in memory: a restart starts from none.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import signal
import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_BODY_BYTES = 1024 * 1024
ISSUE_PATH = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/issues(?:/(?P<number>\d+))?$")


class Tracker:
    """One repository's issues, and the webhook that hears of their changes."""

    def __init__(
        self, repo: str, token: str, user: str, hook_url: str | None, hook_secret: str | None
    ) -> None:
        self.repo = repo
        self.token = token
        self.user = user
        self.hook_url = hook_url
        self.hook_secret = hook_secret
        self.issues: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        now = _now()
        with self._lock:
            number = len(self.issues) + 1
            issue = {
                "url": f"https://api.github.com/repos/{self.repo}/issues/{number}",
                "html_url": f"https://github.com/{self.repo}/issues/{number}",
                "id": 2000000000 + number,
                "number": number,
                "title": fields["title"],
                "body": fields.get("body"),
                "labels": [{"name": str(name)} for name in fields.get("labels") or []],
                "user": {"login": self.user, "type": "User"},
                "state": "open",
                "state_reason": None,
                "created_at": now,
                "updated_at": now,
                "closed_at": None,
            }
            self.issues.append(issue)
        print(f"{self.repo}#{number} opened: {issue['title']}", flush=True)
        self.send_hook("opened", issue)
        return issue

    def update(self, issue: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        state = fields.get("state", issue["state"])
        action = None
        with self._lock:
            if state == "closed" and issue["state"] == "open":
                reason = fields.get("state_reason") or "completed"
                issue.update(state="closed", state_reason=reason, closed_at=_now())
                action = "closed"
            elif state == "open" and issue["state"] == "closed":
                issue.update(state="open", state_reason="reopened", closed_at=None)
                action = "reopened"
            issue["updated_at"] = _now()
        if action:
            print(f"{self.repo}#{issue['number']} {action}", flush=True)
            self.send_hook(action, issue)
        return issue

    def send_hook(self, action: str, issue: dict[str, Any]) -> None:
        if not self.hook_url or not self.hook_secret:
            return
        owner, name = self.repo.split("/")
        payload = {
            "action": action,
            "issue": issue,
            "repository": {"name": name, "full_name": self.repo, "owner": {"login": owner}},
            "sender": {"login": self.user, "type": "User"},
        }
        body = json.dumps(payload).encode()
        signature = hmac.new(self.hook_secret.encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(  # noqa: S310 - the URL the operator gave
            self.hook_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "GitHub-Hookshot/local-tracker",
                "X-GitHub-Event": "issues",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": f"sha256={signature}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                status, text = answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        except OSError as error:
            print(f"issues.{action} not delivered to {self.hook_url}: {error}", flush=True)
            return
        try:
            answer_body = json.loads(text)
        except ValueError:
            answer_body = None
        # The integration's record says what it did (`applied`…), a problem why it refused.
        said = (
            answer_body.get("outcome") or answer_body.get("detail")
            if isinstance(answer_body, dict)
            else text[:120]
        )
        print(f"issues.{action} delivered: {status} {said}", flush=True)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_handler(tracker: Tracker) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "local-tracker/1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/healthz":
                return self._json(200, {"status": "ok"})
            issue = self._issue(parts.path)
            if issue is not None:
                return self._json(200, issue)
            if self._route(parts.path) == (tracker.repo, None):
                state = parse_qs(parts.query).get("state", ["open"])[0]
                found = [i for i in tracker.issues if state in ("all", i["state"])]
                return self._json(200, list(reversed(found)))
            return self._not_found()

        def do_POST(self) -> None:
            if self._route(urlsplit(self.path).path) != (tracker.repo, None):
                return self._not_found()
            fields = self._body()
            if fields is None:
                return None
            if not isinstance(fields.get("title"), str) or not fields["title"]:
                return self._json(422, {"message": "Validation Failed: title is required"})
            return self._json(201, tracker.create(fields))

        def do_PATCH(self) -> None:
            issue = self._issue(urlsplit(self.path).path)
            if issue is None:
                return self._not_found()
            fields = self._body()
            if fields is None:
                return None
            if fields.get("state", "open") not in ("open", "closed") or fields.get(
                "state_reason", "completed"
            ) not in ("completed", "not_planned", None):
                return self._json(422, {"message": "Validation Failed: state or state_reason"})
            return self._json(200, tracker.update(issue, fields))

        def _route(self, path: str) -> tuple[str, int | None] | None:
            match = ISSUE_PATH.match(path)
            if match is None:
                return None
            number = match["number"]
            return match["repo"], int(number) if number else None

        def _issue(self, path: str) -> dict[str, Any] | None:
            route = self._route(path)
            if route is None or route[0] != tracker.repo or route[1] is None:
                return None
            number = route[1]
            return tracker.issues[number - 1] if 0 < number <= len(tracker.issues) else None

        def _body(self) -> dict[str, Any] | None:
            """The request's JSON object, once its token is checked; None once answered."""
            if self.headers.get("Authorization") != f"Bearer {tracker.token}":
                self._json(401, {"message": "Bad credentials"})
                return None
            length = int(self.headers.get("Content-Length") or 0)
            try:
                if length > MAX_BODY_BYTES:
                    raise ValueError
                fields = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                fields = None
            if not isinstance(fields, dict):
                self._json(400, {"message": "Problems parsing JSON"})
                return None
            return fields

        def _not_found(self) -> None:
            self._json(404, {"message": "Not Found"})

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # each change is printed (above)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="where to listen")
    parser.add_argument("--host", default="127.0.0.1", help="(default: %(default)s)")
    parser.add_argument("--repo", required=True, help="the repository, owner/name")
    parser.add_argument("--hook-url", help="where to post `issues` deliveries (inbound_url)")
    parser.add_argument("--user", default="octocat", help="who opens and closes issues")
    args = parser.parse_args(argv)
    token = os.environ.get("TRACKER_TOKEN", "")
    if not token:
        parser.error("set TRACKER_TOKEN to the token clients must send")
    hook_secret = os.environ.get("TRACKER_HOOK_SECRET")
    if args.hook_url and not hook_secret:
        parser.error("set TRACKER_HOOK_SECRET to the integration's secret to sign deliveries")
    tracker = Tracker(args.repo, token, args.user, args.hook_url, hook_secret)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(tracker))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"listening on http://{args.host}:{args.port}/repos/{args.repo}/issues", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
