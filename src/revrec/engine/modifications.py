"""Contract modifications and posting: catch-up and prospective (SPEC §3, §5 step 6).

Pure: frames in, frames out; no I/O. What was posted to closed periods is an input, never changed.
"""

from __future__ import annotations

import polars as pl

from revrec.engine.schedules import SCHEDULE_SCHEMA, cumulative_at, point_day

POLICIES = ("catch_up", "prospective")


def effective_schedule(
    schedule: pl.DataFrame, posted: pl.DataFrame, open_period: int
) -> pl.DataFrame:
    """The schedule as it is booked: closed periods as posted, the open period catching up.

    schedule and posted have columns line_id, period, amount; posted holds closed periods only
    (period < open_period). The open period gets the schedule's cumulative through it minus what
    was posted (ASC 606-10-25-13(b) cumulative catch-up, and late transactions of §4.6); later
    periods follow the schedule. The result sums, per line, exactly to the schedule's total.
    """
    closed = posted.filter(pl.col("period") < open_period).select(SCHEDULE_SCHEMA.keys())
    through_open = (
        schedule.filter(pl.col("period") <= open_period)
        .group_by("line_id")
        .agg(pl.col("amount").sum().alias("_due"))
    )
    done = closed.group_by("line_id").agg(pl.col("amount").sum().alias("_done"))
    catch_up = (
        through_open.join(done, on="line_id", how="full", coalesce=True)
        .select(
            "line_id",
            pl.lit(open_period, dtype=pl.Int64).alias("period"),
            (pl.col("_due").fill_null(0) - pl.col("_done").fill_null(0)).alias("amount"),
        )
        .filter(pl.col("amount") != 0)
    )
    later = schedule.filter(pl.col("period") > open_period).select(SCHEDULE_SCHEMA.keys())
    return pl.concat([closed, catch_up, later]).sort("line_id", "period")


def prospective(
    prior: pl.DataFrame, changed: pl.DataFrame, modified_on: str = "modification_date"
) -> pl.DataFrame:
    """Segments after a prospective modification (ASC 606-10-25-13(a)/(c)).

    prior: the lines' current segments (see schedules). changed: the new version of each line
    (segment columns with its new `total`) and a date column `modified_on`. What the prior
    segments recognized before that date stays (they are capped there); the new total minus it is
    spread by the line's method over the rest of the service, from the modification date on.
    """
    day = pl.col(modified_on)
    dates = changed.select("line_id", day.alias("_mod"))
    capped = prior.join(dates, on="line_id", how="inner")
    if "cap" not in capped.columns:
        capped = capped.with_columns(pl.lit(None, dtype=pl.Date).alias("cap"))
    capped = capped.with_columns(
        pl.when(pl.col("cap").is_null() | (pl.col("_mod") < pl.col("cap")))
        .then(pl.col("_mod"))
        .otherwise(pl.col("cap"))
        .alias("cap")
    )
    done = cumulative_at(capped, pl.col("_mod"))
    fresh = changed.join(done, on="line_id", how="left").with_columns(
        (pl.col("total") - pl.col("cumulative").fill_null(0)).alias("total"),
        pl.max_horizontal(pl.col("start"), day).alias("start"),
        pl.lit(None, dtype=pl.Date).alias("cap"),
    )
    # Nothing is recognized before the modification: a point in time that has passed, or a
    # service that has ended, recognizes the remainder on the modification date itself.
    passed = ((pl.col("method") == "point_in_time") | pl.col("end").is_null()) & (
        point_day(pl.col("start"), pl.col("end"), pl.col("at")) < day
    )
    ended = (pl.col("method") != "point_in_time") & (pl.col("end") <= pl.col("start"))
    on_the_day = passed | ended
    fresh = fresh.with_columns(
        pl.when(on_the_day)
        .then(pl.lit("point_in_time"))
        .otherwise(pl.col("method"))
        .alias("method"),
        pl.when(on_the_day).then(pl.lit("start")).otherwise(pl.col("at")).alias("at"),
        pl.when(on_the_day).then(day).otherwise(pl.col("start")).alias("start"),
        pl.when(on_the_day).then(None).otherwise(pl.col("end")).alias("end"),
    ).drop("cumulative")
    keep = [c for c in capped.columns if c != "_mod"]
    untouched = prior.join(dates, on="line_id", how="anti")
    if "cap" not in untouched.columns:
        untouched = untouched.with_columns(pl.lit(None, dtype=pl.Date).alias("cap"))
    return pl.concat(
        [untouched.select(keep), capped.select(keep), fresh.select(keep)], how="vertical_relaxed"
    )


SEGMENT_SCHEMA = {
    "line_id": pl.String,
    "total": pl.Int64,
    "method": pl.String,
    "convention": pl.String,
    "at": pl.String,
    "start": pl.Date,
    "end": pl.Date,
    "quantity_micro": pl.Int64,
    "cap": pl.Date,
}


def prospective_chain(versions: pl.DataFrame) -> pl.DataFrame:
    """The segments of lines whose newest version is prospective: from each line's last
    catch-up version on, each later version applied on top of the earlier ones (see
    `prospective`), one version number at a time over all lines at once.

    versions: every version of the lines, oldest first within a line, with segment columns
    (line_id, total, method, convention, at, start, end, quantity_micro), effective_date (the
    version's modification date; the first version's is not used) and policy (the version's
    modification policy; the first version's is not used).

    A catch-up version restates the schedule as if its terms had always applied (SPEC §3), so it
    replaces every version before it: the chain starts with its terms and total over its whole
    service, and only the prospective versions after it keep what was recognized before their
    modification date. A line with no catch-up version after its first starts at its first.
    """
    ranked = versions.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).over("line_id").alias("_rank")
    )
    restates = (pl.col("_rank") == 0) | (pl.col("policy") != "prospective")
    ranked = ranked.with_columns(
        pl.when(restates).then(pl.col("_rank")).max().over("line_id").alias("_from")
    ).filter(pl.col("_rank") >= pl.col("_from"))
    ranked = ranked.with_columns(pl.col("_rank") - pl.col("_from"))
    segment = [pl.col(name).cast(dtype) for name, dtype in SEGMENT_SCHEMA.items() if name != "cap"]
    current = ranked.filter(pl.col("_rank") == 0).select(
        *segment, pl.lit(None, dtype=pl.Date).alias("cap")
    )
    last = ranked["_rank"].max()
    for rank in range(1, 1 + (last if isinstance(last, int) else 0)):
        changed = ranked.filter(pl.col("_rank") == rank).select(
            *segment, pl.col("effective_date").alias("modification_date")
        )
        current = prospective(current, changed).select(SEGMENT_SCHEMA.keys())
    return current
