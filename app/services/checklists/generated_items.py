"""The items the generator makes, kind by kind: the roles' responsibilities, the
collaborations between roles, the mitigations of the catalog's challenges, and the staffing
findings; each with why it is there. Pure, as the generator (`checklists.generator`) is."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.services.catalog.model import (
    Catalog,
    Challenge,
    Collaboration,
    ContextItem,
    Mitigation,
    Responsibility,
    Role,
    max_priority,
    priority_rank,
)
from app.services.checklists.facts import Facts, Member, Staffing, in_play_because, role_titles
from app.services.staffing.findings import StaffingFinding
from app.vocabulary import PRIORITIES, ItemKind, Repeats

_STAFFING_SOURCE = {
    "kind": "authored",
    "section": "Staffing findings",
    "quote": None,
    "elaborates": None,
}


@dataclass(frozen=True)
class GeneratedItem:
    """One checklist item as generated; persistence adds id, status, note, waiver and ticket.

    `replaces` are keys the item had before (a catalog change moved it, or it now stands for a
    responsibility): an item stored under one of them hands its state over when this one first
    appears."""

    key: str
    kind: str
    title: str
    detail: str
    phase: str
    done_when: str
    roles: tuple[str, ...]
    owners: tuple[Member, ...]
    priority: str
    because: tuple[str, ...]
    source: dict[str, Any] = field(hash=False, compare=True)
    replaces: tuple[str, ...] = ()
    signoff_required: bool = False
    reviewer_roles: tuple[str, ...] = ()
    # Who may sign it off: the people in its reviewer roles who do not own it.
    reviewers: tuple[Member, ...] = ()
    evidence_required: bool = False
    # A release gate (`Repeats`): reopened by the releases that ask it again; None: not one.
    repeats: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The generated fields in the checklist item's JSON shape (no role titles, no status)."""
        return {
            "key": self.key,
            **self.column_values(),
            "owners": [m.as_owner() for m in self.owners],
        }

    def column_values(self) -> dict[str, Any]:
        """What the item's generated columns hold (its position aside), in its JSON shape: the
        generated fields but its key, its owners (stored apart) and the keys it replaces."""
        return {
            "kind": self.kind,
            "title": self.title,
            "detail": self.detail,
            "phase": self.phase,
            "done_when": self.done_when,
            "roles": list(self.roles),
            "priority": self.priority,
            "because": list(self.because),
            "source": dict(self.source),
            "signoff_required": self.signoff_required,
            "reviewer_roles": list(self.reviewer_roles),
            "reviewers": [{"id": m.ref, "name": m.name} for m in self.reviewers],
            "evidence_required": self.evidence_required,
            "repeats": self.repeats,
        }


def responsibility_items(
    roles: Iterable[Role],
    index: Staffing,
    required: Mapping[str, tuple[str, ...]],
    fulfilled: set[str],
    facts: Facts,
) -> Iterable[GeneratedItem]:
    for role in roles:
        owners = index.members_by_role.get(role.key, ())
        for resp in sorted(role.responsibilities, key=lambda r: r.position):
            if resp.key in fulfilled or (resp.assumes_training and not facts.trains):
                continue
            because = [f"Catalog responsibility {resp.key} of {role.title}"]
            because += in_play_because(role, required)
            if resp.assumes_training:
                because.append(facts.training_reason())
            priority = resp.priority
            if role.key not in required and priority_rank(priority) > 0:
                # A role the project staffs without needing it: its tasks can wait a little.
                priority = PRIORITIES[priority_rank(priority) - 1]
                because.append(f"{role.title} is not required here: priority lowered to {priority}")
            yield GeneratedItem(
                key=resp.key,
                kind="responsibility",
                title=resp.title,
                detail=resp.detail or resp.text,
                phase=resp.phase,
                done_when=resp.done_when,
                roles=(role.key,),
                owners=owners,
                priority=priority,
                because=tuple(because),
                source={
                    **resp.source.as_dict(),
                    "catalog_key": resp.key,
                    "text": resp.text,
                    "nist": list(resp.nist),
                },
                evidence_required=resp.evidence_required,
                repeats=resp.repeats,
            )


# Two roles of the collaboration table (in catalog order) and the rows that pair them.
Pair = tuple[str, str, tuple[Collaboration, ...]]


def collaboration_pairs(catalog: Catalog) -> list[Pair]:
    """Unordered collaborating pairs of the table, (role A, role B, rows naming the pair).

    A and B are in catalog role order; pairs come in order of first appearance in the table.
    A pair exists when either row lists the other role; the rows are those that do.
    """
    order = {r.key: r.position for r in catalog.roles}
    pairs: dict[tuple[str, str], list[Collaboration]] = {}
    for row in sorted(catalog.collaborations, key=lambda c: c.position):
        for other in row.collaborates_with:
            if row.role_key not in order or other not in order or other == row.role_key:
                continue
            a, b = sorted((row.role_key, other), key=order.__getitem__)
            rows = pairs.setdefault((a, b), [])
            if row not in rows:
                rows.append(row)
    return [(a, b, tuple(rows)) for (a, b), rows in pairs.items()]


def collaborating_pairs(catalog: Catalog, in_play: set[str], index: Staffing) -> list[Pair]:
    """The table's pairs whose two roles the project has (requires or staffs), but a pair held
    by the same people: nobody to collaborate with (a separation-of-duties finding says so
    where the roles should check each other)."""
    pairs = []
    for a, b, rows in collaboration_pairs(catalog):
        if a not in in_play or b not in in_play:
            continue
        people_a, people_b = index.members_by_role.get(a, ()), index.members_by_role.get(b, ())
        if people_a and set(people_a) == set(people_b):
            continue
        pairs.append((a, b, rows))
    return pairs


@dataclass(frozen=True)
class _Agreement:
    """What the collaborations add to the item where they are agreed (issue 19, point 8: one
    ownership item, not one item a pair that only says "collaborate")."""

    detail: str = ""
    done_when: str = ""
    because: tuple[str, ...] = ()
    source: Mapping[str, Any] = field(default_factory=dict)


_NO_AGREEMENT = _Agreement()


def _agreement(catalog: Catalog, pairs: list[Pair]) -> _Agreement:
    if not pairs:
        return _NO_AGREEMENT
    titles = role_titles(catalog)
    described = "; ".join(
        f"{titles[a]} with {titles[b]} ("
        + "; ".join(f"{titles[row.role_key]}'s row: {', '.join(row.outcomes)}" for row in rows)
        + ")"
        for a, b, rows in pairs
    )
    rows = list(dict.fromkeys(row for _, _, pair_rows in pairs for row in pair_rows))
    rows.sort(key=lambda row: row.position)
    return _Agreement(
        detail=f" The article's collaboration table pairs, in this project: {described}.",
        done_when=(
            " For each of these pairs, the record says what each role hands the other and when,"
            " and names an owner for each key outcome of its rows."
        ),
        because=tuple(
            f"Collaboration table: {titles[a]} and {titles[b]} work together" for a, b, _ in pairs
        ),
        source={
            "collaborations": [{**row.source.as_dict(), "catalog_key": row.key} for row in rows],
            "outcomes": {row.role_key: list(row.outcomes) for row in rows},
        },
    )


def mitigation_items(
    catalog: Catalog, facts: Facts, index: Staffing, playing: set[str]
) -> Iterable[GeneratedItem]:
    raises = dict(facts.app.raises) if facts.app is not None else {}
    # Made for the one item that agrees the collaborations, when it applies.
    agreement: _Agreement | None = None
    # The domain packs that apply, by the items they name: an item says which it comes with.
    packs = {
        key: pack
        for pack in catalog.packs
        if pack.applies_when.holds(facts.application, facts.traits)
        for key in pack.items
    }
    responsibilities = catalog.responsibilities_by_key
    # A responsibility several mitigations fulfil is carried by the first that applies.
    carried: set[str] = set()
    for challenge, mitigations in catalog.mitigations_in_order:
        for mitigation in mitigations:
            if not mitigation.applies_when.holds(facts.application, facts.traits):
                continue
            if mitigation.assumes_training and not facts.trains:
                continue
            priority, raised_because = _mitigation_priority(
                mitigation, challenge, facts, raises.get(challenge.key)
            )
            stands_for = _stands_for(mitigation, responsibilities, playing, carried)
            every = [*mitigation.owner_roles, *(r.key for r, _ in stands_for)]
            # Only the roles the project has (requires or staffs): an item never names a role
            # the project does not have as if it did (none, and nobody owns it yet).
            roles = tuple(dict.fromkeys(r for r in every if r in playing))
            owners = index.members_of(roles)
            agreed = _NO_AGREEMENT
            if mitigation.agrees_collaborations:
                if agreement is None:
                    agreement = _agreement(catalog, collaborating_pairs(catalog, playing, index))
                agreed = agreement
            yield GeneratedItem(
                key=mitigation.key,
                kind="mitigation",
                title=mitigation.title,
                detail=mitigation.detail + agreed.detail,
                phase=mitigation.phase,
                done_when=mitigation.done_when + agreed.done_when,
                roles=roles,
                owners=owners,
                priority=priority,
                because=(
                    f"Catalog mitigation {mitigation.key} for {challenge.named}",
                    *_applies_because(mitigation, challenge, facts),
                    *((facts.training_reason(),) if mitigation.assumes_training else ()),
                    *raised_because,
                    *(
                        f"Also the {role.title}'s responsibility {resp.key}: it asks the same"
                        for role, resp in stands_for
                    ),
                    *agreed.because,
                    *(
                        (f"Part of the {packs[mitigation.key].title} domain pack",)
                        if mitigation.key in packs
                        else ()
                    ),
                ),
                source={
                    **mitigation.source.as_dict(),
                    "catalog_key": mitigation.key,
                    "challenge": challenge.key,
                    "challenge_title": challenge.title,
                    "nist": list(mitigation.nist),
                    "genai_risks": list(mitigation.genai_risks),
                    "fulfils": [
                        {**resp.source.as_dict(), "catalog_key": resp.key, "text": resp.text}
                        for _, resp in stands_for
                    ],
                    **agreed.source,
                },
                replaces=(*mitigation.replaces, *(resp.key for _, resp in stands_for)),
                signoff_required=mitigation.signoff_required,
                reviewer_roles=(reviewing := catalog.route(mitigation.reviewer_roles, playing)),
                reviewers=tuple(m for m in index.members_of(reviewing) if m not in owners),
                evidence_required=mitigation.evidence_required,
                repeats=_repeats(mitigation, stands_for),
            )


def _stands_for(
    mitigation: Mitigation,
    responsibilities: Mapping[str, tuple[Role, Responsibility]],
    playing: set[str],
    carried: set[str],
) -> list[tuple[Role, Responsibility]]:
    """The responsibilities `mitigation` fulfils that it carries: of a role the project has,
    not carried by a mitigation before it (added to `carried`)."""
    if not mitigation.fulfils:  # most mitigations
        return []
    stands_for = [
        responsibilities[k]
        for k in mitigation.fulfils
        if k in responsibilities and k not in carried
    ]
    stands_for = [(role, resp) for role, resp in stands_for if role.key in playing]
    carried.update(resp.key for _, resp in stands_for)
    return stands_for


def context_items(
    catalog: Catalog, facts: Facts, index: Staffing, playing: set[str]
) -> Iterable[GeneratedItem]:
    """What the project's stated context asks of it (ours): each context item whose condition
    its risk classification and jurisdictions hold, owned as a mitigation is (only the roles
    the project has)."""
    for entry in sorted(catalog.context_items, key=lambda c: c.position):
        matches = entry.applies_when.matches(facts.risk_classification, facts.jurisdictions)
        if not matches:
            continue
        roles = tuple(r for r in entry.owner_roles if r in playing)
        owners = index.members_of(roles)
        yield GeneratedItem(
            key=entry.key,
            kind=ItemKind.CONTEXT.value,
            title=entry.title,
            detail=entry.detail,
            phase=entry.phase,
            done_when=entry.done_when,
            roles=roles,
            owners=owners,
            priority=entry.priority,
            because=(
                *(_context_reason(match) for match in matches),
                *_priority_because(entry),
            ),
            source={
                **entry.source.as_dict(),
                "catalog_key": entry.key,
                "eu_ai_act": list(entry.eu_ai_act),
            },
            signoff_required=entry.signoff_required,
            reviewer_roles=(reviewing := catalog.route(entry.reviewer_roles, playing)),
            reviewers=tuple(m for m in index.members_of(reviewing) if m not in owners),
            evidence_required=entry.evidence_required,
        )


def _context_reason(match: str) -> str:
    """A `ContextCondition.matches()` entry as a sentence."""
    kind, _, value = match.partition(":")
    if kind == "jurisdiction":
        return f"Project context: used in {value}"
    return f"Project context: risk classification {value}"


def _priority_because(entry: ContextItem) -> tuple[str, ...]:
    if not entry.priority_because:
        return ()
    return (f"{entry.priority.capitalize()} because {entry.priority_because}",)


def _repeats(mitigation: Mitigation, stands_for: list[tuple[Role, Responsibility]]) -> str | None:
    """A mitigation standing for responsibilities is the gate each of them is: the one asked
    most often (per release before per model version)."""
    asked = {mitigation.repeats, *(resp.repeats for _, resp in stands_for)}
    for repeats in _REPEATS_IN_ORDER:
        if repeats in asked:
            return repeats
    return None


# Most often asked first (iterating the enum itself costs more than the rest of `_repeats`).
_REPEATS_IN_ORDER = tuple(repeats.value for repeats in Repeats)


def _applies_because(mitigation: Mitigation, challenge: Challenge, facts: Facts) -> list[str]:
    if mitigation.applies_when.always:
        if challenge.future_direction:
            return [f"{challenge.title} is asked of every generative-AI project here"]
        return [f"{challenge.title} concerns every generative-AI project"]
    return [
        facts.match_reason(match, "applies this mitigation")
        for match in mitigation.applies_when.matches(facts.application, facts.traits)
    ]


def _mitigation_priority(
    mitigation: Mitigation,
    challenge: Challenge,
    facts: Facts,
    application_raise: str | None,
) -> tuple[str, list[str]]:
    """The mitigation's priority after the raise rules, and a reason for each actual raise;
    when nothing raised it, the catalog's reason for its priority, if it gives one."""
    priority = mitigation.priority
    because: list[str] = []
    for rule in mitigation.raised_when:
        if not rule.when.holds(facts.application, facts.traits):
            continue
        if priority_rank(rule.priority) > priority_rank(mitigation.priority):
            effect = f"raised priority to {rule.priority}"
            matches = rule.when.matches(facts.application, facts.traits)
            because += [facts.match_reason(m, effect) for m in matches]
        priority = max_priority(priority, rule.priority)
    if facts.app is not None and application_raise is not None:
        if priority_rank(application_raise) > priority_rank(mitigation.priority):
            because.append(
                f"Application {facts.app.title} raised {challenge.named} to {application_raise}"
            )
        priority = max_priority(priority, application_raise)
    if priority == mitigation.priority and mitigation.priority_because:
        because.append(f"{priority.capitalize()} because {mitigation.priority_because}")
    return priority, because


def finding_item(finding: StaffingFinding, resolvers: tuple[Member, ...]) -> GeneratedItem:
    """A finding is owned by whoever can resolve it (the project's leads and product managers),
    never by the person it concerns."""
    concerned = {m.ref for m in finding.people}
    return GeneratedItem(
        key=finding.key,
        kind="staffing",
        title=finding.title,
        detail=finding.detail,
        phase="plan-and-design",
        done_when=finding.done_when,
        roles=finding.roles,
        owners=tuple(m for m in resolvers if m.ref not in concerned),
        priority=finding.priority,
        because=finding.because,
        source={
            **_STAFFING_SOURCE,
            "finding": finding.kind,
            "people": [m.ref for m in finding.people],
        },
    )
