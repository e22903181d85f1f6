"""Cost rows from the stage area into contract costs (SPEC §4.1): accepted, duplicate, a
conflict of a stored cost, or an unknown line or contract."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from revrec.engine.verdicts import verdicts
from revrec.imports import costs as cost_import
from revrec.services.processing.outcome import Outcome
from revrec.services.processing.staged import accounting_period, content_hash, given, validated
from revrec.services.processing.verdicts import report, why
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
    good, errors = validated(conn, rows, cost_import.to_costs, keyed=True)
    outcome.fail_all(errors)
    if good.height == 0:
        return
    good = _with_contract(
        conn, accounting_period(content_hash(good, "cost"), "cost_date", open_name)
    )
    stored = cost_store.stored_hashes(conn, good["cost_id"].to_list())
    judged = verdicts(
        good.with_columns(pl.col("content_hash").alias("_content")),
        "cost_id",
        stored,
        pl.coalesce(*FAILURES).is_null(),
    )
    accepted = report(outcome, judged, "cost_id", CONFLICT, FAILURES)
    cost_store.add(
        conn,
        accepted.with_columns(
            pl.col("so_line_id").alias("line_id"),
            pl.col("_contract").alias("contract_id"),
            pl.col("line").alias("stage_row_id"),
        ).select(STORED),
    )
    line_store.touch_contracts(conn, accepted["_contract"].unique().to_list())


def _with_contract(conn: sa.Connection, good: pl.DataFrame) -> pl.DataFrame:
    """Each cost's contract (its line's when it names one: `_line_contract`, else its own
    contract_id) and that contract's currency (`_contract_currency`); nulls when unknown."""
    so_lines = good.filter(given("so_line_id"))["so_line_id"].unique().to_list()
    of_line = line_store.contracts_of(conn, so_lines) if so_lines else {}
    line_contract = pl.col("so_line_id").replace_strict(
        of_line, default=None, return_dtype=pl.String
    )
    framed = good.with_columns(line_contract.alias("_line_contract")).with_columns(
        pl.when(given("so_line_id"))
        .then(pl.col("_line_contract"))
        .otherwise(pl.col("contract_id"))
        .alias("_contract")
    )
    ids = framed["_contract"].drop_nulls().unique().to_list()
    owners = line_store.owners_frame(conn, ids).select(
        pl.col("contract_id").alias("_contract"), pl.col("_currency").alias("_contract_currency")
    )
    return framed.join(owners, on="_contract", how="left", maintain_order="left")


_UNKNOWN_LINE = given("so_line_id") & pl.col("_line_contract").is_null()
_UNKNOWN_CONTRACT = ~given("so_line_id") & pl.col("_contract_currency").is_null()
_OTHER_CONTRACT = (
    given("so_line_id")
    & given("contract_id")
    & (pl.col("_line_contract") != pl.col("contract_id")).fill_null(value=False)
)
_OTHER_CURRENCY = pl.col("_contract_currency").is_not_null() & (
    pl.col("currency") != pl.col("_contract_currency")
)
FAILURES = [
    why("so_line_id", pl.col("so_line_id"), pl.lit("unknown so_line_id"), _UNKNOWN_LINE),
    why("contract_id", pl.col("contract_id"), pl.lit("unknown contract_id"), _UNKNOWN_CONTRACT),
    why(
        "contract_id",
        pl.col("contract_id"),
        pl.lit("the so_line_id belongs to contract ") + pl.col("_line_contract"),
        _OTHER_CONTRACT,
    ),
    why(
        "currency",
        pl.col("currency"),
        pl.lit("the contract's currency is ") + pl.col("_contract_currency"),
        _OTHER_CURRENCY,
    ),
]
