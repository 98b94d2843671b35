"""Dumpers compiled from marshmallow schemas: what `schema.dump` gives, several times faster.

`compile_dump` reads a schema instance's `dump_fields` once and builds a plain function per
field, and for a schema's plain dicts (the documents' case) one function of straight-line code
that reads and converts every field in turn, so dumping a document no longer goes through
marshmallow's per-field machinery (`Field.serialize`, the accessor, `get_value`), which costs
most of a checklist's dump. The
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
    plan: list[tuple[str, Any, Convert, Convert, Any]] = []
    for name, field in schema.dump_fields.items():
        # As `get_value`: the attribute (or the name) is a path when it holds dots.
        path = (name if field.attribute is None else field.attribute).split(".")
        key = name if field.data_key is None else field.data_key
        convert = _converter(field, f"{where}.{name}")
        fetch = _fetcher(path, field.dump_default)
        plan.append(
            (key, path[0] if len(path) == 1 else _NO_KEY, convert, fetch, field.dump_default)
        )

    def dump_any(obj: Any) -> dict[str, Any]:
        # Anything but a plain dict: every value through `fetch`, as `get_value` reads it.
        out = {}
        for key, _, convert, fetch, _ in plan:
            value = fetch(obj)
            if value is not missing:  # else marshmallow leaves the key out
                out[key] = convert(value)
        return out

    dump_one = _generated(plan, dump_any, where)
    if not many:
        return dump_one
    # As `Schema._serialize`: None with `many` is dumped as one object, not as a list.
    return lambda objs: dump_one(objs) if objs is None else [dump_one(obj) for obj in objs]


def _generated(
    plan: list[tuple[str, Any, Convert, Convert, Any]],
    dump_any: Callable[[Any], dict[str, Any]],
    where: str,
) -> Callable[[Any], dict[str, Any]]:
    """`dump_one` for a plain dict (the documents' case), as straight-line code: one `get` per
    field and the conversions that need no call (a string, a value dumped as it is, a nested
    object) written out, the rest called; anything else goes to `dump_any`. What it gives is
    what `dump_any` gives, field by field: a key missing from the dict is fetched as there
    (`fetch` reads a dict's attribute or the field's default), unless the dict has no such
    attribute and the field no default, where marshmallow leaves the key out."""
    names: dict[str, Any] = {"missing": missing, "dict": dict, "str": str, "dump_any": dump_any}
    # Each field: its value read with the dict's `get`, converted; a key the dict lacks is
    # fetched as `dump_any` would, unless nothing can come of it.
    lines = [
        "def dump_one(obj):",
        "    if type(obj) is not dict:",
        "        return dump_any(obj)",
        "    get = obj.get",
        "    out = {}",
    ]
    for n, (key, attr, convert, fetch, default) in enumerate(plan):
        names[f"c{n}"], names[f"f{n}"] = convert, fetch
        value = _inline(convert, f"c{n}", names, n)
        if attr is _NO_KEY:
            lines += [f"    v = f{n}(obj)", "    if v is not missing:"]
            lines += [f"        out[{key!r}] = {value}"]
            continue
        lines += [f"    v = get({attr!r}, missing)", "    if v is not missing:"]
        lines += [f"        out[{key!r}] = {value}"]
        if hasattr(dict, attr) or default is not missing:
            lines += ["    else:", f"        v = f{n}(obj)", "        if v is not missing:"]
            lines += [f"            out[{key!r}] = {value}"]
    lines.append("    return out")
    code = compile("\n".join(lines), f"<compiled dump of {where}>", "exec")
    exec(code, names)  # noqa: S102 - our own lines, built from the schema's fields
    return names["dump_one"]


def _inline(convert: Convert, name: str, names: dict[str, Any], n: int) -> str:
    """The expression that gives `convert(v)` (`name` in `names`), without the call where the
    converter says what it does: a value as it is, a string, a nested object, a list of either."""
    if convert is _identity:
        return "v"
    if getattr(convert, "is_text", False):
        return f"v if v is None or type(v) is str else {name}(v)"
    if getattr(convert, "keeps_none", False):
        return f"None if v is None else {name}(v)"
    if (dump := getattr(convert, "dump_one", None)) is not None:
        names[f"d{n}"] = dump
        return f"None if v is None else d{n}(v)"
    inner = getattr(convert, "inner", None)
    if (dump := getattr(inner, "dump_one", None)) is not None:
        names[f"d{n}"] = dump
        return f"None if v is None else [None if e is None else d{n}(e) for e in v]"
    if getattr(inner, "is_text", False):
        names[f"t{n}"] = inner
        return f"None if v is None else [e if e is None or type(e) is str else t{n}(e) for e in v]"
    return f"{name}(v)"


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

    text.is_text = True  # type: ignore[attr-defined] # read by the generated code
    return text


def _integer(field: fields.Integer, where: str) -> Convert:
    if field.as_string:
        raise TypeError(f"{where}: cannot compile an Integer with as_string")
    return _keeping_none(int)


def _temporal(field: fields.DateTime | fields.Date, where: str) -> Convert:
    form = field.format or field.DEFAULT_FORMAT
    as_text = field.SERIALIZATION_FUNCS.get(form) or (lambda value: value.strftime(form))
    return _keeping_none(as_text)


def _list(field: fields.List[Any], where: str) -> Convert:
    inner = _converter(field.inner, f"{where}[]")

    def each_of(value: Any) -> Any:
        return None if value is None else [inner(each) for each in value]

    each_of.inner = inner  # type: ignore[attr-defined] # read by the generated code
    return each_of


def _dict(field: fields.Dict, where: str) -> Convert:
    if field.key_field is None and field.value_field is None:
        return lambda value: None if value is None else dict(value)
    key = _converter(field.key_field, f"{where}{{key}}") if field.key_field else _identity
    val = _converter(field.value_field, f"{where}{{}}") if field.value_field else _identity
    return lambda value: None if value is None else {key(k): val(v) for k, v in value.items()}


def _nested(field: fields.Nested, where: str) -> Convert:
    schema = field.schema  # with the field's only, exclude and many applied
    dump = _schema_dumper(schema, where, many=bool(schema.many or field.many))

    def nested(value: Any) -> Any:
        return None if value is None else dump(value)

    # The generated code of the schema that holds the field calls the dumper of one object.
    nested.dump_one = None if schema.many or field.many else dump  # type: ignore[attr-defined]
    return nested


def _keeping_none(convert: Convert) -> Convert:
    """`convert`, but None stays None: the generated code tests for None without the call (a
    preview's ids, versions and dates are all None)."""

    def keeping_none(value: Any) -> Any:
        return None if value is None else convert(value)

    keeping_none.keeps_none = True  # type: ignore[attr-defined] # read by the generated code
    return keeping_none


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
