"""The checklist page in a real browser: headless Chromium renders it from the served app with no
other host reachable (its DOM: headings, the sign-off sheet, a script-like name as text) and
prints it to PDF (a sane page count; the sign-off sheet on a page of its own); and the team
dashboard's page with its two pictures."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import assign, create_person, create_project
from flask import Flask
from html_support import headings, parse, table_rows
from werkzeug.serving import make_server

CHROMIUM = (
    os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)
REQUIRE_CHROMIUM = os.environ.get("REQUIRE_CHROMIUM") == "1"
SCRIPT = "<script>alert(1)</script>"
PIA = "data-privacy.privacy-impact-assessment"
# A PDF page object (not the `/Type /Pages` tree above them).
PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def _chromium(*arguments: str, profile: Path) -> str:
    if CHROMIUM is None:
        if REQUIRE_CHROMIUM:
            pytest.fail("Chromium is required (REQUIRE_CHROMIUM=1) but not installed")
        pytest.skip(
            "Chromium is not installed, so the checklist page is not rendered: install it "
            "(Debian/Ubuntu: `apt-get install chromium`) or point CHROMIUM at a Chrome binary"
        )
    result = subprocess.run(  # noqa: S603 - the browser binary and fixed arguments
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            # Any host but the loopback server fails to resolve: the page loads nothing else.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=5000",
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture
def served_with_key(app: Flask) -> Iterator[Callable[[str], str]]:
    """The application on loopback behind a front that adds a bearer key to every request, as
    a browser cannot: `serve(token)` gives its base URL."""
    servers = []

    def serve(token: str) -> str:
        def with_key(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            return app.wsgi_app(environ, start_response)

        server = make_server("127.0.0.1", 0, with_key, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def clinic(api):
    """A clinic's checklist, its data scientist named like a script, one gate in progress."""
    project = create_project(api, name="Clinic notes", application="healthcare-solutions")
    for role, name in (
        ("data-scientist", SCRIPT),
        ("machine-learning-engineer", "Alan Turing"),
        ("ai-ethicist", "Grace Hopper"),
        ("product-manager", "Pam Manager"),
    ):
        assign(api, project, role, create_person(api, name=name))
    path = f"/v1/projects/{project['id']}/checklist"
    assert api.post(path).status_code == 201
    assert api.patch(f"{path}/items/{PIA}", json={"status": "in_progress"}).status_code == 200
    return project


def test_the_page_renders_with_its_headings_sign_off_sheet_and_names_as_text(
    api, clinic, served_with_key, tmp_path
):
    base = served_with_key(api.token)

    dom = _chromium(
        "--dump-dom",
        f"{base}/v1/projects/{clinic['id']}/checklist.html",
        profile=tmp_path / "profile",
    )

    root, _ = parse(dom)
    assert root.find("title").text == "Checklist: Clinic notes"
    levels = headings(root)
    assert levels[0] == (1, "Checklist: Clinic notes")
    assert [text for level, text in levels if level == 1] == ["Checklist: Clinic notes"]
    assert [text for level, text in levels if level == 2][-1] == "Sign-off sheet"
    assert root.find("main").find("section", class_="sheet") is not None
    rows = table_rows(root.find("section", class_="sheet").find("table"))
    assert any(row[0].endswith(PIA) for row in rows)
    # The name is text in the page: no element came of it.
    assert not root.find_all("script")
    assert SCRIPT in root.find("main").text


def test_the_page_prints_to_a_pdf_with_the_sign_off_sheet_on_a_page_of_its_own(
    api, clinic, served_with_key, tmp_path
):
    base = served_with_key(api.token)
    page = f"{base}/v1/projects/{clinic['id']}/checklist.html"
    whole, one_gate = tmp_path / "whole.pdf", tmp_path / "one-gate.pdf"

    for pdf, url in ((whole, page), (one_gate, f"{page}?status=in_progress&compact=true")):
        _chromium(
            f"--print-to-pdf={pdf}",
            "--no-pdf-header-footer",
            url,
            profile=tmp_path / "profile",
        )

    pages = len(PAGE_OBJECT.findall(whole.read_bytes()))
    assert whole.read_bytes().startswith(b"%PDF-")
    assert 3 <= pages <= 60, pages
    # The header, the context and one item in a line fit on the first page: the sign-off sheet
    # breaks to a page of its own.
    assert len(PAGE_OBJECT.findall(one_gate.read_bytes())) == 2


def test_a_share_link_opens_the_page_in_a_browser_without_a_key(api, clinic, served, tmp_path):
    """What someone a ticket sends there sees: the page, by the link alone (no bearer key)."""
    share = api.post(f"/v1/projects/{clinic['id']}/checklist/shares", json={"name": "ticket"})
    assert share.status_code == 201, share.json
    path = share.json["url"].split("://", 1)[1].split("/", 1)[1]

    dom = _chromium("--dump-dom", f"{served}/{path}", profile=tmp_path / "profile")

    root, _ = parse(dom)
    assert root.find("title").text == "Checklist: Clinic notes"
    assert [text for level, text in headings(root) if level == 2][-1] == "Sign-off sheet"
    assert SCRIPT in root.find("main").text


def test_the_dashboard_page_renders_its_projects_and_its_two_pictures(
    api, clinic, served_with_key, tmp_path
):
    other = create_project(api, name="Music maker", application="other")
    assign(api, other, "data-scientist", create_person(api, name="Sue Shared"), allocation=60)
    base = served_with_key(api.token)

    dom = _chromium("--dump-dom", f"{base}/v1/dashboard?format=html", profile=tmp_path / "profile")

    root, _ = parse(dom)
    assert root.find("head").find("title").text == "Team dashboard"
    assert [text for level, text in headings(root) if level == 2] == [
        "Coverage",
        "Load",
        "Projects",
    ]
    main = root.find("main")
    assert len(main.find_all("section", class_="project")) == 2
    coverage, load = main.find_all("svg")
    cells = coverage.find_all("rect")  # a role by two projects
    assert cells and len(cells) % 2 == 0
    assert all(cell.find("title") is not None for cell in cells)
    assert any("Clinic notes" in t.text for t in coverage.find_all("title"))
    assert len(load.find_all("rect", class_="bar")) == 5
    assert load.find("line", class_="full") is not None
    # The script-like name is text in the load picture: no element came of it.
    assert not root.find_all("script")
    assert any(SCRIPT in t.text for t in load.find_all("title"))


def test_a_dashboard_share_link_opens_its_page_in_a_browser_without_a_key(
    api, clinic, served, tmp_path
):
    """What a governance board's screen shows: the dashboard, by the link alone."""
    share = api.post("/v1/dashboard/shares", json={"name": "board"})
    assert share.status_code == 201, share.json
    path = share.json["url"].split("://", 1)[1].split("/", 1)[1]

    dom = _chromium("--dump-dom", f"{served}/{path}", profile=tmp_path / "profile")

    root, _ = parse(dom)
    assert root.find("head").find("title").text == "Team dashboard"
    main = root.find("main")
    (project,) = main.find_all("section", class_="project")
    assert project.find("h3").text.startswith("Clinic notes")
    assert len(main.find_all("svg")) == 2
