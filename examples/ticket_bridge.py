"""A ticket bridge: opens a GitHub issue for each high or critical checklist item that has no
ticket yet, with the ticket text our webhooks carry, and links the issue back to the item.

Copy it (with webhook_receiver.py beside it, whose `verify()` checks the signatures), set the
environment, run it next to the staffing checklist API:

    BRIDGE_WEBHOOK_SECRET=whsec_…      the secret of the webhook endpoint that points here
    STAFFING_API_KEY=sck_…             an API key with the `write` scope (to link tickets)
    GITHUB_TOKEN=ghp_…                 a token that may create issues in the repository

    python examples/ticket_bridge.py --port 8787 --repo acme/app
        [--host 127.0.0.1] [--github-api-url https://api.github.com] [--priorities high,critical]

`--github-api-url http://127.0.0.1:<port>` with examples/local_tracker.py runs the whole loop on
one machine (docs/ticketing.md, "The ticket bridge").

Register it as a webhook endpoint of your team for `checklist.item.*` events
(`POST /v1/webhooks` with `"url": "http://<bridge>/hooks"`); item events carry the item, its
absolute API URL and a ready ticket (`title`, Markdown `body` ending with the marker line
`checklist-item: <project>/<item>`). The first event about a high or critical item that is
open or in progress and has no ticket opens its issue (an item is ticketed once, whatever
events follow). To close the loop, add a GitHub integration (`POST /v1/integrations`) and
paste its `inbound_url` and secret into the repository's webhook settings for "Issues": when
the issue is closed, the item is done.

Deliveries may arrive out of order (and again, when retried): an item event carrying
`data.item.version` is acted on only if that version is newer than the highest one handled for
the item; an older or equal one is discarded. An event without a version is always handled.

Every delivery is verified (Standard Webhooks, with the standard library) before anything is
read. Answers: 204 when handled or not for us, 401 for a bad signature, 400 for a malformed
body, 502 when GitHub or the API failed (the service then retries the delivery later).
Needs only `httpx`, which the service installs.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from webhook_receiver import InvalidSignature, verify

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
    def from_args(cls, argv: list[str] | None = None) -> Settings:
        """Where to listen and what to reach from the command line; secrets from the
        environment, where they stay out of the process list."""
        parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
        parser.add_argument("--port", type=int, required=True, help="where to listen")
        parser.add_argument("--host", default="127.0.0.1", help="(default: %(default)s)")
        parser.add_argument("--repo", required=True, help="where issues go, owner/name")
        parser.add_argument("--github-api-url", default="https://api.github.com")
        parser.add_argument("--priorities", default="high,critical")
        args = parser.parse_args(argv)
        env = os.environ
        missing = [
            name
            for name in ("BRIDGE_WEBHOOK_SECRET", "STAFFING_API_KEY", "GITHUB_TOKEN")
            if not env.get(name)
        ]
        if missing:
            parser.error(f"set {', '.join(missing)}")
        return cls(
            webhook_secret=env["BRIDGE_WEBHOOK_SECRET"],
            api_key=env["STAFFING_API_KEY"],
            github_token=env["GITHUB_TOKEN"],
            github_repo=args.repo,
            github_api_url=args.github_api_url.rstrip("/"),
            priorities=frozenset(p.strip() for p in args.priorities.split(",")),
            host=args.host,
            port=args.port,
        )


class Upstream(Exception):
    """GitHub or the staffing API failed: answer 502 so that the delivery is retried."""


class Bridge:
    """What to do with one verified event; one event is handled at a time (a lock), so that two
    events about the same new item open one issue, and versions are compared in order."""

    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.http = client or httpx.Client(timeout=10.0, follow_redirects=False)
        self._lock = threading.Lock()
        # The highest `data.item.version` handled, per (project id, item key).
        self._versions: dict[tuple[str, str], int] = {}

    def verify(self, body: bytes, headers: dict[str, str]) -> Any:
        return verify(self.settings.webhook_secret, headers, body)

    def handle(self, event: dict[str, Any]) -> str:
        """Returns what was done, for the log."""
        if not str(event.get("type", "")).startswith("checklist.item."):
            return f"ignored {event.get('type')}"
        data = event.get("data") or {}
        item = data.get("item") or {}
        key = (str((data.get("project") or {}).get("id")), str(item.get("key")))
        version = item.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            version = None  # an event of a service that does not number changes: apply it
        with self._lock:
            seen = self._versions.get(key)
            if version is not None and seen is not None and version <= seen:
                return f"discarded {key[1]}: version {version}, {seen} already handled"
            done = self._act(data, item)
            # Remembered once handled: a delivery that failed (502) is retried with the same
            # version, and must not then be taken for a stale one.
            if version is not None:
                self._versions[key] = version
            return done

    def _act(self, data: dict[str, Any], item: dict[str, Any]) -> str:
        if not isinstance((item.get("links") or {}).get("api"), str) or not self._wants(item):
            return f"ignored {item.get('key')}: not a new {'/'.join(self.settings.priorities)} item"
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
                event = bridge.verify(body, dict(self.headers.items()))
            except InvalidSignature as exc:
                log.warning("refused a delivery: %s", exc)
                return self._answer(401)
            except ValueError:  # signed, yet not JSON
                return self._answer(400)
            if not isinstance(event, dict):
                return self._answer(400)
            try:
                log.info("%s: %s", self.headers.get("webhook-id"), bridge.handle(event))
            except Upstream as exc:
                log.error("%s: %s", self.headers.get("webhook-id"), exc)
                return self._answer(502)
            except (AttributeError, KeyError, TypeError) as exc:
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
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per event is enough
    settings = Settings.from_args()
    bridge = Bridge(settings)
    server = ThreadingHTTPServer((settings.host, settings.port), make_handler(bridge))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log.info("listening on http://%s:%s/hooks", settings.host, settings.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
