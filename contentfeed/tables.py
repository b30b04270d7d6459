"""Hot-path statements written from the table definitions: column lists, types, defaults.

The webhook, the redirect and feed filling write rows with hand-built statements (Core
statements compiled once, raw driver SQL, PostgreSQL recordsets) instead of the ORM, so
nothing fills in a column the statement does not name. Reading their columns and Python
defaults from ``Model.__table__`` keeps them whole when a model gains a column: a new
NOT NULL column with a default is written with its default everywhere, as the ORM would.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def is_generated(column: sa.Column[Any]) -> bool:
    """Tell whether the database makes the column's value itself (its integer key)."""
    return column is column.table.autoincrement_column


def required_columns(table: sa.Table) -> tuple[str, ...]:
    """Return the columns every INSERT must name: NOT NULL, not generated, no server default."""
    return tuple(
        column.name
        for column in table.columns
        if not column.nullable and column.server_default is None and not is_generated(column)
    )


def insert_columns(table: sa.Table, *, also: Collection[str] = ()) -> tuple[str, ...]:
    """Return the columns a hot-path INSERT names, in table order: the required ones and
    ``also`` (nullable columns it has values for); the others are left to the database."""
    unknown = set(also) - set(table.columns.keys())
    if unknown:
        raise KeyError(f"{table.name} has no column {', '.join(sorted(unknown))}")
    required = set(required_columns(table))
    return tuple(c.name for c in table.columns if c.name in required or c.name in also)


def python_defaults(table: sa.Table, columns: Iterable[str]) -> Callable[[], dict[str, Any]]:
    """Return a function giving the models' Python defaults of these columns, fresh per call.

    Scalars are read once; a callable default (``utcnow``, ``dict``) runs on each call, as
    it would for an ORM insert. Columns without a Python default are left out.
    """
    scalars: dict[str, Any] = {}
    callables: dict[str, Callable[[Any], Any]] = {}
    for name in columns:
        default = table.c[name].default
        if default is None:
            continue
        if default.is_callable:
            callables[name] = default.arg  # type: ignore[attr-defined]
        elif default.is_scalar:
            scalars[name] = default.arg  # type: ignore[attr-defined]

    def defaults() -> dict[str, Any]:
        return {**scalars, **{name: make(None) for name, make in callables.items()}}

    return defaults


def pg_type(column: sa.Column[Any]) -> str:
    """Return the column's type as PostgreSQL spells it (for a recordset's shape)."""
    return str(column.type.compile(dialect=_PG))
