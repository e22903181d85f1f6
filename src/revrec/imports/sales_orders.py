"""Sales-order rows (upload names of the `revrec` mapping, all strings) to engine lines.

Validation is per cell and vectorized: every problem becomes a row error (file line, column,
value, message) and the good rows go on. No I/O: the caller reads the file.
"""

from __future__ import annotations

import polars as pl

from revrec.imports.values import currency_exponents, dates, micro_units, minor_units

REQUIRED = (
    "contract_id",
    "customer_id",
    "so_number",
    "so_line_id",
    "order_date",
    "item_code",
    "pob_template",
    "amount",
    "currency",
)
OPTIONAL = (
    "service_start_date",
    "service_end_date",
    "quantity",
    "list_price",
    "ssp",
    "exclude_from_allocation",
    "modification_date",
    "ssp_method",
    "modification_policy",
)
ERROR_SCHEMA = {"line": pl.Int64, "column": pl.String, "value": pl.String, "message": pl.String}
FIRST_DATA_LINE = 2  # line 1 of a file holds the headings


def to_lines(raw: pl.DataFrame, templates: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good lines, row errors). raw: string columns named by upload name, in file order."""
    for name in OPTIONAL:
        if name not in raw.columns:
            raw = raw.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    frame = raw.with_row_index("line", offset=FIRST_DATA_LINE).with_columns(
        pl.col("line").cast(pl.Int64), pl.col("currency").str.strip_chars().str.to_uppercase()
    )
    frame = frame.join(currency_exponents(frame["currency"]), on="currency", how="left")
    frame = frame.join(templates, on="pob_template", how="left")
    digits = pl.col("_exp")
    frame = minor_units(frame, "amount", "_exp", "amount_minor")
    frame = minor_units(frame, "ssp", "_exp", "ssp_unit")
    frame = micro_units(frame, "quantity", "quantity_micro")
    order_date, order_err = dates(pl.col("order_date"))
    start, start_err = dates(pl.col("service_start_date"))
    end, end_err = dates(pl.col("service_end_date"))
    frame = frame.with_columns(
        pl.col("quantity_micro").fill_null(1_000_000),
        order_date.alias("order_day"),
        start.alias("start"),
        # The file's service end is inclusive; the engine's end is exclusive.
        (end + pl.duration(days=1)).alias("end"),
    )
    present = pl.col("ssp").is_not_null() & (pl.col("ssp").str.strip_chars() != "")
    checks: dict[str, pl.Expr] = {
        **{
            f"{name}:required": pl.when(
                pl.col(name).is_null() | (pl.col(name).str.strip_chars() == "")
            ).then(pl.lit("a value is required"))
            for name in REQUIRED
            if name not in ("amount", "order_date")
        },
        "currency": pl.when(pl.col("currency").is_not_null() & digits.is_null()).then(
            pl.lit("unknown currency: expected an ISO 4217 code such as USD")
        ),
        "pob_template": pl.when(
            pl.col("pob_template").is_not_null() & pl.col("method").is_null()
        ).then(pl.lit("unknown POB template")),
        "amount": pl.col("amount_minor_error"),
        "ssp": pl.when(present).then(pl.col("ssp_unit_error")),
        "quantity": pl.col("quantity_micro_error"),
        "order_date": order_err,
        "service_start_date": pl.when(pl.col("service_start_date").is_not_null()).then(start_err),
        "service_end_date": pl.when(
            pl.col("service_end_date").is_not_null() & end_err.is_not_null()
        )
        .then(end_err)
        .when(pl.col("end") <= pl.col("start"))
        .then(pl.lit("service end is before service start")),
    }
    frame = frame.with_columns(expr.alias(f"_err:{key}") for key, expr in checks.items())
    errors = _collect_errors(frame, list(checks))
    bad = errors["line"].unique().implode()
    good = frame.filter(~pl.col("line").is_in(bad)).select(
        "contract_id",
        pl.col("so_line_id").alias("line_id"),
        pl.col("line").alias("line_no"),
        "customer_id",
        "currency",
        pl.col("amount_minor").alias("amount"),
        "quantity_micro",
        "ssp_unit",
        (pl.col("exclude_from_allocation").str.to_lowercase() == "true")
        .fill_null(value=False)
        .alias("exclude"),
        (pl.col("ssp_method") == "residual").fill_null(value=False).alias("residual"),
        "pob_template",
        "method",
        "convention",
        "at",
        pl.col("start").fill_null(pl.col("order_day")),
        "end",
        "order_day",
    )
    return good, errors


def _collect_errors(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    parts = []
    for key in keys:
        column = key.split(":")[0]
        found = frame.filter(pl.col(f"_err:{key}").is_not_null())
        if found.height:
            parts.append(
                found.select(
                    "line",
                    pl.lit(column).alias("column"),
                    pl.col(column).cast(pl.String).fill_null("").alias("value"),
                    pl.col(f"_err:{key}").alias("message"),
                )
            )
    if not parts:
        return pl.DataFrame(schema=ERROR_SCHEMA)
    return pl.concat(parts).sort("line", "column")
