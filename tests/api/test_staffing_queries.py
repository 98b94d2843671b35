"""What a staffing PUT costs in statements: bounded, and the same however many projects share its
people; only the checklists that see the change are regenerated."""

from __future__ import annotations

from typing import Any

from checklist_support import REVISION_RECORDING
from factories import create_person, create_project, events_of
from sqlalchemy import select

from app.extensions import db
from app.models import Checklist

# A staffing PUT that regenerates checklists (21 statements, on either database): the request's
# own (key, catalog, project), the staffing's (people, assignments, people locked, the write, event,
# project version, the projects sharing the moved people), then for the project's checklist and
# those of all the projects sharing the person at once, one statement per kind of read (lock,
# staffing, allocations, items' state, items in full, owners, the projects' ticket links) and of
# write (items, checklists, event), and the event's webhook endpoints; and the revisions
# recorded at the commit, for all the changed checklists at once (`REVISION_RECORDING`).
# `test_checklist_generation` holds its PUT to it too.
MOVED_BOUND = 21 + REVISION_RECORDING


def _put(api: Any, project: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    response = api.put(f"/v1/projects/{project['id']}/assignments", json={"assignments": entries})
    assert response.status_code == 200, response.get_data(as_text=True)


def _revisions(app: Any) -> dict[str, int]:
    with app.app_context():
        revisions = dict(db.session.execute(select(Checklist.project_id, Checklist.revision)).all())
        db.session.remove()
    return revisions


def _shared_project(api: Any, sharing: int) -> dict[str, Any]:
    """A project whose Xavier (60%) also works on `sharing` other projects at 50% (so he is over-
    allocated everywhere), and whose Yuki (10%) on as many more; every checklist generated."""
    xavier = create_person(api, name="Xavier Shared")
    yuki = create_person(api, name="Yuki Shared")
    lead = create_person(api, name="Lena Lead")
    project = create_project(api, name="Home", application="other")
    staffing = [
        {"role": "data-scientist", "person_id": xavier["id"], "allocation": 60},
        {"role": "machine-learning-engineer", "person_id": yuki["id"], "allocation": 10},
        {"role": "product-manager", "person_id": lead["id"], "lead": True},
    ]
    _put(api, project, staffing)
    others: dict[str, list[dict[str, Any]]] = {"xavier": [], "yuki": []}
    for n in range(sharing):
        for name, person, percent in (("xavier", xavier, 50), ("yuki", yuki, 10)):
            other = create_project(api, name=f"{name} {n}", application="other")
            role = {"role": "machine-learning-engineer", "person_id": person["id"]}
            _put(api, other, [{**role, "allocation": percent}])
            others[name].append(other)
    for each in [project, *others["xavier"], *others["yuki"]]:
        assert api.post(f"/v1/projects/{each['id']}/checklist").status_code == 201
    return {"api": api, "project": project, "staffing": staffing, **others}


def _changed(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {project_id for project_id in after if after[project_id] != before[project_id]}


def _put_counted(app, count_queries, setup, change) -> tuple[int, set[str], list[str]]:
    staffing = [dict(entry) for entry in setup["staffing"]]
    change(staffing)
    before = _revisions(app)
    with count_queries() as counter:
        _put(setup["api"], setup["project"], staffing)
    return counter.count, _changed(before, _revisions(app)), counter.statements


def _raise_xavier(staffing: list[dict[str, Any]]) -> None:
    staffing[0]["allocation"] = 70


def test_moving_one_allocation_regenerates_the_projects_that_see_it_in_bounded_statements(
    app, make_api, count_queries
):
    small = _shared_project(make_api("Small team"), 2)
    large = _shared_project(make_api("Large team"), 6)

    few, changed_few, _ = _put_counted(app, count_queries, small, _raise_xavier)
    many, changed_many, _ = _put_counted(app, count_queries, large, _raise_xavier)

    # Xavier's finding now says 170% (270%) on his every project; Yuki's projects see nothing.
    for setup, changed in ((small, changed_few), (large, changed_many)):
        assert changed == {p["id"] for p in [setup["project"], *setup["xavier"]]}
    assert few == many
    assert many <= MOVED_BOUND


def test_a_lead_change_regenerates_the_project_alone(app, make_api, count_queries):
    api = make_api()
    setup = _shared_project(api, 3)

    def lead_yuki(staffing: list[dict[str, Any]]) -> None:
        # Yuki, a lead, now owns the finding on Xavier's over-allocation (on this project).
        staffing[1]["lead"] = True

    count, changed, statements = _put_counted(app, count_queries, setup, lead_yuki)

    assert changed == {setup["project"]["id"]}
    # One checklist locked and read: nothing of the projects sharing Xavier or Yuki.
    locks = [s for s in statements if "FROM projects JOIN checklists" in s]
    assert len(locks) == 1
    assert count < MOVED_BOUND


def test_the_same_staffing_again_regenerates_nothing_and_records_nothing(
    app, make_api, count_queries
):
    api = make_api()
    setup = _shared_project(api, 2)
    events = len(events_of(api))

    count, changed, statements = _put_counted(app, count_queries, setup, lambda _: None)

    assert changed == set()
    assert not [s for s in statements if "checklist" in s]
    assert len(events_of(api)) == events
    assert count <= 8
