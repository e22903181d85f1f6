"""The legacy Revenue Recognition Schedules export (SPEC §10): one schedule per billing line, its
revenue cut around an as-of date into arrears, twelve calendar months and the future.

Pure: frames in, frames out, a page of billing lines at a time; no I/O, no clock (the caller
passes `as_of`). Money is int minor units throughout; only integer arithmetic touches it.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from revrec.calendar import epoch_day, month_index, month_start
from revrec.engine.exprs import I128, div_half_even, fits_int64

MONTHS = 12
MONTH_COLUMNS = tuple(f"month_{k}" for k in range(1, MONTHS + 1))
COLUMNS = (
    "revenue_schedule_id", "invoice_number", "invoice_date", "invoice_state", "account_code",
    "accounting_code", "line_item_id", "line_item_start_date", "line_item_end_date", "origin",
    "days", "amount_per_day", "total_amount", "currency", "schedule_type",
    "revenue_recognition_date", "deferred_revenue_balance", "arrears", *MONTH_COLUMNS,
    "future_revenue", "invoice_origin",
)  # fmt: skip
MONEY = (
    "amount_per_day", "total_amount", "deferred_revenue_balance", "arrears", *MONTH_COLUMNS,
    "future_revenue",
)  # fmt: skip
DATES = ("invoice_date", "line_item_start_date", "line_item_end_date", "revenue_recognition_date")
INTEGERS = ("revenue_schedule_id", "days")
OUTPUT_SCHEMA: dict[str, type[pl.DataType]] = {
    name: pl.Int64 if name in MONEY or name in INTEGERS else pl.Date if name in DATES else pl.String
    for name in COLUMNS
}
# What a page of billing lines carries in. `amount` is signed (INV, CMC positive; CM, IVC
# negative); `end` is exclusive, null for a one-time charge; `schedule_type` is the line's own
# when it has no POB template; the last four are as uploaded (null when not given).
INPUT_SCHEMA: dict[str, type[pl.DataType]] = {
    "revenue_schedule_id": pl.Int64,
    "doc_line_id": pl.String,
    "doc_type": pl.String,
    "doc_number": pl.String,
    "doc_date": pl.Date,
    "customer_id": pl.String,
    "currency": pl.String,
    "amount": pl.Int64,
    "start": pl.Date,
    "end": pl.Date,
    "item_code": pl.String,
    "pob_template": pl.String,
    "schedule_type": pl.String,
    "origin": pl.String,
    "invoice_state": pl.String,
    "invoice_origin": pl.String,
    "accounting_code": pl.String,
}
SCHEDULE_TYPES = ("evenly", "at_range_start", "at_range_end")
CREDITS = ("CM", "CMC")  # credit documents; INV and IVC are charge documents


def legacy_schedules(billings: pl.DataFrame, templates: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The export's rows (COLUMNS, typed as OUTPUT_SCHEMA) of a page of billing lines
    (INPUT_SCHEMA), in their order. `templates`: pob_template, method, at (the POB templates a
    line may name). month_1 is the calendar month of `as_of`."""
    frame = _with_days(billings.with_columns(_schedule_type(templates).alias("schedule_type")))
    days = _boundaries(as_of)
    # Each cumulative amount computed once, lazily (the plan shares the columns its
    # expressions repeat), from the columns it needs only.
    frame = frame.hstack(_revenue_before(frame, days).get_columns())
    before = [pl.col(f"_before{k}") for k in range(len(days))]
    rows = frame.lazy().select(
        pl.col("revenue_schedule_id"),
        pl.col("doc_number").alias("invoice_number"),
        pl.col("doc_date").alias("invoice_date"),
        _given("invoice_state").alias("invoice_state"),
        pl.col("customer_id").alias("account_code"),
        pl.coalesce(_given("accounting_code"), _given("item_code")).alias("accounting_code"),
        pl.col("doc_line_id").alias("line_item_id"),
        pl.col("start").alias("line_item_start_date"),
        pl.col("end").alias("line_item_end_date"),
        pl.coalesce(_given("origin"), _by_family("charge", "credit")).alias("origin"),
        pl.col("_days").alias("days"),
        pl.when(pl.col("_days") > 0)
        .then(div_half_even(pl.col("amount"), pl.col("_days"), pl.Int64))
        .alias("amount_per_day"),
        pl.col("amount").alias("total_amount"),
        pl.col("currency"),
        pl.col("schedule_type"),
        pl.when(pl.col("schedule_type") != "evenly")
        .then(pl.col("_point").cast(pl.Int32).cast(pl.Date))
        .alias("revenue_recognition_date"),
        (pl.col("amount") - before[-1]).alias("deferred_revenue_balance"),
        before[0].alias("arrears"),
        *((before[k] - before[k - 1]).alias(name) for k, name in enumerate(MONTH_COLUMNS, 1)),
        (pl.col("amount") - before[MONTHS]).alias("future_revenue"),
        pl.coalesce(_given("invoice_origin"), _by_family("purchase", "refund")).alias(
            "invoice_origin"
        ),
    )
    return rows.cast(OUTPUT_SCHEMA).collect()  # type: ignore[arg-type]


def schedule_type_of() -> pl.Expr:
    """A line's legacy schedule type: its own, else the one nearest its template's method
    (ratable_daily, ratable_monthly: evenly; point_in_time at end or range_end: at_range_end;
    any other: at_range_start), else evenly (SPEC §3's default)."""
    return _own_or(_by_method())


def _by_method() -> pl.Expr:
    """The legacy schedule type nearest a template's method (and at)."""
    return (
        pl.when(pl.col("method").is_in(["ratable_daily", "ratable_monthly"]))
        .then(pl.lit("evenly"))
        .when((pl.col("method") == "point_in_time") & pl.col("at").is_in(["end", "range_end"]))
        .then(pl.lit("at_range_end"))
        .when(pl.col("method").is_not_null())
        .then(pl.lit("at_range_start"))
    )


def _own_or(by_template: pl.Expr) -> pl.Expr:
    own = pl.col("schedule_type").str.to_lowercase()
    return (
        pl.when(own.is_in(SCHEDULE_TYPES))
        .then(own)
        .when(pl.col("pob_template").is_not_null())
        .then(by_template)
        .otherwise(pl.lit("evenly"))
        .fill_null(pl.lit("evenly"))
    )


def _schedule_type(templates: pl.DataFrame) -> pl.Expr:
    """`schedule_type_of` with each POB template's method looked up by name: the templates
    are few, the rows many."""
    by_template = (
        templates.select("pob_template", "method", "at")
        .unique("pob_template", keep="first")
        .select("pob_template", _by_method().alias("_type"))
    )
    return _own_or(
        pl.col("pob_template").replace_strict(
            by_template["pob_template"], by_template["_type"], default=None, return_dtype=pl.String
        )
    )


def _given(name: str) -> pl.Expr:
    """An uploaded text, null when empty."""
    return pl.when(pl.col(name) != "").then(pl.col(name))


def _by_family(charge: str, credit: str) -> pl.Expr:
    return pl.when(pl.col("doc_type").is_in(CREDITS)).then(pl.lit(credit)).otherwise(pl.lit(charge))


def _with_days(frame: pl.DataFrame) -> pl.DataFrame:
    """_s, _e (epoch days; _e null without an end), _days (null without one), _spread (evenly
    over the days) and _point (the epoch day everything is recognized on, when not spread)."""
    s, e = pl.col("start").cast(pl.Int64), pl.col("end").cast(pl.Int64)
    frame = frame.with_columns(s.alias("_s"), e.alias("_e"), (e - s).alias("_days"))
    spread = (pl.col("schedule_type") == "evenly") & (pl.col("_days") > 0)
    at_end = (pl.col("schedule_type") == "at_range_end") & pl.col("_e").is_not_null()
    return frame.with_columns(
        spread.fill_null(value=False).alias("_spread"),
        pl.when(at_end).then(pl.col("_e")).otherwise(pl.col("_s")).alias("_point"),
    )


def _boundaries(as_of: date) -> list[int]:
    """Epoch days: the first day of month_1 .. of the month after month_12, then the day after
    as_of (revenue dated before each)."""
    first = month_index(as_of)
    months = [epoch_day(month_start(first + k)) for k in range(MONTHS + 1)]
    return [*months, epoch_day(as_of) + 1]


def _revenue_before(frame: pl.DataFrame, days: list[int]) -> pl.DataFrame:
    """_before0.. : for each epoch day, the revenue of each row dated before it: over the days,
    the cumulative amount round_half_even(total x elapsed / days) (SPEC §1); else all or
    nothing, which is the same rule over one day starting on the point's day."""
    widest = frame.select(pl.col("amount").abs().max(), pl.col("_days").max()).row(0)
    dtype = pl.Int64 if fits_int64(widest[0] or 0, widest[1] or 0) else I128
    spread = pl.col("_spread")
    over = frame.lazy().select(
        pl.col("amount").cast(dtype).alias("total"),
        pl.when(spread).then(pl.col("_s")).otherwise(pl.col("_point")).alias("first"),
        pl.when(spread).then(pl.col("_days")).otherwise(1).alias("length"),
    )
    length = pl.col("length")
    return over.select(
        div_half_even(
            pl.col("total") * (pl.lit(day, dtype=pl.Int64) - pl.col("first")).clip(0, length),
            length,
            dtype,
        )
        .cast(pl.Int64)
        .alias(f"_before{k}")
        for k, day in enumerate(days)
    ).collect()
