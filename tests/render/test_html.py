"""The HTML renderer: one well-formed, self-contained, accessible page; every value escaped; a
waived item never reads as done; the page ends with a sign-off sheet of every gate."""

from __future__ import annotations

import copy
import itertools
import re
from typing import Any

import pytest
from html_support import Element, headings, parse, table_rows

from app.render import Layout, render
from app.render.html import render_person_html
from app.schemas.checklists import CHECKLIST_EXAMPLE

SCRIPT = "<script>alert(1)</script>"
CLASSIFY = "context.classify-risk"  # a gate (AI Ethicist signs)
PIA = "data-privacy.privacy-impact-assessment"  # a critical gate
GUIDELINES = "ai-ethicist.establish-ethical-guidelines"


def _items(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in doc["items"]}


def make_doc() -> dict[str, Any]:
    """The spec's example checklist with a gate signed by someone whose name is a script, a
    waived critical gate with evidence (one link a `javascript:` URL), and hostile names."""
    doc = copy.deepcopy(CHECKLIST_EXAMPLE)
    doc["project"]["name"] = "Clinic <img src=x onerror=alert(1)> notes"
    items = _items(doc)
    items[CLASSIFY].update(
        status="done",
        signed_off_by="per_mallory",
        signed_off_by_name=SCRIPT,
        signed_off_at="2026-12-01T10:00:00+00:00",
        signed_off_with="key_mallory",
    )
    items[PIA].update(
        status="waived",
        waiver={
            "reason": "<b>Covered</b> by the clinic's DPA",
            "approved_by": "per_grace",
            "approver_name": "Grace Hopper",
            "expires_on": "2027-02-01",
            "residual_risk": "A data flow <missed> by the DPA",
            "expired": False,
        },
        evidence=[
            {"title": "DPIA v1", "url": "https://wiki.example.com/dpia?a=1&b=2"},
            {"title": "click me", "url": "javascript:alert(1)"},
        ],
    )
    items[GUIDELINES]["owners"].append({"id": "per_x", "name": SCRIPT, "email": None})
    return doc


@pytest.fixture
def page() -> str:
    return render(make_doc(), "html")


def _item(root: Element, key: str) -> Element:
    [article] = [a for a in root.find_all("article") if key in a.text]
    return article


def test_the_page_is_one_well_formed_accessible_html5_document(page):
    root, doctype = parse(page)

    assert doctype == "DOCTYPE html"
    html = root.find("html")
    assert html.attrs["lang"] == "en"
    assert root.find("title").text == "Checklist: Clinic <img src=x onerror=alert(1)> notes"
    assert len(root.find_all("h1")) == 1
    assert root.find("h1").text == root.find("title").text
    assert root.find("header").find("h1") is not None
    main = root.find("main")
    levels = [level for level, _ in headings(root)]
    assert levels[0] == 1
    # Headings in order: none skips a level on the way down.
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
    # Every table header says what it heads.
    for th in main.find_all("th"):
        assert th.attrs.get("scope") in ("col", "row")


def test_the_page_runs_nothing_and_loads_nothing(page):
    root, _ = parse(page)

    assert "<script" not in page.lower()
    assert not root.find_all("link") and not root.find_all("img") and not root.find_all("iframe")
    style = root.find("style").text
    assert "url(" not in style and "@import" not in style and "http" not in style
    for element in root.iter():
        for name, value in element.attrs.items():
            assert not name.startswith("on"), (element.tag, name)
            if value and re.search(r"https?://", value):
                # The only URLs are links a reader follows: evidence and tickets.
                assert (element.tag, name) == ("a", "href"), (element.tag, name, value)
    hrefs = [a.attrs["href"] for a in root.find_all("a")]
    assert hrefs == [
        "https://github.com/acme/clinic-notes/issues/12",
        "https://wiki.example.com/dpia?a=1&b=2",
    ]
    assert "javascript:" not in page


def test_every_value_is_escaped_and_reads_as_text(page):
    root, _ = parse(page)

    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f"owners: Bo, {SCRIPT}" in _item(root, GUIDELINES).text
    assert "<img src=x onerror=alert(1)>" in root.find("h1").text
    assert "A data flow <missed> by the DPA" in _item(root, PIA).text
    # The javascript: link's title is text, not a link.
    assert "click me" in _item(root, PIA).text


def test_a_waived_item_reads_as_waived_with_its_waiver_never_as_done(page):
    root, _ = parse(page)
    article = _item(root, PIA)

    assert "status-waived" in article.attrs["class"].split()
    status = article.find("span", class_="status").text
    assert status.startswith("Waived")
    assert "Done" not in status and "done" not in status.replace("not done", "")
    waiver = article.find("p", class_="waiver").text
    assert "<b>Covered</b> by the clinic's DPA" in waiver
    assert "approved by Grace Hopper" in waiver
    assert "until 2027-02-01" in waiver
    assert "residual risk: A data flow <missed> by the DPA" in waiver
    risks = table_rows(root.find("section", **{"aria-labelledby": "risks"}).find("table"))
    assert len(risks) == 1
    assert risks[0][0].endswith(PIA)
    assert risks[0][1:] == [
        "critical",
        "<b>Covered</b> by the clinic's DPA",
        "approved by Grace Hopper",
        "2027-02-01",
        "A data flow <missed> by the DPA",
    ]


def test_the_page_ends_with_a_sign_off_sheet_of_every_gate(page):
    root, _ = parse(page)
    main = root.find("main")
    sections = [c for c in main.children if isinstance(c, Element)]

    sheet = sections[-1]
    assert "sheet" in sheet.attrs["class"].split()
    assert sheet.find("h2").text == "Sign-off sheet"
    table = sheet.find("table")
    assert [th.text for th in table.find("thead").find_all("th")] == [
        "Item",
        "Status",
        "Reviewer role",
        "Signed by",
        "Date",
    ]
    gates = [i for i in make_doc()["items"] if i["signoff_required"]]
    rows = table_rows(table)
    assert [row[0] for row in rows] == [f"{i['title']} {i['key']}" for i in gates]
    signed, waived = rows
    assert signed[1:] == ["Done", "AI Ethicist", SCRIPT, "2026-12-01"]
    assert waived[1].startswith("Waived") and waived[2] == "AI Ethicist"
    # Unsigned: empty cells, to sign and date by hand.
    blanks = table.find_all("td", class_="to-sign")
    assert len(blanks) == 2 and all(not td.children for td in blanks)


def test_a_sign_off_named_with_a_team_key_says_so():
    doc = make_doc()
    _items(doc)[CLASSIFY]["signed_off_with"] = None

    root, _ = parse(render(doc, "html"))

    rows = table_rows(root.find("section", class_="sheet").find("table"))
    assert rows[0][3] == f"{SCRIPT} (named with a team key)"
    assert "(named with a team key)" in _item(root, CLASSIFY).text


def test_the_context_comes_first_then_the_items_by_phase_with_their_parts(page):
    root, _ = parse(page)
    main = root.find("main")

    assert [text for level, text in headings(main) if level == 2] == [
        "Context",
        "Plan and design",
        "NIST AI 600-1 risk register",
        "Accepted risks",
        "Sign-off sheet",
    ]
    context = main.find("section", **{"aria-labelledby": "context"}).text
    assert "Intended use Draft visit summaries" in context
    assert "Prohibited uses Diagnosis; Sending summaries to patients unreviewed" in context
    header = root.find("header").text
    assert "Release 1.4.0, open, opened on 2026-11-29; model gpt-4o 2024-08-06 by openai" in header
    guidelines = _item(root, GUIDELINES).text
    assert "In progress" in guidelines
    assert "priority: medium" in guidelines
    assert "Done when: The guidelines are written" in guidelines
    assert "ticket: acme/clinic-notes#12" in guidelines
    assert "Evidence: required, none yet" in guidelines
    assert "Sign-off: signed off by" in _item(root, CLASSIFY).text
    finding = _item(root, "staffing.unfilled.machine-learning-engineer").text
    assert "Staff the Machine Learning Engineer role" in finding


def test_group_by_and_compact_lay_the_items_out_as_markdown_does():
    doc = make_doc()

    by_kind, _ = parse(render(doc, "html", Layout(group_by="kind")))
    compact, _ = parse(render(doc, "html", Layout(compact=True)))

    assert [t for level, t in headings(by_kind.find("main")) if level == 2][:3] == [
        "Context",
        "From the project's context",
        "Responsibilities",
    ]
    assert (3, "AI Ethicist") in headings(by_kind)
    assert "phase: Plan and design" in _item(by_kind, GUIDELINES).text
    assert "Done when" not in _item(compact, GUIDELINES).text
    assert "Waived" in _item(compact, PIA).text  # a waiver shows in the compact layout too
    assert len(compact.find_all("article")) == len(doc["items"])


def test_an_empty_checklist_says_so_and_has_no_gate_to_sign():
    doc = {**make_doc(), "items": [], "filters": {"status": "waived"}}

    root, _ = parse(render(doc, "html"))

    assert "No items match the filters." in root.find("main").text
    assert "No item needs a sign-off." in root.find("section", class_="sheet").text


def test_print_rules_put_the_sign_off_sheet_on_a_page_of_its_own(page):
    root, _ = parse(page)
    style = root.find("style").text
    rules = style[style.index("@media print") :]

    assert re.search(r"\.sheet \{ break-before: page;", rules)
    assert re.search(r"\.item, tr, dl\.facts \{ break-inside: avoid;", rules)
    assert 'a[href]::after { content: " <" attr(href) ">"' in rules
    assert "@page" in style


def test_a_persons_page_is_one_document_across_projects():
    first, second = make_doc(), make_doc()
    second["project"] = {**second["project"], "id": "prj_other", "name": "Music"}
    for doc in (first, second):
        for item in doc["items"]:
            item["project"] = doc["project"]

    root, _ = parse(render_person_html(SCRIPT, [first, second]))

    assert len(root.find_all("h1")) == 1
    assert root.find("h1").text == f"Checklist items of {SCRIPT}"
    ids = [e.attrs["id"] for e in root.iter() if "id" in e.attrs]
    assert len(ids) == len(set(ids))
    rows = table_rows(root.find("section", class_="sheet").find("table"))
    assert len(rows) == 4
    assert rows[2][0].startswith("Music: ")


def test_the_risk_register_is_a_table_of_the_twelve_risks_before_the_accepted_risks(page):
    root, _ = parse(page)
    section = root.find("section", **{"aria-labelledby": "risk-register"})

    rows = table_rows(section.find("table"))
    assert [row[0] for row in rows] == [
        f"{entry['section']} {entry['risk']}" for entry in CHECKLIST_EXAMPLE["risk_register"]
    ]
    by_risk = {row[0]: row for row in rows}
    assert by_risk["2.4 Data Privacy"][1:] == [
        "addressed",
        "by data-privacy.privacy-impact-assessment",
    ]
    assert by_risk["2.1 CBRN Information or Capabilities"][1] == "not applicable"
    assert "general_purpose_assistant" in by_risk["2.1 CBRN Information or Capabilities"][2]
    gap = by_risk["2.5 Environmental Impacts"]
    assert gap[1] == "GAP" and gap[2].endswith("No item of this checklist addresses it.")


def test_the_register_escapes_what_it_shows():
    doc = make_doc()
    doc["risk_register"][3]["accepted"] = [
        {"key": "<script>x</script>", "residual_risk": "<img src=x onerror=alert(1)>"}
    ]

    page = render(doc, "html")

    assert "<script>x</script>" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
