"""The legacy schedules export's figures (SPEC §10): days, amount per day, arrears, twelve
months, future revenue and the deferred balance of each billing line, in minor units."""

from datetime import date, timedelta
from fractions import Fraction
from itertools import pairwise

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from revrec.engine.legacy_schedules import (
    COLUMNS,
    INPUT_SCHEMA,
    MONTH_COLUMNS,
    OUTPUT_SCHEMA,
    legacy_schedules,
)
from revrec.money import round_half_even

TEMPLATES = pl.DataFrame(
    [
        ("license_pit", "point_in_time", None, "start"),
        ("delivery", "point_in_time", None, "range_end"),
        ("last_day", "point_in_time", None, "end"),
        ("saas_daily", "ratable_daily", None, None),
        ("support_monthly", "ratable_monthly", "full_month", None),
        ("milestone_evt", "event", None, None),
    ],
    schema={"pob_template": pl.String, "method": pl.String, "convention": pl.String,
            "at": pl.String},
    orient="row",
)  # fmt: skip


def billing(amount, start, end=None, *, schedule_type="evenly", number=1, **given):
    """One billing line (minor units; end exclusive, None for a one-time charge)."""
    row = dict.fromkeys(INPUT_SCHEMA)
    row.update(
        revenue_schedule_id=number,
        doc_line_id=f"L{number}",
        doc_type="INV" if amount >= 0 else "CM",
        doc_number=f"D{number}",
        doc_date=start,
        customer_id="ACME",
        currency="USD",
        amount=amount,
        start=start,
        end=end,
        schedule_type=schedule_type,
    )
    row.update(given)
    return row


def export(*rows, as_of):
    frame = pl.DataFrame(list(rows), schema=INPUT_SCHEMA, orient="row")
    return legacy_schedules(frame, TEMPLATES, as_of).to_dicts()


def buckets(row):
    """arrears, month_1..month_12, future_revenue."""
    return [row["arrears"], *(row[m] for m in MONTH_COLUMNS), row["future_revenue"]]


def test_a_hundred_dollars_over_june_2017_has_30_days_of_3_33():
    [row] = export(billing(10_000, date(2017, 6, 1), date(2017, 7, 1)), as_of=date(2017, 6, 15))
    assert (row["days"], row["amount_per_day"], row["total_amount"]) == (30, 333, 10_000)
    assert buckets(row) == [0, 10_000, *[0] * 12]
    # 15 of 30 days: 50.00 recognized through June 15, 50.00 deferred.
    assert row["deferred_revenue_balance"] == 5_000
    assert row["revenue_recognition_date"] is None
    assert row["line_item_end_date"] == date(2017, 7, 1)


def test_evenly_rounds_the_cumulative_amount_day_by_day():
    line = billing(10_000, date(2017, 6, 1), date(2017, 7, 1))
    deferred = [
        export(line, as_of=date(2017, 5, 31) + timedelta(days=k))[0]["deferred_revenue_balance"]
        for k in range(31)
    ]
    per_day = [before - after for before, after in pairwise(deferred)]
    # 100.00 / 30 = 3.333...: cumulative rounding gives 3.33, 3.34, 3.33, 3.33, 3.34, ...
    assert per_day[:6] == [333, 334, 333, 333, 334, 333]
    assert sum(per_day) == 10_000
    assert deferred[-1] == 0


def test_a_half_cent_tie_rounds_to_even_and_a_credit_mirrors_it():
    charge = billing(5, date(2024, 3, 31), date(2024, 4, 2), number=1)
    credit = billing(-5, date(2024, 3, 31), date(2024, 4, 2), number=2)
    [up, down] = export(charge, credit, as_of=date(2024, 3, 31))
    # 0.05 over two days: 0.025 rounds to 0.02 (even), then 0.03.
    assert (up["month_1"], up["month_2"], up["amount_per_day"]) == (2, 3, 2)
    assert (down["month_1"], down["month_2"], down["amount_per_day"]) == (-2, -3, -2)


def test_a_year_cut_around_an_as_of_date_in_june():
    # 12,000.00 over 2024-03-03 .. 2025-03-03 (365 days), as of 2024-06-15.
    [row] = export(billing(1_200_000, date(2024, 3, 3), date(2025, 3, 3)), as_of=date(2024, 6, 15))
    # Before June: 90 days (29 + 30 + 31) of 365 = 2,958.90.
    assert row["arrears"] == 295_890
    # June .. February: 30, 31, 31, 30, 31, 30, 31, 31, 28 days; March 2025: 2 days.
    assert [row[m] for m in MONTH_COLUMNS] == [
        98_631, 101_917, 101_918, 98_630, 101_918, 98_630, 101_918, 101_918, 92_055, 6_575, 0, 0,
    ]  # fmt: skip
    assert row["future_revenue"] == 0
    # Through June 15: 105 days = 3,452.05; 8,547.95 deferred.
    assert row["deferred_revenue_balance"] == 854_795
    assert sum(buckets(row)) == row["total_amount"]


def test_a_long_line_has_arrears_and_future_revenue():
    # 36.00 over 2023-01-01 .. 2026-01-01 (1,096 days), as of 2024-03-10.
    [row] = export(billing(3_600, date(2023, 1, 1), date(2026, 1, 1)), as_of=date(2024, 3, 10))
    # 425 days before March 2024 (365 + 31 + 29); month_12 is February 2025.
    assert row["arrears"] == round_half_even(Fraction(3_600 * 425, 1_096))
    before_march_2025 = round_half_even(Fraction(3_600 * 790, 1_096))
    assert row["future_revenue"] == 3_600 - before_march_2025
    assert sum(buckets(row)) == 3_600


def test_jpy_and_kwd_lines_split_in_their_own_minor_units():
    yen = billing(100, date(2024, 3, 30), date(2024, 4, 2), currency="JPY", number=1)
    dinar = billing(1_000, date(2024, 1, 29), date(2024, 2, 5), currency="KWD", number=2)
    [jpy] = export(yen, as_of=date(2024, 3, 15))
    [kwd] = export(dinar, as_of=date(2024, 1, 31))
    # 100 yen over 3 days: 33, 67 cumulative after two March days; 33 in April.
    assert (jpy["days"], jpy["amount_per_day"], jpy["month_1"], jpy["month_2"]) == (3, 33, 67, 33)
    assert jpy["deferred_revenue_balance"] == 100
    # 1.000 KWD over 7 days: 3 January days = 0.429, 4 February days = 0.571.
    assert (kwd["days"], kwd["amount_per_day"], kwd["month_1"], kwd["month_2"]) == (
        7, 143, 429, 571,
    )  # fmt: skip
    assert kwd["deferred_revenue_balance"] == 571


def test_at_range_start_and_at_range_end_recognize_on_one_day():
    start = billing(25_000, date(2024, 3, 2), date(2024, 4, 2), schedule_type="at_range_start")
    end = billing(30_000, date(2024, 3, 1), date(2024, 4, 1), schedule_type="at_range_end",
                  number=2)  # fmt: skip
    [first, last] = export(start, end, as_of=date(2024, 3, 31))
    assert (first["revenue_recognition_date"], first["days"], first["amount_per_day"]) == (
        date(2024, 3, 2), 31, 806,
    )  # fmt: skip
    assert (first["month_1"], first["deferred_revenue_balance"]) == (25_000, 0)
    # All on the exclusive end as given: April 1, the month after month_1.
    assert last["revenue_recognition_date"] == date(2024, 4, 1)
    assert (last["month_1"], last["month_2"], last["deferred_revenue_balance"]) == (
        0,
        30_000,
        30_000,
    )
    [on_the_day] = export(end, as_of=date(2024, 4, 1))
    assert (on_the_day["month_1"], on_the_day["deferred_revenue_balance"]) == (30_000, 0)


def test_a_line_recognized_later_is_all_future_or_in_one_month():
    later = billing(25_000, date(2025, 6, 1), date(2025, 7, 1), schedule_type="at_range_start")
    [row] = export(later, as_of=date(2024, 3, 31))
    # month_12 is February 2025; June 2025 is after it.
    assert buckets(row) == [0, *[0] * 12, 25_000]
    assert row["deferred_revenue_balance"] == 25_000


def test_a_one_time_charge_without_an_end_is_all_on_its_start():
    plain = billing(25_000, date(2024, 3, 2), schedule_type="evenly")
    at_start = billing(1_000, date(2024, 4, 2), schedule_type="at_range_start", number=2)
    at_end = billing(2_000, date(2024, 4, 2), schedule_type="at_range_end", number=3)
    rows = export(plain, at_start, at_end, as_of=date(2024, 3, 15))
    assert [(r["days"], r["amount_per_day"], r["line_item_end_date"]) for r in rows] == [
        (None, None, None)
    ] * 3
    assert [(r["month_1"], r["month_2"], r["deferred_revenue_balance"]) for r in rows] == [
        (25_000, 0, 0), (0, 1_000, 1_000), (0, 2_000, 2_000),
    ]  # fmt: skip
    assert [r["revenue_recognition_date"] for r in rows] == [
        None,
        date(2024, 4, 2),
        date(2024, 4, 2),
    ]


def test_a_credit_is_a_negative_schedule_with_credit_and_refund():
    credit = billing(-10_000, date(2024, 3, 4), date(2024, 4, 4))
    [row] = export(credit, as_of=date(2024, 3, 15))
    # -100.00 over 31 days: 28 March days = -90.32; 12 days through the 15th = -38.71.
    assert (row["days"], row["amount_per_day"], row["month_1"], row["month_2"]) == (
        31, -323, -9_032, -968,
    )  # fmt: skip
    assert row["deferred_revenue_balance"] == -6_129
    assert (row["origin"], row["invoice_origin"]) == ("credit", "refund")


def test_uploaded_attributes_win_and_the_others_follow_the_document():
    uploaded = billing(100, date(2024, 3, 1), date(2024, 4, 1), origin="plan",
                       invoice_state="paid", invoice_origin="renewal",
                       accounting_code="monthly_fee", item_code="SUP")  # fmt: skip
    bare = billing(100, date(2024, 3, 1), date(2024, 4, 1), number=2, item_code="SUP",
                   origin="", invoice_state="")  # fmt: skip
    cancel = billing(-100, date(2024, 3, 1), date(2024, 4, 1), number=3, doc_type="IVC")
    undo = billing(100, date(2024, 3, 1), date(2024, 4, 1), number=4, doc_type="CMC")
    rows = export(uploaded, bare, cancel, undo, as_of=date(2024, 3, 15))
    assert [
        (r["invoice_state"], r["origin"], r["invoice_origin"], r["accounting_code"]) for r in rows
    ] == [
        ("paid", "plan", "renewal", "monthly_fee"),
        (None, "charge", "purchase", "SUP"),
        (None, "charge", "purchase", None),
        (None, "credit", "refund", None),
    ]
    assert [r["account_code"] for r in rows] == ["ACME"] * 4
    assert [r["line_item_id"] for r in rows] == ["L1", "L2", "L3", "L4"]


def test_a_template_gives_the_nearest_legacy_schedule_type():
    day = date(2024, 3, 1)
    rows = export(
        *(
            billing(100, day, date(2024, 4, 1), schedule_type=None, pob_template=name, number=n)
            for n, name in enumerate(
                ["license_pit", "delivery", "last_day", "saas_daily", "support_monthly",
                 "milestone_evt", "gone"]
            )
        ),
        billing(100, day, date(2024, 4, 1), schedule_type="AT_RANGE_END", number=9),
        as_of=day,
    )  # fmt: skip
    assert [r["schedule_type"] for r in rows] == [
        "at_range_start", "at_range_end", "at_range_end", "evenly", "evenly", "at_range_start",
        "evenly", "at_range_end",
    ]  # fmt: skip


def test_columns_and_types_and_an_empty_page():
    empty = pl.DataFrame(schema=INPUT_SCHEMA)
    found = legacy_schedules(empty, TEMPLATES, date(2024, 3, 1))
    assert tuple(found.columns) == COLUMNS
    assert len(COLUMNS) == 32
    assert found.schema == pl.Schema(OUTPUT_SCHEMA)
    assert found.height == 0


def test_amounts_too_wide_for_int64_products_stay_exact():
    huge = 9_000_000_000_000_000  # 90 quadrillion dollars in cents, over 100 years
    [row] = export(billing(huge, date(2000, 1, 1), date(2100, 1, 1)), as_of=date(2050, 6, 15))
    assert sum(buckets(row)) == huge
    elapsed = (date(2050, 6, 1) - date(2000, 1, 1)).days
    assert row["arrears"] == round_half_even(Fraction(huge * elapsed, 36_525))


# The property: each row's buckets add up, and the balance is what the SPEC says, against a
# scalar reference of SPEC §1 (exact fractions) evaluated at the month boundaries.


def _revenue_before(amount, start, end, schedule_type, day):
    if schedule_type == "evenly" and end is not None:
        days = (end - start).days
        elapsed = min(max((day - start).days, 0), days)
        return round_half_even(Fraction(amount * elapsed, days))
    point = end if schedule_type == "at_range_end" and end is not None else start
    return amount if point < day else 0


def _month_start(as_of, k):
    index = as_of.year * 12 + as_of.month - 1 + k
    return date(index // 12, index % 12 + 1, 1)


lines = st.tuples(
    st.integers(-(10**12), 10**12),
    st.dates(date(2015, 1, 1), date(2030, 12, 31)),
    st.one_of(st.none(), st.integers(1, 1_500)),
    st.sampled_from(["evenly", "at_range_start", "at_range_end"]),
)


@given(st.lists(lines, min_size=1, max_size=12), st.dates(date(2014, 1, 1), date(2032, 12, 31)))
def test_buckets_add_up_to_the_total_and_the_balance_is_what_is_left(found, as_of):
    rows = [
        billing(amount, start, None if days is None else start + timedelta(days=days),
                schedule_type=kind, number=n)
        for n, (amount, start, days, kind) in enumerate(found)
    ]  # fmt: skip
    for given_row, row in zip(rows, export(*rows, as_of=as_of), strict=True):
        assert sum(buckets(row)) == row["total_amount"]
        key = (given_row["amount"], given_row["start"], given_row["end"], row["schedule_type"])
        through = _revenue_before(*key, as_of + timedelta(days=1))
        assert row["deferred_revenue_balance"] == row["total_amount"] - through
        before = [_revenue_before(*key, _month_start(as_of, k)) for k in range(13)]
        assert buckets(row) == [
            before[0], *(b - a for a, b in pairwise(before)),
            row["total_amount"] - before[12],
        ]  # fmt: skip
