"""The hot paths' hand-built statements name every column a row needs, read from the models.

The webhook (leads/store.py), the redirect (links/service.py) and feed filling
(suggestions/service.py) write rows without the ORM, so nothing else would fill in a column
they leave out: a NOT NULL column a model gains must show up in each statement, with its
default.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from contentfeed import tables
from contentfeed.db import utcnow
from contentfeed.leads import store
from contentfeed.leads.models import InboundEvent, Lead, Touch
from contentfeed.links import service as links
from contentfeed.links.models import Click, TrackedLink
from contentfeed.suggestions import service as suggestions
from contentfeed.suggestions.models import Suggestion


def table_of(model: type[Any]) -> sa.Table:
    table: sa.Table = model.__table__
    return table


def inserted_columns(statement: sa.ClauseElement, dialect: Any = None) -> set[str]:
    """The columns an INSERT names, read from its SQL as the database gets it."""
    sql = str(statement.compile(dialect=dialect or postgresql.dialect()))  # type: ignore[no-untyped-call]
    return {name.strip() for name in sql.split(" (", 1)[1].split(")", 1)[0].split(",")}


def named_in_sql(sql: str, table: str) -> set[str]:
    """The columns of ``INSERT INTO table (a, b, ...)`` in raw SQL."""
    head = sql.split(f"INSERT INTO {table} (", 1)[1]
    return {name.strip() for name in head.split(")", 1)[0].split(",")}


REQUIRED = {
    model.__name__: set(tables.required_columns(table_of(model)))
    for model in (InboundEvent, Lead, Touch, Click, Suggestion, TrackedLink)
}


def test_required_columns_are_the_not_null_ones_without_a_server_default() -> None:
    assert "id" not in REQUIRED["Lead"] and "erased_at" not in REQUIRED["Lead"]
    assert {"email", "status", "score", "routing_trace", "returned_count"} <= REQUIRED["Lead"]
    assert "credit_linear" not in REQUIRED["Touch"]  # it has a server default
    assert REQUIRED["Click"] == {
        "link_id",
        "clicked_at",
        "is_bot",
        "referrer_host",
        "agent_family",
        "visitor_hash",
    }


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_the_webhooks_event_insert_names_every_required_column(dialect: str) -> None:
    statement = store._insert_event_statement(dialect)
    compiled_on = postgresql.dialect() if dialect == "postgresql" else sqlite.dialect()  # type: ignore[no-untyped-call]
    assert REQUIRED["InboundEvent"] <= inserted_columns(statement, compiled_on)
    values = store.event_values(
        source="webhook",
        external_id="msg_1",
        content_type="application/json",
        body="{}",
        headers={},
        now=utcnow(),
    )
    assert REQUIRED["InboundEvent"] <= set(values)


def test_the_webhooks_lead_and_touch_inserts_name_every_required_column() -> None:
    assert REQUIRED["Lead"] <= inserted_columns(store._insert_lead_statement())
    sql = str(store._write_lead_statement(2).compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert REQUIRED["Lead"] <= named_in_sql(sql, "lead")
    touch_head = sql.split("INSERT INTO touch (", 1)[1].split(")", 1)[0]
    assert REQUIRED["Touch"] <= {name.strip() for name in touch_head.split(",")}
    # Credit has a server default, but the statement gives every model's share.
    assert {f"credit_{m}" for m in ("first_touch", "linear", "time_decay")} <= set(
        store.TOUCH_COLUMNS
    )


def test_the_redirects_click_insert_names_every_required_column() -> None:
    # ... and the reason, which has a server default but is always decided by the redirect.
    assert named_in_sql(links._RECORD, "click") == REQUIRED["Click"] | {"reason"}
    assert links._RECORD.count("{p}") == len(links.CLICK_COLUMNS)
    for repeat, early in ((False, False), (True, False), (True, True), (False, True)):
        sql = links._record_sql(True, repeat, early)
        assert named_in_sql(sql, "click") == REQUIRED["Click"] | {"reason"}


def test_feed_fillings_recordset_inserts_name_every_required_column_with_its_type() -> None:
    sql = suggestions._PG_INSERT_SUGGESTIONS.text
    assert REQUIRED["Suggestion"] <= named_in_sql(sql, "suggestion")
    assert "day DATE" in sql and "score_parts JSON" in sql
    assert "created_at TIMESTAMP WITH TIME ZONE" in sql
    links_sql = suggestions._PG_INSERT_LINKS.text
    assert named_in_sql(links_sql, "tracked_link") == REQUIRED["TrackedLink"]


# --- a model that gains a column ---------------------------------------------------------


def with_new_column(model: type[Any], column: sa.Column[Any]) -> sa.Table:
    """A copy of the model's table in a metadata of its own, with one more column."""
    copy = table_of(model).to_metadata(sa.MetaData())
    copy.append_column(column)
    return copy


def test_a_new_not_null_column_is_written_with_its_default() -> None:
    lead = with_new_column(Lead, sa.Column("tier", sa.String(20), nullable=False, default="b"))
    assert "tier" in tables.insert_columns(lead)
    assert tables.python_defaults(lead, tables.insert_columns(lead))()["tier"] == "b"

    stamped = with_new_column(Click, sa.Column("seen_at", sa.DateTime, default=utcnow))
    defaults = tables.python_defaults(stamped, tables.insert_columns(stamped, also={"seen_at"}))
    first, second = defaults()["seen_at"], defaults()["seen_at"]
    assert isinstance(first, datetime) and first.tzinfo is UTC and second >= first

    bag = with_new_column(Suggestion, sa.Column("tags", sa.JSON, nullable=False, default=dict))
    made = tables.python_defaults(bag, ["tags"])
    assert made() == {"tags": {}}
    assert made()["tags"] is not made()["tags"]  # a fresh dict per row


def test_a_new_not_null_column_without_a_default_is_required() -> None:
    lead = with_new_column(Lead, sa.Column("tier", sa.String(20), nullable=False))
    assert "tier" in tables.required_columns(lead)
    assert "tier" not in tables.python_defaults(lead, tables.insert_columns(lead))()
    served = with_new_column(Lead, sa.Column("tier", sa.String(20), server_default="b"))
    assert "tier" not in tables.required_columns(served)


def test_an_unknown_optional_column_is_refused() -> None:
    with pytest.raises(KeyError):
        tables.insert_columns(table_of(Lead), also={"no_such_column"})


def test_the_statements_compile_on_both_databases() -> None:
    sqlite_dialect = sqlite.dialect()  # type: ignore[no-untyped-call]
    assert REQUIRED["Lead"] <= inserted_columns(store._insert_lead_statement(), sqlite_dialect)
    event = store._insert_event_statement("sqlite")
    assert REQUIRED["InboundEvent"] <= inserted_columns(event, sqlite_dialect)
