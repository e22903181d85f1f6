"""Revenue schedules per method (SPEC §1 cumulative rounding, §2 methods), in minor units.

Dates are service dates as the engine holds them: `end` is exclusive (the day after the last
service day). Expected schedules list only the months with revenue.
"""

from datetime import date

import polars as pl

from revrec.calendar import parse_date, period_name
from revrec.engine.schedules import schedule

SEGMENT_SCHEMA = {
    "line_id": pl.String,
    "total": pl.Int64,
    "method": pl.String,
    "convention": pl.String,
    "at": pl.String,
    "start": pl.Date,
    "end": pl.Date,
}


def segment(line_id, total, method, start, end, *, convention=None, at=None):
    return (
        line_id,
        total,
        method,
        convention,
        at,
        parse_date(start),
        parse_date(end) if end else None,
    )


def by_line(frame):
    """{line_id: {"YYYY-MM": amount}}, months with a zero amount left out."""
    result = {}
    for line_id, period, amount in frame.iter_rows():
        if amount != 0:
            result.setdefault(line_id, {})[period_name(period)] = amount
    return result


def run(*segments):
    """Schedules of time-based segments, each line checked to sum exactly to its total."""
    frame = pl.DataFrame(list(segments), schema=SEGMENT_SCHEMA, orient="row")
    result, errors = schedule(frame)
    found = by_line(result)
    for line_id, total in frame.select("line_id", "total").iter_rows():
        assert sum(found.get(line_id, {}).values()) == total
    return found, errors


def one(total, method, start, end, *, convention=None, at=None):
    """The schedule of a single line L."""
    found, errors = run(segment("L", total, method, start, end, convention=convention, at=at))
    assert errors == []
    return found.get("L", {})


def daily(total, start, end):
    return one(total, "ratable_daily", start, end)


def monthly(convention, total, start, end):
    return one(total, "ratable_monthly", start, end, convention=convention)


def point(at, total, start, end):
    return one(total, "point_in_time", start, end, at=at)


# --- ratable_daily -----------------------------------------------------------------------------


def test_hundred_dollars_over_seven_days():
    # Jan 29..Feb 4 is 7 days, 3 in January: 10,000 x 3/7 = 4,285.71 -> 4,286.
    assert daily(10_000, "2024-01-29", "2024-02-05") == {
        "2024-01": 4_286,
        "2024-02": 5_714,
    }


def test_daily_over_a_leap_quarter_and_a_common_quarter():
    # 100.00 a day: Q1 2024 has 31 + 29 + 31 = 91 days, Q1 2023 has 31 + 28 + 31 = 90.
    assert daily(910_000, "2024-01-01", "2024-04-01") == {
        "2024-01": 310_000,
        "2024-02": 290_000,
        "2024-03": 310_000,
    }
    assert daily(900_000, "2023-01-01", "2023-04-01") == {
        "2023-01": 310_000,
        "2023-02": 280_000,
        "2023-03": 310_000,
    }


def test_the_same_total_over_a_leap_quarter_and_a_common_quarter():
    # 1,000.00 over 91 days (2024): Jan 100,000 x 31/91 = 34,065.93 -> 34,066;
    # through Feb 100,000 x 60/91 = 65,934.07 -> 65,934, so Feb = 31,868; Mar the rest.
    assert daily(100_000, "2024-01-01", "2024-04-01") == {
        "2024-01": 34_066,
        "2024-02": 31_868,
        "2024-03": 34_066,
    }
    # Over 90 days (2023): Jan 100,000 x 31/90 = 34,444.44 -> 34,444;
    # through Feb 100,000 x 59/90 = 65,555.56 -> 65,556, so Feb = 31,112.
    assert daily(100_000, "2023-01-01", "2023-04-01") == {
        "2023-01": 34_444,
        "2023-02": 31_112,
        "2023-03": 34_444,
    }


def test_daily_across_february_29():
    # Feb 15..Mar 14: 15 February days in 2024 (15th..29th) and 14 March days, 29 in all.
    assert daily(2_900, "2024-02-15", "2024-03-15") == {
        "2024-02": 1_500,
        "2024-03": 1_400,
    }
    # In 2023 February ends on the 28th: 14 + 14 = 28 days.
    assert daily(2_800, "2023-02-15", "2023-03-15") == {
        "2023-02": 1_400,
        "2023-03": 1_400,
    }


def test_a_half_cent_tie_rounds_to_even():
    # 0.05 over Jan 31 and Feb 1: January's 2.5 cents round to the even 2.
    assert daily(5, "2024-01-31", "2024-02-02") == {"2024-01": 2, "2024-02": 3}
    # 0.07: 3.5 cents round to the even 4.
    assert daily(7, "2024-01-31", "2024-02-02") == {"2024-01": 4, "2024-02": 3}


def test_cumulative_rounding_over_a_year():
    # 1,000.00 over 2024 (366 days): each month is round(100,000 x days through it / 366) minus
    # the month before. Jan: 31/366 -> 8,469.95 -> 8,470; Feb: 60/366 -> 16,393.44 -> 16,393.
    months = daily(100_000, "2024-01-01", "2025-01-01")
    assert months["2024-01"] == 8_470
    assert months["2024-02"] == 16_393 - 8_470
    assert len(months) == 12


# --- ratable_monthly ---------------------------------------------------------------------------


def test_prorate_days_with_a_partial_leap_february():
    # Feb 15..Apr 30 2024: February counts 15/29 of a month (15th..29th), March and April 1 each;
    # 2 + 15/29 = 73/29 months. Feb 25,000 x 15/73 = 5,136.99 -> 5,137;
    # through Mar 25,000 x 44/73 = 15,068.49 -> 15,068, so Mar = 9,931 and Apr = 9,932.
    assert monthly("prorate_days", 25_000, "2024-02-15", "2024-05-01") == {
        "2024-02": 5_137,
        "2024-03": 9_931,
        "2024-04": 9_932,
    }
    # In 2023 February 15th..28th is 14/28 = half a month: 2.5 months, 100.00 a month.
    assert monthly("prorate_days", 25_000, "2023-02-15", "2023-05-01") == {
        "2023-02": 5_000,
        "2023-03": 10_000,
        "2023-04": 10_000,
    }


def test_prorate_days_with_partial_first_and_last_months():
    # Jan 16..Mar 15 2024: 16/31 of January + February + 15/31 of March = exactly 2 months.
    # Jan 10,000 x 16/31 = 5,161.29 -> 5,161; Feb 10,000; Mar 4,839.
    assert monthly("prorate_days", 20_000, "2024-01-16", "2024-03-16") == {
        "2024-01": 5_161,
        "2024-02": 10_000,
        "2024-03": 4_839,
    }


def test_prorate_days_whole_months_split_evenly():
    assert monthly("prorate_days", 30_000, "2024-01-01", "2024-04-01") == {
        "2024-01": 10_000,
        "2024-02": 10_000,
        "2024-03": 10_000,
    }


def test_full_month_counts_every_started_month_whole():
    # Jan 20..Apr 9: four months touched, 300.00 each.
    assert monthly("full_month", 120_000, "2024-01-20", "2024-04-10") == {
        "2024-01": 30_000,
        "2024-02": 30_000,
        "2024-03": 30_000,
        "2024-04": 30_000,
    }


def test_mid_month_start_on_the_15th_counts_the_first_month():
    # Jan 15..Mar 31: January, February, March count; 900.00 / 3.
    assert monthly("mid_month", 90_000, "2024-01-15", "2024-04-01") == {
        "2024-01": 30_000,
        "2024-02": 30_000,
        "2024-03": 30_000,
    }


def test_mid_month_start_on_the_16th_skips_the_first_month():
    # Jan 16..Mar 31: only February and March count; 900.00 / 2.
    assert monthly("mid_month", 90_000, "2024-01-16", "2024-04-01") == {
        "2024-02": 45_000,
        "2024-03": 45_000,
    }


def test_mid_month_last_day_on_the_15th_skips_the_last_month():
    # Jan 1..Mar 15: the last service day is not after the 15th, so March does not count.
    assert monthly("mid_month", 90_000, "2024-01-01", "2024-03-16") == {
        "2024-01": 45_000,
        "2024-02": 45_000,
    }


def test_mid_month_last_day_on_the_16th_counts_the_last_month():
    # Jan 1..Mar 16: March counts.
    assert monthly("mid_month", 90_000, "2024-01-01", "2024-03-17") == {
        "2024-01": 30_000,
        "2024-02": 30_000,
        "2024-03": 30_000,
    }


def test_mid_month_single_month_counts_that_month():
    # Mar 20..Mar 25 starts after the 15th, but a one-month service keeps its month.
    assert monthly("mid_month", 90_000, "2024-03-20", "2024-03-26") == {"2024-03": 90_000}


def test_mid_month_two_months_where_neither_counts_falls_back_to_the_first():
    # Jan 20..Feb 10: starts after the 15th and ends on or before the 15th (docs/decisions.md #2).
    assert monthly("mid_month", 90_000, "2024-01-20", "2024-02-11") == {"2024-01": 90_000}


def test_mid_month_three_months_where_neither_end_counts():
    # Jan 20..Mar 10: only February counts.
    assert monthly("mid_month", 90_000, "2024-01-20", "2024-03-11") == {"2024-02": 90_000}


# --- point_in_time -----------------------------------------------------------------------------


def test_point_in_time_at_start():
    assert point("start", 50_000, "2024-03-10", "2025-03-10") == {"2024-03": 50_000}


def test_point_in_time_at_end_is_the_last_service_day():
    # Service Mar 10..Jun 9 (end exclusive Jun 10): the last day is in June.
    assert point("end", 50_000, "2024-03-10", "2024-06-10") == {"2024-06": 50_000}


def test_point_in_time_range_end_is_the_day_after_the_last_service_day():
    # Service through June 30: `end` recognizes on June 30, `range_end` on July 1.
    assert point("end", 50_000, "2024-03-01", "2024-07-01") == {"2024-06": 50_000}
    assert point("range_end", 50_000, "2024-03-01", "2024-07-01") == {"2024-07": 50_000}
    # Through June 29 both land in June.
    assert point("range_end", 50_000, "2024-03-01", "2024-06-30") == {"2024-06": 50_000}


def test_a_line_without_an_end_date_is_recognized_whole_on_its_start():
    found, errors = run(
        segment("D", 12_000, "ratable_daily", "2024-05-20", None),
        segment("M", 34_000, "ratable_monthly", "2024-06-30", None, convention="full_month"),
        segment("P", 56_000, "point_in_time", "2024-07-01", None, at="range_end"),
    )
    assert errors == []
    assert found == {
        "D": {"2024-05": 12_000},
        "M": {"2024-06": 34_000},
        "P": {"2024-07": 56_000},
    }


# --- currencies and credits --------------------------------------------------------------------


def test_yen_schedules_have_whole_yen():
    # ¥1,000 over Jan 31..Feb 2: January 1,000 x 1/3 = 333.33 -> 333.
    assert daily(1_000, "2024-01-31", "2024-02-03") == {
        "2024-01": 333,
        "2024-02": 667,
    }


def test_dinar_schedules_have_whole_fils():
    # KWD 10.000 over three whole months: through Jan 3,333.33 -> 3,333;
    # through Feb 6,666.67 -> 6,667, so Feb = 3,334; Mar = 10,000 - 6,667 = 3,333.
    assert monthly("full_month", 10_000, "2024-01-01", "2024-04-01") == {
        "2024-01": 3_333,
        "2024-02": 3_334,
        "2024-03": 3_333,
    }


def test_a_credit_schedule_mirrors_the_charge():
    assert daily(-10_000, "2024-01-29", "2024-02-05") == {
        "2024-01": -4_286,
        "2024-02": -5_714,
    }
    # -2.5 cents is a tie: to the even -2.
    assert daily(-5, "2024-01-31", "2024-02-02") == {"2024-01": -2, "2024-02": -3}
    assert monthly("full_month", -10_000, "2024-01-01", "2024-04-01") == {
        "2024-01": -3_333,
        "2024-02": -3_334,
        "2024-03": -3_333,
    }


def test_several_lines_and_methods_in_one_call():
    found, errors = run(
        segment("D", 10_000, "ratable_daily", "2024-01-29", "2024-02-05"),
        segment("P", 7_000, "point_in_time", "2024-03-01", "2024-07-01", at="range_end"),
        segment("M", 90_000, "ratable_monthly", "2024-01-16", "2024-04-01", convention="mid_month"),
    )
    assert errors == []
    assert found == {
        "D": {"2024-01": 4_286, "2024-02": 5_714},
        "P": {"2024-07": 7_000},
        "M": {"2024-02": 45_000, "2024-03": 45_000},
    }


# --- event -------------------------------------------------------------------------------------

EVENT_SCHEMA = {
    "line_id": pl.String,
    "event_date": pl.Date,
    "seq": pl.Int64,
    "kind": pl.String,
    "value_micro": pl.Int64,
}


def released(total, *events, quantity_micro=1_000_000):
    """Schedule of one event line E; events are (date, kind, value) with value in millionths."""
    segments = pl.DataFrame(
        [segment("E", total, "event", "2024-01-01", "2024-12-31")],
        schema=SEGMENT_SCHEMA,
        orient="row",
    ).with_columns(pl.lit(quantity_micro, dtype=pl.Int64).alias("quantity_micro"))
    frame = pl.DataFrame(
        [("E", date.fromisoformat(d), i, kind, value) for i, (d, kind, value) in enumerate(events)],
        schema=EVENT_SCHEMA,
        orient="row",
    )
    result, errors = schedule(segments, events=frame)
    return by_line(result).get("E", {}), errors


def test_incremental_percents_add_up():
    # 30% in January, another 45% in March: 300.00 and 450.00 of 1,000.00; 25% still to come.
    months, errors = released(
        100_000, ("2024-01-10", "percent", 30_000_000), ("2024-03-05", "percent", 45_000_000)
    )
    assert errors == []
    assert months == {"2024-01": 30_000, "2024-03": 45_000}


def test_cumulative_percents_set_the_progress():
    # 30% by January, 75% by February, 100% by April: 300.00, 450.00, 250.00.
    months, errors = released(
        100_000,
        ("2024-01-10", "cumulative_percent", 30_000_000),
        ("2024-02-10", "cumulative_percent", 75_000_000),
        ("2024-04-01", "cumulative_percent", 100_000_000),
    )
    assert errors == []
    assert months == {"2024-01": 30_000, "2024-02": 45_000, "2024-04": 25_000}


def test_quantity_events_release_a_share_of_the_line_quantity():
    # 3 units for 100.00, one delivered a month: through Jan 10,000 x 1/3 = 3,333.33 -> 3,333;
    # through Feb 6,666.67 -> 6,667, so Feb = 3,334; Mar the last 3,333.
    months, errors = released(
        10_000,
        ("2024-01-15", "quantity", 1_000_000),
        ("2024-02-15", "quantity", 1_000_000),
        ("2024-03-15", "quantity", 1_000_000),
        quantity_micro=3_000_000,
    )
    assert errors == []
    assert months == {"2024-01": 3_333, "2024-02": 3_334, "2024-03": 3_333}


def test_several_events_in_one_month_make_one_month_amount():
    # 10% + 15% in January = 25% = 250.00; 25% in February.
    months, errors = released(
        100_000,
        ("2024-01-05", "percent", 10_000_000),
        ("2024-01-20", "percent", 15_000_000),
        ("2024-02-03", "percent", 25_000_000),
    )
    assert errors == []
    assert months == {"2024-01": 25_000, "2024-02": 25_000}


def test_releases_beyond_100_percent_are_capped():
    # 60% + 60% is 120%: February gets only the 40% left, March's 10% nothing.
    months, errors = released(
        100_000,
        ("2024-01-10", "percent", 60_000_000),
        ("2024-02-10", "percent", 60_000_000),
        ("2024-03-10", "percent", 10_000_000),
    )
    assert errors == []
    assert months == {"2024-01": 60_000, "2024-02": 40_000}


def test_quantity_beyond_the_line_quantity_is_capped():
    # 2 units ordered, 3 delivered: everything by February, nothing more.
    months, _ = released(
        10_000,
        ("2024-01-15", "quantity", 1_000_000),
        ("2024-02-15", "quantity", 2_000_000),
        quantity_micro=2_000_000,
    )
    assert months == {"2024-01": 5_000, "2024-02": 5_000}


def test_mixing_percents_and_quantities_on_one_line_is_an_error():
    months, errors = released(
        100_000, ("2024-01-10", "percent", 30_000_000), ("2024-02-10", "quantity", 1_000_000)
    )
    assert [e.line_id for e in errors] == ["E"]
    assert "percents or all quantities" in errors[0].message
    assert months == {}


# --- upon_billing ------------------------------------------------------------------------------


def test_upon_billing_follows_the_invoice_and_the_credit_memo():
    # INV of 500.00 on Jan 15, CM of 200.00 on Mar 2 (billings carry signed amounts).
    segments = pl.DataFrame(
        [segment("U", 30_000, "upon_billing", "2024-01-01", "2024-12-31")],
        schema=SEGMENT_SCHEMA,
        orient="row",
    )
    billings = pl.DataFrame(
        {
            "line_id": ["U", "U", "OTHER"],
            "doc_date": [date(2024, 1, 15), date(2024, 3, 2), date(2024, 1, 1)],
            "amount": [50_000, -20_000, 99_999],
        }
    )
    result, errors = schedule(segments, billings=billings)
    assert errors == []
    # The billing of a line that is not upon_billing is not revenue here.
    assert by_line(result) == {"U": {"2024-01": 50_000, "2024-03": -20_000}}
