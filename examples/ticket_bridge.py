"""A ticket bridge: opens a GitHub issue for each high or critical checklist item that has no
ticket yet, with the ticket text our webhooks carry, and links the issue back to the item.

Copy it, set the environment, run it next to the staffing checklist API:

    BRIDGE_WEBHOOK_SECRET=whsec_…      the secret of the webhook endpoint that points here
    STAFFING_API_KEY=sck_…             an API key with the `write` scope (to link tickets)
    GITHUB_TOKEN=ghp_…                 a token that may create issues in GITHUB_REPO
    GITHUB_REPO=acme/app               where the issues go
    GITHUB_API_URL=https://api.github.com   (the default)
    BRIDGE_PRIORITIES=high,critical    (the default)
    BRIDGE_HOST=127.0.0.1 BRIDGE_PORT=8787  where it listens (the default)

    python examples/ticket_bridge.py

Register it as a webhook endpoint of your team for `checklist.item.*` events
(`POST /v1/webhooks` with `"url": "http://<bridge>/hooks"`); item events carry the item, its
absolute API URL and a ready ticket (`title`, Markdown `body` ending with the marker line
`checklist-item: <project>/<item>`). The first event about a high or critical item that is
open or in progress and has no ticket opens its issue (an item is ticketed once, whatever
events follow). To close the loop, add a GitHub integration (`POST /v1/integrations`) and
paste its `inbound_url` and secret into the repository's webhook settings for "Issues": when
the issue is closed, the item is done.

Every delivery is verified with the reference `standardwebhooks` library before anything is
read. Answers: 204 when handled or not for us, 401 for a bad signature, 400 for a malformed
body, 502 when GitHub or the API failed (the service then retries the delivery later).
Needs `httpx` and `standardwebhooks` (`pip install httpx standardwebhooks`).
"""

from __future__ import annotations

import binascii
import logging
import os
import signal
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

log = logging.getLogger("ticket_bridge")

MAX_BODY_BYTES = 1024 * 1024
OPEN_STATUSES = ("open", "in_progress")


@dataclass(frozen=True)
class Settings:
    webhook_secret: str
    api_key: str
    github_token: str
    github_repo: str
    github_api_url: str
    priorities: frozenset[str]
    host: str
    port: int

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            webhook_secret=env["BRIDGE_WEBHOOK_SECRET"],
            api_key=env["STAFFING_API_KEY"],
            github_token=env["GITHUB_TOKEN"],
            github_repo=env["GITHUB_REPO"],
            github_api_url=env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
            priorities=frozenset(
                p.strip() for p in env.get("BRIDGE_PRIORITIES", "high,critical").split(",")
            ),
            host=env.get("BRIDGE_HOST", "127.0.0.1"),
            port=int(env.get("BRIDGE_PORT", "8787")),
        )


class Upstream(Exception):
    """GitHub or the staffing API failed: answer 502 so that the delivery is retried."""


class Bridge:
    """What to do with one verified event; one item is handled at a time (a lock), so that two
    events about the same new item open one issue."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.http = client or httpx.Client(timeout=10.0, follow_redirects=False)
        self.verifier = Webhook(settings.webhook_secret)
        self._lock = threading.Lock()

    def handle(self, event: dict[str, Any]) -> str:
        """Returns what was done, for the log."""
        if not str(event.get("type", "")).startswith("checklist.item."):
            return f"ignored {event.get('type')}"
        data = event.get("data") or {}
        item = data.get("item") or {}
        if not isinstance((item.get("links") or {}).get("api"), str) or not self._wants(item):
            return f"ignored {item.get('key')}: not a new {'/'.join(self.settings.priorities)} item"
        with self._lock:
            # The event may be old (a retry): ask the API for the item as it is now.
            current, etag = self._read_item(item["links"]["api"])
            if not self._wants(current):
                return f"ignored {item['key']}: ticketed or closed meanwhile"
            issue = self._open_issue(data["ticket"])
            key = f"{self.settings.github_repo}#{issue['number']}"
            self._link(item["links"]["api"], etag, key, issue.get("html_url"))
            return f"opened {key} for {data['project']['slug']}/{item['key']}"

    def _wants(self, item: dict[str, Any]) -> bool:
        return (
            item.get("priority") in self.settings.priorities
            and item.get("status") in OPEN_STATUSES
            and item.get("ticket") is None
        )

    def _api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.api_key}", "Accept": "application/json"}

    def _read_item(self, url: str) -> tuple[dict[str, Any], str]:
        response = self._call("GET", url, headers=self._api_headers())
        return response.json(), response.headers.get("ETag", "")

    def _open_issue(self, ticket: dict[str, str]) -> dict[str, Any]:
        url = f"{self.settings.github_api_url}/repos/{self.settings.github_repo}/issues"
        response = self._call(
            "POST",
            url,
            headers={
                "Authorization": f"Bearer {self.settings.github_token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            json={"title": ticket["title"], "body": ticket["body"], "labels": ["checklist"]},
        )
        return response.json()

    def _link(self, url: str, etag: str, key: str, html_url: str | None) -> None:
        ticket = {"system": "github", "key": key, "url": html_url}
        # If-Match: if someone linked a ticket since we read the item, theirs stays (412). The
        # issue we opened still names the item in its body: closing it will find the item.
        headers = {**self._api_headers(), "If-Match": etag} if etag else self._api_headers()
        self._call("PATCH", url, headers=headers, json={"ticket": ticket}, ok=(200, 412))

    def _call(
        self, method: str, url: str, *, ok: tuple[int, ...] = (200, 201), **kwargs: Any
    ) -> httpx.Response:
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise Upstream(f"{method} {url}: {exc}") from exc
        if response.status_code not in ok:
            raise Upstream(f"{method} {url}: {response.status_code} {response.text[:200]}")
        return response


def make_handler(bridge: Bridge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "ticket-bridge/1"

        def do_GET(self) -> None:
            self._answer(200 if self.path == "/healthz" else 404)

        def do_POST(self) -> None:
            if self.path != "/hooks":
                return self._answer(404)
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY_BYTES:
                return self._answer(413 if length else 400)
            body = self.rfile.read(length)
            try:
                event = bridge.verifier.verify(body, dict(self.headers.items()))
            except (WebhookVerificationError, ValueError, binascii.Error):
                log.warning("refused a delivery: bad signature")
                return self._answer(401)
            if not isinstance(event, dict):
                return self._answer(400)
            try:
                log.info("%s: %s", self.headers.get("webhook-id"), bridge.handle(event))
            except Upstream as exc:
                log.error("%s: %s", self.headers.get("webhook-id"), exc)
                return self._answer(502)
            except (KeyError, TypeError) as exc:
                log.warning("malformed event: %r", exc)
                return self._answer(400)
            return self._answer(204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

    return Handler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings.from_env()
    bridge = Bridge(settings)
    server = ThreadingHTTPServer((settings.host, settings.port), make_handler(bridge))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log.info("listening on http://%s:%s/hooks", settings.host, settings.port)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
