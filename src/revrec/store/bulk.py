"""Moving frames in and out of tables in batches (never one statement per row from our code).

Inserts go through the DBAPI connection underneath SQLAlchemy's, so they share its transaction:
SQLite gets executemany of tuples, PostgreSQL gets COPY.
"""

from __future__ import annotations

import io
from typing import Any

import polars as pl
import sqlalchemy as sa

BATCH = 100_000


def _prepared(frame: pl.DataFrame, table: sa.Table) -> pl.DataFrame:
    columns = [c for c in frame.columns if c in table.c]
    return frame.select(columns)


def insert_frame(conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> int:
    """Insert every row of `frame` (columns named as the table's; others are ignored)."""
    if frame.height == 0:
        return 0
    frame = _prepared(frame, table)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        _copy(conn, table, frame)
    elif dialect == "sqlite":
        _executemany(conn, table, frame)
    else:  # any other database SQLAlchemy speaks: portable, slower
        for offset in range(0, frame.height, BATCH):
            conn.execute(table.insert(), frame.slice(offset, BATCH).to_dicts())
    return frame.height


def _executemany(conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    # SQLite stores SQLAlchemy's Date as 'YYYY-MM-DD' text and Boolean as 0/1.
    frame = frame.with_columns(
        [pl.col(n).dt.strftime("%Y-%m-%d") for n, d in frame.schema.items() if d == pl.Date]
        + [pl.col(n).cast(pl.Int8) for n, d in frame.schema.items() if d == pl.Boolean]
    )
    names = ", ".join(f'"{c}"' for c in frame.columns)
    marks = ", ".join("?" for _ in frame.columns)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'  # noqa: S608 - our own names
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for offset in range(0, frame.height, BATCH):
            cursor.executemany(sql, frame.slice(offset, BATCH).rows())
    finally:
        cursor.close()


def _copy(conn: sa.Connection, table: sa.Table, frame: pl.DataFrame) -> None:
    names = ", ".join(f'"{c}"' for c in frame.columns)
    sql = f"COPY \"{table.name}\" ({names}) FROM STDIN (FORMAT csv, NULL '\\N')"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(sql) as copy:
            for offset in range(0, frame.height, BATCH):
                buffer = io.BytesIO()
                frame.slice(offset, BATCH).write_csv(
                    buffer, include_header=False, null_value="\\N", date_format="%Y-%m-%d"
                )
                copy.write(buffer.getvalue())
    finally:
        cursor.close()


def read_frame(
    conn: sa.Connection, query: sa.Select[Any], schema: dict[str, Any] | None = None
) -> pl.DataFrame:
    """A query's rows as a frame (column names from the query)."""
    result = conn.execute(query)
    names = list(result.keys())
    rows = result.fetchall()
    if schema is None:
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    return pl.DataFrame(rows, schema={n: schema.get(n) for n in names}, orient="row")
