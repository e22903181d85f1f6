"""How each line is recognized: its method, convention and `at`, from its POB template, its
schedule_type (billing-driven lines, SPEC §3) and the book's method overrides (SPEC §2).

Pure: frames in, frames out; no I/O.
"""

from __future__ import annotations

import polars as pl

from revrec.vocab import DEFAULT_SCHEDULE_TYPE, SCHEDULE_TYPES

# Template defaults (decision 10): a ratable_monthly template without a convention prorates by
# days; a point_in_time template without `at` recognizes on the start date.
DEFAULT_CONVENTION = "prorate_days"
DEFAULT_AT = "start"
FALLBACK_METHOD = "ratable_daily"  # a template no longer set up (kept lines stay recognizable)

TEMPLATE_SCHEMA = {
    "pob_template": pl.String,
    "method": pl.String,
    "convention": pl.String,
    "at": pl.String,
}


def templates(rows: list[tuple[str, str, str | None, str | None]]) -> pl.DataFrame:
    """A templates frame from (name, method, convention, at) tuples."""
    return pl.DataFrame(rows, schema=TEMPLATE_SCHEMA, orient="row")


def resolve(
    lines: pl.DataFrame, templates: pl.DataFrame, overrides: pl.DataFrame | None = None
) -> pl.DataFrame:
    """`lines` (pob_template, schedule_type: either may be null) with method, convention, at.

    A line with a template uses it; a book override of the template's method replaces the method
    and drops its parameters. A line without a template (billing-driven) is recognized by its
    schedule_type (`evenly` when none). A template that is not set up falls back to ratable_daily.
    """
    known = templates.select(
        "pob_template",
        pl.col("method").alias("_t_method"),
        pl.col("convention").alias("_t_convention"),
        pl.col("at").alias("_t_at"),
    ).unique("pob_template", keep="first")
    # Lines without a template (billing-driven) match no template and no override: a null
    # key joins nothing.
    templated_lines = lines["pob_template"].null_count() < lines.height
    frame = lines
    if templated_lines:
        frame = frame.join(known, on="pob_template", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(
            pl.lit(None, dtype=known.schema[name]).alias(name) for name in known.columns[1:]
        )
    if templated_lines and overrides is not None and overrides.height:
        frame = frame.join(
            overrides.select("pob_template", pl.col("method").alias("_o_method")),
            on="pob_template",
            how="left",
            maintain_order="left",
        )
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("_o_method"))
    kind = pl.col("schedule_type").fill_null(DEFAULT_SCHEDULE_TYPE)
    by_type_method = kind.replace_strict(
        {k: v[0] for k, v in SCHEDULE_TYPES.items()},
        default=SCHEDULE_TYPES[DEFAULT_SCHEDULE_TYPE][0],
        return_dtype=pl.String,
    )
    by_type_at = kind.replace_strict(
        {k: v[1] for k, v in SCHEDULE_TYPES.items()}, default=None, return_dtype=pl.String
    )
    base = pl.col("_t_method").fill_null(FALLBACK_METHOD)
    overridden = pl.col("_o_method").is_not_null() & (pl.col("_o_method") != base)
    templated = pl.col("pob_template").is_not_null()
    method = (
        pl.when(~templated)
        .then(by_type_method)
        .when(overridden)
        .then(pl.col("_o_method"))
        .otherwise(base)
    )
    keeps_params = templated & ~overridden
    frame = frame.with_columns(
        method.alias("method"),
        pl.when(keeps_params).then(pl.col("_t_convention")).alias("convention"),
        pl.when(keeps_params).then(pl.col("_t_at")).otherwise(by_type_at).alias("at"),
    )
    return frame.with_columns(
        pl.when(pl.col("method") == "ratable_monthly")
        .then(pl.col("convention").fill_null(DEFAULT_CONVENTION))
        .alias("convention"),
        pl.when(pl.col("method") == "point_in_time")
        .then(pl.col("at").fill_null(DEFAULT_AT))
        .alias("at"),
    ).drop("_t_method", "_t_convention", "_t_at", "_o_method")
