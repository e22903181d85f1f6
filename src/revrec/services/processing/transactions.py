"""The transaction_import job: staged sales orders, billings and costs into the subledger."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from revrec.services.imports import templates_frame
from revrec.services.processing import billings, costs, sales_orders
from revrec.services.processing.outcome import JobResult, Outcome
from revrec.services.processing.staged import (
    held_by_journal,
    settle_repeats,
    split_repeats,
    write_outcome,
)
from revrec.services.setup import open_period
from revrec.store import batches


def transaction_import(conn: sa.Connection) -> JobResult:
    """The pending sales orders, billings and costs judged in processing order and applied; a
    row repeating an identical row of its file is not judged but takes that row's outcome."""
    pending = batches.pending(conn, ("contracts", "documents", "cost"))
    if pending.height == 0:
        return JobResult("transaction_import")
    held = held_by_journal(conn, pending, "transaction_import")
    if held is not None:
        return held
    pending, repeats = split_repeats(pending)
    outcome = Outcome()
    open_name = open_period(conn)
    templates = templates_frame(conn)
    tab = pl.col("tab")
    sales_orders.apply(conn, pending.filter(tab == "contracts"), templates, open_name, outcome)
    billings.apply(conn, pending.filter(tab == "documents"), templates, open_name, outcome)
    costs.apply(conn, pending.filter(tab == "cost"), open_name, outcome)
    settle_repeats(outcome, repeats)
    write_outcome(conn, outcome)
    return outcome.result("transaction_import")
