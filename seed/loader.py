"""Load seed/catalog.yaml, validate it strictly and build an app.services.catalog.model.Catalog."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from app.services.catalog.model import (
    GENAI_RISKS,
    PHASES,
    PRIORITIES,
    TRAITS,
    Application,
    Catalog,
    Challenge,
    Collaboration,
    Condition,
    Mitigation,
    Passage,
    PriorityRule,
    Responsibility,
    Role,
    SourceRef,
    priority_rank,
)
from app.vocabulary import SourceKind

SEED_DIR = Path(__file__).resolve().parent
DEFAULT_PATH = SEED_DIR / "catalog.yaml"
ARTICLE_PATH = SEED_DIR / "source" / "article.txt"

_SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
_KEY_RE = re.compile(_SLUG)
_NIST_RE = re.compile(r"(GOVERN|MAP|MEASURE|MANAGE) \d+\.\d+")
_SECTIONS = ("roles", "collaborations", "challenges", "applications")


class CatalogError(ValueError):
    """The catalog data is malformed or inconsistent; the message names the entry and field."""


def load_catalog(path: Path | None = None) -> Catalog:
    """Parse, validate and build the catalog; `version` is a hash of the parsed data."""
    path = Path(path) if path is not None else DEFAULT_PATH
    text = path.read_text(encoding="utf-8")
    try:
        _reject_duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader), "catalog")
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path.name}: invalid YAML: {exc}") from exc
    builder = _Builder(data, ARTICLE_PATH.read_text(encoding="utf-8"))
    return builder.build(version=content_hash(data))


def content_hash(data: Any) -> str:
    """`sha256:<hex>` of the canonical JSON form of parsed catalog data."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _reject_duplicate_keys(node: yaml.Node | None, where: str) -> None:
    """yaml.safe_load silently keeps the last of duplicate keys; refuse them instead."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise CatalogError(f"{where}: duplicate key {key!r} (line {line})")
            seen.add(key)
            _reject_duplicate_keys(value_node, f"{where}.{key}")
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicate_keys(item, f"{where}[{index}]")


def _fields(
    where: str, value: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CatalogError(f"{where}: expected a mapping, got {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in required and k not in optional)
    if unknown:
        raise CatalogError(f"{where}: unknown field(s) {', '.join(unknown)}")
    missing = [k for k in required if k not in value]
    if missing:
        raise CatalogError(f"{where}: missing field(s) {', '.join(missing)}")
    return value


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _list(where: str, value: Any, *, non_empty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        raise CatalogError(f"{where}: expected a list, got {type(value).__name__}")
    if non_empty and not value:
        raise CatalogError(f"{where}: must not be empty")
    return value


def _names(where: str, value: Any, allowed: tuple[str, ...], what: str) -> list[str]:
    """A list of distinct strings, each one of `allowed`."""
    names = [_text(f"{where}[{i}]", item) for i, item in enumerate(_list(where, value))]
    for name in names:
        if name not in allowed:
            raise CatalogError(f"{where}: unknown {what} {name!r} (known: {', '.join(allowed)})")
    if len(set(names)) != len(names):
        raise CatalogError(f"{where}: duplicate {what} in {names}")
    return names


def _flag(where: str, raw: dict[str, Any]) -> bool:
    """An optional true/false field (false when absent)."""
    name = where.rsplit(".", 1)[-1]
    value = raw.get(name, False)
    if not isinstance(value, bool):
        raise CatalogError(f"{where}: expected true or false, got {value!r}")
    return value


def _phase(where: str, value: Any) -> str:
    if value not in PHASES:
        raise CatalogError(f"{where}: unknown phase {value!r} (known: {', '.join(PHASES)})")
    return value


def _priority(where: str, value: Any) -> str:
    if value not in PRIORITIES:
        raise CatalogError(f"{where}: unknown priority {value!r} (known: {', '.join(PRIORITIES)})")
    return value


class _Builder:
    """Turns validated raw data into catalog dataclasses; knows every key for cross-checks."""

    def __init__(self, data: Any, article: str) -> None:
        self.data = _fields("catalog", data, _SECTIONS)
        self.article = article
        self.role_keys = self._keys("roles", _KEY_RE)
        self.challenge_keys = self._keys("challenges", _KEY_RE)
        self.application_keys = self._keys("applications", _KEY_RE)
        self._keys("collaborations", _KEY_RE)
        self.responsibility_keys: set[str] = set()

    def _keys(self, section: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
        keys: list[str] = []
        for index, entry in enumerate(_list(section, self.data[section], non_empty=True)):
            where = f"{section}[{index}]"
            if not isinstance(entry, dict) or "key" not in entry:
                raise CatalogError(f"{where}: expected a mapping with a 'key' field")
            key = _text(f"{where}.key", entry["key"])
            if not pattern.fullmatch(key):
                raise CatalogError(f"{where}.key: {key!r} does not match {pattern.pattern}")
            if key in keys:
                raise CatalogError(f"{where}.key: duplicate key {key!r}")
            keys.append(key)
        return tuple(keys)

    def build(self, version: str) -> Catalog:
        roles = tuple(self._role(i, e) for i, e in enumerate(self.data["roles"]))
        self.responsibility_keys = {r.key for role in roles for r in role.responsibilities}
        collaborations = self.data["collaborations"]
        challenges = self.data["challenges"]
        applications = self.data["applications"]
        catalog = Catalog(
            version=version,
            roles=roles,
            collaborations=tuple(self._collaboration(i, e) for i, e in enumerate(collaborations)),
            challenges=tuple(self._challenge(i, e) for i, e in enumerate(challenges)),
            applications=tuple(self._application(i, e) for i, e in enumerate(applications)),
        )
        _check_replaced_keys(catalog)
        return catalog

    def _verbatim(self, where: str, value: Any) -> str:
        text = _text(where, value)
        if text not in self.article:
            raise CatalogError(f"{where}: not a verbatim excerpt of the article: {text!r}")
        return text

    def _source(self, where: str, value: Any, text: str | None = None) -> SourceRef:
        """An entry's source; `text` is the entry's own text, which `article` claims is the
        article's words: it must then be verbatim, like the quote."""
        raw = _fields(where, value, ("kind", "section"), ("quote", "elaborates"))
        section = _text(f"{where}.section", raw["section"])
        if raw["kind"] == "authored":
            if "quote" in raw:
                raise CatalogError(
                    f"{where}.quote: authored sources carry no quote "
                    "(name the passage they build on in `elaborates`)"
                )
            elaborates = None
            if "elaborates" in raw:
                at = f"{where}.elaborates"
                passage = _fields(at, raw["elaborates"], ("section", "quote"))
                elaborates = Passage(
                    section=_text(f"{at}.section", passage["section"]),
                    quote=self._verbatim(f"{at}.quote", passage["quote"]),
                )
            return SourceRef(kind=SourceKind.AUTHORED, section=section, elaborates=elaborates)
        if raw["kind"] != "article":
            raise CatalogError(
                f"{where}.kind: expected 'article' or 'authored', got {raw['kind']!r}"
            )
        if "elaborates" in raw:
            raise CatalogError(f"{where}.elaborates: only authored sources elaborate a passage")
        if "quote" not in raw:
            raise CatalogError(f"{where}.quote: missing (required for kind 'article')")
        quote = self._verbatim(f"{where}.quote", raw["quote"])
        if text is not None and text not in self.article:
            raise CatalogError(
                f"{where}.kind: 'article' claims the entry's text is the article's, but it is "
                f"not verbatim: {text!r} (mark it 'authored' with `elaborates`)"
            )
        return SourceRef(kind=SourceKind.ARTICLE, section=section, quote=quote)

    def _condition(self, where: str, value: Any) -> Condition:
        raw = _fields(where, value, (), ("traits_any", "applications_any"))
        traits = _names(f"{where}.traits_any", raw.get("traits_any", []), TRAITS, "trait")
        apps = raw.get("applications_any", [])
        apps = _names(f"{where}.applications_any", apps, self.application_keys, "application")
        if not traits and not apps:
            raise CatalogError(f"{where}: empty condition (omit it to mean 'always')")
        return Condition(traits_any=frozenset(traits), applications_any=frozenset(apps))

    def _role(self, position: int, entry: dict[str, Any]) -> Role:
        key = entry["key"]
        where = f"roles[{key}]"
        raw = _fields(
            where,
            entry,
            ("key", "title", "summary", "required", "skills", "source", "responsibilities"),
            ("required_when",),
        )
        if not isinstance(raw["required"], bool):
            raise CatalogError(f"{where}.required: expected true or false, got {raw['required']!r}")
        article_skills, skills = self._skills(f"{where}.skills", raw["skills"])
        required_when = raw.get("required_when")
        items = _list(f"{where}.responsibilities", raw["responsibilities"], non_empty=True)
        summary = _text(f"{where}.summary", raw["summary"])
        return Role(
            key=key,
            title=_text(f"{where}.title", raw["title"]),
            summary=summary,
            required=raw["required"],
            position=position,
            source=self._source(f"{where}.source", raw["source"], summary),
            skills=skills,
            article_skills=article_skills,
            responsibilities=self._responsibilities(key, where, items),
            required_when=(
                None
                if required_when is None
                else self._condition(f"{where}.required_when", required_when)
            ),
        )

    def _skills(self, where: str, value: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """`{article: [...], authored: [...]}`: the article's skills (each verbatim, from the
        FAQ) and ours; returns (article's, all), the article's first."""
        raw = _fields(where, value, (), ("article", "authored"))
        article = [
            self._verbatim(f"{where}.article[{i}]", skill)
            for i, skill in enumerate(_list(f"{where}.article", raw.get("article", [])))
        ]
        authored = [
            _text(f"{where}.authored[{i}]", skill)
            for i, skill in enumerate(_list(f"{where}.authored", raw.get("authored", [])))
        ]
        every = article + authored
        if not every:
            raise CatalogError(f"{where}: must not be empty")
        if len(set(every)) != len(every):
            raise CatalogError(f"{where}: duplicate skill in {every}")
        return tuple(article), tuple(every)

    def _responsibilities(
        self, role: str, where: str, items: list[Any]
    ) -> tuple[Responsibility, ...]:
        result: list[Responsibility] = []
        for position, item in enumerate(items):
            at = f"{where}.responsibilities[{position}]"
            raw = _fields(
                at,
                item,
                ("key", "title", "text", "source", "detail", "done_when", "phase"),
                ("priority", "evidence_required"),
            )
            key = _text(f"{at}.key", raw["key"])
            if not re.fullmatch(rf"{re.escape(role)}\.{_SLUG}", key):
                raise CatalogError(f"{at}.key: {key!r} must look like '{role}.<slug>'")
            if key in {r.key for r in result}:
                raise CatalogError(f"{at}.key: duplicate key {key!r}")
            at = f"{where}.responsibilities[{key}]"
            text = _text(f"{at}.text", raw["text"])
            result.append(
                Responsibility(
                    key=key,
                    role_key=role,
                    title=_text(f"{at}.title", raw["title"]),
                    text=text,
                    position=position,
                    source=self._source(f"{at}.source", raw["source"], text),
                    detail=_text(f"{at}.detail", raw["detail"]),
                    done_when=_text(f"{at}.done_when", raw["done_when"]),
                    phase=_phase(f"{at}.phase", raw["phase"]),
                    priority=_priority(f"{at}.priority", raw.get("priority", "medium")),
                    evidence_required=_flag(f"{at}.evidence_required", raw),
                )
            )
        return tuple(result)

    def _collaboration(self, position: int, entry: dict[str, Any]) -> Collaboration:
        where = f"collaborations[{entry['key']}]"
        raw = _fields(where, entry, ("key", "role", "collaborates_with", "outcomes", "source"))
        role = raw["role"]
        if role not in self.role_keys:
            raise CatalogError(f"{where}.role: unknown role {role!r}")
        partners = _names(
            f"{where}.collaborates_with", raw["collaborates_with"], self.role_keys, "role"
        )
        if not partners or role in partners:
            raise CatalogError(f"{where}.collaborates_with: needs other roles than {role!r}")
        outcomes = _list(f"{where}.outcomes", raw["outcomes"], non_empty=True)
        return Collaboration(
            key=raw["key"],
            role_key=role,
            collaborates_with=tuple(partners),
            outcomes=tuple(_text(f"{where}.outcomes[{i}]", o) for i, o in enumerate(outcomes)),
            position=position,
            source=self._source(f"{where}.source", raw["source"]),
        )

    def _challenge(self, position: int, entry: dict[str, Any]) -> Challenge:
        key = entry["key"]
        where = f"challenges[{key}]"
        raw = _fields(where, entry, ("key", "title", "description", "source", "mitigations"))
        items = _list(f"{where}.mitigations", raw["mitigations"], non_empty=True)
        mitigations: list[Mitigation] = []
        for index, item in enumerate(items):
            mitigation = self._mitigation(key, f"{where}.mitigations[{index}]", index, item)
            if mitigation.key in {m.key for m in mitigations}:
                raise CatalogError(
                    f"{where}.mitigations[{index}].key: duplicate {mitigation.key!r}"
                )
            mitigations.append(mitigation)
        description = _text(f"{where}.description", raw["description"])
        return Challenge(
            key=key,
            title=_text(f"{where}.title", raw["title"]),
            description=description,
            position=position,
            source=self._source(f"{where}.source", raw["source"], description),
            mitigations=tuple(mitigations),
        )

    def _mitigation(self, challenge: str, where: str, position: int, entry: Any) -> Mitigation:
        raw = _fields(
            where,
            entry,
            ("key", "title", "detail", "done_when", "phase", "owner_roles", "priority", "source"),
            (
                "applies_when",
                "raised_when",
                "nist",
                "genai_risks",
                "replaces",
                "fulfils",
                "priority_because",
                "signoff_required",
                "reviewer_roles",
                "evidence_required",
            ),
        )
        key = _text(f"{where}.key", raw["key"])
        if not re.fullmatch(rf"{re.escape(challenge)}\.{_SLUG}", key):
            raise CatalogError(f"{where}.key: {key!r} must look like '{challenge}.<slug>'")
        where = f"mitigations[{key}]"
        owners = _names(f"{where}.owner_roles", raw["owner_roles"], self.role_keys, "role")
        if not owners:
            raise CatalogError(f"{where}.owner_roles: must not be empty")
        priority = _priority(f"{where}.priority", raw["priority"])
        priority_because = raw.get("priority_because")
        if priority_because is not None:
            priority_because = _text(f"{where}.priority_because", priority_because)
        elif priority == "critical":
            raise CatalogError(f"{where}.priority_because: required when the priority is critical")
        rules: list[PriorityRule] = []
        for index, rule in enumerate(_list(f"{where}.raised_when", raw.get("raised_when", []))):
            at = f"{where}.raised_when[{index}]"
            fields = _fields(at, rule, ("when", "priority"))
            raised = _priority(f"{at}.priority", fields["priority"])
            if priority_rank(raised) <= priority_rank(priority):
                raise CatalogError(f"{at}.priority: {raised!r} does not raise {priority!r}")
            when = self._condition(f"{at}.when", fields["when"])
            rules.append(PriorityRule(when=when, priority=raised))
        nist = _list(f"{where}.nist", raw.get("nist", []))
        for ref in nist:
            if not isinstance(ref, str) or not _NIST_RE.fullmatch(ref):
                raise CatalogError(f"{where}.nist: {ref!r} is not like 'MEASURE 2.10'")
        risks = _names(
            f"{where}.genai_risks", raw.get("genai_risks", []), GENAI_RISKS, "NIST AI 600-1 risk"
        )
        replaces = _list(f"{where}.replaces", raw.get("replaces", []))
        for old in replaces:
            if not isinstance(old, str) or not re.fullmatch(rf"{_SLUG}\.{_SLUG}", old):
                raise CatalogError(f"{where}.replaces: {old!r} is not an item key")
        fulfils = _list(f"{where}.fulfils", raw.get("fulfils", []))
        for key_ in fulfils:
            if key_ not in self.responsibility_keys:
                raise CatalogError(f"{where}.fulfils: unknown responsibility {key_!r}")
        signoff = _flag(f"{where}.signoff_required", raw)
        reviewers = _names(
            f"{where}.reviewer_roles", raw.get("reviewer_roles", []), self.role_keys, "role"
        )
        can_be_critical = "critical" in (priority, *(r.priority for r in rules))
        if can_be_critical and not signoff:
            raise CatalogError(
                f"{where}.signoff_required: a mitigation that can be critical needs a sign-off"
            )
        if signoff and not set(reviewers) - set(owners):
            raise CatalogError(
                f"{where}.reviewer_roles: needs a role besides the owner roles, so that someone "
                "who does not own the item can sign it off"
            )
        if reviewers and not signoff:
            raise CatalogError(f"{where}.reviewer_roles: given without signoff_required")
        applies_when = raw.get("applies_when")
        return Mitigation(
            key=key,
            challenge_key=challenge,
            title=_text(f"{where}.title", raw["title"]),
            detail=_text(f"{where}.detail", raw["detail"]),
            owner_roles=tuple(owners),
            priority=priority,
            position=position,
            source=self._source(f"{where}.source", raw["source"]),
            done_when=_text(f"{where}.done_when", raw["done_when"]),
            phase=_phase(f"{where}.phase", raw["phase"]),
            priority_because=priority_because,
            fulfils=tuple(fulfils),
            signoff_required=signoff,
            reviewer_roles=tuple(reviewers),
            evidence_required=_flag(f"{where}.evidence_required", raw),
            applies_when=(
                Condition()
                if applies_when is None
                else self._condition(f"{where}.applies_when", applies_when)
            ),
            raised_when=tuple(rules),
            nist=tuple(nist),
            genai_risks=tuple(risks),
            replaces=tuple(replaces),
        )

    def _application(self, position: int, entry: dict[str, Any]) -> Application:
        key = entry["key"]
        where = f"applications[{key}]"
        raw = _fields(
            where,
            entry,
            ("key", "title", "description", "source"),
            ("requires_roles", "raises", "implies_traits"),
        )
        implies = _names(f"{where}.implies_traits", raw.get("implies_traits", []), TRAITS, "trait")
        roles = _names(
            f"{where}.requires_roles", raw.get("requires_roles", []), self.role_keys, "role"
        )
        raises = raw.get("raises", {})
        if not isinstance(raises, dict):
            raise CatalogError(f"{where}.raises: expected a mapping of challenge key to priority")
        for challenge, priority in raises.items():
            if challenge not in self.challenge_keys:
                raise CatalogError(f"{where}.raises: unknown challenge {challenge!r}")
            _priority(f"{where}.raises.{challenge}", priority)
        description = _text(f"{where}.description", raw["description"])
        return Application(
            key=key,
            title=_text(f"{where}.title", raw["title"]),
            description=description,
            position=position,
            source=self._source(f"{where}.source", raw["source"], description),
            requires_roles=tuple(roles),
            raises=tuple(sorted(raises.items())),
            implies_traits=tuple(implies),
        )


def _check_replaced_keys(catalog: Catalog) -> None:
    """An old key hands its item's state to one entry, and is no longer a key of the catalog;
    a responsibility is fulfilled by one mitigation at most."""
    current = {r.key for role in catalog.roles for r in role.responsibilities}
    current |= {m.key for c in catalog.challenges for m in c.mitigations}
    seen: dict[str, str] = {}
    fulfilled: dict[str, str] = {}
    for challenge in catalog.challenges:
        for mitigation in challenge.mitigations:
            for key in mitigation.fulfils:
                if key in fulfilled:
                    raise CatalogError(
                        f"mitigations[{mitigation.key}].fulfils: {key!r} is fulfilled by "
                        f"{fulfilled[key]!r} already"
                    )
                fulfilled[key] = mitigation.key
            for old in mitigation.replaces:
                where = f"mitigations[{mitigation.key}].replaces"
                if old in current:
                    raise CatalogError(f"{where}: {old!r} is still a key of the catalog")
                if old in seen:
                    raise CatalogError(f"{where}: {old!r} is replaced by {seen[old]!r} already")
                seen[old] = mitigation.key
