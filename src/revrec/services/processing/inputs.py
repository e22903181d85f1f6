"""The engine's Inputs from what the store's repositories read: one place turns stored frames
('YYYY-MM' periods, the setup's books) into the engine's typed frames (month indexes), for the
revenue job (the touched contracts) and the reports (every contract as of a period).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.calendar import parse_period, period_indexes
from revrec.engine import run as engine
from revrec.engine.costs import COST_POSTING_SCHEMA, COST_SCHEMA
from revrec.services.imports import templates_frame
from revrec.store import rules
from revrec.vocab import POLICIES

_BILLING_TYPES: Any = {**engine.BILLING_SCHEMA, **engine.BILLING_DOC_SCHEMA}


def _indexed(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(period_indexes(pl.col("period")).alias("period"))


def engine_inputs(
    conn: sa.Connection,
    books: Sequence[Mapping[str, Any]],
    *,
    versions: pl.DataFrame,
    billings: pl.DataFrame,
    events: pl.DataFrame,
    stored_allocations: pl.DataFrame,
    posted: pl.DataFrame,
    costs: pl.DataFrame,
    posted_costs: pl.DataFrame,
) -> engine.Inputs:
    """Inputs of one engine run. `books`: each book, its open period and method overrides
    (`store.rules.books`); periods of the frames as stored ('YYYY-MM')."""
    return engine.Inputs(
        lines=versions.select(
            pl.col(name).cast(dtype) for name, dtype in engine.LINE_SCHEMA.items()
        ),
        billings=_indexed(billings).cast(_BILLING_TYPES),
        events=events.cast(engine.EVENT_SCHEMA),  # type: ignore[arg-type]
        stored_allocations=stored_allocations,
        posted=_indexed(posted).cast(engine.POSTING_SCHEMA),  # type: ignore[arg-type]
        books=pl.DataFrame(
            [(str(bk["book"]), parse_period(str(bk["open_period"]))) for bk in books],
            schema=engine.BOOK_SCHEMA,
            orient="row",
        ),
        overrides=pl.DataFrame(
            [
                (bk["book"], template, method)
                for bk in books
                for template, method in dict(bk["methods"]).items()
            ],
            schema=engine.OVERRIDE_SCHEMA,
            orient="row",
        ),
        templates=templates_frame(conn),
        policies=rules.contract_policies(conn),
        default_policy=rules.setting(conn, "modification_policy") or POLICIES[0],
        costs=_indexed(costs).cast(COST_SCHEMA),  # type: ignore[arg-type]
        posted_costs=_indexed(posted_costs).cast(COST_POSTING_SCHEMA),  # type: ignore[arg-type]
        accounts=rules.accounts(conn),
    )
