"""Recording the engine's verdicts on keyed rows (costs, events) in a batch's outcome."""

from __future__ import annotations

import polars as pl

from revrec.services.processing.outcome import Outcome


def report(
    outcome: Outcome, judged: pl.DataFrame, key: str, conflict: str, failures: list[pl.Expr]
) -> pl.DataFrame:
    """Record the verdicts of `engine.verdicts.verdicts` in the outcome; failures are (column,
    value, message) structs, the first non-null one per failed row. Returns the accepted rows."""
    verdict = pl.col("_verdict")
    outcome.duplicate_all(judged.filter(verdict == "duplicate")["line"])
    outcome.fail_all(
        judged.filter(verdict == "conflict").select(
            "line",
            pl.lit(key).alias("column"),
            pl.col(key).cast(pl.String).fill_null("").alias("value"),
            pl.lit(conflict).alias("message"),
        )
    )
    failed = judged.filter(verdict == "failed")
    if failed.height:
        outcome.fail_all(failed.select("line", pl.coalesce(failures).alias("_why")).unnest("_why"))
    accepted = judged.filter(verdict == "accepted")
    outcome.ok_all(accepted["line"])
    return accepted


def why(column: str, value: pl.Expr, message: pl.Expr, when: pl.Expr) -> pl.Expr:
    """A failure (column, value, message) where `when` holds."""
    return pl.when(when).then(
        pl.struct(
            pl.lit(column).alias("column"),
            value.cast(pl.String).fill_null("").alias("value"),
            message.alias("message"),
        )
    )
