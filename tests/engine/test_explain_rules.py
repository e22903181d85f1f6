"""engine.explain: how a line's figures came about, in numbers a person can recompute; and
the curve it shows is the rule the schedules follow."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from revrec.engine import explain, methods, schedules
from revrec.engine import run as engine
from revrec.engine.modifications import SEGMENT_SCHEMA

MICRO = 1_000_000
JAN, FEB, MAR, APR, JUN, JUL = (2024 * 12 + m for m in (0, 1, 2, 3, 5, 6))
TEMPLATES = methods.templates(
    [
        ("daily", "ratable_daily", None, None),
        ("full", "ratable_monthly", "full_month", None),
        ("prorate", "ratable_monthly", "prorate_days", None),
        ("milestone", "event", None, None),
    ]
)
BILLINGS = {**engine.BILLING_SCHEMA, **engine.BILLING_DOC_SCHEMA}
YEAR = {"start": date(2024, 1, 1), "end": date(2025, 1, 1)}


def _line(line_id: str, amount: int, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "line_id": line_id, "version": 1, "contract_id": "C1", "currency": "USD",
        "billing_driven": False, "line_no": 1, "item_code": "ITEM", "pob_template": "full",
        "schedule_type": None, "amount": amount, "quantity_micro": MICRO, "ssp_unit": None,
        "exclude": False, "residual": False, **YEAR, "effective_date": date(2024, 1, 1),
        "modification_policy": None,
    }  # fmt: skip
    return {**row, **overrides}


def _explain(
    lines: list[dict[str, object]],
    period: int,
    *,
    processed: dict[tuple[str, int], int] | None = None,
    posted: tuple[tuple[str, int, int], ...] = (),
    billings: tuple[tuple, ...] = (),  # line_id, doc_number, doc_date, amount
    events: tuple[tuple, ...] = (),  # line_id, event_date, seq, action, kind, value_micro
    stored: tuple[tuple[str, int, int], ...] = (),
    line_id: str = "L1",
) -> explain.Explanation:
    """The explanation of a line at the end of `period` (the book PRIMARY open then); each
    version processed in `processed` (default the period), postings of earlier periods."""
    when = processed or {}
    versions = [(r["line_id"], r["version"], when.get((r["line_id"], r["version"]), period))
                for r in lines]  # fmt: skip
    month = lambda day: day.year * 12 + day.month - 1  # noqa: E731
    documents = [(line, doc, day, amount, f"{doc}-1", "INV" if amount > 0 else "CM", month(day))
                 for line, doc, day, amount in billings]  # fmt: skip
    inputs = engine.Inputs(
        lines=pl.DataFrame(lines, schema=engine.LINE_SCHEMA),
        billings=pl.DataFrame(
            [(d[0], d[2], d[3], *d[4:]) for d in documents], schema=BILLINGS, orient="row"
        ),
        events=pl.DataFrame(events, schema=engine.EVENT_SCHEMA, orient="row"),
        stored_allocations=pl.DataFrame(stored, schema=engine.ALLOCATION_SCHEMA, orient="row"),
        posted=pl.DataFrame(
            [("PRIMARY", *p) for p in posted], schema=engine.POSTING_SCHEMA, orient="row"
        ),
        books=pl.DataFrame([("PRIMARY", period)], schema=engine.BOOK_SCHEMA, orient="row"),
        overrides=pl.DataFrame(schema=engine.OVERRIDE_SCHEMA),
        templates=TEMPLATES,
        policies=pl.DataFrame(schema=engine.POLICY_SCHEMA),
    )
    mine = [(p, a) for line, p, a in posted if line == line_id]
    computed = engine.run(inputs).postings.filter(pl.col("line_id") == line_id)
    records = explain.Records(
        versions=pl.DataFrame(versions, schema=["line_id", "version", "period"], orient="row"),
        events=pl.DataFrame(
            [(*e, "milestone", month(e[1])) for e in events],
            schema=explain.EVENT_RECORD_SCHEMA,
            orient="row",
        ),
        billings=pl.DataFrame(
            [(d[0], d[5], d[1], d[4], d[2], d[6], d[3]) for d in documents],
            schema=explain.BILLING_RECORD_SCHEMA,
            orient="row",
        ),
        posted=pl.DataFrame(
            [*mine, *computed.select("period", "amount").rows()],
            schema={"period": pl.Int64, "amount": pl.Int64},
            orient="row",
        ),
    )
    return explain.explain(inputs, records, line_id, "PRIMARY")


def test_the_remainder_cent_of_three_equal_ssps_goes_to_the_earliest_line():
    """100.00 over three lines of SSP 10.00 each: 100.00 x 1/3 = 33.33 1/3 each; the floors
    leave one cent, and equal remainders give it to line 1 (SPEC §1)."""
    lines = [_line("L1", 5_000, ssp_unit=1_000), _line("L2", 3_000, ssp_unit=1_000, line_no=2),
             _line("L3", 2_000, ssp_unit=1_000, line_no=3)]  # fmt: skip
    found = _explain(lines, JAN).allocation
    assert (found.approach, found.transaction_price, found.ssp_total) == ("relative", 10_000, 3_000)
    assert (found.floors, found.left_over) == (9_999, 1)
    third = Fraction(1, 3)
    assert [(s.line_id, s.share, s.exact, s.floor, s.remainder, s.extra, s.allocated)
            for s in found.lines] == [
        ("L1", third, Fraction(10_000, 3), 3_333, third, 1, 3_334),
        ("L2", third, Fraction(10_000, 3), 3_333, third, 0, 3_333),
        ("L3", third, Fraction(10_000, 3), 3_333, third, 0, 3_333),
    ]  # fmt: skip


def test_a_credit_is_split_as_the_mirror_and_excluded_lines_keep_their_amount():
    lines = [_line("L1", -5_000, ssp_unit=1_000), _line("L2", -5_000, ssp_unit=1_000, line_no=2),
             _line("L3", -3_000, ssp_unit=1_000, line_no=3),
             _line("L4", 700, line_no=4, exclude=True)]  # fmt: skip
    found = _explain(lines, JAN).allocation
    assert (found.transaction_price, found.floors, found.left_over) == (-13_000, -12_999, -1)
    assert [(s.rule, s.floor, s.extra, s.allocated) for s in found.lines] == [
        ("relative", -4_333, -1, -4_334),
        ("relative", -4_333, 0, -4_333),
        ("relative", -4_333, 0, -4_333),
        ("excluded", None, 0, 700),
    ]


def test_the_residual_line_gets_what_the_others_ssps_leave():
    lines = [_line("L1", 10_000, ssp_unit=2_500, quantity_micro=2 * MICRO),
             _line("L2", 5_000, line_no=2, residual=True)]  # fmt: skip
    found = _explain(lines, JAN).allocation
    assert (found.approach, found.ssp_total, found.floors) == ("residual", 5_000, None)
    assert [(s.rule, s.ssp, s.allocated) for s in found.lines] == [
        ("own_ssp", 5_000, 5_000),  # 25.00 x 2
        ("residual", 5_000, 10_000),  # 150.00 - 50.00
    ]


def test_a_daily_line_shows_its_cumulative_rounding():
    """100.00 over March to May (92 days): 31/92 -> 33.70, 61/92 -> 66.30 (33.695... and
    66.304... rounded), 92/92 -> 100.00; the months get 33.70, 32.60 and 33.70."""
    line = _line("L1", 10_000, pob_template="daily", start=date(2024, 3, 1),
                 end=date(2024, 6, 1))  # fmt: skip
    found = _explain([line], MAR)
    assert (found.line.method, found.line.convention) == ("ratable_daily", None)
    assert [(p.period, p.elapsed, p.length, p.unit, p.cumulative, p.amount)
            for p in found.curve] == [
        (MAR, 31, 92, "days", 3_370, 3_370),
        (APR, 61, 92, "days", 6_630, 3_260),
        (APR + 1, 92, 92, "days", 10_000, 3_370),
    ]  # fmt: skip
    assert [(p.period, p.scheduled, p.posted) for p in found.periods] == [
        (MAR, 3_370, 3_370), (APR, 3_260, None), (APR + 1, 3_370, None),
    ]  # fmt: skip


def test_prorated_months_count_a_part_month_by_its_days():
    """1,000.00 from 2024-01-17 to 2024-03-31: 15/31 + 1 + 1 months = 77/31 months; through
    January 15/31 of them: round(1000.00 x 15/77) = 194.81."""
    line = _line("L1", 100_000, pob_template="prorate", start=date(2024, 1, 17),
                 end=date(2024, 4, 1))  # fmt: skip
    found = _explain([line], JAN)
    assert [(p.elapsed, p.length, p.unit, p.cumulative) for p in found.curve] == [
        (Fraction(15, 31), Fraction(77, 31), "months", 19_481),
        (Fraction(46, 31), Fraction(77, 31), "months", 59_740),
        (Fraction(77, 31), Fraction(77, 31), "months", 100_000),
    ]


def _modified(policy: str) -> explain.Explanation:
    """1,200.00 over 2024 (100.00 a month), January and February posted; in March it becomes
    2,400.00 from 2024-03-01 under `policy`."""
    lines = [_line("L1", 120_000),
             _line("L1", 240_000, version=2, effective_date=date(2024, 3, 1),
                   modification_policy=policy)]  # fmt: skip
    return _explain(
        lines, MAR, processed={("L1", 1): JAN, ("L1", 2): MAR},
        posted=(("L1", JAN, 10_000), ("L1", FEB, 10_000)), stored=(("L1", 1, 120_000),),
    )  # fmt: skip


def test_a_catch_up_modification_posts_the_difference_in_the_period_of_the_change():
    """Restated: 200.00 a month from January, so February's end should have 400.00; 200.00
    was posted, and March posts its 200.00 plus the 200.00 caught up."""
    found = _modified("catch_up")
    assert [(v.version, v.processed, v.policy, v.treatment, v.allocated, v.catch_up)
            for v in found.versions] == [
        (1, JAN, "catch_up", "first", 120_000, 0),
        (2, MAR, "catch_up", "restated", 240_000, 20_000),
    ]  # fmt: skip
    assert [tuple(c) for c in found.changes] == [
        (JAN, [("L1", 1)], 120_000, 10_000, 10_000, 0),
        (MAR, [("L1", 2)], 240_000, 20_000, 40_000, 20_000),
    ]
    assert [(p.period, p.scheduled, p.posted, p.difference) for p in found.periods[:4]] == [
        (JAN, 20_000, 10_000, -10_000),
        (FEB, 20_000, 10_000, -10_000),
        (MAR, 20_000, 40_000, 20_000),
        (APR, 20_000, None, None),
    ]
    assert [(s.version, s.total, s.cap) for s in found.segments] == [(2, 240_000, None)]
    assert found.posting == 40_000


def test_a_prospective_modification_keeps_what_was_recognized_and_spreads_the_rest():
    """200.00 recognized before 2024-03-01 stays; 2,400.00 - 200.00 = 2,200.00 over March to
    December: 220.00 a month, nothing caught up."""
    found = _modified("prospective")
    second = found.versions[1]
    assert (second.treatment, second.kept, second.remainder, second.spread_from) == (
        "prospective", 20_000, 220_000, date(2024, 3, 1))  # fmt: skip
    assert second.catch_up == 0
    assert [(s.segment, s.version, s.total, s.start, s.cap) for s in found.segments] == [
        (1, 1, 120_000, date(2024, 1, 1), date(2024, 3, 1)),
        (2, 2, 220_000, date(2024, 3, 1), None),
    ]
    assert [(p.segment, p.period, p.elapsed, p.length, p.cumulative) for p in found.curve][:4] == [
        (1, JAN, 1, 12, 10_000),
        (1, FEB, 2, 12, 20_000),
        (2, MAR, 1, 10, 22_000),
        (2, APR, 2, 10, 44_000),
    ]
    assert [(p.period, p.scheduled, p.posted) for p in found.periods[:3]] == [
        (JAN, 10_000, 10_000), (FEB, 10_000, 10_000), (MAR, 22_000, 22_000),
    ]  # fmt: skip


def test_event_releases_show_what_each_has_released():
    """800.00 by milestones: 25% on 2024-06-10 releases 200.00; a cumulative 60% on 2024-07-05
    brings it to 480.00."""
    events = (("L1", date(2024, 6, 10), 1, "release", "percent", 25 * MICRO),
              ("L1", date(2024, 7, 5), 1, "release", "cumulative_percent", 60 * MICRO))  # fmt: skip
    found = _explain([_line("L1", 80_000, pob_template="milestone")], JUL, events=events,
                     posted=(("L1", JUN, 20_000),))  # fmt: skip
    assert [(e.event_date, e.action, e.value_micro, e.released, e.of, e.cumulative)
            for e in found.events] == [
        (date(2024, 6, 10), "release", 25 * MICRO, 25 * MICRO, 100 * MICRO, 20_000),
        (date(2024, 7, 5), "release", 60 * MICRO, 60 * MICRO, 100 * MICRO, 48_000),
    ]  # fmt: skip
    assert found.curve == []
    assert [(p.period, p.scheduled, p.posted) for p in found.periods] == [
        (JUN, 20_000, 20_000), (JUL, 28_000, 28_000),
    ]  # fmt: skip


def test_a_hold_shows_the_schedule_before_and_after_it():
    """100.00 a month; held from 2024-03-10: March and later recognize nothing for now."""
    events = (("L1", date(2024, 3, 10), 1, "hold", None, None),)
    found = _explain([_line("L1", 120_000)], MAR, events=events,
                     posted=(("L1", JAN, 10_000), ("L1", FEB, 10_000)))  # fmt: skip
    assert [(e.action, e.released) for e in found.events] == [("hold", None)]
    assert [(p.period, p.before_actions, p.scheduled, p.posted) for p in found.periods[:4]] == [
        (JAN, 10_000, 10_000, 10_000),
        (FEB, 10_000, 10_000, 10_000),
        (MAR, 10_000, 0, 0),
        (APR, 10_000, 0, None),
    ]


def test_a_billing_behind_the_revenue_makes_a_contract_asset():
    """January recognizes 100.00 and bills 40.00: a contract asset of 60.00; what is left to
    bill of the rest is 1,200.00 - max(40.00, 100.00) = 1,100.00."""
    found = _explain([_line("L1", 120_000)], JAN, billings=(("L1", "INV-1", date(2024, 1, 5),
                                                              4_000),))  # fmt: skip
    assert [(b.doc_type, b.doc_number, b.doc_date, b.amount) for b in found.billings] == [
        ("INV", "INV-1", date(2024, 1, 5), 4_000)
    ]
    assert found.balances == {
        "billed": 4_000, "recognized": 10_000, "allocated": 120_000, "liability": 0,
        "asset": 6_000, "scheduled": 110_000, "liability_scheduled": 0,
        "asset_scheduled": 110_000, "overbilled": 0,
    }  # fmt: skip


days = st.integers(min_value=0, max_value=800).map(lambda n: date(2023, 1, 1) + timedelta(n))
curves = st.sampled_from([("ratable_daily", None), ("ratable_monthly", "full_month"),
                          ("ratable_monthly", "mid_month"), ("ratable_monthly", "prorate_days"),
                          ("point_in_time", None)])  # fmt: skip


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(-10**9, 10**9), curves, days, st.integers(1, 700)),
                min_size=1, max_size=6))  # fmt: skip
def test_the_curve_differences_are_the_schedule(drawn):
    segments = pl.DataFrame(
        [(f"L{k}", total, method, convention, "start" if method == "point_in_time" else None,
          start, start + timedelta(length), MICRO, None)
         for k, (total, (method, convention), start, length) in enumerate(drawn)],
        schema=SEGMENT_SCHEMA,
        orient="row",
    )  # fmt: skip
    rows, _ = schedules.schedule(segments)
    points = schedules.curve(segments).select("line_id", "period", "amount")
    assert sorted(points.filter(pl.col("amount") != 0).rows()) == sorted(
        rows.filter(pl.col("amount") != 0).rows()
    )
