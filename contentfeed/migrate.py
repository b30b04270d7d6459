"""Run Alembic migrations from code (the CLI's `db upgrade`, quickstart, tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from contentfeed import config


def alembic_config(database_url: str) -> Config:
    """Return an Alembic config for the project's migrations aimed at one database."""
    # alembic.ini is the checkout's, for the `alembic` command (revision file names, logging);
    # a wheel ships only the migrations, and running them needs nothing else from it.
    cfg = Config(None if config.installed() else str(config.ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(config.shipped("migrations")))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate a database up to a revision (the latest by default)."""
    command.upgrade(alembic_config(database_url), revision)
