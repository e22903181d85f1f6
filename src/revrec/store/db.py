"""Opening the database (SQLite file by default, PostgreSQL by URL) and migrating it.

The one place that knows about URLs and drivers; everything else takes a Connection.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from revrec.errors import StateError

DEFAULT_URL = "sqlite:///revrec.db"
MIGRATIONS = Path(__file__).with_name("migrations")


def database_url(given: str | None = None) -> str:
    """--db, else $REVREC_DATABASE_URL, else ./revrec.db; postgresql:// selects psycopg 3."""
    url = given or os.environ.get("REVREC_DATABASE_URL") or DEFAULT_URL
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    elif "://" not in url:
        url = f"sqlite:///{url}"
    return url


def engine(url: str | None = None) -> sa.Engine:
    made = sa.create_engine(database_url(url), future=True)
    if made.dialect.name == "sqlite":

        @sa.event.listens_for(made, "connect")
        def _pragmas(dbapi_connection: Any, _record: object) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return made


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(bind: sa.Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    config = _config()
    with bind.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def check_current(bind: sa.Engine) -> None:
    """Refuse to work on a database that is missing or behind the code's migrations."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with bind.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        raise StateError("no revrec database here: run `revrec init` first")
    if current != head:
        raise StateError(
            f"the database is at migration {current}, the code at {head}: run `revrec init`"
        )
