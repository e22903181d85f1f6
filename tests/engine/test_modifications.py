"""Modifications and posting (SPEC §3, §4.6, §5 step 6): catch-up, prospective, late lines.

The running example: a 12-month line of 1,200.00 for 2024 (100.00 a month), January to March
posted and closed, raised to 1,500.00 with April open.
"""

from datetime import date

import polars as pl

from revrec.calendar import parse_period, period_name
from revrec.engine import methods
from revrec.engine import run as engine
from revrec.engine.modifications import effective_schedule, prospective
from revrec.engine.schedules import SCHEDULE_SCHEMA, schedule

SEGMENT_SCHEMA = {
    "line_id": pl.String,
    "total": pl.Int64,
    "method": pl.String,
    "convention": pl.String,
    "at": pl.String,
    "start": pl.Date,
    "end": pl.Date,
}
APRIL = parse_period("2024-04")


def segments(*rows):
    return pl.DataFrame(list(rows), schema=SEGMENT_SCHEMA, orient="row")


def year_2024(line_id, total, method="ratable_monthly", convention="full_month"):
    return (line_id, total, method, convention, None, date(2024, 1, 1), date(2025, 1, 1))


def posted(line_id, amounts):
    """Closed-period postings: {"YYYY-MM": amount}."""
    rows = [(line_id, parse_period(p), a) for p, a in amounts.items()]
    return pl.DataFrame(rows, schema=SCHEDULE_SCHEMA, orient="row")


def months(frame, line_id="L"):
    """{"YYYY-MM": amount} of one line, zero months left out."""
    return {period_name(p): a for lid, p, a in frame.iter_rows() if lid == line_id and a != 0}


def scheduled(segment_frame):
    result, errors = schedule(segment_frame)
    assert errors == []
    return result


def test_catch_up_puts_the_difference_in_the_open_period():
    # The new schedule is 1,500.00 / 12 = 125.00 a month. Through April that is 500.00, of which
    # 300.00 was posted: April gets 200.00 (its own 125.00 plus 75.00 caught up).
    first_quarter = {"2024-01": 10_000, "2024-02": 10_000, "2024-03": 10_000}
    new = scheduled(segments(year_2024("L", 150_000)))
    booked = effective_schedule(new, posted("L", first_quarter), APRIL)
    assert months(booked) == {
        **first_quarter,
        "2024-04": 20_000,
        **{f"2024-{m:02d}": 12_500 for m in range(5, 13)},
    }
    assert sum(booked["amount"]) == 150_000


def test_catch_up_of_a_decrease_is_negative():
    # Cut to 600.00 (50.00 a month): 200.00 due through April, 300.00 posted -> April -100.00.
    first_quarter = {"2024-01": 10_000, "2024-02": 10_000, "2024-03": 10_000}
    new = scheduled(segments(year_2024("L", 60_000)))
    booked = effective_schedule(new, posted("L", first_quarter), APRIL)
    assert months(booked) == {
        **first_quarter,
        "2024-04": -10_000,
        **{f"2024-{m:02d}": 5_000 for m in range(5, 13)},
    }


def test_closed_periods_stay_as_posted_even_when_the_schedule_disagrees():
    # Posted 90.00 / 110.00 / 100.00 (say, by an earlier version); the open period evens it out.
    history = {"2024-01": 9_000, "2024-02": 11_000, "2024-03": 10_000}
    new = scheduled(segments(year_2024("L", 120_000)))
    booked = effective_schedule(new, posted("L", history), APRIL)
    assert months(booked) == {
        **history,
        "2024-04": 10_000,
        **{f"2024-{m:02d}": 10_000 for m in range(5, 13)},
    }


def test_a_late_line_catches_up_in_the_open_period():
    # A line for 2024 arrives with March open and nothing posted: January to March, 300.00,
    # all land in March; the rest follows the schedule.
    new = scheduled(segments(year_2024("L", 120_000)))
    nothing = pl.DataFrame(schema=SCHEDULE_SCHEMA)
    booked = effective_schedule(new, nothing, parse_period("2024-03"))
    assert months(booked) == {
        "2024-03": 30_000,
        **{f"2024-{m:02d}": 10_000 for m in range(4, 13)},
    }


def test_a_late_daily_line_catches_up_in_the_open_period():
    # 100.00 over Jan 29..Feb 4 2024 arrives with March open: the whole 100.00 goes to March.
    new = scheduled(
        segments(("L", 10_000, "ratable_daily", None, None, date(2024, 1, 29), date(2024, 2, 5)))
    )
    booked = effective_schedule(new, pl.DataFrame(schema=SCHEDULE_SCHEMA), parse_period("2024-03"))
    assert months(booked) == {"2024-03": 10_000}


def modified(line_id, total, modification_date, method="ratable_monthly", convention="full_month"):
    row = year_2024(line_id, total, method, convention)
    return segments(row).with_columns(pl.lit(modification_date).alias("modification_date"))


def test_prospective_full_month_spreads_the_rest_over_the_remaining_months():
    # January to March recognized 300.00 and keep it; 1,500.00 - 300.00 = 1,200.00 is spread over
    # April..December, 9 months of 133.33: cumulative rounding gives 133.33 / 133.34 / 133.33,
    # e.g. through May 120,000 x 2/9 = 26,666.67 -> 26,667, so May = 13,334.
    prior = segments(year_2024("L", 120_000), year_2024("OTHER", 60_000))
    result = scheduled(prospective(prior, modified("L", 150_000, date(2024, 4, 1))))
    assert months(result) == {
        "2024-01": 10_000,
        "2024-02": 10_000,
        "2024-03": 10_000,
        "2024-04": 13_333,
        "2024-05": 13_334,
        "2024-06": 13_333,
        "2024-07": 13_333,
        "2024-08": 13_334,
        "2024-09": 13_333,
        "2024-10": 13_333,
        "2024-11": 13_334,
        "2024-12": 13_333,
    }
    # A line that was not modified keeps its schedule.
    assert months(result, "OTHER") == {f"2024-{m:02d}": 5_000 for m in range(1, 13)}


def test_prospective_full_month_modified_mid_month_cuts_at_the_month_start():
    # docs/decisions.md #3: a modification on April 16 still leaves April to the new terms.
    prior = segments(year_2024("L", 120_000))
    result = scheduled(prospective(prior, modified("L", 150_000, date(2024, 4, 16))))
    found = months(result)
    assert [found[f"2024-{m:02d}"] for m in (1, 2, 3, 4, 5)] == [10_000] * 3 + [13_333, 13_334]
    assert sum(found.values()) == 150_000


def test_prospective_ratable_daily():
    # 1,200.00 over the 366 days of 2024: through March (91 days) 120,000 x 91/366 = 29,836.07
    # -> 29,836 stays (Jan 31/366 -> 10,164; Feb 60/366 -> 19,672, so 9,508; Mar 10,164).
    # The new 1,500.00 leaves 120,164 for April 1..December 31, 275 days:
    # April 120,164 x 30/275 = 13,108.8 -> 13,109; through May x 61/275 = 26,654.5 -> 26,655
    # (May 13,546); through June x 91/275 = 39,763.1 -> 39,763 (June 13,108); and so on.
    prior = segments(year_2024("L", 120_000, "ratable_daily", None))
    changed = modified("L", 150_000, date(2024, 4, 1), "ratable_daily", None)
    result = scheduled(prospective(prior, changed))
    assert months(result) == {
        "2024-01": 10_164,
        "2024-02": 9_508,
        "2024-03": 10_164,
        "2024-04": 13_109,
        "2024-05": 13_546,
        "2024-06": 13_108,
        "2024-07": 13_546,
        "2024-08": 13_546,
        "2024-09": 13_109,
        "2024-10": 13_545,
        "2024-11": 13_109,
        "2024-12": 13_546,
    }


def test_prospective_ratable_daily_modified_mid_month():
    # Modified on April 16: the old terms recognized 120,000 x 106/366 = 34,754.1 -> 34,754
    # before it (April 1..15: 34,754 - 29,836 = 4,918). The new terms spread 150,000 - 34,754 =
    # 115,246 over April 16..December 31, 260 days: April 16..30 is 115,246 x 15/260 = 6,648.8
    # -> 6,649. April = 4,918 + 6,649 = 11,567.
    prior = segments(year_2024("L", 120_000, "ratable_daily", None))
    changed = modified("L", 150_000, date(2024, 4, 16), "ratable_daily", None)
    found = months(scheduled(prospective(prior, changed)))
    assert found["2024-03"] == 10_164
    assert found["2024-04"] == 11_567
    assert sum(found.values()) == 150_000


def test_prospective_after_the_service_ended_recognizes_the_rest_on_the_modification_date():
    # The 2024 line recognized all 1,200.00 by December; raised to 1,300.00 on 2025-02-10, the
    # extra 100.00 has no service left to spread over, so it lands on the modification date.
    prior = segments(year_2024("L", 120_000, "ratable_daily", None))
    result = scheduled(prospective(prior, modified("L", 130_000, date(2025, 2, 10), "ratable_daily",
                                                   None)))  # fmt: skip
    amounts = months(result)
    assert sum(amounts.values()) == 130_000
    assert amounts["2025-02"] == 10_000
    assert "2025-01" not in amounts


def test_prospective_point_in_time_that_has_passed_lands_on_the_modification_date():
    # Recognized at the end of service (2024-12-31); raised by 100.00 on 2025-01-15.
    row = ("L", 120_000, "point_in_time", None, "end", date(2024, 1, 1), date(2025, 1, 1))
    changed = segments(row).with_columns(
        pl.lit(130_000).alias("total"), pl.lit(date(2025, 1, 15)).alias("modification_date")
    )
    result = scheduled(prospective(segments(row), changed))
    assert months(result) == {"2024-12": 120_000, "2025-01": 10_000}


# --- chains of versions through engine.run: catch-up restates, prospective keeps -------------
# L1 is 1,200.00 over 2024 by full months. Each version carries its own policy; the contract
# has none, and the default is catch_up.

FULL_MONTH = methods.templates([("full", "ratable_monthly", "full_month", None)])


def version(number, amount, policy, effective=date(2024, 1, 1), end=date(2025, 1, 1)):
    """Version `number` of L1 (a LINE_SCHEMA row) of `amount` minor units."""
    return {
        "line_id": "L1", "version": number, "contract_id": "C1", "currency": "USD",
        "billing_driven": False, "line_no": 1, "item_code": "SUB", "pob_template": "full",
        "schedule_type": None, "amount": amount, "quantity_micro": 1_000_000, "ssp_unit": None,
        "exclude": False, "residual": False, "start": date(2024, 1, 1), "end": end,
        "effective_date": effective, "modification_policy": policy,
    }  # fmt: skip


def run_versions(versions, closed, open_period):
    """engine.run over L1's versions: earlier versions allocated their own amount, `closed`
    ({"YYYY-MM": amount}) posted to closed periods, `open_period` open."""
    stored = [("L1", v["version"], v["amount"]) for v in versions[:-1]]
    posted_rows = [("PRIMARY", "L1", parse_period(p), a) for p, a in closed.items()]
    return engine.run(
        engine.Inputs(
            lines=pl.DataFrame(versions, schema=engine.LINE_SCHEMA),
            billings=pl.DataFrame(schema=engine.BILLING_SCHEMA),
            events=pl.DataFrame(schema=engine.EVENT_SCHEMA),
            stored_allocations=pl.DataFrame(stored, schema=engine.ALLOCATION_SCHEMA, orient="row"),
            posted=pl.DataFrame(posted_rows, schema=engine.POSTING_SCHEMA, orient="row"),
            books=pl.DataFrame(
                [("PRIMARY", parse_period(open_period))], schema=engine.BOOK_SCHEMA, orient="row"
            ),
            overrides=pl.DataFrame(schema=engine.OVERRIDE_SCHEMA),
            templates=FULL_MONTH,
            policies=pl.DataFrame(schema=engine.POLICY_SCHEMA),
        )
    )


def schedule_of(out):
    return months(out.schedules.select("line_id", "period", "amount"), "L1")


def posting_of(out):
    return [(period_name(p), a) for _, _, p, a in out.postings.rows()]


CATCH_UP_FEB = version(2, 240_000, "catch_up", date(2024, 2, 1))
PROSPECTIVE_MAR = version(3, 360_000, "prospective", date(2024, 3, 1))


def test_a_prospective_modification_keeps_what_a_catch_up_one_recognized():
    # February's catch-up to 2,400.00 restates the year as 200.00 a month: through February
    # 400.00 (January posted 100.00 under the first version, February 300.00). March's
    # prospective 3,600.00 keeps those 400.00 and spreads 3,200.00 over March..December:
    # 320.00 a month, posted in March as is.
    versions = [version(1, 120_000, "catch_up"), CATCH_UP_FEB, PROSPECTIVE_MAR]
    out = run_versions(versions, {"2024-01": 10_000, "2024-02": 30_000}, "2024-03")
    assert schedule_of(out) == {
        "2024-01": 20_000,
        "2024-02": 20_000,
        **{f"2024-{m:02d}": 32_000 for m in range(3, 13)},
    }
    assert posting_of(out) == [("2024-03", 32_000)]


def test_a_catch_up_after_a_prospective_one_restates_everything():
    # catch_up -> prospective -> catch_up: April's 4,800.00 (catch-up) restates the year as
    # 400.00 a month, as if it had always applied. Through April 1,600.00, of which 720.00 was
    # posted (100.00, 300.00, 320.00): April posts 880.00.
    versions = [
        version(1, 120_000, "catch_up"),
        CATCH_UP_FEB,
        PROSPECTIVE_MAR,
        version(4, 480_000, "catch_up", date(2024, 4, 1)),
    ]
    closed = {"2024-01": 10_000, "2024-02": 30_000, "2024-03": 32_000}
    out = run_versions(versions, closed, "2024-04")
    assert schedule_of(out) == {f"2024-{m:02d}": 40_000 for m in range(1, 13)}
    assert posting_of(out) == [("2024-04", 88_000)]


def test_prospective_versions_after_a_catch_up_chain_from_it():
    # catch_up -> prospective -> prospective: March's 320.00 a month (as above) stops at May 1,
    # 1,040.00 recognized by then; May's 4,600.00 spreads 3,560.00 over May..December, 445.00 a
    # month, posted in May as is.
    versions = [
        version(1, 120_000, "catch_up"),
        CATCH_UP_FEB,
        PROSPECTIVE_MAR,
        version(4, 460_000, "prospective", date(2024, 5, 1)),
    ]
    closed = {"2024-01": 10_000, "2024-02": 30_000, "2024-03": 32_000, "2024-04": 32_000}
    out = run_versions(versions, closed, "2024-05")
    assert schedule_of(out) == {
        "2024-01": 20_000,
        "2024-02": 20_000,
        "2024-03": 32_000,
        "2024-04": 32_000,
        **{f"2024-{m:02d}": 44_500 for m in range(5, 13)},
    }
    assert posting_of(out) == [("2024-05", 44_500)]


def test_a_catch_up_replaces_the_prospective_versions_before_it_and_their_terms():
    # prospective -> catch_up -> prospective. February's prospective 2,400.00 is replaced by
    # March's catch-up: 1,800.00 over January 2024..June 2025 (new terms), 100.00 a month from
    # the start. April's prospective 2,000.00 keeps the 300.00 recognized through March and
    # spreads 1,700.00 over April 2024..June 2025, 15 months: 113.33 / 113.34 / 113.33 ...
    later = date(2025, 7, 1)
    versions = [
        version(1, 120_000, "catch_up"),
        version(2, 240_000, "prospective", date(2024, 2, 1)),
        version(3, 180_000, "catch_up", date(2024, 3, 1), end=later),
        version(4, 200_000, "prospective", date(2024, 4, 1), end=later),
    ]
    closed = {"2024-01": 10_000, "2024-02": 20_909, "2024-03": 0}
    out = run_versions(versions, closed, "2024-04")
    found = schedule_of(out)
    assert [found[f"2024-{m:02d}"] for m in range(1, 7)] == [
        10_000, 10_000, 10_000, 11_333, 11_334, 11_333,
    ]  # fmt: skip
    assert sum(found.values()) == 200_000
    assert max(found) == "2025-06"
    # Through April 41,333 is due, 30,909 was posted: April catches up 10,424.
    assert posting_of(out) == [("2024-04", 10_424)]


def test_prospective_versions_without_a_catch_up_chain_from_the_first():
    # prospective -> prospective: January 100.00; February's 2,400.00 spreads 2,300.00 over
    # 11 months (209.09: 230,000 / 11 = 20,909.09); through March 1 309.09 stays, and March's
    # 3,600.00 spreads 3,290.91 over 10 months (329,091 / 10 = 32,909.1 -> 32,909).
    versions = [
        version(1, 120_000, "prospective"),
        version(2, 240_000, "prospective", date(2024, 2, 1)),
        version(3, 360_000, "prospective", date(2024, 3, 1)),
    ]
    out = run_versions(versions, {"2024-01": 10_000, "2024-02": 20_909}, "2024-03")
    found = schedule_of(out)
    assert [found[f"2024-{m:02d}"] for m in (1, 2, 3, 4)] == [10_000, 20_909, 32_909, 32_909]
    assert sum(found.values()) == 360_000
    assert posting_of(out) == [("2024-03", 32_909)]
