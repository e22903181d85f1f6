"""Revenue postings per book, line and period: what closed periods posted (read) and the open
period's posting (replaced by each revenue run). Closed periods' rows are never written here.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from revrec.store import schema as t
from revrec.store.bulk import among, insert_frame
from revrec.store.lines import of_touched


def closed_of_touched(
    conn: sa.Connection, open_periods: dict[str, str], line_ids: pl.Series, *, whole: bool
) -> pl.DataFrame:
    """What was posted to each book's closed periods for these lines of the touched contracts:
    book, line_id, period ('YYYY-MM'), amount."""
    p = t.postings
    parts = [
        of_touched(
            conn,
            sa.select(p.c.book, p.c.line_id, p.c.period, p.c.amount).where(
                (p.c.book == book) & (p.c.period < open_name)
            ),
            p.c.line_id,
            line_ids,
            whole=whole,
        )
        for book, open_name in open_periods.items()
    ]
    schema = {"book": pl.String, "line_id": pl.String, "period": pl.String, "amount": pl.Int64}
    return pl.concat([pl.DataFrame(schema=schema), *(f.cast(schema) for f in parts)])  # type: ignore[arg-type]


def replace_open(
    conn: sa.Connection, book: str, open_name: str, line_ids: pl.Series, rows: pl.DataFrame
) -> int:
    """The open period's postings of these lines in a book become `rows` (line_id, amount)."""
    p = t.postings
    of_period = (p.c.book == book) & (p.c.period == open_name)
    # A period's first run (a new period's, after a close) has nothing to replace.
    if conn.execute(sa.select(p.c.line_id).where(of_period).limit(1)).first() is not None:
        conn.execute(p.delete().where(of_period & among(conn, p.c.line_id, line_ids)))
    return insert_frame(
        conn,
        p,
        rows.select(
            pl.lit(book).alias("book"), "line_id", pl.lit(open_name).alias("period"), "amount"
        ),
    )
