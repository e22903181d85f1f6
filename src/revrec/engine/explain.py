"""How one line's figures came about (`revrec explain`): its contract's allocation, its schedule
in a book with each cumulative fraction, its versions and what each change caught up, its
events, billings and postings, and its contract's §5.1 balances.

Pure: the engine's own rules (`run`, `allocation.steps`, `schedules.curve`, `releases`) over one
contract's frames, to exact integers (minor units) and fractions; no I/O. Wording and money
formatting are the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction
from typing import Any, NamedTuple

import polars as pl

from revrec.engine import allocation, methods, schedules
from revrec.engine.run import EVENT_SCHEMA, Inputs, Outputs, book_segments, prepared, run

BILLING_RECORD_SCHEMA = {
    "line_id": pl.String,
    "doc_type": pl.String,
    "doc_number": pl.String,
    "doc_line_id": pl.String,
    "doc_date": pl.Date,
    "period": pl.Int64,
    "amount": pl.Int64,
}
EVENT_RECORD_SCHEMA = {**EVENT_SCHEMA, "event_name": pl.String, "period": pl.Int64}


@dataclass(frozen=True)
class Records:
    """What the subledger recorded about the contract beside the engine's inputs (periods are
    month indexes): when each version and event was processed, the billing documents, and what
    the book posted for the line."""

    versions: pl.DataFrame  # line_id, version, period: of every line of the contract
    events: pl.DataFrame  # EVENT_RECORD_SCHEMA: of every line of the contract
    billings: pl.DataFrame  # BILLING_RECORD_SCHEMA: of every line of the contract
    posted: pl.DataFrame  # period, amount: the line's stored postings in the book


class Line(NamedTuple):
    version: int
    pob_template: str | None
    schedule_type: str | None
    method: str  # in the book (its overrides applied)
    convention: str | None
    at: str | None
    start: date
    end: date | None  # exclusive
    amount: int
    quantity_micro: int
    allocated: int | None


class Share(NamedTuple):
    """A line's part of its contract's allocation (SPEC §3)."""

    line_id: str
    line_no: int
    amount: int
    ssp_unit: int | None
    quantity_micro: int
    ssp: Fraction | None  # SSP_i in minor units: ssp_unit x quantity, or the amount (None:
    # the line is not allocated, it keeps its amount)
    rule: str  # relative | residual | own_ssp | excluded | upon_billing
    share: Fraction | None  # SSP_i / sum of SSP (relative)
    exact: Fraction | None  # TP x share, minor units
    floor: int | None  # of the exact value (signed: a negative TP is split as its mirror)
    remainder: Fraction | None  # what the floor left, in minor units (0 <= r < 1)
    extra: int  # the units left over by the floors that it got (signed)
    allocated: int | None


class Allocation(NamedTuple):
    approach: str  # relative | residual
    transaction_price: int
    ssp_total: Fraction  # of the allocatable lines (relative), of the others (residual)
    floors: int | None  # the sum of the floors (relative)
    left_over: int | None  # TP - floors: one unit each to the largest remainders
    lines: list[Share]


class Version(NamedTuple):
    version: int
    processed: int | None  # the period it was processed in
    effective_date: date
    policy: str  # its modification policy: the contract's, else its own, else the default
    amount: int
    quantity_micro: int
    ssp_unit: int | None
    start: date
    end: date | None
    allocated: int | None  # at the end of the period it was processed in
    treatment: str  # first | restated | prospective | replaced (later in the same period)
    kept: int | None  # prospective: what the earlier terms recognized before it took effect
    remainder: int | None  # prospective: allocated - kept, spread from `spread_from`
    spread_from: date | None
    catch_up: int | None  # what its period posted beyond that period's scheduled amount


class Change(NamedTuple):
    """A period in which versions of the contract's lines were processed, and the line then."""

    period: int
    versions: list[tuple[str, int]]  # (line_id, version) processed in it
    allocated: int | None  # the line's allocation at the period's end
    scheduled: int  # the line's schedule's amount for the period, as it stood then
    posted: int  # what the period posted for the line
    catch_up: int  # posted - scheduled: earlier periods' revenue caught up in this one


class Segment(NamedTuple):
    segment: int  # 1, 2, ... in the order the engine adds them up
    version: int
    total: int
    method: str
    convention: str | None
    at: str | None
    start: date
    end: date | None  # exclusive
    cap: date | None  # it recognizes before this day only


class CurvePoint(NamedTuple):
    segment: int
    period: int
    method: str  # as recognized: a segment without an end is a point in time
    total: int  # the segment's
    elapsed: Fraction | None  # cumulative = round_half_even(total x elapsed / length)
    length: Fraction | None
    unit: str | None  # of elapsed and length: days, months, counted months
    cumulative: int
    amount: int  # cumulative minus the previous period's


class Event(NamedTuple):
    event_date: date
    processed: int
    event_name: str | None
    action: str
    kind: str | None
    value_micro: int | None
    released: int | None  # a release: the running percent or quantity x 1e6, capped to `of`
    of: int | None  # 100 x 1e6, or the line's quantity x 1e6
    cumulative: int | None  # round_half_even(allocated x released / of)


class Period(NamedTuple):
    period: int
    before_actions: int  # the schedule's amount before holds and the other actions
    scheduled: int  # the line's schedule in the book (after them)
    posted: int | None  # what the book posted (stored); None after the period explained
    posted_to_date: int | None
    difference: int | None  # posted - scheduled: a catch-up (or a late row) shows here


class Billing(NamedTuple):
    line_id: str
    doc_type: str
    doc_number: str
    doc_line_id: str
    doc_date: date
    period: int
    amount: int


@dataclass(frozen=True)
class Explanation:
    line_id: str
    contract_id: str
    currency: str
    book: str
    period: int  # the period at whose end the figures are
    line: Line
    allocation: Allocation
    versions: list[Version]
    changes: list[Change]
    segments: list[Segment]
    curve: list[CurvePoint]
    events: list[Event]
    periods: list[Period]
    billings: list[Billing]
    balances: dict[str, int]  # the engine's balance columns of the contract in the book
    findings: list[str]
    posting: int  # what processing posts for the line in the period explained, as of now


def explain(
    inputs: Inputs, records: Records, line_id: str, book: str, *, history: bool = True
) -> Explanation:
    """The explanation of a line of the contract in `inputs` (one contract's inputs, `book`
    open at the period explained), from one engine run and one run as of each period in which
    versions of the contract were processed. `history=False` skips those runs: the versions
    and their changes are left out (the Workbench's contract view)."""
    period = int(inputs.books.filter(pl.col("book") == book)["open_period"][0])
    # The month-end's journal is not explained; its findings are, with the history.
    out = run(inputs if history else replace(inputs, month_end=False))
    versions, based = prepared(inputs)
    mine = based.filter(pl.col("line_id") == line_id)
    contract, currency = mine["contract_id"][0], mine["currency"][0]
    segments = book_segments(inputs, book).filter(pl.col("line_id") == line_id)
    changes = _changes(inputs, records, line_id, book) if history else []
    line = _line(inputs, mine, book, out)
    posted = out.postings.filter((pl.col("book") == book) & (pl.col("line_id") == line_id))
    return Explanation(
        line_id=line_id,
        contract_id=contract,
        currency=currency,
        book=book,
        period=period,
        line=line,
        allocation=_allocation(based.filter(pl.col("contract_id") == contract)),
        versions=_versions(versions, records, line_id, changes) if history else [],
        changes=[c for c, _ in changes],
        segments=_segments(segments, versions.filter(pl.col("line_id") == line_id)),
        curve=_curve(segments),
        events=_events(records, segments, line_id),
        periods=_periods(out, inputs, records, segments, line_id, book),
        billings=_billings(records),
        balances=_balances(out, book, contract),
        findings=_findings(out, line_id, book),
        posting=int(posted["amount"].sum()),
    )


def as_of(inputs: Inputs, records: Records, period: int) -> Inputs:
    """The inputs as they stood while `period` was open: what was processed through it, and
    what the periods before it posted (closed periods' postings never change)."""
    processed = records.versions.filter(pl.col("period") <= period).select("line_id", "version")
    events = records.events.filter(pl.col("period") <= period).select(EVENT_SCHEMA.keys())
    return replace(
        inputs,
        lines=inputs.lines.join(processed, on=["line_id", "version"], how="semi"),
        billings=inputs.billings.filter(pl.col("period") <= period),
        events=events.cast(EVENT_SCHEMA),  # type: ignore[arg-type]
        posted=inputs.posted.filter(pl.col("period") < period),
        books=inputs.books.with_columns(pl.lit(period, dtype=pl.Int64).alias("open_period")),
        costs=inputs.costs.filter(pl.col("period") <= period),
        posted_costs=inputs.posted_costs.filter(pl.col("period") < period),
    )


def _line(inputs: Inputs, mine: pl.DataFrame, book: str, out: Outputs) -> Line:
    overrides = inputs.overrides.filter(pl.col("book") == book).select("pob_template", "method")
    own = methods.resolve(mine.drop("method", "convention", "at"), inputs.templates, overrides)
    row = own.row(0, named=True)
    allocated = out.allocations.filter(pl.col("line_id") == row["line_id"])["allocated"]
    return Line(
        version=row["version"],
        pob_template=row["pob_template"],
        schedule_type=row["schedule_type"],
        method=row["method"],
        convention=row["convention"],
        at=row["at"],
        start=row["start"],
        end=row["end"],
        amount=row["amount"],
        quantity_micro=row["quantity_micro"],
        allocated=allocated[0] if allocated.len() else None,
    )


def _allocation(lines: pl.DataFrame) -> Allocation:
    """The contract's allocation with the figures `allocation.steps` made it of."""
    figures, _ = allocation.steps(lines)
    frame = pl.concat([lines.select("line_id", "line_no", "amount", "ssp_unit",
                                    "quantity_micro", "exclude", "method"), figures],
                      how="horizontal")  # fmt: skip
    rows = frame.sort("line_no", "line_id").rows(named=True)
    residual = any(r["allocatable"] and r["residual"] for r in rows)
    tp = int(rows[0]["transaction_price"])
    sign = -1 if tp < 0 else 1
    shares = [_share(r, sign, residual=residual) for r in rows]
    relative = [s for s in shares if s.rule == "relative"]
    floors = sum(s.floor or 0 for s in relative) if relative and not residual else None
    counted = [Fraction(int(r["weight"]), allocation.MICRO) for r in rows if _plain(r)]
    return Allocation(
        approach="residual" if residual else "relative",
        transaction_price=tp,
        ssp_total=sum(counted, Fraction(0)),
        floors=floors,
        left_over=None if floors is None else tp - floors,
        lines=shares,
    )


def _plain(row: dict[str, Any]) -> bool:
    return bool(row["allocatable"]) and not row["residual"]


def _share(row: dict[str, Any], sign: int, *, residual: bool) -> Share:
    weight, total = int(row["weight"]), row["weight_total"]
    rule = "relative"
    if not row["allocatable"]:
        billed = row["method"] == "upon_billing" and not row["exclude"]
        rule = "upon_billing" if billed else "excluded"
    elif residual:
        rule = "residual" if row["residual"] else "own_ssp"
    share = exact = remainder = None
    floor = None
    if rule == "relative" and total:
        share = Fraction(weight, int(total))
        exact = sign * abs(int(row["transaction_price"])) * share
        floor = sign * int(row["floor"])
        remainder = Fraction(int(row["remainder"]), int(total))
    return Share(
        line_id=row["line_id"],
        line_no=row["line_no"],
        amount=row["amount"],
        ssp_unit=row["ssp_unit"],
        quantity_micro=row["quantity_micro"],
        ssp=Fraction(weight, allocation.MICRO) if row["allocatable"] else None,
        rule=rule,
        share=share,
        exact=exact,
        floor=floor,
        remainder=remainder,
        extra=sign * int(row["extra"] or 0) if rule == "relative" else 0,
        allocated=row["allocated"],
    )


def _changes(
    inputs: Inputs, records: Records, line_id: str, book: str
) -> list[tuple[Change, pl.DataFrame]]:
    """Each period (from the line's first) in which versions of the contract were processed:
    the line as one run with that period open left it, and its segments then."""
    period = int(inputs.books.filter(pl.col("book") == book)["open_period"][0])
    processed = records.versions.filter(pl.col("period") <= period)
    first = processed.filter(pl.col("line_id") == line_id)["period"].min()
    if first is None:
        return []
    mine, in_book = pl.col("line_id") == line_id, pl.col("book") == book
    found = []
    groups = processed.filter(pl.col("period") >= first).group_by("period")
    for (when,), group in sorted(groups, key=lambda g: int(g[0][0])):
        at = int(when)
        sub = as_of(inputs, records, at)
        out = run(replace(sub, month_end=False))  # its allocation, schedule and postings
        allocated = out.allocations.filter(mine)["allocated"]
        scheduled = out.schedules.filter(in_book & mine & (pl.col("period") == at))["amount"]
        posted = int(out.postings.filter(in_book & mine)["amount"].sum())
        change = Change(
            period=at,
            versions=sorted(group.select("line_id", "version").iter_rows()),
            allocated=allocated[0] if allocated.len() else None,
            scheduled=int(scheduled.sum()),
            posted=posted,
            catch_up=posted - int(scheduled.sum()),
        )
        found.append((change, book_segments(sub, book).filter(mine)))
    return found


def _versions(
    versions: pl.DataFrame,
    records: Records,
    line_id: str,
    changes: list[tuple[Change, pl.DataFrame]],
) -> list[Version]:
    """The line's versions, each with how it was applied in the period it was processed in."""
    when: dict[int, int] = dict(
        records.versions.filter(pl.col("line_id") == line_id)
        .select("version", "period")
        .iter_rows()
    )
    by_period: dict[int | None, tuple[Change | None, pl.DataFrame | None]] = {
        c.period: (c, segs) for c, segs in changes
    }
    own = versions.filter(pl.col("line_id") == line_id).sort("version").rows(named=True)
    found = []
    for number, row in enumerate(own):
        processed = when.get(row["version"])
        newest = processed is not None and row["version"] == max(
            v for v, p in when.items() if p == processed
        )
        change, segs = by_period.get(processed, (None, None)) if newest else (None, None)
        applied = _applied(change, segs, first=number == 0)
        found.append(
            Version(
                version=row["version"],
                processed=processed,
                effective_date=row["effective_date"],
                policy=row["policy"],
                amount=row["amount"],
                quantity_micro=row["quantity_micro"],
                ssp_unit=row["ssp_unit"],
                start=row["start"],
                end=row["end"],
                allocated=None if change is None else change.allocated,
                treatment=applied[0],
                kept=applied[1],
                remainder=applied[2],
                spread_from=applied[3],
                catch_up=None if change is None else change.catch_up,
            )
        )
    return found


def _applied(
    change: Change | None, segments: pl.DataFrame | None, *, first: bool
) -> tuple[str, int | None, int | None, date | None]:
    """(treatment, kept, remainder, spread from) of a version, from the line's segments at the
    end of its period: a prospective version is the last of two or more (run._segments)."""
    if change is None or segments is None:
        return "replaced", None, None, None
    if first:
        return "first", None, None, None
    if segments.height < 2:
        return "restated", None, None, None
    fresh = segments.row(segments.height - 1, named=True)
    kept = None if change.allocated is None else change.allocated - fresh["total"]
    return "prospective", kept, fresh["total"], fresh["start"]


def _segments(segments: pl.DataFrame, versions: pl.DataFrame) -> list[Segment]:
    """The line's segments; a prospective chain's are its last versions, one each, in order."""
    numbers = sorted(versions["version"].to_list())[-segments.height :] if segments.height else []
    return [
        Segment(
            segment=k + 1,
            version=numbers[k],
            total=row["total"],
            method=row["method"],
            convention=row["convention"],
            at=row["at"],
            start=row["start"],
            end=row["end"],
            cap=row["cap"],
        )
        for k, row in enumerate(segments.rows(named=True))
    ]


def _curve(segments: pl.DataFrame) -> list[CurvePoint]:
    conventions, totals = segments["convention"].to_list(), segments["total"].to_list()
    found = []
    for row in schedules.curve(segments).rows(named=True):
        convention = conventions[row["segment"]] if row["method"] == "ratable_monthly" else None
        unit, per = schedules.CURVE_UNITS.get((row["method"], convention), (None, 1))
        ratable = row["elapsed"] is not None
        found.append(
            CurvePoint(
                segment=row["segment"] + 1,
                period=row["period"],
                method=row["method"],
                total=totals[row["segment"]],
                elapsed=Fraction(row["elapsed"], per) if ratable else None,
                length=Fraction(row["length"], per) if ratable else None,
                unit=unit if ratable else None,
                cumulative=row["cumulative"],
                amount=row["amount"],
            )
        )
    return found


def _released(records: Records, segments: pl.DataFrame, line_id: str) -> pl.DataFrame:
    """The line's releases with what each has released (`schedules.releases`), when the line
    is event-based in the book."""
    events = records.events.filter(
        (pl.col("line_id") == line_id) & (pl.col("action") == "release")
    ).select("line_id", "event_date", "seq", "kind", "value_micro")
    measured = segments.filter(pl.col("method") == "event")
    if measured.height == 0 or events.height == 0:
        return pl.DataFrame(schema={"event_date": pl.Date, "seq": pl.Int64})
    found, _ = schedules.releases(measured, events)
    return found


def _events(records: Records, segments: pl.DataFrame, line_id: str) -> list[Event]:
    released = {
        (r["event_date"], r["seq"]): r
        for r in _released(records, segments, line_id).rows(named=True)
    }
    own = records.events.filter(pl.col("line_id") == line_id).sort("event_date", "seq")
    found = []
    for row in own.rows(named=True):
        figures = released.get((row["event_date"], row["seq"])) if row["action"] == "release" else (
            None)  # fmt: skip
        found.append(
            Event(
                event_date=row["event_date"],
                processed=row["period"],
                event_name=row["event_name"],
                action=row["action"],
                kind=row["kind"],
                value_micro=row["value_micro"],
                released=None if figures is None else figures["released"],
                of=None if figures is None else figures["of"],
                cumulative=None if figures is None else figures["cumulative"],
            )
        )
    return found


def _periods(
    out: Outputs,
    inputs: Inputs,
    records: Records,
    segments: pl.DataFrame,
    line_id: str,
    book: str,
) -> list[Period]:
    """The line's schedule per period (before and after the event actions) beside what the
    book posted, through the period explained."""
    period = int(inputs.books.filter(pl.col("book") == book)["open_period"][0])
    mine = pl.col("line_id") == line_id
    releases = records.events.filter(mine & (pl.col("action") == "release"))
    rows, _ = schedules.schedule(
        segments,
        events=releases.select("line_id", "event_date", "seq", "kind", "value_micro"),
        billings=inputs.billings.filter(mine).select("line_id", "doc_date", "amount"),
    )
    before = _per_period(rows)
    after = _per_period(out.schedules.filter(mine & (pl.col("book") == book)))
    posted = _per_period(records.posted.filter(pl.col("period") <= period))
    found, to_date = [], 0
    for month in sorted(set(before) | set(after) | set(posted)):
        amount = posted.get(month, 0) if month <= period else None
        to_date += amount or 0
        scheduled = after.get(month, 0)
        found.append(
            Period(
                period=month,
                before_actions=before.get(month, 0),
                scheduled=scheduled,
                posted=amount,
                posted_to_date=None if amount is None else to_date,
                difference=None if amount is None else amount - scheduled,
            )
        )
    return found


def _per_period(frame: pl.DataFrame) -> dict[int, int]:
    summed = frame.group_by("period").agg(pl.col("amount").sum())
    return {int(p): int(a) for p, a in summed.iter_rows()}


def _billings(records: Records) -> list[Billing]:
    ordered = records.billings.sort("doc_date", "doc_number", "doc_line_id")
    return [Billing(**row) for row in ordered.select(BILLING_RECORD_SCHEMA.keys()).rows(named=True)]


def _balances(out: Outputs, book: str, contract: str) -> dict[str, int]:
    found = out.balances.filter((pl.col("book") == book) & (pl.col("contract_id") == contract))
    if found.height == 0:
        return {}
    row = found.drop("book", "contract_id", "currency").row(0, named=True)
    return {name: int(value) for name, value in row.items()}


def _findings(out: Outputs, line_id: str, book: str) -> list[str]:
    """What the run could not do for the contract (another line's findings name it)."""
    ours = out.findings.filter(pl.col("book").is_null() | (pl.col("book") == book))
    return [
        message if line is None or line == line_id else f"{line}: {message}"
        for line, message in ours.select("line_id", "message").iter_rows()
    ]
