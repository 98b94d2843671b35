"""The races of the transaction-handling issue, reproduced from real threads against gunicorn on
PostgreSQL, each asserting the outcome the contract promises.

Every race counts what it saw (409s, mismatches, lost updates) in its figures, printed at the end
of the run, and asserts zero 5xx before its own assertions. The rounds of a race run to the end
before anything is asserted, so a failing race still reports how often it failed.

The revisions race (2) runs last: it checks the `checklist.generated` events of every project
of the team, including those the other races wrote.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta
from itertools import pairwise
from typing import Any

from .harness import Answer, Client, RaceFigures, Server, run_together
from .support import (
    add_assignment,
    create_person,
    create_project,
    generate,
    item_path,
    live,
    put_staffing,
    read_checklist,
    regeneration_changes_nothing,
    retry_after_concurrent_update,
    server_today,
    slot,
    staffing_report,
    unique,
)

KEY_ROLES = (
    "data-scientist",
    "machine-learning-engineer",
    "ai-ethicist",
    "ux-designer",
    "content-curator",
)
# The random staffing of the deadlock race is reproducible: the seed is printed in the figures.
SEED = int(os.environ.get("CONCURRENCY_SEED") or random.randrange(1_000_000))
# At most this share of the deadlock race's PUTs may end in a 409 concurrent-update (retries
# inside the service are expected to absorb nearly all deadlocks).
MAX_CONFLICT_SHARE = 0.05


def _ids(people: list[Mapping[str, Any]]) -> set[str]:
    return {person["id"] for person in people}


def _clients(server: Server, figures: RaceFigures) -> Callable[[], Client]:
    return lambda: server.client(figures)


def _settle(
    client: Client, answer: Answer, send: Callable[[Client], Answer], figures: RaceFigures
) -> Answer:
    """A racing write that got a 409 concurrent-update is retried alone, as a client would."""
    if answer.is_concurrent_update():
        figures.add("409 concurrent-update")
        return retry_after_concurrent_update(client, send)
    return answer


def _fail_report(problems: list[str], what: str) -> str:
    shown = "\n".join(problems[:12])
    more = f"\n... and {len(problems) - 12} more" if len(problems) > 12 else ""
    return f"{len(problems)} {what}:\n{shown}{more}"


# --------------------------------------------------------------------------- 1


SHARED_ROUNDS = 20
# Zed's allocation on (P1, P2) round after round: both change every round, the total is
# alternately under and over 100%.
ALLOCATIONS = [(80, 10), (60, 50), (70, 20), (50, 60), (80, 30), (40, 40)]


def _over_allocation_view(client: Client, project: Mapping[str, Any], person_id: str):
    """Zed's over-allocation as the staffing report says it and as the checklist says it:
    (key, title, detail) of the finding, of the live checklist items."""
    report = staffing_report(client, project)
    findings = sorted(
        (f["key"], f["title"], f["detail"])
        for f in report["findings"]
        if f["kind"] == "over_allocated" and person_id in _ids(f["people"])
    )
    checklist = read_checklist(client, project, kind="staffing")
    items = sorted(
        (i["key"], i["title"], i["detail"])
        for i in live(checklist["items"])
        # A finding is owned by who can resolve it; `source.people` are those it is about.
        if i["key"].startswith("staffing.over-allocated.") and person_id in i["source"]["people"]
    )
    return findings, items


def test_1_a_person_on_two_projects_staffed_at_once(live_server: Server, race) -> None:
    figures = race("race 1 shared person", "Zed on P1 and P2, both staffing PUTs at once")
    figures.zero(
        "409 concurrent-update",
        "checklist disagrees with report",
        "regenerate changed a checklist",
        "staffing report wrong",
    )
    client = live_server.client(figures)
    zed = create_person(client, unique("Zed"))
    amy = create_person(client, unique("Amy"))
    bob = create_person(client, unique("Bob"))
    p1 = create_project(client, unique("Shared one"))
    p2 = create_project(client, unique("Shared two"))

    def staffing(colleague: Mapping[str, Any], allocation: int) -> list[dict]:
        return [
            slot("data-scientist", zed, allocation),
            slot("machine-learning-engineer", colleague, 50),
        ]

    client.expect(put_staffing(client, p1, staffing(amy, 60)), 200)
    client.expect(put_staffing(client, p2, staffing(bob, 30)), 200)
    client.expect(generate(client, p1), 201)
    client.expect(generate(client, p2), 201)

    problems: list[str] = []
    for round_no in range(SHARED_ROUNDS):
        a1, a2 = ALLOCATIONS[round_no % len(ALLOCATIONS)]
        sends = [
            lambda c, a1=a1: put_staffing(c, p1, staffing(amy, a1)),
            lambda c, a2=a2: put_staffing(c, p2, staffing(bob, a2)),
        ]
        answers = run_together(sends, _clients(live_server, figures))
        applied = True
        for answer, send in zip(answers, sends, strict=True):
            answer = _settle(client, answer, send, figures)
            if answer.status != 200:
                applied = False
                figures.add(f"PUT answered {answer.status}")
                problems.append(f"round {round_no}: {answer.describe()}")

        over = a1 + a2 > 100
        for project in (p1, p2):
            findings, items = _over_allocation_view(client, project, zed["id"])
            # (When a PUT failed, the staffing is not what this round set: only the checklist
            # and the report must still agree.)
            if applied and bool(findings) != over:
                figures.add("staffing report wrong")
                problems.append(
                    f"round {round_no} ({a1}%+{a2}%) {project['name']}: report {findings}"
                )
            if findings != items:
                figures.add("checklist disagrees with report")
                problems.append(
                    f"round {round_no} ({a1}%+{a2}%) {project['name']}: "
                    f"report {findings} but checklist {items}"
                )
        for project in (p1, p2):
            if differs := regeneration_changes_nothing(client, project):
                figures.add("regenerate changed a checklist")
                problems.append(f"round {round_no}: {differs}")
    figures.set("rounds", SHARED_ROUNDS)

    figures.assert_no_server_errors()
    assert not problems, _fail_report(problems, "stale or wrong checklists")


# --------------------------------------------------------------------------- 3


RENAME_ROUNDS = 15


def _names_shown(item: Mapping[str, Any]) -> str:
    """Every text of an item that can name a person."""
    return "\n".join(
        [
            item["title"],
            item["detail"],
            *item["because"],
            *(owner["name"] for owner in item["owners"]),
        ]
    )


def test_3_a_person_renamed_while_being_assigned(live_server: Server, race) -> None:
    figures = race("race 3 rename", "POST assignment of Rex while Rex is renamed")
    figures.zero(
        "409 concurrent-update", "items showing an old name", "regenerate changed the checklist"
    )
    client = live_server.client(figures)
    rex = create_person(client, unique("Rex"))
    ann = create_person(client, unique("Ann"))
    project = create_project(client, unique("Rename"))
    base = [slot("data-scientist", rex, 50), slot("machine-learning-engineer", ann, 50)]
    client.expect(put_staffing(client, project, base), 200)
    client.expect(generate(client, project), 201)
    names = [rex["name"]]

    problems: list[str] = []
    for round_no in range(RENAME_ROUNDS):
        new_name = unique("Rex")
        # Data Scientist and AI Ethicist together: a separation-of-duties finding that names
        # Rex in its title and detail, besides his name as an owner.
        sends = [
            lambda c: add_assignment(c, project, slot("ai-ethicist", rex, 20)),
            lambda c, new_name=new_name: c.patch(f"/v1/people/{rex['id']}", {"name": new_name}),
        ]
        answers = run_together(sends, _clients(live_server, figures))
        added, renamed = (
            _settle(client, answer, send, figures)
            for answer, send in zip(answers, sends, strict=True)
        )
        if added.status != 201 or renamed.status != 200:
            problems.append(f"round {round_no}: {added.describe()} / {renamed.describe()}")
        if renamed.status == 200:
            names.append(new_name)

        current = names[-1]
        stale = [name for name in names if name != current]
        for item in live(read_checklist(client, project)["items"]):
            shown = _names_shown(item)
            if old := [name for name in stale if name in shown]:
                figures.add("items showing an old name")
                problems.append(f"round {round_no}: {item['key']} shows {old} ({item['title']})")
        if differs := regeneration_changes_nothing(client, project):
            figures.add("regenerate changed the checklist")
            problems.append(f"round {round_no}: {differs}")
        if added.status == 201:
            path = f"/v1/projects/{project['id']}/assignments/{added.json['id']}"
            client.expect(client.delete(path), 204)
    figures.set("rounds", RENAME_ROUNDS)

    figures.assert_no_server_errors()
    assert not problems, _fail_report(problems, "stale names or failed writes")


# --------------------------------------------------------------------------- 4


DEADLOCK_THREADS = 8
DEADLOCK_PUTS = 25


def test_4_many_staffing_puts_on_one_project(live_server: Server, race) -> None:
    figures = race("race 4 deadlocks", "8 threads x 25 random staffing PUTs on one project")
    figures.note(f"seed {SEED} (CONCURRENCY_SEED={SEED} repeats the same staffing)")
    figures.zero("200", "409 concurrent-update")
    client = live_server.client(figures)
    people = [create_person(client, unique(f"Dee{i}")) for i in range(5)]
    project = create_project(
        client, unique("Deadlocks"), "healthcare-solutions", handles_personal_data=True
    )
    # Two of them also work elsewhere: every PUT regenerates that project's checklist too.
    side = create_project(client, unique("Deadlocks side"))
    side_staffing = [
        slot("data-scientist", people[0], 40),
        slot("machine-learning-engineer", people[1], 40),
    ]
    client.expect(put_staffing(client, side, side_staffing), 200)
    client.expect(put_staffing(client, project, [slot("data-scientist", people[2], 50)]), 200)
    client.expect(generate(client, project), 201)
    client.expect(generate(client, side), 201)

    def worker(index: int) -> Callable[[Client], list[Answer]]:
        rng = random.Random(SEED * 100 + index)
        plans = []
        for _ in range(DEADLOCK_PUTS):
            roles = rng.sample(KEY_ROLES, rng.randint(1, len(KEY_ROLES)))
            allocations = [None, 0, 10, 25, 40, 50, 75, 100]
            plans.append(
                [slot(role, rng.choice(people), rng.choice(allocations)) for role in roles]
            )
        return lambda c: [put_staffing(c, project, slots) for slots in plans]

    results = run_together(
        [worker(i) for i in range(DEADLOCK_THREADS)], _clients(live_server, figures)
    )
    answers = [answer for per_thread in results for answer in per_thread]
    outcomes = Counter(
        "200"
        if a.status == 200
        else "409 concurrent-update"
        if a.is_concurrent_update()
        else f"other {a.status}"
        for a in answers
    )
    for outcome, count in outcomes.items():
        figures.set(outcome, count)
    unexpected = [a.describe() for a in answers if a.status != 200 and not a.is_concurrent_update()]
    unchanged = [
        differs for p in (project, side) if (differs := regeneration_changes_nothing(client, p))
    ]
    figures.set("regenerate changed a checklist", len(unchanged))

    figures.assert_no_server_errors()
    assert not unexpected, _fail_report(unexpected, "answers neither 200 nor 409 concurrent-update")
    assert not unchanged, _fail_report(unchanged, "checklists left stale")
    conflicts = outcomes["409 concurrent-update"]
    assert conflicts <= MAX_CONFLICT_SHARE * len(answers), (
        f"{conflicts} of {len(answers)} PUTs ended in 409 concurrent-update"
    )


# --------------------------------------------------------------------------- 5


WAIVER_ROUNDS = 40
WAIVED_ITEMS = 8


def test_5_waivers_set_at_once_keep_the_earliest_expiry(
    live_server: Server, shifted_clock_server: Server, race
) -> None:
    """Eight items waived at once until eight different dates, tomorrow the earliest. The
    service must track that earliest date: a server whose clock is two days ahead (so only
    tomorrow has passed) must record that waiver's lapse at its next write to the checklist
    (a note on a ninth item). Had a later date won, the lapse would not be recorded (a read
    would still show it, from the item's own date, but the waiver would stand in the data)."""
    figures = race("race 5 waivers", "8 waivers at once, 8 expiry dates")
    figures.zero("409 concurrent-update", "earliest expiry lost", "waivers expired too early")
    client = live_server.client(figures)
    later = shifted_clock_server.client(figures)
    rng = random.Random(SEED)
    project = create_project(client, unique("Waivers"), "content-creation", user_facing=True)
    people = [create_person(client, unique(f"Wes{i}")) for i in range(len(KEY_ROLES))]
    staffing = [slot(role, person, 20) for role, person in zip(KEY_ROLES, people, strict=True)]
    client.expect(put_staffing(client, project, staffing), 200)
    client.expect(generate(client, project), 201)

    # Items whose waiver any key may set (not a gate, not high or critical): the race is about
    # the earliest expiry, not about who approves (tests/api/test_waiver_policy.py is).
    items = [
        i
        for i in read_checklist(client, project)["items"]
        if i["kind"] == "responsibility"
        and not (i["signoff_required"] or i["priority"] in ("high", "critical"))
    ]
    keys = [item["key"] for item in items[:WAIVED_ITEMS]]
    assert len(keys) == WAIVED_ITEMS
    spare = items[WAIVED_ITEMS]["key"]

    def waive(key: str, until: Any, reason: str) -> Callable[[Client], Answer]:
        # Valid under the policy of any priority: the dates are at most eight days ahead.
        waiver = {
            "reason": f"Race test waiver: {reason}",
            "expires_on": until.isoformat(),
            "residual_risk": "None: the project exists for the race test",
        }
        return lambda c: c.patch(item_path(project, key), {"waiver": waiver})

    def statuses_seen_later() -> dict[str, str]:
        """After a write by the server two days ahead: each item's status as recorded (a
        lapse shown but not recorded reads `lapsed`)."""
        later.expect(
            later.patch(
                f"/v1/projects/{project['id']}/checklist/items/{spare}", {"note": "two days later"}
            ),
            200,
        )
        doc = read_checklist(later, project)
        return {
            item["key"]: "lapsed" if (item["waiver"] or {}).get("expired") else item["status"]
            for item in doc["items"]
        }

    # The harness first: one waiver alone, until tomorrow, is found expired by the server
    # living two days ahead (else its clock shift did not take, and the race proves nothing).
    today = server_today(client.get("/healthz"))
    client.expect(waive(keys[0], today + timedelta(days=1), "calibration")(client), 200)
    assert statuses_seen_later()[keys[0]] == "open", "the shifted clock server recorded no lapse"

    problems: list[str] = []
    for round_no in range(WAIVER_ROUNDS):
        today = server_today(client.get("/healthz"))
        dates = [today + timedelta(days=d) for d in range(1, WAIVED_ITEMS + 1)]
        rng.shuffle(dates)
        sends = [
            waive(key, until, f"round {round_no}, item {n}")
            for n, (key, until) in enumerate(zip(keys, dates, strict=True))
        ]
        answers = run_together(sends, _clients(live_server, figures))
        for answer, send in zip(answers, sends, strict=True):
            answer = _settle(client, answer, send, figures)
            if answer.status != 200:
                problems.append(f"round {round_no}: {answer.describe()}")

        earliest = keys[dates.index(min(dates))]
        seen = statuses_seen_later()
        if seen[earliest] != "open":
            figures.add("earliest expiry lost")
            problems.append(
                f"round {round_no}: the waiver of {earliest} until {min(dates)} is still "
                f"'{seen[earliest]}' two days later: a later expiry was tracked"
            )
        if early := [k for k in keys if k != earliest and seen[k] != "waived"]:
            figures.add("waivers expired too early")
            problems.append(f"round {round_no}: expired before their date: {early}")
    figures.set("rounds", WAIVER_ROUNDS)

    figures.assert_no_server_errors()
    assert not problems, _fail_report(problems, "rounds where the earliest expiry was lost")


# --------------------------------------------------------------------------- 6


IF_MATCH_ROUNDS = 20


def _two_writers_one_etag(
    server: Server,
    client: Client,
    figures: RaceFigures,
    what: str,
    path: str,
    field: str,
) -> list[str]:
    """Two PATCHes of `path` holding the same ETag, at once, each setting `field` to a value
    of its own (never the current one: a PATCH that changes nothing keeps the ETag): one 200,
    the other 412."""
    problems = []
    for round_no in range(IF_MATCH_ROUNDS):
        bodies = ({field: unique(f"{what} A")}, {field: unique(f"{what} B")})
        etag = client.get(path).header("ETag")
        assert etag, path
        match = {"If-Match": etag}
        sends = [lambda c, b=body, h=match: c.patch(path, b, headers=h) for body in bodies]
        answers = run_together(sends, _clients(server, figures))
        statuses = sorted(answer.status for answer in answers)
        figures.add(f"{what}: {'+'.join(map(str, statuses))}")
        if statuses != [200, 412]:
            problems.append(f"{what} round {round_no}: {[a.describe() for a in answers]}")
            continue
        winner = next(answer for answer in answers if answer.status == 200)
        stored = client.expect(client.get(path), 200)
        if stored[field] != winner.json[field]:
            problems.append(f"{what} round {round_no}: stored {stored[field]!r}, not the winner's")
    return problems


def test_6_a_stale_if_match_is_always_412(live_server: Server, race) -> None:
    figures = race("race 6 if-match", "two writers with one ETag: 200 and 412, never 409")
    figures.zero("person: 200+412", "item: 200+412")
    client = live_server.client(figures)
    pia = create_person(client, unique("Pia"))
    project = create_project(client, unique("If-Match"))
    # Pia is staffed: renaming her regenerates a checklist, a longer transaction to race.
    client.expect(put_staffing(client, project, [slot("data-scientist", pia, 50)]), 200)
    client.expect(generate(client, project), 201)
    key = read_checklist(client, project, kind="responsibility")["items"][0]["key"]

    problems = _two_writers_one_etag(
        live_server,
        client,
        figures,
        "person",
        f"/v1/people/{pia['id']}",
        "name",
    )
    problems += _two_writers_one_etag(
        live_server,
        client,
        figures,
        "item",
        item_path(project, key),
        "note",
    )
    figures.set("rounds", 2 * IF_MATCH_ROUNDS)

    figures.assert_no_server_errors()
    assert not problems, _fail_report(problems, "rounds that were not exactly 200 + 412")


# --------------------------------------------------------------------------- 2


REVISION_ROUNDS = 15


def test_2_revisions_strictly_increase(live_server: Server, race) -> None:
    """Staffing PUTs on two projects sharing a person, two at a time on each: every
    regeneration that changed a checklist has a revision of its own. Checked on the
    `checklist.generated` events of every project of the team (the other races' too)."""
    figures = race("race 2 revisions", "checklist.generated revisions per project")
    figures.zero(
        "409 concurrent-update",
        "duplicate revisions",
        "revisions out of order",
        "revisions not kept one by one",
    )
    client = live_server.client(figures)
    yan = create_person(client, unique("Yan"))
    mo = create_person(client, unique("Mo"))
    p3 = create_project(client, unique("Revisions one"))
    p4 = create_project(client, unique("Revisions two"))
    for project, allocation in ((p3, 50), (p4, 30)):
        staffing = [slot("data-scientist", yan, allocation), slot("ux-designer", mo, 10)]
        client.expect(put_staffing(client, project, staffing), 200)
        client.expect(generate(client, project), 201)

    problems: list[str] = []
    for round_no in range(REVISION_ROUNDS):
        sends = [
            lambda c, project=project, allocation=allocation, round_no=round_no: put_staffing(
                c,
                project,
                [slot("data-scientist", yan, allocation), slot("ux-designer", mo, round_no)],
            )
            for project, allocation in (
                (p3, 40 + round_no),
                (p3, 70 + round_no),
                (p4, 20 + round_no),
                (p4, 50 + round_no),
            )
        ]
        for answer in run_together(sends, _clients(live_server, figures)):
            if answer.is_concurrent_update():
                figures.add("409 concurrent-update")
            elif answer.status != 200:
                figures.add(f"PUT answered {answer.status}")
                problems.append(f"round {round_no}: {answer.describe()}")

    projects = client.all_pages("/v1/projects", status="all")
    events = 0
    for project in projects:
        feed = client.all_pages(f"/v1/projects/{project['id']}/events", type="checklist.generated")
        revisions = [event["payload"]["checklist"]["revision"] for event in feed]
        events += len(revisions)
        duplicates = sorted(r for r, n in Counter(revisions).items() if n > 1)
        if duplicates:
            figures.add("duplicate revisions", len(duplicates))
            problems.append(f"{project['name']}: revisions {duplicates} generated twice")
        if out_of_order := [
            (newer, older) for newer, older in pairwise(revisions) if newer < older
        ]:
            figures.add("revisions out of order", len(out_of_order))
            problems.append(f"{project['name']}: newer revision below older {out_of_order[:5]}")
        # Every revision is kept, one per transaction: 1 to the checklist's, none twice, each
        # generation's among them as made by it.
        if revisions:
            path = f"/v1/projects/{project['id']}/checklist"
            current = client.expect(client.get(path), 200)["revision"]
            kept = client.all_pages(f"{path}/revisions")
            made = {r["revision"]: r["event_types"] for r in kept}
            if [r["revision"] for r in kept] != list(range(current, 0, -1)) or any(
                "checklist.generated" not in made.get(n, []) for n in revisions
            ):
                figures.add("revisions not kept one by one")
                problems.append(f"{project['name']}: kept {sorted(made)}, generated {revisions}")
    figures.set("projects", len(projects))
    figures.set("checklist.generated events", events)

    figures.assert_no_server_errors()
    assert not problems, _fail_report(problems, "projects whose revisions do not strictly rise")
