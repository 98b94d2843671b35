"""One-statement reads run straight on the driver, for the fast path (`app.api.fast_reads`).

A statement the views run through SQLAlchemy is compiled once here, by SQLAlchemy, for the
engine's dialect: the same SQL. Running it then costs the driver's call on a pooled
connection and nothing of SQLAlchemy's per-execution work (a `Connection`, its transaction
and `begin` event, the statement's cache key, the result's wrapping, the rollback on close),
which was a third of a fast 304. Only statements whose parameters and columns the driver
passes as SQLAlchemy would (no bind or result processing: strings, integers) may be compiled
so; `DriverStatement` refuses any other.

Each read runs outside a transaction: in autocommit on PostgreSQL (as `begin_request` reads
a GET), on SQLite in the driver's autocommit (`_sqlite_pragmas` leaves transactions to
SQLAlchemy), where one statement reads one state of the file, as a deferred transaction
would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class DriverStatement:
    """`statement` compiled for `dialect`: its SQL and its parameters in the driver's style."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler):
            raise ValueError("not a statement that reads")
        names = compiled.bind_names  # each parameter and its name in the SQL
        for bind, name in names.items():
            if bind.type.bind_processor(dialect) is not None:
                raise ValueError(f"parameter {name!r} needs SQLAlchemy's processing")
        for column in getattr(compiled, "_result_columns", ()):  # (name, key, objects, type)
            if column[3].result_processor(dialect, None) is not None:
                raise ValueError(f"column {column[0]!r} needs SQLAlchemy's processing")
        self.sql = str(compiled)
        # The values SQLAlchemy bound itself (a `LIMIT`'s), then the caller's by name.
        self._fixed = {name: bind.value for bind, name in names.items() if not bind.required}
        self._required = frozenset(name for bind, name in names.items() if bind.required)
        self._order: tuple[str, ...] | None = (
            tuple(compiled.positiontup) if compiled.positiontup is not None else None
        )

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """`values` (by the statement's parameter names) as the driver takes them."""
        if values.keys() != self._required:
            raise ValueError(f"expected the parameters {sorted(self._required)}")
        merged = {**self._fixed, **values}
        if self._order is None:
            return merged
        return tuple(merged[name] for name in self._order)


class DriverReads:
    """The engine's pooled connections, lent for one statement at a time (see the module)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._autocommit = engine.dialect.name == "postgresql"
        # The driver's `Error` (PEP 249), the base of everything it raises.
        self._errors: Any = engine.dialect.loaded_dbapi.Error

    def compiled(self, statement: ClauseElement) -> DriverStatement:
        return DriverStatement(statement, self.engine.dialect)

    def first(
        self, statement: DriverStatement, values: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """The statement's first row as the driver gives it, or None when it has none."""
        parameters = statement.parameters(values)
        pooled = self.engine.raw_connection()
        try:
            driver = pooled.driver_connection
            if self._autocommit:
                driver.autocommit = True  # type: ignore[union-attr]
            try:
                cursor = pooled.cursor()
                try:
                    cursor.execute(statement.sql, parameters)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            finally:
                if self._autocommit:
                    driver.autocommit = False  # type: ignore[union-attr]
        except self._errors as error:
            # A connection that is gone leaves the pool (the request then goes to Flask, whose
            # `Connection` finds the rest of its generation).
            if self.engine.dialect.is_disconnect(error, pooled.dbapi_connection, None):
                pooled.invalidate(error)
            raise
        finally:
            pooled.close()
        return None if row is None else tuple(row)
