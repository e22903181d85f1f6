"""A scalar reference of the engine's rules (SPEC §1, §2, §3, §5, §5.1), one line at a time.

Written from the spec and the engine's docstrings with ints, Fractions and dates, never from
revrec.engine: slow and obvious on purpose, so the property tests can compare the two.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from fractions import Fraction

from revrec.calendar import days_in_month, month_index, month_start

MICRO = 1_000_000
HUNDRED_PERCENT = 100 * MICRO
COARSE = ("full_month", "mid_month")

Schedule = dict[int, int]  # period (month index) -> amount, zero amounts left out


def rounded(value: Fraction) -> int:
    """Half-even rounding of an exact rational (Python's own rule for Fraction)."""
    return round(value)


# --- allocation (SPEC §3) --------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    contract_id: str
    line_id: str
    line_no: int
    amount: int
    method: str = "ratable_daily"
    quantity_micro: int = MICRO
    ssp_unit: int | None = None
    exclude: bool = False
    residual: bool = False

    @property
    def allocatable(self) -> bool:
        return not self.exclude and self.method != "upon_billing"

    @property
    def weight(self) -> int:
        """SSP x quantity in micro minor units; the line's own amount when it has no SSP."""
        if self.ssp_unit is None:
            return self.amount * MICRO
        return self.ssp_unit * self.quantity_micro


def allocate(lines: list[Line]) -> tuple[dict[str, int | None], set[str]]:
    """Allocated amount per line_id (None for lines of a contract in error), contracts in error."""
    allocated: dict[str, int | None] = {}
    errors: set[str] = set()
    contracts: dict[str, list[Line]] = defaultdict(list)
    for line in lines:
        contracts[line.contract_id].append(line)
    for contract_id, members in contracts.items():
        result = _allocate_contract(sorted(members, key=lambda line: line.line_no))
        if result is None:
            errors.add(contract_id)
            allocated.update(dict.fromkeys((line.line_id for line in members), None))
        else:
            allocated.update(result)
    return allocated, errors


def _allocate_contract(lines: list[Line]) -> dict[str, int] | None:
    kept = {line.line_id: line.amount for line in lines if not line.allocatable}
    shared = [line for line in lines if line.allocatable]
    split = _residual(shared) if any(line.residual for line in shared) else _relative(shared)
    return None if split is None else kept | split


def _residual(shared: list[Line]) -> dict[str, int] | None:
    """The others get exactly round_half_even(SSP x quantity); the residual line the rest."""
    residual = [line for line in shared if line.residual]
    if len(residual) > 1:
        return None
    own = {line.line_id: rounded(Fraction(line.weight, MICRO)) for line in shared}
    del own[residual[0].line_id]
    rest = sum(line.amount for line in shared) - sum(own.values())
    return None if rest < 0 else own | {residual[0].line_id: rest}


def _relative(shared: list[Line]) -> dict[str, int] | None:
    """TP x w_i / sum(w), floors topped up by largest remainder, ties to the earlier line_no."""
    price = sum(line.amount for line in shared)
    weights = sum(line.weight for line in shared)
    if any(line.weight < 0 for line in shared) or (weights == 0 and price != 0):
        return None
    if weights == 0:
        return {line.line_id: 0 for line in shared}
    # A negative price is split as the mirror image of the positive one.
    sign, price = (-1, -price) if price < 0 else (1, price)
    quotas = [Fraction(price * line.weight, weights) for line in shared]
    parts = [math.floor(quota) for quota in quotas]
    # `shared` is in line_no order and sorted() is stable: equal remainders go to earlier lines.
    by_remainder = sorted(range(len(shared)), key=lambda i: quotas[i] - parts[i], reverse=True)
    for i in by_remainder[: price - sum(parts)]:
        parts[i] += 1
    return {line.line_id: sign * part for line, part in zip(shared, parts, strict=True)}


# --- time-based schedules (SPEC §1, §2) -------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    line_id: str
    total: int
    method: str
    start: date
    end: date | None  # exclusive; None: recognized whole on start
    convention: str | None = None
    at: str | None = None
    cap: date | None = None  # recognizes nothing from this day on


def _overlap(a: date, b: date, month: int) -> int:
    """Days of [a, b) inside a month."""
    first, after = month_start(month), month_start(month + 1)
    return max((min(b, after) - max(a, first)).days, 0)


def _month_share(a: date, b: date, months: range) -> Fraction:
    """Months in [a, b), a part-month counting its days over the days of that month."""
    return sum((Fraction(_overlap(a, b, m), days_in_month(m)) for m in months), Fraction())


def _span(start: date, end: date) -> range:
    """Month indexes of the service days [start, end)."""
    return range(month_index(start), month_index(end - timedelta(days=1)) + 1)


def _mid_month_weights(start: date, end: date) -> dict[int, int]:
    """1 for each month that counts under mid_month, 0 for one that does not."""
    months = _span(start, end)
    weights = dict.fromkeys(months, 1)
    if len(months) == 1:
        return weights
    first_counts = start.day <= 15
    last_counts = (end - timedelta(days=1)).day > 15
    if len(months) == 2 and not first_counts and not last_counts:
        first_counts = True  # docs/decisions.md 2: a line never has nothing to recognize
    weights[months[0]] = int(first_counts)
    weights[months[-1]] = int(last_counts)
    return weights


def point_day(segment: Segment) -> date:
    """The day a point-in-time segment (or one with no end) is recognized."""
    if segment.end is None or segment.at in (None, "start"):
        return segment.start
    if segment.at == "end":
        return segment.end - timedelta(days=1)
    return segment.end  # range_end: the exclusive end boundary


def effective_cap(segment: Segment) -> date | None:
    """Whole-month conventions recognize by month: a cap inside a month stops at its first day."""
    if segment.cap is None:
        return None
    if segment.method == "ratable_monthly" and segment.convention in COARSE:
        return month_start(month_index(segment.cap))
    return segment.cap


def _elapsed(segment: Segment, day: date) -> Fraction:
    """Share of the segment's length elapsed before `day` (0..1), by its method."""
    start, end = segment.start, segment.end
    assert end is not None
    upto = min(max(day, start), end)
    if segment.method == "ratable_daily":
        return Fraction((upto - start).days, (end - start).days)
    months = _span(start, end)
    if segment.convention == "prorate_days":
        return _month_share(start, upto, months) / _month_share(start, end, months)
    if segment.convention == "full_month":
        weights = dict.fromkeys(months, 1)
    elif segment.convention == "mid_month":
        weights = _mid_month_weights(start, end)
    else:
        raise ValueError(segment.convention)
    # A month is in once its service has begun; whole-month caps make this a month boundary.
    begun = sum(w for m, w in weights.items() if _overlap(start, upto, m) > 0)
    return Fraction(begun, sum(weights.values()))


def cumulative(segment: Segment, day: date) -> int:
    """C(day): the revenue the segment recognizes before `day`, rounded half-even."""
    cap = effective_cap(segment)
    if cap is not None:
        day = min(day, cap)
    if segment.method == "point_in_time" or segment.end is None:
        return segment.total if day > point_day(segment) else 0
    return rounded(segment.total * _elapsed(segment, day))


def segment_schedule(segment: Segment) -> Schedule:
    """Month amounts as differences of C at consecutive month starts."""
    last = segment.end or segment.start
    result: Schedule = {}
    for month in range(month_index(segment.start), month_index(last) + 1):
        amount = cumulative(segment, month_start(month + 1)) - cumulative(
            segment, month_start(month)
        )
        if amount:
            result[month] = amount
    return result


def schedules(segments: list[Segment]) -> dict[str, Schedule]:
    """Per line, the sum of its segments' schedules (zero amounts left out)."""
    result: dict[str, Schedule] = {}
    for segment in segments:
        target = result.setdefault(segment.line_id, {})
        for month, amount in segment_schedule(segment).items():
            target[month] = target.get(month, 0) + amount
    cleaned = {line: {m: a for m, a in rows.items() if a} for line, rows in result.items()}
    return {line: rows for line, rows in cleaned.items() if rows}


# --- event-based and upon-billing schedules (SPEC §2, §5 step 4) -------------------------------


@dataclass(frozen=True)
class Event:
    line_id: str
    event_date: date
    seq: int
    kind: str  # percent | cumulative_percent | quantity
    value_micro: int


def event_schedule(total: int, quantity_micro: int, events: list[Event]) -> Schedule | None:
    """Released share per month (last event of the month wins); None if kinds are mixed."""
    if len({event.kind == "quantity" for event in events}) > 1:
        return None
    running = 0
    through: dict[int, int] = {}  # month -> cumulative revenue after its last event
    for event in sorted(events, key=lambda e: (e.event_date, e.seq)):
        if event.kind == "cumulative_percent":
            running = event.value_micro
        else:
            running += event.value_micro
        whole = quantity_micro if event.kind == "quantity" else HUNDRED_PERCENT
        released = min(max(running, 0), whole)
        through[month_index(event.event_date)] = rounded(Fraction(total * released, whole))
    result: Schedule = {}
    before = 0
    for month in sorted(through):
        if through[month] != before:
            result[month] = through[month] - before
        before = through[month]
    return result


def upon_billing(billings: list[tuple[str, date, int]]) -> dict[str, Schedule]:
    """Billings (line_id, doc_date, signed amount) summed per line and month of the doc_date."""
    result: dict[str, Schedule] = defaultdict(dict)
    for line_id, doc_date, amount in billings:
        month = month_index(doc_date)
        result[line_id][month] = result[line_id].get(month, 0) + amount
    return {line: {m: a for m, a in rows.items() if a} for line, rows in result.items()}


# --- modifications (SPEC §3, §5 step 6) ------------------------------------------------------


def effective_schedule(
    schedule: dict[str, Schedule], posted: dict[str, Schedule], open_period: int
) -> dict[str, Schedule]:
    """Closed periods as posted; the open period = schedule through it - posted; later as is."""
    result: dict[str, Schedule] = {}
    for line in schedule.keys() | posted.keys():
        planned, booked = schedule.get(line, {}), posted.get(line, {})
        rows = {m: a for m, a in booked.items() if m < open_period}
        due = sum(a for m, a in planned.items() if m <= open_period)
        rows[open_period] = due - sum(rows.values())
        rows.update({m: a for m, a in planned.items() if m > open_period})
        result[line] = {m: a for m, a in rows.items() if a}
    return result


def prospective(prior: list[Segment], changed: Segment, modified_on: date) -> list[Segment]:
    """Prior segments keep what they recognized before the modification (capped there); the new
    total minus that is spread by the changed line's method over [max(start, modified_on), end).
    """
    capped = [
        replace(s, cap=modified_on if s.cap is None else min(s.cap, modified_on)) for s in prior
    ]
    kept = sum(cumulative(s, modified_on) for s in capped)
    start = max(changed.start, modified_on)
    fresh = replace(changed, total=changed.total - kept, start=start, cap=None)
    # Nothing new is recognized before the modification: a passed point in time, or a service
    # already over, recognizes the remainder on the modification date itself.
    is_point = changed.method == "point_in_time" or changed.end is None
    if (is_point and point_day(changed) < modified_on) or (
        not is_point and changed.end is not None and changed.end <= start
    ):
        fresh = replace(fresh, method="point_in_time", at="start", start=modified_on, end=None)
    return [*capped, fresh]


# --- balances (SPEC §5.1) ---------------------------------------------------------------------


def balances(billed: int, recognized: int, allocated: int) -> dict[str, int]:
    b, r, t = billed, recognized, allocated
    return {
        "liability": max(b - r, 0),
        "asset": max(r - b, 0),
        "scheduled": t - r,
        "liability_scheduled": min(max(b - r, 0), t - r),
        "asset_scheduled": max(t - max(b, r), 0),
        "overbilled": max(b - t, 0),
    }
