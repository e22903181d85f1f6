"""The reports of SPEC §8 for a book and period: load the subledger as it stood at the period's
end (`store.history`), run the engine over it once, and compute the report (`engine.reports`).

A closed period's figures are recomputed from the inputs processed through it, which later
inputs never change, so its reports stay the same to the byte (decision 59). The shells only
render what this returns.

A read (a report, a journal card, the close checklist, but never a step that changes the
subledger) may take the Basis from a small in-process cache keyed by the database, book,
period, filters and the head of the audit log: every change to the subledger is audit-logged in
its own transaction, so an unchanged head means unchanged inputs (decision 89).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import polars as pl
import sqlalchemy as sa

from revrec.calendar import parse_period, period_indexes, period_name
from revrec.engine import reports as rules
from revrec.engine import run as engine
from revrec.errors import InputError
from revrec.services import read_cache
from revrec.services.book_period import Journal, book_period
from revrec.services.context import Context
from revrec.services.processing.inputs import engine_inputs
from revrec.store import history
from revrec.store import journals as journal_store
from revrec.store import rules as setup_rules

NAMES = ("waterfall", "liability", "asset", "insight", "rpo", "rollforward")
KEYS = {
    "waterfall": None,  # by grouping
    "liability": ("contract_id", "currency"),
    "asset": ("contract_id", "currency"),
    "insight": ("contract_id", "customer_id", "currency"),
    "rpo": ("contract_id", "currency"),
    "rollforward": ("period", "currency"),
}


@dataclass(frozen=True)
class Filters:
    """Which lines a report covers; None: every one. `attribute` is (name, value) of a free
    attribute of the line."""

    contract: str | None = None
    customer: str | None = None
    item: str | None = None
    template: str | None = None
    currency: str | None = None
    attribute: tuple[str, str] | None = None

    @staticmethod
    def attribute_of(text: str | None) -> tuple[str, str] | None:
        """`NAME=VALUE` as (name, value)."""
        if text is None:
            return None
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--attribute {text!r}: expected NAME=VALUE")
        return name.strip(), value


@dataclass(frozen=True)
class Report:
    name: str
    book: str
    period: str
    rows: pl.DataFrame  # money in minor units beside its currency
    money: list[str] = field(default_factory=list)  # the money columns

    @property
    def totals(self) -> pl.DataFrame:
        if self.name == "rollforward":
            return rules.rollforward_totals(self.rows)
        return rules.totals(self.rows, self.money)


def report(
    ctx: Context,
    name: str,
    *,
    period: str | None = None,
    filters: Filters = Filters(),
    by: str = "line",
    periods: int = 12,
) -> Report:
    """One report of a book (the Context's) at a period's end (default the open period)."""
    if name not in NAMES:
        raise InputError(f"unknown report {name!r}: expected one of {', '.join(NAMES)}")
    if by not in rules.GROUPS:
        raise InputError(f"--by {by!r}: expected one of {', '.join(rules.GROUPS)}")
    if periods < 1:
        raise InputError(f"--periods {periods}: expected at least 1")
    with ctx.engine.connect() as conn:
        journal = book_period(conn, ctx, period)
        if name == "rollforward":
            rows = _rollforward(conn, journal, filters, periods)
        else:
            data = cached_basis(conn, journal, filters)
            rows = _compute(name, data, by=by, periods=periods)
    keys = KEYS[name] or (*rules.GROUPS[by], "currency")
    money = [c for c in rows.columns if c not in keys]
    return Report(name, journal.book, journal.period, rows, money)


def _compute(name: str, data: rules.Basis, *, by: str, periods: int) -> pl.DataFrame:
    if name == "waterfall":
        return rules.waterfall(data, periods=periods, by=by)
    compute = {"liability": rules.liability, "asset": rules.asset, "insight": rules.insight,
               "rpo": rules.rpo}  # fmt: skip
    return compute[name](data)


def cached_basis(
    conn: sa.Connection, journal: Journal, filters: Filters = Filters()
) -> rules.Basis:
    """`basis`, kept by `read_cache` while no audit entry may have changed its inputs (the
    basis mark, decision 91). For reads only."""
    key = ("basis", journal.book, journal.period, filters)
    return read_cache.cached(conn, key, lambda: basis(conn, journal, filters), basis_only=True)


def basis(conn: sa.Connection, journal: Journal, filters: Filters = Filters()) -> rules.Basis:
    """Every report's Basis: the lines as of the period's end in the book, one engine run."""
    through = journal.period
    scope = None if filters.contract is None else [filters.contract]  # read one contract only
    every = history.versions_through(conn, through, scope)
    facts = _filtered(_facts(conn, through, scope, filters, every), filters)
    versions = every.join(facts.select("contract_id").unique(), on="contract_id", how="semi")
    billings = history.billings_through(conn, through, scope)
    before = history.postings_through(conn, journal.book, _before(through), scope)
    inputs = inputs_at(conn, journal, versions, scope, billings=billings, posted=before)
    # The reports read schedules, postings and balances: the run skips the month-end.
    outputs = engine.run(replace(inputs, month_end=False))
    newest = versions.sort("line_id", "version").group_by("line_id").last()
    lines = (
        newest.join(outputs.allocations, on=["line_id", "version"], how="inner")
        .join(facts.select("line_id", "customer_id"), on="line_id", how="inner")
        .with_columns(
            pl.when(pl.col("billing_driven"))
            .then(pl.col("allocated"))
            .otherwise(pl.col("amount"))
            .alias("amount")
        )
    )
    book = pl.col("book") == journal.book
    posted = pl.concat([_movements(before), outputs.postings.filter(book).drop("book")])
    return rules.basis(
        parse_period(through),
        lines,
        outputs.schedules.filter(book).drop("book"),
        posted,
        _movements(billings),
    )


def _facts(
    conn: sa.Connection,
    through: str,
    scope: history.Contracts,
    filters: Filters,
    versions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The lines' facts (`history.line_facts`), with their free attributes only when a filter
    reads them. Without one they are taken from `versions` (`history.versions_through`, when
    the caller has read them) and the contracts' customers: one read of the lines, not two."""
    if versions is None or filters.attribute is not None:
        return history.line_facts(conn, through, scope, attributes=filters.attribute is not None)
    newest = versions.filter(pl.col("version") == pl.col("version").max().over("line_id"))
    return newest.join(history.customers(conn, scope), on="contract_id", how="inner").select(
        "line_id", "contract_id", "currency", "customer_id", "item_code", "pob_template",
        "schedule_type",
    )  # fmt: skip


def inputs_at(
    conn: sa.Connection,
    journal: Journal,
    versions: pl.DataFrame,
    scope: history.Contracts = None,
    *,
    billings: pl.DataFrame | None = None,
    posted: pl.DataFrame | None = None,
) -> engine.Inputs:
    """The engine's Inputs as of the period's end: the book alone, its period open; the rows
    of `versions`' lines, read for the `scope` contracts only when it names them (`billings`
    through the period and `posted` before it: read here unless the caller has them)."""
    if billings is None:
        billings = history.billings_through(conn, journal.period, scope)
    if posted is None:
        posted = history.postings_through(conn, journal.book, _before(journal.period), scope)
    through = journal.period
    book = next(b for b in setup_rules.books(conn) if b["book"] == journal.book)
    ids = versions["line_id"].unique().implode()
    contracts = versions["contract_id"].unique().implode()
    keep = pl.col("line_id").is_in(ids)
    return engine_inputs(
        conn,
        [{**book, "open_period": through}],
        versions=versions,
        billings=billings.filter(keep),
        events=history.events_through(conn, through, scope).filter(keep),
        stored_allocations=history.allocations(conn, scope).filter(keep),
        posted=posted.filter(keep),
        costs=history.costs_through(conn, through, scope).filter(
            pl.col("contract_id").is_in(contracts)
        ),
        posted_costs=history.cost_postings_before(conn, journal.book, through, scope),
    )


def _before(period: str) -> str:
    return period_name(parse_period(period) - 1)


def _movements(frame: pl.DataFrame) -> pl.DataFrame:
    """line_id, period (month index), amount (Int64) of stored rows."""
    period = period_indexes(pl.col("period")).alias("period")
    return frame.select(pl.col("line_id").cast(pl.String), period, pl.col("amount").cast(pl.Int64))


def _filtered(facts: pl.DataFrame, filters: Filters) -> pl.DataFrame:
    """The lines the filters keep (each line's contract_id and currency joined in)."""
    conditions = [
        pl.col(column) == value
        for column, value in (
            ("contract_id", filters.contract),
            ("customer_id", filters.customer),
            ("item_code", filters.item),
            ("pob_template", filters.template),
            ("currency", filters.currency),
        )
        if value is not None
    ]
    if filters.attribute is not None:
        key, value = filters.attribute
        quoted = key.replace("\\", "\\\\").replace("'", "\\'")
        path = f"$['{quoted}']"  # a bracketed member name: any key
        conditions.append(pl.col("attributes").str.json_path_match(path) == value)
    return facts.filter(*conditions) if conditions else facts


def _rollforward(
    conn: sa.Connection, journal: Journal, filters: Filters, periods: int
) -> pl.DataFrame:
    """The roll-forward of the `periods` periods ending with the report's (from stored
    billings and postings: closed periods' are final)."""
    through = journal.period
    scope = None if filters.contract is None else [filters.contract]
    facts = _filtered(_facts(conn, through, scope, filters), filters)
    last = parse_period(through)
    first = max(last - periods + 1, _first_period(conn, journal.book))
    postings = _movements(history.postings_through(conn, journal.book, through, scope))
    return rules.rollforward(
        facts.select("line_id", "contract_id", "currency"),
        postings,
        _movements(history.billings_through(conn, through, scope)),
        list(range(first, last + 1)),
    )


def _first_period(conn: sa.Connection, book: str) -> int:
    found = [period for period, _ in journal_store.book_periods(conn, book)]
    return parse_period(min(found)) if found else 0
