"""Lists: one mechanism that pages by keyset, newest first by default. `paginated` pages a
service's query into `{"items": [...], "next_cursor": ...}`; `paged`, under it, gives any list
view its page to read (`limit` rows after `cursor`) and names the next page in a `Link` header,
whatever the shape or format of its answer."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import wraps
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

import marshmallow as ma
from flask import Flask, Response, current_app, request
from flask_smorest import Blueprint
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from app.config import Settings
from app.errors import ValidationFailed
from app.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class SortKey:
    """One column of a list's order. The columns of an order, taken together, must be unique
    (end with the primary key): the cursor is the last row's values of them.

    `value` reads the column's value from a row of the query (by default the attribute of
    the column's name), for an order on a joined table's column.
    """

    column: InstrumentedAttribute[Any]
    descending: bool = False
    value: Callable[[Any], Any] | None = None

    def of(self, row: Any) -> Any:
        return self.value(row) if self.value else getattr(row, self.column.key)


def newest_first(entity: Any) -> tuple[SortKey, ...]:
    """The default order: `created_at`, then `id`, both descending."""
    return (SortKey(entity.created_at, descending=True), SortKey(entity.id, descending=True))


# --------------------------------------------------------------------------- cursors


def encode_cursor(*values: Any) -> str:
    """The cursor after a row whose sort-key values are `values`."""
    raw = json.dumps([v.isoformat() if isinstance(v, date) else v for v in values]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Printable text without NUL, other control characters or lone surrogates: a value we gave out.
_TEXT = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]{0,200}")


def _decoded(value: Any, python_type: type) -> Any:
    if python_type is datetime:
        when = datetime.fromisoformat(value)
        # Cursors we give out hold a UTC timestamp; anything else is forged.
        if when.tzinfo is None:
            raise ValueError("a naive timestamp")
        return when.astimezone(UTC)
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is str and isinstance(value, str) and _TEXT.fullmatch(value):
        return value
    if python_type in (int, float) and type(value) in (int, float):
        return python_type(value)
    if python_type is bool and isinstance(value, bool):
        return value
    raise ValueError("not a value of its column")


def _python_type(key: SortKey) -> type:
    column_type = key.column.type
    # A TypeDecorator (`UTCDateTime`) stores what its `impl` stores.
    return getattr(column_type, "impl", column_type).python_type


def decode_cursor(cursor: str, order: Sequence[SortKey]) -> list[Any]:
    """The sort-key values a cursor holds; 422 naming `cursor` unless it is one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(order):
            raise ValueError("not a cursor of this list")
        return [
            _decoded(value, _python_type(key)) for value, key in zip(values, order, strict=True)
        ]
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error) as exc:
        raise ValidationFailed(
            "The cursor is not one this API gave out.", errors={"cursor": ["Invalid cursor."]}
        ) from exc


def _after(order: Sequence[SortKey], values: Sequence[Any]) -> Any:
    """Rows after the cursor's in `order`: the row-value comparison written out, so that
    each column may have its own direction. The first key's bound comes first, on its own:
    it is what lets the index scan start at the cursor (neither database takes a range from
    the `OR`, which alone made a deep page read and drop every row before it)."""
    clauses = []
    for i, key in enumerate(order):
        equal = [order[j].column == values[j] for j in range(i)]
        beyond = key.column < values[i] if key.descending else key.column > values[i]
        clauses.append(and_(*equal, beyond))
    first = order[0]
    start = first.column <= values[0] if first.descending else first.column >= values[0]
    return and_(start, or_(*clauses))


# --------------------------------------------------------------------------- pages


@dataclass
class Page(Generic[T]):
    """One page of a list, dumped by `page_schema`."""

    items: list[T]
    next_cursor: str | None = None


def page_query(
    stmt: Select[*tuple[Any, ...]], order: Sequence[SortKey], limit: int, cursor: str | None
) -> Select[*tuple[Any, ...]]:
    """`stmt` narrowed to one page in `order`: `limit` rows after `cursor`, and one more (to
    tell whether a next page exists)."""
    if cursor:
        stmt = stmt.where(_after(order, decode_cursor(cursor, order)))
    by = [key.column.desc() if key.descending else key.column.asc() for key in order]
    return stmt.order_by(*by).limit(limit + 1)


def fetch_page(
    stmt: Select[*tuple[Any, ...]], order: Sequence[SortKey], limit: int, cursor: str | None
) -> Page[Any]:
    """Run one page of `stmt` in `order`: `limit` rows after `cursor`. A query of one entity
    gives its objects; one of several gives rows (their sort keys say how to read them)."""
    result = db.session.execute(page_query(stmt, order, limit, cursor))
    one_entity = len(stmt.column_descriptions) == 1
    rows = list(result.scalars().unique() if one_entity else result.unique())
    if len(rows) <= limit:
        return Page(rows)
    rows = rows[:limit]
    return Page(rows, encode_cursor(*(key.of(rows[-1]) for key in order)))


def next_link(next_cursor: str) -> dict[str, str]:
    """The `Link` header to the next page: this request's URL with `cursor` replaced."""
    query = {k: v for k, v in request.args.items() if k != "cursor"}
    query["cursor"] = next_cursor
    return {"Link": f'<{request.base_url}?{urlencode(query)}>; rel="next"'}


@dataclass
class PageRequest:
    """The page a list view is asked for: `limit` rows after `cursor`, in `order`. The view
    reads it with `fetch` (its query, run a page at a time); `next_cursor` is then the cursor
    of the next page (None on the last)."""

    limit: int
    cursor: str | None = None
    order: Sequence[SortKey] | None = None
    next_cursor: str | None = None

    def __post_init__(self) -> None:
        # A cursor that is not one of this order's is refused (422) before the list is read.
        if self.cursor and self.order is not None:
            decode_cursor(self.cursor, self.order)

    def fetch(self, stmt: Select[*tuple[Any, ...]]) -> list[Any]:
        """This page of `stmt`, in the list's order (default: newest first, by the query's
        entity's `created_at` and `id`)."""
        order = self.order or newest_first(stmt.column_descriptions[0]["entity"])
        page = fetch_page(stmt, order, self.limit, self.cursor)
        self.next_cursor = page.next_cursor
        return page.items


def _with_link(result: Any, next_cursor: str | None) -> Any:
    """A view's answer (a response, or what flask-smorest takes) with the `Link` header to
    the next page, when there is one."""
    if next_cursor is None:
        return result
    link = next_link(next_cursor)
    if isinstance(result, Response):
        result.headers.update(link)
        return result
    if isinstance(result, tuple) and len(result) == 3:
        body, status, headers = result
        return body, status, {**headers, **link}
    return result, 200, link


_page_schemas: dict[type[ma.Schema], type[ma.Schema]] = {}


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The `{"items": [...], "next_cursor": ...}` envelope of `item_schema` (`PersonOut` gives
    `PersonPage`), one class per item schema, as the spec names it once."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Out") + "Page"
        _page_schemas[item_schema] = type(
            name,
            (ma.Schema,),
            {
                "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
                "next_cursor": ma.fields.String(
                    allow_none=True,
                    required=True,
                    metadata={"description": "Pass as `cursor` for the next page; null: last"},
                ),
            },
        )
    return _page_schemas[item_schema]


class ListArgs:
    """A list's query arguments, its filters and `limit`/`cursor`, built for each application
    from its settings: the limit it enforces is the one its spec documents.

    webargs takes it as a callable that gives the schema of the request's application; the
    spec gets the same schema (see `_document_list_args`).
    """

    def __init__(self, filters: type[ma.Schema] | None) -> None:
        self.filters = filters
        self._schemas: dict[tuple[int, int], type[ma.Schema]] = {}

    def schema_for(self, settings: Settings) -> type[ma.Schema]:
        size = (settings.default_page_size, settings.max_page_size)
        if size not in self._schemas:
            default, maximum = size
            limit = ma.fields.Integer(
                load_default=default,
                validate=ma.validate.Range(min=1, max=maximum),
                metadata={"description": f"Items per page (default {default}, at most {maximum})"},
            )
            cursor = ma.fields.String(
                validate=ma.validate.Length(max=400),
                metadata={"description": "The `next_cursor` of the previous page"},
            )
            bases = (self.filters,) if self.filters else (ma.Schema,)
            name = (self.filters.__name__ if self.filters else "") + "PageArgs"
            self._schemas[size] = type(name, bases, {"limit": limit, "cursor": cursor})
        return self._schemas[size]

    def __call__(self, _request: Any) -> ma.Schema:
        return self.schema_for(current_app.config["SETTINGS"])()

    def __deepcopy__(self, _memo: dict[int, Any]) -> ListArgs:
        # flask-smorest copies its doc records per registration; the schemas are shared.
        return self


def _document_list_args(
    doc: dict[str, Any], doc_info: dict[str, Any], *, app: Flask, **_: Any
) -> dict[str, Any]:
    """flask-smorest's doc hook, run before its own: a list's query arguments as the schema
    of the application whose spec this is."""
    for parameter in doc_info.get("arguments", {}).get("parameters", []):
        if isinstance(parameter.get("schema"), ListArgs):
            parameter["schema"] = parameter["schema"].schema_for(app.config["SETTINGS"])
    return doc


def list_arguments(
    blp: Blueprint, filters: type[ma.Schema] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The query arguments of a list: `filters`' and `limit` (always given: the default when
    the request has none) and `cursor`, documented in `blp`'s spec as they are enforced.
    `paged` and `paginated` take them; a view takes them from those."""
    if _document_list_args not in blp._prepare_doc_cbks:
        blp._prepare_doc_cbks.insert(0, _document_list_args)
    return blp.arguments(ListArgs(filters), location="query")


def paged(
    blp: Blueprint,
    order: Sequence[SortKey] | None = None,
    *,
    filters: type[ma.Schema] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a view a list that answers a page at a time, whatever its answer's shape.

    The view gets the `filters` arguments (when `filters` is given) after `self`, then the
    `PageRequest`, then the path's. A cursor that is not one of `order`'s is a 422 before the
    view runs (with no `order`, the list is newest first, and `page.fetch` checks it). The
    view puts `page.next_cursor` in its answer as its shape has it; this decorator adds the
    `Link: <…>; rel="next"` header to whatever it answers.

        @blp.route("/staffing")
        class TeamStaffingView(MethodView):
            @paged(blp, (SortKey(Project.name), SortKey(Project.id)))
            @blp.response(200, TeamStaffingOut)
            def get(self, page):
                projects = page.fetch(active_projects_query(current_team_id()))
                return {"projects": ..., "next_cursor": page.next_cursor}
    """
    arguments = list_arguments(blp, filters)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            *before, query = args  # webargs hands the parsed query last
            page = PageRequest(query.pop("limit"), query.pop("cursor", None), order)
            result = view(*before, *((query,) if filters else ()), page, **kwargs)
            return _with_link(result, page.next_cursor)

        return arguments(wrapper)

    return decorator


def paginated(
    blp: Blueprint,
    item_schema: type[ma.Schema],
    *,
    filters: type[ma.Schema] | None = None,
    order: Sequence[SortKey] | None = None,
    present: Callable[[Any], Any] | None = None,
) -> Callable[[Callable[..., Select[Any]]], Callable[..., Any]]:
    """Make a view that returns a `select()` into a paginated list of `item_schema`.

    The view gets the `filters` arguments (when `filters` is given) after `self`, then the
    path's; it returns the query, unordered and unlimited. This decorator adds `limit` (default
    and maximum from the settings) and `cursor`, orders by `order` (default: newest first, by
    the query's entity's `created_at` and `id`), runs one page, and answers
    `{"items": [...], "next_cursor": ...}` with a `Link: <…>; rel="next"` header (`paged`).
    `present` turns each row into what `item_schema` dumps, when the row itself is not.

        @blp.route("/people")
        class PeopleView(MethodView):
            @paginated(blp, PersonOut)
            def get(self):
                return people.people_query(current_team_id())
    """

    def decorator(view: Callable[..., Select[Any]]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Page[Any]:
            *before, page = args
            items = page.fetch(view(*before, **kwargs))
            if present is not None:
                items = [present(row) for row in items]
            return Page(items, page.next_cursor)

        answer = blp.response(200, page_schema(item_schema))(wrapper)
        return paged(blp, order, filters=filters)(answer)

    return decorator
