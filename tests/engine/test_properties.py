"""Properties of the engine, each checked on a random batch of lines against reference.py.

The engine is vectorized Polars; the reference is scalar Fractions. No I/O beyond the frames.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import polars as pl
import reference as ref
from hypothesis import example, given
from hypothesis import strategies as st

from revrec.calendar import days_in_month, month_index, month_start
from revrec.engine.allocation import allocate
from revrec.engine.balances import BALANCE_COLUMNS, balances
from revrec.engine.modifications import effective_schedule, prospective
from revrec.engine.schedules import schedule

MICRO = 1_000_000
FIRST_YEAR, LAST_YEAR = 2023, 2029
TIME_METHODS = ("ratable_daily", "ratable_monthly", "point_in_time")
CONVENTIONS = ("prorate_days", "full_month", "mid_month")
POINTS = ("start", "end", "range_end")

SEGMENT_SCHEMA = {
    "line_id": pl.String,
    "total": pl.Int64,
    "method": pl.String,
    "convention": pl.String,
    "at": pl.String,
    "start": pl.Date,
    "end": pl.Date,
    "cap": pl.Date,
}
LINE_SCHEMA = {
    "contract_id": pl.String,
    "line_id": pl.String,
    "line_no": pl.Int64,
    "amount": pl.Int64,
    "method": pl.String,
    "quantity_micro": pl.Int64,
    "ssp_unit": pl.Int64,
    "exclude": pl.Boolean,
    "residual": pl.Boolean,
}
EVENT_SCHEMA = {
    "line_id": pl.String,
    "event_date": pl.Date,
    "seq": pl.Int64,
    "kind": pl.String,
    "value_micro": pl.Int64,
}
ROW_SCHEMA = {"line_id": pl.String, "period": pl.Int64, "amount": pl.Int64}

# Totals from -10^9 to 10^12 minor units, with the edges (0, 1, the extremes) drawn often.
totals = (
    st.sampled_from([0, 1, -1, 2, 3, 10**12, -(10**9)])
    | st.integers(-(10**9), 10**12)
    | st.integers(-1_000, 100_000)
)
money = st.integers(-(10**12), 10**12) | st.sampled_from([0, 1, -1])


# The rules' edge cases, pinned: derandomized draws reach some of them only rarely.
MONTHLY, DAILY, POINT = "ratable_monthly", "ratable_daily", "point_in_time"
EDGE_SEGMENTS = [
    # mid_month over two months where neither end counts: all in the first (decisions.md 2).
    ref.Segment("mid-neither", 1_000, MONTHLY, date(2024, 1, 20), date(2024, 2, 11), "mid_month"),
    ref.Segment("mid-one", 1_001, MONTHLY, date(2024, 2, 16), date(2024, 2, 20), "mid_month"),
    ref.Segment("mid-15-16", 999_999, MONTHLY, date(2024, 1, 15), date(2024, 4, 17), "mid_month"),
    ref.Segment("mid-16-15", 1_200, MONTHLY, date(2024, 1, 16), date(2024, 4, 16), "mid_month"),
    ref.Segment("leap", 10_000, MONTHLY, date(2024, 2, 29), date(2025, 3, 1), "prorate_days"),
    ref.Segment("one-day", 3, MONTHLY, date(2023, 12, 31), date(2024, 1, 1), "full_month"),
    ref.Segment("half", 1, DAILY, date(2024, 1, 31), date(2024, 2, 2)),
    ref.Segment("range-end", 7, POINT, date(2024, 1, 1), date(2024, 2, 1), at="range_end"),
    ref.Segment("at-end", -7, POINT, date(2024, 1, 1), date(2024, 2, 1), at="end"),
    ref.Segment("no-end", 5, DAILY, date(2024, 3, 31), None),
    ref.Segment("big", 10**12, MONTHLY, date(2023, 1, 17), date(2026, 1, 16), "prorate_days"),
]


# --- strategies ------------------------------------------------------------------------------


@st.composite
def days(draw: st.DrawFn, first: int = FIRST_YEAR, last: int = LAST_YEAR) -> date:
    """A date, biased to the days the conventions care about (1st, 15th, 16th, month end)."""
    month = month_index(date(first, 1, 1)) + draw(st.integers(0, (last - first + 1) * 12 - 1))
    length = days_in_month(month)
    edges = sorted({1, 2, 14, 15, 16, 17, length - 1, length})
    # Two branches of three are edge days.
    day = draw(st.sampled_from(edges) | st.sampled_from(edges[::-1]) | st.integers(1, length))
    return month_start(month) + timedelta(days=day - 1)


@st.composite
def ends(draw: st.DrawFn, start: date) -> date:
    """An exclusive end 1 day to 36 months after start: any day, the same day k months later
    (+- 1), or a last service day on the 14th-16th or a month end k months later."""
    shape = draw(st.sampled_from(["days", "months", "edges"]))
    if shape == "days":
        return start + timedelta(days=draw(st.integers(1, 1096)))
    month = month_index(start) + draw(st.integers(0, 2) | st.integers(0, 36))
    if shape == "months":
        day = min(start.day, days_in_month(month)) + draw(st.sampled_from([0, -1, 1]))
    else:
        day = draw(st.sampled_from([1, 15, 16, 17]))  # the day after the last service day
    end = month_start(month) + timedelta(days=day - 1)
    return max(end, start + timedelta(days=1))


@st.composite
def time_segments(draw: st.DrawFn, line_id: str) -> ref.Segment:
    method = draw(st.sampled_from(TIME_METHODS))
    convention = draw(st.sampled_from(CONVENTIONS)) if method == "ratable_monthly" else None
    at = draw(st.sampled_from(POINTS)) if method == "point_in_time" else None
    start = draw(days())
    end = None if draw(st.integers(0, 19)) == 19 else draw(ends(start))
    return ref.Segment(line_id, draw(totals), method, start, end, convention, at)


@st.composite
def time_batches(draw: st.DrawFn) -> list[ref.Segment]:
    size = draw(st.integers(1, 12))
    return [draw(time_segments(f"L{i}")) for i in range(size)]


@st.composite
def contracts(draw: st.DrawFn) -> list[ref.Line]:
    """1-6 contracts of 1-5 lines, rows shuffled, line numbers a random permutation."""
    drafts = []
    for c in range(draw(st.integers(1, 6))):
        for _ in range(draw(st.integers(1, 5))):
            ssp = draw(
                st.none()
                | st.sampled_from([1, 100, 7_500, 10**6])
                | st.integers(0, 10**9)
                | st.integers(-100, -1)
            )
            drafts.append(
                {
                    "contract_id": f"C{c}",
                    "amount": draw(
                        st.sampled_from([0, 1, 100, 10**6]) | st.integers(-(10**6), 10**12)
                    ),
                    "method": draw(
                        st.sampled_from(["ratable_daily", "point_in_time", "event", "upon_billing"])
                    ),
                    "quantity_micro": draw(
                        st.sampled_from([MICRO, 2 * MICRO, 500_000, 0]) | st.integers(1, 10**8)
                    ),
                    "ssp_unit": ssp,
                    "exclude": draw(st.integers(0, 9)) == 9,
                    "residual": draw(st.integers(0, 9)) == 9,
                }
            )
    rows = draw(st.permutations(drafts))
    numbers = draw(st.permutations(range(len(rows))))
    return [
        ref.Line(line_id=f"L{i}", line_no=n, **row)
        for i, (row, n) in enumerate(zip(rows, numbers, strict=True))
    ]


@st.composite
def event_batches(draw: st.DrawFn) -> tuple[list[ref.Segment], dict[str, int], list[ref.Event]]:
    """Event lines (segments, quantity_micro per line) and their events, several per month."""
    segments, quantities, events = [], {}, []
    for i in range(draw(st.integers(1, 5))):
        line_id = f"E{i}"
        quantity = draw(st.sampled_from([MICRO, 3 * MICRO]) | st.integers(1, 10**8))
        style = draw(st.sampled_from(["percent", "quantity", "mixed"]))
        kinds = {
            "percent": ["percent", "cumulative_percent"],
            "quantity": ["quantity"],
            "mixed": ["percent", "cumulative_percent", "quantity"],
        }[style]
        start = draw(days())
        segments.append(ref.Segment(line_id, draw(totals), "event", start, start))
        quantities[line_id] = quantity
        for _ in range(draw(st.integers(0, 8))):
            kind = draw(st.sampled_from(kinds))
            if kind == "quantity":
                value = draw(
                    st.sampled_from([quantity // 8, quantity // 4, quantity // 2, quantity])
                    | st.integers(-quantity // 5, quantity * 6 // 5)
                )
            else:
                value = draw(
                    st.sampled_from(
                        [0, 12_500_000, 25 * MICRO, 50 * MICRO, 100 * MICRO, 33_333_333]
                    )
                    | st.integers(-20 * MICRO, 120 * MICRO)
                )
            offset = draw(st.sampled_from([0, 1, 31]) | st.integers(0, 400))
            day = start + timedelta(days=offset)
            events.append(ref.Event(line_id, day, len(events), kind, value))
    return segments, quantities, draw(st.permutations(events))


@st.composite
def modifications(
    draw: st.DrawFn, *, within_service: bool = True, most: int = 2
) -> list[tuple[ref.Segment, list[tuple[ref.Segment, date]]]]:
    """Lines with up to `most` successive prospective modifications (new version, date).

    within_service: each modification date is before the new version's end (service remains).
    """
    batch = []
    for i in range(draw(st.integers(1, 4))):
        prior = draw(time_segments(f"P{i}"))
        changes: list[tuple[ref.Segment, date]] = []
        after = prior.start - timedelta(days=60)
        # A second modification in about one example of four: each costs an engine call.
        for _ in range(draw(st.sampled_from([1, 1, 1, most]))):
            method = draw(st.sampled_from([prior.method, *TIME_METHODS]))
            keep = method == prior.method and draw(st.booleans())
            convention = prior.convention if keep else None
            at = prior.at if keep else None
            if method == "ratable_monthly" and convention is None:
                convention = draw(st.sampled_from(CONVENTIONS))
            if method == "point_in_time" and at is None:
                at = draw(st.sampled_from(POINTS))
            end = prior.end
            if end is not None and draw(st.booleans()):
                end = draw(ends(prior.start))
            last = (end or prior.start + timedelta(days=400)) - timedelta(days=1)
            if not within_service:
                last += timedelta(days=90)
            if last <= after:
                break
            on = after + timedelta(days=draw(st.integers(1, (last - after).days)))
            changed = ref.Segment(prior.line_id, draw(totals), method, prior.start, end)
            changes.append((replace(changed, convention=convention, at=at), on))
            after = on
        if changes:
            batch.append((prior, changes))
    return batch


# --- frames ------------------------------------------------------------------------------------


def segment_frame(segments: list[ref.Segment]) -> pl.DataFrame:
    rows = [
        (s.line_id, s.total, s.method, s.convention, s.at, s.start, s.end, s.cap) for s in segments
    ]
    return pl.DataFrame(rows, schema=SEGMENT_SCHEMA, orient="row")


def row_frame(schedules: dict[str, ref.Schedule]) -> pl.DataFrame:
    rows = [(line, m, a) for line, months in schedules.items() for m, a in months.items()]
    return pl.DataFrame(rows, schema=ROW_SCHEMA, orient="row")


def by_line(frame: pl.DataFrame) -> dict[str, ref.Schedule]:
    """Engine rows (line_id, period, amount) as {line: {period: amount}}, zeros left out."""
    assert not frame.select("line_id", "period").is_duplicated().any(), "a month appears twice"
    result: dict[str, ref.Schedule] = {}
    for line, period, amount in frame.select("line_id", "period", "amount").iter_rows():
        if amount:
            result.setdefault(line, {})[period] = amount
    return result


def totals_by_line(frame: pl.DataFrame) -> dict[str, int]:
    return dict(frame.group_by("line_id").agg(pl.col("amount").sum()).iter_rows())


def engine_stages(
    batch: list[tuple[ref.Segment, list[tuple[ref.Segment, date]]]],
) -> list[pl.DataFrame]:
    """The segments before any modification, then after each round of engine `prospective`."""
    stages = [segment_frame([prior for prior, _ in batch])]
    for step in range(max(len(changes) for _, changes in batch)):
        wanted = [changes[step] for _, changes in batch if len(changes) > step]
        changed = segment_frame([new for new, _ in wanted]).with_columns(
            pl.Series("modification_date", [on for _, on in wanted], dtype=pl.Date)
        )
        stages.append(prospective(stages[-1], changed))
    return stages


def reference_modified(
    batch: list[tuple[ref.Segment, list[tuple[ref.Segment, date]]]],
) -> list[ref.Segment]:
    result: list[ref.Segment] = []
    for prior, changes in batch:
        segments = [prior]
        for new, on in changes:
            segments = ref.prospective(segments, new, on)
        result.extend(segments)
    return result


# --- the reference against numbers a person can check ----------------------------------------


def test_reference_schedules_by_hand():
    def months(segment):
        return {f"{m // 12}-{m % 12 + 1:02d}": a for m, a in ref.segment_schedule(segment).items()}

    # STYLE.md: 100.00 over Jan 29 .. Feb 4, end exclusive Feb 5: 3 and 4 days of 7.
    daily = ref.Segment("a", 10_000, "ratable_daily", date(2024, 1, 29), date(2024, 2, 5))
    assert months(daily) == {"2024-01": 4_286, "2024-02": 5_714}
    # Jan 16 .. Feb 15: 16/31 and 15/29 of a month; Jan gets 1000 x 464/929 = 499.46.
    prorate = replace(daily, method="ratable_monthly", convention="prorate_days")
    prorate = replace(prorate, total=1_000, start=date(2024, 1, 16), end=date(2024, 2, 16))
    assert months(prorate) == {"2024-01": 499, "2024-02": 501}
    # Jan 16 .. Apr 15: neither end month counts, Feb and Mar share evenly.
    mid = replace(prorate, convention="mid_month", total=1_200, end=date(2024, 4, 16))
    assert months(mid) == {"2024-02": 600, "2024-03": 600}
    assert months(replace(mid, end=date(2024, 2, 11))) == {"2024-01": 1_200}
    full = replace(mid, convention="full_month")
    assert months(full) == {"2024-01": 300, "2024-02": 300, "2024-03": 300, "2024-04": 300}
    # Half-even: 1 over Jan 31 .. Feb 1 is 0.5 through January, rounded to 0.
    assert months(replace(daily, total=1, start=date(2024, 1, 31), end=date(2024, 2, 2))) == {
        "2024-02": 1
    }
    point = replace(daily, method="point_in_time", start=date(2024, 1, 1), end=date(2024, 2, 1))
    assert months(replace(point, at="end")) == {"2024-01": 10_000}
    assert months(replace(point, at="range_end")) == {"2024-02": 10_000}
    assert months(replace(daily, end=None)) == {"2024-01": 10_000}


def test_reference_events_allocation_and_prospective_by_hand():
    events = [
        ref.Event("e", date(2024, 2, 15), 0, "cumulative_percent", 40 * MICRO),
        ref.Event("e", date(2024, 4, 10), 1, "percent", 35 * MICRO),
        ref.Event("e", date(2024, 4, 30), 2, "percent", 50 * MICRO),  # capped at 100%
    ]
    assert ref.event_schedule(1_000, MICRO, events) == {
        month_index(date(2024, 2, 1)): 400,
        month_index(date(2024, 4, 1)): 600,
    }
    # Three equal SSPs share 100: the spare unit goes to the earliest line_no (row "b").
    lines = [
        ref.Line("C", "a", 2, 100, ssp_unit=5),
        ref.Line("C", "b", 0, 0, ssp_unit=5),
        ref.Line("C", "c", 1, 0, ssp_unit=5),
    ]
    assert ref.allocate(lines) == ({"a": 33, "b": 34, "c": 33}, set())
    # 1,200 over 2024 by full months, raised to 1,500 on Apr 20: Jan..Mar keep 100 each; the
    # remaining 1,200 is spread over Apr..Dec (9 months, Apr included: decisions.md 3).
    prior = ref.Segment("p", 1_200, "ratable_monthly", date(2024, 1, 1), date(2025, 1, 1))
    prior = replace(prior, convention="full_month")
    after = ref.schedules(ref.prospective([prior], replace(prior, total=1_500), date(2024, 4, 20)))
    amounts = [100, 100, 100, 133, 134, 133, 133, 134, 133, 133, 134, 133]
    assert after == {"p": {month_index(date(2024, 1, 1)) + i: a for i, a in enumerate(amounts)}}


# --- allocation (SPEC §3) ----------------------------------------------------------------------


def _allocate(lines: list[ref.Line]) -> tuple[dict[str, int | None], set[str]]:
    rows = [
        (
            x.contract_id,
            x.line_id,
            x.line_no,
            x.amount,
            x.method,
            x.quantity_micro,
            x.ssp_unit,
            x.exclude,
            x.residual,
        )
        for x in lines
    ]
    frame, errors = allocate(pl.DataFrame(rows, schema=LINE_SCHEMA, orient="row"))
    return dict(frame.select("line_id", "allocated").iter_rows()), {e.contract_id for e in errors}


@given(contracts())
def test_allocation_matches_reference(lines):
    """allocate(lines) == the scalar largest-remainder / residual allocation, errors included."""
    assert _allocate(lines) == ref.allocate(lines)


@given(contracts())
def test_allocations_sum_exactly_to_the_transaction_price(lines):
    """Per contract without errors: allocatable lines sum to TP; the others keep their amount."""
    allocated, errors = _allocate(lines)
    for contract in {x.contract_id for x in lines} - errors:
        members = [x for x in lines if x.contract_id == contract]
        shared = [x for x in members if x.allocatable]
        assert sum(allocated[x.line_id] or 0 for x in shared) == sum(x.amount for x in shared)
        assert all(allocated[x.line_id] == x.amount for x in members if not x.allocatable)


# --- time-based schedules (SPEC §1, §2) ------------------------------------------------------


@given(time_batches())
@example(EDGE_SEGMENTS)
def test_time_schedules_match_reference(segments):
    """schedule(segments) == the reference's cumulative-rounding schedule, month by month."""
    frame, errors = schedule(segment_frame(segments))
    assert errors == []
    assert by_line(frame) == ref.schedules(segments)


@given(time_batches())
@example(EDGE_SEGMENTS)
def test_time_schedules_sum_exactly_to_their_totals(segments):
    """sum(schedule of a line) == its total, for every method, convention and term."""
    frame, _ = schedule(segment_frame(segments))
    found = totals_by_line(frame)
    assert {s.line_id: found.get(s.line_id, 0) for s in segments} == {
        s.line_id: s.total for s in segments
    }


@given(time_batches())
@example(EDGE_SEGMENTS)
def test_cumulative_is_monotone_in_the_direction_of_the_total(segments):
    """Every month's amount has the sign of its total (>= 0 for totals >= 0, <= 0 below)."""
    frame, _ = schedule(segment_frame(segments))
    sign = {s.line_id: 1 if s.total >= 0 else -1 for s in segments}
    assert all(amount * sign[line] >= 0 for line, _, amount in frame.iter_rows())


# --- event-based and upon-billing schedules (SPEC §2, §5 step 4) ----------------------------


@given(event_batches())
def test_event_schedules_match_reference(batch):
    """Event schedules == running released percent/quantity, capped, last event of each month."""
    segments, quantities, events = batch
    lines = segment_frame(segments).with_columns(
        pl.Series("quantity_micro", [quantities[s.line_id] for s in segments], dtype=pl.Int64)
    )
    rows = [(e.line_id, e.event_date, e.seq, e.kind, e.value_micro) for e in events]
    frame, errors = schedule(lines, events=pl.DataFrame(rows, schema=EVENT_SCHEMA, orient="row"))
    expected = {
        s.line_id: ref.event_schedule(
            s.total, quantities[s.line_id], [e for e in events if e.line_id == s.line_id]
        )
        for s in segments
    }
    assert {e.line_id for e in errors} == {line for line, rows in expected.items() if rows is None}
    assert by_line(frame) == {line: rows for line, rows in expected.items() if rows}


@given(
    st.lists(
        st.tuples(st.sampled_from(["B0", "B1", "B2", "X"]), days(), totals), min_size=0, max_size=12
    )
)
def test_upon_billing_schedules_match_reference(billings):
    """An upon_billing line's schedule == its billings summed by month of doc_date."""
    lines = [ref.Segment(f"B{i}", 0, "upon_billing", date(2023, 1, 1), None) for i in range(3)]
    frame, _ = schedule(
        segment_frame(lines),
        billings=pl.DataFrame(
            billings,
            schema={"line_id": pl.String, "doc_date": pl.Date, "amount": pl.Int64},
            orient="row",
        ),
    )
    expected = ref.upon_billing([b for b in billings if b[0] != "X"])
    assert by_line(frame) == {line: rows for line, rows in expected.items() if rows}


# --- modifications (SPEC §3, §5 step 6) ------------------------------------------------------


@st.composite
def postings(draw: st.DrawFn) -> tuple[dict[str, ref.Schedule], dict[str, ref.Schedule], int]:
    """A new schedule, what an older version posted to closed periods, and the open period."""
    segments = draw(time_batches())
    before = [replace(s, total=draw(totals)) for s in segments]
    open_period = draw(st.integers(month_index(date(2022, 6, 1)), month_index(date(2033, 1, 1))))
    scheduled = ref.schedules(segments[: draw(st.integers(0, len(segments)))])
    posted = {
        line: {m: a for m, a in rows.items() if m < open_period}
        for line, rows in ref.schedules(before).items()
    }
    return scheduled, posted, open_period


@given(postings())
def test_effective_schedule_matches_reference(case):
    """effective_schedule == closed as posted, open = through open - posted, later as scheduled."""
    scheduled, posted, open_period = case
    frame = effective_schedule(row_frame(scheduled), row_frame(posted), open_period)
    expected = ref.effective_schedule(scheduled, posted, open_period)
    assert by_line(frame) == {line: rows for line, rows in expected.items() if rows}


@given(postings())
def test_effective_schedule_keeps_closed_periods_and_sums_to_the_schedule(case):
    """Per line: sum(effective) == sum(schedule), and every closed period is exactly as posted."""
    scheduled, posted, open_period = case
    found = by_line(effective_schedule(row_frame(scheduled), row_frame(posted), open_period))
    for line in scheduled.keys() | posted.keys():
        rows = found.get(line, {})
        assert sum(rows.values()) == sum(scheduled.get(line, {}).values())
        closed = {m: a for m, a in rows.items() if m < open_period}
        assert closed == {m: a for m, a in posted.get(line, {}).items() if a}


def schedules_of(*frames: pl.DataFrame) -> list[dict[str, ref.Schedule]]:
    """Engine schedules of several segment frames in one call (each call has a fixed cost)."""
    tagged = [f.with_columns(pl.col("line_id") + f"#{i}") for i, f in enumerate(frames)]
    rows = by_line(schedule(pl.concat(tagged, how="vertical_relaxed"))[0])
    found: list[dict[str, ref.Schedule]] = [{} for _ in frames]
    for tagged_id, months in rows.items():
        line, i = tagged_id.rsplit("#", 1)
        found[int(i)][line] = months
    return found


def assert_keeps_earlier_months_and_sums_to_new_total(
    batch: list[tuple[ref.Segment, list[tuple[ref.Segment, date]]]],
    before: dict[str, ref.Schedule],
    after: dict[str, ref.Schedule],
) -> None:
    """For each line's last modification: months before its month as before; sum == new total."""
    last = max(len(changes) for _, changes in batch)
    for prior, changes in batch:
        changed, on = changes[-1]
        assert sum(after.get(prior.line_id, {}).values()) == changed.total, prior.line_id
        if len(changes) == last:
            cut = month_index(on)
            kept = {m: a for m, a in after.get(prior.line_id, {}).items() if m < cut}
            assert kept == {m: a for m, a in before.get(prior.line_id, {}).items() if m < cut}


@given(modifications())
def test_prospective_matches_reference_and_keeps_earlier_revenue(batch):
    """schedule(prospective(prior, changed)) == reference; earlier months stay; sum == new total."""
    stages = engine_stages(batch)
    after, before = schedules_of(stages[-1], stages[-2])
    assert after == ref.schedules(reference_modified(batch))
    assert_keeps_earlier_months_and_sums_to_new_total(batch, before, after)


@given(modifications(within_service=False, most=1))
def test_prospective_keeps_earlier_revenue_and_total_even_after_the_service(batch):
    """Modified on any date, even after the service: earlier months stay; sum == new total."""
    stages = engine_stages(batch)
    after, before = schedules_of(stages[-1], stages[-2])
    assert_keeps_earlier_months_and_sums_to_new_total(batch, before, after)


# --- balances (SPEC §5.1) ----------------------------------------------------------------------


def _balances(rows: list[tuple[int, int, int]]) -> list[dict[str, int]]:
    schema = {"billed": pl.Int64, "recognized": pl.Int64, "allocated": pl.Int64}
    frame = balances(pl.DataFrame(rows, schema=schema, orient="row"))
    return frame.select(BALANCE_COLUMNS).rows(named=True)


@given(st.lists(st.tuples(money, money, money), min_size=1, max_size=20))
def test_balances_match_spec(rows):
    """balances(B, R, T) == the §5.1 formulas, column by column."""
    assert _balances(rows) == [ref.balances(*row) for row in rows]


@given(st.lists(st.tuples(money, money, money), min_size=1, max_size=20))
def test_liability_and_asset_scheduled_add_up_to_scheduled(rows):
    """liability_scheduled + asset_scheduled == scheduled for all B, R, T (no condition needed)."""
    for row in _balances(rows):
        assert row["liability_scheduled"] + row["asset_scheduled"] == row["scheduled"]


@given(st.lists(st.tuples(money, money, money), min_size=1, max_size=20))
def test_scheduled_parts_are_non_negative_exactly_when_r_is_at_most_t(rows):
    """liability_scheduled >= 0 and asset_scheduled >= 0 if and only if R <= T."""
    for (_, recognized, allocated), row in zip(rows, _balances(rows), strict=True):
        parts = row["liability_scheduled"] >= 0 and row["asset_scheduled"] >= 0
        assert parts == (recognized <= allocated)
