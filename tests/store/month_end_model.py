"""A plain-Python model of what the month-end state machine (test_month_end_state.py) feeds revrec:
its lines, billings, costs and events, and what revrec must recognize, bill and amortize.

Written from SPEC §1, §3, §4.2, §4.6, §5, §5.1 and docs/decisions.md (3, 4, 9, 10, 39), not from
the engine: integers and dates only, no Polars. Amounts are minor units; months are indexes
`year * 12 + month - 1`; service ends are exclusive, as inside revrec.

The portfolio has no SSP table, so every line's SSP is its own amount and allocation gives each
line exactly its amount (TP x amount_i / sum of amounts): `allocated` is the newest amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

DAY = timedelta(days=1)
FOREVER = 2100 * 12  # a month after every schedule's end
HUNDRED = 100  # percent


def month_of(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_start(month: int) -> date:
    return date(month // 12, month % 12 + 1, 1)


def period_name(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (days 1..28 only)."""
    month = month_of(day) + months
    return date(month // 12, month % 12 + 1, day.day)


def half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half to even (denominator > 0), exactly."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


# How each template recognizes, per book: "daily" (ratable_daily), "full_month"
# (ratable_monthly, full_month convention), "point" (point_in_time at start) or "event".
TEMPLATES = {
    "monthly_full": "full_month",
    "daily": "daily",
    "license_pit": "point",
    "milestone_evt": "event",
}
OVERRIDES = {"LOCAL": {"monthly_full": "daily"}}  # the setup file's `methods` of LOCAL
BOOKS = ("PRIMARY", "LOCAL")


def method_of(template: str, book: str) -> str:
    return OVERRIDES.get(book, {}).get(template, TEMPLATES[template])


@dataclass(frozen=True)
class Segment:
    """What a line recognizes over [start, end) (end None: at once on start), stopped at cap."""

    total: int
    method: str  # daily | full_month | point
    start: date
    end: date | None
    cap: date | None = None


def recognized_before(segment: Segment, day: date) -> int:
    """C(day): the segment's revenue recognized before `day`, cumulative rounding (SPEC §1).
    A whole-month convention stops at the first day of its cap's month (decision 3)."""
    if segment.cap is not None:
        cap = segment.cap
        if segment.method == "full_month":
            cap = month_start(month_of(cap))
        day = min(day, cap)
    start, end = segment.start, segment.end
    if segment.method == "point" or end is None:
        return segment.total if day > start else 0
    if segment.method == "daily":
        elapsed = (min(max(day, start), end) - start).days
        return half_even(segment.total * elapsed, (end - start).days)
    months = month_of(end - DAY) - month_of(start) + 1
    started = min(month_of(day - DAY) - month_of(start) + 1, months) if day > start else 0
    return half_even(segment.total * started, months)


@dataclass
class Version:
    amount: int
    effective: date  # order date (first version) or modification date


@dataclass
class Line:
    line_id: str
    contract_id: str
    template: str
    start: date
    end: date  # exclusive
    order_date: date
    versions: list[Version] = field(default_factory=list)
    releases: list[tuple[date, int]] = field(default_factory=list)  # processed (date, percent)

    @property
    def amount(self) -> int:
        return self.versions[-1].amount

    def segments(self, book: str, policy: str) -> list[Segment]:
        """The line's segments in a book: its newest version over its service (catch-up), or
        each later version applied on the earlier ones from its modification date (prospective,
        SPEC §3): what was recognized before that date stays, the rest is spread over what
        remains of the service; past the service's end it is recognized on the day
        (decision 9)."""
        method = method_of(self.template, book)
        if policy != "prospective" or len(self.versions) == 1:
            return [Segment(self.amount, method, self.start, self.end)]
        current = [Segment(self.versions[0].amount, method, self.start, self.end)]
        for version in self.versions[1:]:
            day = version.effective
            capped = [
                replace(s, cap=day if s.cap is None or day < s.cap else s.cap) for s in current
            ]
            done = sum(recognized_before(s, day) for s in capped)
            begin = max(self.start, day)
            rest = version.amount - done
            if method != "point" and self.end <= begin:
                fresh = Segment(rest, "point", day, None)
            else:
                fresh = Segment(rest, method, begin, self.end)
            current = [*capped, fresh]
        return current

    def through(self, book: str, policy: str, month: int) -> int:
        """The schedule's cumulative revenue through the end of `month` in a book."""
        if method_of(self.template, book) == "event":
            # Event lines are always caught up (decision 4): released share of the newest amount.
            released = sum(p for day, p in self.releases if month_of(day) <= month)
            return half_even(self.amount * min(released, HUNDRED), HUNDRED)
        boundary = month_start(month + 1)
        return sum(recognized_before(s, boundary) for s in self.segments(book, policy))

    def total(self, book: str, policy: str) -> int:
        return self.through(book, policy, FOREVER)


@dataclass
class Contract:
    contract_id: str
    customer: str
    currency: str
    policy: str
    lines: list[str] = field(default_factory=list)


@dataclass
class Cost:
    cost_id: str
    contract_id: str
    line_id: str | None  # None: a contract-level cost
    amount: int
    cost_date: date
    straight_months: int | None  # None: follow_revenue
    expense: bool
    period: int  # its accounting period: the open one when it was processed (SPEC §4.6)


@dataclass
class Document:
    """A processed billing document line."""

    doc_line_id: str
    kind: str  # INV | CM | IVC
    doc_number: str
    line_id: str
    signed: int
    period: int  # its accounting period (a late one's is the open period it was processed in)
    invoice: str = ""  # the INV line a CM, IVC or CMC finally concerns ("" for an INV)


@dataclass
class Row:
    """An imported row: its file, its kind and what processing it must do."""

    file: str
    key: str  # the stage row's key: so_line_id, doc_line_id, cost_id or event_id
    kind: str  # sales_order | billing | cost | event
    day: date  # accounting date
    values: dict[str, object]
    status: str = "pending"  # pending | future | processed | error
    why: str = ""


@dataclass
class Model:
    open_month: int
    contracts: dict[str, Contract] = field(default_factory=dict)
    lines: dict[str, Line] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    remaining: dict[str, int] = field(default_factory=dict)  # INV line -> billed not credited
    cancelled: set[str] = field(default_factory=set)  # CM lines cancelled by a CMC
    costs: dict[str, Cost] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    # -- what processing does with a row (SPEC §4.2, §4.6, §5) -------------------------------

    def stage(self, rows: list[Row]) -> None:
        """The rows of one imported file: future when their period is after the open one; the
        others processed now, in accounting-date order, then file order (SPEC §4.5)."""
        self.rows.extend(rows)
        now = []
        for place, row in enumerate(rows):
            if month_of(row.day) > self.open_month:
                row.status = "future"
            else:
                now.append((row.day, place, row))
        for _, _, row in sorted(now, key=lambda item: item[:2]):
            self._process(row)

    def open_next(self) -> None:
        """The period close: the next period opens and its future rows are processed in the
        jobs' order (sales orders, billings, costs, then events; each by date, then file)."""
        self.open_month += 1
        order = {"sales_order": 0, "billing": 1, "cost": 2, "event": 3}
        due = [
            (order[r.kind], r.day, place, r)
            for place, r in enumerate(self.rows)
            if r.status == "future" and month_of(r.day) <= self.open_month
        ]
        for *_, row in sorted(due, key=lambda item: item[:3]):
            self._process(row)

    def _process(self, row: Row) -> None:
        handler = {
            "sales_order": self._sales_order,
            "billing": self._billing,
            "cost": self._cost,
            "event": self._event,
        }[row.kind]
        why = handler(row.values, row.day)
        row.status, row.why = ("error", why) if why else ("processed", "")

    def _sales_order(self, values: dict[str, object], day: date) -> str:
        line_id = str(values["line_id"])
        line = self.lines.get(line_id)
        amount = int(values["amount"])  # type: ignore[call-overload]
        if line is None:
            contract = self.contracts[str(values["contract_id"])]
            line = Line(
                line_id,
                contract.contract_id,
                str(values["template"]),
                values["start"],  # type: ignore[arg-type]
                values["end"],  # type: ignore[arg-type]
                values["order_date"],  # type: ignore[arg-type]
            )
            self.lines[line_id] = line
            contract.lines.append(line_id)
        elif line.amount == amount:
            return ""  # a duplicate of the newest version: skipped
        line.versions.append(Version(amount, day))
        return ""

    def _billing(self, values: dict[str, object], _day: date) -> str:
        kind, doc_line = str(values["kind"]), str(values["doc_line_id"])
        amount = int(values["amount"])  # type: ignore[call-overload]
        if kind == "INV":
            self._document(doc_line, kind, values, str(values["line_id"]), amount, "")
            self.remaining[doc_line] = amount
            return ""
        original = self.documents.get(str(values["ref"]))
        if original is None:
            return "references unknown document"
        if kind == "CMC":
            return self._cancel_credit(original, doc_line, values, amount)
        return self._reverse(original, kind, doc_line, values, amount)

    def _reverse(
        self, original: Document, kind: str, doc_line: str, values: dict[str, object], amount: int
    ) -> str:
        """A CM (at most what remains billed) or an IVC (exactly what remains) of an INV."""
        ref = original.doc_line_id
        if original.kind != "INV":
            return "a CM or IVC refers to an INV line"
        left = self.remaining[ref]
        problem = ""
        if kind == "IVC" and left == 0:
            problem = "already cancelled or credited in full"
        elif kind == "IVC" and amount != left:
            problem = "partial invoice cancellations are not permitted"
        elif kind == "CM" and amount > left:
            problem = "the credit exceeds the remaining billed amount"
        if not problem:
            self.remaining[ref] = left - amount
            self._document(doc_line, kind, values, original.line_id, -amount, ref)
        return problem

    def _cancel_credit(
        self, original: Document, doc_line: str, values: dict[str, object], amount: int
    ) -> str:
        """A CMC of a whole CM not cancelled yet: what it credited is billed again."""
        ref = original.doc_line_id
        if original.kind != "CM" or ref in self.cancelled:
            return "a CMC cancels a credit memo line that is not yet cancelled"
        if amount != -original.signed:
            return "a CMC must match its credit memo"
        self.cancelled.add(ref)
        self.remaining[original.invoice] += amount
        self._document(doc_line, "CMC", values, original.line_id, amount, original.invoice)
        return ""

    def _document(
        self, doc_line: str, kind: str, values: dict[str, object], line: str, signed: int, ref: str
    ) -> None:
        self.documents[doc_line] = Document(
            doc_line, kind, str(values["doc_number"]), line, signed, self.open_month, ref
        )

    def _cost(self, values: dict[str, object], day: date) -> str:
        cost = Cost(
            str(values["cost_id"]),
            str(values["contract_id"]),
            values["line_id"],  # type: ignore[arg-type]
            int(values["amount"]),  # type: ignore[call-overload]
            day,
            values["months"],  # type: ignore[arg-type]
            bool(values["expense"]),
            self.open_month,
        )
        self.costs[cost.cost_id] = cost
        return ""

    def _event(self, values: dict[str, object], day: date) -> str:
        line = self.lines[str(values["line_id"])]
        if method_of(line.template, "PRIMARY") != "event":
            return "does not accept event milestone"
        line.releases.append((day, int(values["percent"])))  # type: ignore[call-overload]
        return ""

    # -- what revrec must show --------------------------------------------------------------

    def policy(self, line: Line) -> str:
        return self.contracts[line.contract_id].policy

    def recognized(self, book: str, line_id: str, month: int | None = None) -> int:
        """Revenue through `month` (default: the open one) in a book: the schedule's cumulative
        through it; closed periods' catch-ups land in the open period, so their sum is it."""
        line = self.lines[line_id]
        return line.through(book, self.policy(line), self.open_month if month is None else month)

    def billed(self, line_id: str) -> int:
        return sum(d.signed for d in self.documents.values() if d.line_id == line_id)

    def contract_totals(self, book: str, contract_id: str) -> tuple[int, int]:
        """(B, R) of a contract through the open period (SPEC §5.1)."""
        lines = self.contracts[contract_id].lines
        return (
            sum(self.billed(line) for line in lines),
            sum(self.recognized(book, line) for line in lines),
        )

    def pattern_total(self, line: Line) -> int:
        """T of a follow_revenue cost's pattern: what the line will recognize in all, its
        allocated amount (the newest amount), not its schedule's total: an event-based line's
        schedule holds only what was released so far (decision 39)."""
        return line.amount

    def cost_through(self, book: str, cost: Cost) -> dict[str, int]:
        """A cost's postings through the open period per kind (decision 39): capitalized whole
        (or expensed whole), amortized by cumulative rounding straight-line from its month, or
        following its line's (its contract's lines') schedule, clamp(R_k / T, 0, 1), T the
        allocated amount; a pattern whose T is zero is amortized at once."""
        if cost.expense:
            return {"expense": cost.amount}
        if cost.straight_months is not None:
            months = cost.straight_months
            elapsed = min(max(self.open_month - month_of(cost.cost_date) + 1, 0), months)
            amortized = half_even(cost.amount * elapsed, months)
        else:
            lines = [cost.line_id] if cost.line_id else self.contracts[cost.contract_id].lines
            through = sum(self.recognized(book, line) for line in lines)
            total = sum(self.pattern_total(self.lines[line]) for line in lines)
            share = min(max(through * (1 if total > 0 else -1), 0), abs(total))
            amortized = cost.amount if total == 0 else half_even(cost.amount * share, abs(total))
        return {"capitalize": cost.amount, "amortize": amortized}
