"""Bulk moves of frames in and out of SQLite and PostgreSQL: every value comes back as it went."""

from datetime import date

import polars as pl
import pytest
import sqlalchemy as sa

from revrec.store import bulk, db

NASTY = [
    "plain",
    "",
    None,
    "tab\there",
    "line\nbreak",
    "carriage\rreturn",
    "back\\slash \\N \\t",
    "\\N",
    "NULL",
    "'single' and ''double''",
    '"double" quotes, commas; semi',
    '{"json": "with \\"escapes\\""}',
    "ünïcödé €",
]

TABLE = sa.Table(
    "bulk_probe",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64)),
    sa.Column("note", sa.Text),
    sa.Column("amount", sa.BigInteger),
    sa.Column("day", sa.Date),
    sa.Column("flag", sa.Boolean),
    sa.Column("same", sa.String(8)),
)
SCHEMA = {
    "id": pl.Int64,
    "name": pl.String,
    "note": pl.String,
    "amount": pl.Int64,
    "day": pl.Date,
    "flag": pl.Boolean,
    "same": pl.String,
}


def _frame(rows: int, words: list[str | None] = NASTY) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": list(range(rows)),
            "name": [words[i % len(words)] for i in range(rows)],
            "note": [words[(i * 7) % len(words)] for i in range(rows)],
            "amount": [None if i % 5 == 0 else (-1) ** i * i * 1_000_003 for i in range(rows)],
            "day": [
                None if i % 4 == 0 else date(2024, 1 + i % 12, 1 + i % 28) for i in range(rows)
            ],
            "flag": [None if i % 3 == 0 else i % 2 == 0 for i in range(rows)],
            "same": ["x"] * rows,  # one value in every row: bound once per statement on SQLite
        },
        schema=SCHEMA,
    )


@pytest.fixture
def engine(db_url):
    made = db.engine(db_url)
    db.migrate(made)
    TABLE.create(made)
    yield made
    made.dispose()


@pytest.mark.parametrize("rows", [1, 7, 2_500])
@pytest.mark.parametrize("words", [NASTY, [w for w in NASTY if w != "NULL"]])
def test_a_frame_goes_in_and_comes_back_unchanged(engine, rows, words):
    frame = _frame(rows, words)
    with engine.begin() as conn:
        assert bulk.insert_frame(conn, TABLE, frame) == rows
    with engine.connect() as conn:
        back = bulk.read_frame(conn, sa.select(TABLE)).sort("id")
        ordered = bulk.read_frame(conn, sa.select(TABLE).order_by(TABLE.c.id))
    assert back.equals(frame)
    assert ordered.equals(frame)


@pytest.mark.parametrize("rows", [0, 1, 2_500])
def test_columns_without_long_text_come_back_unchanged(engine, rows):
    """On SQLite such reads take each column as one JSON array (NULL apart from '')."""
    frame = _frame(rows).drop("note")
    with engine.begin() as conn:
        bulk.insert_frame(conn, TABLE, frame)
    with engine.connect() as conn:
        columns = [TABLE.c[n] for n in frame.columns]
        back = bulk.read_frame(conn, sa.select(*columns)).sort("id")
    assert back.equals(frame)
    assert back.schema == frame.schema


def test_ids_in_runs_become_ranges():
    ids = pl.Series([9, 1, 2, 3, 3, 7, 8, 20])
    assert bulk.id_ranges(ids) == [(1, 3), (7, 9), (20, 20)]
    assert bulk.id_ranges(pl.Series([], dtype=pl.Int64)) == []


@pytest.mark.parametrize("step", [1, 2])
def test_an_update_by_runs_or_by_lookup_touches_exactly_the_ids(engine, monkeypatch, step):
    """step 1: a few runs (BETWEEN each); step 2: more runs than RANGES (a lookup per batch)."""
    monkeypatch.setattr(bulk, "RANGES", 3)
    frame = _frame(40)
    wanted = pl.Series([*range(0, 10, step), *range(20, 25), 39])
    with engine.begin() as conn:
        bulk.insert_frame(conn, TABLE, frame)
        for condition in bulk.for_ids(conn, TABLE.c.id, wanted):
            conn.execute(TABLE.update().where(condition).values(same="hit"))
        hit = conn.execute(sa.select(TABLE.c.id).where(TABLE.c.same == "hit")).scalars().all()
    assert sorted(hit) == sorted(wanted.unique().to_list())


def test_a_long_key_list_is_one_parameter(engine):
    frame = _frame(30_000)
    with engine.begin() as conn:
        bulk.insert_frame(conn, TABLE, frame)
        wanted = list(range(0, 30_000, 3))
        found = conn.execute(
            sa.select(sa.func.count()).where(bulk.among(conn, TABLE.c.id, wanted))
        ).scalar()
        names = conn.execute(
            sa.select(sa.func.count()).where(bulk.among(conn, TABLE.c.name, NASTY[3:]))
        ).scalar()
        none = conn.execute(
            sa.select(sa.func.count()).where(bulk.among(conn, TABLE.c.id, []))
        ).scalar()
    assert found == 10_000
    assert names == frame.filter(pl.col("name").is_in(NASTY[3:])).height
    assert none == 0


def test_a_scratch_table_fills_another_table_with_insert_select(engine):
    frame = _frame(2_500)
    with engine.begin() as conn, bulk.scratch(conn, frame, "probe_scratch") as scratch:
        conn.execute(
            TABLE.insert().from_select(
                list(SCHEMA), sa.select(*(scratch.c[n] for n in SCHEMA)).where(scratch.c.id >= 10)
            )
        )
    with engine.connect() as conn:
        back = bulk.read_frame(conn, sa.select(TABLE)).sort("id")
    assert back.equals(frame.filter(pl.col("id") >= 10))


def test_a_failed_transaction_leaves_no_scratch_table_in_the_way(engine):
    frame = _frame(10)
    with pytest.raises(RuntimeError), engine.begin() as conn, bulk.scratch(conn, frame, "left"):
        raise RuntimeError("power cut")
    with engine.begin() as conn, bulk.scratch(conn, frame, "left") as scratch:
        assert conn.execute(sa.select(sa.func.count()).select_from(scratch)).scalar() == 10
