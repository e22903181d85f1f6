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
