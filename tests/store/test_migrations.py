"""Migrations up to head and back (SQLite and PostgreSQL): 0003 drops the unused segments table
and its downgrade recreates it as 0001 made it; at head the database is what schema.py says."""

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from revrec.store import db
from revrec.store.schema import metadata


def _alembic(engine, revision, *, up=True):
    config = db._config()  # the test drives the migrations step by step
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.upgrade if up else command.downgrade)(config, revision)


def _segments(engine):
    """The segments table as the database describes it (None when there is none)."""
    with engine.connect() as conn:
        found = sa.inspect(conn)
        if not found.has_table("segments"):
            return None
        columns = [
            (c["name"], type(c["type"]).__name__, c["nullable"])
            for c in found.get_columns("segments")
        ]
        return columns, found.get_pk_constraint("segments")


def _revision(engine):
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_0003_drops_segments_and_its_downgrade_recreates_them_as_0001_made_them(db_url):
    engine = db.engine(db_url)
    _alembic(engine, "0001")
    as_made = _segments(engine)
    assert as_made is not None
    _alembic(engine, "head")
    assert _revision(engine) == "0003"
    assert _segments(engine) is None
    _alembic(engine, "0002", up=False)
    assert _revision(engine) == "0002"
    assert _segments(engine) == as_made
    _alembic(engine, "head")
    assert _revision(engine) == "0003"
    assert _segments(engine) is None
    engine.dispose()


def test_the_migrated_database_has_every_table_of_the_schema_and_no_other(db_url):
    engine = db.engine(db_url)
    db.migrate(engine)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        changes = compare_metadata(MigrationContext.configure(conn), metadata)
    assert tables == set(metadata.tables)
    assert [c for c in changes if c[0] in ("add_table", "remove_table")] == []
    engine.dispose()
