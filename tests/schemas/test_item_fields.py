"""A checklist item's fields are defined once (`app.models.checklist.ITEM_FIELDS`): the table,
`ItemOut`, the item's document, the reads, the regeneration's bulk reads and writes, the
preview and the CSV all take theirs from that one list."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from app.config import Settings
from app.models import Checklist, ChecklistItem
from app.models.checklist import (
    GENERATED_COLUMNS,
    ITEM_FIELDS,
    PUBLIC_COLUMNS,
    PUBLIC_FIELDS,
    STATE_COLUMNS,
    Origin,
    item_fields,
    new_item_state,
)
from app.render import csvfile
from app.schemas.checklists import ChecklistOut, PersonItemOut
from app.schemas.items import ItemOut
from app.services.checklists import documents, preview, regeneration_diff
from app.services.checklists.generated_items import GeneratedItem
from app.services.checklists.reads import _ITEM_ROWS
from seed.loader import load_catalog

COLUMNS = list(ChecklistItem.__table__.c.keys())


def test_every_column_of_the_table_is_defined_once_and_nothing_else_but_what_reads_compute():
    names = [f.name for f in ITEM_FIELDS]

    assert len(names) == len(set(names))
    assert sorted(item_fields(*(o for o in Origin if o != Origin.COMPUTED))) == sorted(COLUMNS)
    assert not set(item_fields(Origin.COMPUTED)) & set(COLUMNS)
    assert set(PUBLIC_COLUMNS) == set(PUBLIC_FIELDS) & set(COLUMNS)


def test_item_out_shows_the_public_fields_in_their_order():
    declared = ItemOut._declared_fields

    assert list(ItemOut().dump_fields) == list(PUBLIC_FIELDS)
    # A field declared in the schema but not in the definition would be dropped silently.
    assert set(declared) == set(PUBLIC_FIELDS)
    assert list(PersonItemOut().dump_fields) == [*PUBLIC_FIELDS, "project", "checklist"]
    items = ChecklistOut().fields["items"].inner.schema
    assert list(items.dump_fields) == list(PUBLIC_FIELDS)


def _stored_item() -> ChecklistItem:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    values = {
        "id": "itm_1",
        "team_id": "tm_1",
        "checklist_id": "chk_1",
        "project_id": "prj_1",
        "key": "data-scientist.task-1",
        "kind": "responsibility",
        "position": 0,
        "title": "A task",
        "detail": "Its detail",
        "phase": "plan-and-design",
        "done_when": "It is done",
        "roles": ["data-scientist"],
        "priority": "high",
        "because": ["A reason"],
        "source": {"kind": "article", "section": "Roles", "quote": None, "elaborates": None},
        "status": "open",
        "status_before_obsolete": None,
        "note": None,
        "waiver": None,
        "ticket": None,
        "signoff_required": True,
        "reviewer_roles": ["ai-ethicist"],
        "reviewers": [{"id": "psn_2", "name": "Bea"}],
        "signed_off_by": None,
        "signed_off_at": None,
        "signed_off_with": None,
        "evidence_required": False,
        "evidence": [],
        "repeats": "per-release",
        "version": 3,
        "created_at": now,
        "updated_at": now,
    }
    assert sorted(values) == sorted(COLUMNS)  # the example holds every column
    return ChecklistItem(**values)


def test_the_item_document_holds_each_public_field_and_each_column_as_stored():
    item = _stored_item()
    owners = [{"id": "psn_1", "name": "Ada", "email": None, "handles": {}}]

    data = documents.item_dict(item, owners, {"data-scientist": "Data Scientist"})

    assert set(data) == set(PUBLIC_FIELDS)
    assert {name: data[name] for name in PUBLIC_COLUMNS} == {
        name: getattr(item, name) for name in PUBLIC_COLUMNS
    }
    assert data["role_titles"] == ["Data Scientist"]
    assert data["reviewer_role_titles"] == ["ai-ethicist"]  # no title known: the key
    assert data["owners"] == owners
    assert data["signed_off_by_name"] is None
    assert list(documents.dump_item(data)) == list(PUBLIC_FIELDS)


def test_the_reads_of_many_items_select_every_public_column():
    selected = {column.key for column in _ITEM_ROWS.selected_columns}

    assert set(PUBLIC_COLUMNS) <= selected
    assert "signed_off_by_name" in selected


def _generated() -> GeneratedItem:
    return GeneratedItem(
        key="data-scientist.task-1",
        kind="responsibility",
        title="A task",
        detail="Its detail",
        phase="plan-and-design",
        done_when="It is done",
        roles=("data-scientist",),
        owners=(),
        priority="high",
        because=("A reason",),
        source={"kind": "article"},
    )


def test_the_bulk_path_compares_the_generated_columns_and_inserts_every_column():
    checklist = Checklist(id="chk_1", team_id="tm_1", project_id="prj_1")
    gen = _generated()

    values = regeneration_diff._generated_values(gen, 7)
    row = regeneration_diff._new_row(checklist, gen.key, values)

    # The generator gives every generated column but the position, which its order gives.
    generator_fields = {f.name for f in dataclasses.fields(GeneratedItem)}
    assert set(GENERATED_COLUMNS) - {"position"} <= generator_fields
    assert sorted(values) == sorted(GENERATED_COLUMNS)
    assert values["position"] == 7
    # One INSERT for all new items needs every column in every row.
    assert sorted(row) == sorted(COLUMNS)
    assert {name: row[name] for name in STATE_COLUMNS} == new_item_state()
    assert new_item_state()["status"] == "open" and new_item_state()["evidence"] == []
    assert new_item_state()["evidence"] is not new_item_state()["evidence"]  # never shared
    assert row["version"] == 1 and row["created_at"] == row["updated_at"]


def test_a_preview_item_has_every_public_field_and_a_new_items_state():
    catalog = load_catalog()
    application = catalog.applications[0].key

    doc = preview.checklist_preview(
        catalog, {"name": "P", "application": application}, [], Settings.from_env()
    )

    assert doc["items"]
    for item in doc["items"]:
        assert set(item) == set(PUBLIC_FIELDS)
        assert {name: item[name] for name in STATE_COLUMNS} == new_item_state()
        assert item["id"] is None and item["version"] is None


def test_the_csv_shows_every_public_field_or_says_it_leaves_it_out():
    shown = {name for _, name, _ in csvfile.cells_of(PUBLIC_FIELDS)}

    assert shown | csvfile.NOT_SHOWN == set(PUBLIC_FIELDS)
    assert not shown & csvfile.NOT_SHOWN
    # The item's columns, then the register's (derived from the checklist, not an item field).
    headers = tuple(header for header, _, _ in csvfile.cells_of(PUBLIC_FIELDS))
    assert (*headers, *csvfile.REGISTER_COLUMNS) == csvfile.COLUMNS


def test_a_new_public_field_shows_in_the_csv_without_a_change_to_it():
    cells = csvfile.cells_of([*PUBLIC_FIELDS, "due_on", "blocked", "labels"])
    header, _, _ = zip(*cells, strict=True)
    render = {name: cell for name, _, cell in cells}

    assert header[-3:] == ("due_on", "blocked", "labels")
    assert render["due_on"]({"due_on": "2026-03-01"}) == "2026-03-01"
    assert render["blocked"]({"blocked": True}) == "yes"
    assert render["labels"]({"labels": ["a", "b"]}) == "a; b"


def test_a_csv_column_of_a_field_the_item_does_not_have_is_refused():
    without_note = [name for name in PUBLIC_FIELDS if name != "note"]

    with pytest.raises(TypeError, match="note"):
        csvfile.cells_of(without_note)
