"""Vectorized parsing of file values: major-unit amounts to minor units, dates, quantities.

Each parser returns a column of values and a column of messages (null when the cell is good), so a
bad cell becomes a row error and never stops the good rows. No I/O.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from revrec.money import exponent

# ASCII digits only: `\d` would also take other scripts' digits (full-width ones, say), which
# Polars cannot turn into a number. Nothing else is read as part of an amount: no thousands
# separators, currency signs, brackets or exponents (they are row errors, never a guess).
_AMOUNT = r"^\s*([+-]?)([0-9]*)(?:\.([0-9]*))?\s*$"
# The days revrec handles: a service end date's exclusive end, a schedule's months and a
# period's name all stay within the calendar (decision 47).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
MAX_WHOLE_DIGITS = 15  # major units below 10^15: any currency's minor units fit an Int64
MAX_MICRO_DIGITS = 12  # quantities and percents x 10^6 fit an Int64


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
    frame = _parts(frame, cell)
    frac = pl.col("_frac")
    frame = frame.with_columns(
        pl.when(frac.str.len_chars() > places)
        .then(frac.str.strip_chars_end("0"))
        .otherwise(frac)
        .alias("_frac")
    )
    whole = pl.col("_whole")
    frame = frame.with_columns(
        (
            pl.when(whole.str.len_chars() > 0).then(whole).otherwise(pl.lit("0"))
            .cast(pl.Int64, strict=False) * pl.lit(10, dtype=pl.Int64).pow(places)
            + pl.when(places > 0)
            .then(frac.str.pad_end(16, "0").str.slice(0, places).cast(pl.Int64, strict=False))
            .otherwise(0)
        ).alias("_value")
    )  # fmt: skip
    message = (
        pl.when(cell.is_null() | (cell.str.strip_chars() == ""))
        .then(pl.lit("a value is required"))
        .when(places.is_null())
        .then(pl.lit("no amount can be read without a known currency"))
        .when(~pl.col("_shaped"))
        .then(pl.lit("expected an amount like 1234.56"))
        .when(whole.str.len_chars() > MAX_WHOLE_DIGITS)
        .then(pl.lit(f"expected at most {MAX_WHOLE_DIGITS} digits before the decimal point"))
        .when(frac.str.len_chars() > places)
        .then(
            pl.format("too many decimals: {} allows {}", pl.col(currency), places)
            if currency
            else pl.format("too many decimals: the currency allows {}", places)
        )
        .when(pl.col("_value").is_null())
        .then(pl.lit("expected an amount like 1234.56"))
        .otherwise(None)
    )
    value = pl.col("_value")
    frame = frame.with_columns(
        pl.when(pl.col("_sign") == "-").then(-value).otherwise(value).alias(out),
        message.alias(f"{out}_error"),
    )
    return frame.with_columns(
        pl.when(pl.col(f"{out}_error").is_null()).then(pl.col(out)).alias(out)
    ).drop("_sign", "_whole", "_frac", "_shaped", "_value")


def _parts(frame: pl.DataFrame, cell: pl.Expr) -> pl.DataFrame:
    """`_sign`, `_whole`, `_frac` (text) of a decimal cell and `_shaped`: whether the cell is a
    decimal at all (a sign, digits and at most one point, at least one digit). A cell that is not
    gets `_shaped` false; its parts are then meaningless."""
    frame = frame.with_columns(cell.str.extract_groups(_AMOUNT).alias("_parts"))
    parts = pl.col("_parts")
    sign = parts.struct.field("1")
    whole = parts.struct.field("2").fill_null("")
    frac = parts.struct.field("3").fill_null("")
    return frame.with_columns(
        sign.alias("_sign"),
        whole.alias("_whole"),
        frac.alias("_frac"),
        # The sign group takes part in every match (as "" when there is no sign): null means
        # the cell did not match at all.
        (sign.is_not_null() & ((whole.str.len_chars() + frac.str.len_chars()) > 0)).alias(
            "_shaped"
        ),
    ).drop("_parts")


def micro_units(frame: pl.DataFrame, text: str, out: str) -> pl.DataFrame:
    """Add `out` (the decimal x 1e6, Int64; null when the cell is empty) and `out`_error."""
    if frame.get_column(text).null_count() == frame.height:
        return _empty(frame, out, None)
    cell = pl.col(text)
    frame = _parts(frame, cell)
    whole, frac = pl.col("_whole"), pl.col("_frac")
    frame = frame.with_columns(
        (
            pl.when(whole.str.len_chars() > 0).then(whole).otherwise(pl.lit("0"))
            .cast(pl.Int64, strict=False) * 1_000_000
            + frac.str.pad_end(6, "0").str.slice(0, 6).cast(pl.Int64, strict=False)
        ).alias("_value")
    )  # fmt: skip
    message = (
        pl.when(cell.is_null())
        .then(None)
        .when(~pl.col("_shaped"))
        .then(pl.lit("expected a number like 1.5"))
        .when(whole.str.len_chars() > MAX_MICRO_DIGITS)
        .then(pl.lit(f"expected at most {MAX_MICRO_DIGITS} digits before the decimal point"))
        .when(frac.str.len_chars() > 6)
        .then(pl.lit("at most 6 decimals are allowed"))
        .when(pl.col("_value").is_null())
        .then(pl.lit("expected a number like 1.5"))
        .otherwise(None)
    )
    value = pl.col("_value")
    frame = frame.with_columns(
        pl.when(pl.col("_sign") == "-").then(-value).otherwise(value).alias(out),
        message.alias(f"{out}_error"),
    )
    return frame.with_columns(
        pl.when(cell.is_not_null() & pl.col(f"{out}_error").is_null()).then(pl.col(out)).alias(out)
    ).drop("_sign", "_whole", "_frac", "_shaped", "_value")


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
    plain = rest.str.contains(r"^(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z| [0-9]{2}:[0-9]{2}:[0-9]{2} UTC|)$")
    parsed = pl.when(plain).then(day).otherwise(with_offset)
    supported = parsed.is_between(pl.lit(FIRST_DAY), pl.lit(LAST_DAY))
    value = pl.when(supported).then(parsed)
    shaped = clean.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")
    message = (
        pl.when(value.is_not_null())
        .then(None)
        .when(parsed.is_not_null())
        .then(pl.lit(f"dates from {FIRST_DAY} to {LAST_DAY} are supported"))
        .when(shaped & day.is_null())
        .then(pl.lit("not a day of the calendar"))
        .otherwise(pl.lit("expected a date YYYY-MM-DD (optionally with a UTC time)"))
    )
    return value, message
