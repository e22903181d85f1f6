"""Cost rows from the stage area into contract costs (SPEC §4.1): accepted, duplicate, a
conflict of a stored cost, or an unknown line or contract."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from revrec.engine.verdicts import verdicts
from revrec.imports import costs as cost_import
from revrec.services.processing.outcome import Outcome
from revrec.services.processing.staged import accounting_period, content_hash, given
from revrec.services.processing.verdicts import report, why
from revrec.store import batches
from revrec.store import costs as cost_store
from revrec.store import lines as line_store

CONFLICT = "this cost was processed before with different content"
STORED = (
    "cost_id", "cost_type", "amount", "currency", "cost_date", "line_id", "contract_id",
    "amortization", "amortization_months", "expense_immediately", "period", "content_hash",
    "stage_row_id",
)  # fmt: skip


def apply(conn: sa.Connection, rows: pl.DataFrame, open_name: str, outcome: Outcome) -> None:
    if rows.height == 0:
        return
    good, errors = cost_import.to_costs(batches.values(conn, rows))
    outcome.fail_all(errors)
    if good.height == 0:
        return
    good = accounting_period(content_hash(good, "cost"), "cost_date", open_name)
    stored = cost_store.stored_hashes(conn, good["cost_id"].to_list())
    so_lines = good.filter(given("so_line_id"))["so_line_id"].unique().to_list()
    lines = pl.Series(list(line_store.contracts_of(conn, so_lines)) if so_lines else [],
                      dtype=pl.String)  # fmt: skip
    ids = good.filter(~given("so_line_id"))["contract_id"].drop_nulls().unique().to_list()
    contracts = line_store.existing_contracts(conn, ids) if ids else pl.Series([], dtype=pl.String)
    unknown_line = given("so_line_id") & ~pl.col("so_line_id").is_in(lines.implode())
    unknown_contract = ~given("so_line_id") & ~pl.col("contract_id").is_in(
        contracts.implode()
    ).fill_null(value=False)
    judged = verdicts(
        good.with_columns(pl.col("content_hash").alias("_content")),
        "cost_id",
        stored,
        ~unknown_line & ~unknown_contract,
    )
    failures = [
        why("so_line_id", pl.col("so_line_id"), pl.lit("unknown so_line_id"), unknown_line),
        why("contract_id", pl.col("contract_id"), pl.lit("unknown contract_id"), unknown_contract),
    ]
    accepted = report(outcome, judged, "cost_id", CONFLICT, failures)
    cost_store.add(
        conn,
        accepted.with_columns(
            pl.col("so_line_id").alias("line_id"), pl.col("line").alias("stage_row_id")
        ).select(STORED),
    )
