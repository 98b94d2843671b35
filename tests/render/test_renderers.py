"""Checklist renderers: Markdown, CSV and text, parsed back and checked against the document."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from datetime import date

import pytest

from app.render import FORMATS, Layout, render
from app.render.csvfile import COLUMNS, neutralise
from app.render.layout import references
from app.render.markdown import escape

ADA = {
    "id": "p1",
    "name": "Ada Lovelace",
    "email": "ada@example.org",
    "handles": {"github": "ada"},
}
MALLORY = {
    "id": "p2",
    "name": "Mallory <img src=x onerror=alert(1)> *bold* [click](javascript:alert(1)) `x` #1 | ~~",
    "email": "mallory@example.org",
    "handles": {},
}
FORMULA = {"id": "p3", "name": '=HYPERLINK("http://evil.example/","click")', "email": None}


def _item(key, kind, status="open", **kw):
    item = {
        "id": f"itm_{key}",
        "key": key,
        "kind": kind,
        "title": f"Title of {key}",
        "detail": f"Detail of {key}.",
        "roles": ["data-scientist"],
        "role_titles": ["Data Scientist"],
        "owners": [ADA],
        "priority": "high",
        "phase": "plan-and-design",
        "done_when": f"Done when {key} is done.",
        "status": status,
        "note": None,
        "waiver": None,
        "ticket": None,
        "because": ["Because."],
        "source": {"kind": "article", "section": "s", "quote": None},
    }
    item.update(kw)
    return item


def make_doc():
    """A checklist with every kind and status, a waiver, a ticket and hostile owner names."""
    items = [
        _item(
            "data-scientist.collect",
            "responsibility",
            "done",
            phase="collect-and-process-data",
            source={
                "kind": "article",
                "section": "Key Roles / 1. Data Scientist",
                "quote": "Collecting and preprocessing data from various sources.",
            },
        ),
        _item(
            "data-scientist.develop",
            "responsibility",
            "in_progress",
            owners=[ADA, MALLORY],
            phase="build-and-use-model",
        ),
        _item(
            "machine-learning-engineer.deploy",
            "responsibility",
            phase="deploy-and-use",
            roles=["machine-learning-engineer"],
            role_titles=["Machine Learning Engineer"],
            owners=[],
            ticket={"system": "jira", "key": "PROJ-123", "url": "https://jira.example/PROJ-123"},
        ),
        _item(
            "collaboration.data-scientist.ai-ethicist",
            "collaboration",
            roles=["data-scientist", "ai-ethicist"],
            role_titles=["Data Scientist", "AI Ethicist"],
            owners=[FORMULA],
            priority="medium",
        ),
        _item(
            "data-privacy.inventory",
            "mitigation",
            "waived",
            phase="collect-and-process-data",
            source={"challenge": "data-privacy", "challenge_title": "Data Privacy", "nist": []},
            waiver={
                "reason": "Covered by *the* <DPA>",
                "approved_by": "Grace",
                "expires_on": "2030-01-01",
                "residual_risk": "The <DPA> misses a data flow",
            },
            evidence_required=True,
        ),
        _item(
            "bias-and-fairness.audit",
            "mitigation",
            phase="verify-and-validate",
            source={
                "kind": "authored",
                "section": "Bias and Fairness (evaluation)",
                "quote": None,
                "elaborates": {
                    "section": "Key Roles / 3. AI Ethicist",
                    "quote": "Analyzing AI outputs for bias or harmful content.",
                },
                "challenge": "bias-and-fairness",
                "challenge_title": "Bias and Fairness",
                "nist": ["MEASURE 2.11"],
                "genai_risks": ["Harmful Bias and Homogenization"],
                "fulfils": [
                    {
                        "kind": "article",
                        "section": "Key Roles / 3. AI Ethicist",
                        "quote": "Analyzing AI outputs for bias or harmful content.",
                        "catalog_key": "ai-ethicist.analyze-outputs-for-bias",
                    }
                ],
            },
            note="+1 from the team\nsecond line",
            detail="A long detail. " * 30,
        ),
        _item(
            "staffing.unfilled.ai-ethicist",
            "staffing",
            owners=[],
            roles=["ai-ethicist"],
            role_titles=["AI Ethicist"],
        ),
        _item("data-scientist.old", "responsibility", "obsolete"),
    ]
    by_status = {s: 0 for s in ("open", "in_progress", "done", "waived", "obsolete")}
    for item in items:
        by_status[item["status"]] += 1
    return {
        "project": {
            "name": "Support *assistant*",
            "slug": "support-assistant",
            "application": "content-creation",
            "traits": ["user_facing"],
        },
        "revision": 3,
        "catalog_version": "sha256:abc",
        "generated_at": "2024-05-01T10:00:00+00:00",
        "summary": {
            "total": len(items),
            "by_status": by_status,
            "by_kind": {},
            "percent_done": 20,
        },
        "items": items,
    }


@pytest.fixture
def doc():
    return make_doc()


# --------------------------------------------------------------------------- dispatch


def test_formats_map_to_media_types():
    assert FORMATS == {
        "json": "application/json",
        "markdown": "text/markdown",
        "csv": "text/csv",
        "text": "text/plain",
        "html": "text/html",
    }


def test_an_unknown_format_is_refused(doc):
    with pytest.raises(ValueError, match="xml"):
        render(doc, "xml")


def test_json_round_trips(doc):
    assert json.loads(render(doc, "json")) == doc


# What the standard library's compact encoder writes is what the JSON answers always were.
_STDLIB_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"text": 'é😀 \u2028 \x00\x1f\x7f "quoted" \\ /\b\f\n\r\t'},
        {"counts": [0, -1, 2**63 - 1, -(2**63)], "flags": [True, False, None]},
        # What orjson refuses: written by the standard library, as before.
        {"huge": 2**64},
        {"keys": {1: "one", None: "none"}},
        {"lone surrogate": "\ud800"},
    ],
)
def test_json_is_what_the_standard_library_writes(doc, extra):
    doc = {**doc, **extra}
    assert render(doc, "json") == _STDLIB_JSON.encode(doc) + "\n"


def test_json_refuses_what_the_standard_library_refuses(doc):
    with pytest.raises(TypeError, match="date"):
        render({**doc, "when": date(2026, 1, 1)}, "json")


@pytest.mark.parametrize("fmt", ["markdown", "csv", "text"])
def test_rendering_does_not_change_the_document(doc, fmt):
    before = copy.deepcopy(doc)
    render(doc, fmt)
    assert doc == before


# --------------------------------------------------------------------------- markdown


BOX = re.compile(r"^- \[( |x|~)\] ", re.MULTILINE)


def _item_line(markdown: str, key: str) -> str:
    (line,) = [line for line in markdown.splitlines() if f"`{key}`" in line]
    return line


def test_markdown_has_one_task_box_per_item(doc):
    markdown = render(doc, "markdown")
    boxes = BOX.findall(markdown)
    assert len(boxes) == len(doc["items"])
    assert boxes.count("x") == 2  # done, obsolete
    assert boxes.count("~") == 1  # waived: an accepted risk is not done


def test_markdown_header_shows_project_revision_and_progress(doc):
    markdown = render(doc, "markdown")
    assert markdown.startswith("# Checklist: Support \\*assistant\\*\n")
    assert "**Revision:** 3" in markdown
    assert "20% done (1 of 8 items done" in markdown


def test_markdown_preview_has_no_revision(doc):
    doc["revision"] = None
    doc["project"]["slug"] = None
    markdown = render(doc, "markdown")
    assert "**Revision:** preview" in markdown
    assert "**Project:** _preview_" in markdown


def _headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("#")]


def test_markdown_groups_by_lifecycle_phase_by_default_with_obsolete_last(doc):
    assert _headings(render(doc, "markdown")) == [
        "# Checklist: Support \\*assistant\\*",
        "## Plan and design",
        "## Collect and process data",
        "## Build and use the model",
        "## Verify and validate",
        "## Deploy and use",
        "## Obsolete",
    ]


def test_markdown_groups_by_role_in_the_order_given(doc):
    assert _headings(render(doc, "markdown", Layout(group_by="role"))) == [
        "# Checklist: Support \\*assistant\\*",
        "## Data Scientist",
        "## Machine Learning Engineer",
        "## AI Ethicist",
        "## Obsolete",
    ]
    order = ("ai-ethicist", "data-scientist", "machine-learning-engineer")
    assert _headings(render(doc, "markdown", Layout(group_by="role", role_order=order)))[1:4] == [
        "## AI Ethicist",
        "## Data Scientist",
        "## Machine Learning Engineer",
    ]


def test_markdown_groups_by_person_with_each_item_under_each_owner(doc):
    markdown = render(doc, "markdown", Layout(group_by="person"))
    headings = _headings(markdown)
    assert "## Ada Lovelace" in headings
    assert any(h.startswith("## Mallory") for h in headings)
    assert headings[-2:] == ["## Unassigned", "## Obsolete"]
    # The item both own is listed under each of them; phases are named on the line.
    lines = [line for line in markdown.splitlines() if "`data-scientist.develop`" in line]
    assert len(lines) == 2
    assert "phase: Build and use the model" in lines[0]


def test_markdown_groups_by_kind_then_role_with_obsolete_last(doc):
    markdown = render(doc, "markdown", Layout(group_by="kind"))
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == [
        "# Checklist: Support \\*assistant\\*",
        "## Responsibilities",
        "### Data Scientist",
        "### Machine Learning Engineer",
        "## Collaborations",
        "## Mitigations",
        "### Data Privacy",
        "### Bias and Fairness",
        "## Staffing",
        "## Obsolete",
    ]


def test_markdown_item_lines(doc):
    markdown = render(doc, "markdown")
    done = _item_line(markdown, "data-scientist.collect")
    assert done.startswith("- [x] **Title of data-scientist.collect**")
    assert "Ada Lovelace" in done
    assert "priority: high" in done
    assert "_in progress_" in _item_line(markdown, "data-scientist.develop")
    deploy = _item_line(markdown, "machine-learning-engineer.deploy")
    assert deploy.startswith("- [ ] ")
    assert "_unassigned_" in deploy
    assert "[PROJ-123](https://jira.example/PROJ-123)" in deploy


def test_markdown_shows_what_to_do_when_done_why_and_references_under_each_task(doc):
    lines = render(doc, "markdown").splitlines()
    start = next(n for n, line in enumerate(lines) if "`bias-and-fairness.audit`" in line)
    under = []
    for line in lines[start + 1 :]:
        if not line.startswith("  - "):
            break
        under.append(line)
    assert under[0].startswith("  - A long detail.")
    assert under[1] == "  - **Done when:** Done when bias-and-fairness.audit is done."
    assert under[2] == "  - **Why:** Because."
    references = under[3]
    assert references.startswith("  - **References:** ")
    # The passage it builds on is the responsibility it stands for: quoted once, as such.
    assert (
        "Article \\(Key Roles / 3. AI Ethicist\\), the responsibility this item stands for: "
        "\u201cAnalyzing AI outputs for bias or harmful content.\u201d"
    ) in references
    assert "Ours, building on" not in references
    assert "NIST AI RMF 1.0: MEASURE 2.11" in references
    assert "NIST AI 600-1: Harmful Bias and Homogenization" in references
    collect = lines[next(n for n, x in enumerate(lines) if "`data-scientist.collect`" in x) + 4]
    assert "Article \\(Key Roles / 1. Data Scientist\\): \u201cCollecting" in collect


def test_compact_markdown_is_one_line_an_item(doc):
    markdown = render(doc, "markdown", Layout(compact=True))
    assert "Done when" not in markdown and "**Why:**" not in markdown
    items = [line for line in markdown.splitlines() if line.startswith("- [")]
    assert len(items) == len(doc["items"])
    nested = [line for line in markdown.splitlines() if line.startswith("  - ")]
    assert nested == ["  - Note: +1 from the team second line"]


def test_an_unknown_grouping_is_refused(doc):
    with pytest.raises(ValueError, match="grouping 'team'"):
        render(doc, "markdown", Layout(group_by="team"))


def test_markdown_waived_items_are_marked_waived_with_reason_approver_expiry_and_risk(doc):
    markdown = render(doc, "markdown")
    line = _item_line(markdown, "data-privacy.inventory")
    assert line.startswith("- [~] **Title of data-privacy.inventory**")
    assert (
        "waived: Covered by \\*the\\* \\<DPA\\> (approved by Grace, until 2030-01-01, "
        "residual risk: The \\<DPA\\> misses a data flow)"
    ) in line
    # Waived, it asks for no evidence: the risk was accepted instead.
    details = markdown.split(line, 1)[1].split("\n- ", 1)[0]
    assert "Evidence:" not in details
    compact = _item_line(render(doc, "markdown", Layout(compact=True)), "data-privacy.inventory")
    assert compact == line


def test_a_waiver_given_before_the_policy_shows_what_it_lacks(doc):
    (waived,) = [item for item in doc["items"] if item["key"] == "data-privacy.inventory"]
    waived["waiver"] = {"reason": "Covered by the DPA"}
    line = _item_line(render(doc, "markdown"), "data-privacy.inventory")
    assert "waived: Covered by the DPA (no approver, no expiry)" in line
    assert "waived: Covered by the DPA; no approver; no expiry" in render(doc, "text")


def test_markdown_note_stays_on_one_line(doc):
    markdown = render(doc, "markdown")
    assert "  - Note: +1 from the team second line" in markdown


def test_markdown_escapes_a_malicious_name(doc):
    line = _item_line(render(doc, "markdown"), "data-scientist.develop")
    assert not re.search(r"(?<!\\)[<>]", line)  # no unescaped angle bracket: no raw HTML
    assert "\\<img src=x onerror=alert\\(1\\)\\>" in line
    assert "\\*bold\\*" in line
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\)" in line
    assert "\\`x\\`" in line
    assert "\\#1 \\| \\~\\~" in line
    assert len(BOX.findall(render(doc, "markdown"))) == len(doc["items"])


@pytest.mark.parametrize("char", list("\\*_[]<>#|~`"))
def test_markdown_escape_covers_each_special_character(char):
    assert escape(f"a{char}b") == f"a\\{char}b"


def test_markdown_refuses_to_link_a_non_http_ticket_url(doc):
    doc["items"][2]["ticket"] = {"system": "other", "key": "T-1", "url": "javascript:alert(1)"}
    line = _item_line(render(doc, "markdown"), "machine-learning-engineer.deploy")
    assert "javascript" not in line
    assert "ticket: T-1" in line


def test_markdown_key_with_backticks_stays_a_code_span(doc):
    doc["items"][0]["key"] = "odd`key"
    assert "``odd`key``" in render(doc, "markdown")


def test_markdown_of_an_empty_checklist(doc):
    doc["items"] = []
    markdown = render(doc, "markdown")
    assert "_No items._" in markdown
    assert not BOX.findall(markdown)
    assert "## Obsolete" not in markdown


# --------------------------------------------------------------------------- csv


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_has_a_header_and_one_row_per_item(doc):
    text = render(doc, "csv")
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    rows = _rows(text)
    assert len(rows) == len(doc["items"])
    assert list(rows[0]) == list(COLUMNS)
    assert [row["key"] for row in rows] == [item["key"] for item in doc["items"]]


def test_csv_carries_phase_done_when_note_waiver_ticket_url_reasons_and_references(doc):
    assert COLUMNS == (
        "key",
        "kind",
        "phase",
        "roles",
        "title",
        "detail",
        "done_when",
        "owners",
        "owner_emails",
        "priority",
        "status",
        "note",
        "waiver_reason",
        "waiver_approved_by",
        "waiver_expires_on",
        "waiver_residual_risk",
        "ticket",
        "ticket_url",
        "signoff_required",
        "reviewer_roles",
        "signed_off_by",
        "evidence",
        "because",
        "references",
        # A column added later comes last: a sheet reading columns by position keeps working.
        "repeats",
        "genai_risks",
    )
    rows = {row["key"]: row for row in _rows(render(doc, "csv"))}
    waived = rows["data-privacy.inventory"]
    assert (waived["waiver_reason"], waived["waiver_approved_by"]) == (
        "Covered by *the* <DPA>",
        "Grace",
    )
    assert waived["waiver_expires_on"] == "2030-01-01"
    assert waived["phase"] == "collect-and-process-data"
    deploy = rows["machine-learning-engineer.deploy"]
    assert deploy["ticket_url"] == "https://jira.example/PROJ-123"
    audit = rows["bias-and-fairness.audit"]
    assert audit["note"] == "'+1 from the team\nsecond line"  # neutralised: a formula else
    assert audit["done_when"] == "Done when bias-and-fairness.audit is done."
    assert audit["because"] == "Because."
    assert "NIST AI RMF 1.0: MEASURE 2.11" in audit["references"]


def test_csv_joins_lists_and_names_the_ticket(doc):
    rows = {row["key"]: row for row in _rows(render(doc, "csv"))}
    develop = rows["data-scientist.develop"]
    assert develop["owners"].startswith("Ada Lovelace; Mallory")
    assert develop["owner_emails"] == "ada@example.org; mallory@example.org"
    assert develop["status"] == "in_progress"
    assert rows["collaboration.data-scientist.ai-ethicist"]["roles"] == (
        "data-scientist; ai-ethicist"
    )
    assert rows["machine-learning-engineer.deploy"]["ticket"] == "PROJ-123"
    assert rows["machine-learning-engineer.deploy"]["owners"] == ""


def test_csv_neutralises_formulas(doc):
    doc["items"][1]["title"] = "+1 for this"
    doc["items"][1]["detail"] = "-2 points"
    doc["items"][2]["title"] = "@SUM(A1:A2)"
    doc["items"][2]["detail"] = "\tcmd"
    rows = {row["key"]: row for row in _rows(render(doc, "csv"))}
    assert rows["collaboration.data-scientist.ai-ethicist"]["owners"] == (
        '\'=HYPERLINK("http://evil.example/","click")'
    )
    assert rows["data-scientist.develop"]["title"] == "'+1 for this"
    assert rows["data-scientist.develop"]["detail"] == "'-2 points"
    assert rows["machine-learning-engineer.deploy"]["title"] == "'@SUM(A1:A2)"
    assert rows["machine-learning-engineer.deploy"]["detail"] == "'\tcmd"
    cells = [cell for row in rows.values() for cell in row.values()]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("\rx", "'\rx"), ("a=b", "a=b"), ("", ""), (None, ""), (12, "12")],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_csv_keeps_a_multiline_cell_in_one_row(doc):
    doc["items"][0]["detail"] = "line one\nline two, with a comma"
    rows = _rows(render(doc, "csv"))
    assert len(rows) == len(doc["items"])
    assert rows[0]["detail"] == "line one\nline two, with a comma"


def test_csv_of_an_empty_checklist_is_just_the_header(doc):
    doc["items"] = []
    assert render(doc, "csv") == ",".join(COLUMNS) + "\r\n"


# --------------------------------------------------------------------------- text


def test_text_contains_every_item_key_and_fits_in_100_columns(doc):
    text = render(doc, "text")
    for item in doc["items"]:
        assert f"key: {item['key']}" in text
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "\x1b" not in text


def test_text_markers_follow_the_status(doc):
    lines = render(doc, "text").splitlines()

    def marker_of(title: str) -> str:
        (line,) = [line for line in lines if title in line and "[" in line]
        return line.strip()[:3]

    assert marker_of("Title of data-scientist.collect") == "[x]"
    assert marker_of("Title of data-scientist.develop") == "[~]"
    assert marker_of("Title of machine-learning-engineer.deploy") == "[ ]"
    assert marker_of("Title of data-privacy.inventory") == "[-]"
    assert marker_of("Title of data-scientist.old") == "[/]"


def test_text_groups_by_phase_and_shows_done_when_why_and_references(doc):
    text = render(doc, "text")
    phases = ["PLAN AND DESIGN", "COLLECT AND PROCESS DATA", "VERIFY AND VALIDATE", "OBSOLETE"]
    positions = [text.index(f"\n{s}\n") for s in phases]
    assert positions == sorted(positions)
    assert "      done when: Done when data-scientist.collect is done." in text
    assert "      why: Because." in text
    assert "      ref: NIST AI RMF 1.0: MEASURE 2.11" in text


def test_compact_text_is_one_line_an_item(doc):
    text = render(doc, "text", Layout(group_by="kind", compact=True))
    lines = [line for line in text.splitlines() if line.startswith("  [")]
    assert len(lines) == len(doc["items"])
    assert "done when" not in text
    develop = next(line for line in lines if "data-scientist.develop" in line)
    assert develop.startswith(
        "  [~] Title of data-scientist.develop (high) | Ada Lovelace, Mallory"
    )
    assert "| Build and use the model | data-scientist.develop" in " ".join(text.split())
    all_lines = text.splitlines()
    start = all_lines.index(next(line for line in lines if "data-privacy.inventory" in line))
    rest = all_lines[start + 1 :]
    wrapped = rest[: next(i for i, line in enumerate(rest) if not line.startswith("      "))]
    waived = " ".join(" ".join([all_lines[start], *wrapped]).split())
    assert waived.startswith("[-] Title of data-privacy.inventory")
    assert waived.endswith(
        "data-privacy.inventory | waived: Covered by *the* <DPA>; approved by Grace; "
        "until 2030-01-01; residual risk: The <DPA> misses a data flow"
    )


def test_text_shows_waiver_owners_header_and_sections(doc):
    text = render(doc, "text", Layout(group_by="kind"))
    assert text.startswith("CHECKLIST: Support *assistant*\n")
    assert "Revision: 3" in text
    assert (
        "waived: Covered by *the* <DPA>; approved by Grace; until 2030-01-01; residual risk: The "
        "<DPA> misses a data flow" in " ".join(text.split())
    )
    waived = text.split("Title of data-privacy.inventory", 1)[1].split("\n  [", 1)[0]
    assert "evidence: required" not in waived
    assert "owners: unassigned" in text
    assert "ticket: PROJ-123 <https://jira.example/PROJ-123>" in text
    sections = ["RESPONSIBILITIES", "COLLABORATIONS", "MITIGATIONS", "STAFFING"]
    positions = [text.index(f"\n{s}\n") for s in [*sections, "OBSOLETE"]]
    assert positions == sorted(positions)


def test_text_wraps_long_details(doc):
    lines = render(doc, "text").splitlines()
    detail_lines = [line for line in lines if "long detail" in line]
    assert len(detail_lines) >= 4
    assert all(line.startswith("      ") and len(line) <= 100 for line in detail_lines)


def test_text_strips_terminal_escapes_from_names(doc):
    doc["items"][0]["owners"] = [{**ADA, "name": "Eve\x1b[31m red\x07"}]
    text = render(doc, "text")
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "Eve [31m red" in text


def test_text_preview_header(doc):
    doc["revision"] = None
    doc["project"]["slug"] = None
    doc["generated_at"] = None
    text = render(doc, "text")
    assert "Project: (preview)" in text
    assert "Revision: preview" in text
    assert "Generated" not in text


def test_sign_off_and_evidence_show_under_the_task_in_every_text_format(doc):
    item = doc["items"][5]
    item.update(
        signoff_required=True,
        reviewer_roles=["ai-ethicist"],
        reviewer_role_titles=["AI Ethicist"],
        reviewers=[{"id": "p9", "name": "Grace Hopper"}],
        evidence_required=True,
        evidence=[],
    )
    markdown = render(doc, "markdown")
    assert (
        "**Sign-off:** required from someone who holds AI Ethicist and does not own it "
        "\\(Grace Hopper can\\)"
    ) in markdown
    assert "**Evidence:** required, none yet" in markdown

    item.update(
        signed_off_by="p9",
        signed_off_by_name="Grace Hopper",
        signed_off_at="2026-03-02T09:15:27+00:00",
        evidence=[{"title": "Bias report", "url": "https://ci.example/r/1"}],
    )
    markdown = render(doc, "markdown")
    text = render(doc, "text")
    row = {r["key"]: r for r in _rows(render(doc, "csv"))}[item["key"]]
    assert "**Sign-off:** signed off by Grace Hopper on 2026-03-02" in markdown
    assert "**Evidence:** [Bias report](https://ci.example/r/1)" in markdown
    assert "sign-off: signed off by Grace Hopper on 2026-03-02" in text
    assert "evidence: Bias report <https://ci.example/r/1>" in text
    assert (row["signoff_required"], row["signed_off_by"]) == ("yes", "Grace Hopper")
    assert row["evidence"] == "Bias report <https://ci.example/r/1>"


# --------------------------------------------------------------------------- filtered views


def _matches(item, name, value):
    if name == "role":
        return value in item["roles"]
    if name == "person_id":
        return any(owner["id"] == value for owner in item["owners"])
    return item[name] == value


def _filtered(doc, **filters):
    """The document as a filtered read gives it: the matching items, the whole summary."""
    wanted = [i for i in doc["items"] if all(_matches(i, k, v) for k, v in filters.items())]
    return {**doc, "filters": filters, "items": wanted}


def test_a_filtered_markdown_view_says_so_and_counts_its_own_items(doc):
    view = _filtered(doc, status="done")
    shown = len(view["items"])
    assert 0 < shown < len(doc["items"])

    markdown = render(view, "markdown")

    assert f"- **Filtered by:** status `done`: {shown} of 8 items shown" in markdown
    assert f"**Progress of the shown items:** 100% done ({shown} of {shown} items done" in markdown
    assert "**Progress of the whole checklist:** 20% done (1 of 8 items done" in markdown
    assert "- **Progress:**" not in markdown
    assert len(BOX.findall(markdown)) == shown


def test_a_filtered_view_names_every_filter_and_the_person_it_selects(doc):
    view = _filtered(doc, role="data-scientist", person_id="p1")

    markdown = render(view, "markdown")
    text = render(view, "text")

    assert "**Filtered by:** role `data-scientist`, person id `p1` (Ada Lovelace):" in markdown
    assert "Filtered by: role data-scientist, person id p1 (Ada Lovelace):" in text


def test_a_filtered_text_view_says_so_and_counts_its_own_items(doc):
    view = _filtered(doc, kind="mitigation")
    shown = len(view["items"])

    text = render(view, "text")

    assert f"Filtered by: kind mitigation: {shown} of 8 items shown" in text
    assert "Progress of the shown items: " in text
    assert "Progress of the whole checklist: 20% done (1 of 8 items done" in text
    assert "\nProgress: " not in text
    assert all(len(line) <= 100 for line in text.splitlines())


def test_a_filter_that_selects_nothing_says_nothing_matches(doc):
    view = _filtered(doc, status="in_progress", kind="collaboration")
    view["items"] = []

    assert "_No items match the filters._" in render(view, "markdown")
    assert "0 of 8 items shown" in render(view, "markdown")
    assert "No items match the filters." in render(view, "text")


def test_an_unfiltered_view_shows_one_progress_line(doc):
    doc["filters"] = {}

    markdown, text = render(doc, "markdown"), render(doc, "text")

    assert "Filtered" not in markdown and "Filtered" not in text
    assert "- **Progress:** 20% done" in markdown
    assert "\nProgress: 20% done" in text


def test_references_say_whose_words_an_item_is():
    """Only the article's own words are marked "Article"; everything we wrote says "Ours", also
    on an item that cites NIST alone (issue 19)."""
    article = {
        "source": {
            "kind": "article",
            "section": "Key Roles / 1. Data Scientist",
            "quote": "Collecting and preprocessing data from various sources.",
        }
    }
    nist_only = {
        "source": {
            "kind": "authored",
            "section": "Information Security (threats named before building)",
            "nist": ["MEASURE 2.7"],
            "genai_risks": ["Information Security"],
        }
    }
    building_on = {
        "source": {
            "kind": "authored",
            "section": "x",
            "elaborates": {"section": "Challenges", "quote": "Data Privacy"},
        }
    }

    assert references(article) == [
        "Article (Key Roles / 1. Data Scientist): \u201cCollecting and preprocessing data from "
        "various sources.\u201d; its detail, done-when and priority are ours"
    ]
    assert references(nist_only) == [
        "Ours",
        "NIST AI RMF 1.0: MEASURE 2.7",
        "NIST AI 600-1: Information Security",
    ]
    assert references(building_on) == [
        "Ours, building on the article (Challenges): \u201cData Privacy\u201d"
    ]


# --------------------------------------------------------------------------- risk register

REGISTER = [
    {
        "risk": "CBRN Information or Capabilities",
        "section": "2.1",
        "status": "not-applicable",
        "items": [],
        "accepted": [],
        "reason": "Applies to a general-purpose assistant. Not the case here: <none>.",
    },
    {
        "risk": "Data Privacy",
        "section": "2.4",
        "status": "addressed",
        "items": ["data-privacy.inventory"],
        "accepted": [{"key": "data-privacy.retention", "residual_risk": "Logs kept *90* days"}],
        "reason": None,
    },
    {
        "risk": "Environmental Impacts",
        "section": "2.5",
        "status": "accepted",
        "items": [],
        "accepted": [{"key": "technical-complexity.energy", "residual_risk": None}],
        "reason": None,
    },
    {
        "risk": "Human-AI Configuration",
        "section": "2.7",
        "status": "gap",
        "items": [],
        "accepted": [],
        "reason": "Applies to every project. No item of this checklist addresses it.",
    },
]


@pytest.fixture
def registered(doc):
    doc["risk_register"] = copy.deepcopy(REGISTER)
    for item in doc["items"]:
        if item["key"] == "data-privacy.inventory":
            item["source"] = {**item.get("source", {}), "genai_risks": ["Data Privacy"]}
    return doc


def test_markdown_ends_with_the_risk_register_one_line_a_risk(registered):
    markdown = render(registered, "markdown")

    tail = markdown.split("\n## NIST AI 600-1 risk register\n", 1)[1]
    lines = [line for line in tail.splitlines() if line.startswith("- ")]
    assert lines == [
        "- **2.1 CBRN Information or Capabilities:** not applicable. Applies to a "
        "general-purpose assistant. Not the case here: \\<none\\>.",
        "- **2.4 Data Privacy:** addressed by `data-privacy.inventory`; "
        "`data-privacy.retention` waived (residual risk: Logs kept \\*90\\* days)",
        "- **2.5 Environmental Impacts:** accepted; `technical-complexity.energy` waived",
        "- **2.7 Human-AI Configuration:** **GAP**. Applies to every project. No item of this "
        "checklist addresses it.",
    ]
    # No register line is a task: the task list still has one box an item.
    assert len(BOX.findall(markdown)) == len(registered["items"])


def test_text_ends_with_the_risk_register(registered):
    text = render(registered, "text")

    tail = text.split("NIST AI 600-1 RISK REGISTER\n", 1)[1]
    assert "  2.4 Data Privacy: addressed\n    by: data-privacy.inventory\n" in tail
    assert "    waived: data-privacy.retention; residual risk: Logs kept *90* days\n" in tail
    assert "  2.7 Human-AI Configuration: GAP\n    Applies to every project." in tail
    assert all(len(line) <= 100 for line in text.splitlines())


def test_csv_gives_each_item_the_register_status_of_the_risks_it_addresses(registered):
    rows = {row["key"]: row for row in _rows(render(registered, "csv"))}

    assert len(rows) == len(registered["items"])
    assert rows["data-privacy.inventory"]["genai_risks"] == "Data Privacy (addressed)"
    assert rows["data-scientist.collect"]["genai_risks"] == ""


@pytest.mark.parametrize("fmt", ["markdown", "text", "html"])
def test_the_compact_layout_gives_each_risk_its_status_alone(registered, fmt):
    full = render(registered, fmt)
    compact = render(registered, fmt, Layout(compact=True))

    for reason in ("Not the case here", "No item of this checklist addresses it"):
        assert reason in full and reason not in compact
    assert "Human-AI Configuration" in compact and "GAP" in compact
