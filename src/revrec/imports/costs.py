"""Cost rows (attribute names of a cost mapping, all strings, plus `line`) to typed contract costs.

A cost belongs to an SO line or a whole contract, and is amortized following the revenue,
straight-line over some months, or expensed at once (SPEC §4.1, §5 step 5). No I/O.
"""

from __future__ import annotations

import polars as pl

from revrec.imports.checks import (
    REQUIRED,
    boolean,
    bounded_cells,
    check,
    choice,
    duplicates,
    free_attributes,
    prepare,
    required,
    text,
)
from revrec.imports.mappings import KNOWN
from revrec.imports.sales_orders import unknown_currency, with_currency
from revrec.imports.values import dates, minor_units
from revrec.vocab import AMORTIZATIONS

ATTRIBUTES = KNOWN["cost"]
MAX_MONTHS = 600  # 50 years: straight-line amortization writes one row per month
OUTPUT = (
    "line", "cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id",
    "contract_id", "amortization", "amortization_months", "expense_immediately", "duplicate",
)  # fmt: skip


@bounded_cells
def to_costs(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good costs, row errors). raw: string columns named by attribute, `line` optional.

    Good costs have the columns of OUTPUT, then the free attributes: amount in minor units
    (signed: a negative cost is a clawback), cost_date a Date, amortization defaulted to
    follow_revenue, amortization_months an Int64 (straight_line only), expense_immediately a
    Boolean (default false).
    """
    frame = prepare(raw, ATTRIBUTES)
    free = free_attributes(frame, ATTRIBUTES)
    content = [c for c in frame.columns if c != "line"]
    frame = with_currency(frame)
    frame = minor_units(frame, "amount", "_exp", "_amount", "_currency")
    cost_date, cost_date_err = dates(pl.col("cost_date"))
    expense, expense_err = boolean("expense_immediately")
    months = text("amortization_months")
    frame = frame.with_columns(
        cost_date.alias("_cost_date"),
        expense.fill_null(value=False).alias("_expense"),
        text("amortization").str.to_lowercase().alias("_amortization"),
        pl.when(months.str.contains(r"^\+?[0-9]{1,9}$"))
        .then(months.cast(pl.Int64, strict=False))
        .alias("_months"),
    )
    frame = duplicates(frame, "cost_id", content)
    straight = (pl.col("_amortization") == "straight_line").fill_null(value=False)
    checks: dict[str, pl.Expr] = {
        **{f"{name}:required": required(name) for name in ("cost_id", "cost_type", "currency")},
        "currency": unknown_currency(),
        "amount": pl.col("_amount_error"),
        "cost_date": pl.when(pl.col("cost_date").is_null())
        .then(pl.lit(REQUIRED))
        .otherwise(cost_date_err),
        "so_line_id": pl.when(
            pl.col("so_line_id").is_null() & pl.col("contract_id").is_null()
        ).then(pl.lit("a value is required in so_line_id or contract_id")),
        "amortization": choice(
            pl.col("_amortization"), "amortization", AMORTIZATIONS, "amortization"
        ),
        "amortization_months": pl.when(straight & pl.col("amortization_months").is_null())
        .then(pl.lit(f"{REQUIRED} for straight_line amortization: a whole number of months"))
        .when(pl.col("amortization_months").is_not_null() & ~straight)
        .then(pl.lit("amortization_months is used only with amortization straight_line"))
        .when(
            pl.col("amortization_months").is_not_null()
            & ~pl.col("_months").is_between(1, MAX_MONTHS).fill_null(value=False)
        )
        .then(pl.lit(f"expected a whole number of months from 1 to {MAX_MONTHS}")),
        "expense_immediately": expense_err,
    }
    good, errors = check(frame, checks)
    good = good.select(
        "line",
        "cost_id",
        "cost_type",
        pl.col("_amount").alias("amount"),
        pl.col("_currency").alias("currency"),
        pl.col("_cost_date").alias("cost_date"),
        "so_line_id",
        "contract_id",
        pl.col("_amortization").fill_null(AMORTIZATIONS[0]).alias("amortization"),
        pl.col("_months").alias("amortization_months"),
        pl.col("_expense").alias("expense_immediately"),
        "duplicate",
        *(c for c in free if c not in OUTPUT),
    )
    return good, errors
