"""The intake's writes as Core statements on a connection: the lead webhook's hot path.

A lead costs three statements on PostgreSQL: the raw event (committed on its own, so nothing
is lost), one read for its touches (attribution.find_touches), and one statement that
inserts the lead and its touches and marks the event processed, all or nothing (a
data-modifying WITH). SQLite cannot modify data in WITH, so there the same writes run one
after another in the caller's transaction; on SQLite they are local calls, not round trips.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.rows import namedtuple_row
from psycopg.types.json import Json
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from contentfeed import db, tables
from contentfeed.leads import attribution
from contentfeed.leads.attribution import Credited, TouchSearch
from contentfeed.leads.models import (
    CREDIT_COLUMNS,
    EventStatus,
    InboundEvent,
    Lead,
    Touch,
    WebhookSecret,
)

# The headers kept with a raw event; never the signature or an Authorization header.
KEPT_HEADERS = ("webhook-id", "webhook-timestamp", "user-agent", "content-type")


@dataclass(frozen=True)
class EventRef:
    """What processing needs of a stored event."""

    id: int
    content_type: str
    body: str
    received_at: datetime
    attempts: int = 0
    secret_id: int | None = None  # the secret that signed it, whose field mapping applies


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return the headers worth keeping with a raw event (no credentials)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    return {name: lowered[name][:500] for name in KEPT_HEADERS if name in lowered}


# The statements are written from the tables (contentfeed.tables): a column a model gains
# is written with its default here too, as the ORM would.
_EVENT: sa.Table = InboundEvent.__table__  # type: ignore[assignment]
_LEAD: sa.Table = Lead.__table__  # type: ignore[assignment]
_TOUCH: sa.Table = Touch.__table__  # type: ignore[assignment]
EVENT_COLUMNS = tables.insert_columns(_EVENT, also=("secret_id",))
LEAD_COLUMNS = tables.insert_columns(_LEAD)
# A touch names its link, click, suggestion, seller, content and campaign when it has them,
# and its credit under every model; its lead is the one inserted beside it.
TOUCH_COLUMNS = tuple(
    name
    for name in tables.insert_columns(
        _TOUCH,
        also=(
            "link_id",
            "click_id",
            "suggestion_id",
            "seller_id",
            "content_id",
            "campaign_id",
            *CREDIT_COLUMNS.values(),
        ),
    )
    if name != "lead_id"
)
_EVENT_DEFAULTS = tables.python_defaults(_EVENT, EVENT_COLUMNS)
_LEAD_DEFAULTS = tables.python_defaults(_LEAD, LEAD_COLUMNS)
_TOUCH_DEFAULTS = tables.python_defaults(_TOUCH, TOUCH_COLUMNS)
# The columns of a touch-query row between its kind and its touch_id (attribution.py).
TOUCH_ROW = tuple(
    sa.column(name, _TOUCH.c[name].type)
    for name in (
        "code",
        "link_id",
        "click_id",
        "suggestion_id",
        "seller_id",
        "content_id",
        "campaign_id",
        "touched_at",
    )
)
DONE_COLUMNS = ("status", "processed_at", "error", "next_attempt_at")


def event_values(
    *,
    source: str,
    external_id: str,
    content_type: str,
    body: str,
    headers: Mapping[str, str],
    now: datetime,
    secret_id: int | None = None,
) -> dict[str, Any]:
    """Return the column values of a newly received raw event (status and the rest as the
    model's defaults: received, no error, no attempt yet); ``secret_id`` names the secret
    that signed a webhook delivery."""
    return {
        **_EVENT_DEFAULTS(),
        "source": source,
        "external_id": external_id,
        "content_type": content_type[:120],
        "body": body,
        "headers": kept_headers(headers),
        "received_at": now,
        "secret_id": secret_id,
    }


# Statements are built once and run with parameters: building a statement costs more
# Python than running it, and a built statement's cache key is remembered.


def _param(table: sa.Table, column: str, prefix: str = "") -> sa.BindParameter[Any]:
    return sa.bindparam(prefix + column, type_=table.c[column].type)


@cache
def _insert_event_statement(dialect: str) -> sa.Insert:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = InboundEvent.__table__
    return (
        insert(InboundEvent)
        .values({name: _param(table, name) for name in EVENT_COLUMNS})  # type: ignore[arg-type]
        .on_conflict_do_nothing()
        .returning(InboundEvent.id)
    )


@contextmanager
def unit_of_work(conn: sa.Connection) -> Iterator[sa.Connection]:
    """Commit the hot path's writes on ``conn`` when the block ends; roll back if it raises.

    The webhook runs on a connection of its own, outside the request's session, so the
    request boundary does not commit it: each of its writes (the raw event, kept before
    the lead is read; the lead; a failure noted on the event) is one such named unit. On
    an autocommit connection (PostgreSQL's hot engine) each statement is already durable
    and the commit costs nothing.
    """
    try:
        yield conn
    except BaseException:
        with suppress(*db.DATABASE_DOWN):  # a dead connection has nothing to roll back
            conn.rollback()
        raise
    conn.commit()


def insert_event(conn: sa.Connection, values: Mapping[str, Any]) -> int | None:
    """Add a raw event unless its (source, external_id) was received before.

    Returns the new event's id, or None for a redelivery. One INSERT ... ON CONFLICT DO
    NOTHING RETURNING: of two copies arriving at once, the second inserts nothing.
    """
    new_id = conn.scalar(_insert_event_statement(conn.dialect.name), dict(values))
    return None if new_id is None else int(new_id)


def insert_event_finding_touches(
    conn: sa.Connection, values: Mapping[str, Any], search: TouchSearch
) -> tuple[int | None, list[Credited]]:
    """Keep a raw event (as insert_event, committed on its own before anything else) and
    find the touches of the lead it carries.

    On PostgreSQL one statement does both (on the autocommit connection it is its own
    transaction); elsewhere the event is committed, then the touches are read. Returns the
    new event's id (None for a redelivery) and the touches.
    """
    if conn.dialect.name != "postgresql":
        with unit_of_work(conn):
            event_id = insert_event(conn, values)
        return event_id, attribution.find_touches_for(conn, search)
    statement = _insert_event_finding_touches_statement(search.parts(conn.dialect.name))
    with unit_of_work(conn):
        rows = _run(conn, statement, {**values, **search.params()})
    event_ids = [row.touch_id for row in rows if row.kind == "event"]
    return (event_ids[0] if event_ids else None), search.credited(rows)


@cache
def _insert_event_finding_touches_statement(
    parts: tuple[sa.Select[*tuple[Any, ...]], ...],
) -> sa.CompoundSelect[*tuple[Any, ...]]:
    new_event = _insert_event_statement("postgresql").cte("new_event")
    event_row = sa.select(
        sa.literal("event", sa.String).label("kind"),
        *(sa.cast(sa.null(), column.type).label(column.name) for column in TOUCH_ROW),
        new_event.c.id.label("touch_id"),
    )
    return sa.union_all(event_row, *parts)


@cache
def _find_event_statement() -> sa.Executable:
    touches = (
        sa.select(sa.func.count())
        .where(Touch.lead_id == InboundEvent.lead_id)
        .correlate(InboundEvent)
        .scalar_subquery()
    )
    return sa.select(
        InboundEvent.id, InboundEvent.status, InboundEvent.lead_id, touches.label("touches")
    ).where(
        InboundEvent.source == sa.bindparam("source"),
        InboundEvent.external_id == sa.bindparam("external_id"),
    )


def find_event(conn: sa.Connection, source: str, external_id: str) -> sa.Row[Any] | None:
    """Return where an earlier delivery stands: id, status, lead id and its touch count."""
    params = {"source": source, "external_id": external_id}
    return conn.execute(_find_event_statement(), params).first()


def event_body(conn: sa.Connection, event_id: int) -> tuple[str, str]:
    """Return a stored event's content type and raw body (both empty once purged)."""
    query = sa.select(InboundEvent.content_type, InboundEvent.body).where(
        InboundEvent.id == event_id
    )
    row = conn.execute(query).one()
    return row.content_type, row.body


def field_mapping(conn: sa.Connection, secret_id: int | None) -> dict[str, Any]:
    """Return a signing secret's current field mapping ({} for none or no secret)."""
    if secret_id is None:
        return {}
    query = sa.select(WebhookSecret.field_mapping).where(WebhookSecret.id == secret_id)
    return dict(conn.scalar(query) or {})


def event_mapping(conn: sa.Connection, event_id: int) -> dict[str, Any]:
    """Return the current field mapping of the secret that signed a stored event."""
    query = sa.select(InboundEvent.secret_id).where(InboundEvent.id == event_id)
    return field_mapping(conn, conn.scalar(query))


def write_lead(
    conn: sa.Connection,
    event_id: int,
    lead: Mapping[str, Any],
    touches: Sequence[Credited],
    *,
    now: datetime,
) -> int:
    """Insert a lead with its touches and mark its event processed; return the lead's id."""
    # Column defaults do not apply inside WITH, so the model's are given here: a new lead
    # (status new), unscored and unrouted until routing fills these in (routing/service.py).
    values = {**_LEAD_DEFAULTS(), **lead, "created_at": now, "updated_at": now}
    params: dict[str, Any] = {
        **{f"lead_{name}": value for name, value in values.items()},
        "event_id": event_id,
        "done_status": EventStatus.PROCESSED,
        "done_processed_at": now,
        "done_error": "",
        "done_next_attempt_at": None,
    }
    for n, item in enumerate(touches):
        params.update({f"t{n}_{name}": value for name, value in _touch_values(item).items()})
    if conn.dialect.name == "postgresql":
        return int(_run(conn, _write_lead_statement(len(touches)), params)[0][0])
    # SQLite: the same writes one after another, in the caller's transaction.
    lead_id = int(conn.scalar(_insert_lead_statement(), params))
    if touches:
        rows = [{**_touch_values(item), "lead_id": lead_id} for item in touches]
        conn.execute(sa.insert(Touch), rows)
    conn.execute(_mark_done_statement(), {**params, "lead_id": lead_id})
    return lead_id


def _touch_values(item: Credited) -> dict[str, Any]:
    touch = item.touch
    return {
        **_TOUCH_DEFAULTS(),
        "code": touch.code,
        "found_in": touch.found_in,
        "link_id": touch.link_id,
        "click_id": touch.click_id,
        "suggestion_id": touch.suggestion_id,
        "seller_id": touch.seller_id,
        "content_id": touch.content_id,
        "campaign_id": touch.campaign_id,
        "touched_at": touch.touched_at,
        **{name: item.credits.get(model, 0.0) for model, name in CREDIT_COLUMNS.items()},
    }


# --- running the hot statements on the driver ----------------------------------------------


Statement = sa.Select[Any] | sa.CompoundSelect[Any]


def _run(conn: sa.Connection, statement: Statement, params: Mapping[str, Any]) -> list[Any]:
    """Run a PostgreSQL statement and return its rows (named tuples).

    On an autocommit connection (the webhook's) the statement, compiled once, goes straight
    to psycopg: SQLAlchemy's per-execution work (execution context, result objects) costs
    more than the local round trip itself there. Inside a transaction it runs through
    SQLAlchemy, which keeps track of that transaction.
    """
    driver: Any = conn.connection.dbapi_connection
    if driver is None or not driver.autocommit:
        return list(conn.execute(statement, dict(params)))
    sql, constants = _compiled(statement)
    values = {**constants, **{key: _adapt(value) for key, value in params.items()}}
    try:
        with driver.cursor(row_factory=namedtuple_row) as cursor:
            cursor.execute(sql, values)
            return cursor.fetchall() if cursor.description else []
    except psycopg.Error as exc:
        # Raised as SQLAlchemy would (OperationalError for a lost connection, which is
        # then dropped with the pool's other stale ones), so callers see one kind of error.
        raise db.driver_error(conn, exc, sql, values) from exc


@cache
def _compiled(statement: Statement) -> tuple[str, dict[str, Any]]:
    """The statement's SQL for psycopg, and the values of its constants (literals)."""
    compiled = statement.compile(dialect=psycopg_dialect())  # type: ignore[no-untyped-call]
    constants = {name: bind.value for name, bind in compiled.binds.items() if not bind.required}
    return str(compiled), constants


def _adapt(value: Any) -> Any:
    # The JSON columns (headers, extra) are the only values psycopg cannot take as
    # they are; strings, enums (str), numbers, aware datetimes, lists and None pass through.
    return Json(value) if isinstance(value, dict) else value


@cache
def _insert_lead_statement() -> sa.Insert:
    table = Lead.__table__
    values = {name: _param(table, name, "lead_") for name in LEAD_COLUMNS}  # type: ignore[arg-type]
    return sa.insert(Lead).values(values).returning(Lead.id)


@cache
def _mark_done_statement(lead_id: sa.ColumnElement[Any] | None = None) -> sa.Update:
    table = InboundEvent.__table__
    values: dict[str, Any] = {name: _param(table, name, "done_") for name in DONE_COLUMNS}  # type: ignore[arg-type]
    values["lead_id"] = lead_id if lead_id is not None else sa.bindparam("lead_id")
    return sa.update(InboundEvent).where(InboundEvent.id == sa.bindparam("event_id")).values(values)


@cache
def _write_lead_statement(touch_count: int) -> sa.Select[Any]:
    """One statement for PostgreSQL: the lead, its ``touch_count`` touches and the event."""
    new_lead = _insert_lead_statement().cte("new_lead")
    table = Touch.__table__
    ctes = []
    for n in range(touch_count):
        # Typed parameters: PostgreSQL is told each one's type, NULLs included.
        row = sa.select(new_lead.c.id, *(_param(table, name, f"t{n}_") for name in TOUCH_COLUMNS))  # type: ignore[arg-type]
        ctes.append(
            sa.insert(Touch).from_select(["lead_id", *TOUCH_COLUMNS], row).cte(f"touch_{n}")
        )
    mark = _mark_done_statement(sa.select(new_lead.c.id).scalar_subquery()).cte("event_done")
    return sa.select(new_lead.c.id).add_cte(*ctes, mark)


def mark_event(conn: sa.Connection, event_id: int, **values: Any) -> None:
    """Update a stored event's processing state (status, error, attempts, next attempt)."""
    conn.execute(sa.update(InboundEvent).where(InboundEvent.id == event_id).values(**values))
