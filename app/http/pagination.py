"""Cursor pagination: keyset on (created_at, id), newest first, so deep pages cost the same."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

import marshmallow as ma
from flask import current_app, request
from sqlalchemy import Select, and_, or_

from app.errors import ValidationFailed
from app.extensions import db

T = TypeVar("T")


class PageArgs(ma.Schema):
    limit = ma.fields.Integer(
        validate=ma.validate.Range(min=1, max=200),
        metadata={"description": "Items per page (default 50, at most 200)"},
    )
    cursor = ma.fields.String(
        validate=ma.validate.Length(max=200),
        metadata={"description": "The `next_cursor` of the previous page"},
    )


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The `{"items": [...], "next_cursor": ...}` envelope for a list of `item_schema`."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "next_cursor": ma.fields.String(allow_none=True),
        },
    )


def encode_cursor(created_at: datetime, ident: str) -> str:
    raw = json.dumps([created_at.isoformat(), ident]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_ID = re.compile(r"[a-z0-9_]{1,40}")  # what `new_id()` makes


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, ident = json.loads(raw)
        created_at = datetime.fromisoformat(created)
        # Cursors we give out hold a UTC timestamp and a public id; anything else is forged.
        if created_at.tzinfo is None or not _ID.fullmatch(ident):
            raise ValueError("not a cursor of ours")
        return created_at.astimezone(UTC), ident
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error) as exc:
        raise ValidationFailed(
            "The cursor is not one this API gave out.", errors={"cursor": ["Invalid cursor."]}
        ) from exc


@dataclass
class Page(Generic[T]):
    """One page of a list; dumped by `page_schema`, with its `Link` header."""

    items: list[T]
    next_cursor: str | None

    @property
    def headers(self) -> dict[str, str]:
        if self.next_cursor is None:
            return {}
        query = {k: v for k, v in request.args.items() if k != "cursor"}
        query["cursor"] = self.next_cursor
        return {"Link": f'<{request.base_url}?{urlencode(query)}>; rel="next"'}


def paginate(stmt: Select[Any], model: Any, args: Mapping[str, Any]) -> Page[Any]:
    """Run one page of `stmt`, newest first; `model` has `created_at` and `id` columns."""
    settings = current_app.config["SETTINGS"]
    limit = min(args.get("limit") or settings.default_page_size, settings.max_page_size)
    if cursor := args.get("cursor"):
        created_at, ident = decode_cursor(cursor)
        stmt = stmt.where(
            or_(
                model.created_at < created_at,
                and_(model.created_at == created_at, model.id < ident),
            )
        )
    stmt = stmt.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)
    rows = list(db.session.scalars(stmt).unique())
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].created_at, rows[-1].id))
