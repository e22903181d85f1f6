"""Event actions (SPEC §5.2): hold, remove_hold, accelerate, expire, month by month."""

from datetime import date

import polars as pl

from revrec.calendar import parse_period, period_name
from revrec.engine.schedules import SCHEDULE_SCHEMA, apply_actions

ACTIONS = {"line_id": pl.String, "event_date": pl.Date, "seq": pl.Int64, "action": pl.String}


def twelve_hundred():
    """1,200.00 over 2024 by full months: 100.00 a month."""
    return pl.DataFrame(
        [("L", parse_period(f"2024-{m:02d}"), 10_000) for m in range(1, 13)]
        + [("OTHER", parse_period("2024-01"), 500)],
        schema=SCHEDULE_SCHEMA,
        orient="row",
    )


def acted(*steps):
    actions = pl.DataFrame(
        [("L", day, i, action) for i, (day, action) in enumerate(steps)],
        schema=ACTIONS,
        orient="row",
    )
    result = apply_actions(twelve_hundred(), actions)
    line = {period_name(p): a for lid, p, a in result.iter_rows() if lid == "L"}
    other = {period_name(p): a for lid, p, a in result.iter_rows() if lid == "OTHER"}
    assert other == {"2024-01": 500}
    return line


def test_hold_then_remove_catches_up_in_the_release_month():
    # Held from March; released in June: March..May (300.00) land in June beside June's own.
    line = acted((date(2024, 3, 10), "hold"), (date(2024, 6, 2), "remove_hold"))
    assert line["2024-02"] == 10_000
    assert "2024-03" not in line
    assert "2024-05" not in line
    assert line["2024-06"] == 40_000
    assert line["2024-07"] == 10_000
    assert sum(line.values()) == 120_000


def test_a_hold_never_removed_leaves_the_rest_unrecognized():
    line = acted((date(2024, 10, 1), "hold"))
    assert sum(line.values()) == 90_000
    assert max(line) == "2024-09"


def test_accelerate_recognizes_all_that_remains_in_its_month():
    line = acted((date(2024, 4, 20), "accelerate"))
    assert line == {"2024-01": 10_000, "2024-02": 10_000, "2024-03": 10_000, "2024-04": 90_000}


def test_expire_during_a_hold_recognizes_the_held_revenue_too():
    line = acted((date(2024, 3, 1), "hold"), (date(2024, 8, 31), "expire"))
    assert line == {"2024-01": 10_000, "2024-02": 10_000, "2024-08": 100_000}
