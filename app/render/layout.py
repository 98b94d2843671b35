"""What the renderers share: formats, layouts, sections of items, how an item's parts read."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.services.checklists.summary import summarize
from app.vocabulary import ItemStatus

# Format name (the `?format=` value) -> the media type it is served as.
FORMATS: Mapping[str, str] = {
    "json": "application/json",
    "markdown": "text/markdown",
    "csv": "text/csv",
    "text": "text/plain",
    # Last: a client that accepts anything (`*/*`) is given JSON, one that asks for `text/*`
    # Markdown, as before HTML was a format; a browser names `text/html` and is given the page.
    "html": "text/html",
}
# The formats laid out by `Layout` (`group_by`, `compact`); JSON and CSV take every item flat.
LAID_OUT: frozenset[str] = frozenset({"markdown", "text", "html"})

# The NIST AI RMF lifecycle stages (app.services.catalog.model.PHASES) as section titles, in
# lifecycle order.
PHASE_SECTIONS: tuple[tuple[str, str], ...] = (
    ("plan-and-design", "Plan and design"),
    ("collect-and-process-data", "Collect and process data"),
    ("build-and-use-model", "Build and use the model"),
    ("verify-and-validate", "Verify and validate"),
    ("deploy-and-use", "Deploy and use"),
    ("operate-and-monitor", "Operate and monitor"),
)
PHASE_TITLES: Mapping[str, str] = dict(PHASE_SECTIONS)
# How Markdown, text and HTML group items (`?group_by=`); `phase` by default.
GROUPINGS: tuple[str, ...] = ("phase", "kind", "role", "person")
DEFAULT_GROUPING = "phase"
UNASSIGNED = "Unassigned"
KIND_SECTIONS: tuple[tuple[str, str], ...] = (
    # First: what the project's context asks (a stop, its risk classification) comes first.
    ("context", "From the project's context"),
    ("responsibility", "Responsibilities"),
    ("collaboration", "Collaborations"),
    ("mitigation", "Mitigations"),
    ("staffing", "Staffing"),
)
OBSOLETE_SECTION = "Obsolete"

Item = Mapping[str, Any]


@dataclass
class Section:
    """A part of a rendered checklist: a title and its items, in groups (`None`: no sub-title)."""

    title: str
    groups: dict[str | None, list[Item]] = field(default_factory=dict)

    def add(self, group: str | None, item: Item) -> None:
        self.groups.setdefault(group, []).append(item)


@dataclass(frozen=True)
class Layout:
    """How Markdown, text and HTML lay items out: sections by `group_by`, and `compact` for one line
    an item (no detail, reasons or references). `role_order` (role keys, the catalog's order)
    orders the sections by role; roles it lacks follow in order of appearance."""

    group_by: str = DEFAULT_GROUPING
    compact: bool = False
    role_order: tuple[str, ...] = ()


DEFAULT_LAYOUT = Layout()


def sections(
    items: Sequence[Item], group_by: str = DEFAULT_GROUPING, role_order: Sequence[str] = ()
) -> list[Section]:
    """Items in sections, obsolete items last; item order is kept inside a section.

    `phase`: one section per lifecycle stage, in lifecycle order. `kind`: by kind, with
    responsibilities grouped by role and mitigations by challenge. `role`: by an item's first
    role, in `role_order` (others in order of appearance). `person`: by owner, each item
    under every one of its owners (then "Unassigned"), people by name.
    """
    if group_by == "phase":
        return _by_phase(items)
    if group_by == "role":
        return _by_role(items, role_order)
    if group_by == "person":
        return _by_person(items)
    return _by_kind(items)


def _live_and_obsolete(items: Sequence[Item]) -> tuple[list[Item], Section]:
    obsolete = Section(OBSOLETE_SECTION)
    live = []
    for item in items:
        if item.get("status") == ItemStatus.OBSOLETE:
            obsolete.add(None, item)
        else:
            live.append(item)
    return live, obsolete


def _nonempty(*parts: Section) -> list[Section]:
    return [section for section in parts if section.groups]


def _by_phase(items: Sequence[Item]) -> list[Section]:
    live, obsolete = _live_and_obsolete(items)
    by_phase = {phase: Section(title) for phase, title in PHASE_SECTIONS}
    extra: dict[str, Section] = {}
    for item in live:
        phase = str(item.get("phase") or "")
        section = by_phase.get(phase) or extra.setdefault(phase, Section(phase or "No phase"))
        section.add(None, item)
    return _nonempty(*by_phase.values(), *extra.values(), obsolete)


def _by_role(items: Sequence[Item], role_order: Sequence[str]) -> list[Section]:
    live, obsolete = _live_and_obsolete(items)
    by_role: dict[str, Section] = {}
    for item in live:
        role = str(first(item.get("roles")) or "")
        title = first(item.get("role_titles")) or role or UNASSIGNED
        by_role.setdefault(role, Section(str(title))).add(None, item)
    rank = {role: n for n, role in enumerate(role_order)}
    ordered = sorted(by_role, key=lambda role: rank.get(role, len(rank)))
    return _nonempty(*(by_role[role] for role in ordered), obsolete)


def _by_person(items: Sequence[Item]) -> list[Section]:
    live, obsolete = _live_and_obsolete(items)
    people: dict[str, Section] = {}
    unassigned = Section(UNASSIGNED)
    for item in live:
        owners = item.get("owners") or ()
        if not owners:
            unassigned.add(None, item)
        for owner in owners:
            ref = str(owner.get("id") or owner.get("name"))
            people.setdefault(ref, Section(str(owner.get("name") or ref))).add(None, item)
    ordered = sorted(people.items(), key=lambda entry: (entry[1].title.casefold(), entry[0]))
    return _nonempty(*(section for _, section in ordered), unassigned, obsolete)


def _by_kind(items: Sequence[Item]) -> list[Section]:
    by_kind = {kind: Section(title) for kind, title in KIND_SECTIONS}
    extra: dict[str, Section] = {}
    obsolete = Section(OBSOLETE_SECTION)
    for item in items:
        kind = str(item.get("kind") or "other")
        if item.get("status") == ItemStatus.OBSOLETE:
            obsolete.add(None, item)
            continue
        section = by_kind.get(kind) or extra.setdefault(kind, Section(kind.title()))
        section.add(_group(item), item)
    result = [*by_kind.values(), *extra.values(), obsolete]
    return [section for section in result if section.groups]


def _group(item: Item) -> str | None:
    if item.get("kind") == "responsibility":
        return first(item.get("role_titles")) or first(item.get("roles")) or None
    if item.get("kind") == "mitigation":
        source = item.get("source") or {}
        return source.get("challenge_title") or source.get("challenge") or None
    return None


def phase_title(item: Item) -> str:
    phase = str(item.get("phase") or "")
    return PHASE_TITLES.get(phase, phase)


# What an item quoting the article adds of ours: its detail, its done-when, its priority.
OURS_AROUND_THE_ARTICLE = "its detail, done-when and priority are ours"


# How an item's EU AI Act references are introduced (the item applies only in the EU).
EU_AI_ACT = "EU AI Act (Regulation (EU) 2024/1689), for use in the EU"


def references(item: Item) -> list[str]:
    """Where an item comes from, as plain sentences: the article's words it carries or the
    passage it builds on, the responsibilities it stands for, its NIST and EU AI Act
    references."""
    source = item.get("source") or {}
    refs: list[str] = []
    quote, section = source.get("quote"), source.get("section")
    if source.get("kind") == "article" and quote:
        # The article's words are the task; what we say of doing it is ours.
        refs.append(f"Article ({section}): \u201c{quote}\u201d; {OURS_AROUND_THE_ARTICLE}")
    elif source.get("kind") == "authored" and not source.get("elaborates"):
        # Ours alone (a NIST reference says what it answers, not that NIST wrote it).
        refs.append("Ours")
    stands_for = [
        f for f in source.get("fulfils") or () if f.get("kind") == "article" and f.get("quote")
    ]
    elaborates = source.get("elaborates")
    if elaborates and elaborates.get("quote") not in {f["quote"] for f in stands_for}:
        refs.append(
            f"Ours, building on the article ({elaborates.get('section')}): "
            f"\u201c{elaborates.get('quote')}\u201d"
        )
    for fulfilled in stands_for:
        refs.append(
            f"Article ({fulfilled.get('section')}), the responsibility this item stands for: "
            f"\u201c{fulfilled['quote']}\u201d"
        )
    for row in source.get("collaborations") or ():
        refs.append(
            f"Article ({row.get('section')}), a row of the table this item agrees: "
            f"\u201c{row.get('quote')}\u201d"
        )
    if source.get("nist"):
        refs.append("NIST AI RMF 1.0: " + ", ".join(source["nist"]))
    if source.get("genai_risks"):
        refs.append("NIST AI 600-1: " + ", ".join(source["genai_risks"]))
    if source.get("eu_ai_act"):
        refs.append(f"{EU_AI_ACT}: " + ", ".join(source["eu_ai_act"]))
    return refs


def signoff(item: Item) -> str | None:
    """What an item says of its sign-off: who may give it, who gave it."""
    if not item.get("signoff_required") and not item.get("signed_off_by"):
        return None
    if item.get("signed_off_by"):
        who = item.get("signed_off_by_name") or item["signed_off_by"]
        when = str(item.get("signed_off_at") or "")[:10]
        said = f"signed off by {who}" + (f" on {when}" if when else "")
        # A sign-off recorded before personal keys: a team key's body named the signer.
        return said if item.get("signed_off_with") else f"{said} (named with a team key)"
    titles = item.get("reviewer_role_titles") or item.get("reviewer_roles") or ()
    rule = "required from someone who holds " + " or ".join(titles) + " and does not own it"
    who = [str(r.get("name") or r.get("id")) for r in item.get("reviewers") or ()]
    return f"{rule} ({', '.join(who)} can)" if who else f"{rule} (nobody staffed can yet)"


def approver(waiver: Mapping[str, Any]) -> str | None:
    """Who approved a waiver (a person's name; the text given, for waivers recorded before
    approvers were people), and who asked for it when a ticketing system did."""
    parts = []
    if waiver.get("approved_by"):
        parts.append(f"approved by {waiver.get('approver_name') or waiver['approved_by']}")
    if waiver.get("requested_by"):
        parts.append(f"requested by {waiver['requested_by']}")
    return ", ".join(parts) or None


# What each kind of release gate means, as an item's detail says it.
GATE_TEXTS: dict[str, str] = {
    "per-release": "asked again of each release",
    "per-model-version": "asked again when a release's model changes",
}


def release_gate(item: Item) -> str | None:
    """What makes the item a release gate, in words; None when it is not one."""
    repeats = item.get("repeats")
    return GATE_TEXTS.get(repeats, repeats) if repeats else None


def model_source_of(project: Mapping[str, Any]) -> str:
    """Where the project's model comes from, as the header shows it (`not stated`: work that
    assumes training is kept)."""
    return str(project.get("model_source") or "not stated")


def release_line(doc: Mapping[str, Any]) -> str | None:
    """The release the checklist is for, in one line (`1.4.0, open, opened on 2026-03-02; model
    gpt-4o 2024-08-06 by openai`); None when it is for none."""
    release = doc.get("release")
    if not release:
        return None
    model = release.get("model") or {}
    shown = f"{model.get('name')} {model.get('version')}"
    if model.get("provider"):
        shown += f" by {model['provider']}"
    opened = str(release.get("opened_at") or "")[:10]
    return f"{release.get('version')}, {release.get('status')}, opened on {opened}; model {shown}"


# The project's context as the checklist opens with it: (field, label), in order.
CONTEXT_LABELS: tuple[tuple[str, str], ...] = (
    ("intended_use", "Intended use"),
    ("prohibited_uses", "Prohibited uses"),
    ("affected_people", "Affected people"),
    ("jurisdictions", "Jurisdictions"),
    ("risk_classification", "Risk classification"),
    ("risk_tolerance", "Risk tolerance"),
)


def context_entries(doc: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """The document's context as (label, values) pairs, a value list empty where the project
    states nothing; no pairs for a document without a context (a person's items)."""
    context = doc.get("context")
    if not context:
        return []
    entries = []
    for name, label in CONTEXT_LABELS:
        value = context.get(name)
        values = [str(v) for v in value] if isinstance(value, list) else [str(value or "")]
        entries.append((label, [v for v in values if v]))
    return entries


def lapsed(item: Item) -> bool:
    """Whether the item shows a waiver whose day has passed (it reads as open)."""
    waiver = item.get("waiver")
    return bool(waiver and waiver.get("expired") and waiver.get("expires_on"))


def evidence_links(item: Item) -> list[Mapping[str, Any]]:
    return [link for link in item.get("evidence") or () if link.get("url")]


def first(values: Sequence[Any] | None) -> Any:
    return values[0] if values else None


def owner_names(item: Item) -> list[str]:
    return [str(owner.get("name") or owner.get("id") or "") for owner in item.get("owners") or ()]


def owner_emails(item: Item) -> list[str]:
    return [str(owner["email"]) for owner in item.get("owners") or () if owner.get("email")]


def progress(summary: Mapping[str, Any] | None) -> str:
    """`40% done (4 of 10 items done, 1 in progress, 5 open, 0 waived, 0 obsolete)`."""
    summary = summary or {}
    counts = summary.get("by_status") or {}
    total = summary.get("total", 0)
    return (
        f"{summary.get('percent_done', 0)}% done ({counts.get('done', 0)} of {total} items done, "
        f"{counts.get('in_progress', 0)} in progress, {counts.get('open', 0)} open, "
        f"{counts.get('waived', 0)} waived, {counts.get('obsolete', 0)} obsolete)"
    )


# The filters a checklist view may select items by, in the order a filtered view names them.
FILTER_NAMES: tuple[str, ...] = ("role", "status", "kind", "phase", "person_id")


@dataclass(frozen=True)
class Selection:
    """What a filtered view shows: its `filters` (name, value, and for a person their name when
    an item shows it), the summary of the `shown` items and that of the `whole` checklist."""

    filters: tuple[tuple[str, str, str | None], ...]
    shown: Mapping[str, Any]
    whole: Mapping[str, Any]

    def describe(self, literal: Callable[[str], str], text: Callable[[str], str]) -> str:
        """`role ai-ethicist, person id per_1 (Ada): 3 of 40 items shown`, each value made
        `literal` and each person's name `text` in the renderer's terms."""
        filters = ", ".join(
            f"{name.replace('_', ' ')} {literal(value)}" + (f" ({text(label)})" if label else "")
            for name, value, label in self.filters
        )
        shown, whole = self.shown.get("total", 0), self.whole.get("total", 0)
        return f"{filters}: {shown} of {whole} items shown"


def selection(doc: Mapping[str, Any]) -> Selection | None:
    """The selection of a filtered checklist document; None for a whole one. The document's
    `summary` counts every item whatever the filters: the shown items are counted here."""
    given = doc.get("filters") or {}
    if not given:
        return None
    items = doc.get("items") or []
    filters = []
    for name in FILTER_NAMES:
        if given.get(name) is None:
            continue
        label = None
        if name == "person_id":
            owners = (o for item in items for o in item.get("owners") or ())
            label = next((o.get("name") for o in owners if o.get("id") == given[name]), None)
        filters.append((name, str(given[name]), label))
    return Selection(tuple(filters), summarize(items), doc.get("summary") or {})


def ticket_label(ticket: Mapping[str, Any] | None) -> str | None:
    """A ticket link's key, else its URL, else None."""
    if not ticket:
        return None
    return str(ticket.get("key") or ticket.get("url") or "") or None


# The risk register's heading, and what each status reads as in the text formats.
REGISTER_TITLE = "NIST AI 600-1 risk register"
REGISTER_INTRO = (
    "The twelve risks of NIST AI 600-1, each with one status: addressed (by the items named), "
    "accepted (every item addressing it waived), not applicable (the catalog's rule, and why "
    "it fails here) or gap (it applies and no item addresses it)."
)
REGISTER_STATUS_WORDS: Mapping[str, str] = {
    "addressed": "addressed",
    "accepted": "accepted",
    "not-applicable": "not applicable",
    "gap": "GAP",
}


@dataclass(frozen=True)
class RegisterLine:
    """One risk of a checklist's register, as the text formats show it."""

    section: str
    risk: str
    status: str  # as it reads (`REGISTER_STATUS_WORDS`)
    items: tuple[str, ...]  # the keys of the items that address it, not waived
    accepted: tuple[tuple[str, str | None], ...]  # (key, residual risk) of the waived ones
    reason: str | None


def register_lines(doc: Mapping[str, Any]) -> list[RegisterLine]:
    """The checklist's risk register (none for a document without one: a person's items)."""
    return [
        RegisterLine(
            section=str(entry.get("section") or ""),
            risk=str(entry.get("risk") or ""),
            status=REGISTER_STATUS_WORDS.get(entry.get("status"), str(entry.get("status"))),
            items=tuple(entry.get("items") or ()),
            accepted=tuple(
                (str(a.get("key")), a.get("residual_risk")) for a in entry.get("accepted") or ()
            ),
            reason=entry.get("reason"),
        )
        for entry in doc.get("risk_register") or ()
    ]
