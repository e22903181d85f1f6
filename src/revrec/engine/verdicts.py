"""Duplicate and conflict verdicts on keyed rows in processing order (SPEC §4.5), as judging
them one by one would give, for a whole column at once.

Pure: frames in, frames out; no I/O.
"""

from __future__ import annotations

import polars as pl


def verdicts(rows: pl.DataFrame, key: str, stored: pl.DataFrame, passes: pl.Expr) -> pl.DataFrame:
    """`rows` (in processing order, with `_content`) with `_verdict`: a key in the store makes
    every row of it a duplicate (same content) or a conflict; otherwise the first row that
    `passes` its checks is accepted, the rows of the key after it are duplicates or conflicts of
    it, and the rows before it failed their checks. stored: key, _stored (its content)."""
    first = pl.col("_first")
    frame = (
        rows.with_row_index("_pos")
        .join(stored, on=key, how="left", maintain_order="left")
        .with_columns((pl.col("_stored").is_null() & passes).alias("_passes"))
    )
    repeated = pl.col(key).is_duplicated()
    frame = frame.with_columns(
        pl.when(repeated)
        .then(pl.col("_pos").filter(pl.col("_passes")).min().over(key))
        .when(pl.col("_passes"))
        .then(pl.col("_pos"))
        .alias("_first"),
    )
    frame = frame.with_columns(
        pl.when(repeated)
        .then(pl.col("_content").filter(pl.col("_pos") == first).first().over(key))
        .otherwise(pl.col("_content"))
        .alias("_first_content")
    )
    return frame.with_columns(
        pl.when(pl.col("_stored").is_not_null())
        .then(
            pl.when(pl.col("_content") == pl.col("_stored"))
            .then(pl.lit("duplicate"))
            .otherwise(pl.lit("conflict"))
        )
        .when(first.is_null() | (pl.col("_pos") < first))
        .then(pl.lit("failed"))
        .when(pl.col("_pos") == first)
        .then(pl.lit("accepted"))
        .when(pl.col("_content") == pl.col("_first_content"))
        .then(pl.lit("duplicate"))
        .otherwise(pl.lit("conflict"))
        .alias("_verdict")
    ).drop("_pos", "_passes", "_first", "_first_content")


def versions(rows: pl.DataFrame, owners: pl.DataFrame, latest: pl.DataFrame) -> pl.DataFrame:
    """Sales-order lines judged in processing order as one by one would give (SPEC §3, §4.5),
    for a whole batch at once.

    rows: line_id, contract_id, customer_id, currency, content_hash, in processing order.
    owners: contract_id, _customer, _currency of the stored contracts. latest: line_id,
    _version, _stored (content hash) of the stored lines' newest versions.

    Returns rows with `_verdict` (accepted, duplicate or failed) and `version` (accepted rows:
    the stored newest version plus the accepted rows of the line up to this one). A contract's
    customer and currency are the stored ones, else those of its first row in the batch; a row
    with another is failed (`_column`: customer_id or currency, `_has`: the contract's). A row
    whose content equals its line's newest version (stored, or accepted before it in the batch)
    is a duplicate; any other is a new version.
    """
    frame = _owned(rows.with_row_index("_pos"), owners)
    failed = frame.filter(pl.col("_column").is_not_null()).with_columns(
        pl.lit("failed").alias("_verdict"), pl.lit(None, dtype=pl.Int64).alias("version")
    )
    judged = _numbered(frame.filter(pl.col("_column").is_null()), latest)
    return (
        pl.concat([failed, judged], how="diagonal_relaxed")
        .sort("_pos")
        .drop("_pos", "_customer", "_currency")
    )


def _owned(frame: pl.DataFrame, owners: pl.DataFrame) -> pl.DataFrame:
    """Each row with its contract's customer and currency (the stored ones, else its first
    row's in the batch), and `_column` / `_has` where the row disagrees with them."""
    first = {name: pl.col(name).first().over("contract_id") for name in ("customer_id", "currency")}
    owned = frame.join(owners, on="contract_id", how="left", maintain_order="left").with_columns(
        pl.coalesce("_customer", first["customer_id"]).alias("_customer"),
        pl.coalesce("_currency", first["currency"]).alias("_currency"),
    )
    column = (
        pl.when(pl.col("customer_id") != pl.col("_customer"))
        .then(pl.lit("customer_id"))
        .when(pl.col("currency") != pl.col("_currency"))
        .then(pl.lit("currency"))
    )
    return owned.with_columns(column.alias("_column")).with_columns(
        pl.when(pl.col("_column") == "customer_id")
        .then(pl.col("_customer"))
        .when(pl.col("_column") == "currency")
        .then(pl.col("_currency"))
        .alias("_has")
    )


def _numbered(frame: pl.DataFrame, latest: pl.DataFrame) -> pl.DataFrame:
    """Rows of agreeing owners: a duplicate of the line's newest version (stored, or the row
    before it in the batch), else accepted as the next version."""
    before = pl.coalesce(pl.col("content_hash").shift(1).over("line_id"), pl.col("_stored"))
    return (
        frame.join(latest, on="line_id", how="left", maintain_order="left")
        .with_columns((pl.col("content_hash") == before).fill_null(value=False).alias("_same"))
        .with_columns(
            pl.when(pl.col("_same"))
            .then(pl.lit("duplicate"))
            .otherwise(pl.lit("accepted"))
            .alias("_verdict"),
            (
                pl.col("_version").fill_null(0)
                + (~pl.col("_same")).cast(pl.Int64).cum_sum().over("line_id")
            ).alias("version"),
        )
        .drop("_version", "_stored", "_same")
    )
