"""Contract costs (SPEC §5 step 5, ASC 340-40): capitalize, amortize, expense; in minor units.

Periods in the expectations are named YYYY-MM; a cost's `period` is the accounting period it was
processed in, its cost_date starts a straight-line amortization. Expected schedules list only
rows with a non-zero amount. A follow_revenue cost divides by its line's allocated amount; unless
a test gives allocations, each line's is the total of its revenue rows in the first book they
name (the line is fully recognized).
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import polars as pl
from hypothesis import example, given
from hypothesis import strategies as st

from revrec.calendar import month_index, parse_period, period_name
from revrec.engine.costs import (
    ALLOCATED_SCHEMA,
    COST_FINDING_SCHEMA,
    COST_POSTING_SCHEMA,
    COST_SCHEMA,
    REVENUE_SCHEMA,
    cost_postings,
    cost_schedules,
)
from revrec.money import round_half_even

P = parse_period


def cost(
    cost_id,
    amount,
    *,
    period="2024-01",
    cost_date=None,
    line_id="L1",
    contract_id="C1",
    amortization="follow_revenue",
    months=None,
    expense=False,
):
    day = cost_date or date(P(period) // 12, P(period) % 12 + 1, 1)
    return (
        cost_id, line_id, contract_id, "USD", amount, P(period), day, amortization, months, expense,
    )  # fmt: skip


def straight(cost_id, amount, months, cost_date, *, period=None, **kwargs):
    period = period or f"{cost_date.year:04d}-{cost_date.month:02d}"
    return cost(
        cost_id,
        amount,
        period=period,
        cost_date=cost_date,
        amortization="straight_line",
        months=months,
        **kwargs,
    )


def costs(*rows):
    return pl.DataFrame(list(rows), schema=COST_SCHEMA, orient="row")


def revenue(*rows):
    """Rows (book, line_id, contract_id, "YYYY-MM", amount)."""
    return pl.DataFrame(
        [(b, line, c, P(p), a) for b, line, c, p, a in rows], schema=REVENUE_SCHEMA, orient="row"
    )


NO_REVENUE = revenue()


def allocations(*rows):
    """Rows (line_id, contract_id, allocated)."""
    return pl.DataFrame(list(rows), schema=ALLOCATED_SCHEMA, orient="row")


def fully_recognized(revenue_rows):
    """Each line's allocation: its revenue rows' total in the first book they name."""
    first, totals = {}, {}
    for book, line, contract, _, amount in revenue_rows.iter_rows():
        first.setdefault(line, (book, contract))
        if first[line][0] == book:
            totals[line] = totals.get(line, 0) + amount
    return allocations(*((line, first[line][1], total) for line, total in totals.items()))


def rows_of(frame, kind, cost_id=None, book="PRIMARY"):
    """{"YYYY-MM": amount} of one kind (of one cost and book)."""
    return {
        period_name(p): a
        for b, c, p, k, a in frame.iter_rows()
        if k == kind and b == book and (cost_id is None or c == cost_id)
    }


def run(cost_rows, revenue_rows=NO_REVENUE, books=("PRIMARY",), allocated=None):
    if allocated is None:
        allocated = fully_recognized(revenue_rows)
    schedule, findings = cost_schedules(costs(*cost_rows), revenue_rows, list(books), allocated)
    assert schedule.schema == pl.Schema(COST_POSTING_SCHEMA)
    assert findings.schema == pl.Schema(COST_FINDING_SCHEMA)
    return schedule, findings


# --- straight line ---------------------------------------------------------------------------


def test_a_commission_is_capitalized_and_amortized_straight_line_from_its_month():
    # 1,200.00 over 12 months from 2024-03-15: 100.00 a month, 2024-03 through 2025-02.
    schedule, findings = run([straight("K1", 120_000, 12, date(2024, 3, 15))])
    assert findings.is_empty()
    assert rows_of(schedule, "capitalize") == {"2024-03": 120_000}
    months = [period_name(P("2024-03") + i) for i in range(12)]
    assert rows_of(schedule, "amortize") == dict.fromkeys(months, 10_000)
    assert rows_of(schedule, "expense") == {}


def test_straight_line_rounds_the_cumulative_half_even():
    # 1,000.00 over 3 months: cumulative 333.33 (33,333.3), 666.67 (66,666.7), 1,000.00.
    schedule, _ = run([straight("K1", 100_000, 3, date(2024, 1, 31))])
    assert rows_of(schedule, "amortize") == {
        "2024-01": 33_333,
        "2024-02": 33_334,
        "2024-03": 33_333,
    }
    # Ties go to even: 0.05 over 2 months is 0.02 then 0.03 (2.5 -> 2); 0.07 is 0.04, 0.03;
    # a clawback mirrors its cost.
    schedule, _ = run(
        [
            straight("A", 5, 2, date(2024, 1, 1)),
            straight("B", 7, 2, date(2024, 1, 1)),
            straight("C", -5, 2, date(2024, 1, 1)),
        ]
    )
    assert rows_of(schedule, "amortize", "A") == {"2024-01": 2, "2024-02": 3}
    assert rows_of(schedule, "amortize", "B") == {"2024-01": 4, "2024-02": 3}
    assert rows_of(schedule, "amortize", "C") == {"2024-01": -2, "2024-02": -3}
    assert rows_of(schedule, "capitalize", "C") == {"2024-01": -5}


def test_a_late_cost_catches_up_the_months_it_missed_in_its_own_period():
    # Cost date 2024-03-10, processed in 2024-05: nothing before 2024-05, where three months
    # (March, April, May) are amortized at once beside the capitalization.
    schedule, _ = run([straight("K1", 120_000, 12, date(2024, 3, 10), period="2024-05")])
    assert rows_of(schedule, "capitalize") == {"2024-05": 120_000}
    amortized = rows_of(schedule, "amortize")
    assert amortized == {
        "2024-05": 30_000,
        **{period_name(P("2024-06") + i): 10_000 for i in range(9)},
    }
    assert sum(amortized.values()) == 120_000


def test_a_cost_processed_after_its_whole_amortization_is_amortized_at_once():
    schedule, _ = run([straight("K1", 60_000, 3, date(2024, 1, 5), period="2024-06")])
    assert rows_of(schedule, "amortize") == {"2024-06": 60_000}


def test_straight_line_without_months_is_amortized_at_once_with_a_finding():
    schedule, findings = run([straight("K1", 60_000, None, date(2024, 1, 5))])
    assert rows_of(schedule, "amortize") == {"2024-01": 60_000}
    assert findings.rows() == [
        ("K1", "cost K1: straight_line needs amortization_months above 0; amortized at once")
    ]


# --- following the revenue -------------------------------------------------------------------


LINE_100_200_700 = revenue(
    ("PRIMARY", "L1", "C1", "2024-01", 10_000),
    ("PRIMARY", "L1", "C1", "2024-02", 20_000),
    ("PRIMARY", "L1", "C1", "2024-03", 70_000),
)


def test_a_cost_follows_its_lines_revenue_pattern():
    # Revenue 100 / 200 / 700 of 1,000: a cost of 50.00 amortizes 5.00 / 10.00 / 35.00.
    schedule, findings = run([cost("K1", 5_000)], LINE_100_200_700)
    assert findings.is_empty()
    assert rows_of(schedule, "capitalize") == {"2024-01": 5_000}
    assert rows_of(schedule, "amortize") == {"2024-01": 500, "2024-02": 1_000, "2024-03": 3_500}


def test_following_revenue_rounds_the_cumulative_half_even():
    # 0.10 over 100 / 200 / 700: cumulative 1, 3 (0.3 x 10 = 3), 10; 0.05: 0.5 -> 0, 1.5 -> 2, 5.
    schedule, _ = run([cost("A", 10), cost("B", 5)], LINE_100_200_700)
    assert rows_of(schedule, "amortize", "A") == {"2024-01": 1, "2024-02": 2, "2024-03": 7}
    assert rows_of(schedule, "amortize", "B") == {"2024-02": 2, "2024-03": 3}


def test_a_contract_level_cost_follows_the_sum_of_its_lines():
    # L1: 600 + 600 in Jan/Feb; L2: 300 + 500 in Feb/Mar. Together 600 / 900 / 500 of 2,000:
    # a contract cost of 100.00 amortizes 30.00 / 45.00 / 25.00. A cost on L2 alone follows L2,
    # and a line of another contract counts for neither.
    two_lines = revenue(
        ("PRIMARY", "L1", "C1", "2024-01", 60_000),
        ("PRIMARY", "L1", "C1", "2024-02", 60_000),
        ("PRIMARY", "L2", "C1", "2024-02", 30_000),
        ("PRIMARY", "L2", "C1", "2024-03", 50_000),
        ("PRIMARY", "L9", "C9", "2024-01", 99_999_999),
    )
    schedule, findings = run(
        [cost("KC", 10_000, line_id=None), cost("K2", 8_000, line_id="L2")], two_lines
    )
    assert findings.is_empty()
    assert rows_of(schedule, "amortize", "KC") == {
        "2024-01": 3_000,
        "2024-02": 4_500,
        "2024-03": 2_500,
    }
    assert rows_of(schedule, "amortize", "K2") == {"2024-02": 3_000, "2024-03": 5_000}


def test_a_late_cost_following_revenue_catches_up_in_its_period():
    # Processed in 2024-02: January's share (5.00) is amortized in February with its own.
    schedule, _ = run([cost("K1", 5_000, period="2024-02")], LINE_100_200_700)
    assert rows_of(schedule, "capitalize") == {"2024-02": 5_000}
    assert rows_of(schedule, "amortize") == {"2024-02": 1_500, "2024-03": 3_500}


def test_a_credit_lines_negative_schedule_gives_positive_shares():
    credit = revenue(
        ("PRIMARY", "L1", "C1", "2024-01", -25_000), ("PRIMARY", "L1", "C1", "2024-02", -75_000)
    )
    schedule, _ = run([cost("K1", 4_000)], credit)
    assert rows_of(schedule, "amortize") == {"2024-01": 1_000, "2024-02": 3_000}


def test_rows_of_one_line_and_month_are_added_up():
    split = revenue(
        ("PRIMARY", "L1", "C1", "2024-01", 10_000),
        ("PRIMARY", "L1", "C1", "2024-01", 10_000),
        ("PRIMARY", "L1", "C1", "2024-02", 20_000),
    )
    schedule, _ = run([cost("K1", 1_000)], split)
    assert rows_of(schedule, "amortize") == {"2024-01": 500, "2024-02": 500}


def test_nothing_to_follow_amortizes_at_once_with_a_finding():
    # No schedule at all for L7; a schedule of C5 that sums to zero (a charge and its credit).
    zero = revenue(
        ("PRIMARY", "L5", "C5", "2024-01", 10_000), ("PRIMARY", "L5", "C5", "2024-03", -10_000)
    )
    orphans = [
        cost("K1", 5_000, line_id="L7", period="2024-04"),
        cost("K2", 700, line_id=None, contract_id="C5"),
    ]
    schedule, findings = run(orphans, zero)
    assert rows_of(schedule, "amortize", "K1") == {"2024-04": 5_000}
    assert rows_of(schedule, "amortize", "K2") == {"2024-01": 700}
    assert findings.rows() == [
        ("K1", "cost K1: its line has no revenue schedule in book PRIMARY; amortized at once"),
        ("K2", "cost K2: its contract has no revenue schedule in book PRIMARY; amortized at once"),
    ]


def test_each_book_follows_its_own_revenue_schedule():
    # PRIMARY recognizes L1 ratably over two months, LOCAL all in January (another method):
    # the same 1,000.00 commission amortizes 500.00 / 500.00 in one and 1,000.00 in the other.
    books = revenue(
        ("PRIMARY", "L1", "C1", "2024-01", 50_000),
        ("PRIMARY", "L1", "C1", "2024-02", 50_000),
        ("LOCAL", "L1", "C1", "2024-01", 100_000),
        ("OTHER", "L1", "C1", "2024-06", 100_000),  # a book not asked for
    )
    schedule, findings = run([cost("K1", 100_000)], books, books=("PRIMARY", "LOCAL"))
    assert findings.is_empty()
    assert rows_of(schedule, "amortize", book="PRIMARY") == {"2024-01": 50_000, "2024-02": 50_000}
    assert rows_of(schedule, "amortize", book="LOCAL") == {"2024-01": 100_000}
    assert rows_of(schedule, "capitalize", book="LOCAL") == {"2024-01": 100_000}
    assert set(schedule["book"]) == {"PRIMARY", "LOCAL"}


def test_amounts_of_1e15_against_schedules_of_1e15_are_exact():
    big = 10**15
    months = {"2024-01": big - 1, "2024-02": big, "2024-03": 3 * big // 7}
    pattern = revenue(*(("PRIMARY", "L1", "C1", p, a) for p, a in months.items()))
    schedule, _ = run([cost("K1", big - 3)], pattern)
    total, done, before, expected = sum(months.values()), 0, 0, {}
    for period, amount in months.items():
        done += amount
        cumulative = round_half_even(Fraction((big - 3) * done, total))
        expected[period], before = cumulative - before, cumulative
    assert rows_of(schedule, "amortize") == expected
    assert sum(expected.values()) == big - 3
    assert all(amount > 10**14 for amount in expected.values())


def test_a_pattern_that_overshoots_its_total_amortizes_at_most_the_cost():
    # A pattern of +1e15 then -(1e15 - 1) totals 1: unclamped, its first month would be 1e15
    # times the cost. The share is clamped to 1: the whole cost in January, nothing after.
    wild = revenue(
        ("PRIMARY", "L1", "C1", "2024-01", 10**15),
        ("PRIMARY", "L1", "C1", "2024-02", 1 - 10**15),
    )
    schedule, _ = run([cost("K1", 10**6)], wild)
    assert rows_of(schedule, "amortize") == {"2024-01": 10**6}


def test_a_prospective_decrease_that_overshoots_is_clamped_and_ends_fully_amortized():
    # 1,000.00 recognized 400 / 400, then lowered to 500.00: -300.00 in March. R: 400, 800, 500
    # of T = 500: shares 0.8, 1 (clamped from 1.6), 1. A cost of 10.00: 8.00, 2.00, 0.00.
    lowered = revenue(
        ("PRIMARY", "L1", "C1", "2024-01", 40_000),
        ("PRIMARY", "L1", "C1", "2024-02", 40_000),
        ("PRIMARY", "L1", "C1", "2024-03", -30_000),
    )
    schedule, _ = run([cost("K1", 1_000)], lowered)
    assert rows_of(schedule, "amortize") == {"2024-01": 800, "2024-02": 200}
    # A share below 0 (a credit recognized first on a positive total) amortizes nothing.
    credit_first = revenue(
        ("PRIMARY", "L1", "C1", "2024-01", -10_000), ("PRIMARY", "L1", "C1", "2024-02", 30_000)
    )
    schedule, _ = run([cost("K1", 1_000)], credit_first)
    assert rows_of(schedule, "amortize") == {"2024-02": 1_000}


# --- following an event-based line: towards its allocated amount ------------------------------

L1_1000 = allocations(("L1", "C1", 100_000))  # L1 allocated 1,000.00


def test_a_cost_on_an_event_line_amortizes_the_share_released():
    # L1 allocated 1,000.00; a 10% release in January recognized 100.00: the 100.00 cost
    # amortizes 100.00 x 100.00 / 1,000.00 = 10.00, not all of it. 25% more in March: through
    # March 35% -> 35.00, March 25.00. The rest waits for the releases.
    released = revenue(
        ("PRIMARY", "L1", "C1", "2024-01", 10_000), ("PRIMARY", "L1", "C1", "2024-03", 25_000)
    )
    schedule, findings = run([cost("K1", 10_000)], released, allocated=L1_1000)
    assert findings.is_empty()
    assert rows_of(schedule, "capitalize") == {"2024-01": 10_000}
    assert rows_of(schedule, "amortize") == {"2024-01": 1_000, "2024-03": 2_500}


def test_a_cost_on_an_event_line_rounds_the_cumulative_half_even():
    # 0.25 against 1,000.00 allocated: releases of 10% (100.00), 20% (200.00) and 70% (700.00).
    # Cumulative 0.25 x 0.1 = 2.5 -> 2 (even), x 0.3 = 7.5 -> 8, x 1.0 = 25: 2 / 6 / 17.
    schedule, _ = run([cost("K1", 25)], LINE_100_200_700, allocated=L1_1000)
    assert rows_of(schedule, "amortize") == {"2024-01": 2, "2024-02": 6, "2024-03": 17}


def test_an_event_line_with_nothing_released_amortizes_nothing_yet_and_finds_nothing():
    schedule, findings = run([cost("K1", 10_000)], NO_REVENUE, allocated=L1_1000)
    assert findings.is_empty()
    assert rows_of(schedule, "capitalize") == {"2024-01": 10_000}
    assert rows_of(schedule, "amortize") == {}


def test_a_contract_cost_divides_by_all_its_lines_allocations():
    # C1: L1 1,200.00 over Jan/Feb (fully recognized), L2 800.00 event-based with 40% (320.00)
    # released in March: T = 2,000.00. A contract cost of 50.00 amortizes 50.00 x 600 / 2,000 =
    # 15.00, then 30.00 through February, 50.00 x 1,520 / 2,000 = 38.00 through March; the
    # remaining 12.00 waits for L2's releases.
    two_lines = revenue(
        ("PRIMARY", "L1", "C1", "2024-01", 60_000),
        ("PRIMARY", "L1", "C1", "2024-02", 60_000),
        ("PRIMARY", "L2", "C1", "2024-03", 32_000),
    )
    allocated = allocations(("L1", "C1", 120_000), ("L2", "C1", 80_000), ("L9", "C9", 10**9))
    schedule, _ = run([cost("KC", 5_000, line_id=None)], two_lines, allocated=allocated)
    assert rows_of(schedule, "amortize") == {"2024-01": 1_500, "2024-02": 1_500, "2024-03": 800}
    # L2 released in full (the remaining 480.00) in April: the last 12.00 is amortized.
    done = pl.concat([two_lines, revenue(("PRIMARY", "L2", "C1", "2024-04", 48_000))])
    schedule, _ = run([cost("KC", 5_000, line_id=None)], done, allocated=allocated)
    amortized = rows_of(schedule, "amortize")
    assert amortized == {"2024-01": 1_500, "2024-02": 1_500, "2024-03": 800, "2024-04": 1_200}
    assert sum(amortized.values()) == 5_000


def test_an_allocation_of_zero_has_nothing_to_follow():
    # The line's schedule has rows, but it is allocated 0.00: amortized at once, with a finding.
    nothing = allocations(("L1", "C1", 0))
    schedule, findings = run([cost("K1", 700)], LINE_100_200_700, allocated=nothing)
    assert rows_of(schedule, "amortize") == {"2024-01": 700}
    assert findings["cost_id"].to_list() == ["K1"]


# --- expense immediately, order, types -------------------------------------------------------


def test_an_expensed_cost_is_one_expense_row_and_nothing_capitalized():
    schedule, findings = run(
        [
            cost("K1", 25_000, period="2024-02", expense=True),
            straight("K2", 12_000, 12, date(2024, 2, 1), expense=True),
        ],
        LINE_100_200_700,
    )
    assert findings.is_empty()
    assert schedule.rows() == [
        ("PRIMARY", "K1", P("2024-02"), "expense", 25_000),
        ("PRIMARY", "K2", P("2024-02"), "expense", 12_000),
    ]


def test_rows_are_sorted_by_book_cost_period_kind_and_typed_even_when_empty():
    schedule, _ = run(
        [straight("Z", 300, 3, date(2024, 1, 1)), cost("A", 100, expense=True)],
        books=("PRIMARY", "B"),
    )
    keys = schedule.select("book", "cost_id", "period", "kind").rows()
    assert keys == sorted(keys)
    january = P("2024-01")
    assert keys[:3] == [
        ("B", "A", january, "expense"),
        ("B", "Z", january, "amortize"),
        ("B", "Z", january, "capitalize"),
    ]
    empty, findings = run([])
    assert empty.is_empty()
    assert findings.is_empty()
    nothing = cost_postings(
        pl.DataFrame(schema=COST_POSTING_SCHEMA), pl.DataFrame(schema=COST_POSTING_SCHEMA), 1
    )
    assert nothing.schema == pl.Schema(COST_POSTING_SCHEMA)
    assert nothing.is_empty()


def test_a_zero_cost_has_no_rows():
    schedule, _ = run([straight("K1", 0, 12, date(2024, 1, 1)), cost("K2", 0, expense=True)])
    assert schedule.is_empty()


# --- postings --------------------------------------------------------------------------------


def postings(*rows):
    """Rows (book, cost_id, "YYYY-MM", kind, amount)."""
    return pl.DataFrame(
        [(b, c, P(p), k, a) for b, c, p, k, a in rows], schema=COST_POSTING_SCHEMA, orient="row"
    )


APRIL = P("2024-04")
FIRST_QUARTER = postings(
    ("PRIMARY", "K1", "2024-01", "capitalize", 120_000),
    ("PRIMARY", "K1", "2024-01", "amortize", 10_000),
    ("PRIMARY", "K1", "2024-02", "amortize", 10_000),
    ("PRIMARY", "K1", "2024-03", "amortize", 10_000),
)


def test_postings_of_an_unchanged_schedule_are_the_open_months_own():
    schedule, _ = run([straight("K1", 120_000, 12, date(2024, 1, 1))])
    assert cost_postings(schedule, FIRST_QUARTER, APRIL).rows() == [
        ("PRIMARY", "K1", APRIL, "amortize", 10_000)
    ]


def test_a_changed_schedule_is_caught_up_in_the_open_period():
    # The commission is corrected to 1,500.00 (125.00 a month): closed months stay as posted;
    # April capitalizes the 300.00 difference and amortizes 500.00 - 300.00 = 200.00.
    schedule, _ = run([straight("K1", 150_000, 12, date(2024, 1, 1))])
    open_rows = cost_postings(schedule, FIRST_QUARTER, APRIL)
    assert open_rows.rows() == [
        ("PRIMARY", "K1", APRIL, "amortize", 20_000),
        ("PRIMARY", "K1", APRIL, "capitalize", 30_000),
    ]
    later = schedule.filter(pl.col("period") > APRIL)
    booked = pl.concat([FIRST_QUARTER, open_rows, later])
    sums = dict(booked.group_by("kind").agg(pl.col("amount").sum()).rows())
    assert sums == {"capitalize": 150_000, "amortize": 150_000}


def test_a_cost_no_longer_capitalized_is_reversed_in_the_open_period():
    # Re-flagged expense_immediately (and dated 2024-01): the capitalization and the
    # amortization posted are reversed, the expense is posted, all in April.
    schedule, _ = run([cost("K1", 120_000, expense=True)])
    also_later = pl.concat(
        [FIRST_QUARTER, postings(("PRIMARY", "K1", "2024-05", "amortize", 999))]
    )  # periods from the open one on are not closed: ignored
    assert cost_postings(schedule, also_later, APRIL).rows() == [
        ("PRIMARY", "K1", APRIL, "amortize", -30_000),
        ("PRIMARY", "K1", APRIL, "capitalize", -120_000),
        ("PRIMARY", "K1", APRIL, "expense", 120_000),
    ]


def test_postings_are_per_book():
    books = revenue(
        ("PRIMARY", "L1", "C1", "2024-01", 50_000),
        ("PRIMARY", "L1", "C1", "2024-04", 50_000),
        ("LOCAL", "L1", "C1", "2024-04", 100_000),
    )
    schedule, _ = run([cost("K1", 1_000)], books, books=("PRIMARY", "LOCAL"))
    done = postings(
        ("PRIMARY", "K1", "2024-01", "capitalize", 1_000),
        ("PRIMARY", "K1", "2024-01", "amortize", 500),
        ("LOCAL", "K1", "2024-01", "capitalize", 1_000),
    )
    assert cost_postings(schedule, done, APRIL).rows() == [
        ("LOCAL", "K1", APRIL, "amortize", 1_000),
        ("PRIMARY", "K1", APRIL, "amortize", 500),
    ]


# --- properties against a scalar reference ---------------------------------------------------

BOOKS = ("PRIMARY", "LOCAL")
LINES = {"L1": "C1", "L2": "C1", "L3": "C2", "L4": "C3"}  # L4's contract may have no revenue
BASE = P("2024-01")


def reference(cost_rows, revenue_rows, books, allocated_rows):
    """{(book, cost_id, period, kind): amount}: the rules of engine.costs, one cost at a time,
    in Fractions."""
    result = {}
    allocated = {line: (contract, a) for line, contract, a in allocated_rows}
    for book in books:
        for cost_id, line_id, contract_id, _, amount, period, day, how, n, expense in cost_rows:
            rows = {}
            if expense:
                rows[(period, "expense")] = amount
            else:
                rows[(period, "capitalize")] = amount
                if how == "straight_line":
                    m0 = month_index(day)

                    def cumulative(k, m0=m0, n=n, amount=amount):
                        return round_half_even(Fraction(amount * min(max(k - m0 + 1, 0), n), n))

                    months = range(period, max(m0 + n - 1, period) + 1)
                else:
                    pattern = {}
                    for b, line, contract, p, a in revenue_rows:
                        mine = line == line_id if line_id is not None else contract == contract_id
                        if b == book and mine:
                            pattern[p] = pattern.get(p, 0) + a
                    total = sum(
                        a
                        for line, (contract, a) in allocated.items()
                        if (line == line_id if line_id is not None else contract == contract_id)
                    )

                    def cumulative(k, pattern=pattern, total=total, amount=amount):
                        if total == 0:
                            return amount
                        done = sum(a for p, a in pattern.items() if p <= k)
                        share = min(max(Fraction(done, total), Fraction(0)), Fraction(1))
                        return round_half_even(amount * share)

                    months = sorted({max(p, period) for p in pattern} | {period})
                before = 0
                for k in months:
                    rows[(k, "amortize")] = cumulative(k) - before
                    before = cumulative(k)
            result.update({(book, cost_id, *key): a for key, a in rows.items() if a != 0})
    return result


amounts = st.sampled_from([0, 1, -1, 2, 5, 10**15, -(10**15)]) | st.integers(-(10**15), 10**15)


@st.composite
def cost_rows(draw: st.DrawFn, index: int) -> tuple:
    line_id = draw(st.sampled_from([*LINES, None, "L9"]))
    contract_id = LINES.get(line_id or "", draw(st.sampled_from(["C1", "C2", "C3"])))
    how = draw(st.sampled_from(["follow_revenue", "straight_line"]))
    months = draw(st.integers(1, 36)) if how == "straight_line" else None
    day = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 700)))
    period = month_index(day) + draw(st.sampled_from([0, 0, 1, 5, 40]))
    expense = draw(st.integers(0, 5)) == 0
    amount = draw(amounts)
    return (f"K{index:02d}", line_id, contract_id, "USD", amount, period, day, how, months,
            expense)  # fmt: skip


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[tuple], list[tuple], list[tuple], bool]:
    """(costs, revenue rows, allocations, whether every revenue amount is >= 0). Each line's
    allocation is its revenue total in one book (fully recognized there), another amount, 0, or
    none."""
    non_negative = draw(st.booleans())
    money = st.integers(0, 10**15) if non_negative else st.integers(-(10**6), 10**6)
    rows = []
    for book in BOOKS:
        for line_id, contract_id in LINES.items():
            if line_id == "L4" and draw(st.booleans()):
                continue
            for _ in range(draw(st.integers(0, 6))):
                period = BASE + draw(st.integers(0, 30))
                rows.append((book, line_id, contract_id, period, draw(money | st.just(0))))
    found = [draw(cost_rows(i)) for i in range(draw(st.integers(0, 8)))]
    allocated = []
    for line_id, contract_id in LINES.items():
        how = draw(st.sampled_from([*BOOKS, "other", "zero", "none"]))
        if how in BOOKS:
            total = sum(a for b, line, _, _, a in rows if b == how and line == line_id)
        else:
            total = {"other": draw(money | st.integers(-(10**15), 0)), "zero": 0}.get(how)
        if total is not None:
            allocated.append((line_id, contract_id, total))
    return found, rows, allocated, non_negative


@given(batches())
@example(
    (
        [("K00", None, "C1", "USD", 10**15, BASE + 2, date(2024, 1, 9), "follow_revenue", None,
          False)],
        [("PRIMARY", "L1", "C1", BASE, 10**15), ("PRIMARY", "L2", "C1", BASE + 9, 3)],
        [("L1", "C1", 10**15), ("L2", "C1", 3)],
        True,
    )
)  # fmt: skip
def test_cost_schedules_match_the_reference_and_never_exceed_the_cost(batch):
    cost_list, revenue_rows, allocated, non_negative = batch
    frame = pl.DataFrame(revenue_rows, schema=REVENUE_SCHEMA, orient="row")
    schedule, _ = cost_schedules(costs(*cost_list), frame, list(BOOKS), allocations(*allocated))
    got = {(b, c, p, k): a for b, c, p, k, a in schedule.iter_rows()}
    assert got == reference(cost_list, revenue_rows, BOOKS, allocated)
    keys = schedule.select("book", "cost_id", "period", "kind").rows()
    assert keys == sorted(keys)
    sums = {
        (b, c, k): a
        for b, c, k, a in schedule.group_by("book", "cost_id", "kind")
        .agg(pl.col("amount").sum())
        .iter_rows()
    }
    for book in BOOKS:
        for cost_id, line_id, contract_id, _, amount, period, _, how, _, expense in cost_list:
            kinds = ("expense",) if expense else ("capitalize",)
            for kind in ("capitalize", "expense"):
                expected = amount if kind in kinds else 0
                assert sums.get((book, cost_id, kind), 0) == expected
            # Amortization lies between 0 and the cost, and reaches it when its line is fully
            # recognized (or straight line, or nothing to follow).
            amortized = sums.get((book, cost_id, "amortize"), 0)
            assert 0 <= amortized * (1 if amount >= 0 else -1) <= abs(amount)

            def mine(line, contract, line_id=line_id, contract_id=contract_id):
                return line == line_id if line_id is not None else contract == contract_id

            total = sum(a for line, contract, a in allocated if mine(line, contract))
            recognized = sum(a for b, ln, c, _, a in revenue_rows if b == book and mine(ln, c))
            if not expense and (how == "straight_line" or total in (0, recognized)):
                assert amortized == amount
            mine = schedule.filter(pl.col("book") == book, pl.col("cost_id") == cost_id)
            # Nothing before the cost's accounting period, and, over a pattern that never
            # falls, every month moves the same way as the amount (a monotone cumulative).
            assert mine.filter(pl.col("period") < period).is_empty()
            if non_negative:
                assert (mine["amount"] * (1 if amount >= 0 else -1) >= 0).all()


@given(batches(), st.integers(0, 36))
def test_closed_postings_plus_the_open_period_plus_later_months_sum_to_the_schedule(batch, at):
    cost_list, revenue_rows, allocated, _ = batch
    frame = pl.DataFrame(revenue_rows, schema=REVENUE_SCHEMA, orient="row")
    schedule, _ = cost_schedules(costs(*cost_list), frame, list(BOOKS), allocations(*allocated))
    open_period = BASE + at
    # What was posted: an older schedule (every amount halved) of the closed periods.
    posted = schedule.filter(pl.col("period") < open_period).with_columns(pl.col("amount") // 2)
    open_rows = cost_postings(schedule, posted, open_period)
    assert (open_rows["period"] == open_period).all()
    booked = pl.concat([posted, open_rows, schedule.filter(pl.col("period") > open_period)])
    keys = ["book", "cost_id", "kind"]

    def totals(rows):
        grouped = rows.group_by(keys).agg(pl.col("amount").sum())
        return {tuple(r[:3]): r[3] for r in grouped.iter_rows() if r[3] != 0}

    assert totals(booked) == totals(schedule)
