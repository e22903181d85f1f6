"""Polars expressions the engine shares: exact half-even division, day and month arithmetic.

Days are epoch-day integers (days since 1970-01-01); months are indexes `year * 12 + month - 1`.
Pure expressions only: no I/O.
"""

from __future__ import annotations

import polars as pl

I128 = pl.Int128
# Every month length (28, 29, 30, 31) divides this, so a day is an exact integer share of a month.
MONTH_UNITS = 377_580


def div_half_even(
    numerator: pl.Expr, denominator: pl.Expr, dtype: type[pl.DataType] = I128
) -> pl.Expr:
    """numerator / denominator rounded half to even, exact (denominator > 0).

    Int128 by default; callers pass Int64 after checking that no product can overflow it.
    """
    num = numerator.cast(dtype)
    den = denominator.cast(dtype)
    floor = num // den
    twice = (num % den) * 2
    up = (twice > den) | ((twice == den) & (floor % 2 == 1))
    return floor + up.cast(dtype)


def fits_int64(*factors: int) -> bool:
    """Whether a product of values as large as these stays well inside Int64."""
    product = 1
    for factor in factors:
        product *= max(abs(factor), 1)
    return product < 2**62


def month_table(first: int, last: int) -> pl.Series:
    """Epoch day of the first day of each month index first..last (for gather by offset)."""
    months = pl.int_range(first, last + 1, dtype=pl.Int64, eager=True)
    return pl.select(month_start_day(pl.lit(months))).to_series()


def month_of_day(day: pl.Expr) -> pl.Expr:
    """Month index of an epoch day."""
    as_date = day.cast(pl.Int32).cast(pl.Date)
    return (as_date.dt.year().cast(pl.Int64) * 12 + as_date.dt.month().cast(pl.Int64) - 1).cast(
        pl.Int64
    )


def month_start_day(month: pl.Expr) -> pl.Expr:
    """Epoch day of the first day of a month index."""
    return pl.date(month // 12, month % 12 + 1, 1).cast(pl.Int64)


def days_of_month(month: pl.Expr) -> pl.Expr:
    return month_start_day(month + 1) - month_start_day(month)


def day_of_month(day: pl.Expr) -> pl.Expr:
    return day.cast(pl.Int32).cast(pl.Date).dt.day().cast(pl.Int64)
