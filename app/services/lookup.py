"""One row a write or a read names: found, locked when the caller is about to change it, or a
NotFound that says what was not found."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.services.locks import for_update


def one_or_not_found(
    session: Session, stmt: Select[Any], missing: str, *, lock: bool = False
) -> Any:
    """The row `stmt` selects (a query scoped to the team, or to a resource of it); with
    `lock`, locked and read afresh, as a change to it needs. None is a 404 saying `missing`."""
    row = session.scalar(for_update(stmt) if lock else stmt)
    if row is None:
        raise NotFound(missing)
    return row
