"""Vectorized parsing of file values: major-unit amounts to minor units, dates, quantities.

Each parser returns a column of values and a column of messages (null when the cell is good), so a
bad cell becomes a row error and never stops the good rows. No I/O.
"""

from __future__ import annotations

import polars as pl

from revrec.money import exponent

_AMOUNT = r"^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$"


def currency_exponents(currencies: pl.Series) -> pl.DataFrame:
    """currency -> exponent for the distinct currencies of a column; unknown ones get null."""
    known: list[tuple[str, int | None]] = []
    for code in currencies.drop_nulls().unique().to_list():
        try:
            known.append((code, exponent(code)))
        except Exception:  # noqa: BLE001 - an unknown code is a row error, reported by the caller
            known.append((code, None))
    return pl.DataFrame(known, schema={"currency": pl.String, "_exp": pl.Int64}, orient="row")


def minor_units(
    frame: pl.DataFrame, text: str, digits: str, out: str, currency: str | None = None
) -> pl.DataFrame:
    """Add `out` (minor units, Int64) and `out`_error for the major-unit strings in `text`.

    `digits` names the column of the currency's decimals; `currency`, when given, the column of
    its code, so a message can say "too many decimals: USD allows 2".

    "12.5" with 2 digits is 1250; "1.234" with 2 digits is an error, never a rounding. Trailing
    zeros past the currency's decimals lose nothing ("1.230" USD is 1.23) and are accepted.
    Work is staged through temporary columns so each regex runs once per cell.
    """
    if frame.get_column(text).null_count() == frame.height:
        return _empty(frame, out, "a value is required")
    cell, places = pl.col(text), pl.col(digits)
    frame = frame.with_columns(cell.str.extract_groups(_AMOUNT).alias("_parts"))
    frame = frame.with_columns(
        pl.col("_parts").struct.field("1").alias("_sign"),
        pl.col("_parts").struct.field("2").alias("_whole"),
        pl.col("_parts").struct.field("3").fill_null("").alias("_frac"),
    )
    frac = pl.col("_frac")
    frame = frame.with_columns(
        pl.when(frac.str.len_chars() > places)
        .then(frac.str.strip_chars_end("0"))
        .otherwise(frac)
        .alias("_frac")
    )
    whole = pl.col("_whole")
    shaped = pl.col("_parts").is_not_null() & (
        (whole.str.len_chars() > 0) | (frac.str.len_chars() > 0)
    )
    value = pl.when(whole.str.len_chars() > 0).then(whole).otherwise(pl.lit("0")).cast(
        pl.Int64, strict=False
    ) * pl.lit(10, dtype=pl.Int64).pow(places) + pl.when(places > 0).then(
        frac.str.pad_end(16, "0").str.slice(0, places).cast(pl.Int64, strict=False)
    ).otherwise(0)
    message = (
        pl.when(cell.is_null() | (cell.str.strip_chars() == ""))
        .then(pl.lit("a value is required"))
        .when(places.is_null())
        .then(pl.lit("no amount can be read without a known currency"))
        .when(~shaped)
        .then(pl.lit("expected an amount like 1234.56"))
        .when(frac.str.len_chars() > places)
        .then(
            pl.format("too many decimals: {} allows {}", pl.col(currency), places)
            if currency
            else pl.format("too many decimals: the currency allows {}", places)
        )
        .otherwise(None)
    )
    frame = frame.with_columns(
        pl.when(pl.col("_sign") == "-").then(-value).otherwise(value).alias(out),
        message.alias(f"{out}_error"),
    )
    return frame.with_columns(
        pl.when(pl.col(f"{out}_error").is_null()).then(pl.col(out)).alias(out)
    ).drop("_parts", "_sign", "_whole", "_frac")


def micro_units(frame: pl.DataFrame, text: str, out: str) -> pl.DataFrame:
    """Add `out` (the decimal x 1e6, Int64; null when the cell is empty) and `out`_error."""
    if frame.get_column(text).null_count() == frame.height:
        return _empty(frame, out, None)
    cell = pl.col(text)
    frame = frame.with_columns(cell.str.extract_groups(_AMOUNT).alias("_parts"))
    frame = frame.with_columns(
        pl.col("_parts").struct.field("1").alias("_sign"),
        pl.col("_parts").struct.field("2").alias("_whole"),
        pl.col("_parts").struct.field("3").fill_null("").alias("_frac"),
    )
    whole, frac = pl.col("_whole"), pl.col("_frac")
    value = pl.when(whole.str.len_chars() > 0).then(whole).otherwise(pl.lit("0")).cast(
        pl.Int64, strict=False
    ) * 1_000_000 + frac.str.pad_end(6, "0").str.slice(0, 6).cast(pl.Int64, strict=False)
    shaped = pl.col("_parts").is_not_null() & (
        (whole.str.len_chars() > 0) | (frac.str.len_chars() > 0)
    )
    message = (
        pl.when(cell.is_null())
        .then(None)
        .when(~shaped)
        .then(pl.lit("expected a number like 1.5"))
        .when(frac.str.len_chars() > 6)
        .then(pl.lit("at most 6 decimals are allowed"))
        .otherwise(None)
    )
    frame = frame.with_columns(
        pl.when(pl.col("_sign") == "-").then(-value).otherwise(value).alias(out),
        message.alias(f"{out}_error"),
    )
    return frame.with_columns(
        pl.when(cell.is_not_null() & pl.col(f"{out}_error").is_null()).then(pl.col(out)).alias(out)
    ).drop("_parts", "_sign", "_whole", "_frac")


def _empty(frame: pl.DataFrame, out: str, message: str | None) -> pl.DataFrame:
    """An all-empty column (an absent optional one, say) needs no regex: nulls and `message`."""
    return frame.with_columns(
        pl.lit(None, dtype=pl.Int64).alias(out),
        pl.lit(message, dtype=pl.String).alias(f"{out}_error"),
    )


def dates(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(Date, error message) of '2017-06-01', '2017-06-01T12:00:00Z' or '... 12:00:00 UTC'."""
    clean = text.str.strip_chars()
    day = clean.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    rest = clean.str.slice(10)
    stamp = clean.str.replace(r" UTC$", "Z").str.replace(" ", "T")
    with_offset = stamp.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%#z", strict=False, time_zone="UTC"
    ).dt.date()
    plain = rest.str.contains(r"^(T\d{2}:\d{2}:\d{2}Z| \d{2}:\d{2}:\d{2} UTC|)$")
    value = pl.when(plain).then(day).otherwise(with_offset)
    message = pl.when(value.is_null()).then(
        pl.lit("expected a date YYYY-MM-DD (optionally with a UTC time)")
    )
    return value, message
