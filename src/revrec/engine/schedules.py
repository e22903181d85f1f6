"""Revenue schedules per line and calendar month, one vectorized rule per method (SPEC §1, §2).

Pure: frames in, frames out; no I/O, no clock. Every rule is a cumulative curve C(d), the revenue
recognized before day d, rounded half-even exactly; a month's amount is C at the month's end
minus C at its start, so each schedule sums exactly to its total (cumulative rounding).

A *segment* is what a line recognizes over a span: columns line_id, total (minor units), method,
convention, at, start, end (dates; end exclusive, null = none), and optionally cap (date: the
segment stops recognizing there; used by prospective modifications). A line is one segment, or
several after a modification; its schedule is the sum of its segments'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from revrec.engine.exprs import (
    I128,
    MONTH_UNITS,
    day_of_month,
    days_of_month,
    div_half_even,
    fits_int64,
    month_of_day,
    month_start_day,
    month_table,
)

TIME_METHODS = ("ratable_daily", "ratable_monthly", "point_in_time")
METHODS = (*TIME_METHODS, "event", "upon_billing")
CONVENTIONS = ("prorate_days", "full_month", "mid_month")
POINTS = ("start", "end", "range_end")
PERCENT_KINDS = ("percent", "cumulative_percent")
EVENT_KINDS = (*PERCENT_KINDS, "quantity")
SCHEDULE_SCHEMA = {"line_id": pl.String, "period": pl.Int64, "amount": pl.Int64}
MICRO = 1_000_000


@dataclass(frozen=True)
class ScheduleError:
    line_id: str
    message: str


def _days(frame: pl.DataFrame) -> pl.DataFrame:
    """Dates to epoch days; fill optional columns."""
    for name, dtype in (("convention", pl.String), ("at", pl.String), ("cap", pl.Date)):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
    return frame.with_columns(
        pl.col("start").cast(pl.Int64).alias("_s"),
        pl.col("end").cast(pl.Int64).alias("_e"),
        pl.col("cap").cast(pl.Int64).alias("_cap"),
    )


def _prorate_weight(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Months between days a <= b (b exclusive) in MONTH_UNITS; a part-month counts its days."""
    ma, mb = month_of_day(a), month_of_day(b)
    unit_a = MONTH_UNITS // days_of_month(ma)
    unit_b = MONTH_UNITS // days_of_month(mb)
    same = (b - a) * unit_a
    split = (
        (month_start_day(ma + 1) - a) * unit_a
        + (mb - ma - 1) * MONTH_UNITS
        + (b - month_start_day(mb)) * unit_b
    )
    return pl.when(ma == mb).then(same).otherwise(split)


def _with_curve(frame: pl.DataFrame, day: pl.Expr) -> pl.DataFrame:
    """Add `_cum` = C(day) for time-based segments (columns _s, _e, _pit, total, method,
    convention)."""
    return _with_fraction(frame, day).drop("_num", "_den")


def _with_fraction(frame: pl.DataFrame, day: pl.Expr) -> pl.DataFrame:
    """`_with_curve`, keeping the fraction C(day) is made of: `_cum` = round_half_even(total x
    _num / _den) for ratable segments. Staged through columns: one flat expression per step
    plans much faster."""
    s, e = pl.col("_s"), pl.col("_e")
    frame = frame.with_columns(
        day.alias("_d"),
        pl.min_horizontal(pl.max_horizontal(day, s), e).alias("_c"),
        month_of_day(s).alias("_mf"),
        month_of_day(e - 1).alias("_ml"),
        day_of_month(s).alias("_ds"),
        day_of_month(e - 1).alias("_dl"),
    )
    frame = frame.with_columns(
        (pl.col("_ml") - pl.col("_mf") + 1).alias("_months"),
        pl.when(pl.col("_d") > s)
        .then(month_of_day(pl.col("_d") - 1) - pl.col("_mf") + 1)
        .otherwise(0)
        .alias("_started"),
    )
    months = pl.col("_months")
    frame = frame.with_columns(
        pl.min_horizontal(pl.col("_started"), months).alias("_started"),
        ((pl.col("_ds") <= 15) | (months == 1)).alias("_fc"),
        ((pl.col("_dl") > 15) | (months == 1)).alias("_lc"),
    )
    # When neither end month of a two-month span counts, the first month does (docs/decisions.md).
    frame = frame.with_columns((pl.col("_fc") | ((months == 2) & ~pl.col("_lc"))).alias("_fc"))
    frame = _fraction(frame)
    point = pl.when(pl.col("_d") > pl.col("_pit")).then(pl.col("total")).otherwise(0)
    ratable = div_half_even(pl.col("total").cast(I128) * pl.col("_num"), pl.col("_den"))
    frame = frame.with_columns(
        pl.when(pl.col("method") == "point_in_time")
        .then(point.cast(I128))
        .otherwise(ratable)
        .cast(pl.Int64)
        .alias("_cum")
    )
    return frame.drop("_d", "_c", "_mf", "_ml", "_ds", "_dl", "_months", "_started", "_fc",
                      "_lc")  # fmt: skip


def _fraction(frame: pl.DataFrame) -> pl.DataFrame:
    """`_num` / `_den`: the share of a ratable segment recognized before the day, by method
    and convention (days, started months, counted months, or prorated month weights)."""
    s, e, months = pl.col("_s"), pl.col("_e"), pl.col("_months")
    started, fc, lc = pl.col("_started"), pl.col("_fc"), pl.col("_lc")
    method, convention = pl.col("method"), pl.col("convention")
    return frame.with_columns(
        pl.when(method == "ratable_daily")
        .then(pl.col("_c") - s)
        .when(convention == "full_month")
        .then(started)
        .when(convention == "mid_month")
        .then(
            started
            - ((started >= 1) & ~fc).cast(pl.Int64)
            - ((started == months) & ~lc).cast(pl.Int64)
        )
        .otherwise(_prorate_weight(s, pl.col("_c")))
        .alias("_num"),
        pl.when(method == "ratable_daily")
        .then(e - s)
        .when(convention == "full_month")
        .then(months)
        .when(convention == "mid_month")
        .then(months - (~fc).cast(pl.Int64) - (~lc).cast(pl.Int64))
        .otherwise(_prorate_weight(s, e))
        .alias("_den"),
    )


def point_day(start: pl.Expr, end: pl.Expr, at: pl.Expr) -> pl.Expr:
    """The day a point-in-time segment is recognized: start, last service day or range end."""
    return (
        pl.when(end.is_null() | (at == "start") | at.is_null())
        .then(start)
        .when(at == "end")
        .then(end - pl.duration(days=1))
        .otherwise(end)
    )


def _prepare(segments: pl.DataFrame) -> pl.DataFrame:
    """Epoch-day columns, the recognition point, the effective cap and the first/last day."""
    frame = _days(segments)
    s, e = pl.col("_s"), pl.col("_e")
    pit = (
        pl.when(e.is_null() | (pl.col("at") == "start") | pl.col("at").is_null())
        .then(s)
        .when(pl.col("at") == "end")
        .then(e - 1)
        .otherwise(e)
    )
    monthly = pl.col("method") == "ratable_monthly"
    coarse = monthly & pl.col("convention").is_in(["full_month", "mid_month"])
    # Whole-month conventions recognize by month: a cap inside a month stops at its first day.
    cap = (
        pl.when(coarse)
        .then(month_start_day(month_of_day(pl.col("_cap"))))
        .otherwise(pl.col("_cap"))
    )
    frame = frame.with_columns(pit.alias("_pit"), cap.alias("_cap"))
    is_point = (pl.col("method") == "point_in_time") | e.is_null()
    # A line without an end date is recognized whole on its start date, whatever its method.
    return frame.with_columns(
        pl.when(e.is_null())
        .then(pl.lit("point_in_time"))
        .otherwise(pl.col("method"))
        .alias("method"),
        pl.when(is_point).then(pl.col("_pit")).otherwise(s).alias("_first"),
        pl.when(is_point)
        .then(pl.col("_pit"))
        .otherwise(pl.min_horizontal(e, pl.col("_cap")) - 1)
        .alias("_last"),
    )


def _capped(day: pl.Expr) -> pl.Expr:
    return (
        pl.when(pl.col("_cap").is_null())
        .then(day)
        .otherwise(pl.min_horizontal(day, pl.col("_cap")))
    )


def cumulative_at(segments: pl.DataFrame, day: pl.Expr) -> pl.DataFrame:
    """Revenue of time-based segments recognized before `day` (an expression over the segments'
    columns, a Date), summed per line: columns line_id, cumulative."""
    frame = _with_curve(_prepare(segments), _capped(day.cast(pl.Int64)))
    return frame.group_by("line_id", maintain_order=True).agg(
        pl.col("_cum").sum().alias("cumulative")
    )


def time_based(segments: pl.DataFrame) -> pl.DataFrame:
    """Schedules of ratable_daily, ratable_monthly and point_in_time segments.

    Rows come grouped by method, then in segment order and period order: deterministic, and
    not sorted further because sorting millions of rows would cost more than computing them.
    """
    frame = _prepare(segments)
    live = pl.col("_cap").is_null() | (pl.col("_first") < pl.col("_cap"))
    frame = frame.filter(live & (pl.col("_last") >= pl.col("_first")))
    capped = frame.filter(pl.col("_cap").is_not_null())
    frame = frame.filter(pl.col("_cap").is_null())
    method, convention = pl.col("method"), pl.col("convention")
    monthly = method == "ratable_monthly"
    coarse = convention.is_in(["full_month", "mid_month"]).fill_null(value=False)
    work: list[tuple[Callable[[pl.DataFrame], pl.DataFrame], pl.DataFrame]] = [
        (_point, frame.filter(method == "point_in_time")),
        (_daily, frame.filter(method == "ratable_daily")),
        (_monthly, frame.filter(monthly & (convention == "full_month"))),
        (_monthly, frame.filter(monthly & (convention == "mid_month"))),
        (_monthly, frame.filter(monthly & ~coarse)),
        (_general, capped),
    ]
    # No threads here: parallelism belongs to the caller (and to Polars within each part).
    parts = [rule(part) for rule, part in work]
    return pl.concat([p for p in parts if p.height] or [parts[0]]).select(SCHEDULE_SCHEMA.keys())


def _explode(frame: pl.DataFrame, columns: list[str]) -> pl.LazyFrame:
    """One row per segment and month from _m0 to _m1, keeping only `columns` (plus line_id).
    Lazy: with `_finish`, one plan, whose repeated expressions Polars computes once."""
    return (
        frame.lazy()
        .select(
            "line_id",
            *columns,
            pl.int_ranges("_m0", pl.col("_m1") + 1, dtype=pl.Int64).alias("period"),
        )
        .explode("period")
    )


def _finish(exploded: pl.LazyFrame, cumulative: pl.Expr) -> pl.DataFrame:
    """Month amounts as differences of consecutive cumulative amounts."""
    cum = exploded.select("line_id", "period", "_m0", cumulative.alias("_cum"))
    amount = pl.col("_cum") - pl.when(pl.col("period") == pl.col("_m0")).then(0).otherwise(
        pl.col("_cum").shift(1)
    )
    return cum.select("line_id", "period", amount.cast(pl.Int64).alias("amount")).collect()


def _bounds(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        month_of_day(pl.col("_first")).alias("_m0"), month_of_day(pl.col("_last")).alias("_m1")
    )


def _point(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        "line_id",
        month_of_day(pl.col("_pit")).alias("period"),
        pl.col("total").cast(pl.Int64).alias("amount"),
    )


def _daily(frame: pl.DataFrame) -> pl.DataFrame:
    """C(end of month m) = round(T x days elapsed / days of service)."""
    if frame.height == 0:
        return pl.DataFrame(schema=SCHEDULE_SCHEMA)
    frame = _bounds(frame).with_columns((pl.col("_e") - pl.col("_s")).alias("_len"))
    dtype = _dtype(frame, "_len")
    first = int(frame["_m0"].min())  # type: ignore[arg-type]
    table = month_table(first + 1, int(frame["_m1"].max()) + 1)  # type: ignore[arg-type]
    exploded = _explode(frame, ["_m0", "total", "_s", "_e", "_len"])
    boundary = pl.lit(table).gather(pl.col("period") - first)
    elapsed = pl.min_horizontal(boundary, pl.col("_e")) - pl.col("_s")
    cumulative = div_half_even(pl.col("total").cast(dtype) * elapsed, pl.col("_len"), dtype)
    return _finish(exploded, cumulative)


def _monthly(frame: pl.DataFrame) -> pl.DataFrame:
    """C(end of month m) = round(T x months elapsed / months of service), per convention."""
    if frame.height == 0:
        return pl.DataFrame(schema=SCHEDULE_SCHEMA)
    convention = frame["convention"][0]
    frame = _bounds(frame)
    months = pl.col("_m1") - pl.col("_m0") + 1
    if convention == "full_month":
        frame = frame.with_columns(pl.lit(1, dtype=pl.Int64).alias("_w0"), months.alias("_wt"))
        unit = 1
    elif convention == "mid_month":
        first_counts = (day_of_month(pl.col("_s")) <= 15) | (months == 1)
        last_counts = (day_of_month(pl.col("_e") - 1) > 15) | (months == 1)
        # When neither end month of a two-month span counts, the first month does.
        first_counts = first_counts | ((months == 2) & ~last_counts)
        frame = frame.with_columns(
            first_counts.cast(pl.Int64).alias("_w0"),
            (~last_counts).cast(pl.Int64).alias("_lost"),
        ).with_columns(
            (months - (1 - pl.col("_w0")) - pl.col("_lost")).alias("_wt"),
        )
        unit = 1
    else:
        frame = frame.with_columns(
            _prorate_weight(
                pl.col("_s"), pl.min_horizontal(pl.col("_e"), month_start_day(pl.col("_m0") + 1))
            ).alias("_w0"),
            _prorate_weight(pl.col("_s"), pl.col("_e")).alias("_wt"),
        )
        unit = MONTH_UNITS
    if "_lost" not in frame.columns:
        frame = frame.with_columns(pl.lit(0, dtype=pl.Int64).alias("_lost"))
    dtype = _dtype(frame, "_wt")
    exploded = _explode(frame, ["_m0", "_m1", "total", "_w0", "_wt", "_lost"])
    period, m0 = pl.col("period"), pl.col("_m0")
    elapsed = (
        pl.when(period == pl.col("_m1"))
        .then(pl.col("_wt"))
        .otherwise(pl.col("_w0") + (period - m0) * unit)
    )
    cumulative = div_half_even(pl.col("total").cast(dtype) * elapsed, pl.col("_wt"), dtype)
    return _finish(exploded, cumulative)


def _dtype(frame: pl.DataFrame, denominator: str) -> type[pl.DataType]:
    """Int64 when no total x denominator product can overflow it, else Int128."""
    biggest = frame.select(pl.col("total").abs().max(), pl.col(denominator).abs().max()).row(0)
    return pl.Int64 if fits_int64(int(biggest[0] or 0), int(biggest[1] or 0)) else I128


def _month_ends(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per prepared segment and month of its span, with the general curve at the
    month's end (or at its cap): `_cum`, and `_num` / `_den` for ratable segments."""
    exploded = (
        _bounds(frame)
        .with_columns(pl.int_ranges("_m0", pl.col("_m1") + 1, dtype=pl.Int64).alias("period"))
        .explode("period")
    )
    return _with_fraction(exploded, _capped(month_start_day(pl.col("period") + 1)))


def _month_amounts() -> pl.Expr:
    """A month's amount: the difference of consecutive cumulative amounts of a segment."""
    previous = pl.when(pl.col("period") == pl.col("_m0")).then(0).otherwise(pl.col("_cum").shift(1))
    return (pl.col("_cum") - previous).cast(pl.Int64)


def _general(frame: pl.DataFrame) -> pl.DataFrame:
    """Capped segments (after prospective modifications): the general curve, month by month."""
    if frame.height == 0:
        return pl.DataFrame(schema=SCHEDULE_SCHEMA)
    exploded = _month_ends(frame)
    return exploded.select("line_id", "period", _month_amounts().alias("amount"))


# The unit of a ratable curve's elapsed and length: (method, convention) -> (name, parts of
# one unit). prorate_days counts MONTH_UNITS per month, so a part month is its days' share.
CURVE_UNITS = {
    ("ratable_daily", None): ("days", 1),
    ("ratable_monthly", "full_month"): ("months", 1),
    ("ratable_monthly", "mid_month"): ("counted months", 1),
    ("ratable_monthly", "prorate_days"): ("months", MONTH_UNITS),
}
CURVE_SCHEMA = {
    "segment": pl.Int64,  # the segment's row index in the segments given
    "line_id": pl.String,
    "method": pl.String,  # as recognized: a segment without an end is a point in time
    "period": pl.Int64,
    "elapsed": I128,  # C = round_half_even(total x elapsed / length); null: a point in time
    "length": I128,
    "cumulative": pl.Int64,  # the segment's revenue through the period's end (or its cap)
    "amount": pl.Int64,  # cumulative minus the previous period's
}


def curve(segments: pl.DataFrame) -> pl.DataFrame:
    """Each time-based segment's cumulative curve at the end of every month it recognizes in
    (CURVE_SCHEMA): the rule each schedule follows, with its fraction shown. Elapsed and length
    are in CURVE_UNITS of the segment's method and convention. Per segment, the amounts are
    what `time_based` schedules for it."""
    indexed = segments.with_row_index("segment").cast({"segment": pl.Int64})
    frame = _prepare(indexed.filter(pl.col("method").is_in(TIME_METHODS)))
    live = pl.col("_cap").is_null() | (pl.col("_first") < pl.col("_cap"))
    frame = frame.filter(live & (pl.col("_last") >= pl.col("_first")))
    if frame.height == 0:
        return pl.DataFrame(schema=CURVE_SCHEMA)
    exploded = _month_ends(frame)
    ratable = pl.col("method") != "point_in_time"
    return exploded.select(
        "segment",
        "line_id",
        "method",
        "period",
        pl.when(ratable).then(pl.col("_num")).cast(I128).alias("elapsed"),
        pl.when(ratable).then(pl.col("_den")).cast(I128).alias("length"),
        pl.col("_cum").alias("cumulative"),
        _month_amounts().alias("amount"),
    ).cast(CURVE_SCHEMA)  # type: ignore[arg-type]


def upon_billing(billings: pl.DataFrame) -> pl.DataFrame:
    """Each billing's signed amount on its document date: columns line_id, doc_date, amount."""
    return (
        billings.group_by(
            "line_id", month_of_day(pl.col("doc_date").cast(pl.Int64)).alias("period")
        )
        .agg(pl.col("amount").sum().cast(pl.Int64))
        .sort("line_id", "period")
        .select(SCHEDULE_SCHEMA.keys())
    )


def event_based(
    lines: pl.DataFrame, events: pl.DataFrame
) -> tuple[pl.DataFrame, list[ScheduleError]]:
    """Revenue released by events, capped at 100% (SPEC §5 step 4).

    lines: line_id, total, quantity_micro. events: line_id, event_date, seq (order among a day's
    events), kind (percent | cumulative_percent | quantity), value_micro (the number x 1e6).
    Revenue through a month = round_half_even(total x min(1, released)) where released is the
    running percent (an incremental percent adds, a cumulative percent sets) or the running
    quantity over the line's quantity. A line whose events mix percents and quantities is an error.
    """
    frame, errors = _released(lines, events)
    last_of_month = (pl.col("_k") != pl.col("_k").shift(-1)) | (
        pl.col("period") != pl.col("period").shift(-1)
    )
    monthly = frame.filter(last_of_month.fill_null(value=True))
    first_of_line = pl.col("_k") != pl.col("_k").shift(1)
    previous = (
        pl.when(first_of_line.fill_null(value=True)).then(0).otherwise(pl.col("_cum").shift(1))
    )
    result = monthly.select("line_id", "period", (pl.col("_cum") - previous).alias("amount"))
    return result, errors


def releases(lines: pl.DataFrame, events: pl.DataFrame) -> tuple[pl.DataFrame, list[ScheduleError]]:
    """Each release of the lines (as `event_based` reads them), in order, with what its line
    has released after it: line_id, event_date, seq, kind, value_micro, period, released (the
    running percent x 1e6, or quantity x 1e6, capped to 0..`of`), of (100 x 1e6, or the line's
    quantity x 1e6) and cumulative = round_half_even(total x released / of)."""
    frame, errors = _released(lines, events)
    return frame.select(
        "line_id", "event_date", "seq", "kind", "value_micro", "period",
        pl.col("_num").alias("released"), pl.col("_den").alias("of"),
        pl.col("_cum").alias("cumulative"),
    ), errors  # fmt: skip


def _released(
    lines: pl.DataFrame, events: pl.DataFrame
) -> tuple[pl.DataFrame, list[ScheduleError]]:
    """The events joined to their lines in order (_k, event_date, seq), each with the running
    release `_num` / `_den` and the cumulative revenue `_cum`; lines mixing kinds apart."""
    if "quantity_micro" not in lines.columns:
        lines = lines.with_columns(pl.lit(MICRO, dtype=pl.Int64).alias("quantity_micro"))
    keyed = lines.select("line_id", "total", "quantity_micro").with_row_index("_k")
    frame = (
        events.join(keyed, on="line_id", how="inner")
        .sort("_k", "event_date", "seq")
        .with_columns((pl.col("kind") == "quantity").alias("_qty"))
    )
    mixed = frame.group_by("line_id", maintain_order=True).agg(
        pl.col("_qty").n_unique().alias("_kinds")
    )
    bad = mixed.filter(pl.col("_kinds") > 1)["line_id"]
    errors = [
        ScheduleError(line, "events of one line must all be percents or all quantities")
        for line in bad.to_list()
    ]
    frame = frame.filter(~pl.col("line_id").is_in(bad.implode()))
    # A cumulative percent starts a new run; incremental values add up within the run.
    starts = (pl.col("kind") == "cumulative_percent") | (pl.col("_k") != pl.col("_k").shift(1))
    frame = frame.with_columns(starts.fill_null(value=True).cum_sum().alias("_run_id"))
    frame = frame.with_columns(pl.col("value_micro").cum_sum().over("_run_id").alias("_run"))
    den = pl.when(pl.col("_qty")).then(pl.col("quantity_micro")).otherwise(100 * MICRO)
    frame = frame.with_columns(
        pl.min_horizontal(pl.max_horizontal(pl.col("_run"), 0), den).alias("_num"),
        den.alias("_den"),
    )
    frame = frame.with_columns(
        month_of_day(pl.col("event_date").cast(pl.Int64)).alias("period"),
        div_half_even(pl.col("total").cast(I128) * pl.col("_num"), pl.col("_den"))
        .cast(pl.Int64)
        .alias("_cum"),
    )
    return frame, errors


def schedule(
    segments: pl.DataFrame,
    events: pl.DataFrame | None = None,
    billings: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, list[ScheduleError]]:
    """Schedules of every segment: line_id, period (month index), amount.

    Rows come grouped by method, each in segment and period order (see time_based); lines with
    several segments are summed and then sorted by line and period.
    Time-based segments use their own rule; event segments need `events`, upon_billing segments
    `billings` (see `event_based`, `upon_billing`). Lines with several segments are summed.
    """
    errors: list[ScheduleError] = []
    parts = [time_based(segments.filter(pl.col("method").is_in(TIME_METHODS)))]
    event_lines = segments.filter(pl.col("method") == "event")
    if events is not None and event_lines.height:
        part, errors = event_based(event_lines, events)
        parts.append(part)
    billed_lines = segments.filter(pl.col("method") == "upon_billing")
    if billings is not None and billed_lines.height:
        wanted = billings.filter(pl.col("line_id").is_in(billed_lines["line_id"].implode()))
        parts.append(upon_billing(wanted))
    frame = pl.concat([p.select(SCHEDULE_SCHEMA.keys()) for p in parts])
    # Only prospective modifications give a line several segments, and they are all capped but
    # the last: without caps there is nothing to add up.
    several = "cap" in segments.columns and segments["cap"].null_count() < segments.height
    if several and segments["line_id"].is_duplicated().any():
        frame = frame.group_by("line_id", "period").agg(pl.col("amount").sum())
        frame = frame.sort("line_id", "period")
    return frame, errors


ACTIONS = ("hold", "remove_hold", "accelerate", "expire")


def apply_actions(rows: pl.DataFrame, actions: pl.DataFrame) -> pl.DataFrame:
    """A schedule after the event actions of SPEC §5.2, month by month.

    actions: line_id, event_date, seq, action (hold | remove_hold | accelerate | expire).
    `hold` recognizes nothing from the hold's month on; `remove_hold` catches the held-back
    revenue up in its month and the schedule resumes; `accelerate` and `expire` recognize all
    that remains, held revenue included, in their month. Only when revenue lands changes, never
    how much, except that revenue still on hold stays unrecognized. Lines without actions pass
    through untouched; the few with actions are replayed one by one (actions are rare, and a
    line's replay is sequential).
    """
    acted = actions.filter(pl.col("action").is_in(ACTIONS))
    if acted.height == 0 or rows.height == 0:
        return rows
    ids = acted["line_id"].unique()
    untouched = rows.filter(~pl.col("line_id").is_in(ids.implode()))
    touched = rows.filter(pl.col("line_id").is_in(ids.implode())).sort("line_id", "period")
    by_line: dict[str, list[tuple[int, int]]] = {}
    for line_id, period, amount in touched.iter_rows():
        by_line.setdefault(line_id, []).append((period, amount))
    ordered = acted.sort("line_id", "event_date", "seq").with_columns(
        month_of_day(pl.col("event_date").cast(pl.Int64)).alias("_month")
    )
    steps: dict[str, list[tuple[int, str]]] = {}
    for line_id, month, action in ordered.select("line_id", "_month", "action").iter_rows():
        steps.setdefault(line_id, []).append((month, action))
    result: list[tuple[str, int, int]] = []
    for line_id, line_steps in steps.items():
        plan = dict(by_line.get(line_id, []))
        result.extend((line_id, p, a) for p, a in _replay(plan, line_steps).items())
    replayed = pl.DataFrame(result, schema=SCHEDULE_SCHEMA, orient="row")
    return pl.concat([untouched.select(SCHEDULE_SCHEMA.keys()), replayed])


def _replay(plan: dict[int, int], steps: list[tuple[int, str]]) -> dict[int, int]:
    """Move a line's month amounts as its actions say; the amounts still sum to the same."""
    moved = dict(plan)
    held_from: int | None = None
    for month, action in steps:
        if action == "hold" and held_from is None:
            held_from = month
        elif action == "remove_hold" and held_from is not None:
            start, held_from = held_from, None
            caught = sum(a for p, a in moved.items() if start <= p < month)
            moved = {p: a for p, a in moved.items() if not start <= p < month}
            moved[month] = moved.get(month, 0) + caught
        elif action in ("accelerate", "expire"):
            kept = {
                p: a for p, a in moved.items() if p < month and (held_from is None or p < held_from)
            }
            kept[month] = sum(moved.values()) - sum(kept.values())
            moved, held_from = kept, None
            break
    if held_from is not None:
        # Still on hold: nothing from the hold's month on is recognized yet.
        moved = {p: a for p, a in moved.items() if p < held_from}
    return {p: a for p, a in sorted(moved.items()) if a != 0}
