"""Domain errors as plain Python: what went wrong and which fields, for any caller.

The HTTP edge (`app.http.problems`) answers them as RFC 9457 problem+json; the CLI prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

# The key of an error about a part of the request as a whole (a body that is not an object).
WHOLE_PART = {"json": "_body", "query": "_query", "headers": "_headers"}


def flatten_errors(
    errors: Mapping[Any, Any], schema: ma.Schema | None = None
) -> dict[str, list[str]]:
    """Errors as the API reports them: each field's dotted path (`assignments.2.role`) to its
    messages, whatever the depth marshmallow nested them at.

    marshmallow's `_schema` (a problem of an object as a whole) is the object's own path. With
    the `schema` that made the errors, a dict field's entry is named by its key alone
    (`status_map.done`, not marshmallow's `status_map.done.value`). Flat errors stay as they are.
    """
    flat: dict[str, list[str]] = {}
    _walk(errors, "", schema, flat)
    return flat


def _walk(node: Any, path: str, shape: Any, flat: dict[str, list[str]]) -> None:
    """Collect `node`'s messages under `path`; `shape` is the schema or field it is the errors
    of, when known."""
    if isinstance(shape, ma.fields.Nested) and not shape.many:
        shape = shape.schema
    if not isinstance(node, Mapping):
        for message in node if isinstance(node, list | tuple) else [node]:
            if isinstance(message, Mapping):
                _walk(message, path, shape, flat)
            else:
                flat.setdefault(path or WHOLE_PART["json"], []).append(str(message))
        return
    for key, value in node.items():
        if key == "_schema":
            _walk(value, path, None, flat)
            continue
        child = ".".join(p for p in (path, str(key)) if p)
        if isinstance(shape, ma.Schema):
            fields = {f.data_key or name: f for name, f in shape.fields.items()}
            _walk(value, child, fields.get(key), flat)
        elif isinstance(shape, ma.fields.Nested):  # many: an index, then the nested schema
            _walk(value, child, shape.schema, flat)
        elif isinstance(shape, ma.fields.List):
            _walk(value, child, shape.inner, flat)
        elif isinstance(shape, ma.fields.Mapping) and isinstance(value, Mapping):
            # marshmallow says which of the entry is wrong, `key` or `value`: the entry is named.
            for part, found in value.items():
                _walk(found, child, shape.value_field if part == "value" else None, flat)
        else:
            _walk(value, child, None, flat)


class Problem(Exception):
    """A failure the client can act on; `errors` names each bad field by its dotted path,
    `extensions` are further members of the answer (what a 409 is waiting for)."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
        title: str | None = None,
        slug: str | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = flatten_errors(errors) if errors else None
        self.headers = dict(headers or {})
        # Members of the problem beside the standard ones (RFC 9457 section 3.2).
        self.extensions = dict(extensions or {})
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        if slug is not None:
            self.slug = slug


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="staffing-checklist"'})


class Forbidden(Problem):
    status, slug, title = 403, "insufficient-scope", "Insufficient scope"


class NotTheSigner(Forbidden):
    """A body names someone other than the person of the personal key making the request as
    the one who signs or approves."""

    slug, title = "not-the-signer", "Not the signer"


class PersonalKeyRequired(Forbidden):
    """A team key (no person behind it) tried to sign off or approve: that takes the
    personal key of the person who does."""

    slug, title = "personal-key-required", "A personal key is required"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class ConcurrentUpdate(Conflict):
    """Other requests kept changing the same rows while this one retried its transaction."""

    slug, title = "concurrent-update", "Concurrent update"

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


# PostgreSQL: serialization_failure, deadlock_detected, unique_violation (a row inserted at
# the same time by another transaction: a retry finds it).
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "23505"})


def is_transient(error: BaseException) -> bool:
    """A failure caused by concurrent transactions, which the same transaction retried from the
    start may well not meet again."""
    if isinstance(error, StaleDataError):
        return True
    if not isinstance(error, DBAPIError) or error.connection_invalidated:
        return False
    if getattr(error.orig, "sqlstate", None) in _TRANSIENT_SQLSTATES:
        return True
    message = str(error.orig)
    # SQLite: a busy database (a read transaction cannot take the write lock) or a race on a
    # unique constraint.
    return ("database is locked" in message and isinstance(error, OperationalError)) or (
        "UNIQUE constraint failed" in message and isinstance(error, IntegrityError)
    )


class PreconditionFailed(Problem):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class ValidationFailed(Problem):
    status, slug, title = 422, "validation-error", "Validation failed"
