"""`/docs` renders in a real browser with no network: headless Chromium, every host but the
loopback server unreachable, lists every operation of `/openapi.json`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

CHROMIUM = (
    os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
REQUIRE_CHROMIUM = os.environ.get("REQUIRE_CHROMIUM") == "1"
METHODS = ("get", "put", "post", "delete", "patch")


def _rendered_dom(url: str) -> str:
    if CHROMIUM is None:
        if REQUIRE_CHROMIUM:
            pytest.fail("Chromium is required (REQUIRE_CHROMIUM=1) but not installed")
        pytest.skip(
            "Chromium is not installed, so /docs is not rendered offline: install it "
            "(Debian/Ubuntu: `apt-get install chromium`) or point CHROMIUM at a Chrome binary"
        )
    result = subprocess.run(  # noqa: S603 - the browser binary and fixed arguments
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            # Any host but the loopback server fails to resolve: a CDN cannot be reached.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_docs_render_offline_and_list_every_operation(client, served):
    spec = client.get("/openapi.json").json
    operations = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    }

    dom = _rendered_dom(f"{served}/docs")

    assert 'id="swagger-ui-container"' in dom
    rendered = set(
        re.findall(
            r'opblock-summary-method">(\w+)</span>.*?data-path="([^"]+)"', dom, flags=re.DOTALL
        )
    )
    assert rendered == operations, sorted(operations - rendered)[:10]
    assert "Staffing checklist API" in dom
