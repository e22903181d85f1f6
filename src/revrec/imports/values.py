"""Vectorized parsing of file values: major-unit amounts to minor units, dates, quantities.

Each parser returns a column of values and a column of messages (null when the cell is good), so a
bad cell becomes a row error and never stops the good rows. No I/O.
"""

from __future__ import annotations

import polars as pl

from revrec.money import exponent

_AMOUNT = r"^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$"
_DECIMAL_PATTERN = r"^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$"


def currency_exponents(currencies: pl.Series) -> pl.DataFrame:
    """currency -> exponent for the distinct currencies of a column; unknown ones get null."""
    known: list[tuple[str, int | None]] = []
    for code in currencies.drop_nulls().unique().to_list():
        try:
            known.append((code, exponent(code)))
        except Exception:  # noqa: BLE001 - an unknown code is a row error, reported by the caller
            known.append((code, None))
    return pl.DataFrame(known, schema={"currency": pl.String, "_exp": pl.Int64}, orient="row")


def minor_units(text: pl.Expr, digits: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(minor units Int64, error message) of a major-unit string column, exactly.

    "12.5" with 2 digits is 1250; "1.234" with 2 digits is an error, never a rounding.
    """
    parts = text.str.extract_groups(_AMOUNT)
    sign = parts.struct.field("1")
    whole = parts.struct.field("2")
    frac = parts.struct.field("3").fill_null("")
    # Trailing zeros past the currency's decimals lose nothing ("1.230" USD is 1.23); any other
    # extra digit would need rounding, which is an error.
    frac = (
        pl.when(frac.str.len_chars() > digits).then(frac.str.strip_chars_end("0")).otherwise(frac)
    )
    shaped = text.str.contains(_AMOUNT) & ((whole.str.len_chars() > 0) | (frac.str.len_chars() > 0))
    too_many = frac.str.len_chars() > digits
    scale = pl.lit(10, dtype=pl.Int64).pow(digits)
    padded = frac.str.pad_end(16, "0").str.slice(0, digits)
    value = pl.when(whole.str.len_chars() > 0).then(whole).otherwise(pl.lit("0")).cast(
        pl.Int64, strict=False
    ) * scale + pl.when(digits > 0).then(padded.cast(pl.Int64, strict=False)).otherwise(0)
    signed = pl.when(sign == "-").then(-value).otherwise(value)
    message = (
        pl.when(text.is_null() | (text.str.strip_chars() == ""))
        .then(pl.lit("a value is required"))
        .when(digits.is_null())
        .then(pl.lit("no amount can be read without a known currency"))
        .when(~shaped)
        .then(pl.lit("expected an amount like 1234.56"))
        .when(too_many)
        .then(pl.format("too many decimals: the currency allows {}", digits))
        .otherwise(None)
    )
    return pl.when(message.is_null()).then(signed).otherwise(None), message


def micro_units(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(value x 1e6 as Int64, error message) of a decimal string such as a quantity or percent."""
    parts = text.str.extract_groups(r"^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$")
    sign, whole = parts.struct.field("1"), parts.struct.field("2")
    frac = parts.struct.field("3").fill_null("")
    value = pl.when(whole.str.len_chars() > 0).then(whole).otherwise(pl.lit("0")).cast(
        pl.Int64, strict=False
    ) * 1_000_000 + frac.str.pad_end(6, "0").str.slice(0, 6).cast(pl.Int64, strict=False)
    message = (
        pl.when(~text.str.contains(_DECIMAL_PATTERN))
        .then(pl.lit("expected a number like 1.5"))
        .when(frac.str.len_chars() > 6)
        .then(pl.lit("at most 6 decimals are allowed"))
        .otherwise(None)
    )
    signed = pl.when(sign == "-").then(-value).otherwise(value)
    return pl.when(text.is_not_null() & message.is_null()).then(signed), message


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
