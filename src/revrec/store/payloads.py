"""The uploaded rows, per file in chunks of compressed Arrow IPC, in two tables:

- stage_payloads: the rows' attributes as they were read, after the mapping's renames: the
  column `line` (the file line, as in stage_rows.line) and one text column per attribute.
- stage_values: what the import's validators made of the file's good rows (typed columns:
  minor units, dates, flags, resolved templates), `line` the file line. A file staged before
  these were kept has none.

Rows are found again by (file_id, line).
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import polars as pl
import sqlalchemy as sa

from revrec.store import schema as t

CHUNK = 250_000  # rows a chunk: a listing of a few rows decodes at most this many
NO_ROWS = {"file_id": pl.Int64, "line": pl.Int64}


def write(conn: sa.Connection, file_id: int, rows: pl.DataFrame) -> None:
    """Store a file's rows: `line` and the attribute columns (cast to text)."""
    frame = rows.select(pl.col("line").cast(pl.Int64), pl.all().exclude("line").cast(pl.String))
    _write(conn, t.stage_payloads, file_id, frame)


def write_values(conn: sa.Connection, file_id: int, good: pl.DataFrame) -> None:
    """Store the typed good rows of a file as given (`line` the file line); none: nothing."""
    if good.height:
        _write(conn, t.stage_values, file_id, good.with_columns(pl.col("line").cast(pl.Int64)))


def _write(conn: sa.Connection, table: sa.Table, file_id: int, frame: pl.DataFrame) -> None:
    chunks = []
    for number, offset in enumerate(range(0, max(frame.height, 1), CHUNK)):
        buffer = io.BytesIO()
        frame.slice(offset, CHUNK).write_ipc(buffer, compression="zstd")
        chunks.append({"file_id": file_id, "chunk": number, "payload": buffer.getvalue()})
    conn.execute(table.insert(), chunks)


def read(conn: sa.Connection, file_ids: Iterable[int]) -> pl.DataFrame:
    """The rows of these files: `file_id`, `line` and every attribute column any of them has
    (null where a file has no such column)."""
    return _read(conn, t.stage_payloads, file_ids)


def _read(conn: sa.Connection, table: sa.Table, file_ids: Iterable[int]) -> pl.DataFrame:
    wanted = sorted(set(file_ids))
    if not wanted:
        return pl.DataFrame(schema=NO_ROWS)
    found = conn.execute(
        sa.select(table.c.file_id, table.c.payload)
        .where(table.c.file_id.in_(wanted))
        .order_by(table.c.file_id, table.c.chunk)
    )
    parts = [
        pl.read_ipc(io.BytesIO(payload)).with_columns(
            pl.lit(file_id, dtype=pl.Int64).alias("file_id")
        )
        for file_id, payload in found
    ]
    if not parts:
        return pl.DataFrame(schema=NO_ROWS)
    frame = pl.concat(parts, how="diagonal_relaxed")
    return frame.select("file_id", "line", pl.all().exclude("file_id", "line"))


def of_rows(conn: sa.Connection, rows: pl.DataFrame) -> pl.DataFrame:
    """The attributes of these stage rows (columns `file_id`, `line`, ...), in their order:
    `row_id` and every attribute column (text)."""
    data = read(conn, rows["file_id"].unique().to_list())
    return (
        rows.select("row_id", "file_id", "line")
        .join(data, on=["file_id", "line"], how="left", maintain_order="left")
        .drop("file_id", "line")
    )


def values_of_rows(conn: sa.Connection, rows: pl.DataFrame) -> pl.DataFrame:
    """The typed values of those of these stage rows (columns `row_id`, `file_id`, `line`, ...)
    that have them, in their order: `row_id` and the validators' columns but `line`."""
    data = _read(conn, t.stage_values, rows["file_id"].unique().to_list())
    return (
        rows.select("row_id", "file_id", "line")
        .join(data, on=["file_id", "line"], how="inner", maintain_order="left")
        .drop("file_id", "line")
    )
