"""Contract costs (SPEC §4.1): the stored ones' content hashes, and accepted costs written."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from revrec.store import schema as t
from revrec.store.bulk import among, insert_frame, read_frame


def stored_hashes(conn: sa.Connection, cost_ids: list[str]) -> pl.DataFrame:
    """cost_id, _stored (its content hash) of the stored costs among these."""
    c = t.costs
    return read_frame(
        conn,
        sa.select(c.c.cost_id, c.c.content_hash.label("_stored")).where(
            among(conn, c.c.cost_id, cost_ids)
        ),
        {"cost_id": pl.String, "_stored": pl.String},
    )


def add(conn: sa.Connection, costs: pl.DataFrame) -> None:
    insert_frame(conn, t.costs, costs)
