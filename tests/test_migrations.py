"""Every migration runs on an empty database and leaves exactly the schema the models describe."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from contentfeed.db import Base
from contentfeed.migrate import alembic_config
from tests.conftest import PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    if not PG_URL:
        pytest.skip("set CONTENTFEED_TEST_DATABASE_URL to run on PostgreSQL")
    name = f"cf_migrate_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_match_models(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    command.upgrade(cfg, "head")
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
        head = ScriptDirectory.from_config(cfg).get_current_head()
        assert context.get_current_revision() == head
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_migrations_downgrade_to_empty_and_up_again(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    command.upgrade(cfg, "head")


def _required(table: sa.Table, **given: object) -> dict[str, object]:
    """A row for ``table``: the given values, plus a plain value for every other column that
    must have one (so the test does not restate a past revision's whole schema)."""
    row = dict(given)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key:
            continue
        if column.server_default is not None:
            continue
        if isinstance(column.type, sa.JSON):
            row[column.name] = {}
            continue
        python_type = column.type.python_type
        if python_type is str:
            row[column.name] = "x"
        elif python_type in (int, float):
            row[column.name] = 0
        elif python_type is bool:
            row[column.name] = False
        else:  # datetimes
            row[column.name] = datetime(2026, 11, 1, tzinfo=UTC)
    return row


def test_touch_credits_move_from_json_to_columns_and_back(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    command.upgrade(cfg, "0008")
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    shares = {"first_touch": 1.0, "last_touch": 0.0, "linear": 0.5, "u_shaped": 0.5}
    with engine.begin() as conn:
        tables = sa.MetaData()
        tables.reflect(conn, only=["lead", "touch"])
        lead, touch = tables.tables["lead"], tables.tables["touch"]
        lead_id = conn.execute(
            sa.insert(lead).values(_required(lead, email="ana@example.com", status="new"))
        ).inserted_primary_key[0]
        conn.execute(
            sa.insert(touch).values(_required(touch, lead_id=lead_id, code="abc", credits=shares))
        )

    command.upgrade(cfg, "0009")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM touch")).mappings().one()
    # A model missing from the old document (time decay here) counts as no credit.
    assert {k: row[k] for k in row if k.startswith("credit_")} == {
        "credit_first_touch": 1.0,
        "credit_last_touch": 0.0,
        "credit_linear": 0.5,
        "credit_u_shaped": 0.5,
        "credit_time_decay": 0.0,
    }

    command.downgrade(cfg, "0008")
    with engine.connect() as conn:
        credits = conn.execute(sa.text("SELECT credits FROM touch")).scalar_one()
    engine.dispose()
    assert (json.loads(credits) if isinstance(credits, str) else credits) == {
        **shares,
        "time_decay": 0.0,
    }


def test_claims_open_at_upgrade_get_a_full_claim_window_from_the_upgrade(
    empty_database: str,
) -> None:
    cfg = alembic_config(empty_database)
    command.upgrade(cfg, "0009")
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    long_ago = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as conn:
        tables = sa.MetaData()
        tables.reflect(conn, only=["lead"])
        lead = tables.tables["lead"]
        for email, status in (("claimed@example.com", "claimed"), ("new@example.com", "new")):
            conn.execute(
                sa.insert(lead).values(
                    _required(lead, email=email, status=status, claimed_at=long_ago)
                )
            )
    before = datetime.now(UTC)
    command.upgrade(cfg, "0010")
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT email, claim_due_at FROM lead")).all())
    engine.dispose()
    # Not claimed_at + 30 minutes (long past: the first sweep would return every claim).
    due = rows["claimed@example.com"]
    due = datetime.fromisoformat(due) if isinstance(due, str) else due
    assert (due if due.tzinfo else due.replace(tzinfo=UTC)) >= before
    assert rows["new@example.com"] is None


def test_variants_take_their_items_language_and_profiles_a_list(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    command.upgrade(cfg, "0014")
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        tables = sa.MetaData()
        tables.reflect(conn, only=["user_account", "seller_profile", "content", "post_variant"])
        user, profile = tables.tables["user_account"], tables.tables["seller_profile"]
        content, variant = tables.tables["content"], tables.tables["post_variant"]
        user_id = conn.execute(
            sa.insert(user).values(_required(user, email="lena@example.com"))
        ).inserted_primary_key[0]
        conn.execute(sa.insert(profile).values(_required(profile, user_id=user_id, language="de")))
        content_id = conn.execute(
            sa.insert(content).values(
                _required(content, language="de", target_languages=["de"], priority=3)
            )
        ).inserted_primary_key[0]
        conn.execute(sa.insert(variant).values(_required(variant, content_id=content_id)))

    command.upgrade(cfg, "0015")
    with engine.connect() as conn:
        languages = conn.execute(sa.text("SELECT languages FROM seller_profile")).scalar_one()
        variant_language = conn.execute(sa.text("SELECT language FROM post_variant")).scalar_one()
    # English reached every seller before: it stays, after their own language.
    assert (json.loads(languages) if isinstance(languages, str) else languages) == ["de", "en"]
    assert variant_language == "de"

    command.downgrade(cfg, "0014")
    with engine.connect() as conn:
        language = conn.execute(sa.text("SELECT language FROM seller_profile")).scalar_one()
    engine.dispose()
    assert language == "de"


def test_the_documented_alembic_command_migrates_the_configured_database(
    empty_database: str, tmp_path: Path
) -> None:
    """`alembic upgrade head` in a checkout (the deploy step the README names) migrates the
    database the settings point at: it once stopped with KeyError 'DATABASE_URL'."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "CONTENTFEED_DATABASE_URL": empty_database}
    env["CONTENTFEED_INSTANCE_PATH"] = str(tmp_path / "instance")
    done = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    engine = sa.create_engine(empty_database, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    assert (
        revision == ScriptDirectory.from_config(alembic_config(empty_database)).get_current_head()
    )
