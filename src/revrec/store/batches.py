"""The stage rows a job takes, and what became of them: pending rows in processing order with
their uploaded values (as text, and typed as the import validated them), and their outcomes
(processed, duplicate, error with messages) written back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.store import payloads
from revrec.store import schema as t
from revrec.store.bulk import for_ids, read_frame
from revrec.vocab import KEY_OF_TYPE, TAB_OF_TYPE

ERROR_BATCH = 50_000


def pending(conn: sa.Connection, tabs: Iterable[str]) -> pl.DataFrame:
    """The pending rows of these tabs in processing order (accounting date, file, line), with
    their file's mapping and event name: row_id, tab, line, file_id, accounting_date, key,
    mapping, event_name."""
    s, f = t.stage_rows, t.files
    rows = read_frame(
        conn,
        sa.select(s.c.row_id, s.c.tab, s.c.line, s.c.file_id, s.c.accounting_date, s.c.key).where(
            s.c.tab.in_(list(tabs)) & (s.c.status == "pending")
        ),
    )
    # The few files of the batch are joined here rather than in SQL, once per row.
    files = read_frame(
        conn,
        sa.select(f.c.file_id, f.c.mapping, f.c.event_name).where(
            f.c.file_id.in_(rows["file_id"].unique().to_list())
        ),
        {"file_id": pl.Int64, "mapping": pl.String, "event_name": pl.String},
    )
    return rows.join(files, on="file_id", how="inner").sort(
        "accounting_date", "file_id", "line", nulls_last=conn.dialect.name == "postgresql"
    )


def values(conn: sa.Connection, rows: pl.DataFrame) -> pl.DataFrame:
    """The staged rows' uploaded values as columns, with `line` = the stage row id (so the
    validators' errors point at stage rows)."""
    if rows.height == 0:
        return pl.DataFrame({"line": pl.Series([], dtype=pl.Int64)})
    found = payloads.of_rows(conn, rows)
    return found.select(pl.col("row_id").alias("line"), pl.all().exclude("row_id"))


def typed_values(conn: sa.Connection, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(typed, untyped) of these staged rows: the typed values the import kept of those that
    have them (the validators' columns, with `line` = the stage row id, in the rows' order),
    and the rows (as given) that have none: staged before the import kept them."""
    if rows.height == 0:
        return pl.DataFrame({"line": pl.Series([], dtype=pl.Int64)}), rows
    found = payloads.values_of_rows(conn, rows)
    typed = found.select(pl.col("row_id").alias("line"), pl.all().exclude("row_id"))
    untyped = rows.filter(~pl.col("row_id").is_in(found["row_id"].implode()))
    return typed, untyped


def mark(conn: sa.Connection, status: str, messages: str, ids: pl.Series) -> None:
    """These rows (ids, any order) get one status and one messages JSON text."""
    s = t.stage_rows
    for condition in for_ids(conn, s.c.row_id, ids):
        conn.execute(s.update().where(condition).values(status=status, messages=messages))


def mark_duplicates(conn: sa.Connection, message: str, ids: pl.Series) -> None:
    """These rows are processed as duplicates (of a processed row, or of an identical row of
    their file that was processed): each gets one message naming its key column (by its tab)
    and its key, built in SQL so that a million duplicates stay one UPDATE per run of ids."""
    s = t.stage_rows
    column = sa.case(
        *((s.c.tab == tab, sa.literal(KEY_OF_TYPE[kind])) for kind, tab in TAB_OF_TYPE.items()),
        else_=sa.literal(""),
    )
    built: sa.ColumnElement[Any]
    if conn.dialect.name == "postgresql":
        built = sa.cast(
            sa.func.json_build_array(
                sa.func.json_build_object("column", column, "value", s.c.key, "message", message)
            ),
            sa.Text,
        )
    else:
        built = sa.func.json_array(
            sa.func.json_object("column", column, "value", s.c.key, "message", message)
        )
    for condition in for_ids(conn, s.c.row_id, ids):
        conn.execute(s.update().where(condition).values(status="processed", messages=built))


def mark_errors(conn: sa.Connection, failed: dict[int, list[dict[str, str]]]) -> None:
    """Error rows, each with its own messages."""
    s = t.stage_rows
    params = [{"rid": rid, "msgs": json.dumps(msgs)} for rid, msgs in failed.items()]
    statement = (
        s.update()
        .where(s.c.row_id == sa.bindparam("rid"))
        .values(status="error", messages=sa.bindparam("msgs"))
    )
    for offset in range(0, len(params), ERROR_BATCH):
        conn.execute(statement, params[offset : offset + ERROR_BATCH])
