"""Standalone selling prices from the SSP table (SPEC §2): each line's SSP unit price.

Pure: frames in, frames out; no I/O.
"""

from __future__ import annotations

from datetime import date

import polars as pl

TABLE_SCHEMA = {
    "item_code": pl.String,
    "currency": pl.String,
    "ssp": pl.Int64,  # unit price, minor units
    "ssp_percent_micro": pl.Int64,  # percent of list price x 1e6
    "valid_from": pl.Date,
    "valid_to": pl.Date,
}
HUNDRED_MICRO = 100_000_000


def resolve(lines: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """`lines` (item_code, currency, order_day, list_price, ssp_unit) with `ssp_unit` resolved.

    A line's own `ssp_unit` wins; else the table's row for its item and currency valid on its
    order date (the latest valid_from wins), as a unit price or as a percent of the line's list
    price, rounded half-up to the minor unit; else null (the line's own amount is its SSP).
    """
    if table.height == 0:
        return lines
    indexed = lines.with_row_index("_i")
    day = pl.col("order_day")
    candidates = (
        indexed.select("_i", "item_code", "currency", "order_day")
        .join(table.select(TABLE_SCHEMA.keys()), on=["item_code", "currency"], how="inner")
        .filter(
            (pl.col("valid_from").is_null() | (pl.col("valid_from") <= day))
            & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= day))
        )
        .sort("_i", pl.col("valid_from").fill_null(date(1, 1, 1)))
        .group_by("_i")
        .last()
    )
    joined = indexed.join(
        candidates.select("_i", pl.col("ssp").alias("_tssp"), "ssp_percent_micro"),
        on="_i",
        how="left",
    )
    list_price = pl.col("list_price").cast(pl.Int64, strict=False)
    from_percent = (list_price * pl.col("ssp_percent_micro") + HUNDRED_MICRO // 2) // HUNDRED_MICRO
    return joined.with_columns(
        pl.coalesce("ssp_unit", "_tssp", from_percent).alias("ssp_unit")
    ).drop("_i", "_tssp", "ssp_percent_micro")
