"""Take the screenshots docs/views.md shows, as a newcomer would see the pages: run the README's
`flask dev` in a fresh copy of the project, work the demo project a little through the API (two
items done, a gate signed off with the signer's own key, a waiver, a second project sharing a
person), then open the share links the banner printed in headless Chromium, with no key.

    .venv/bin/python docs/screenshots/take.py [--out docs/screenshots] [--chromium PATH]

Writes dashboard.png, checklist.png and signoff-sheet.png into `--out`. Needs Chromium
(`apt-get install chromium`); everything else is the project's own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120.0
# Wide enough for the dashboard's pictures, tall enough for a page's first screen.
WINDOW = "1280,1600"


class DevServer:
    """`flask dev` in a copy of the project (its own instance/: the demo team, key and links)."""

    def __init__(self, workdir: Path) -> None:
        for name in ("app", "migrations", "seed"):
            shutil.copytree(
                ROOT / name, workdir / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        shutil.copy(ROOT / "wsgi.py", workdir / "wsgi.py")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "dev.log"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [sys.executable, "-m", "flask", "dev", "--port", str(self.port)],
                cwd=workdir,
                env={**env, "PYTHONUNBUFFERED": "1"},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def banner(self) -> tuple[str, dict[str, str]]:
        """The demo key and the share links, once the banner is printed and the API answers."""
        deadline = time.monotonic() + START_TIMEOUT
        labels = {"the team dashboard:": "dashboard", "the demo project's checklist:": "checklist"}
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"flask dev exited:\n{self.log.read_text()}")
            text = self.log.read_text(errors="replace")
            keys = [line.split("KEY=")[1].strip() for line in text.splitlines() if "KEY=" in line]
            links = {
                name: line.split(label)[1].strip()
                for line in text.splitlines()
                for label, name in labels.items()
                if label in line
            }
            if keys and len(links) == 2 and self._ready():
                return keys[0], links
            time.sleep(0.3)
        raise SystemExit(f"flask dev did not start:\n{self.log.read_text()}")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as answer:  # noqa: S310
                return answer.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def call(base: str, key: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - the loopback server this script started
        f"{base}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        raise SystemExit(f"{method} {path}: {error.code} {error.read().decode()}") from error


def work_the_demo(base: str, key: str) -> None:
    """What a team does in its first days: some items done, a gate signed off by its reviewer
    with their own key, a gate waived, and a second project that shares a person."""
    project = "demo-clinic-notes"
    checklist = call(base, key, "GET", f"/v1/projects/{project}/checklist")
    people = {p["name"]: p for p in call(base, key, "GET", "/v1/people?limit=100")["items"]}
    items = [i for i in checklist["items"] if i["status"] == "open"]
    plain = [
        i
        for i in items
        if i["kind"] == "responsibility"
        and not i["signoff_required"]
        and not i["evidence_required"]
    ]
    for item in plain[:2]:
        call(base, key, "PATCH", f"/v1/projects/{project}/checklist/items/{item['id']}",
             {"status": "done"})  # fmt: skip
    # A gate signed off by a reviewer who holds one of its reviewer roles and does not own it,
    # with their own key.
    staffing = call(base, key, "GET", f"/v1/projects/{project}/assignments?limit=100")["items"]
    holders = {(a["role"], a["person"]["id"]) for a in staffing}
    gate, signer = next(
        (i, person_id)
        for i in items
        if i["signoff_required"]
        for role, person_id in sorted(holders)
        if role in i["reviewer_roles"] and person_id not in {o["id"] for o in i["owners"]}
    )
    signer_key = call(base, key, "POST", f"/v1/people/{signer}/keys", {"name": "laptop"})
    done: dict[str, Any] = {"status": "done"}
    if gate["evidence_required"]:
        done["evidence"] = {
            "add": [{"title": "Review notes", "url": "https://wiki.example.com/clinic/review"}]
        }
    call(base, signer_key["secret"], "PATCH",
         f"/v1/projects/{project}/checklist/items/{gate['id']}", done)  # fmt: skip
    waivable = next(i for i in items if i["priority"] in ("medium", "low") and i is not gate)
    waiver = {
        "reason": "The pilot runs on synthetic notes only",
        "expires_on": time.strftime("%Y-%m-%d", time.gmtime(time.time() + 20 * 86400)),
        "residual_risk": "Real notes reach the pilot before the review",
    }
    call(base, key, "PATCH", f"/v1/projects/{project}/checklist/items/{waivable['id']}",
         {"waiver": waiver})  # fmt: skip
    jingles = call(base, key, "POST", "/v1/projects",
                   {"name": "Demo jingle maker", "application": "music-composition"})  # fmt: skip
    max_ = people["Max Okafor"]
    assignment = {"role": "machine-learning-engineer", "person_id": max_["id"], "allocation": 40}
    call(base, key, "POST", f"/v1/projects/{jingles['id']}/assignments", assignment)
    call(base, key, "POST", f"/v1/projects/{jingles['id']}/checklist")


def screenshot(chromium: str, url: str, out: Path, profile: Path) -> None:
    """A screen of `url` as headless Chromium renders it, nothing but the loopback reachable."""
    result = subprocess.run(  # noqa: S603 - the browser binary and fixed arguments
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            f"--window-size={WINDOW}",
            f"--screenshot={out}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0 or not out.exists():
        raise SystemExit(f"Chromium failed on {url}:\n{result.stderr[-2000:]}")
    print(f"{out}  ({out.stat().st_size // 1024} KiB)  {url.split('/share/')[0]}/share/…")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--chromium",
        default=os.environ.get("CHROMIUM") or shutil.which("chromium") or "chromium",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as workdir:
        server = DevServer(Path(workdir))
        try:
            key, links = server.banner()
            work_the_demo(server.base, key)
            profile = Path(workdir) / "profile"
            screenshot(args.chromium, links["dashboard"], args.out / "dashboard.png", profile)
            screenshot(args.chromium, links["checklist"], args.out / "checklist.png", profile)
            # The items done, compact: the sign-off sheet follows within the first screen.
            done = f"{links['checklist']}?status=done&compact=true"
            screenshot(args.chromium, done, args.out / "signoff-sheet.png", profile)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
