"""Migrations up to head and back (SQLite and PostgreSQL): 0003 drops the unused segments table
and its downgrade recreates it as 0001 made it; 0004 chains the audit entries an older database
holds; at head the database is what schema.py says."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from revrec.services import audit
from revrec.services.context import Context
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
    _alembic(engine, "0003")
    assert _revision(engine) == "0003"
    assert _segments(engine) is None
    _alembic(engine, "0002", up=False)
    assert _revision(engine) == "0002"
    assert _segments(engine) == as_made
    _alembic(engine, "0003")
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


def _audit_columns(engine):
    with engine.connect() as conn:
        found = sa.inspect(conn)
        columns = [c["name"] for c in found.get_columns("audit_log")]
        return columns, sorted(i["name"] for i in found.get_indexes("audit_log"))


OLD_AUDIT = sa.table(
    "audit_log",
    *(sa.column(name) for name in ("id", "user", "action", "entity", "before", "after")),
    sa.column("at", sa.DateTime(timezone=True)),
)


def test_0004_numbers_and_chains_the_entries_of_an_older_database(db_url):
    engine = db.engine(db_url)
    _alembic(engine, "0003")
    with engine.begin() as conn:  # ids with gaps, as a PostgreSQL sequence leaves them
        for entry_id, action in ((3, "init"), (4, "setup.load"), (9, "import"), (12, "job.run")):
            conn.execute(
                OLD_AUDIT.insert().values(
                    id=entry_id,
                    at=datetime(2024, 3, entry_id, 10, 0, 0, entry_id, tzinfo=UTC),
                    user="old",
                    action=action,
                    entity=f"thing:{entry_id}",
                    before=None,
                    after=f'{{"n": {entry_id}}}',
                )
            )
    _alembic(engine, "0004")
    assert _revision(engine) == "0004"
    assert _audit_columns(engine) == (
        ["id", "at", "user", "action", "entity", "before", "after", "period", "prev_hash", "hash"],
        ["ix_audit_log_at"],
    )
    ctx = Context(engine, "t", datetime(2024, 4, 1, tzinfo=UTC))
    listed = audit.list_entries(ctx)
    assert [(e["id"], e["action"], e["after"], e["period"]) for e in listed] == [
        (1, "init", {"n": 3}, None),
        (2, "setup.load", {"n": 4}, None),
        (3, "import", {"n": 9}, None),
        (4, "job.run", {"n": 12}, None),
    ]
    assert listed[0]["at"] == "2024-03-03T10:00:00.000003Z"
    result = audit.verify(ctx)
    assert (result.ok, result.entries, result.head_id) == (True, 4, 4)
    assert result.head_hash == listed[-1]["hash"]
    _alembic(engine, "0003", up=False)
    assert _audit_columns(engine) == (
        ["id", "at", "user", "action", "entity", "before", "after"],
        [],
    )
    _alembic(engine, "head")
    assert audit.verify(ctx).ok
    engine.dispose()


def test_at_head_the_audit_log_is_as_schema_py_says(db_url):
    engine = db.engine(db_url)
    db.migrate(engine)
    with engine.connect() as conn:
        changes = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [c for c in changes if "audit_log" in repr(c)] == []
    engine.dispose()


def test_0009_marks_a_store_with_billings_for_its_first_export_to_fill_the_kept_rows(db_url):
    engine = db.engine(db_url)
    _alembic(engine, "0008")
    _alembic(engine, "0009")
    assert _pending(engine) is None  # no billings: nothing to fill
    _alembic(engine, "0008", up=False)
    billing = {
        "doc_line_id": "B-1-1", "doc_type": "INV", "doc_number": "B-1",
        "doc_date": datetime(2024, 3, 1, tzinfo=UTC).date(), "line_id": "B-1-1",
        "customer_id": "WAYNE", "currency": "USD", "amount": 100, "period": "2024-03",
        "content_hash": "0" * 19, "attributes": "{}",
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.table("billings", *map(sa.column, billing)).insert().values(billing))
    _alembic(engine, "0009")
    assert _pending(engine) == "1"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM legacy_rows")).scalar() == 0
    engine.dispose()


def _pending(engine):
    with engine.connect() as conn:
        query = "SELECT value FROM settings WHERE key = 'legacy_rows_pending'"
        return conn.execute(sa.text(query)).scalar()
