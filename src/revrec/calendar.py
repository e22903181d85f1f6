"""Periods and dates: calendar months named YYYY-MM, month indexes, day counts. No I/O.

A month index is `year * 12 + month - 1`, the integer form the engine's frames carry.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from revrec.errors import InputError

if TYPE_CHECKING:
    import polars as pl

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S UTC", "%Y-%m-%dT%H:%M:%S")
EPOCH = date(1970, 1, 1)


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def period_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def parse_period(text: str) -> int:
    """'2024-03' -> month index."""
    match = _PERIOD.match(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise InputError(f"{text!r} is not a period: expected YYYY-MM")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def period_indexes(period: pl.Expr) -> pl.Expr:
    """`parse_period` over a column of 'YYYY-MM' texts (of well-formed, stored periods)."""
    import polars as pl  # noqa: PLC0415 - the CLI imports calendar without Polars

    year, month = period.str.slice(0, 4), period.str.slice(5, 2)
    return year.cast(pl.Int64) * 12 + month.cast(pl.Int64) - 1


def days_in_month(index: int) -> int:
    return (month_start(index + 1) - month_start(index)).days


def parse_date(text: str) -> date:
    """A date from a file: '2017-06-01', '2017-06-01T12:00:00Z' or '2017-06-01 12:00:00 UTC'.

    A time part, possibly with an offset, is converted to UTC and then dropped.
    """
    value = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC).date()
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{text!r} is not a date: expected YYYY-MM-DD (optionally with a UTC time)"
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.date()


def epoch_day(day: date) -> int:
    return (day - EPOCH).days


def from_epoch_day(days: int) -> date:
    return EPOCH + timedelta(days=days)


def utc_text(moment: datetime) -> str:
    """A stored time as UTC text: SQLite gives it back without its zone, PostgreSQL with."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds") + "Z"
