"""`revrec explain LINE_ID`: how a line's figures came about at a period's end in a book.

Loads the line's contract as the reports do (`store.history`, `reports.inputs_at`) and what the
subledger recorded about it (when each version and event was processed, the billing documents,
the line's postings), runs `engine.explain` once, and gives one document: money in major units
of the contract's currency, exact fractions as `p/q`, dates ISO, periods YYYY-MM. The shells
only render it.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import polars as pl
import sqlalchemy as sa

from revrec.calendar import period_indexes, period_name
from revrec.engine import explain as rules
from revrec.engine.run import Inputs
from revrec.errors import InputError
from revrec.money import exponent, format_minor
from revrec.services import reports
from revrec.services.book_period import Journal, book_period
from revrec.services.context import Context
from revrec.services.subledger import WAITING
from revrec.store import history
from revrec.store import lines as lines_store
from revrec.store import stage as stage_store
from revrec.store import subledger as line_store

# How each §5.1 figure of the contract is made (B billed, R recognized, T allocated).
BALANCE_RULES = {
    "billed": "B: the contract's billings through the period",
    "recognized": "R: the contract's revenue posted through the period",
    "allocated": "T: the sum of its lines' allocations",
    "liability": "max(B - R, 0)",
    "asset": "max(R - B, 0)",
    "scheduled": "T - R",
    "liability_scheduled": "min(max(B - R, 0), T - R)",
    "asset_scheduled": "max(T - max(B, R), 0)",
    "overbilled": "max(B - T, 0)",
}


def explain(
    ctx: Context, line_id: str, *, period: str | None = None, history: bool = True
) -> dict[str, Any]:
    """The explanation of a line in the Context's book (default primary) at the end of a period
    (default its open one), as one JSON-ready document (`history=False`: without its versions
    and changes, one engine run)."""
    with ctx.engine.connect() as conn:
        journal = book_period(conn, ctx, period)
        _check_line(conn, line_id)
        inputs, records = _load(conn, journal, line_id)
    return document(rules.explain(inputs, records, line_id, journal.book, history=history))


def _check_line(conn: sa.Connection, line_id: str) -> None:
    """An InputError for an unknown line, saying when a row with its key waits in the stage
    area (as `revrec lines show` says)."""
    if not line_store.line_exists(conn, line_id):
        waiting = stage_store.newest_status(conn, line_id, WAITING)
        hint = f" (a row with this key waits in the stage area as {waiting})" if waiting else ""
        raise InputError(f"unknown line {line_id!r}{hint}")


def _load(conn: sa.Connection, journal: Journal, line_id: str) -> tuple[Inputs, rules.Records]:
    """The line's contract as of the period's end: the engine's inputs and the records."""
    through = journal.period
    posted = line_store.line_postings(conn, journal.book, line_id)
    owner = lines_store.contracts_of(conn, [line_id]).get(line_id)
    scope = [] if owner is None else [owner]  # the line's contract alone is read
    versions = history.versions_through(conn, through, scope)
    own = versions.filter(pl.col("line_id") == line_id)
    if own.height == 0:
        raise InputError(
            f"line {line_id!r} was processed after {through}: it is not in the subledger at the "
            "end of that period"
        )
    contract = str(own["contract_id"][0])
    versions = versions.filter(pl.col("contract_id") == contract)
    indexed = period_indexes(pl.col("period")).alias("period")
    records = rules.Records(
        versions=history.contract_version_periods(conn, contract, through).with_columns(indexed),
        events=history.contract_events(conn, contract, through).with_columns(indexed),
        billings=history.contract_billings(conn, contract, through).with_columns(indexed),
        posted=posted.filter(pl.col("period") <= through).select(indexed, "amount"),
    )
    return reports.inputs_at(conn, journal, versions, [contract]), records


def document(found: rules.Explanation) -> dict[str, Any]:
    """The explanation as one document: its facts, then a section per part (SPEC §1 money)."""
    money = _Money(found.currency)
    return {
        "line_id": found.line_id,
        "contract_id": found.contract_id,
        "currency": found.currency,
        "book": found.book,
        "period": period_name(found.period),
        "line": _line(found.line, money),
        "allocation": _allocation(found.allocation, money),
        "versions": [_version(v, money) for v in found.versions],
        "changes": [_change(c, money) for c in found.changes],
        "segments": [_segment(s, money) for s in found.segments],
        "curve": [_point(p, money) for p in found.curve],
        "events": [_event(e, money) for e in found.events],
        "periods": [_period(p, money) for p in found.periods],
        "billings": [_billing(b, money) for b in found.billings],
        "balances": {name: money(found.balances.get(name)) for name in BALANCE_RULES},
        "notes": _notes(found, money),
    }


class _Money:
    """Minor units as major-unit strings of one currency; exact values as fractions."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.scale = 10 ** exponent(currency)

    def __call__(self, amount: int | None) -> str | None:
        return None if amount is None else format_minor(amount, self.currency)

    def exact(self, amount: Fraction | None) -> str | None:
        """An exact amount of minor units: a decimal when it ends (33.335), else the fraction
        of major units (100/3)."""
        if amount is None:
            return None
        major = amount / self.scale
        places = _places(major.denominator)
        if places is None:
            return _fraction(major)
        digits = max(places, exponent(self.currency))
        text = f"{abs(major.numerator) * 10**digits // major.denominator:0{digits + 1}d}"
        whole, decimals = text[: len(text) - digits], text[len(text) - digits :]
        sign = "-" if major < 0 else ""
        return f"{sign}{whole}.{decimals}" if digits else f"{sign}{whole}"


def _places(denominator: int) -> int | None:
    """The decimals a fraction with this (reduced) denominator needs; None: it never ends."""
    twos = fives = 0
    while denominator % 2 == 0:
        denominator, twos = denominator // 2, twos + 1
    while denominator % 5 == 0:
        denominator, fives = denominator // 5, fives + 1
    return max(twos, fives) if denominator == 1 else None


def _fraction(value: Fraction | None) -> str | None:
    if value is None:
        return None
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def _number(micro: int | None) -> str | None:
    """A quantity or percent held x 1e6, as a plain decimal (2.5, 10)."""
    if micro is None:
        return None
    whole, rest = divmod(abs(micro), 1_000_000)
    text = f"{whole}.{rest:06d}".rstrip("0").rstrip(".")
    return f"-{text}" if micro < 0 else text


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _last_day(end: date | None) -> str | None:
    """The last day of a service (ranges are half-open inside, SPEC §1)."""
    return None if end is None else (end - timedelta(days=1)).isoformat()


def _period_of(index: int | None) -> str | None:
    return None if index is None else period_name(index)


def _line(line: rules.Line, money: _Money) -> dict[str, Any]:
    return {
        "version": line.version,
        "pob_template": line.pob_template,
        "schedule_type": line.schedule_type,
        "method": line.method,
        "convention": line.convention,
        "at": line.at,
        "start": _day(line.start),
        "last_day": _last_day(line.end),
        "quantity": _number(line.quantity_micro),
        "amount": money(line.amount),
        "allocated": money(line.allocated),
    }


def _allocation(found: rules.Allocation, money: _Money) -> dict[str, Any]:
    return {
        "approach": found.approach,
        "transaction_price": money(found.transaction_price),
        "ssp_total": money.exact(found.ssp_total),
        "floors": money(found.floors),
        "left_over": money(found.left_over),
        "remainder_to": [s.line_id for s in found.lines if s.extra],
        "rows": [
            {
                "line_id": s.line_id,
                "line_no": s.line_no,
                "amount": money(s.amount),
                "ssp_unit": money(s.ssp_unit),
                "quantity": _number(s.quantity_micro),
                "ssp": money.exact(s.ssp),
                "rule": s.rule,
                "share": _fraction(s.share),
                "exact": money.exact(s.exact),
                "floor": money(s.floor),
                "remainder": _fraction(s.remainder),
                "extra": money(s.extra),
                "allocated": money(s.allocated),
            }
            for s in found.lines
        ],
    }


def _version(found: rules.Version, money: _Money) -> dict[str, Any]:
    return {
        "version": found.version,
        "processed": _period_of(found.processed),
        "effective_date": _day(found.effective_date),
        "policy": found.policy,
        "treatment": found.treatment,
        "amount": money(found.amount),
        "quantity": _number(found.quantity_micro),
        "ssp_unit": money(found.ssp_unit),
        "start": _day(found.start),
        "last_day": _last_day(found.end),
        "allocated": money(found.allocated),
        "catch_up": money(found.catch_up),
        "kept": money(found.kept),
        "remainder": money(found.remainder),
        "spread_from": _day(found.spread_from),
    }


def _change(found: rules.Change, money: _Money) -> dict[str, Any]:
    return {
        "period": period_name(found.period),
        "versions": ", ".join(f"{line} v{version}" for line, version in found.versions),
        "allocated": money(found.allocated),
        "scheduled": money(found.scheduled),
        "posted": money(found.posted),
        "catch_up": money(found.catch_up),
    }


def _segment(found: rules.Segment, money: _Money) -> dict[str, Any]:
    return {
        "segment": found.segment,
        "version": found.version,
        "total": money(found.total),
        "method": found.method,
        "convention": found.convention,
        "at": found.at,
        "start": _day(found.start),
        "last_day": _last_day(found.end),
        "cap": _day(found.cap),
    }


def _point(found: rules.CurvePoint, money: _Money) -> dict[str, Any]:
    return {
        "segment": found.segment,
        "period": period_name(found.period),
        "method": found.method,
        "total": money(found.total),
        "elapsed": _fraction(found.elapsed),
        "length": _fraction(found.length),
        "unit": found.unit,
        "cumulative": money(found.cumulative),
        "amount": money(found.amount),
    }


def _event(found: rules.Event, money: _Money) -> dict[str, Any]:
    return {
        "event_date": _day(found.event_date),
        "processed": period_name(found.processed),
        "event": found.event_name,
        "action": found.action,
        "kind": found.kind,
        "value": _number(found.value_micro),
        "released": _number(found.released),
        "of": _number(found.of),
        "cumulative": money(found.cumulative),
    }


def _period(found: rules.Period, money: _Money) -> dict[str, Any]:
    return {
        "period": period_name(found.period),
        "scheduled": money(found.scheduled),
        "before_actions": money(found.before_actions),
        "posted": money(found.posted),
        "posted_to_date": money(found.posted_to_date),
        "difference": money(found.difference),
    }


def _billing(found: rules.Billing, money: _Money) -> dict[str, Any]:
    return {
        "line_id": found.line_id,
        "doc_type": found.doc_type,
        "doc_number": found.doc_number,
        "doc_line_id": found.doc_line_id,
        "doc_date": _day(found.doc_date),
        "period": period_name(found.period),
        "amount": money(found.amount),
    }


def _notes(found: rules.Explanation, money: _Money) -> list[str]:
    """The run's findings about the contract, and a stored posting of the period that is not
    what processing would post now."""
    stored = next((p.posted for p in found.periods if p.period == found.period), None) or 0
    notes = list(found.findings)
    if stored != found.posting:
        notes.append(
            f"the book posted {money(stored)} for the line in {period_name(found.period)}; "
            f"processing would post {money(found.posting)} now (the contract waits for the "
            "revenue job, or the setup changed since)"
        )
    return notes
