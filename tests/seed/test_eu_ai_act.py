"""EU AI Act obligations (issue 19, point 5): the list of the Regulation's articles kept in the
repo is well formed, every `eu_ai_act` reference of the catalog names an article it lists, and
the obligations apply to the projects the issue names: every EU project gets AI literacy and the
transparency of generated output, one classified high also gets the high-risk obligations."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from app.services.catalog.model import Catalog
from seed.loader import CatalogError, load_catalog

ARTICLES_PATH = Path(__file__).resolve().parents[2] / "seed" / "source" / "eu_ai_act_articles.txt"
LINE = re.compile(r"Article (?P<number>[1-9]\d{0,2}) \| (?P<title>\S.*\S)")
NOT_FOUND = re.compile(r"#\s+Not found with their titles.*\n#\s+(?P<numbers>[\d, ]+)\n")
COMPLETE = re.compile(r"^# The list is complete: all 113 articles are listed", re.MULTILINE)
LAST_ARTICLE = 113

HIGH_RISK = {
    "context.eu-risk-management-system": ("Art. 9",),
    "context.eu-data-governance": ("Art. 10",),
    "context.eu-technical-documentation": ("Art. 11",),
    "context.eu-logs-kept-six-months": ("Art. 12", "Art. 26(6)"),
    "context.eu-instructions-for-deployers": ("Art. 13",),
    "context.eu-human-oversight": ("Art. 14",),
    "context.eu-accuracy-robustness-cybersecurity": ("Art. 15",),
    "context.eu-serious-incident-reporting": ("Art. 73",),
}
EVERY_EU_PROJECT = {
    "context.eu-ai-literacy": ("Art. 4",),
    "context.eu-generated-content-transparency": ("Art. 50",),
}


def _source_text() -> str:
    return ARTICLES_PATH.read_text(encoding="utf-8")


def _articles() -> dict[int, str]:
    """The listed articles: number -> official title."""
    rows = [line for line in _source_text().splitlines() if line and not line.startswith("#")]
    articles: dict[int, str] = {}
    for row in rows:
        match = LINE.fullmatch(row)
        assert match, f"not 'Article <number> | <title>': {row!r}"
        number = int(match["number"])
        assert number not in articles, f"Article {number} is listed twice"
        articles[number] = match["title"]
    return articles


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_the_article_list_is_well_formed() -> None:
    """Numbers in order, each once, each with a title; the header names where the titles were
    transcribed from, and either says the list is complete, and then exactly Articles 1 to 113
    are listed, or names the articles not found, so that listed and not found together are
    exactly Articles 1 to 113."""
    text = _source_text()
    articles = _articles()
    numbers = list(articles)
    assert numbers == sorted(numbers)
    assert "OJ L, 2024/1689, 12.7.2024" in text
    assert "Regulation (EU) 2024/1689" in text
    not_found_match = NOT_FOUND.search(text)
    complete = COMPLETE.search(text)
    assert bool(complete) != bool(not_found_match), (
        "the header either says the list is complete or names the articles not found"
    )
    if complete:
        assert numbers == list(range(1, LAST_ARTICLE + 1))
        assert len(articles) == LAST_ARTICLE
        not_found: set[int] = set()
    else:
        assert not_found_match
        not_found = {int(n) for n in not_found_match["numbers"].replace(",", " ").split()}
        assert not_found, "a 'Not found' line names at least one article"
    assert not not_found & set(numbers)
    assert set(numbers) | not_found == set(range(1, LAST_ARTICLE + 1))
    assert len(numbers) + len(not_found) == LAST_ARTICLE
    assert numbers[-1] == LAST_ARTICLE
    assert all(title == title.strip() and "|" not in title for title in articles.values())


def test_the_articles_the_catalog_cites_are_listed_with_their_titles() -> None:
    articles = _articles()
    assert articles[4] == "AI literacy"
    assert articles[9] == "Risk management system"
    assert articles[10] == "Data and data governance"
    assert articles[11] == "Technical documentation"
    assert articles[12] == "Record-keeping"
    assert articles[13] == "Transparency and provision of information to deployers"
    assert articles[14] == "Human oversight"
    assert articles[15] == "Accuracy, robustness and cybersecurity"
    assert articles[26] == "Obligations of deployers of high-risk AI systems"
    assert (
        articles[50] == "Transparency obligations for providers and deployers of certain AI systems"
    )
    assert articles[73] == "Reporting of serious incidents"


def test_every_eu_ai_act_reference_names_a_listed_article(catalog: Catalog) -> None:
    articles = _articles()
    cited = [(item.key, ref) for item in catalog.context_items for ref in item.eu_ai_act]
    assert len(cited) == 12
    for key, ref in cited:
        match = re.fullmatch(r"Art\. (\d+)(\(\d+\)(\([a-z]\))?)?", ref)
        assert match, (key, ref)
        assert int(match[1]) in articles, f"{key}: {ref} is not an article of the list"


def test_the_eu_obligations_apply_as_the_issue_says(catalog: Catalog) -> None:
    cited = {item.key: item.eu_ai_act for item in catalog.context_items if item.eu_ai_act}
    # Classifying the system's risk answers Art. 6 (classification rules for high-risk systems).
    assert cited == {"context.classify-risk": ("Art. 6",), **EVERY_EU_PROJECT, **HIGH_RISK}
    items = {item.key: item for item in catalog.context_items}
    for key in HIGH_RISK:
        condition = items[key].applies_when
        assert condition.matches("high", ["EU"])
        assert not condition.matches("high", ["US"])
        assert not condition.matches("limited", ["EU"])
        assert not condition.matches("unclassified", ["EU"])
    for key in EVERY_EU_PROJECT:
        condition = items[key].applies_when
        for tier in ("unclassified", "minimal", "limited", "high"):
            assert condition.matches(tier, ["US", "EU"]), (key, tier)
            assert not condition.matches(tier, ["US"]), (key, tier)
        # A prohibited system is stopped: the stop item alone applies.
        assert not condition.matches("prohibited", ["EU"])


def test_the_eu_obligations_are_gates_reviewed_by_the_right_role(catalog: Catalog) -> None:
    items = {item.key: item for item in catalog.context_items}
    for key in HIGH_RISK:
        item = items[key]
        assert item.priority in ("high", "critical"), key
        assert item.evidence_required and item.signoff_required, key
        assert item.done_when.strip(), key
        assert item.source.kind == "authored", key
    assert items["context.eu-data-governance"].reviewer_roles[0] == "privacy-officer"
    assert items["context.eu-accuracy-robustness-cybersecurity"].reviewer_roles[0] == (
        "security-lead"
    )
    assert items["context.eu-risk-management-system"].reviewer_roles[0] == ("accountable-executive")
    assert items["context.eu-human-oversight"].reviewer_roles[0] == "domain-expert"
    # Logs are kept at least six months, and the done-when holds a threshold to check.
    assert "180 days" in items["context.eu-logs-kept-six-months"].done_when
    # Generative output: machine-readable marking and telling people they deal with AI.
    transparency = items["context.eu-generated-content-transparency"].detail
    assert "machine-readable" in transparency and "AI system" in transparency


@pytest.mark.parametrize(
    ("references", "message"),
    [
        (["Article 9"], r"eu_ai_act: 'Article 9' is not like 'Art\. 9' or 'Art\. 26\(6\)'"),
        (["Art. 0"], r"eu_ai_act: 'Art\. 0' is not like"),
        (["Art. 26(b)"], r"eu_ai_act: 'Art\. 26\(b\)' is not like"),
        (["Art. 9", "Art. 9"], r"eu_ai_act: given more than once: Art\. 9"),
    ],
)
def test_the_loader_checks_the_shape_of_a_reference(
    tmp_path: Path, references: list[str], message: str
) -> None:
    data = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "seed" / "catalog.yaml").read_text("utf-8")
    )
    data = copy.deepcopy(data)
    data["context_items"][0]["eu_ai_act"] = references
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(CatalogError, match=message):
        load_catalog(path)


def test_a_paragraph_and_a_point_are_references(tmp_path: Path) -> None:
    data = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "seed" / "catalog.yaml").read_text("utf-8")
    )
    data["context_items"][0]["eu_ai_act"] = ["Art. 26(6)", "Art. 50(4)", "Art. 5(1)(h)"]
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert load_catalog(path).context_items[0].eu_ai_act == (
        "Art. 26(6)",
        "Art. 50(4)",
        "Art. 5(1)(h)",
    )
