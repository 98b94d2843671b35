"""Dumpers compiled from marshmallow schemas: what `schema.dump` gives, several times faster.

`compile_dump` reads a schema instance's `dump_fields` once and builds a plain function per
field, so dumping a document no longer goes through marshmallow's per-field machinery
(`Field.serialize`, the accessor, `get_value`), which costs most of a checklist's dump. The
schema stays the one description of the JSON (and of `/openapi.json`); the compiled function
only follows it. Only what the output schemas use is compiled: any other field class, an
override of a dump method, a dump hook or an unhandled option is refused at compile time with
a `TypeError`, never dumped differently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields, missing

Convert = Callable[[Any], Any]

# What marshmallow's dump of a field reads on its class: a subclass that overrides none of it
# dumps as the class it derives from (as `StrictBoolean`, which changes only loading).
_FIELD_DUMP_ATTRIBUTES = (
    "serialize",
    "get_value",
    "_serialize",
    "num_type",
    "_format_num",
    "_to_string",
    "mapping_type",
)
_SCHEMA_DUMP_METHODS = ("dump", "_serialize", "get_attribute")
_NO_KEY = object()  # in no dict: a dotted path is always fetched step by step
_NOTHING: dict[Any, Any] = {}


def compile_dump(schema: ma.Schema) -> Callable[[Any], Any]:
    """A function that gives what `schema.dump(obj)` gives (a list of them if `schema.many`).

    Raises `TypeError` naming the field when the schema holds something it does not handle."""
    return _schema_dumper(schema, type(schema).__name__, many=schema.many)


def _schema_dumper(schema: ma.Schema, where: str, *, many: bool) -> Convert:
    for method in _SCHEMA_DUMP_METHODS:
        if getattr(type(schema), method) is not getattr(ma.Schema, method):
            raise TypeError(f"{where}: the schema overrides `{method}`; cannot compile it")
    if schema._hooks["pre_dump"] or schema._hooks["post_dump"]:
        raise TypeError(f"{where}: the schema has a pre_dump or post_dump hook; cannot compile it")
    if schema.dict_class is not dict:
        raise TypeError(f"{where}: the schema's dict_class is not dict; cannot compile it")
    plan: list[tuple[str, Any, Convert, Convert]] = []
    for name, field in schema.dump_fields.items():
        # As `get_value`: the attribute (or the name) is a path when it holds dots.
        path = (name if field.attribute is None else field.attribute).split(".")
        key = name if field.data_key is None else field.data_key
        convert = _converter(field, f"{where}.{name}")
        fetch = _fetcher(path, field.dump_default)
        plan.append((key, path[0] if len(path) == 1 else _NO_KEY, convert, fetch))

    def dump_one(obj: Any) -> dict[str, Any]:
        out = {}
        # A plain dict (as the documents are) is read with its `get`: the usual case in one
        # call; anything else, a missing key or a dotted path goes through `fetch`.
        get = obj.get if type(obj) is dict else _NOTHING.get
        for key, attr, convert, fetch in plan:
            value = get(attr, missing)
            if value is missing:
                value = fetch(obj)
                if value is missing:
                    continue  # marshmallow leaves the key out
            out[key] = convert(value)
        return out

    if not many:
        return dump_one
    # As `Schema._serialize`: None with `many` is dumped as one object, not as a list.
    return lambda objs: dump_one(objs) if objs is None else [dump_one(obj) for obj in objs]


def _fetcher(path: list[str], default: Any) -> Callable[[Any], Any]:
    """The value at `path` in an object, else the field's `dump_default` (called if callable),
    else `missing`: what `Field.serialize` hands to `_serialize`."""

    def fetch(obj: Any) -> Any:
        for step in path:
            obj = _fetch(obj, step)
        if obj is missing and default is not missing:
            return default() if callable(default) else default
        return obj

    return fetch


def _fetch(obj: Any, key: str) -> Any:
    """`marshmallow.utils.get_value` for one key: the mapping's key, else the attribute."""
    if type(obj) is dict:  # the documents' case, without the cost of an exception
        value = obj.get(key, missing)
        return value if value is not missing or key in obj else getattr(obj, key, missing)
    if not hasattr(obj, "__getitem__"):
        return getattr(obj, key, missing)
    try:
        return obj[key]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, key, missing)


def _converter(field: fields.Field[Any], where: str) -> Convert:
    """The function that gives `field._serialize(value)` for a value fetched for it."""
    base = next((cls for cls in type(field).__mro__ if cls in _BUILDERS), None)
    overridden = [
        name
        for name in _FIELD_DUMP_ATTRIBUTES
        if base is not None and getattr(type(field), name, None) is not getattr(base, name, None)
    ]
    if base is None or overridden or not field._CHECK_ATTRIBUTE:
        detail = f" (it overrides {', '.join(overridden)})" if overridden else ""
        raise TypeError(f"{where}: cannot compile the {type(field).__name__} field{detail}")
    return _BUILDERS[base](field, where)


def _as_is(field: fields.Field[Any], where: str) -> Convert:
    return _identity


def _text(field: fields.Field[Any], where: str) -> Convert:
    def text(value: Any) -> str | None:
        if value is None or type(value) is str:
            return value
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    return text


def _integer(field: fields.Integer, where: str) -> Convert:
    if field.as_string:
        raise TypeError(f"{where}: cannot compile an Integer with as_string")
    return lambda value: None if value is None else int(value)


def _temporal(field: fields.DateTime | fields.Date, where: str) -> Convert:
    form = field.format or field.DEFAULT_FORMAT
    as_text = field.SERIALIZATION_FUNCS.get(form) or (lambda value: value.strftime(form))
    return lambda value: None if value is None else as_text(value)


def _list(field: fields.List[Any], where: str) -> Convert:
    inner = _converter(field.inner, f"{where}[]")
    return lambda value: None if value is None else [inner(each) for each in value]


def _dict(field: fields.Dict, where: str) -> Convert:
    if field.key_field is None and field.value_field is None:
        return lambda value: None if value is None else dict(value)
    key = _converter(field.key_field, f"{where}{{key}}") if field.key_field else _identity
    val = _converter(field.value_field, f"{where}{{}}") if field.value_field else _identity
    return lambda value: None if value is None else {key(k): val(v) for k, v in value.items()}


def _nested(field: fields.Nested, where: str) -> Convert:
    schema = field.schema  # with the field's only, exclude and many applied
    dump = _schema_dumper(schema, where, many=bool(schema.many or field.many))
    return lambda value: None if value is None else dump(value)


def _identity(value: Any) -> Any:
    return value


_BUILDERS: dict[type[fields.Field[Any]], Callable[[Any, str], Convert]] = {
    fields.Raw: _as_is,
    fields.Boolean: _as_is,  # marshmallow dumps a Boolean's value as it is
    fields.String: _text,
    fields.Integer: _integer,
    fields.DateTime: _temporal,
    fields.Date: _temporal,
    fields.List: _list,
    fields.Dict: _dict,
    fields.Nested: _nested,
}
