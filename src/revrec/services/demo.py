"""The demo portfolio: a few contracts built in code, run through the engine end to end.

Returns frames for a shell to render; no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from revrec.calendar import month_index
from revrec.engine.allocation import allocate
from revrec.engine.balances import balances
from revrec.engine.schedules import schedule
from revrec.money import parse

_LINES = [
    # contract, line, currency, amount, ssp unit, template method, convention, at, start, end incl.
    (
        "C-100",
        "C-100-1",
        "USD",
        "90000.00",
        "75000.00",
        "point_in_time",
        None,
        "start",
        date(2024, 1, 1),
        date(2024, 12, 31),
    ),
    (
        "C-100",
        "C-100-2",
        "USD",
        "10000.00",
        "20000.00",
        "ratable_monthly",
        "full_month",
        None,
        date(2024, 1, 1),
        date(2024, 12, 31),
    ),
    (
        "C-100",
        "C-100-3",
        "USD",
        "20000.00",
        "25000.00",
        "event",
        None,
        None,
        date(2024, 1, 1),
        date(2024, 6, 30),
    ),
    (
        "C-200",
        "C-200-1",
        "JPY",
        "1200000",
        None,
        "ratable_daily",
        None,
        None,
        date(2024, 2, 10),
        date(2025, 2, 9),
    ),
    (
        "C-300",
        "C-300-1",
        "KWD",
        "1500.000",
        "1000.000",
        "ratable_monthly",
        "mid_month",
        None,
        date(2024, 1, 20),
        date(2024, 7, 19),
    ),
    (
        "C-300",
        "C-300-2",
        "KWD",
        "500.000",
        "1000.000",
        "ratable_monthly",
        "prorate_days",
        None,
        date(2024, 1, 20),
        date(2024, 7, 19),
    ),
]
_BILLINGS = [
    ("C-100-1", "90000.00"),
    ("C-100-2", "5000.00"),
    ("C-200-1", "1200000"),
    ("C-300-1", "750.000"),
]
_EVENTS = [
    ("C-100-3", date(2024, 2, 15), "cumulative_percent", 40),
    ("C-100-3", date(2024, 4, 10), "percent", 35),
]


@dataclass(frozen=True)
class Demo:
    period: str
    lines: pl.DataFrame
    schedules: pl.DataFrame
    balances: pl.DataFrame


def _frame() -> pl.DataFrame:
    rows = [
        {
            "contract_id": c,
            "line_id": line,
            "currency": cur,
            "amount": parse(amount, cur),
            "ssp_unit": parse(ssp, cur) if ssp else None,
            "method": method,
            "convention": convention,
            "at": at,
            "start": start,
            "end": pl.select(pl.lit(end) + pl.duration(days=1)).item(),
        }
        for c, line, cur, amount, ssp, method, convention, at, start, end in _LINES
    ]
    return pl.DataFrame(
        rows, schema_overrides={"ssp_unit": pl.Int64, "convention": pl.String, "at": pl.String}
    )


def run(through: date = date(2024, 3, 31)) -> Demo:
    """Allocate, schedule and balance the demo portfolio as at the end of `through`'s month."""
    lines, errors = allocate(_frame())
    if errors:
        msg = f"demo data has allocation errors: {errors}"
        raise RuntimeError(msg)
    events = pl.DataFrame(
        [(line, day, i, kind, pct * 1_000_000) for i, (line, day, kind, pct) in enumerate(_EVENTS)],
        schema=["line_id", "event_date", "seq", "kind", "value_micro"],
        orient="row",
    )
    segments = lines.select(
        "line_id", pl.col("allocated").alias("total"), "method", "convention", "at", "start", "end"
    )
    rows, _ = schedule(segments, events=events)
    rows = rows.join(lines.select("line_id", "contract_id", "currency"), on="line_id")
    period = month_index(through)
    recognized = (
        rows.filter(pl.col("period") <= period)
        .group_by("line_id")
        .agg(pl.col("amount").sum().alias("recognized"))
    )
    billed = pl.DataFrame(
        [
            (line, parse(a, lines.filter(pl.col("line_id") == line)["currency"][0]))
            for line, a in _BILLINGS
        ],
        schema=["line_id", "billed"],
        orient="row",
    )
    per_line = (
        lines.select("contract_id", "line_id", "currency", "allocated")
        .join(recognized, on="line_id", how="left")
        .join(billed, on="line_id", how="left")
        .with_columns(pl.col("recognized", "billed").fill_null(0))
    )
    per_contract = per_line.group_by("contract_id", "currency", maintain_order=True).agg(
        pl.col("allocated", "billed", "recognized").sum()
    )
    return Demo(
        period=f"{through:%Y-%m}",
        lines=lines,
        schedules=rows.sort("line_id", "period"),
        balances=balances(per_contract),
    )
