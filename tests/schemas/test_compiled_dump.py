"""The dumpers compiled from the output schemas give what marshmallow's `dump` gives: on the
documents a checklist's story makes, on the edge values of every field kind they handle; and
anything they do not handle is refused when they are compiled, not dumped differently."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from types import MappingProxyType, SimpleNamespace
from typing import Any

import marshmallow as ma
import pytest
from api.checklist_support import example_as_gathered, generate, patch_item, read_checklist
from factories import assign, create_person, create_project

from app.schemas.checklists import ChecklistOut, PersonItemsOut
from app.schemas.common import StrictBoolean
from app.schemas.compiled import compile_dump
from app.schemas.items import ItemOut
from app.services.checklists import documents as checklist_documents
from app.vocabulary import ItemStatus

# The compiled dumpers of the checklist documents, and the schema each is compiled from.
DUMPERS = {
    "dump_checklist": ChecklistOut,
    "dump_item": ItemOut,
    "dump_person_items": PersonItemsOut,
}
PIA = "data-privacy.privacy-impact-assessment"
COLLECT = "data-scientist.collect-and-preprocess-data"


def assert_same(expected: Any, actual: Any, where: str = "$") -> None:
    """Field by field: the same keys in the same order, values of the same types (`True` is
    not `1`, a `StrEnum` member not a plain `str`), equal; a failure names the field."""
    assert type(actual) is type(expected), f"{where}: {actual!r} is not {expected!r}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)} != {list(expected)}"
        for key, value in expected.items():
            assert_same(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{where}: {len(actual)} != {len(expected)} values"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            assert_same(want, got, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


# --------------------------------------------------------------------------- real documents


@pytest.fixture
def dumped(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, Any]]:
    """Every document the app dumps while the test runs: (dumper, what marshmallow's dump of
    its input gives, what the compiled dumper gave), taken at once (events add to an item's
    dump afterwards)."""
    calls: list[tuple[str, Any, Any]] = []

    def recording(name: str, compiled: Callable[[Any], Any]) -> Callable[[Any], Any]:
        schema = DUMPERS[name]()

        def dump(obj: Any) -> Any:
            out = compiled(obj)
            calls.append((name, schema.dump(obj), copy.deepcopy(out)))
            return out

        return dump

    for name in DUMPERS:
        monkeypatch.setattr(
            checklist_documents, name, recording(name, getattr(checklist_documents, name))
        )
    return calls


@pytest.fixture
def clinic(api: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A clinical assistant, its five people (Ada with ticketing handles), its checklist."""
    project = create_project(
        api, name="Clinic notes", application="healthcare-solutions", traits={"user_facing": True}
    )
    people = {}
    for role, name, extra in (
        ("data-scientist", "Ada Lovelace", {"handles": {"github": "ada-l", "jira": "ada"}}),
        ("machine-learning-engineer", "Alan Turing", {}),
        ("ai-ethicist", "Grace Hopper", {}),
        ("product-manager", "Pam Manager", {}),
        ("ux-designer", "Una Designer", {}),
    ):
        person = create_person(api, name=name, **extra)
        assign(api, project, role, person, lead=role == "data-scientist")
        people[role] = person
    # The clinic's privacy gates are the Privacy Officer's to sign: Grace is that too.
    assign(api, project, "privacy-officer", people["ai-ethicist"])
    generate(api, project, 201)
    return project, people


def test_the_documents_of_a_worked_checklist_are_what_marshmallow_dumps(api, clinic, dumped):
    project, people = clinic
    grace = people["ai-ethicist"]
    evidence = {"add": [{"title": "DPIA v1", "url": "https://wiki.example.com/dpia"}]}
    expires = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    for ref, body in (
        (PIA, {"status": "done", "signed_off_by": grace["id"], "evidence": evidence}),
        (COLLECT, {"note": "Vendor data, see the contract", "status": "in_progress"}),
        (
            COLLECT,
            {"ticket": {"system": "jira", "key": "CLIN-7", "url": "https://j.example.com/7"}},
        ),
        (
            "machine-learning-engineer.deploy-models",
            {
                "waiver": {
                    "reason": "A vendor deploys the models",
                    "residual_risk": "The vendor's deployment goes unreviewed",
                    "approved_by": people["product-manager"]["id"],
                    "expires_on": expires,
                }
            },
        ),
    ):
        response = patch_item(api, project, ref, body)
        assert response.status_code == 200, response.json
    read_checklist(api, project)  # the stored checklist, dumped cold after the last change
    answer = api.get(f"/v1/people/{people['data-scientist']['id']}/checklist-items")
    assert answer.status_code == 200, answer.json
    preview = api.post(
        "/v1/checklists/preview",
        json={
            "project": {"name": "Clinic", "application": "healthcare-solutions"},
            "assignments": [
                {"role": role, "person_id": person["id"]} for role, person in people.items()
            ],
        },
    )
    assert preview.status_code == 200, preview.json

    assert {name for name, _, _ in dumped} == set(DUMPERS)
    for name, expected, compiled in dumped:
        assert_same(expected, compiled, name)
    worked = [doc for name, doc, _ in dumped if name == "dump_checklist" and doc["revision"]][-1]
    items = {item["key"]: item for item in worked["items"]}
    # The story reached every kind of value: sign-off, evidence, note, ticket, waiver.
    assert items[PIA]["signed_off_at"] is not None and items[PIA]["evidence"]
    assert items[COLLECT]["note"] and items[COLLECT]["ticket"]["url"]
    assert items["machine-learning-engineer.deploy-models"]["waiver"]["expires_on"] == expires
    assert any(o["handles"] for item in worked["items"] for o in item["owners"])


# --------------------------------------------------------------------------- edge values


class Passage(ma.Schema):
    section = ma.fields.String()
    quote = ma.fields.String(allow_none=True)


class Everything(ma.Schema):
    """One field of every kind (and option) the compiled dumpers handle."""

    raw = ma.fields.Raw()
    flag = ma.fields.Boolean()
    strict_flag = StrictBoolean()
    text = ma.fields.String()
    count = ma.fields.Integer()
    at = ma.fields.DateTime()
    at_rfc = ma.fields.DateTime(format="rfc")
    at_custom = ma.fields.DateTime(format="%Y/%m/%d %H:%M")
    on = ma.fields.Date()
    words = ma.fields.List(ma.fields.String())
    passages = ma.fields.List(ma.fields.Nested(Passage))
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    lists = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))
    loose = ma.fields.Dict()
    passage = ma.fields.Nested(Passage, allow_none=True)
    section_only = ma.fields.Nested(Passage, only=("section",))
    many_passages = ma.fields.Nested(Passage, many=True, exclude=("quote",))
    renamed = ma.fields.String(data_key="renamedKey")
    from_elsewhere = ma.fields.String(attribute="elsewhere")
    dotted = ma.fields.String(attribute="passage.section")
    defaulted = ma.fields.Integer(dump_default=7)
    called = ma.fields.List(ma.fields.String(), dump_default=list)
    secret = ma.fields.String(load_only=True)
    shown = ma.fields.String(dump_only=True)


WHEN = datetime(2026, 3, 1, 9, 30, 15, 123456)
FULL = {
    "raw": {"any": [1, "thing"]},
    "flag": True,
    "strict_flag": False,
    "text": "Plain",
    "count": 3,
    "at": WHEN.replace(tzinfo=UTC),
    "at_rfc": WHEN.replace(tzinfo=timezone(timedelta(hours=-5))),
    "at_custom": WHEN,
    "on": date(2026, 2, 28),
    "words": ["a", "b"],
    "passages": [{"section": "1", "quote": None}, None],
    "counts": {"open": 2, "done": 0},
    "lists": {"ds": ["x"], "mle": []},
    "loose": {"k": {"nested": 1}},
    "passage": {"section": "2", "quote": "q", "extra": "left out"},
    "section_only": {"section": "3", "quote": "not dumped"},
    "many_passages": [{"section": "4", "quote": "dropped"}],
    "renamed": "r",
    "elsewhere": "e",
    "defaulted": 1,
    "called": ["c"],
    "secret": "never dumped",
    "shown": "s",
}

EDGE_VALUES = {
    "everything": FULL,
    "nothing": {},
    "all none": dict.fromkeys(FULL),
    "empty collections": {
        **FULL,
        "words": [],
        "passages": [],
        "counts": {},
        "lists": {"ds": []},
        "loose": {},
        "many_passages": [],
        "called": [],
    },
    "nested none and empty": {**FULL, "passage": None, "section_only": {}, "passages": [{}]},
    "naive and aware datetimes": {
        **FULL,
        "at": WHEN,
        "at_rfc": WHEN,
        "at_custom": WHEN.replace(tzinfo=UTC),
    },
    # Values as the database or the vocabulary hand them: a StrEnum, an int for a Boolean,
    # a string count, bytes, a str-able object.
    "values to convert": {
        **FULL,
        "text": ItemStatus.DONE,
        "flag": 1,
        "count": "12",
        "words": [ItemStatus.OPEN, b"bytes", 5],
        "counts": {ItemStatus.WAIVED: True},
        "renamed": 3.5,
    },
    "an object": SimpleNamespace(**{**FULL, "passage": SimpleNamespace(section="5")}),
    "an object with nothing": SimpleNamespace(),
    "a mapping that is not a dict": MappingProxyType({**FULL, "passage": MappingProxyType({})}),
}


@pytest.mark.parametrize("value", EDGE_VALUES.values(), ids=EDGE_VALUES.keys())
def test_every_field_kind_dumps_as_marshmallow_dumps_it(value):
    schema = Everything()

    assert_same(schema.dump(value), compile_dump(schema)(value))


@pytest.mark.parametrize(
    "value", [[FULL, {}, dict.fromkeys(FULL)], [], None], ids=["three", "none", "None"]
)
def test_a_schema_of_many_dumps_as_marshmallow_dumps_it(value):
    schema = Everything(many=True, only=("text", "at", "passage"))

    assert_same(schema.dump(value), compile_dump(schema)(value))


class DictNames(ma.Schema):
    """Fields named as a dict's attributes (a dict without the key gives its attribute), and
    one with a default (a dict without the key gives it)."""

    keys = ma.fields.Raw()
    values = ma.fields.Raw(dump_default=list)
    defaulted = ma.fields.Integer(dump_default=3)
    kept = ma.fields.String()


@pytest.mark.parametrize(
    "value",
    [{}, {"keys": 1, "values": ["a"], "kept": "k"}, {"kept": None}, SimpleNamespace(kept="k")],
    ids=["empty", "full", "none", "object"],
)
def test_a_key_missing_from_a_dict_dumps_as_marshmallow_dumps_it(value):
    schema = DictNames()

    assert_same(schema.dump(value), compile_dump(schema)(value))


def _item_edges() -> Iterator[dict[str, Any]]:
    item = example_as_gathered()["items"][0]
    yield item
    yield {**item, "waiver": None, "ticket": None, "owners": [], "evidence": [], "note": None}
    yield {**item, "signed_off_at": datetime(2026, 1, 2, 3, 4, 5), "created_at": None}
    yield {**item, "source": {"kind": "authored"}, "reviewers": []}
    yield {**item, "owners": [{"id": "per_1", "name": "Ada", "handles": {}}]}  # no email
    yield {k: v for k, v in item.items() if k not in ("detail", "waiver", "because")}


@pytest.mark.parametrize("item", list(_item_edges()))
def test_an_item_at_its_edges_dumps_as_marshmallow_dumps_it(item):
    assert_same(ItemOut().dump(item), checklist_documents.dump_item(item))


def test_the_spec_example_dumps_as_marshmallow_dumps_it():
    data = example_as_gathered()

    assert_same(ChecklistOut().dump(data), checklist_documents.dump_checklist(data))


# --------------------------------------------------------------------------- refusals


class Upper(ma.fields.String):
    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else str(value).upper()


class Hooked(ma.Schema):
    name = ma.fields.String()

    @ma.post_dump
    def tidy(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return data


class Prepared(ma.Schema):
    name = ma.fields.String()

    @ma.pre_dump
    def prepare(self, obj: Any, **_: Any) -> Any:
        return obj


class Measuring(ma.Schema):
    """What the refused schemas are made from: it has the method a `Method` field names."""

    def size_of(self, obj: Any) -> int:
        return len(obj)


REFUSED: dict[str, tuple[dict[str, ma.fields.Field], str]] = {
    "a method field": (
        {"size": ma.fields.Method("size_of")},
        "Refused.size: cannot compile the Method field",
    ),
    "a function field": (
        {"size": ma.fields.Function(len)},
        "Refused.size: cannot compile the Function field",
    ),
    "a constant": ({"v": ma.fields.Constant(1)}, "Refused.v: cannot compile the Constant field"),
    "an enum": ({"s": ma.fields.Enum(ItemStatus)}, "Refused.s: cannot compile the Enum field"),
    "a float": ({"f": ma.fields.Float()}, "Refused.f: cannot compile the Float field"),
    "a pluck": (
        {"p": ma.fields.Pluck(Passage, "section")},
        "Refused.p: cannot compile the Pluck field (it overrides _serialize)",
    ),
    "a custom dump": (
        {"u": ma.fields.List(Upper())},
        "Refused.u[]: cannot compile the Upper field (it overrides _serialize)",
    ),
    "an integer as a string": (
        {"n": ma.fields.Integer(as_string=True)},
        "Refused.n: cannot compile an Integer with as_string",
    ),
    "a dict of unsupported values": (
        {"d": ma.fields.Dict(values=ma.fields.Decimal())},
        "Refused.d{}: cannot compile the Decimal field",
    ),
    "a nested post_dump hook": (
        {"h": ma.fields.Nested(Hooked)},
        "Refused.h: the schema has a pre_dump or post_dump hook",
    ),
    "a nested pre_dump hook": (
        {"h": ma.fields.List(ma.fields.Nested(Prepared))},
        "Refused.h[]: the schema has a pre_dump or post_dump hook",
    ),
}


@pytest.mark.parametrize(("declared", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_what_it_cannot_compile_is_refused_naming_the_field(declared, message):
    schema = Measuring.from_dict(declared, name="Refused")()

    with pytest.raises(TypeError, match="^" + re.escape(message)):
        compile_dump(schema)


def test_a_schema_with_a_dump_hook_is_refused():
    with pytest.raises(TypeError, match=r"^Hooked: the schema has a pre_dump or post_dump hook"):
        compile_dump(Hooked())


def test_a_schema_that_overrides_how_it_reads_values_is_refused():
    class ByAttribute(ma.Schema):
        name = ma.fields.String()

        def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
            return getattr(obj, attr, default)

    with pytest.raises(TypeError, match=r"^ByAttribute: the schema overrides `get_attribute`"):
        compile_dump(ByAttribute())


@pytest.mark.parametrize("schema", DUMPERS.values(), ids=lambda schema: schema.__name__)
def test_every_output_schema_it_dumps_compiles(schema):
    """A field kind added to these schemas that the compiler does not handle fails here."""
    assert callable(compile_dump(schema()))
