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

from revrec.errors import InputError, StateError

DEFAULT_URL = "sqlite:///revrec.db"
MIGRATIONS = Path(__file__).with_name("migrations")
# (backend, driver) pairs revrec connects with; "" is the backend's default driver.
SUPPORTED = {
    ("sqlite", ""),
    ("sqlite", "pysqlite"),
    ("postgresql", ""),
    ("postgresql", "psycopg"),
    ("postgres", ""),
}
USE = "use sqlite:///PATH or postgresql://..."


def given_url(given: str | None = None) -> sa.URL:
    """--db, else $REVREC_DATABASE_URL, else ./revrec.db; a bare path is a SQLite file. Anything
    but SQLite or PostgreSQL (psycopg 3) is an InputError that never shows the password."""
    text = given or os.environ.get("REVREC_DATABASE_URL") or DEFAULT_URL
    if "://" not in text:
        return sa.URL.create("sqlite", database=text)
    try:
        url = sa.make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        raise InputError(f"not a database URL: {USE}") from None
    backend, _, driver = url.drivername.partition("+")
    if (backend, driver) not in SUPPORTED:
        shown_as_given = url.render_as_string(hide_password=True)
        raise InputError(f"unsupported database URL {shown_as_given}: {USE}")
    return url


def database_url(given: str | None = None) -> sa.URL:
    """The URL to connect with (see `given_url`); postgresql:// selects psycopg 3."""
    url = given_url(given)
    if url.drivername.partition("+")[0] in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    return url


def shown(url: sa.URL) -> str:
    """A URL as messages show it: the password hidden, the driver left out."""
    return url.set(drivername=url.drivername.partition("+")[0]).render_as_string(hide_password=True)


def where(url: sa.URL) -> str:
    """Where a database is, for messages: a SQLite file's path, else the URL as `shown`."""
    if url.drivername.startswith("sqlite") and url.database:
        return url.database
    return shown(url)


def _sqlite_file(url: sa.URL) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database or a SQLite URI)."""
    if not url.drivername.startswith("sqlite") or url.query.get("uri"):
        return None
    if url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def engine(url: str | None = None) -> sa.Engine:
    found = database_url(url)
    # SQLite: a writer waits for another's write lock (a job run) instead of failing at once.
    options = {"connect_args": {"timeout": 300}} if found.drivername.startswith("sqlite") else {}
    made = sa.create_engine(found, future=True, **options)
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
    """Refuse to work on a database that is missing or behind the code's migrations. A SQLite
    file that does not exist is not created (connecting would create it)."""
    missing = StateError(f"no revrec database at {where(bind.url)}: run `revrec init` first")
    file = _sqlite_file(bind.url)
    if file is not None and not file.exists():
        raise missing
    head = ScriptDirectory.from_config(_config()).get_current_head()
    with bind.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        raise missing
    if current != head:
        raise StateError(
            f"the database is at migration {current}, the code at {head}: run `revrec init`"
        )
