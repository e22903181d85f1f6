"""Contract costs (SPEC §4.1): the stored ones' content hashes, and accepted costs written."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from revrec.store import bulk
from revrec.store import schema as t
from revrec.store.bulk import insert_frame


def stored_hashes(conn: sa.Connection, cost_ids: list[str]) -> pl.DataFrame:
    """cost_id, _stored (its content hash) of the stored rows among these."""
    return bulk.stored_hashes(conn, t.costs, "cost_id", cost_ids)


def add(conn: sa.Connection, costs: pl.DataFrame) -> None:
    insert_frame(conn, t.costs, costs)
