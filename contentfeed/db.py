"""Database: the typed Base, UTC datetimes, one engine per app and one session per app context."""

from __future__ import annotations

import enum
import inspect
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
import sqlalchemy as sa
from flask import Flask, current_app, g
from flask_sqlalchemy_lite import SQLAlchemy
from pydantic import Field
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from contentfeed import config

# How a database outage shows, however it is reached: through SQLAlchemy (refused, lost or
# timed-out connections, SQLite's "database is locked"), as a session left in a failed
# transaction by an earlier lost connection, as an exhausted pool, or raw from the driver on
# the hot paths that talk to psycopg or sqlite3 directly.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.PendingRollbackError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Ids are PostgreSQL `integer` columns: a larger number (in a URL, a query or a body) can name
# no row, and sent to the database it overflows the driver (SQLite) or the column (PostgreSQL).
MAX_ID = 2**31 - 1
# Far beyond any listing's last page, and small enough that its offset stays a plain integer.
MAX_PAGE = 1_000_000
# Every id a client sends in a body or a query (pydantic models and the forms built from
# them): one no row can have is refused with a 422 naming the field.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# Every listing's page number.
PageNumber = Annotated[int, Field(ge=1, le=MAX_PAGE)]

extension = SQLAlchemy(session_options={"expire_on_commit": False})


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (use as a callable default)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    PostgreSQL keeps it as timestamptz; SQLite keeps text without an offset, so the
    offset is put back on read. Naive datetimes are refused: they hide bugs.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(kind: type[enum.StrEnum]) -> sa.Enum:
    """Store a string enum as its values in a VARCHAR (no native enum: migrations stay simple)."""
    return sa.Enum(
        kind,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    """The declarative base every model derives from."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON(), list[str]: sa.JSON()}


@event.listens_for(sa.Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Turn on WAL, foreign keys and a busy timeout for every SQLite connection."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    if not _is_memory(dbapi_connection):
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _is_memory(connection: sqlite3.Connection) -> bool:
    row = connection.execute("PRAGMA database_list").fetchone()
    return not row or not row[2]


# libpq's limits for a database that stops answering (a host cut off the network, a cluster
# stalled): without them a new connection waits for the kernel's TCP timeout (minutes) and
# a request hangs until the load balancer gives up, instead of answering 503 (the rehearsal on
# several hosts saw 10 s hangs and 504s). A connection is given 5 s; an idle one is probed
# after 10 s; data unacknowledged for 15 s drops the connection.
PG_TIMEOUTS: dict[str, int] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,
}


def pg_timeouts(url: sa.URL) -> dict[str, int]:
    """Return the PG_TIMEOUTS a database URL does not set itself (?connect_timeout=2 wins)."""
    return {name: value for name, value in PG_TIMEOUTS.items() if name not in url.query}


def init_app(app: Flask) -> None:
    """Give the app its engine; sessions open lazily and close with the app context."""
    url = sa.make_url(config.settings_of(app).database_url)
    options: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        options = {
            "pool_pre_ping": True,
            "pool_size": 10,
            "max_overflow": 10,
            "connect_args": pg_timeouts(url),
        }
    app.config["SQLALCHEMY_ENGINES"] = {"default": {"url": url, **options}}
    extension.init_app(app)
    # We use no async engines, so drop the extension's async teardown: Flask would run it
    # through asgiref on every request (an event loop per call on the redirect hot path),
    # and it fails in threads that already run a loop (Playwright in the browser tests).
    app.teardown_appcontext_funcs[:] = [
        f for f in app.teardown_appcontext_funcs if not inspect.iscoroutinefunction(f)
    ]


def session() -> Session:
    """Return the session of the current app context (one per request, job or command)."""
    return extension.session


def finish_request(status: int) -> None:
    """Commit the request's work when its answer succeeds (below 400); otherwise roll it back.

    The one place a request's writes are committed: handlers never call ``commit()``. A
    request that opened no session costs nothing here. A commit that fails raises, so the
    error handlers answer for it (409 for a constraint, 503 when the database is down).
    """
    sessions: dict[str, Session] | None = g.get("_sqlalchemy_sessions")
    if not sessions:
        return
    for s in sessions.values():
        if status < 400:
            s.commit()
        else:
            s.rollback()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Keep a write whatever the surrounding request or job answers: a session of its own,
    committed when the block ends without an error and rolled back when it raises.

    For the few writes that must outlive a refusal (a failed sign-in counted against the
    lockout) or come before any processing (a webhook's raw event, kept before it is read).
    """
    with extension.sessionmaker() as own, own.begin():
        yield own


def engine() -> sa.Engine:
    """Return the current app's engine."""
    return extension.engine


def hot_engine() -> sa.Engine:
    """Return the engine for the redirect's hot path.

    On PostgreSQL a small pool of its own whose connections are in autocommit mode, so a
    statement costs one round trip (no BEGIN, no COMMIT); on SQLite the regular engine.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    hot: sa.Engine | None = app.extensions.get("contentfeed.hot_engine")
    if hot is None:
        base = engine()
        hot = base
        if base.dialect.name == "postgresql":
            # No pre-ping here: it would cost a round trip per click. A connection found
            # dead is replaced and the statement retried once (links.service).
            hot = sa.create_engine(
                base.url,
                isolation_level="AUTOCOMMIT",
                pool_size=4,
                max_overflow=8,
                connect_args=pg_timeouts(base.url),
            )
        app.extensions["contentfeed.hot_engine"] = hot
    return hot


def is_database_down(exc: BaseException) -> bool:
    """Tell whether an error means the database is unreachable (retry later), not a bug."""
    return isinstance(exc, DATABASE_DOWN)


def is_disconnect(exc: BaseException) -> bool:
    """Tell whether an error came from a connection found dead (replaced on the next use)."""
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


def forget_stale_connections(engine: sa.Engine, found_dead: sa.PoolProxiedConnection) -> None:
    """Make every pooled connection made before now reconnect on its next checkout.

    What SQLAlchemy does itself on a disconnect it sees: after a restart or a
    pg_terminate_backend the other idle connections are most likely dead too.
    """
    engine.pool._invalidate(found_dead, _checkin=False)


def driver_error(
    conn: sa.Connection, exc: Exception, statement: str, params: Any
) -> sa.exc.DBAPIError:
    """Return a driver's error raised on ``conn`` outside SQLAlchemy as SQLAlchemy would.

    The hot paths run statements on the driver connection directly, so SQLAlchemy never
    sees their errors. A dead connection is invalidated here as SQLAlchemy does for its
    own statements, and the engine's idle connections with it (after a restart or a
    pg_terminate_backend they are dead too), so the next checkout connects afresh.
    """
    lost = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, None)  # type: ignore[arg-type]
    if lost:
        forget_stale_connections(conn.engine, conn.connection)
        conn.invalidate(exc)
    base_error: type[Exception] = conn.dialect.loaded_dbapi.Error
    return sa.exc.DBAPIError.instance(  # type: ignore[return-value]
        statement, params, exc, base_error, connection_invalidated=lost, dialect=conn.dialect
    )


def dispose(app: Flask) -> None:
    """Close every pooled connection of an app (tests, forked workers)."""
    owned = app.extensions.pop("contentfeed.hot_connections", None)
    if owned is not None:
        owned.close()
    with app.app_context():
        engine().dispose()
        hot: sa.Engine | None = app.extensions.pop("contentfeed.hot_engine", None)
        if hot is not None:
            hot.dispose()


def is_postgresql() -> bool:
    """Tell whether the current app runs on PostgreSQL."""
    return engine().dialect.name == "postgresql"
